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
		name:    "labelling hr grants it the listener and the Gateway's allowedListeners, and attaches its route",
		applied: hrLabelled,
		want: []string{
			"attachment HTTPRoute hr/hr deny,False/NotAllowedByListeners -> allow,True/Accepted",
			"grant Namespace /hr by Gateway infra-ns/shared-gateway#http (shared-gateway-access=true)" +
				" by Gateway infra-ns/shared-gateway allowedListeners (shared-gateway-access=true)",
		},
	}, {
		name: "a new Namespace that carries the label is a grant",
		applied: `
apiVersion: v1
kind: Namespace
metadata: {name: search, labels: {shared-gateway-access: "true"}}
`,
		want: []string{"grant Namespace /search by Gateway infra-ns/shared-gateway#http (shared-gateway-access=true)" +
			" by Gateway infra-ns/shared-gateway allowedListeners (shared-gateway-access=true)"},
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
			rep, err := Compare(live, after, Modes{Routes: mode, ListenerSets: attachment.ModeDeny})
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
	rep, err := Compare(live, after, Deny)
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
                    "sectionName": "http", "selector": "shared-gateway-access=true"},
                   {"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "infra-ns", "name": "shared-gateway",
                    "sectionName": "", "selector": "shared-gateway-access=true", "allowedListeners": true}]}
  ]
}`, out.String(), "a route read from the cluster has no file and no document")

	nothing, err := Compare(live, live, Deny)
	require.NoError(t, err)
	out.Reset()
	require.NoError(t, nothing.WriteJSON(&out))
	assert.JSONEq(t, `{"routes": [], "changes": []}`, out.String(), "no change is an empty array, not a missing key")
}

func TestCompareText(t *testing.T) {
	live := liveScenario(t)
	after := manifest.Overlay(live, decode(t, "f.yaml", narrowed+"---"+hrLabelled), nil)
	rep, err := Compare(live, after, Deny)
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
	rep, err = Compare(live, after, Deny)
	require.NoError(t, err)
	out.Reset()
	require.NoError(t, rep.WriteText(&out, false))
	assert.Equal(t, strings.Join([]string{
		"CHANGE  OBJECT           PARENT                                            BEFORE                      AFTER           MESSAGE",
		`attach  HTTPRoute hr/hr  Gateway infra-ns/shared-gateway                   deny NotAllowedByListeners  allow Accepted  Accepted by Gateway infra-ns/shared-gateway listener "http".`,
		"grant   Namespace hr     Gateway infra-ns/shared-gateway#http              not admitted                admitted        admitted by label selector shared-gateway-access=true",
		"grant   Namespace hr     Gateway infra-ns/shared-gateway allowedListeners  not admitted                admitted        ListenerSets admitted by label selector shared-gateway-access=true",
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
			rep, err := Build(after, Deny)
			require.NoError(t, err)
			rep.Filter(tt.filter)
			var routes []string
			for _, r := range rep.Routes {
				routes = append(routes, r.Namespace+"/"+r.Name)
			}
			assert.Equal(t, tt.routes, routes)
			assert.Nil(t, rep.Changes, "a filtered Build stays without changes")

			rep, err = Compare(live, after, Deny)
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
	built, err := Build(live, Deny)
	require.NoError(t, err)
	narrowedAndLabelled := manifest.Overlay(live, decode(t, "f.yaml", narrowed+"---"+hrLabelled), nil)
	compared, err := Compare(live, narrowedAndLabelled, Deny)
	require.NoError(t, err)
	unchanged, err := Compare(live, live, Deny)
	require.NoError(t, err)
	withSets, err := Build(secondAct(t), Deny)
	require.NoError(t, err)
	comparedSets, err := Compare(secondAct(t), manifest.Overlay(secondAct(t), decode(t, "f.yaml", narrowedListeners), nil), Deny)
	require.NoError(t, err)
	unchangedSets, err := Compare(secondAct(t), secondAct(t), Deny)
	require.NoError(t, err)
	for name, rep := range map[string]*Report{
		"empty": {Routes: []Route{}}, "built": built, "compared": compared, "no change": unchanged,
		"with ListenerSets": withSets, "ListenerSets compared": comparedSets, "ListenerSets unchanged": unchangedSets,
		"no ListenerSet left": {Routes: []Route{}, ListenerSets: []ListenerSet{}},
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

// narrowedListeners narrows the shared Gateway's allowedListeners to
// namespaces of tier gold, and leaves its listener as it is.
const narrowedListeners = `
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
        selector: {matchLabels: {shared-gateway-access: "true"}}
  allowedListeners:
    namespaces:
      from: Selector
      selector: {matchLabels: {shared-gateway-access: "true", tier: gold}}
`

func TestCompareListenerSets(t *testing.T) {
	tests := []struct {
		name             string
		modes            Modes
		applied, deleted string
		want             []string
	}{{
		name: "nothing changes",
		want: []string{},
	}, {
		name:    "narrowing allowedListeners detaches careers' ListenerSet, and the route through it",
		applied: narrowedListeners,
		want: []string{
			"attachment HTTPRoute careers/careers-site allow,True/Accepted -> deny,False/NotAllowedByListeners BREAKING",
			"attachment ListenerSet careers/careers-listeners allow,True/Accepted -> deny,False/NotAllowed BREAKING",
		},
	}, {
		name:    "a detachment is breaking also when it is only a warning",
		modes:   Modes{Routes: attachment.ModeWarn, ListenerSets: attachment.ModeWarn},
		applied: narrowedListeners,
		want: []string{
			"attachment HTTPRoute careers/careers-site allow,True/Accepted -> warn,False/NotAllowedByListeners BREAKING",
			"attachment ListenerSet careers/careers-listeners allow,True/Accepted -> warn,False/NotAllowed BREAKING",
		},
	}, {
		name:    "labelling hr accepts its ListenerSet and grants it the Gateway's allowedListeners",
		applied: hrLabelled,
		want: []string{
			"attachment HTTPRoute hr/hr deny,False/NotAllowedByListeners -> allow,True/Accepted",
			"attachment ListenerSet hr/hr-listeners deny,False/NotAllowed -> allow,True/Accepted",
			"grant Namespace /hr by Gateway infra-ns/shared-gateway#http (shared-gateway-access=true)" +
				" by Gateway infra-ns/shared-gateway allowedListeners (shared-gateway-access=true)",
		},
	}, {
		name: "a new ListenerSet that would be denied is breaking",
		applied: `
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: payroll, namespace: hr}
spec:
  parentRef: {name: shared-gateway, namespace: infra-ns}
  listeners: [{name: payroll, port: 80, protocol: HTTP, hostname: payroll.example.com}]
`,
		want: []string{"attachment ListenerSet hr/payroll none -> deny,False/NotAllowed BREAKING"},
	}, {
		name: "a new ListenerSet whose listeners all conflict is warned, not breaking",
		applied: `
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: careers-too, namespace: product}
spec:
  parentRef: {name: shared-gateway, namespace: infra-ns}
  listeners: [{name: jobs, port: 80, protocol: HTTP, hostname: careers.example.com}]
`,
		want: []string{"attachment ListenerSet product/careers-too none -> warn,False/ListenersNotValid"},
	}, {
		name: "deleting careers' ListenerSet removes it, and detaches the route through it",
		deleted: `
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: careers-listeners, namespace: careers}
`,
		want: []string{
			"attachment HTTPRoute careers/careers-site allow,True/Accepted -> warn,Unknown/Pending BREAKING",
			"attachment ListenerSet careers/careers-listeners allow,True/Accepted -> none",
		},
	}, {
		name: "moving careers' ListenerSet to another Gateway is its owner's choice",
		applied: `
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: careers-listeners, namespace: careers}
spec:
  parentRef: {name: other, namespace: infra-ns}
  listeners: [{name: careers, port: 80, protocol: HTTP, hostname: careers.example.com}]
`,
		want: []string{
			"attachment HTTPRoute careers/careers-site allow,True/Accepted -> warn,Unknown/Pending BREAKING",
			"attachment ListenerSet careers/careers-listeners allow,True/Accepted -> warn,Unknown/Pending",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			modes := tt.modes
			if modes == (Modes{}) {
				modes = Deny
			}
			live := secondAct(t)
			after := manifest.Overlay(live, decode(t, "applied.yaml", tt.applied), decode(t, "deleted.yaml", tt.deleted))
			rep, err := Compare(live, after, modes)
			require.NoError(t, err)
			assert.Equal(t, tt.want, summary(rep.Changes))

			var changed []string
			for _, c := range rep.Changes {
				if c.Kind == "ListenerSet" && c.After != nil {
					changed = append(changed, c.Namespace+"/"+c.Name)
				}
			}
			var sets []string
			require.NotNil(t, rep.ListenerSets, "both sides hold ListenerSets")
			for _, ls := range rep.ListenerSets {
				sets = append(sets, ls.Namespace+"/"+ls.Name)
			}
			assert.Equal(t, changed, sets, "listenerSets holds the ListenerSets that change, as they are after")
		})
	}
}

func TestCompareListenerSetsText(t *testing.T) {
	live := secondAct(t)
	after := manifest.Overlay(live, decode(t, "f.yaml", narrowedListeners), decode(t, "d.yaml", `
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: hr-listeners, namespace: hr}
`))
	rep, err := Compare(live, after, Deny)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, rep.WriteText(&out, false))
	assert.Equal(t, strings.Join([]string{
		"CHANGE   OBJECT                                 PARENT                                         BEFORE           AFTER                       MESSAGE",
		`detach   HTTPRoute careers/careers-site         ListenerSet careers/careers-listeners#careers  allow Accepted   deny NotAllowedByListeners  ListenerSet careers/careers-listeners is not accepted by its Gateway, so no route can attach to it: Gateway infra-ns/shared-gateway accepts ListenerSets only from namespaces matching shared-gateway-access=true,tier=gold; namespace "careers" does not match. Ask the Gateway owner to allow it, or label namespace careers to match.`,
		`detach   ListenerSet careers/careers-listeners  Gateway infra-ns/shared-gateway                allow Accepted   deny NotAllowed             Gateway infra-ns/shared-gateway accepts ListenerSets only from namespaces matching shared-gateway-access=true,tier=gold; namespace "careers" does not match. Ask the Gateway owner to allow it, or label namespace careers to match.`,
		"removed  ListenerSet hr/hr-listeners            Gateway infra-ns/shared-gateway                deny NotAllowed  -                           the ListenerSet is deleted",
		"",
		"1 route changed, 1 of them detached or denied; 2 ListenerSets changed, 1 of them detached or denied; 0 namespaces newly admitted by a label selector.",
		"",
	}, "\n"), out.String())
}

func TestFilterListenerSets(t *testing.T) {
	live := secondAct(t)
	after := manifest.Overlay(live, decode(t, "f.yaml", narrowedListeners+`---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: other, namespace: hr}
spec:
  gatewayClassName: example
  listeners: [{name: web, protocol: HTTP, port: 80}]
  allowedListeners: {namespaces: {from: Selector, selector: {matchLabels: {team: hr}}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: hr, labels: {team: hr}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: hr-listeners, namespace: hr}
spec:
  parentRef: {name: other}
  listeners: [{name: hr, port: 80, protocol: HTTP, hostname: hr.example.com}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: hr-site, namespace: hr}
spec:
  parentRefs: [{kind: ListenerSet, name: hr-listeners}]
`), nil)
	shared := types.NamespacedName{Namespace: "infra-ns", Name: "shared-gateway"}
	other := types.NamespacedName{Namespace: "hr", Name: "other"}
	tests := []struct {
		name        string
		filter      Filter
		routes, ls  []string
		wantChanges []string
	}{{
		name:   "one Gateway: its ListenerSets and the routes through them",
		filter: Filter{Gateway: shared},
		routes: []string{"careers/careers", "product/product", "hr/hr", "careers/careers-site"},
		ls:     []string{"careers/careers-listeners"},
		wantChanges: []string{
			"attachment HTTPRoute careers/careers-site", "attachment ListenerSet careers/careers-listeners",
			// hr's ListenerSet moved from the shared Gateway to hr's own.
			"attachment ListenerSet hr/hr-listeners",
		},
	}, {
		name:   "the other Gateway",
		filter: Filter{Gateway: other},
		routes: []string{"hr/hr-site"},
		ls:     []string{"hr/hr-listeners"},
		wantChanges: []string{"attachment HTTPRoute hr/hr-site", "attachment ListenerSet hr/hr-listeners",
			"grant Namespace /hr by Gateway hr/other allowedListeners"},
	}, {
		name:        "one namespace",
		filter:      Filter{Namespace: "careers"},
		routes:      []string{"careers/careers", "careers/careers-site"},
		ls:          []string{"careers/careers-listeners"},
		wantChanges: []string{"attachment HTTPRoute careers/careers-site", "attachment ListenerSet careers/careers-listeners"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Build(after, Deny)
			require.NoError(t, err)
			rep.Filter(tt.filter)
			var routes, ls []string
			for _, r := range rep.Routes {
				routes = append(routes, r.Namespace+"/"+r.Name)
			}
			for _, r := range rep.ListenerSets {
				ls = append(ls, r.Namespace+"/"+r.Name)
			}
			assert.Equal(t, tt.routes, routes)
			assert.Equal(t, tt.ls, ls)

			rep, err = Compare(live, after, Deny)
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
			assert.Equal(t, tt.wantChanges, got)
		})
	}
}
