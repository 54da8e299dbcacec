package attack_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	"github.com/gatewarden/gatewarden/test/framework"
)

// Tests run in file order: every test up to TestLabelAttacksWithoutGuard
// runs with the grant guard on, so that gatewarden starts only twice.

// ---------------------------------------------------------------------------
// Cases 1-3: a tenant gives its Namespace the label the shared Gateway's
// selector trusts, by every write path the API server offers.
// ---------------------------------------------------------------------------

// labelAttack is one way for a tenant to give a Namespace labels.
type labelAttack struct {
	name string
	// creates: the attack creates a new Namespace rather than relabelling
	// the tenant's own.
	creates bool
	// namespaceAdmin: the attack needs the tenant to be admin of its
	// namespace (cluster-admin bound by a RoleBinding there, as
	// namespace-as-a-service platforms do), which covers the Namespace's
	// subresources.
	namespaceAdmin bool
	// terminates: the attack deletes the Namespace first, so no route can
	// be created in it afterwards.
	terminates bool
	apply      func(ctx context.Context, tn *tenant, ns string, labels map[string]string) (warnings []string, err error)
}

var labelAttacks = []labelAttack{
	{name: "update, as kubectl edit does", apply: func(ctx context.Context, tn *tenant, ns string, labels map[string]string) ([]string, error) {
		return tn.do(func() error {
			obj := &corev1.Namespace{}
			if err := tn.c.Get(ctx, types.NamespacedName{Name: ns}, obj); err != nil {
				return err
			}
			for k, v := range labels {
				obj.Labels[k] = v
			}
			return tn.c.Update(ctx, obj)
		})
	}},
	{name: "JSON merge patch, as kubectl label sends", apply: func(ctx context.Context, tn *tenant, ns string, labels map[string]string) ([]string, error) {
		return tn.do(func() error {
			return tn.c.Patch(ctx, namespaceRef(ns), client.RawPatch(types.MergePatchType, labelsPatch(labels)))
		})
	}},
	{name: "strategic merge patch", apply: func(ctx context.Context, tn *tenant, ns string, labels map[string]string) ([]string, error) {
		return tn.do(func() error {
			return tn.c.Patch(ctx, namespaceRef(ns), client.RawPatch(types.StrategicMergePatchType, labelsPatch(labels)))
		})
	}},
	{name: "JSON patch", apply: func(ctx context.Context, tn *tenant, ns string, labels map[string]string) ([]string, error) {
		var ops []string
		for k, v := range labels {
			// RFC 6901: "/" in a label key is written "~1".
			ops = append(ops, fmt.Sprintf(`{"op":"add","path":"/metadata/labels/%s","value":%q}`, strings.ReplaceAll(k, "/", "~1"), v))
		}
		return tn.do(func() error {
			return tn.c.Patch(ctx, namespaceRef(ns), client.RawPatch(types.JSONPatchType, []byte("["+strings.Join(ops, ",")+"]")))
		})
	}},
	{name: "server-side apply", apply: func(ctx context.Context, tn *tenant, ns string, labels map[string]string) ([]string, error) {
		return tn.do(func() error {
			return tn.c.Apply(ctx, corev1ac.Namespace(ns).WithLabels(labels), client.FieldOwner(tn.user), client.ForceOwnership)
		})
	}},
	{name: "kubectl label", apply: func(ctx context.Context, tn *tenant, ns string, labels map[string]string) ([]string, error) {
		args := []string{"label", "namespace", ns}
		for k, v := range labels {
			args = append(args, k+"="+v)
		}
		return tn.kubectl(ctx, "", args...)
	}},
	{name: "kubectl apply --server-side", apply: func(ctx context.Context, tn *tenant, ns string, labels map[string]string) ([]string, error) {
		manifest := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n  labels:\n"
		for k, v := range labels {
			manifest += fmt.Sprintf("    %s: %q\n", k, v)
		}
		return tn.kubectl(ctx, manifest, "apply", "--server-side", "--field-manager", tn.user, "-f", "-")
	}},
	{name: "create a new Namespace that already carries the label", creates: true, apply: func(ctx context.Context, tn *tenant, ns string, labels map[string]string) ([]string, error) {
		return tn.do(func() error {
			return tn.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}})
		})
	}},
	// A Namespace being deleted stays Terminating as long as something in
	// it has a finalizer, which a namespace admin controls; its labels can
	// still change, and the routes that remain attach by them.
	{name: "relabel while the Namespace is Terminating", namespaceAdmin: true, terminates: true, apply: func(ctx context.Context, tn *tenant, ns string, labels map[string]string) ([]string, error) {
		return tn.do(func() error {
			if err := tn.c.Delete(ctx, namespaceRef(ns)); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return err
			}
			return tn.c.Patch(ctx, namespaceRef(ns), client.RawPatch(types.MergePatchType, labelsPatch(labels)))
		})
	}},
	// The API server's status and finalize strategies of a Namespace reset
	// only status and spec respectively: both subresources can change its
	// labels. A webhook registered for "namespaces" alone is not called for
	// them.
	{name: "update through the status subresource", namespaceAdmin: true, apply: func(ctx context.Context, tn *tenant, ns string, labels map[string]string) ([]string, error) {
		return tn.do(func() error {
			obj := &corev1.Namespace{}
			if err := tn.c.Get(ctx, types.NamespacedName{Name: ns}, obj); err != nil {
				return err
			}
			for k, v := range labels {
				obj.Labels[k] = v
			}
			return tn.c.Status().Update(ctx, obj)
		})
	}},
	{name: "update through the finalize subresource", namespaceAdmin: true, apply: func(ctx context.Context, tn *tenant, ns string, labels map[string]string) ([]string, error) {
		return tn.do(func() error {
			obj := &corev1.Namespace{}
			if err := tn.c.Get(ctx, types.NamespacedName{Name: ns}, obj); err != nil {
				return err
			}
			for k, v := range labels {
				obj.Labels[k] = v
			}
			return tn.c.SubResource("finalize").Update(ctx, obj)
		})
	}},
}

// With --grant-approvers, a tenant cannot give its Namespace the shared
// Gateway's label by any write path, and the refusal is gatewarden's. Before
// each attack the same write path with a harmless label succeeds: the
// tenant's RBAC allows the write, and gatewarden does not refuse every
// Namespace edit.
func TestLabelAttacksWithGuard(t *testing.T) {
	serve(t, guardOn...)
	ctx := context.Background()
	inf := newInfra(t, "infra-guard")

	for i, a := range labelAttacks {
		t.Run(a.name, func(t *testing.T) {
			tn := newTenant(t, fmt.Sprintf("guard-%d", i), a.namespaceAdmin)
			target, control := tn.ns, tn.ns
			if a.creates {
				target, control = tn.ns+"-new", tn.ns+"-ok"
			}

			warnings, err := a.apply(ctx, tn, control, map[string]string{"team": "blue"})
			require.NoError(t, err, "the tenant may write this Namespace with a harmless label")
			assert.Empty(t, warnings)
			assert.Equal(t, "blue", namespaceLabels(t, control)["team"])

			_, err = a.apply(ctx, tn, target, map[string]string{inf.accessLabel: "true"})
			if a.creates {
				assertNoNamespace(t, target)
			} else {
				assert.NotContains(t, namespaceLabels(t, target), inf.accessLabel, "the tenant gave its namespace the shared Gateway's label")
			}
			requireDeniedByGatewarden(t, err, "namespaces",
				fmt.Sprintf(`denied the request: metadata.labels: these labels would let namespace %s attach routes to Gateway %s/shared listener "http" (selector %s=true)`,
					target, inf.ns, inf.accessLabel),
				"only group:"+approverGroup+" may grant that. Ask one of them to label it.")

			// And so its routes stay off the shared Gateway.
			if !a.terminates {
				_, err = tn.createRoute(ctx, "probe", parentRef(inf.ns, "shared"))
				requireDeniedByGatewarden(t, err, "httproutes", "accepts routes only from namespaces matching "+inf.accessLabel+"=true")
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Case 4: a route that is allowed today gains the shared Gateway in an update.
// ---------------------------------------------------------------------------

func TestRouteUpdateCannotAddTheSharedGateway(t *testing.T) {
	serve(t, guardOn...)
	ctx := context.Background()
	inf := newInfra(t, "infra-upd")
	tn := newTenant(t, "upd", false)

	warnings, err := tn.createRoute(ctx, "web", parentRef(inf.ns, "open"))
	require.NoError(t, err, "the open Gateway admits every namespace")
	require.Empty(t, warnings)
	original := tn.route(t, "web")

	shared := parentRef(inf.ns, "shared")
	sharedJSON := fmt.Sprintf(`{"name":"shared","namespace":%q}`, inf.ns)
	openJSON := fmt.Sprintf(`{"name":"open","namespace":%q}`, inf.ns)
	notAllowed := fmt.Sprintf(`Gateway %s/shared listener "http" accepts routes only from namespaces matching %s=true; namespace %q does not match`,
		inf.ns, inf.accessLabel, tn.ns)

	for _, tc := range []struct {
		name   string
		update func() ([]string, error)
		path   string
	}{
		{"update appends a parentRef", func() ([]string, error) {
			return tn.do(func() error {
				r := original.DeepCopy()
				r.Spec.ParentRefs = append(r.Spec.ParentRefs, shared)
				return tn.c.Update(ctx, r)
			})
		}, "spec.parentRefs[1]"},
		{"update swaps the parentRef", func() ([]string, error) {
			return tn.do(func() error {
				r := original.DeepCopy()
				r.Spec.ParentRefs[0] = shared
				return tn.c.Update(ctx, r)
			})
		}, "spec.parentRefs[0]"},
		{"JSON patch adds a parentRef", func() ([]string, error) {
			return tn.do(func() error {
				return tn.c.Patch(ctx, original.DeepCopy(), client.RawPatch(types.JSONPatchType, []byte(`[{"op":"add","path":"/spec/parentRefs/-","value":`+sharedJSON+`}]`)))
			})
		}, "spec.parentRefs[1]"},
		{"merge patch replaces the list", func() ([]string, error) {
			return tn.do(func() error {
				return tn.c.Patch(ctx, original.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"spec":{"parentRefs":[`+openJSON+`,`+sharedJSON+`]}}`)))
			})
		}, "spec.parentRefs[1]"},
		{"kubectl apply --server-side", func() ([]string, error) {
			return tn.kubectl(ctx, fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
  namespace: %s
spec:
  parentRefs:
  - {name: open, namespace: %s}
  - {name: shared, namespace: %s}
`, tn.ns, inf.ns, inf.ns), "apply", "--server-side", "--force-conflicts", "--field-manager", tn.user, "-f", "-")
		}, "spec.parentRefs[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.update()
			requireDeniedByGatewarden(t, err, "httproutes", fmt.Sprintf(`denied the request: %s: %s`, tc.path, notAllowed))
			if tc.path == "spec.parentRefs[1]" {
				assert.NotContains(t, err.Error(), "spec.parentRefs[0]", "the open Gateway is fine")
			}
			assert.Equal(t, original.Spec.ParentRefs, tn.route(t, "web").Spec.ParentRefs, "the route still names only the open Gateway")
		})
	}

	// Control: an update that keeps the route on the open Gateway passes,
	// so the denials above are about the shared Gateway, not any update.
	_, err = tn.do(func() error {
		r := tn.route(t, "web")
		r.Spec.Hostnames = []gatewayv1.Hostname{"web.example.com"}
		return tn.c.Update(ctx, r)
	})
	require.NoError(t, err)

	// A route being deleted stays as long as its finalizer, which the tenant
	// controls; its spec can still change, and it attaches by it. Letting
	// the finalizer go must never be blocked, but a new parentRef must be
	// judged like any other.
	t.Run("update of a route held by its own finalizer while being deleted", func(t *testing.T) {
		_, err := tn.do(func() error {
			return tn.c.Create(ctx, &gatewayv1.HTTPRoute{
				ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: "held", Finalizers: []string{"attack.test/hold"}},
				Spec:       gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{parentRef(inf.ns, "open")}}},
			})
		})
		require.NoError(t, err)
		_, err = tn.do(func() error { return tn.c.Delete(ctx, tn.route(t, "held")) })
		require.NoError(t, err)
		held := tn.route(t, "held")
		require.NotNil(t, held.DeletionTimestamp, "the finalizer holds the route")

		_, err = tn.do(func() error {
			r := held.DeepCopy()
			r.Spec.ParentRefs = append(r.Spec.ParentRefs, shared)
			return tn.c.Update(ctx, r)
		})
		assert.Equal(t, held.Spec.ParentRefs, tn.route(t, "held").Spec.ParentRefs, "the tenant's route, held by its finalizer, gained the shared Gateway")
		requireDeniedByGatewarden(t, err, "httproutes", `denied the request: spec.parentRefs[1]: `+notAllowed)
	})
}

// ---------------------------------------------------------------------------
// Case 5: every spelling of a parentRef gets the verdict the spec gives.
// ---------------------------------------------------------------------------

func TestParentRefSpellings(t *testing.T) {
	serve(t, guardOn...)
	ctx := context.Background()
	inf := newInfra(t, "infra-refs")
	tn := newTenant(t, "refs", false)

	group := func(g string) *gatewayv1.Group { return ptr.To(gatewayv1.Group(g)) }
	kind := func(k string) *gatewayv1.Kind { return ptr.To(gatewayv1.Kind(k)) }
	section := func(s string) *gatewayv1.SectionName { return ptr.To(gatewayv1.SectionName(s)) }
	infraNS := ptr.To(gatewayv1.Namespace(inf.ns))

	notAllowed := fmt.Sprintf(`Gateway %s/shared listener "http" accepts routes only from namespaces matching %s=true; namespace %q does not match`,
		inf.ns, inf.accessLabel, tn.ns)
	bothNotAllowed := notAllowed + fmt.Sprintf(`; listener "http-alt" accepts routes only from namespaces matching %s=true; namespace %q does not match.`, inf.accessLabel, tn.ns)
	listeners := `its listeners are "http" (port 80), "http-alt" (port 8080)`

	for i, tc := range []struct {
		name string
		refs []gatewayv1.ParentReference
		// denied is the whole field error gatewarden must return; "" means
		// the route is created.
		denied string
		// warning, when set, is a warning the creation must return.
		warning string
	}{
		{
			name:   "group and kind spelled out",
			refs:   []gatewayv1.ParentReference{{Group: group(gatewayv1.GroupName), Kind: kind("Gateway"), Namespace: infraNS, Name: "shared"}},
			denied: "spec.parentRefs[0]: " + bothNotAllowed,
		},
		{
			name:   "group and kind defaulted",
			refs:   []gatewayv1.ParentReference{{Namespace: infraNS, Name: "shared"}},
			denied: "spec.parentRefs[0]: " + bothNotAllowed,
		},
		{
			// A mesh parentRef is not a Gateway: gatewarden skips it, and no
			// Gateway implementation attaches it to a Gateway either.
			name: "core Service, a mesh parentRef",
			refs: []gatewayv1.ParentReference{{Group: group(""), Kind: kind("Service"), Namespace: infraNS, Name: "shared"}},
		},
		{
			// Kinds are case-sensitive: "gateway" is not a Gateway, so no
			// implementation attaches it, and gatewarden skips it.
			name: "kind in lower case is another kind",
			refs: []gatewayv1.ParentReference{{Kind: kind("gateway"), Namespace: infraNS, Name: "shared"}},
		},
		{
			// Namespace omitted: the route's own namespace, where no Gateway
			// "shared" exists. It must not resolve to infra's.
			name:    "namespace omitted names a Gateway in the route's namespace",
			refs:    []gatewayv1.ParentReference{{Group: group(gatewayv1.GroupName), Kind: kind("Gateway"), Name: "shared"}},
			warning: fmt.Sprintf("spec.parentRefs[0]: Gateway %s/shared was not found, so this parentRef could not be checked.", tn.ns),
		},
		{
			name:   "sectionName of an existing listener",
			refs:   []gatewayv1.ParentReference{{Namespace: infraNS, Name: "shared", SectionName: section("http-alt")}},
			denied: fmt.Sprintf(`spec.parentRefs[0]: Gateway %s/shared listener "http-alt" accepts routes only from namespaces matching %s=true`, inf.ns, inf.accessLabel),
		},
		{
			name: "sectionName of a listener that does not exist",
			refs: []gatewayv1.ParentReference{{Namespace: infraNS, Name: "shared", SectionName: section("admin")}},
			denied: fmt.Sprintf(`spec.parentRefs[0]: Gateway %s/shared has no listener named "admin"; %s. Set sectionName to one of them, or remove it to use every listener.`,
				inf.ns, listeners),
		},
		{
			name: "port that does not exist",
			refs: []gatewayv1.ParentReference{{Namespace: infraNS, Name: "shared", Port: ptr.To[gatewayv1.PortNumber](9999)}},
			denied: fmt.Sprintf(`spec.parentRefs[0]: Gateway %s/shared has no listener on port 9999; %s. Set port to one of theirs, or remove it to use every listener.`,
				inf.ns, listeners),
		},
		{
			name:   "port of an existing listener",
			refs:   []gatewayv1.ParentReference{{Namespace: infraNS, Name: "shared", Port: ptr.To[gatewayv1.PortNumber](8080)}},
			denied: fmt.Sprintf(`spec.parentRefs[0]: Gateway %s/shared listener "http-alt" accepts routes only`, inf.ns),
		},
		{
			// Both set: both must match the same listener.
			name: "sectionName and port of two different listeners",
			refs: []gatewayv1.ParentReference{{Namespace: infraNS, Name: "shared", SectionName: section("http"), Port: ptr.To[gatewayv1.PortNumber](8080)}},
			denied: fmt.Sprintf(`spec.parentRefs[0]: Gateway %s/shared has no listener named "http" on port 8080; %s. Set sectionName and port to those of one listener.`,
				inf.ns, listeners),
		},
		{
			// One fine parentRef does not carry a bad one through.
			name:   "one allowed parentRef and one not",
			refs:   []gatewayv1.ParentReference{{Namespace: infraNS, Name: "open"}, {Namespace: infraNS, Name: "shared"}},
			denied: "spec.parentRefs[1]: " + bothNotAllowed,
		},
		{
			name:   "a mesh parentRef first, then the shared Gateway",
			refs:   []gatewayv1.ParentReference{{Group: group(""), Kind: kind("Service"), Name: "mesh"}, {Namespace: infraNS, Name: "shared", SectionName: section("http")}},
			denied: "spec.parentRefs[1]: " + notAllowed,
		},
		{
			name: "the open Gateway, spelled out",
			refs: []gatewayv1.ParentReference{{Group: group(gatewayv1.GroupName), Kind: kind("Gateway"), Namespace: infraNS, Name: "open", SectionName: section("http"), Port: ptr.To[gatewayv1.PortNumber](80)}},
		},
	} {
		name := fmt.Sprintf("spelling-%d", i)
		t.Run(tc.name, func(t *testing.T) {
			warnings, err := tn.createRoute(ctx, name, tc.refs...)
			if tc.denied != "" {
				requireDeniedByGatewarden(t, err, "httproutes", "denied the request: "+tc.denied)
				for i := range tc.refs {
					if p := fmt.Sprintf("spec.parentRefs[%d]", i); !strings.Contains(tc.denied, p) {
						assert.NotContains(t, err.Error(), p, "only the rejected parentRef is named")
					}
				}
				tn.assertNoRoute(t, name)
				return
			}
			require.NoError(t, err)
			if tc.warning != "" {
				require.Len(t, warnings, 1)
				assert.Contains(t, warnings[0], tc.warning)
			} else {
				assert.Empty(t, warnings)
			}
		})
	}
}

// Other route kinds and API versions go through the same evaluation: a
// tenant cannot reach the shared Gateway by writing a GRPCRoute, or an
// HTTPRoute through the v1beta1 API (the chart's matchPolicy is Equivalent).
func TestOtherKindsAndVersionsAreNotALoophole(t *testing.T) {
	serve(t, guardOn...)
	ctx := context.Background()
	inf := newInfra(t, "infra-kinds")
	tn := newTenant(t, "kinds", false)
	notAllowed := fmt.Sprintf(`spec.parentRefs[0]: Gateway %s/shared listener "http" accepts routes only from namespaces matching %s=true`, inf.ns, inf.accessLabel)

	_, err := tn.do(func() error {
		return tn.c.Create(ctx, &gatewayv1.GRPCRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: "grpc"},
			Spec:       gatewayv1.GRPCRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{parentRef(inf.ns, "shared")}}},
		})
	})
	requireDeniedByGatewarden(t, err, "grpcroutes", "denied the request: "+notAllowed)

	_, err = tn.do(func() error {
		return tn.c.Create(ctx, &gatewayv1beta1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: "beta"},
			Spec:       gatewayv1beta1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{parentRef(inf.ns, "shared")}}},
		})
	})
	requireDeniedByGatewarden(t, err, "httproutes", "denied the request: "+notAllowed)
	tn.assertNoRoute(t, "beta")
}

// ---------------------------------------------------------------------------
// Case 6: membership of the approver group comes from the authenticator.
// ---------------------------------------------------------------------------

func TestOnlyAuthenticatedApproversMayGrant(t *testing.T) {
	serve(t, guardOn...)
	ctx := context.Background()
	inf := newInfra(t, "infra-appr")
	tn := newTenant(t, "appr", false)
	grant := map[string]string{inf.accessLabel: "true"}
	grantPatch := client.RawPatch(types.MergePatchType, labelsPatch(grant))

	t.Run("a user named like the approver group is not in it", func(t *testing.T) {
		c := impersonate(t, approverGroup, tenantGroup)
		require.NoError(t, bindTenant(ctx, tn.ns, approverGroup, tenantRole))
		err := c.Patch(ctx, namespaceRef(tn.ns), grantPatch)
		requireDeniedByGatewarden(t, err, "namespaces", "only group:"+approverGroup+" may grant that")
	})

	t.Run("group names are compared exactly", func(t *testing.T) {
		c := impersonate(t, tn.user, tenantGroup, "Platform-Admins", approverGroup+"-readonly")
		err := c.Patch(ctx, namespaceRef(tn.ns), grantPatch)
		requireDeniedByGatewarden(t, err, "namespaces", "only group:"+approverGroup+" may grant that")
		assert.NotContains(t, namespaceLabels(t, tn.ns), inf.accessLabel)
	})

	// alice is a real user of the API server, authenticated by her client
	// certificate as a member of tenants only. She may impersonate her own
	// user name, so that what is refused below is the group alone.
	alice, err := cp.Env.AddUser(envtest.User{Name: tn.user, Groups: []string{tenantGroup}}, cp.Config)
	require.NoError(t, err)
	require.NoError(t, cp.Client.Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: selfImpersonatorRole},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"users"}, Verbs: []string{"impersonate"}, ResourceNames: []string{tn.user}}},
	}))
	require.NoError(t, cp.Client.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: selfImpersonatorRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: selfImpersonatorRole},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: tn.user}},
	}))

	// aliceAs is a client with alice's own credentials; with impersonate
	// set, it impersonates her own user name, in groups. It uses the
	// admin's REST mapper: discovery through a refused impersonation would
	// fail first.
	aliceAs := func(t *testing.T, impersonate bool, groups ...string) client.Client {
		cfg := rest.CopyConfig(alice.Config())
		if impersonate {
			cfg.Impersonate = rest.ImpersonationConfig{UserName: tn.user, Groups: groups}
		}
		c, err := client.New(cfg, client.Options{Scheme: cp.Scheme, Mapper: cp.Client.RESTMapper()})
		require.NoError(t, err)
		return c
	}

	t.Run("the tenant with her own credentials is refused by gatewarden", func(t *testing.T) {
		err := aliceAs(t, false).Patch(ctx, namespaceRef(tn.ns), grantPatch)
		requireDeniedByGatewarden(t, err, "namespaces", "only group:"+approverGroup+" may grant that")
	})

	t.Run("the tenant cannot claim the approver group by impersonating it", func(t *testing.T) {
		// Control: impersonating only her own name passes the API server's
		// authorization and reaches gatewarden, which refuses the grant.
		err := aliceAs(t, true).Patch(ctx, namespaceRef(tn.ns), grantPatch)
		requireDeniedByGatewarden(t, err, "namespaces", "only group:"+approverGroup+" may grant that")

		// Adding the approver group is refused by the API server before any
		// admission: membership is the authenticator's to say.
		err = aliceAs(t, true, approverGroup).Patch(ctx, namespaceRef(tn.ns), grantPatch)
		require.Error(t, err)
		assert.True(t, apierrors.IsForbidden(err), "%v", err)
		assert.Contains(t, err.Error(), fmt.Sprintf(`is forbidden: User %q cannot impersonate`, tn.user))
		assert.NotContains(t, err.Error(), "gatewarden")
		assert.NotContains(t, namespaceLabels(t, tn.ns), inf.accessLabel)
	})

	t.Run("a member of the approver group may grant", func(t *testing.T) {
		w := &framework.WarningRecorder{}
		c, err := cp.ImpersonatingClient("bob", []string{approverGroup}, w)
		require.NoError(t, err)
		require.NoError(t, c.Patch(ctx, namespaceRef(tn.ns), grantPatch))
		assert.Equal(t, "true", namespaceLabels(t, tn.ns)[inf.accessLabel])
		assert.Empty(t, w.Messages())

		// Granted by an approver, the tenant's route now attaches.
		warnings, err := tn.createRoute(ctx, "granted", parentRef(inf.ns, "shared"))
		require.NoError(t, err)
		assert.Empty(t, warnings)
	})
}

// ---------------------------------------------------------------------------
// Case 7: what the webhook must never block.
// ---------------------------------------------------------------------------

// A route admitted while its Gateway was in warn mode can still be deleted,
// finalizer and all, once the Gateway is back in deny mode; its status can
// be written, and the status subresource is no way to change its spec.
func TestDeleteAndStatusAreNeverBlocked(t *testing.T) {
	serve(t, guardOn...)
	ctx := context.Background()
	inf := newInfra(t, "infra-del")
	tn := newTenant(t, "del", false)

	setEnforcement(t, inf.ns, "shared", "warn")
	for _, name := range []string{"plain", "held", "status"} {
		var finalizers []string
		if name == "held" {
			finalizers = []string{"attack.test/hold"}
		}
		warnings, err := tn.do(func() error {
			return tn.c.Create(ctx, &gatewayv1.HTTPRoute{
				ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: name, Finalizers: finalizers},
				Spec:       gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{parentRef(inf.ns, "shared")}}},
			})
		})
		require.NoError(t, err, "warn mode lets the route in")
		require.NotEmpty(t, warnings)
		assert.Contains(t, warnings[0], "spec.parentRefs[0]: Gateway "+inf.ns+"/shared listener")
	}
	setEnforcement(t, inf.ns, "shared", "")

	// The Gateway is in deny mode again, as gatewarden sees it: a new
	// parentRef to it is denied.
	require.Eventually(t, func() bool {
		_, err := tn.do(func() error {
			return tn.c.Create(ctx, &gatewayv1.HTTPRoute{
				ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: "probe"},
				Spec:       gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{parentRef(inf.ns, "shared")}}},
			}, client.DryRunAll)
		})
		return isGatewardenDenial(err, "httproutes")
	}, 10*time.Second, 100*time.Millisecond, "a new route to the shared Gateway must be denied again")

	preexisting := "(Not denied: this update did not cause it.)"

	t.Run("delete", func(t *testing.T) {
		_, err := tn.do(func() error { return tn.c.Delete(ctx, tn.route(t, "plain")) })
		require.NoError(t, err)
		tn.assertNoRoute(t, "plain")
	})

	t.Run("delete with a finalizer", func(t *testing.T) {
		// An edit of a rejected route that keeps its parentRefs is a
		// warning: the tenant did not cause the rejection by this edit.
		warnings, err := tn.do(func() error {
			r := tn.route(t, "held")
			r.Spec.Hostnames = []gatewayv1.Hostname{"held.example.com"}
			return tn.c.Update(ctx, r)
		})
		require.NoError(t, err)
		assert.Contains(t, strings.Join(warnings, "\n"), preexisting)
		// A metadata-only edit is not even sent to gatewarden.
		warnings, err = tn.do(func() error {
			r := tn.route(t, "held")
			r.Labels = map[string]string{"edited": "true"}
			return tn.c.Update(ctx, r)
		})
		require.NoError(t, err)
		assert.Empty(t, warnings)

		_, err = tn.do(func() error { return tn.c.Delete(ctx, tn.route(t, "held")) })
		require.NoError(t, err)
		held := tn.route(t, "held")
		require.NotNil(t, held.DeletionTimestamp)
		warnings, err = tn.do(func() error {
			held.Finalizers = nil
			return tn.c.Update(ctx, held)
		})
		require.NoError(t, err, "removing the finalizer of a route being deleted is never blocked")
		assert.Empty(t, warnings)
		tn.assertNoRoute(t, "held")
	})

	t.Run("status", func(t *testing.T) {
		// Control: the same route's main resource is evaluated, and warns.
		warnings, err := tn.do(func() error {
			r := tn.route(t, "status")
			r.Spec.Hostnames = []gatewayv1.Hostname{"status.example.com"}
			return tn.c.Update(ctx, r)
		})
		require.NoError(t, err)
		require.Contains(t, strings.Join(warnings, "\n"), preexisting)

		r := tn.route(t, "status")
		specBefore := r.Spec.DeepCopy()
		r.Status.Parents = []gatewayv1.RouteParentStatus{{
			ParentRef:      parentRef(inf.ns, "shared"),
			ControllerName: "example.com/gateway-controller",
			Conditions: []metav1.Condition{{
				Type: string(gatewayv1.RouteConditionAccepted), Status: metav1.ConditionTrue, Reason: string(gatewayv1.RouteReasonAccepted),
				Message: "written by the tenant", ObservedGeneration: r.Generation, LastTransitionTime: metav1.Now(),
			}},
		}}
		// A spec change smuggled into the status write, which gatewarden
		// would deny on the main resource (a changed parentRef is a new
		// rejection): the API server drops it.
		r.Spec.ParentRefs[0].SectionName = ptr.To(gatewayv1.SectionName("http-alt"))
		warnings, err = tn.do(func() error { return tn.c.Status().Update(ctx, r) })
		require.NoError(t, err)
		assert.Empty(t, warnings, "gatewarden is not called for httproutes/status")

		stored := tn.route(t, "status")
		assert.Equal(t, *specBefore, stored.Spec, "the status subresource cannot change the spec")
		require.Len(t, stored.Status.Parents, 1)
		assert.Equal(t, gatewayv1.GatewayController("example.com/gateway-controller"), stored.Status.Parents[0].ControllerName)
	})
}

// ---------------------------------------------------------------------------
// Cases 1-3 again, without --grant-approvers: the label is let through, and
// gatewarden says which Gateway the namespace can now reach. Last, so that
// gatewarden restarts once.
// ---------------------------------------------------------------------------

func TestLabelAttacksWithoutGuard(t *testing.T) {
	serve(t, guardOff...)
	ctx := context.Background()
	inf := newInfra(t, "infra-open")

	for i, a := range labelAttacks {
		t.Run(a.name, func(t *testing.T) {
			tn := newTenant(t, fmt.Sprintf("noguard-%d", i), a.namespaceAdmin)
			target := tn.ns
			if a.creates {
				target = tn.ns + "-new"
			}
			warnings, err := a.apply(ctx, tn, target, map[string]string{inf.accessLabel: "true"})
			require.NoError(t, err, "without approvers anyone who may write a Namespace may grant")
			assert.Contains(t, strings.Join(warnings, "\n"),
				fmt.Sprintf(`namespace %s now reaches Gateway %s/shared listener "http"`, target, inf.ns))
			assert.Equal(t, "true", namespaceLabels(t, target)[inf.accessLabel])
		})
	}
}

// ---------------------------------------------------------------------------
// Fixtures and helpers.
// ---------------------------------------------------------------------------

// infra is a platform team's namespace with two Gateways:
//   - shared: listeners "http" (port 80) and "http-alt" (8080), both
//     admitting only namespaces labelled accessLabel=true;
//   - open: listener "http" (port 80) admitting every namespace.
type infra struct {
	ns string
	// accessLabel is the key shared's selector matches, unique to this
	// infra so that each test's grants are its own.
	accessLabel string
}

func newInfra(t *testing.T, ns string) *infra {
	t.Helper()
	ctx := context.Background()
	inf := &infra{ns: ns, accessLabel: "attack.test/" + ns}
	require.NoError(t, createNamespace(ctx, ns, nil))
	selector := &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{
		From:     ptr.To(gatewayv1.NamespacesFromSelector),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{inf.accessLabel: "true"}},
	}}
	all := &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}}
	for _, gw := range []*gatewayv1.Gateway{
		{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shared"},
			Spec: gatewayv1.GatewaySpec{GatewayClassName: "example", Listeners: []gatewayv1.Listener{
				{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType, AllowedRoutes: selector},
				{Name: "http-alt", Port: 8080, Protocol: gatewayv1.HTTPProtocolType, AllowedRoutes: selector},
			}},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "open"},
			Spec: gatewayv1.GatewaySpec{GatewayClassName: "example", Listeners: []gatewayv1.Listener{
				{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType, AllowedRoutes: all},
			}},
		},
	} {
		require.NoError(t, cp.Client.Create(ctx, gw))
	}
	inf.waitSeen(t)
	return inf
}

// waitSeen waits until gatewarden's cache holds the shared Gateway. The
// grant guard decides "no grant" from the cache alone, so an attack made
// before the cache has the Gateway would race it. It probes with a dry-run
// creation, by the admin (no approver), of a Namespace with the label.
func (inf *infra) waitSeen(t *testing.T) {
	t.Helper()
	w := &framework.WarningRecorder{}
	c, err := cp.ClientWithWarnings(w)
	require.NoError(t, err)
	probe := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: inf.ns + "-probe", Labels: map[string]string{inf.accessLabel: "true"}}}
	require.Eventually(t, func() bool {
		w.Reset()
		err := c.Create(context.Background(), probe.DeepCopy(), client.DryRunAll)
		return strings.Contains(fmt.Sprint(err), "may grant that") || strings.Contains(strings.Join(w.Messages(), "\n"), "Gateway "+inf.ns+"/shared")
	}, 10*time.Second, 50*time.Millisecond, "gatewarden never saw Gateway %s/shared", inf.ns)
}

// tenant is a user in tenantGroup who owns one namespace, and acts through
// impersonation by the admin.
type tenant struct {
	user, ns string
	c        client.Client
	warnings *framework.WarningRecorder
}

// newTenant creates the namespace tenant-NAME owned by user NAME-owner;
// namespaceAdmin binds cluster-admin there instead of tenantRole.
func newTenant(t *testing.T, name string, namespaceAdmin bool) *tenant {
	t.Helper()
	ctx := context.Background()
	tn := &tenant{user: name + "-owner", ns: "tenant-" + name, warnings: &framework.WarningRecorder{}}
	require.NoError(t, createNamespace(ctx, tn.ns, nil))
	role := tenantRole
	if namespaceAdmin {
		role = "cluster-admin"
	}
	require.NoError(t, bindTenant(ctx, tn.ns, tn.user, role))
	var err error
	tn.c, err = cp.ImpersonatingClient(tn.user, []string{tenantGroup}, tn.warnings)
	require.NoError(t, err)
	return tn
}

// do runs one write of the tenant's and returns the warnings it got.
func (tn *tenant) do(write func() error) ([]string, error) {
	tn.warnings.Reset()
	err := write()
	return tn.warnings.Messages(), err
}

// kubectl runs kubectl as the tenant. Its error, when it fails, carries
// what kubectl printed on stderr; warnings are the "Warning: " lines.
func (tn *tenant) kubectl(ctx context.Context, stdin string, args ...string) ([]string, error) {
	res := cp.Kubectl(ctx, stdin, append(args, "--as", tn.user, "--as-group", tenantGroup)...)
	var warnings []string
	for _, line := range strings.Split(res.Stderr, "\n") {
		if w, ok := strings.CutPrefix(line, "Warning: "); ok {
			warnings = append(warnings, w)
		}
	}
	if res.Err != nil {
		return warnings, kubectlError{res}
	}
	return warnings, nil
}

// kubectlError is a failed kubectl run, as a tenant would read it.
type kubectlError struct{ res framework.KubectlResult }

func (e kubectlError) Error() string { return fmt.Sprintf("kubectl: %v: %s", e.res.Err, e.res.Stderr) }

func (tn *tenant) createRoute(ctx context.Context, name string, refs ...gatewayv1.ParentReference) ([]string, error) {
	return tn.do(func() error {
		return tn.c.Create(ctx, &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: name},
			Spec:       gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: refs}},
		})
	})
}

// route reads one of the tenant's routes as the admin.
func (tn *tenant) route(t *testing.T, name string) *gatewayv1.HTTPRoute {
	t.Helper()
	r := &gatewayv1.HTTPRoute{}
	require.NoError(t, cp.Client.Get(context.Background(), types.NamespacedName{Namespace: tn.ns, Name: name}, r))
	return r
}

func (tn *tenant) assertNoRoute(t *testing.T, name string) {
	t.Helper()
	err := cp.Client.Get(context.Background(), types.NamespacedName{Namespace: tn.ns, Name: name}, &gatewayv1.HTTPRoute{})
	assert.True(t, apierrors.IsNotFound(err), "route %s/%s must not exist: %v", tn.ns, name, err)
}

// impersonate returns a client acting as user in groups.
func impersonate(t *testing.T, user string, groups ...string) client.Client {
	t.Helper()
	c, err := cp.ImpersonatingClient(user, groups, nil)
	require.NoError(t, err)
	return c
}

// requireDeniedByGatewarden asserts that err is gatewarden's refusal, from
// its webhook for resource, and not the API server's RBAC ("User ... cannot
// ..."), and that the message has each of want.
func requireDeniedByGatewarden(t *testing.T, err error, resource string, want ...string) {
	t.Helper()
	require.Error(t, err, "the attempt must be refused")
	require.True(t, isGatewardenDenial(err, resource), "refused, but not by gatewarden's %s webhook: %v", resource, err)
	for _, w := range want {
		assert.Contains(t, err.Error(), w)
	}
}

func isGatewardenDenial(err error, resource string) bool {
	if err == nil || strings.Contains(err.Error(), "is forbidden: User") {
		return false
	}
	// gatewarden denies with Forbidden (403), as the authorizer does, but
	// the API server names the webhook that refused; kubectl prints it
	// after "Error from server (Forbidden):".
	deniedBy := fmt.Sprintf(`admission webhook "%s.gatewarden.dev" denied the request: `, resource)
	var ke kubectlError
	if errors.As(err, &ke) {
		return strings.Contains(ke.res.Stderr, "Error from server (Forbidden): ") && strings.Contains(ke.res.Stderr, deniedBy)
	}
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), deniedBy)
}

func parentRef(ns, name string) gatewayv1.ParentReference {
	return gatewayv1.ParentReference{Namespace: ptr.To(gatewayv1.Namespace(ns)), Name: gatewayv1.ObjectName(name)}
}

func namespaceRef(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func labelsPatch(labels map[string]string) []byte {
	var kv []string
	for k, v := range labels {
		kv = append(kv, fmt.Sprintf("%q:%q", k, v))
	}
	return []byte(`{"metadata":{"labels":{` + strings.Join(kv, ",") + `}}}`)
}

func namespaceLabels(t *testing.T, name string) map[string]string {
	t.Helper()
	ns := &corev1.Namespace{}
	require.NoError(t, cp.Client.Get(context.Background(), types.NamespacedName{Name: name}, ns))
	return ns.Labels
}

func assertNoNamespace(t *testing.T, name string) {
	t.Helper()
	err := cp.Client.Get(context.Background(), types.NamespacedName{Name: name}, &corev1.Namespace{})
	assert.True(t, apierrors.IsNotFound(err), "namespace %s must not exist: %v", name, err)
}

// setEnforcement sets a Gateway's enforcement annotation, or removes it
// when mode is "".
func setEnforcement(t *testing.T, ns, name, mode string) {
	t.Helper()
	value := "null"
	if mode != "" {
		value = fmt.Sprintf("%q", mode)
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"gatewarden.dev/enforcement":%s}}}`, value)
	require.NoError(t, cp.Client.Patch(context.Background(), &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}},
		client.RawPatch(types.MergePatchType, []byte(patch))))
}
