package attachment_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// fuzzInput is what one fuzz input decodes to, from YAML or JSON: a Gateway,
// the labels of the route's Namespace (before and after a relabelling), and
// an HTTPRoute (before and after an update). The seeds in
// testdata/fuzz/FuzzEvaluate are written in this shape.
type fuzzInput struct {
	Gateway gatewayv1.Gateway `json:"gateway"`
	// ListenerSets may name the Gateway (or not), and the route may attach
	// to them.
	ListenerSets []gatewayv1.ListenerSet `json:"listenerSets"`
	// Namespaces are the labels of other Namespaces, such as those of the
	// ListenerSets.
	Namespaces map[string]map[string]string `json:"namespaces"`
	// Labels are the labels of the route's Namespace; OldLabels are those
	// before a relabelling, nil for a new Namespace.
	Labels    map[string]string   `json:"labels"`
	OldLabels map[string]string   `json:"oldLabels"`
	Route     gatewayv1.HTTPRoute `json:"route"`
	// OldRoute is the route before an update; nil: the update changes
	// nothing but metadata.
	OldRoute *gatewayv1.HTTPRoute       `json:"oldRoute"`
	Grants   []gatewayv1.ReferenceGrant `json:"grants"`
}

// FuzzEvaluate feeds the evaluator whatever a cluster could hold, and
// more: selectors that do not parse, unknown kinds and protocols, empty and
// duplicate names, huge listener lists, ListenerSets that conflict with the
// Gateway and with each other. Nothing may panic, and the answers must keep
// the promises Evaluate, Decide, DecideUpdate, DecideListenerSet, Grants,
// Detachments and ListenerTable make to the webhook.
//
//	go test -run '^$' -fuzz '^FuzzEvaluate$' -fuzztime 60s ./pkg/attachment/
func FuzzEvaluate(f *testing.F) {
	for _, seed := range []string{
		``,
		`{}`,
		`null`,
		`gateway: {metadata: {namespace: infra, name: gw}, spec: {listeners: [{name: http, port: 80, protocol: HTTP}]}}
route: {metadata: {namespace: infra, name: r}, spec: {parentRefs: [{name: gw}]}}`,
		`gateway:
  metadata: {namespace: infra, name: gw, annotations: {gatewarden.dev/enforcement: warn}}
  spec:
    listeners:
    - name: http
      port: 80
      protocol: HTTP
      allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {team: a}}}}
labels: {team: b}
oldLabels: {team: a}
route:
  metadata: {namespace: app, name: r}
  spec:
    parentRefs: [{name: gw, namespace: infra}, {name: gw, namespace: infra, sectionName: nope}]
oldRoute:
  metadata: {namespace: app, name: r}
  spec:
    parentRefs: [{name: gw, namespace: infra}]`,
		`gateway:
  metadata: {namespace: infra, name: gw}
  spec:
    allowedListeners: {namespaces: {from: Selector, selector: {matchLabels: {lsets: "yes"}}}}
    listeners: [{name: http, port: 80, protocol: HTTP, hostname: a.example.com}]
namespaces: {team: {lsets: "yes"}}
listenerSets:
- metadata: {namespace: team, name: ls, creationTimestamp: "2026-01-01T00:00:00Z"}
  spec:
    parentRef: {name: gw, namespace: infra}
    listeners:
    - {name: dup, port: 80, protocol: HTTP, hostname: a.example.com}
    - {name: own, port: 80, protocol: HTTP, hostname: b.example.com, allowedRoutes: {namespaces: {from: All}}}
    - {name: tcp, port: 80, protocol: TCP}
- metadata: {namespace: team, name: late, creationTimestamp: "2026-02-01T00:00:00Z"}
  spec:
    parentRef: {name: gw, namespace: infra}
    listeners: [{name: same, port: 80, protocol: HTTP, hostname: b.example.com}]
route:
  metadata: {namespace: app, name: r}
  spec:
    hostnames: [b.example.com]
    parentRefs: [{kind: ListenerSet, name: ls, namespace: team}, {kind: ListenerSet, name: late, namespace: team}, {name: gw, namespace: infra}]`,
	} {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		var in fuzzInput
		if err := yaml.Unmarshal(data, &in); err != nil {
			return
		}
		checkEvaluate(t, &in)
	})
}

// The seed corpus is only worth its place if it reaches the evaluator: each
// hand-written seed must decode, and name at least one Gateway. (Inputs the
// fuzzer found and saved, named by their hash, are kept as they are.)
func TestFuzzEvaluateSeedsDecode(t *testing.T) {
	all, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzEvaluate", "*"))
	if err != nil {
		t.Fatal(err)
	}
	files := slices.DeleteFunc(all, func(f string) bool { return fuzzerFound.MatchString(filepath.Base(f)) })
	if len(files) < 8 {
		t.Fatalf("want at least 8 seeds in testdata/fuzz/FuzzEvaluate, found %d", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data := readCorpusFile(t, file)
			var in fuzzInput
			if err := yaml.Unmarshal(data, &in); err != nil {
				t.Fatalf("the seed does not decode: %v", err)
			}
			if res := attachment.Evaluate(attachment.FromHTTPRoute(&in.Route), attachment.NewIndex()); len(res.Parents) == 0 {
				t.Fatal("the seed's route names no Gateway")
			}
			checkEvaluate(t, &in)
		})
	}
}

// fuzzerFound matches the names go test -fuzz gives the inputs it saves.
var fuzzerFound = regexp.MustCompile(`^[0-9a-f]{16}$`)

// readCorpusFile reads a file of Go's fuzz corpus format with one []byte.
func readCorpusFile(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	header, value, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	quoted, ok := strings.CutPrefix(value, "[]byte(")
	if header != "go test fuzz v1" || !ok || !strings.HasSuffix(quoted, ")") {
		t.Fatalf("%s is not a corpus file with one []byte", file)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return []byte(s)
}

func checkEvaluate(t *testing.T, in *fuzzInput) {
	route := attachment.FromHTTPRoute(&in.Route)
	build := func(grants bool) (*attachment.Index, *attachment.Gateway) {
		ix := attachment.NewIndex()
		gw := ix.AddGateway(&in.Gateway)
		for name, l := range in.Namespaces {
			ix.SetNamespaceLabels(name, l)
		}
		ix.SetNamespaceLabels(route.Namespace, in.Labels)
		for i := range in.ListenerSets {
			ix.AddListenerSet(&in.ListenerSets[i])
		}
		if grants {
			for i := range in.Grants {
				ix.AddReferenceGrant(&in.Grants[i])
			}
		}
		return ix, gw
	}
	ix, gw := build(true)
	withoutGrants, _ := build(false)

	res := attachment.Evaluate(route, ix)
	checkParents(t, route, in, res)
	checkListenerSets(t, in, ix, gw)
	for _, rp := range res.RefProblems {
		if rp.Path == nil || rp.Reason != gatewayv1.RouteReasonRefNotPermitted || rp.Message == "" {
			t.Fatalf("backendRef problem %+v is not a RefNotPermitted with a path and a message", rp)
		}
	}
	// A missing ReferenceGrant for a backend never un-accepts a parentRef.
	// (Grants for a ListenerSet's certificates can: they make its
	// listeners valid.)
	if other := attachment.Evaluate(route, withoutGrants); len(in.ListenerSets) == 0 && !sameVerdicts(res.Parents, other.Parents) {
		t.Fatalf("ReferenceGrants changed the parents' verdicts:\n%+v\n%+v", res.Parents, other.Parents)
	}
	// The evaluator is pure: the same question gets the same answer.
	if again := attachment.Evaluate(route, ix); !sameVerdicts(res.Parents, again.Parents) || len(again.RefProblems) != len(res.RefProblems) {
		t.Fatalf("two evaluations of the same route differ")
	}

	annotated := annotationMode(&in.Gateway)
	// Every Decide and DecideUpdate below gets fresh evaluations, so that
	// one decision cannot leak into the next through shared results (see
	// TestDecideUpdateDoesNotChangeItsArguments).
	for _, mode := range attachment.Modes {
		d := attachment.Decide(attachment.Evaluate(route, ix), mode)
		checkDecision(t, res, d, mode, annotated)
		// A Decision denies exactly the rejected parentRefs whose
		// effective mode is deny.
		var want []string
		for i := range res.Parents {
			p := &res.Parents[i]
			if p.Accepted == metav1.ConditionFalse && effective(p, mode, annotated) == attachment.ModeDeny {
				want = append(want, p.Path().String())
			}
		}
		if got := fields(d.Denials); !slices.Equal(got, want) {
			t.Fatalf("mode %s: denials at %v, want %v", mode, got, want)
		}

		// An update that leaves the route as it was denies nothing: a
		// rejection it did not cause is a warning.
		same := attachment.DecideUpdate(attachment.Evaluate(route, ix), attachment.Evaluate(route, ix), mode)
		checkDecision(t, res, same, mode, annotated)
		if same.Verdict == attachment.VerdictDeny {
			t.Fatalf("mode %s: an update that changes nothing is denied: %v", mode, same.Denials)
		}

		// An update denies no more than a create of the new route.
		old := route
		if in.OldRoute != nil {
			old = attachment.FromHTTPRoute(in.OldRoute)
			old.Namespace = route.Namespace
		}
		upd := attachment.DecideUpdate(attachment.Evaluate(old, ix), attachment.Evaluate(route, ix), mode)
		checkDecision(t, res, upd, mode, annotated)
		for _, f := range fields(upd.Denials) {
			if !slices.Contains(want, f) {
				t.Fatalf("mode %s: the update denies %s, which a create would not", mode, f)
			}
		}
	}

	checkGrants(t, gw, route.Namespace, in.OldLabels, in.Labels)
	checkDetachments(t, route, ix, gw, in.OldLabels, in.Labels)
}

// checkParents: one result per parentRef to a Gateway or a ListenerSet, in
// parentRef order, with a status and reason the Gateway API allows.
func checkParents(t *testing.T, route *attachment.Route, in *fuzzInput, res attachment.RouteResult) {
	var want []int
	for i := range route.ParentRefs {
		if attachment.DefaultParentRef(route.Namespace, &route.ParentRefs[i]).Governed() {
			want = append(want, i)
		}
	}
	if len(res.Parents) != len(want) {
		t.Fatalf("%d parent results for the parentRefs to Gateways and ListenerSets at %v", len(res.Parents), want)
	}
	for k := range res.Parents {
		p := &res.Parents[k]
		ref := attachment.DefaultParentRef(route.Namespace, &route.ParentRefs[want[k]])
		switch {
		case p.Index != want[k]:
			t.Fatalf("result %d is for parentRef %d, want %d", k, p.Index, want[k])
		case p.Ref != ref:
			t.Fatalf("result %d has ref %+v, want the defaulted %+v", k, p.Ref, ref)
		case p.Path().String() != fmt.Sprintf("spec.parentRefs[%d]", want[k]):
			t.Fatalf("result %d has path %s", k, p.Path())
		case p.Message == "":
			t.Fatalf("result %d has no message", k)
		case p.Parent != nil && p.Parent.ParentKey != ref.Key():
			t.Fatalf("result %d for %s was decided by %s", k, ref.Key(), p.Parent.ParentKey)
		}
		// The parent is known exactly when the input holds it.
		known := ref.Key() == attachment.GatewayKey(in.Gateway.Namespace, in.Gateway.Name)
		for i := range in.ListenerSets {
			known = known || ref.Key() == attachment.ListenerSetKey(in.ListenerSets[i].Namespace, in.ListenerSets[i].Name)
		}
		if known != (p.Parent != nil) {
			t.Fatalf("result %d for %s: parent known %v, decided by %v", k, ref.Key(), known, p.Parent)
		}
		switch p.Accepted {
		case metav1.ConditionTrue:
			if p.Reason != gatewayv1.RouteReasonAccepted || p.Parent == nil || p.Parent.Attachment.Accepted != metav1.ConditionTrue {
				t.Fatalf("accepted result %d: reason %s, parent %v", k, p.Reason, p.Parent)
			}
		case metav1.ConditionFalse:
			switch p.Reason {
			case gatewayv1.RouteReasonNotAllowedByListeners, gatewayv1.RouteReasonNoMatchingParent, gatewayv1.RouteReasonNoMatchingListenerHostname:
			default:
				t.Fatalf("rejected result %d has reason %s", k, p.Reason)
			}
			if p.Parent == nil || p.Governor() == nil {
				t.Fatalf("rejected result %d names no parent or no Gateway", k)
			}
		case metav1.ConditionUnknown:
			// Unknown: the parent, or a ListenerSet's Gateway, is not known.
			if p.Reason != gatewayv1.RouteReasonPending || (p.Parent != nil && p.Governor() != nil) {
				t.Fatalf("unknown result %d: reason %s, parent %v", k, p.Reason, p.Parent)
			}
		default:
			t.Fatalf("result %d has Accepted %q", k, p.Accepted)
		}
		// A ListenerSet its Gateway does not accept accepts no route.
		if p.Parent != nil && p.Parent.Attachment.Accepted == metav1.ConditionFalse && p.Accepted != metav1.ConditionFalse {
			t.Fatalf("result %d: %s is not attached (%s) but the route is %s", k, ref.Key(), p.Parent.Attachment.Reason, p.Accepted)
		}
		// NoMatchingParent exactly when sectionName and port select no
		// listener of the parent itself (a Gateway's own listeners only,
		// never its ListenerSets').
		if p.Parent != nil && p.Parent.Attachment.Accepted == metav1.ConditionTrue {
			selected := 0
			for i := range p.Parent.Listeners {
				if l := &p.Parent.Listeners[i]; (ref.SectionName == "" || ref.SectionName == l.Name) && (ref.Port == 0 || ref.Port == l.Port) {
					selected++
				}
			}
			if (selected == 0) != (p.Reason == gatewayv1.RouteReasonNoMatchingParent) {
				t.Fatalf("result %d: %d listeners selected, reason %s", k, selected, p.Reason)
			}
			if ref.Kind == attachment.KindGateway && len(p.Parent.Listeners) != len(in.Gateway.Spec.Listeners) {
				t.Fatalf("result %d: the Gateway has %d listeners, the parent %d", k, len(in.Gateway.Spec.Listeners), len(p.Parent.Listeners))
			}
		}
	}
}

// checkListenerSets: every ListenerSet's judgement keeps the promises of
// ListenerTable (docs/design.md section 2).
func checkListenerSets(t *testing.T, in *fuzzInput, ix *attachment.Index, gw *attachment.Gateway) {
	gwKey := gw.ParentKey
	var sets []*attachment.ListenerSet
	seen := map[types.NamespacedName]bool{}
	for i := range in.ListenerSets {
		key := types.NamespacedName{Namespace: in.ListenerSets[i].Namespace, Name: in.ListenerSets[i].Name}
		if seen[key] {
			continue // a later one of the same name replaced it
		}
		seen[key] = true
		sets = append(sets, ix.ListenerSet(key))
	}
	for _, ls := range sets {
		a := ls.Attachment
		if a.Message == "" {
			t.Fatalf("%s: an Attachment without a message", ls.ParentKey)
		}
		if !ls.NamesGateway() || ls.GatewayRef.Key() != gwKey {
			if a.Accepted != metav1.ConditionUnknown || a.Reason != gatewayv1.ListenerSetReasonPending || ls.Gateway != nil {
				t.Fatalf("%s names %s, not the Gateway, yet is %s/%s", ls.ParentKey, ls.GatewayRef.Key(), a.Accepted, a.Reason)
			}
			continue
		}
		labels, ok := ix.NamespaceLabels(ls.Namespace)
		if !ok {
			labels = attachment.NamespaceLabels(ls.Namespace, nil)
		}
		admitted := gw.AllowedListeners.Admits(ls.Namespace, labels)
		usable := 0
		// A conflict names a listener by its name, which the API server keeps
		// unique within a ListenerSet (listMapKey name); the fuzzer need not.
		names := map[gatewayv1.SectionName]int{}
		for i := range ls.Listeners {
			names[ls.Listeners[i].Name]++
		}
		for i := range ls.Listeners {
			l := &ls.Listeners[i]
			if l.Usable() {
				usable++
			}
			if l.Conflict != nil && l.Conflict.Parent == ls.ParentKey && l.Conflict.Listener == l.Name && names[l.Name] == 1 {
				t.Fatalf("%s listener %q conflicts with itself", ls.ParentKey, l.Name)
			}
			if l.Conflict != nil && l.Invalid != nil {
				t.Fatalf("%s listener %q is both conflicted and invalid", ls.ParentKey, l.Name)
			}
		}
		switch {
		case !admitted:
			if a.Accepted != metav1.ConditionFalse || a.Reason != gatewayv1.ListenerSetReasonNotAllowed {
				t.Fatalf("%s: allowedListeners does not admit namespace %s, yet %s/%s", ls.ParentKey, ls.Namespace, a.Accepted, a.Reason)
			}
		case usable == 0:
			if a.Accepted != metav1.ConditionFalse || a.Reason != gatewayv1.ListenerSetReasonListenersNotValid {
				t.Fatalf("%s: no usable listener, yet %s/%s", ls.ParentKey, a.Accepted, a.Reason)
			}
		default:
			if a.Accepted != metav1.ConditionTrue || a.Reason != gatewayv1.ListenerSetReasonAccepted {
				t.Fatalf("%s: admitted with %d usable listeners, yet %s/%s", ls.ParentKey, usable, a.Accepted, a.Reason)
			}
		}
		if ls.Gateway != gw {
			t.Fatalf("%s judged against another Gateway", ls.ParentKey)
		}

		// Only the listeners before it count: judged against a table built
		// without it, it is judged the same.
		var others []*attachment.ListenerSet
		for i := range in.ListenerSets {
			o := attachment.NewListenerSet(&in.ListenerSets[i])
			if o.ParentKey != ls.ParentKey {
				others = append(others, o)
			}
		}
		alone := attachment.NewListenerTable(gw, others, ix).Judge(attachment.NewListenerSet(findListenerSet(in, ls.ParentKey)), ix)
		if alone.Attachment != ls.Attachment || !sameListeners(alone.Listeners, ls.Listeners) {
			t.Fatalf("%s is judged differently by a table without it:\n%+v\n%+v", ls.ParentKey, alone.Attachment, ls.Attachment)
		}

		for _, mode := range attachment.Modes {
			d := attachment.DecideListenerSet(ls, mode)
			effective := mode
			if gw.Enforcement != "" {
				effective = gw.Enforcement
			}
			wantDeny := a.Reason == gatewayv1.ListenerSetReasonNotAllowed && effective == attachment.ModeDeny
			if (d.Verdict == attachment.VerdictDeny) != wantDeny || (len(d.Denials) > 0) != wantDeny {
				t.Fatalf("%s in mode %s (effective %s): %s is %s with %v", ls.ParentKey, mode, effective, a.Reason, d.Verdict, d.Denials)
			}
			for _, e := range d.Denials {
				if e.Field != "spec.parentRef" || e.Type != field.ErrorTypeForbidden {
					t.Fatalf("%s: denial %v is not a Forbidden at spec.parentRef", ls.ParentKey, e)
				}
			}
			if effective == attachment.ModeOff && d.Verdict != attachment.VerdictAllow {
				t.Fatalf("%s: enforcement off, yet %s", ls.ParentKey, d.Verdict)
			}
			if upd := attachment.DecideListenerSetUpdate(ls, ls, mode); upd.Verdict == attachment.VerdictDeny {
				t.Fatalf("%s: an update that changes nothing is denied", ls.ParentKey)
			}
		}
	}
}

func findListenerSet(in *fuzzInput, key attachment.ParentKey) *gatewayv1.ListenerSet {
	var found *gatewayv1.ListenerSet
	for i := range in.ListenerSets {
		if attachment.ListenerSetKey(in.ListenerSets[i].Namespace, in.ListenerSets[i].Name) == key {
			found = &in.ListenerSets[i] // the last of a name wins, as in the Index
		}
	}
	return found
}

func sameListeners(a, b []attachment.Listener) bool {
	return slices.EqualFunc(a, b, func(x, y attachment.Listener) bool {
		return x.Name == y.Name && (x.Conflict == nil) == (y.Conflict == nil) && (x.Conflict == nil || *x.Conflict == *y.Conflict) &&
			(x.Invalid == nil) == (y.Invalid == nil)
	})
}

// checkDecision: the verdict agrees with the denials and warnings, and
// every denial is a Forbidden at the path of a rejected parentRef.
func checkDecision(t *testing.T, res attachment.RouteResult, d attachment.Decision, mode, annotated attachment.Mode) {
	// The reason is the first parentRef's that is not accepted, else the
	// first backendRef problem's, else Accepted; whatever the mode.
	want := string(gatewayv1.RouteReasonAccepted)
	if len(res.RefProblems) > 0 {
		want = string(res.RefProblems[0].Reason)
	}
	if i := slices.IndexFunc(res.Parents, func(p attachment.ParentResult) bool { return p.Accepted != metav1.ConditionTrue }); i >= 0 {
		want = string(res.Parents[i].Reason)
	}
	if d.Reason != want {
		t.Fatalf("mode %s: decision reason %s, want %s", mode, d.Reason, want)
	}
	switch {
	case d.Verdict == attachment.VerdictDeny && len(d.Denials) == 0,
		d.Verdict != attachment.VerdictDeny && len(d.Denials) > 0,
		d.Verdict == attachment.VerdictWarn && len(d.Warnings) == 0,
		d.Verdict == attachment.VerdictAllow && len(d.Warnings) > 0,
		!slices.Contains([]attachment.Verdict{attachment.VerdictAllow, attachment.VerdictWarn, attachment.VerdictDeny}, d.Verdict):
		t.Fatalf("mode %s: verdict %q with %d denials and %d warnings", mode, d.Verdict, len(d.Denials), len(d.Warnings))
	}
	for _, e := range d.Denials {
		if e.Type != field.ErrorTypeForbidden || e.Detail == "" {
			t.Fatalf("denial %v is not a Forbidden with a message", e)
		}
		i := slices.IndexFunc(res.Parents, func(p attachment.ParentResult) bool { return p.Path().String() == e.Field })
		if i < 0 || res.Parents[i].Accepted != metav1.ConditionFalse {
			t.Fatalf("denial at %s is not at a rejected parentRef", e.Field)
		}
		if m := effective(&res.Parents[i], mode, annotated); m != attachment.ModeDeny {
			t.Fatalf("mode %s, annotation %q: %s is denied in mode %s", mode, annotated, e.Field, m)
		}
	}
	// Whatever is not accepted is said, as a denial or a warning, unless
	// enforcement is off for it.
	said := len(d.Denials) + len(d.Warnings)
	for i := range res.Parents {
		p := &res.Parents[i]
		if p.Accepted != metav1.ConditionTrue && effective(p, mode, annotated) != attachment.ModeOff && said == 0 {
			t.Fatalf("mode %s: parentRef %d is %s and nothing is said", mode, p.Index, p.Accepted)
		}
	}
}

// checkGrants: a grant is a Selector listener that admits the namespace
// with its new labels and did not with the old ones.
func checkGrants(t *testing.T, gw *attachment.Gateway, ns string, oldLabels, newLabels map[string]string) {
	gateways := []*attachment.Gateway{gw}
	var before labels.Set
	if oldLabels != nil {
		before = attachment.NamespaceLabels(ns, oldLabels)
	}
	after := attachment.NamespaceLabels(ns, newLabels)
	for _, g := range attachment.Grants(gateways, ns, oldLabels, newLabels) {
		// A grant is of a listener's allowedRoutes, or (no listener) of the
		// Gateway's allowedListeners.
		rule, what := &gw.AllowedListeners, "allowedListeners"
		if g.Listener != nil {
			rule, what = &g.Listener.Routes, fmt.Sprintf("listener %q", g.Listener.Name)
		}
		switch {
		case g.Gateway != gw:
			t.Fatalf("grant %+v is not of the Gateway given", g)
		case gw.Enforcement == attachment.ModeOff:
			t.Fatalf("a Gateway with enforcement off grants %s", what)
		case rule.From != gatewayv1.NamespacesFromSelector || !rule.SelectsOnLabels():
			t.Fatalf("%s grants, but does not select namespaces by label", what)
		case !rule.Admits(ns, after):
			t.Fatalf("%s is granted but does not admit the new labels", what)
		case before != nil && rule.Admits(ns, before):
			t.Fatalf("%s is granted but already admitted the old labels", what)
		}
	}
	// nil old labels mean a new Namespace: an unchanged label set is an
	// empty map, never nil.
	unchanged := maps.Clone(newLabels)
	if unchanged == nil {
		unchanged = map[string]string{}
	}
	if same := attachment.Grants(gateways, ns, unchanged, newLabels); len(same) > 0 {
		t.Fatalf("labels that do not change grant %d listeners", len(same))
	}
	if newLabels != nil {
		// Whatever a new Namespace is granted, the same labels on an
		// existing Namespace that had none grant no more.
		fresh := attachment.Grants(gateways, ns, nil, newLabels)
		relabelled := attachment.Grants(gateways, ns, map[string]string{}, newLabels)
		if len(relabelled) > len(fresh) {
			t.Fatalf("relabelling grants %d listeners, creating %d", len(relabelled), len(fresh))
		}
	}
}

// checkDetachments: a relabelling detaches only parentRefs accepted before
// and not after, and nothing detaches when nothing changes.
func checkDetachments(t *testing.T, route *attachment.Route, ix *attachment.Index, gw *attachment.Gateway, oldLabels, newLabels map[string]string) {
	before := ix.WithNamespaceLabels(route.Namespace, oldLabels)
	after := before.WithNamespaceLabels(route.Namespace, newLabels)
	routes := []*attachment.Route{route}
	dets := attachment.Detachments(routes, before, after)
	for i := range dets {
		d := &dets[i]
		if d.Route != route || d.Before.Accepted != metav1.ConditionTrue || d.After.Accepted == metav1.ConditionTrue || d.Before.Index != d.After.Index {
			t.Fatalf("detachment %+v is not an accepted parentRef that no longer is", d)
		}
	}
	if same := attachment.Detachments(routes, before, before); len(same) > 0 {
		t.Fatalf("nothing changed, yet %d parentRefs detach", len(same))
	}
	// Removing a Gateway detaches every parentRef it accepted, directly or
	// through its ListenerSets.
	gone := before.WithGateway(types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}, nil)
	accepted := 0
	parents := attachment.Evaluate(route, before).Parents
	for i := range parents {
		if parents[i].Accepted == metav1.ConditionTrue && parents[i].Governor() == gw {
			accepted++
		}
	}
	if got := len(attachment.Detachments(routes, before, gone)); got != accepted {
		t.Fatalf("deleting the Gateway detaches %d parentRefs, %d were accepted", got, accepted)
	}
}

// annotationMode is the Gateway's enforcement annotation when it is a mode.
func annotationMode(gw *gatewayv1.Gateway) attachment.Mode {
	m, err := attachment.ParseMode(gw.Annotations[attachment.EnforcementAnnotation])
	if err != nil {
		return ""
	}
	return m
}

// effective is the mode that applies to a parentRef: the Gateway's
// annotation when the Gateway (directly, or as a ListenerSet's) is known,
// otherwise the default.
func effective(p *attachment.ParentResult, mode, annotated attachment.Mode) attachment.Mode {
	if p.Governor() != nil && annotated != "" {
		return annotated
	}
	return mode
}

func sameVerdicts(a, b []attachment.ParentResult) bool {
	return slices.EqualFunc(a, b, func(x, y attachment.ParentResult) bool {
		return x.Index == y.Index && x.Ref == y.Ref && x.Accepted == y.Accepted && x.Reason == y.Reason && x.Message == y.Message
	})
}

func fields(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	return out
}

// DecideUpdate takes its RouteResults by value: deciding an update must not
// change what a later Decide or ParentVerdict says about the same result
// (the status reconciler and metrics may ask both of one evaluation).
func TestDecideUpdateDoesNotChangeItsArguments(t *testing.T) {
	var in fuzzInput
	if err := yaml.Unmarshal([]byte(`
gateway: {metadata: {namespace: infra, name: gw}, spec: {listeners: [{name: http, port: 80, protocol: HTTP}]}}
route: {metadata: {namespace: app, name: r}, spec: {parentRefs: [{name: gw, namespace: infra}]}}`), &in); err != nil {
		t.Fatal(err)
	}
	ix := attachment.NewIndex()
	ix.AddGateway(&in.Gateway)
	res := attachment.Evaluate(attachment.FromHTTPRoute(&in.Route), ix)
	if d := attachment.Decide(res, attachment.ModeDeny); d.Verdict != attachment.VerdictDeny {
		t.Fatalf("a route from another namespace to a From: Same listener is %s, want deny", d.Verdict)
	}

	if d := attachment.DecideUpdate(res, res, attachment.ModeDeny); d.Verdict != attachment.VerdictWarn {
		t.Fatalf("an update that changes nothing is %s, want warn", d.Verdict)
	}
	if d := attachment.Decide(res, attachment.ModeDeny); d.Verdict != attachment.VerdictDeny {
		t.Errorf("after DecideUpdate, Decide of the same result is %s, want deny", d.Verdict)
	}
	if v := attachment.ParentVerdict(&res.Parents[0], attachment.ModeDeny); v != attachment.VerdictDeny {
		t.Errorf("after DecideUpdate, ParentVerdict of the same result is %s, want deny", v)
	}
}
