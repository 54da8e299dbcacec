package webhook

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// The ListenerSet fixtures: the shared Gateway also admits ListenerSets from
// namespaces labelled listenerSetLabel=true; careers carries it, hr does not.
const listenerSetLabel = "shared-gateway-listeners"

func listenerGateway() *gatewayv1.Gateway {
	gw := sharedGateway()
	gw.Spec.Listeners[0].Hostname = ptr.To(gatewayv1.Hostname("www.example.com"))
	gw.Spec.AllowedListeners = &gatewayv1.AllowedListeners{Namespaces: &gatewayv1.ListenerNamespaces{
		From:     ptr.To(gatewayv1.NamespacesFromSelector),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{listenerSetLabel: "true"}},
	}}
	return gw
}

func teamListenerSet(ns string, hostnames ...string) *gatewayv1.ListenerSet {
	ls := &gatewayv1.ListenerSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns + "-listeners", CreationTimestamp: metav1.Now()},
		Spec: gatewayv1.ListenerSetSpec{ParentRef: gatewayv1.ParentGatewayReference{
			Name: "shared-gateway", Namespace: ptr.To(gatewayv1.Namespace("infra-ns")),
		}},
	}
	for i, h := range hostnames {
		ls.Spec.Listeners = append(ls.Spec.Listeners, gatewayv1.ListenerEntry{
			Name: gatewayv1.SectionName([]string{"first", "second", "third"}[i]), Port: 80, Protocol: gatewayv1.HTTPProtocolType,
			Hostname: ptr.To(gatewayv1.Hostname(h)),
		})
	}
	return ls
}

func routeThrough(ns, name, listenerSetNS, listenerSet string) *gatewayv1.HTTPRoute {
	r := httpRoute(ns, name)
	r.Spec.ParentRefs = []gatewayv1.ParentReference{{
		Kind: ptr.To(gatewayv1.Kind("ListenerSet")), Name: gatewayv1.ObjectName(listenerSet), Namespace: ptr.To(gatewayv1.Namespace(listenerSetNS)),
	}}
	return r
}

func listenerSetObjects(extra ...client.Object) []client.Object {
	return append([]client.Object{
		listenerGateway(),
		labelled("infra-ns", nil),
		labelled("careers", map[string]string{accessLabel: "true", listenerSetLabel: "true"}),
		labelled("hr", nil),
	}, extra...)
}

func newListenerSetValidator(t *testing.T, mode attachment.Mode, objs ...client.Object) *ListenerSetValidator {
	c := withIndexes(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...)).Build()
	return &ListenerSetValidator{Reader: testReader(c), Mode: mode}
}

const hrNotAllowed = `Gateway infra-ns/shared-gateway accepts ListenerSets only from namespaces matching shared-gateway-listeners=true; ` +
	`namespace "hr" does not match. Ask the Gateway owner to allow it, or label namespace hr to match.`

func TestListenerSetCreate(t *testing.T) {
	ctx := withUser("alice")
	v := newListenerSetValidator(t, attachment.ModeDeny, listenerSetObjects()...)

	warnings, err := v.ValidateCreate(ctx, teamListenerSet("careers", "careers.example.com"))
	require.NoError(t, err, "careers' namespace carries the label allowedListeners selects")
	assert.Empty(t, warnings)

	_, err = v.ValidateCreate(ctx, teamListenerSet("hr", "hr.example.com"))
	var status *apierrors.StatusError
	require.ErrorAs(t, err, &status)
	assert.Equal(t, metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden,
		Message: "spec.parentRef: " + hrNotAllowed,
		Details: &metav1.StatusDetails{Group: gatewayv1.GroupName, Kind: "ListenerSet", Name: "hr-listeners", Causes: []metav1.StatusCause{
			{Type: metav1.CauseTypeForbidden, Field: "spec.parentRef", Message: hrNotAllowed},
		}},
	}, status.ErrStatus)

	warnings, err = newListenerSetValidator(t, attachment.ModeWarn, listenerSetObjects()...).ValidateCreate(ctx, teamListenerSet("hr", "hr.example.com"))
	require.NoError(t, err, "--listenerset-enforcement=warn")
	assert.Equal(t, admission.Warnings{"spec.parentRef: " + hrNotAllowed}, warnings)
}

// The Gateway's annotation governs its ListenerSets; a tenant's annotation
// on its own ListenerSet does not.
func TestListenerSetEnforcementComesFromTheGateway(t *testing.T) {
	ctx := withUser("alice")
	escape := teamListenerSet("hr", "hr.example.com")
	escape.Annotations = map[string]string{attachment.EnforcementAnnotation: "off"}
	_, err := newListenerSetValidator(t, attachment.ModeDeny, listenerSetObjects()...).ValidateCreate(ctx, escape)
	assert.True(t, apierrors.IsForbidden(err), "a ListenerSet cannot turn enforcement off for itself: %v", err)

	gw := listenerGateway()
	gw.Annotations = map[string]string{attachment.EnforcementAnnotation: "warn"}
	objs := append([]client.Object{gw}, listenerSetObjects()[1:]...)
	warnings, err := newListenerSetValidator(t, attachment.ModeDeny, objs...).ValidateCreate(ctx, teamListenerSet("hr", "hr.example.com"))
	require.NoError(t, err)
	assert.Equal(t, admission.Warnings{"spec.parentRef: " + hrNotAllowed}, warnings)
}

func TestListenerSetConflictsWarnNamingTheWinner(t *testing.T) {
	warnings, err := newListenerSetValidator(t, attachment.ModeDeny, listenerSetObjects()...).
		ValidateCreate(withUser("alice"), teamListenerSet("careers", "careers.example.com", "www.example.com"))
	require.NoError(t, err, "conflicts are warnings")
	assert.Equal(t, admission.Warnings{`spec.listeners[1]: listener "second" conflicts with Gateway infra-ns/shared-gateway listener "http" ` +
		`(HostnameConflict), which takes precedence: it accepts no route. Give it a port or hostname of its own.`}, warnings)
}

func TestListenerSetUpdate(t *testing.T) {
	ctx := withUser("alice")
	hr := teamListenerSet("hr", "hr.example.com")
	v := newListenerSetValidator(t, attachment.ModeDeny, listenerSetObjects(hr)...)
	relabelled := hr.DeepCopy()
	relabelled.Labels = map[string]string{"team": "hr"}
	warnings, err := v.ValidateUpdate(ctx, hr, relabelled)
	require.NoError(t, err, "a rejection the update did not cause is not denied")
	assert.Equal(t, admission.Warnings{"spec.parentRef: " + hrNotAllowed + " (Not denied: this update did not cause it.)"}, warnings)

	// Moving an accepted ListenerSet to a Gateway that does not accept it is
	// a new attachment, judged as such.
	careers := teamListenerSet("careers", "careers.example.com")
	closed := listenerGateway()
	closed.Name, closed.Spec.AllowedListeners = "closed", nil
	v = newListenerSetValidator(t, attachment.ModeDeny, listenerSetObjects(careers, closed)...)
	moved := careers.DeepCopy()
	moved.Spec.ParentRef.Name = "closed"
	_, err = v.ValidateUpdate(ctx, careers, moved)
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	assert.Contains(t, err.Error(), "spec.parentRef: Gateway infra-ns/closed accepts no ListenerSets (spec.allowedListeners.namespaces.from is None, the default).")
}

func TestListenerSetChangesThatDetachRoutes(t *testing.T) {
	ctx := withUser("alice")
	careers := teamListenerSet("careers", "careers.example.com", "jobs.example.com")
	careers.Spec.Listeners[1].AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}}
	objs := listenerSetObjects(careers,
		routeThrough("careers", "web", "careers", "careers-listeners"),
		routeThrough("hr", "jobs", "careers", "careers-listeners"))
	v := newListenerSetValidator(t, attachment.ModeDeny, objs...)

	narrowed := careers.DeepCopy()
	narrowed.Spec.Listeners = narrowed.Spec.Listeners[:1]
	warnings, err := v.ValidateUpdate(ctx, careers, narrowed)
	require.NoError(t, err)
	assert.Equal(t, admission.Warnings{
		"This change to ListenerSet careers/careers-listeners detaches 1 route from ListenerSet careers/careers-listeners:",
		"- HTTPRoute hr/jobs from ListenerSet careers/careers-listeners (NotAllowedByListeners)",
		"Keep the listeners these routes use, or tell their owners first.",
	}, warnings, "only the route that used the removed listener")

	warnings, err = v.ValidateDelete(ctx, careers)
	require.NoError(t, err, "a delete is never blocked")
	assert.Equal(t, admission.Warnings{
		"Deleting ListenerSet careers/careers-listeners detaches 2 routes from ListenerSet careers/careers-listeners:",
		"- HTTPRoute careers/web from ListenerSet careers/careers-listeners",
		"- HTTPRoute hr/jobs from ListenerSet careers/careers-listeners",
		"Their owners should move them to another parent.",
	}, warnings)
}

// An older ListenerSet that takes a hostname a younger one serves takes its
// routes with it: the update says so.
func TestListenerSetUpdateThatTakesAnotherOnesListener(t *testing.T) {
	older := teamListenerSet("careers", "careers.example.com")
	older.CreationTimestamp = metav1.NewTime(older.CreationTimestamp.Add(-3600e9))
	younger := teamListenerSet("infra-ns", "shop.example.com")
	younger.Name = "shop"
	gw := listenerGateway()
	gw.Spec.AllowedListeners.Namespaces = &gatewayv1.ListenerNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}
	objs := append([]client.Object{gw}, listenerSetObjects(older, younger, routeThrough("infra-ns", "shop", "infra-ns", "shop"))[1:]...)
	v := newListenerSetValidator(t, attachment.ModeDeny, objs...)

	taking := older.DeepCopy()
	taking.Spec.Listeners[0].Hostname = ptr.To(gatewayv1.Hostname("shop.example.com"))
	warnings, err := v.ValidateUpdate(withUser("alice"), older, taking)
	require.NoError(t, err)
	assert.Contains(t, warnings, "- HTTPRoute infra-ns/shop from ListenerSet infra-ns/shop (NotAllowedByListeners)")
}

func TestNamespaceRelabelNamesItsListenerSetsAndTheirRoutes(t *testing.T) {
	careers := teamListenerSet("careers", "careers.example.com")
	careers.Spec.Listeners[0].AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}}
	objs := listenerSetObjects(careers, routeThrough("hr", "jobs", "careers", "careers-listeners"))
	c := withIndexes(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...)).Build()
	v := &NamespaceValidator{Reader: testReader(c), Mode: attachment.ModeWarn}

	warnings, err := v.ValidateUpdate(withUser("alice"),
		labelled("careers", map[string]string{accessLabel: "true", listenerSetLabel: "true"}),
		labelled("careers", map[string]string{accessLabel: "true"}))
	require.NoError(t, err)
	assert.Equal(t, admission.Warnings{
		"Relabelling namespace careers detaches 1 ListenerSet and 1 route:",
		"- ListenerSet careers/careers-listeners from Gateway infra-ns/shared-gateway (NotAllowed)",
		"- HTTPRoute hr/jobs from ListenerSet careers/careers-listeners (NotAllowedByListeners)",
		"To keep them attached, restore the labels of namespace careers or ask the Gateway owner to allow it.",
	}, warnings)
}

func TestGatewayNarrowingAllowedListenersNamesWhatItDetaches(t *testing.T) {
	careers := teamListenerSet("careers", "careers.example.com")
	objs := listenerSetObjects(careers, routeThrough("careers", "web", "careers", "careers-listeners"))
	c := withIndexes(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...)).Build()
	v := &GatewayValidator{Reader: testReader(c), Mode: attachment.ModeWarn, Approvers: Approvers{Groups: []string{"x"}}}

	narrowed := listenerGateway()
	narrowed.Spec.AllowedListeners = nil
	warnings, err := v.ValidateUpdate(context.Background(), listenerGateway(), narrowed)
	require.NoError(t, err)
	assert.Equal(t, admission.Warnings{
		"This change to Gateway infra-ns/shared-gateway detaches 1 ListenerSet and 1 route:",
		"- ListenerSet careers/careers-listeners from Gateway infra-ns/shared-gateway (NotAllowed)",
		"- HTTPRoute careers/web from ListenerSet careers/careers-listeners (NotAllowedByListeners)",
		"Keep the listeners, namespaces, kinds and hostnames they use, or tell their owners first.",
	}, warnings)

	_, err = (&GatewayValidator{Reader: testReader(c), Mode: attachment.ModeDeny}).ValidateUpdate(context.Background(), listenerGateway(), narrowed)
	require.True(t, apierrors.IsForbidden(err))
	assert.Contains(t, err.Error(), "spec.allowedListeners: This change to Gateway infra-ns/shared-gateway detaches 1 ListenerSet and 1 route:")
}

// The grant guard covers allowedListeners selectors as it covers
// allowedRoutes selectors.
func TestGrantGuardCoversAllowedListeners(t *testing.T) {
	v := newNamespaceValidator(t, attachment.ModeWarn, "group:platform-admins", listenerGateway())
	_, err := v.ValidateUpdate(withUser("alice", "tenants"), labelled("hr", nil), labelled("hr", map[string]string{listenerSetLabel: "true"}))
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	assert.Equal(t, "metadata.labels: these labels would let namespace hr attach ListenerSets to Gateway infra-ns/shared-gateway "+
		"(allowedListeners selector shared-gateway-listeners=true); only group:platform-admins may grant that. Ask one of them to label it.", err.Error())

	warnings, err := newNamespaceValidator(t, attachment.ModeWarn, "", listenerGateway()).
		ValidateUpdate(withUser("alice"), labelled("hr", nil), labelled("hr", map[string]string{listenerSetLabel: "true"}))
	require.NoError(t, err)
	assert.Equal(t, admission.Warnings{"namespace hr may now attach ListenerSets to Gateway infra-ns/shared-gateway via selector shared-gateway-listeners=true"}, warnings)
}

// Routes through a ListenerSet are admitted like routes to a Gateway, the
// Gateway governing.
func TestRouteThroughListenerSet(t *testing.T) {
	careers := teamListenerSet("careers", "careers.example.com")
	hr := teamListenerSet("hr", "hr.example.com")
	c := withIndexes(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(listenerSetObjects(careers, hr)...)).Build()
	v := &HTTPRouteValidator{Reader: testReader(c), Mode: attachment.ModeDeny}
	ctx := withUser("alice")

	warnings, err := v.ValidateCreate(ctx, routeThrough("careers", "web", "", "careers-listeners"))
	require.NoError(t, err)
	assert.Empty(t, warnings)

	_, err = v.ValidateCreate(ctx, routeThrough("hr", "web", "", "hr-listeners"))
	require.True(t, apierrors.IsForbidden(err), "%v", err)
	assert.Equal(t, "spec.parentRefs[0]: ListenerSet hr/hr-listeners is not accepted by its Gateway, so no route can attach to it: "+hrNotAllowed, err.Error())

	_, err = v.ValidateCreate(ctx, routeThrough("hr", "web", "careers", "careers-listeners"))
	require.True(t, apierrors.IsForbidden(err), "a ListenerSet listener's Same is its own namespace")
	assert.Contains(t, err.Error(), `ListenerSet careers/careers-listeners listener "first" accepts routes only from its own namespace "careers"`)
}

// A Gateway that takes a hostname a ListenerSet listener serves takes its
// routes too: the Gateway's listeners take precedence.
func TestGatewayTakingAListenerSetsHostnameNamesWhatItDetaches(t *testing.T) {
	careers := teamListenerSet("careers", "careers.example.com")
	objs := listenerSetObjects(careers, routeThrough("careers", "site", "careers", "careers-listeners"))
	c := withIndexes(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...)).Build()
	v := &GatewayValidator{Reader: testReader(c), Mode: attachment.ModeWarn, Approvers: Approvers{Groups: []string{"x"}}}

	taking := listenerGateway()
	taking.Spec.Listeners = append(taking.Spec.Listeners, gatewayv1.Listener{
		Name: "careers", Port: 80, Protocol: gatewayv1.HTTPProtocolType, Hostname: ptr.To(gatewayv1.Hostname("careers.example.com")),
	})
	warnings, err := v.ValidateUpdate(context.Background(), listenerGateway(), taking)
	require.NoError(t, err)
	assert.Equal(t, admission.Warnings{
		"This change to Gateway infra-ns/shared-gateway detaches 1 ListenerSet and 1 route:",
		"- ListenerSet careers/careers-listeners from Gateway infra-ns/shared-gateway (ListenersNotValid)",
		"- HTTPRoute careers/site from ListenerSet careers/careers-listeners (NotAllowedByListeners)",
		"Keep the listeners, namespaces, kinds and hostnames they use, or tell their owners first.",
	}, warnings)
}
