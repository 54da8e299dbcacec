package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/manifest"
)

// The example scenario as the cluster holds it (hr's route admitted in
// warn mode), read as check --cluster reads it: no file, no document.
func liveScenario(t *testing.T) []manifest.Object {
	t.Helper()
	objs, err := manifest.Read([]string{"../../config/samples/shared-gateway"}, nil, manifest.Options{})
	require.NoError(t, err)
	for i := range objs {
		objs[i].Source = manifest.Source{}
	}
	return objs
}

func decode(t *testing.T, name, doc string) []manifest.Object {
	t.Helper()
	objs, err := manifest.Decode(name, strings.NewReader(doc), manifest.Options{})
	require.NoError(t, err)
	return objs
}

const (
	// narrowed admits only namespaces that also carry tier: gold.
	narrowed = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared-gateway, namespace: infra-ns}
spec:
  gatewayClassName: example
  listeners:
  - name: http
    protocol: HTTP
    port: 80
    allowedRoutes:
      namespaces:
        from: Selector
        selector: {matchLabels: {shared-gateway-access: "true", tier: gold}}
`
	hrLabelled = `
apiVersion: v1
kind: Namespace
metadata: {name: hr, labels: {shared-gateway-access: "true"}}
`
)

// summary writes each change in one line: type, object, breaking, and the
// verdict on each side.
func summary(changes []Change) []string {
	out := make([]string, 0, len(changes))
	for _, c := range changes {
		s := fmt.Sprintf("%s %s %s/%s", c.Change, c.Kind, c.Namespace, c.Name)
		if c.Change == ChangeGrant {
			for _, l := range c.Listeners {
				s += " by " + l.String() + " (" + l.Selector + ")"
			}
		} else {
			s += fmt.Sprintf(" %s -> %s", outcome(c.Before), outcome(c.After))
		}
		if c.Breaking {
			s += " BREAKING"
		}
		out = append(out, s)
	}
	return out
}

func outcome(o *Outcome) string {
	if o == nil {
		return "none"
	}
	parts := []string{string(o.Verdict)}
	for i := range o.Parents {
		parts = append(parts, o.Parents[i].Accepted+"/"+o.Parents[i].Reason)
	}
	return strings.Join(parts, ",")
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name             string
		mode             attachment.Mode
		applied, deleted string
		want             []string
	}{{
		name: "nothing changes",
		want: []string{},
	}, {
		name:    "a narrowed selector detaches careers and product; hr stays denied for the same reason",
		applied: narrowed,
		want: []string{
			"attachment HTTPRoute careers/careers allow,True/Accepted -> deny,False/NotAllowedByListeners BREAKING",
			"attachment HTTPRoute product/product allow,True/Accepted -> deny,False/NotAllowedByListeners BREAKING",
		},
	}, {
		name:    "a detachment is breaking also when it is only a warning",
		mode:    attachment.ModeWarn,
		applied: narrowed,
		want: []string{
			"attachment HTTPRoute careers/careers allow,True/Accepted -> warn,False/NotAllowedByListeners BREAKING",
			"attachment HTTPRoute product/product allow,True/Accepted -> warn,False/NotAllowedByListeners BREAKING",
		},
	}, {
		name:    "labelling hr grants it the listener, and attaches its route",
		applied: hrLabelled,
		want: []string{
			"attachment HTTPRoute hr/hr deny,False/NotAllowedByListeners -> allow,True/Accepted",
			"grant Namespace /hr by Gateway infra-ns/shared-gateway#http (shared-gateway-access=true)",
		},
	}, {
		name: "a new Namespace that carries the label is a grant",
		applied: `
apiVersion: v1
kind: Namespace
metadata: {name: search, labels: {shared-gateway-access: "true"}}
`,
		want: []string{"grant Namespace /search by Gateway infra-ns/shared-gateway#http (shared-gateway-access=true)"},
	}, {
		name: "a widened selector admits hr",
		applied: `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared-gateway, namespace: infra-ns}
spec:
  gatewayClassName: example
  listeners:
  - name: http
    protocol: HTTP
    port: 80
    allowedRoutes:
      namespaces:
        from: Selector
        selector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [careers, product, hr]}]}
`,
		want: []string{
			"attachment HTTPRoute hr/hr deny,False/NotAllowedByListeners -> allow,True/Accepted",
			"grant Namespace /hr by Gateway infra-ns/shared-gateway#http (kubernetes.io/metadata.name in (careers,hr,product))",
		},
	}, {
		name: "a new route that would be denied is breaking",
		applied: `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: payroll, namespace: hr}
spec:
  parentRefs: [{name: shared-gateway, namespace: infra-ns}]
`,
		want: []string{"attachment HTTPRoute hr/payroll none -> deny,False/NotAllowedByListeners BREAKING"},
	}, {
		name: "a new route that attaches is not",
		applied: `
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: careers, namespace: careers}
spec:
  parentRefs: [{name: shared-gateway, namespace: infra-ns}]
`,
		want: []string{"attachment GRPCRoute careers/careers none -> allow,True/Accepted"},
	}, {
		name: "a deleted route is removed, which breaks nothing",
		deleted: `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: careers, namespace: careers}
`,
		want: []string{"attachment HTTPRoute careers/careers allow,True/Accepted -> none"},
	}, {
		name: "a route that drops its parentRef leaves on purpose",
		applied: `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: careers, namespace: careers}
spec:
  parentRefs: [{name: mesh, kind: Service, group: ""}]
`,
		want: []string{"attachment HTTPRoute careers/careers allow,True/Accepted -> allow"},
	}, {
		name: "a deleted Gateway detaches its routes, which become warnings",
		deleted: `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shared-gateway, namespace: infra-ns}
`,
		want: []string{
			"attachment HTTPRoute careers/careers allow,True/Accepted -> warn,Unknown/Pending BREAKING",
			"attachment HTTPRoute product/product allow,True/Accepted -> warn,Unknown/Pending BREAKING",
			"attachment HTTPRoute hr/hr deny,False/NotAllowedByListeners -> warn,Unknown/Pending",
		},
	}, {
		name: "a deleted Namespace takes its route along: removed, not detached",
		deleted: `
apiVersion: v1
kind: Namespace
metadata: {name: careers}
`,
		want: []string{"attachment HTTPRoute careers/careers allow,True/Accepted -> none"},
	}, {
		name: "a backendRef to another namespace without a grant changes the verdict only",
		applied: `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: careers, namespace: careers}
spec:
  parentRefs: [{name: shared-gateway, namespace: infra-ns}]
  rules: [{backendRefs: [{name: jobs, namespace: product, port: 80}]}]
`,
		want: []string{"attachment HTTPRoute careers/careers allow,True/Accepted -> warn,True/Accepted"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := tt.mode
			if mode == "" {
				mode = attachment.ModeDeny
			}
			live := liveScenario(t)
			after := manifest.Overlay(live, decode(t, "applied.yaml", tt.applied), decode(t, "deleted.yaml", tt.deleted))
			rep, err := Compare(live, after, mode)
			require.NoError(t, err)
			require.NotNil(t, rep.Changes, "changes is [] rather than null")
			assert.Equal(t, tt.want, summary(rep.Changes))

			breaking := false
			var changed []string
			for _, c := range rep.Changes {
				breaking = breaking || c.Breaking
				if c.Change == ChangeAttachment && c.After != nil {
					changed = append(changed, c.Namespace+"/"+c.Name)
				}
			}
			assert.Equal(t, breaking, rep.Breaking())
			var routes []string
			for _, r := range rep.Routes {
				routes = append(routes, r.Namespace+"/"+r.Name)
			}
			assert.Equal(t, changed, routes, "routes holds the routes that change, as they are after")
		})
	}
}

func TestCompareJSON(t *testing.T) {
	live := liveScenario(t)
	after := manifest.Overlay(live, decode(t, "hr.yaml", hrLabelled), nil)
	rep, err := Compare(live, after, attachment.ModeDeny)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, rep.WriteJSON(&out))
	assert.JSONEq(t, `{
  "routes": [
    {"kind": "HTTPRoute", "namespace": "hr", "name": "hr", "verdict": "allow",
     "parents": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "infra-ns", "name": "shared-gateway",
                  "sectionName": "", "port": 0, "accepted": "True", "reason": "Accepted",
                  "message": "Accepted by Gateway infra-ns/shared-gateway listener \"http\".", "verdict": "allow"}],
     "warnings": []}
  ],
  "changes": [
    {"change": "attachment", "kind": "HTTPRoute", "namespace": "hr", "name": "hr", "breaking": false,
     "before": {"verdict": "deny",
                "parents": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "infra-ns", "name": "shared-gateway",
                             "sectionName": "", "port": 0, "accepted": "False", "reason": "NotAllowedByListeners",
                             "message": "Gateway infra-ns/shared-gateway listener \"http\" accepts routes only from namespaces matching shared-gateway-access=true; namespace \"hr\" does not match. Ask the Gateway owner to allow it, or label namespace hr to match.",
                             "verdict": "deny"}],
                "warnings": []},
     "after": {"verdict": "allow",
               "parents": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "infra-ns", "name": "shared-gateway",
                            "sectionName": "", "port": 0, "accepted": "True", "reason": "Accepted",
                            "message": "Accepted by Gateway infra-ns/shared-gateway listener \"http\".", "verdict": "allow"}],
               "warnings": []}},
    {"change": "grant", "kind": "Namespace", "namespace": "", "name": "hr", "breaking": false, "before": null, "after": null,
     "listeners": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "infra-ns", "name": "shared-gateway",
                    "sectionName": "http", "selector": "shared-gateway-access=true"}]}
  ]
}`, out.String(), "a route read from the cluster has no file and no document")

	nothing, err := Compare(live, live, attachment.ModeDeny)
	require.NoError(t, err)
	out.Reset()
	require.NoError(t, nothing.WriteJSON(&out))
	assert.JSONEq(t, `{"routes": [], "changes": []}`, out.String(), "no change is an empty array, not a missing key")
}

func TestCompareText(t *testing.T) {
	live := liveScenario(t)
	after := manifest.Overlay(live, decode(t, "f.yaml", narrowed+"---"+hrLabelled), nil)
	rep, err := Compare(live, after, attachment.ModeDeny)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, rep.WriteText(&out, false))
	assert.Equal(t, strings.Join([]string{
		"CHANGE  OBJECT                     PARENT                           BEFORE          AFTER                       MESSAGE",
		`detach  HTTPRoute careers/careers  Gateway infra-ns/shared-gateway  allow Accepted  deny NotAllowedByListeners  Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces matching shared-gateway-access=true,tier=gold; namespace "careers" does not match. Ask the Gateway owner to allow it, or label namespace careers to match.`,
		`detach  HTTPRoute product/product  Gateway infra-ns/shared-gateway  allow Accepted  deny NotAllowedByListeners  Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces matching shared-gateway-access=true,tier=gold; namespace "product" does not match. Ask the Gateway owner to allow it, or label namespace product to match.`,
		"",
		"2 routes changed, 2 of them detached or denied; 0 namespaces newly admitted by a label selector.",
		"",
	}, "\n"), out.String())

	after = manifest.Overlay(live, decode(t, "f.yaml", hrLabelled), nil)
	rep, err = Compare(live, after, attachment.ModeDeny)
	require.NoError(t, err)
	out.Reset()
	require.NoError(t, rep.WriteText(&out, false))
	assert.Equal(t, strings.Join([]string{
		"CHANGE  OBJECT           PARENT                                BEFORE                      AFTER           MESSAGE",
		`attach  HTTPRoute hr/hr  Gateway infra-ns/shared-gateway       deny NotAllowedByListeners  allow Accepted  Accepted by Gateway infra-ns/shared-gateway listener "http".`,
		"grant   Namespace hr     Gateway infra-ns/shared-gateway#http  not admitted                admitted        admitted by label selector shared-gateway-access=true",
		"",
		"1 route changed, 0 of them detached or denied; 1 namespace newly admitted by a label selector.",
		"",
	}, "\n"), out.String())

	out.Reset()
	require.NoError(t, rep.WriteText(&out, true))
	assert.Contains(t, out.String(), "\x1b[31mdeny NotAllowedByListeners\x1b[0m  \x1b[32mallow Accepted\x1b[0m")
}

func TestFilter(t *testing.T) {
	live := liveScenario(t)
	after := manifest.Overlay(live, decode(t, "f.yaml", narrowed+"---"+hrLabelled+`---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: other, namespace: hr}
spec:
  gatewayClassName: example
  listeners: [{name: web, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: Selector, selector: {}}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: jobs, namespace: careers}
spec:
  parentRefs: [{name: other, namespace: hr}]
`), nil)
	shared := types.NamespacedName{Namespace: "infra-ns", Name: "shared-gateway"}
	other := types.NamespacedName{Namespace: "hr", Name: "other"}
	tests := []struct {
		name   string
		filter Filter
		routes []string
		want   []string
	}{{
		name:   "everything",
		routes: []string{"careers/careers", "product/product", "hr/hr", "careers/jobs"},
		want: []string{
			"attachment HTTPRoute careers/careers", "attachment HTTPRoute product/product", "attachment HTTPRoute careers/jobs",
			"grant Namespace /careers by Gateway hr/other#web", "grant Namespace /hr by Gateway hr/other#web",
			"grant Namespace /infra-ns by Gateway hr/other#web", "grant Namespace /product by Gateway hr/other#web",
		},
	}, {
		name:   "one namespace",
		filter: Filter{Namespace: "careers"},
		routes: []string{"careers/careers", "careers/jobs"},
		want:   []string{"attachment HTTPRoute careers/careers", "attachment HTTPRoute careers/jobs", "grant Namespace /careers by Gateway hr/other#web"},
	}, {
		name:   "one Gateway",
		filter: Filter{Gateway: shared},
		routes: []string{"careers/careers", "product/product", "hr/hr"},
		want:   []string{"attachment HTTPRoute careers/careers", "attachment HTTPRoute product/product"},
	}, {
		name:   "the other Gateway",
		filter: Filter{Gateway: other},
		routes: []string{"careers/jobs"},
		want: []string{"attachment HTTPRoute careers/jobs",
			"grant Namespace /careers by Gateway hr/other#web", "grant Namespace /hr by Gateway hr/other#web",
			"grant Namespace /infra-ns by Gateway hr/other#web", "grant Namespace /product by Gateway hr/other#web"},
	}, {
		name:   "both",
		filter: Filter{Namespace: "hr", Gateway: shared},
		routes: []string{"hr/hr"},
		want:   []string{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Build(after, attachment.ModeDeny)
			require.NoError(t, err)
			rep.Filter(tt.filter)
			var routes []string
			for _, r := range rep.Routes {
				routes = append(routes, r.Namespace+"/"+r.Name)
			}
			assert.Equal(t, tt.routes, routes)
			assert.Nil(t, rep.Changes, "a filtered Build stays without changes")

			rep, err = Compare(live, after, attachment.ModeDeny)
			require.NoError(t, err)
			rep.Filter(tt.filter)
			got := []string{}
			for _, c := range rep.Changes {
				s := fmt.Sprintf("%s %s %s/%s", c.Change, c.Kind, c.Namespace, c.Name)
				if c.Change == ChangeGrant {
					for _, l := range c.Listeners {
						s += " by " + l.String()
					}
				}
				got = append(got, s)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// WriteJSON streams the big arrays, and writes exactly what
// json.MarshalIndent writes of the whole report.
func TestWriteJSONIsMarshalIndent(t *testing.T) {
	live := liveScenario(t)
	built, err := Build(live, attachment.ModeDeny)
	require.NoError(t, err)
	narrowedAndLabelled := manifest.Overlay(live, decode(t, "f.yaml", narrowed+"---"+hrLabelled), nil)
	compared, err := Compare(live, narrowedAndLabelled, attachment.ModeDeny)
	require.NoError(t, err)
	unchanged, err := Compare(live, live, attachment.ModeDeny)
	require.NoError(t, err)
	for name, rep := range map[string]*Report{
		"empty": {Routes: []Route{}}, "built": built, "compared": compared, "no change": unchanged,
	} {
		t.Run(name, func(t *testing.T) {
			want, err := json.MarshalIndent(rep, "", "  ")
			require.NoError(t, err)
			var got bytes.Buffer
			require.NoError(t, rep.WriteJSON(&got))
			assert.Equal(t, string(want)+"\n", got.String())
		})
	}
}
