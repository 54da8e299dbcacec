package webhook

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

const accessLabel = "shared-gateway-access"

func testScheme(t testing.TB) *runtime.Scheme {
	s := runtime.NewScheme()
	require.NoError(t, corev1.AddToScheme(s))
	require.NoError(t, gatewayv1.Install(s))
	return s
}

func sharedGateway() *gatewayv1.Gateway {
	return &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra-ns", Name: "shared-gateway"},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "example", Listeners: []gatewayv1.Listener{{
			Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType,
			AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{
				From:     ptr.To(gatewayv1.NamespacesFromSelector),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{accessLabel: "true"}},
			}},
		}}},
	}
}

func httpRoute(ns, name string) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{
			ParentRefs: []gatewayv1.ParentReference{{Name: "shared-gateway", Namespace: ptr.To(gatewayv1.Namespace("infra-ns"))}},
		}},
	}
}

func labelled(name string, l map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

// newNamespaceValidator serves from a fake client standing in for the
// manager's cache and the API server alike.
func newNamespaceValidator(t testing.TB, mode attachment.Mode, approvers string, objs ...client.Object) *NamespaceValidator {
	c := withIndexes(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...)).Build()
	a, err := ParseApprovers(approvers)
	require.NoError(t, err)
	return &NamespaceValidator{Reader: testReader(c), Mode: mode, Approvers: a}
}

func withUser(user string, groups ...string) context.Context {
	return admission.NewContextWithRequest(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UserInfo: authenticationv1.UserInfo{Username: user, Groups: groups},
	}})
}

func TestNamespaceRelabelWarningsStayReadableAtScale(t *testing.T) {
	objs := []client.Object{sharedGateway(), labelled("big", map[string]string{accessLabel: "true"})}
	for i := range 1000 {
		objs = append(objs, httpRoute("big", fmt.Sprintf("route-%04d", i)))
	}
	v := newNamespaceValidator(t, attachment.ModeWarn, "", objs...)

	warnings, err := v.ValidateUpdate(withUser("alice"), labelled("big", map[string]string{accessLabel: "true"}), labelled("big", nil))
	require.NoError(t, err)
	require.Len(t, warnings, 1+maxListedRoutes+1+1, "a header, the first routes, a count of the rest and the fix")
	assert.Equal(t, "Relabelling namespace big detaches 1000 routes from Gateway infra-ns/shared-gateway:", warnings[0])
	assert.Equal(t, "- HTTPRoute big/route-0000 from Gateway infra-ns/shared-gateway (NotAllowedByListeners)", warnings[1])
	assert.Equal(t, "- and 995 more; their status and `gatewarden check` name them all", warnings[6])
	total := 0
	for _, w := range warnings {
		assert.LessOrEqual(t, utf8.RuneCountInString(w), maxWarning, w)
		total += utf8.RuneCountInString(w)
	}
	assert.Less(t, total, 4096, "the API server truncates warnings past 4,096 characters in total")
}

func TestNamespaceRelabelWithLongNamesIsClipped(t *testing.T) {
	long := strings.Repeat("n", 63)
	v := newNamespaceValidator(t, attachment.ModeWarn, "", sharedGateway(), labelled(long, map[string]string{accessLabel: "true"}),
		httpRoute(long, strings.Repeat("r", 200)))
	warnings, err := v.ValidateUpdate(withUser("alice"), labelled(long, map[string]string{accessLabel: "true"}), labelled(long, nil))
	require.NoError(t, err)
	require.NotEmpty(t, warnings)
	for _, w := range warnings {
		assert.LessOrEqual(t, utf8.RuneCountInString(w), maxWarning, w)
	}
}

func TestNamespaceUpdateWithoutLabelChangeDoesNothing(t *testing.T) {
	v := newNamespaceValidator(t, attachment.ModeDeny, "group:platform-admins", sharedGateway(),
		labelled("careers", map[string]string{accessLabel: "true"}), httpRoute("careers", "careers"))
	same := labelled("careers", map[string]string{accessLabel: "true"})
	annotated := same.DeepCopy()
	annotated.Annotations = map[string]string{"owner": "someone"}
	warnings, err := v.ValidateUpdate(withUser("alice"), same, annotated)
	assert.NoError(t, err)
	assert.Empty(t, warnings)
}

func TestNamespaceDetachDeniedInDenyMode(t *testing.T) {
	v := newNamespaceValidator(t, attachment.ModeDeny, "", sharedGateway(),
		labelled("careers", map[string]string{accessLabel: "true"}), httpRoute("careers", "careers"))
	_, err := v.ValidateUpdate(withUser("alice"), labelled("careers", map[string]string{accessLabel: "true"}), labelled("careers", nil))
	require.Error(t, err)
	assert.True(t, apierrors.IsForbidden(err))
	assert.Contains(t, err.Error(), `metadata.labels: Relabelling namespace careers detaches 1 route from Gateway infra-ns/shared-gateway:`)
	assert.Contains(t, err.Error(), "HTTPRoute careers/careers")
}

func TestGrantGuard(t *testing.T) {
	gw := sharedGateway()
	grant := map[string]string{accessLabel: "true"}
	tests := []struct {
		name      string
		approvers string
		user      string
		groups    []string
		old, new  map[string]string // old nil: a create
		denied    bool
		warning   string
	}{
		{name: "guard off: a grant is allowed with a warning", old: map[string]string{}, new: grant,
			warning: `namespace hr now reaches Gateway infra-ns/shared-gateway listener "http" via selector shared-gateway-access=true`},
		{name: "guard off: a new namespace with the label warns too", new: grant, warning: "namespace hr now reaches Gateway infra-ns/shared-gateway"},
		{name: "guard on: a tenant's grant is denied", approvers: "group:platform-admins", user: "alice", groups: []string{"tenants"},
			old: map[string]string{}, new: grant, denied: true},
		{name: "guard on: a tenant's new labelled namespace is denied", approvers: "group:platform-admins", user: "alice", new: grant, denied: true},
		{name: "guard on: an approver group member may grant", approvers: "group:platform-admins", user: "bob", groups: []string{"platform-admins"},
			old: map[string]string{}, new: grant},
		{name: "guard on: an approver user may grant", approvers: "user:carol", user: "carol", old: map[string]string{}, new: grant},
		{name: "guard on: a service account named as a user may grant", approvers: "user:system:serviceaccount:infra:argocd",
			user: "system:serviceaccount:infra:argocd", old: map[string]string{}, new: grant},
		{name: "guard on: system:masters is not special", approvers: "group:platform-admins", user: "root", groups: []string{"system:masters"},
			old: map[string]string{}, new: grant, denied: true},
		{name: "guard on: removing the label is never blocked by the guard", approvers: "group:platform-admins", user: "alice", old: grant, new: map[string]string{}},
		{name: "guard on: an unrelated label is not a grant", approvers: "group:platform-admins", user: "alice",
			old: map[string]string{}, new: map[string]string{"team": "hr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newNamespaceValidator(t, attachment.ModeWarn, tt.approvers, gw)
			ctx := withUser(tt.user, tt.groups...)
			var warnings admission.Warnings
			var err error
			if tt.old == nil {
				warnings, err = v.ValidateCreate(ctx, labelled("hr", tt.new))
			} else {
				warnings, err = v.ValidateUpdate(ctx, labelled("hr", tt.old), labelled("hr", tt.new))
			}
			if tt.denied {
				require.Error(t, err)
				assert.Contains(t, err.Error(), `metadata.labels: these labels would let namespace hr attach routes to Gateway infra-ns/shared-gateway listener "http" (selector shared-gateway-access=true); only group:platform-admins may grant that.`)
				return
			}
			require.NoError(t, err)
			if tt.warning != "" {
				require.NotEmpty(t, warnings)
				assert.Contains(t, warnings[0], tt.warning)
			} else {
				assert.Empty(t, warnings)
			}
		})
	}
}

func TestGrantGuardIgnoresGatewaysAnnotatedOff(t *testing.T) {
	gw := sharedGateway()
	gw.Annotations = map[string]string{attachment.EnforcementAnnotation: "off"}
	v := newNamespaceValidator(t, attachment.ModeWarn, "group:platform-admins", gw)
	warnings, err := v.ValidateCreate(withUser("alice"), labelled("hr", map[string]string{accessLabel: "true"}))
	assert.NoError(t, err)
	assert.Empty(t, warnings)
}
