package check_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkWithSetsJSON is checkJSON with the listenerSets array, which check
// writes when the cluster (or the files) hold a ListenerSet.
type checkWithSetsJSON struct {
	Routes       []routeJSON
	ListenerSets *[]routeJSON
	Changes      *[]changeJSON
}

func decodeWithSets(t *testing.T, out string) checkWithSetsJSON {
	t.Helper()
	var got checkWithSetsJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&got), out)
	return got
}

// secondAct applies the example scenario's second act (careers' and hr's
// ListenerSets, careers' route through its own) for one test, as a cluster
// without gatewarden, or with it in warn mode, holds it: hr's ListenerSet
// is there although its Gateway refuses it. It is deleted when the test
// ends, so that the other tests see the first act only.
func secondAct(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(cp.Root, "config", "samples", "listenersets")
	res := cp.Kubectl(ctx, "", "apply", "-f", dir)
	require.NoError(t, res.Err, res.Stderr)
	t.Cleanup(func() {
		// kubectl delete waits until the objects are gone.
		res := cp.Kubectl(context.Background(), "", "delete", "-f", dir, "--wait")
		assert.NoError(t, res.Err, res.Stderr)
	})
	return dir
}

// check --cluster sees the ListenerSets: the same verdicts and JSON as the
// offline check of the same files, read by a user who may only get and list.
func TestListenerSetsLive(t *testing.T) {
	dir := secondAct(t)
	live := cluster(t, "", "-o", "json")
	assert.Equal(t, 1, live.code, "hr's route and ListenerSet are denied: %s", live.stderr)
	assert.Empty(t, live.stderr)
	got := decodeWithSets(t, live.stdout)
	assert.Equal(t, []string{"HTTPRoute careers/careers allow", "HTTPRoute careers/careers-site allow", "HTTPRoute hr/hr deny", "HTTPRoute product/product allow"},
		names(got.Routes), "in the order the API server lists them")
	require.NotNil(t, got.ListenerSets)
	assert.Equal(t, []string{"ListenerSet careers/careers-listeners allow", "ListenerSet hr/hr-listeners deny"}, names(*got.ListenerSets))

	offline := check(t, nil, "", "-f", filepath.Join(cp.Root, "config", "samples", "shared-gateway"), "-f", dir, "-o", "json")
	require.Equal(t, 1, offline.code, offline.stderr)
	want := map[string]routeJSON{}
	o := decodeWithSets(t, offline.stdout)
	require.NotNil(t, o.ListenerSets)
	for _, r := range append(o.Routes, *o.ListenerSets...) {
		r.File, r.Document = nil, nil
		want[r.Kind+" "+r.Namespace+"/"+r.Name] = r
	}
	for _, r := range append(got.Routes, *got.ListenerSets...) {
		assert.Nil(t, r.File, "read from the cluster: no file")
		assert.Equal(t, want[r.Kind+" "+r.Namespace+"/"+r.Name], r, "the live verdict is the offline one")
	}
	hr := (*got.ListenerSets)[1]
	require.Len(t, hr.Parents, 1)
	assert.Equal(t, parentJSON{
		Group: "gateway.networking.k8s.io", Kind: "Gateway", Namespace: "infra-ns", Name: "shared-gateway",
		Accepted: "False", Reason: "NotAllowed", Verdict: "deny",
		Message: `Gateway infra-ns/shared-gateway accepts ListenerSets only from namespaces matching shared-gateway-access=true; namespace "hr" does not match. Ask the Gateway owner to allow it, or label namespace hr to match.`,
	}, hr.Parents[0])

	text := cluster(t, "")
	assert.Equal(t, 1, text.code)
	assert.Regexp(t, `(?m)^HTTPRoute careers/careers-site\s+ListenerSet careers/careers-listeners#careers\s+allow\s+Accepted\s+Accepted by ListenerSet careers/careers-listeners listener "careers".$`, text.stdout)
	assert.Regexp(t, `(?m)^ListenerSet hr/hr-listeners\s+Gateway infra-ns/shared-gateway\s+deny\s+NotAllowed\s+Gateway infra-ns/shared-gateway accepts ListenerSets only`, text.stdout)
	assert.Contains(t, text.stdout, "\n4 routes: 1 denied, 0 warned, 3 allowed; 2 ListenerSets: 1 denied, 0 warned, 1 allowed.\n")

	// With hr's route and ListenerSet only warned, nothing is denied.
	warned := cluster(t, "", "--route-enforcement", "warn", "--listenerset-enforcement", "warn")
	assert.Equal(t, 0, warned.code, warned.stderr)
	// hr's ListenerSet alone fails the job.
	denied := cluster(t, "", "--route-enforcement", "warn")
	assert.Equal(t, 1, denied.code, denied.stderr)

	for _, tt := range []struct {
		args         []string
		routes, sets []string
	}{
		{[]string{"-n", "careers"}, []string{"HTTPRoute careers/careers allow", "HTTPRoute careers/careers-site allow"},
			[]string{"ListenerSet careers/careers-listeners allow"}},
		{[]string{"--gateway", "infra-ns/shared-gateway", "-n", "hr"}, []string{"HTTPRoute hr/hr deny"}, []string{"ListenerSet hr/hr-listeners deny"}},
		{[]string{"-n", "product"}, []string{"HTTPRoute product/product allow"}, []string{}},
	} {
		res := cluster(t, "", append(tt.args, "-o", "json")...)
		got := decodeWithSets(t, res.stdout)
		assert.Equal(t, tt.routes, names(got.Routes), tt.args)
		require.NotNil(t, got.ListenerSets, "the cluster holds ListenerSets: the key is there, %v", tt.args)
		assert.Equal(t, tt.sets, names(*got.ListenerSets), tt.args)
	}
}

// narrowedListeners is the shared Gateway with its allowedListeners
// narrowed to namespaces of tier gold; its listener is as it was.
const narrowedListeners = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: shared-gateway
  namespace: infra-ns
spec:
  gatewayClassName: example
  listeners:
  - name: http
    protocol: HTTP
    port: 80
    allowedRoutes:
      namespaces:
        from: Selector
        selector:
          matchLabels:
            shared-gateway-access: "true"
  allowedListeners:
    namespaces:
      from: Selector
      selector:
        matchLabels:
          shared-gateway-access: "true"
          tier: gold
`

// Narrowing the Gateway's allowedListeners names careers' ListenerSet and
// the route through it, and fails the job.
func TestChangesOfNarrowedAllowedListeners(t *testing.T) {
	secondAct(t)
	file := write(t, "gateway.yaml", narrowedListeners)
	res := cluster(t, "", "-f", file, "--changes", "-o", "json")
	assert.Equal(t, 1, res.code, res.stderr)
	got := decodeWithSets(t, res.stdout)
	require.NotNil(t, got.Changes)
	var summary []string
	for _, c := range *got.Changes {
		require.NotNil(t, c.Before)
		require.NotNil(t, c.After)
		require.Len(t, c.After.Parents, 1)
		p := c.After.Parents[0]
		summary = append(summary, c.Change+" "+c.Kind+" "+c.Namespace+"/"+c.Name+" "+c.Before.Verdict+"->"+c.After.Verdict+" "+
			p.Kind+" "+p.Namespace+"/"+p.Name+" "+p.Reason)
		assert.True(t, c.Breaking, c.Name)
		assert.Contains(t, p.Message, "shared-gateway-access=true,tier=gold")
	}
	assert.Equal(t, []string{
		"attachment HTTPRoute careers/careers-site allow->deny ListenerSet careers/careers-listeners NotAllowedByListeners",
		"attachment ListenerSet careers/careers-listeners allow->deny Gateway infra-ns/shared-gateway NotAllowed",
	}, summary, "hr's ListenerSet is refused before and after, for the same reason")
	assert.Equal(t, []string{"HTTPRoute careers/careers-site deny"}, names(got.Routes))
	require.NotNil(t, got.ListenerSets)
	assert.Equal(t, []string{"ListenerSet careers/careers-listeners deny"}, names(*got.ListenerSets))

	text := cluster(t, "", "-f", file, "--changes")
	assert.Equal(t, 1, text.code)
	assert.Regexp(t, `(?m)^detach\s+HTTPRoute careers/careers-site\s+ListenerSet careers/careers-listeners#careers\s+allow Accepted\s+deny NotAllowedByListeners\s+ListenerSet careers/careers-listeners is not accepted by its Gateway`, text.stdout)
	assert.Regexp(t, `(?m)^detach\s+ListenerSet careers/careers-listeners\s+Gateway infra-ns/shared-gateway\s+allow Accepted\s+deny NotAllowed\s+Gateway infra-ns/shared-gateway accepts ListenerSets only from namespaces matching shared-gateway-access=true,tier=gold;`, text.stdout)
	assert.Contains(t, text.stdout, "\n1 route changed, 1 of them detached or denied; 1 ListenerSet changed, 1 of them detached or denied; 0 namespaces newly admitted by a label selector.\n")

	// Labelling hr instead admits its ListenerSet, and says so; that breaks
	// nothing.
	hr := write(t, "hr.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: hr\n  labels:\n    shared-gateway-access: \"true\"\n")
	res = cluster(t, "", "-f", hr, "--changes")
	assert.Equal(t, 0, res.code, res.stderr)
	assert.Regexp(t, `(?m)^attach\s+ListenerSet hr/hr-listeners\s+Gateway infra-ns/shared-gateway\s+deny NotAllowed\s+allow Accepted\s+Accepted by Gateway infra-ns/shared-gateway.$`, res.stdout)
	assert.Regexp(t, `(?m)^grant\s+Namespace hr\s+Gateway infra-ns/shared-gateway allowedListeners\s+not admitted\s+admitted\s+ListenerSets admitted by label selector shared-gateway-access=true$`, res.stdout)
}
