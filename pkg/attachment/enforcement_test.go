package attachment

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestParseMode(t *testing.T) {
	for _, m := range Modes {
		got, err := ParseMode(string(m))
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	for _, bad := range []string{"", "false", "Deny", "block"} {
		_, err := ParseMode(bad)
		assert.Error(t, err, bad)
	}
}

func TestDecide(t *testing.T) {
	hr := route(KindHTTPRoute, "hr", "hr", nil, parentRef("infra-ns", "shared-gateway"))
	missing := route(KindHTTPRoute, "hr", "hr", nil, parentRef("infra-ns", "missing"))
	careers := route(KindHTTPRoute, "careers", "careers", nil, parentRef("infra-ns", "shared-gateway"))
	annotated := func(v string) *gatewayv1.Gateway {
		gw := sharedGateway()
		gw.Annotations = map[string]string{EnforcementAnnotation: v}
		return gw
	}
	ns := []any{namespace("hr"), namespace("careers", "shared-gateway-access", "true")}

	tests := []struct {
		name     string
		route    *Route
		gateway  *gatewayv1.Gateway
		mode     Mode
		verdict  Verdict
		denials  int
		warnings int
	}{
		{name: "accepted is allowed", route: careers, gateway: sharedGateway(), mode: ModeDeny, verdict: VerdictAllow},
		{name: "rejected in deny mode", route: hr, gateway: sharedGateway(), mode: ModeDeny, verdict: VerdictDeny, denials: 1},
		{name: "rejected in warn mode", route: hr, gateway: sharedGateway(), mode: ModeWarn, verdict: VerdictWarn, warnings: 1},
		{name: "rejected in off mode", route: hr, gateway: sharedGateway(), mode: ModeOff, verdict: VerdictAllow},
		{name: "annotation warn overrides deny", route: hr, gateway: annotated("warn"), mode: ModeDeny, verdict: VerdictWarn, warnings: 1},
		{name: "annotation off overrides deny", route: hr, gateway: annotated("off"), mode: ModeDeny, verdict: VerdictAllow},
		{name: "annotation deny overrides warn", route: hr, gateway: annotated("deny"), mode: ModeWarn, verdict: VerdictDeny, denials: 1},
		{name: "an invalid annotation leaves the default", route: hr, gateway: annotated("false"), mode: ModeDeny, verdict: VerdictDeny, denials: 1},
		{name: "unknown Gateway warns in deny mode", route: missing, gateway: sharedGateway(), mode: ModeDeny, verdict: VerdictWarn, warnings: 1},
		{name: "unknown Gateway says nothing in off mode", route: missing, gateway: sharedGateway(), mode: ModeOff, verdict: VerdictAllow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := index(append([]any{tt.gateway}, ns...)...)
			d := Decide(Evaluate(tt.route, objs), tt.mode)
			assert.Equal(t, tt.verdict, d.Verdict)
			assert.Len(t, d.Denials, tt.denials)
			assert.Len(t, d.Warnings, tt.warnings)
		})
	}
}

func TestDecideDenialNamesTheField(t *testing.T) {
	objs := index(sharedGateway(), namespace("hr"))
	r := route(KindHTTPRoute, "hr", "hr", nil, parentRef("", "mesh", groupKind("", "Service")), parentRef("infra-ns", "shared-gateway"))
	d := Decide(Evaluate(r, objs), ModeDeny)
	require.Len(t, d.Denials, 1)
	assert.Equal(t, `spec.parentRefs[1]: Forbidden: Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces `+
		`matching shared-gateway-access=true; namespace "hr" does not match. Ask the Gateway owner to allow it, or label namespace hr to match.`,
		d.Denials[0].Error())
}
