// Package attack_test is the attack suite: each test is something a tenant
// could try to get a route onto a shared Gateway it may not use, run as that
// tenant against a real kube-apiserver that calls `gatewarden serve`
// through the chart's ValidatingWebhookConfiguration. Each asserts that the
// attempt is refused by gatewarden, or that it cannot make a route attach.
//
// Tenants act through impersonation and get exactly the RBAC they need to
// try (see grantRBAC): an attempt the API server refuses on RBAC grounds
// proves nothing about gatewarden, so every denial is checked to come from
// gatewarden's webhook and not from the authorizer.
package attack_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/test/framework"
)

var (
	cp     *framework.ControlPlane
	shared *framework.Shared
)

func TestMain(m *testing.M) {
	os.Exit(framework.RunSuite(m, framework.Options{Race: true, Setup: func(cp *framework.ControlPlane) error {
		if err := grantRBAC(context.Background(), cp.Client); err != nil {
			return fmt.Errorf("granting the tenants' RBAC: %w", err)
		}
		return nil
	}}, &cp))
}

// The flags gatewarden runs with. Only the grant guard differs; the route
// enforcement is the default, deny. The status reconciler is off so that
// only the tests write route status.
var (
	guardOn  = []string{"--grant-approvers=group:" + approverGroup, "--status=false"}
	guardOff = []string{"--status=false"}
)

// serve makes sure gatewarden runs with exactly these flags. Tests of this
// package run one at a time, and are ordered so that gatewarden starts
// twice: guard on, then off.
func serve(t *testing.T, flags ...string) *framework.Server {
	t.Helper()
	if shared == nil {
		shared = cp.Shared()
	}
	return shared.Serve(t, flags...)
}

// Who is who. Tenants are users in tenantGroup, each owning one namespace;
// approvers are in approverGroup, the group --grant-approvers names.
const (
	tenantGroup   = "tenants"
	approverGroup = "platform-admins"

	// tenantRole is what a tenant may do in its own namespace: edit the
	// Namespace object itself (a RoleBinding in namespace X covers the
	// Namespace X) and manage routes, their status, and ListenerSets.
	tenantRole = "attack-tenant"
	// namespaceCreatorRole lets every tenant create Namespaces, as
	// self-service platforms do.
	namespaceCreatorRole = "attack-namespace-creator"
	// approverRole lets the approvers edit every Namespace.
	approverRole = "attack-platform-admin"
	// selfImpersonatorRole lets a user impersonate its own user name and
	// nothing else, so that a refused impersonation of a group is refused
	// for the group alone.
	selfImpersonatorRole = "attack-impersonate-self"
)

var gatewayAPIGroup = gatewayv1.GroupName

// grantRBAC creates the roles the tenants and approvers act with.
func grantRBAC(ctx context.Context, c client.Client) error {
	rw := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	objs := []client.Object{
		&rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: tenantRole},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "update", "patch"}},
				{APIGroups: []string{gatewayAPIGroup}, Resources: []string{"httproutes", "grpcroutes", "listenersets"}, Verbs: rw},
				{APIGroups: []string{gatewayAPIGroup}, Resources: []string{"httproutes/status"}, Verbs: []string{"get", "update", "patch"}},
				{APIGroups: []string{gatewayAPIGroup}, Resources: []string{"gateways"}, Verbs: []string{"get", "list", "watch"}},
			},
		},
		&rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: namespaceCreatorRole},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"create"}}},
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: namespaceCreatorRole},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: namespaceCreatorRole},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: tenantGroup}},
		},
		&rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: approverRole},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "create", "update", "patch"}}},
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: approverRole},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: approverRole},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: approverGroup}},
		},
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	return nil
}

// bindTenant lets user act as the owner of namespace ns with role.
func bindTenant(ctx context.Context, ns, user, role string) error {
	if err := cp.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: user + "-" + role},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}); err != nil {
		return err
	}
	// The API server's RBAC authorizer learns of the binding through a
	// watch: until it has, the tenant's first write is forbidden by RBAC
	// rather than judged by gatewarden. Both roles let it read its own
	// Namespace.
	return wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{tenantGroup},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "get", Resource: "namespaces", Name: ns},
		}}
		if err := cp.Client.Create(ctx, review); err != nil {
			return false, err
		}
		return review.Status.Allowed, nil
	})
}

// createNamespace creates a Namespace as the cluster admin.
func createNamespace(ctx context.Context, name string, labels map[string]string) error {
	return cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
}
