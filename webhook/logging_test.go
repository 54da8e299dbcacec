package webhook

import (
	"testing"

	"github.com/go-logr/logr/funcr"
	"github.com/stretchr/testify/assert"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// A request's log lines name the webhook and the request, as
// controller-runtime's do, with what was added since.
func TestRequestLogger(t *testing.T) {
	var lines []string
	base := funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{})
	req := &admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "u-1", Operation: admissionv1.Create, Namespace: "hr", Name: "web",
		UserInfo: authenticationv1.UserInfo{Username: "alice"},
	}}

	log := requestLogger("HTTPRoute")(base, req).WithName("route").WithValues("route", "hr/web")
	log.Info("Deciding", "parents", 2)
	requestLogger("HTTPRoute")(base, nil).Error(nil, "Unable to decode")

	assert.Equal(t, []string{
		`route "level"=0 "msg"="Deciding" "webhookKind"="HTTPRoute" "namespace"="hr" "name"="web" "operation"="CREATE" "user"="alice" "requestID"="u-1" "route"="hr/web" "parents"=2`,
		` "msg"="Unable to decode" "error"=null "webhookKind"="HTTPRoute"`,
	}, lines)
}
