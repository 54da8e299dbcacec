package certs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// jsonPatchOp is one RFC 6902 operation.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// ensureCABundle sets clientConfig.caBundle of every webhook whose bundle
// differs, and patches nothing when none does.
//
// It sends a JSON patch that names only caBundle, each guarded by a test of
// the webhook's name at that index: an Update would write back the whole
// object as this binary knows it (dropping fields a newer API server added,
// or undoing a concurrent helm upgrade), and a merge patch would replace the
// whole webhooks list. If the list changed between the read and the patch,
// the test fails (422) and the read is done again.
func (s *SelfSigned) ensureCABundle(ctx context.Context, bundle []byte) error {
	key := client.ObjectKey{Name: s.WebhookConfigName}
	retriable := func(err error) bool {
		return ctx.Err() == nil && !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) && !apierrors.IsUnauthorized(err)
	}
	return retry.OnError(retry.DefaultBackoff, retriable, func() error {
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := s.Client.Get(ctx, key, vwc); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("ValidatingWebhookConfiguration %q not found: the install must create it; "+
					"gatewarden only sets the caBundle of its webhooks: %w", s.WebhookConfigName, err)
			}
			return fmt.Errorf("reading ValidatingWebhookConfiguration %q: %w", s.WebhookConfigName, err)
		}
		var ops []jsonPatchOp
		var names []string
		for i := range vwc.Webhooks {
			wh := &vwc.Webhooks[i]
			if bytes.Equal(wh.ClientConfig.CABundle, bundle) {
				continue
			}
			base := "/webhooks/" + strconv.Itoa(i)
			ops = append(ops,
				jsonPatchOp{Op: "test", Path: base + "/name", Value: wh.Name},
				// add replaces a member that exists and creates one that
				// does not; replace would fail on an empty caBundle.
				jsonPatchOp{Op: "add", Path: base + "/clientConfig/caBundle", Value: bundle})
			names = append(names, wh.Name)
		}
		if len(ops) == 0 {
			return nil
		}
		body, err := json.Marshal(ops)
		if err != nil {
			return fmt.Errorf("encoding the caBundle patch: %w", err)
		}
		if err := s.Client.Patch(ctx, vwc, client.RawPatch(types.JSONPatchType, body)); err != nil {
			return fmt.Errorf("patching the caBundle of ValidatingWebhookConfiguration %q: %w", s.WebhookConfigName, err)
		}
		s.Log.Info("updated the caBundle of webhooks", "webhookConfiguration", s.WebhookConfigName, "webhooks", names)
		return nil
	})
}
