package webhook

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

func newGatewayValidator(t *testing.T, mode attachment.Mode, approvers string, objs ...client.Object) *GatewayValidator {
	c := withIndexes(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...)).Build()
	a, err := ParseApprovers(approvers)
	require.NoError(t, err)
	return &GatewayValidator{Reader: testReader(c), Mode: mode, Approvers: a}
}

func TestGatewayCreateNamesWhatItsSelectorAdmits(t *testing.T) {
	objs := []client.Object{labelled("hr", nil)}
	for _, n := range []string{"careers", "product"} {
		objs = append(objs, labelled(n, map[string]string{accessLabel: "true"}))
	}

	v := newGatewayValidator(t, attachment.ModeWarn, "", objs...)
	warnings, err := v.ValidateCreate(context.Background(), sharedGateway())
	require.NoError(t, err)
	assert.Equal(t, admission.Warnings{
		`listener "http" admits namespaces by label shared-gateway-access, which anyone who may edit a Namespace can set: ` +
			`select on kubernetes.io/metadata.name, or run gatewarden with --grant-approvers`,
		`listener "http" admits 2 namespaces by label: careers, product`,
	}, warnings)

	// With approvers, labels are guarded from now on; the namespaces that
	// carried the label before are still named, since no approver saw them.
	v = newGatewayValidator(t, attachment.ModeWarn, "group:platform-admins", objs...)
	warnings, err = v.ValidateCreate(context.Background(), sharedGateway())
	require.NoError(t, err)
	assert.Equal(t, admission.Warnings{`listener "http" admits 2 namespaces by label: careers, product`}, warnings)
}

func TestGatewayCreateWarnsAboutAnInvalidAnnotation(t *testing.T) {
	gw := sharedGateway()
	gw.Annotations = map[string]string{attachment.EnforcementAnnotation: "false"}
	warnings, err := newGatewayValidator(t, attachment.ModeWarn, "group:x").ValidateCreate(context.Background(), gw)
	require.NoError(t, err)
	assert.Contains(t, warnings, `annotation gatewarden.dev/enforcement: "false" is not deny, warn or off; the default applies`)
}

func TestGatewayChangesThatDetachRoutes(t *testing.T) {
	objs := []client.Object{sharedGateway(), labelled("careers", map[string]string{accessLabel: "true"})}
	for i := range 7 {
		objs = append(objs, httpRoute("careers", fmt.Sprintf("r%d", i)))
	}
	narrowed := sharedGateway()
	narrowed.Spec.Listeners[0].AllowedRoutes.Namespaces.From = ptr.To(gatewayv1.NamespacesFromSame)

	v := newGatewayValidator(t, attachment.ModeWarn, "group:x", objs...)
	warnings, err := v.ValidateUpdate(context.Background(), sharedGateway(), narrowed)
	require.NoError(t, err)
	assert.Contains(t, warnings, "This change to Gateway infra-ns/shared-gateway detaches 7 routes from Gateway infra-ns/shared-gateway:")
	assert.Contains(t, warnings, "- HTTPRoute careers/r0 from Gateway infra-ns/shared-gateway (NotAllowedByListeners)")
	assert.Contains(t, warnings, "- and 2 more; their status and `gatewarden check` name them all")

	_, err = newGatewayValidator(t, attachment.ModeDeny, "group:x", objs...).ValidateUpdate(context.Background(), sharedGateway(), narrowed)
	require.Error(t, err)
	assert.True(t, apierrors.IsForbidden(err))
	assert.Contains(t, err.Error(), "spec.listeners: This change to Gateway infra-ns/shared-gateway detaches 7 routes")

	annotated := sharedGateway()
	annotated.Annotations = map[string]string{"owner": "infra"}
	warnings, err = v.ValidateUpdate(context.Background(), sharedGateway(), annotated)
	require.NoError(t, err)
	assert.Empty(t, warnings, "a change that keeps the listeners detaches nothing")

	warnings, err = v.ValidateDelete(context.Background(), sharedGateway())
	require.NoError(t, err, "a delete is never blocked")
	assert.Contains(t, warnings, "Deleting Gateway infra-ns/shared-gateway detaches 7 routes from Gateway infra-ns/shared-gateway:")
}

func TestGatewayEnforcementOffSaysNothing(t *testing.T) {
	v := newGatewayValidator(t, attachment.ModeOff, "", labelled("careers", map[string]string{accessLabel: "true"}), httpRoute("careers", "r"))
	warnings, err := v.ValidateCreate(context.Background(), sharedGateway())
	require.NoError(t, err)
	assert.Empty(t, warnings)
	warnings, err = v.ValidateDelete(context.Background(), sharedGateway())
	require.NoError(t, err)
	assert.Empty(t, warnings)
}
