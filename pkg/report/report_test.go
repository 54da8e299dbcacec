package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/manifest"
)

// secondAct is the example scenario with its second act: careers' and hr's
// ListenerSets, and careers' route through its own. hr's ListenerSet is
// there as a cluster without gatewarden (or in warn mode) would hold it.
func secondAct(t *testing.T) []manifest.Object {
	t.Helper()
	objs, err := manifest.Read([]string{"../../config/samples/shared-gateway", "../../config/samples/listenersets"}, nil, manifest.Options{})
	require.NoError(t, err)
	for i := range objs {
		objs[i].Source = manifest.Source{}
	}
	return objs
}

func TestBuildListenerSets(t *testing.T) {
	tests := []struct {
		name   string
		modes  Modes
		denied bool
		// want is each ListenerSet's verdict, then its parent's
		// accepted/reason/verdict.
		want []string
		// hr is the route verdict of hr/hr.
		hr attachment.Verdict
	}{
		{"deny, the default", Deny, true,
			[]string{"careers/careers-listeners allow True/Accepted/allow", "hr/hr-listeners deny False/NotAllowed/deny"}, attachment.VerdictDeny},
		{"ListenerSets warned: the route still denies", Modes{Routes: attachment.ModeDeny, ListenerSets: attachment.ModeWarn}, true,
			[]string{"careers/careers-listeners allow True/Accepted/allow", "hr/hr-listeners warn False/NotAllowed/warn"}, attachment.VerdictDeny},
		{"routes warned: the ListenerSet alone denies", Modes{Routes: attachment.ModeWarn, ListenerSets: attachment.ModeDeny}, true,
			[]string{"careers/careers-listeners allow True/Accepted/allow", "hr/hr-listeners deny False/NotAllowed/deny"}, attachment.VerdictWarn},
		{"both warned", Modes{Routes: attachment.ModeWarn, ListenerSets: attachment.ModeWarn}, false,
			[]string{"careers/careers-listeners allow True/Accepted/allow", "hr/hr-listeners warn False/NotAllowed/warn"}, attachment.VerdictWarn},
		{"ListenerSets off: the condition is still reported", Modes{Routes: attachment.ModeWarn, ListenerSets: attachment.ModeOff}, false,
			[]string{"careers/careers-listeners allow True/Accepted/allow", "hr/hr-listeners allow False/NotAllowed/allow"}, attachment.VerdictWarn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Build(secondAct(t), tt.modes)
			require.NoError(t, err)
			var got []string
			for _, ls := range rep.ListenerSets {
				assert.Equal(t, "ListenerSet", ls.Kind)
				require.Len(t, ls.Parents, 1)
				p := ls.Parents[0]
				assert.Equal(t, Parent{
					Group: "gateway.networking.k8s.io", Kind: "Gateway", Namespace: "infra-ns", Name: "shared-gateway",
					Accepted: p.Accepted, Reason: p.Reason, Message: p.Message, Verdict: p.Verdict,
				}, p, "the parent is spec.parentRef with its defaults, no sectionName, no port")
				got = append(got, ls.Namespace+"/"+ls.Name+" "+string(ls.Verdict)+" "+p.Accepted+"/"+p.Reason+"/"+string(p.Verdict))
			}
			assert.Equal(t, tt.want, got, "in input order")
			assert.Equal(t, tt.denied, rep.Denied())
			require.Len(t, rep.Routes, 4)
			assert.Equal(t, "hr", rep.Routes[2].Name)
			assert.Equal(t, tt.hr, rep.Routes[2].Verdict)
			site := rep.Routes[3]
			assert.Equal(t, "careers-site", site.Name)
			assert.Equal(t, []Parent{{
				Group: "gateway.networking.k8s.io", Kind: "ListenerSet", Namespace: "careers", Name: "careers-listeners", SectionName: "careers",
				Accepted: "True", Reason: "Accepted", Message: `Accepted by ListenerSet careers/careers-listeners listener "careers".`, Verdict: "allow",
			}}, site.Parents, "a parentRef of kind ListenerSet is a parent like a Gateway")
		})
	}
}

func TestBuildListenerSetOnce(t *testing.T) {
	objs := decode(t, "a.yaml", `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  listeners: [{name: http, port: 80, protocol: HTTP}]
  allowedListeners: {namespaces: {from: Same}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: ls, namespace: team}
spec:
  parentRef: {name: gw, namespace: infra}
  listeners: [{name: a, port: 80, protocol: HTTP, hostname: a.example.com}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: other, namespace: infra}
spec:
  parentRef: {name: gw}
  listeners: [{name: b, port: 80, protocol: HTTP, hostname: b.example.com}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: ls, namespace: team}
spec:
  parentRef: {name: gw, namespace: team}
  listeners: [{name: a, port: 80, protocol: HTTP, hostname: a.example.com}]
`)
	rep, err := Build(objs, Deny)
	require.NoError(t, err)
	require.Len(t, rep.ListenerSets, 2, "one entry per ListenerSet, as a second apply of the same name leaves one")
	ls := rep.ListenerSets[0]
	assert.Equal(t, "team/ls", ls.Namespace+"/"+ls.Name, "at its first place")
	assert.Equal(t, "Gateway team/gw Unknown Pending", ls.Parents[0].Kind+" "+ls.Parents[0].Namespace+"/"+ls.Parents[0].Name+" "+ls.Parents[0].Accepted+" "+ls.Parents[0].Reason,
		"as the last one defines it")
	assert.Equal(t, 4, ls.Document, "and read from there")
	assert.Equal(t, "other", rep.ListenerSets[1].Name)
}

func TestBuildWithoutListenerSetsHasNoKey(t *testing.T) {
	rep, err := Build(liveScenario(t), Deny)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, rep.WriteJSON(&out))
	var keys map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out.Bytes(), &keys))
	assert.Len(t, keys, 1, "routes only, as before ListenerSets: %s", out.String())

	rep, err = Build(secondAct(t), Deny)
	require.NoError(t, err)
	rep.Filter(Filter{Namespace: "product"})
	out.Reset()
	require.NoError(t, rep.WriteJSON(&out))
	require.NoError(t, json.Unmarshal(out.Bytes(), &keys))
	assert.JSONEq(t, `[]`, string(keys["listenerSets"]), "the input holds ListenerSets, none shown: an empty array")
}

func TestWriteTextListenerSets(t *testing.T) {
	objs := append(secondAct(t), decode(t, "conflict.yaml", `
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: careers-too, namespace: product}
spec:
  parentRef: {name: shared-gateway, namespace: infra-ns}
  listeners:
  - {name: jobs, port: 80, protocol: HTTP, hostname: careers.example.com}
  - {name: product, port: 80, protocol: HTTP, hostname: product.example.com}
`)...)
	rep, err := Build(objs, Deny)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, rep.WriteText(&out, false))
	assert.Equal(t, strings.Join([]string{
		"ROUTE                           PARENT                                         VERDICT  REASON                 MESSAGE",
		`HTTPRoute careers/careers       Gateway infra-ns/shared-gateway                allow    Accepted               Accepted by Gateway infra-ns/shared-gateway listener "http".`,
		`HTTPRoute product/product       Gateway infra-ns/shared-gateway                allow    Accepted               Accepted by Gateway infra-ns/shared-gateway listener "http".`,
		`HTTPRoute hr/hr                 Gateway infra-ns/shared-gateway                deny     NotAllowedByListeners  Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces matching shared-gateway-access=true; namespace "hr" does not match. Ask the Gateway owner to allow it, or label namespace hr to match.`,
		`HTTPRoute careers/careers-site  ListenerSet careers/careers-listeners#careers  allow    Accepted               Accepted by ListenerSet careers/careers-listeners listener "careers".`,
		"",
		"LISTENERSET                            PARENT                           VERDICT  REASON      MESSAGE",
		"ListenerSet careers/careers-listeners  Gateway infra-ns/shared-gateway  allow    Accepted    Accepted by Gateway infra-ns/shared-gateway.",
		`ListenerSet hr/hr-listeners            Gateway infra-ns/shared-gateway  deny     NotAllowed  Gateway infra-ns/shared-gateway accepts ListenerSets only from namespaces matching shared-gateway-access=true; namespace "hr" does not match. Ask the Gateway owner to allow it, or label namespace hr to match.`,
		"ListenerSet product/careers-too        Gateway infra-ns/shared-gateway  allow    Accepted    Accepted by Gateway infra-ns/shared-gateway.",
		"",
		"Warnings:",
		`  ListenerSet product/careers-too: spec.listeners[0]: listener "jobs" conflicts with ListenerSet careers/careers-listeners listener "careers" (HostnameConflict), which takes precedence: it accepts no route. Give it a port or hostname of its own.`,
		"",
		"4 routes: 1 denied, 0 warned, 3 allowed; 3 ListenerSets: 1 denied, 1 warned, 1 allowed.",
		"",
	}, "\n"), out.String())

	out.Reset()
	require.NoError(t, rep.WriteText(&out, true))
	assert.Contains(t, out.String(), "LISTENERSET                            PARENT                           \x1b[39mVERDICT\x1b[0m  REASON")
	assert.Contains(t, out.String(), "ListenerSet hr/hr-listeners            Gateway infra-ns/shared-gateway  \x1b[31mdeny\x1b[0m     NotAllowed")
}
