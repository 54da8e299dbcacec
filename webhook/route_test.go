package webhook

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// A denial is a Forbidden status whose message puts each problem's field
// path in front, with the problems kept as causes: kubectl prints the
// message after `admission webhook "..." denied the request:`.
func TestRouteDenialIsForbiddenWithCauses(t *testing.T) {
	c := withNames(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(sharedGateway(), labelled("hr", nil))).Build()
	v := &HTTPRouteValidator{Reader: testReader(c), Mode: attachment.ModeDeny}
	route := httpRoute("hr", "hr")
	route.Spec.ParentRefs = append(route.Spec.ParentRefs, route.Spec.ParentRefs[0])

	_, err := v.ValidateCreate(withUser("alice"), route)
	require.Error(t, err)
	var status *apierrors.StatusError
	require.ErrorAs(t, err, &status)
	detail := `Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces matching shared-gateway-access=true; ` +
		`namespace "hr" does not match. Ask the Gateway owner to allow it, or label namespace hr to match.`
	assert.Equal(t, metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden,
		Message: "spec.parentRefs[0]: " + detail + "; spec.parentRefs[1]: " + detail,
		Details: &metav1.StatusDetails{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Name: "hr", Causes: []metav1.StatusCause{
			{Type: metav1.CauseTypeForbidden, Field: "spec.parentRefs[0]", Message: detail},
			{Type: metav1.CauseTypeForbidden, Field: "spec.parentRefs[1]", Message: detail},
		}},
	}, status.ErrStatus)
}

// A route being deleted whose finalizers are removed is never stood in the
// way of, even when its Gateway rejects it; one that changes what the
// evaluator reads while deleting is judged. Routes with backend references
// once made the comparison panic (field.Path has unexported fields), and
// the API server got a 500.
func TestRouteBeingDeleted(t *testing.T) {
	c := withNames(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(sharedGateway(), labelled("hr", nil))).Build()
	v := &HTTPRouteValidator{Reader: testReader(c), Mode: attachment.ModeDeny}
	withBackends := func() *gatewayv1.HTTPRoute {
		r := httpRoute("hr", "hr")
		r.Spec.Rules = []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: "app", Port: ptr.To(gatewayv1.PortNumber(80))}}}}}}
		return r
	}
	deleting := withBackends()
	deleting.DeletionTimestamp = ptr.To(metav1.Now())
	deleting.Finalizers = []string{"example.com/cleanup"}

	warnings, err := v.ValidateUpdate(withUser("alice"), withBackends(), deleting)
	require.NoError(t, err)
	assert.Empty(t, warnings)

	moved := deleting.DeepCopy()
	moved.Spec.Rules[0].BackendRefs[0].Name = "other"
	moved.Spec.ParentRefs = append(moved.Spec.ParentRefs, gatewayv1.ParentReference{Name: "shared-gateway", Namespace: ptr.To(gatewayv1.Namespace("infra-ns")), SectionName: ptr.To(gatewayv1.SectionName("http"))})
	_, err = v.ValidateUpdate(withUser("alice"), withBackends(), moved)
	require.Error(t, err, "a new parentRef the Gateway rejects is denied, deleting or not")
	assert.Contains(t, err.Error(), "spec.parentRefs[1]: Gateway infra-ns/shared-gateway")
}
