// Package check_test proves `gatewarden check --cluster` against a real
// kube-apiserver holding the example scenario (and, for the ListenerSet
// tests, its second act): it reads the cluster with a user that may only
// get and list, says the same as the offline check, and names what a change
// file would detach or grant. No webhook runs here:
// check only reads, and the scenario's hr route is created as a cluster
// without gatewarden (or with it in warn mode) would hold it.
package check_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/test/framework"
)

var (
	cp *framework.ControlPlane
	// dir holds the suite's kubeconfigs.
	dir string
	// readOnly and partial are kubeconfigs that impersonate, with the
	// admin's credentials, a user bound to get and list on every kind check
	// reads, and one that may list all of them but HTTPRoutes.
	readOnly, partial string
	// gatewarden is the binary under test.
	gatewarden string
)

const (
	readerUser  = "ci-reader"
	partialUser = "ci-partial"
)

func TestMain(m *testing.M) {
	code := framework.RunSuite(m, framework.Options{Setup: setup}, &cp)
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

func setup(cp *framework.ControlPlane) error {
	ctx := context.Background()
	var err error
	if gatewarden, err = cp.Gatewarden(); err != nil {
		return err
	}
	res := cp.Kubectl(ctx, "", "apply", "-f", filepath.Join(cp.Root, "config", "samples", "shared-gateway"))
	if res.Err != nil {
		return fmt.Errorf("applying the example scenario: %w\n%s", res.Err, res.Stderr)
	}
	routes := []string{"httproutes", "grpcroutes", "tlsroutes", "tcproutes", "udproutes"}
	parents := []string{"gateways", "listenersets", "referencegrants"}
	if err := bindReader(ctx, readerUser, append(parents, routes...)); err != nil {
		return err
	}
	if err := bindReader(ctx, partialUser, append(parents, routes[1:]...)); err != nil {
		return err
	}
	if dir, err = os.MkdirTemp("", "gatewarden-check-"); err != nil {
		return err
	}
	readOnly, partial = filepath.Join(dir, "ci-reader.kubeconfig"), filepath.Join(dir, "ci-partial.kubeconfig")
	return errors.Join(impersonating(cp.Kubeconfig, readerUser, readOnly), impersonating(cp.Kubeconfig, partialUser, partial))
}

// bindReader lets user get and list Namespaces and these Gateway API
// resources, cluster-wide, and nothing else.
func bindReader(ctx context.Context, user string, gatewayResources []string) error {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{gatewayv1.GroupName}, Resources: gatewayResources, Verbs: []string{"get", "list"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	return errors.Join(cp.Client.Create(ctx, role), cp.Client.Create(ctx, binding))
}

// impersonating writes a copy of the admin kubeconfig whose user acts as
// another (the kubeconfig's as: field, as kubectl --as does).
func impersonating(admin, user, path string) error {
	cfg, err := clientcmd.LoadFromFile(admin)
	if err != nil {
		return err
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = user
	}
	return clientcmd.WriteToFile(*cfg, path)
}
