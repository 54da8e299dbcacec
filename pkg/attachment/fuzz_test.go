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

	corev1 "k8s.io/api/core/v1"
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
// duplicate names, huge listener lists. Nothing may panic, and the answers
// must keep the promises Evaluate, Decide, DecideUpdate, Grants and
// Detachments make to the webhook.
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
	gwKey := types.NamespacedName{Namespace: in.Gateway.Namespace, Name: in.Gateway.Name}
	ix := attachment.NewIndex()
	gw := ix.AddGateway(&in.Gateway)
	ix.AddNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: route.Namespace, Labels: in.Labels}})
	withoutGrants := attachment.NewIndex()
	withoutGrants.AddGateway(&in.Gateway)
	withoutGrants.AddNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: route.Namespace, Labels: in.Labels}})
	for i := range in.Grants {
		ix.AddReferenceGrant(&in.Grants[i])
	}

	res := attachment.Evaluate(route, ix)
	checkParents(t, route, &in.Gateway, gwKey, res)
	for _, rp := range res.RefProblems {
		if rp.Path == nil || rp.Reason != gatewayv1.RouteReasonRefNotPermitted || rp.Message == "" {
			t.Fatalf("backendRef problem %+v is not a RefNotPermitted with a path and a message", rp)
		}
	}
	// A missing ReferenceGrant never un-accepts a parentRef.
	if other := attachment.Evaluate(route, withoutGrants); !sameVerdicts(res.Parents, other.Parents) {
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
	checkDetachments(t, route, gw, in.OldLabels, in.Labels)
}

// checkParents: one result per parentRef to a Gateway, in parentRef order,
// with a status and reason the Gateway API allows.
func checkParents(t *testing.T, route *attachment.Route, gw *gatewayv1.Gateway, gwKey types.NamespacedName, res attachment.RouteResult) {
	var want []int
	for i := range route.ParentRefs {
		if attachment.DefaultParentRef(route.Namespace, &route.ParentRefs[i]).IsGateway() {
			want = append(want, i)
		}
	}
	if len(res.Parents) != len(want) {
		t.Fatalf("%d parent results for the parentRefs to Gateways at %v", len(res.Parents), want)
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
		}
		switch p.Accepted {
		case metav1.ConditionTrue:
			if p.Reason != gatewayv1.RouteReasonAccepted || p.Gateway == nil {
				t.Fatalf("accepted result %d: reason %s, Gateway %v", k, p.Reason, p.Gateway)
			}
		case metav1.ConditionFalse:
			switch p.Reason {
			case gatewayv1.RouteReasonNotAllowedByListeners, gatewayv1.RouteReasonNoMatchingParent, gatewayv1.RouteReasonNoMatchingListenerHostname:
			default:
				t.Fatalf("rejected result %d has reason %s", k, p.Reason)
			}
			if p.Gateway == nil {
				t.Fatalf("rejected result %d names no Gateway", k)
			}
		case metav1.ConditionUnknown:
			if p.Reason != gatewayv1.RouteReasonPending || p.Gateway != nil {
				t.Fatalf("unknown result %d: reason %s, Gateway %v", k, p.Reason, p.Gateway)
			}
		default:
			t.Fatalf("result %d has Accepted %q", k, p.Accepted)
		}
		// The Gateway is known exactly when the parentRef names it.
		if known := ref.Key() == gwKey; known != (p.Accepted != metav1.ConditionUnknown) {
			t.Fatalf("result %d for %s: Accepted %s, but the Gateway is %s", k, ref.Key(), p.Accepted, gwKey)
		}
		// NoMatchingParent exactly when sectionName and port select no
		// listener, counted here on the Gateway as written.
		if p.Accepted != metav1.ConditionUnknown {
			selected := 0
			for _, l := range gw.Spec.Listeners {
				if (ref.SectionName == "" || ref.SectionName == l.Name) && (ref.Port == 0 || ref.Port == l.Port) {
					selected++
				}
			}
			if (selected == 0) != (p.Reason == gatewayv1.RouteReasonNoMatchingParent) {
				t.Fatalf("result %d: %d listeners selected, reason %s", k, selected, p.Reason)
			}
		}
	}
}

// checkDecision: the verdict agrees with the denials and warnings, and
// every denial is a Forbidden at the path of a rejected parentRef.
func checkDecision(t *testing.T, res attachment.RouteResult, d attachment.Decision, mode, annotated attachment.Mode) {
	// The reason is the first parentRef's that is not accepted, else the
	// first backendRef problem's, else Accepted; whatever the mode.
	want := gatewayv1.RouteReasonAccepted
	if len(res.RefProblems) > 0 {
		want = res.RefProblems[0].Reason
	}
	if i := slices.IndexFunc(res.Parents, func(p attachment.ParentResult) bool { return p.Accepted != metav1.ConditionTrue }); i >= 0 {
		want = res.Parents[i].Reason
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
		l := g.Listener
		switch {
		case g.Gateway != gw || l == nil:
			t.Fatalf("grant %+v is not of the Gateway given", g)
		case gw.Enforcement == attachment.ModeOff:
			t.Fatalf("a Gateway with enforcement off grants %q", l.Name)
		case l.From != gatewayv1.NamespacesFromSelector || !l.SelectsOnLabels():
			t.Fatalf("listener %q grants, but does not select namespaces by label", l.Name)
		case !l.AdmitsNamespace(gw.Namespace, ns, after):
			t.Fatalf("listener %q is granted but does not admit the new labels", l.Name)
		case before != nil && l.AdmitsNamespace(gw.Namespace, ns, before):
			t.Fatalf("listener %q is granted but already admitted the old labels", l.Name)
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
func checkDetachments(t *testing.T, route *attachment.Route, gw *attachment.Gateway, oldLabels, newLabels map[string]string) {
	before := attachment.WithGateway(attachment.NewIndex(), types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}, gw)
	before = attachment.WithNamespaceLabels(before, route.Namespace, oldLabels)
	after := attachment.WithNamespaceLabels(before, route.Namespace, newLabels)
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
	// Removing a Gateway detaches every parentRef it accepted.
	gone := attachment.WithGateway(before, types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}, nil)
	accepted := 0
	parents := attachment.Evaluate(route, before).Parents
	for i := range parents {
		if parents[i].Accepted == metav1.ConditionTrue {
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
// annotation when the Gateway is known, otherwise the default.
func effective(p *attachment.ParentResult, mode, annotated attachment.Mode) attachment.Mode {
	if p.Gateway != nil && annotated != "" {
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
