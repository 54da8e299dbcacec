package cluster

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// APIServerCheck is a readiness check that fails while the API server does
// not answer its own /readyz within timeout. gatewarden answers from a cache
// the API server keeps current, and confirms with the API server before it
// denies: while it cannot reach the API server it can do neither, and a
// replica that can should get the admissions instead. It recovers by itself:
// the informers resume their watches when the API server is back.
//
// The API server lets every authenticated user read /readyz
// (system:public-info-viewer), so a rejected credential fails the check too.
func APIServerCheck(c rest.Interface, timeout time.Duration) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), timeout)
		defer cancel()
		if err := c.Get().AbsPath("/readyz").Do(ctx).Error(); err != nil {
			return fmt.Errorf("the API server is not answering: %w", err)
		}
		return nil
	}
}
