// Package report evaluates a set of manifests offline and writes the result
// as `gatewarden check` prints it: the JSON document that CI tools parse
// (docs/design.md section 5, a fixed contract) or a table for people. Compare
// evaluates two sets, before and after a change, and says what changes.
//
// It reads no files and no cluster: objects come in, a Report comes out.
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/manifest"
)

// Report is the result for every route and ListenerSet of the input, in
// input order.
type Report struct {
	Routes []Route `json:"routes"`
	// ListenerSets is set when the input holds at least one ListenerSet
	// (for Compare, on either side of the change); the JSON is without it
	// otherwise, as it was before ListenerSets.
	ListenerSets []ListenerSet `json:"listenerSets,omitzero"`
	// Changes is what a change does, set by Compare and never nil there;
	// Build leaves it nil, and the JSON without it.
	Changes []Change `json:"changes,omitzero"`

	// gatewayOf names, for every ListenerSet of the input (for Compare, of
	// the side after the change; gatewayBefore, of the side before), the
	// Gateway its spec.parentRef names, so that Filter can keep the routes
	// attached through the ListenerSets of one Gateway.
	gatewayOf, gatewayBefore map[types.NamespacedName]types.NamespacedName
}

// Route is the result for one route: its parents are its parentRefs to
// Gateways and ListenerSets.
type Route = Result

// ListenerSet is the result for one ListenerSet: its one parent is its
// spec.parentRef, accepted as the ListenerSet's Accepted condition says
// (Accepted, NotAllowed, ListenersNotValid, or Pending when the Gateway is
// not in the input); its warnings name its conflicted and invalid listeners.
type ListenerSet = Result

// Result is the result for one route or ListenerSet: the two have the same
// shape in the JSON (docs/design.md section 5).
type Result struct {
	Kind      string             `json:"kind"`
	Namespace string             `json:"namespace"`
	Name      string             `json:"name"`
	Verdict   attachment.Verdict `json:"verdict"`
	Parents   []Parent           `json:"parents"`
	Warnings  []string           `json:"warnings"`
	// File and Document say where the object was read; an object read from
	// the cluster has neither.
	File     string `json:"file,omitzero"`
	Document int    `json:"document,omitzero"`
}

// Parent is the result for one parentRef to a Gateway or a ListenerSet,
// with the defaults applied.
type Parent struct {
	Group       string               `json:"group"`
	Kind        string               `json:"kind"`
	Namespace   string               `json:"namespace"`
	Name        string               `json:"name"`
	SectionName string               `json:"sectionName"`
	Port        gatewayv1.PortNumber `json:"port"`
	// Accepted is True, False, or Unknown when the parent is not in the input.
	Accepted string `json:"accepted"`
	Reason   string `json:"reason"`
	Message  string `json:"message"`
	// Verdict is what enforcement makes of this parentRef.
	Verdict attachment.Verdict `json:"verdict"`
}

// Modes are the enforcement defaults, as the flags of check and serve set
// them. The gatewarden.dev/enforcement annotation of a Gateway overrides
// both for what attaches to it.
type Modes struct {
	// Routes is --route-enforcement.
	Routes attachment.Mode
	// ListenerSets is --listenerset-enforcement.
	ListenerSets attachment.Mode
}

// Deny is the default of both modes.
var Deny = Modes{Routes: attachment.ModeDeny, ListenerSets: attachment.ModeDeny}

// Build evaluates every route and ListenerSet among objs against the
// Gateways, ListenerSets, Namespaces and ReferenceGrants among them.
func Build(objs []manifest.Object, modes Modes) (*Report, error) {
	ix := attachment.NewIndex()
	var routes []manifest.Object
	// sets holds each ListenerSet once, at its first place in the input,
	// as the last of the input's objects of that name defines it: the one
	// the Index holds and routes are judged against, as a second kubectl
	// apply of the same name would leave it.
	var sets []types.NamespacedName
	last := map[types.NamespacedName]manifest.Source{}
	for _, o := range objs {
		switch obj := o.Object.(type) {
		case *corev1.Namespace:
			ix.AddNamespace(obj)
		case *gatewayv1.Gateway:
			ix.AddGateway(obj)
		case *gatewayv1.ListenerSet:
			key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}
			if _, dup := last[key]; !dup {
				sets = append(sets, key)
			}
			last[key] = o.Source
			ix.AddListenerSet(obj)
		case *gatewayv1.ReferenceGrant:
			ix.AddReferenceGrant(obj)
		default:
			routes = append(routes, o)
		}
	}
	rep := &Report{Routes: make([]Route, 0, len(routes))}
	for _, o := range routes {
		r, err := attachment.RouteFor(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Source, err)
		}
		res := attachment.Evaluate(r, ix)
		d := attachment.Decide(res, modes.Routes)
		out := Route{
			Kind: string(r.Kind), Namespace: r.Namespace, Name: r.Name,
			Verdict:  d.Verdict,
			Parents:  make([]Parent, 0, len(res.Parents)),
			Warnings: append([]string{}, d.Warnings...),
			File:     o.Source.File, Document: o.Source.Document,
		}
		for i := range res.Parents {
			p := &res.Parents[i]
			out.Parents = append(out.Parents, Parent{
				Group: string(p.Ref.Group), Kind: string(p.Ref.Kind), Namespace: p.Ref.Namespace, Name: p.Ref.Name,
				SectionName: string(p.Ref.SectionName), Port: p.Ref.Port,
				Accepted: string(p.Accepted), Reason: string(p.Reason), Message: p.Message,
				Verdict: attachment.ParentVerdict(p, modes.Routes),
			})
		}
		rep.Routes = append(rep.Routes, out)
	}
	if len(sets) == 0 {
		return rep, nil
	}
	rep.ListenerSets = make([]ListenerSet, 0, len(sets))
	rep.gatewayOf = make(map[types.NamespacedName]types.NamespacedName, len(sets))
	for _, key := range sets {
		ls := ix.ListenerSet(key)
		if ls.NamesGateway() {
			rep.gatewayOf[key] = ls.GatewayRef.Key().NamespacedName()
		}
		rep.ListenerSets = append(rep.ListenerSets, listenerSetResult(ls, modes.ListenerSets, last[key]))
	}
	return rep, nil
}

// listenerSetResult is the result for one judged ListenerSet.
func listenerSetResult(ls *attachment.ListenerSet, mode attachment.Mode, src manifest.Source) ListenerSet {
	d := attachment.DecideListenerSet(ls, mode)
	// The parent's verdict is that of the Accepted condition alone, as a
	// route parent's is: the warnings about conflicted or invalid listeners
	// make the ListenerSet's verdict warn, not its parent's.
	verdict := attachment.VerdictWarn
	switch {
	case d.Verdict == attachment.VerdictDeny:
		verdict = attachment.VerdictDeny // only a Gateway that does not accept it denies
	case ls.Attachment.Accepted == metav1.ConditionTrue || d.Verdict == attachment.VerdictAllow:
		verdict = attachment.VerdictAllow
	}
	ref := ls.GatewayRef
	return ListenerSet{
		Kind: string(attachment.KindListenerSet), Namespace: ls.Namespace, Name: ls.Name,
		Verdict: d.Verdict,
		Parents: []Parent{{
			Group: string(ref.Group), Kind: string(ref.Kind), Namespace: ref.Namespace, Name: ref.Name,
			Accepted: string(ls.Attachment.Accepted), Reason: string(ls.Attachment.Reason), Message: ls.Attachment.Message,
			Verdict: verdict,
		}},
		Warnings: append([]string{}, d.Warnings...),
		File:     src.File, Document: src.Document,
	}
}

// Denied reports whether at least one route or ListenerSet is denied.
func (r *Report) Denied() bool {
	for _, results := range [][]Result{r.Routes, r.ListenerSets} {
		for i := range results {
			if results[i].Verdict == attachment.VerdictDeny {
				return true
			}
		}
	}
	return false
}

// WriteJSON writes the report as exactly one JSON object, indented as
// json.MarshalIndent(r, "", "  ") would, followed by a newline.
//
// The arrays that grow with the cluster (routes, listenerSets, changes) are
// written an element at a time: marshalling 50,000 routes at once would hold the whole
// document in memory twice (compact, then indented). Every other key is
// marshalled with the rest of the object, so that a key added to Report
// needs nothing here.
func (r *Report) WriteJSON(w io.Writer) error {
	head := *r
	head.Routes = []Route{}
	if head.ListenerSets != nil {
		head.ListenerSets = []ListenerSet{}
	}
	if head.Changes != nil {
		head.Changes = []Change{}
	}
	doc, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	// In the order of Report's fields, which is the order of the keys in doc.
	streamed := []struct {
		key  string
		n    int
		elem func(int) any
	}{
		{"routes", len(r.Routes), func(i int) any { return &r.Routes[i] }},
		{"listenerSets", len(r.ListenerSets), func(i int) any { return &r.ListenerSets[i] }},
		{"changes", len(r.Changes), func(i int) any { return &r.Changes[i] }},
	}
	for _, s := range streamed {
		// A top-level key is the only place a raw newline followed by two
		// spaces and the quoted key can appear: strings escape newlines.
		marker := []byte("\n  \"" + s.key + "\": []")
		at := bytes.Index(doc, marker)
		if at < 0 {
			continue
		}
		open := at + len(marker) - 1 // the ']' of "[]"
		_, _ = bw.Write(doc[:open])
		for i := range s.n {
			elem, err := json.MarshalIndent(s.elem(i), "    ", "  ")
			if err != nil {
				return err
			}
			if i > 0 {
				_ = bw.WriteByte(',')
			}
			_, _ = bw.WriteString("\n    ")
			_, _ = bw.Write(elem)
		}
		if s.n > 0 {
			_, _ = bw.WriteString("\n  ")
		}
		doc = doc[open:]
	}
	_, _ = bw.Write(doc)
	_ = bw.WriteByte('\n')
	return bw.Flush()
}

// WriteText writes a table of route, parent, verdict, reason and message,
// then one of the ListenerSets in the same columns (when the input holds
// any), the warnings and a summary line; for a report of Compare, the table
// of changes. color adds ANSI colours to verdicts, for a terminal.
func (r *Report) WriteText(w io.Writer, color bool) error {
	if r.Changes != nil {
		return r.writeChanges(w, color)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	paint := func(v attachment.Verdict) string {
		if !color {
			return string(v)
		}
		// Every colour code has the same length, so columns stay aligned.
		code := map[attachment.Verdict]string{attachment.VerdictAllow: "32", attachment.VerdictWarn: "33", attachment.VerdictDeny: "31"}[v]
		return "\x1b[" + code + "m" + string(v) + "\x1b[0m"
	}
	header := func(object string) {
		if color {
			// Pad the header's VERDICT cell with codes as long as a colour's.
			fmt.Fprintf(tw, "%s\tPARENT\t\x1b[39mVERDICT\x1b[0m\tREASON\tMESSAGE\n", object)
			return
		}
		fmt.Fprintf(tw, "%s\tPARENT\tVERDICT\tREASON\tMESSAGE\n", object)
	}
	var warnings []string
	// table writes the rows of results and returns how many are denied
	// and warned.
	table := func(results []Result) (denied, warned int) {
		for i := range results {
			res := &results[i]
			name := fmt.Sprintf("%s %s/%s", res.Kind, res.Namespace, res.Name)
			switch res.Verdict {
			case attachment.VerdictDeny:
				denied++
			case attachment.VerdictWarn:
				warned++
			}
			if len(res.Parents) == 0 {
				// A route whose parentRefs are all skipped (a ListenerSet
				// always has its one parent).
				fmt.Fprintf(tw, "%s\t-\t%s\t-\tno parentRef to a Gateway or ListenerSet\n", name, paint(attachment.VerdictAllow))
			}
			for i := range res.Parents {
				p := &res.Parents[i]
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, p.describe(), paint(p.Verdict), p.Reason, p.Message)
			}
			for _, warning := range res.Warnings {
				warnings = append(warnings, name+": "+warning)
			}
		}
		return denied, warned
	}
	header("ROUTE")
	denied, warned := table(r.Routes)
	summary := fmt.Sprintf("%d routes: %d denied, %d warned, %d allowed", len(r.Routes), denied, warned, len(r.Routes)-denied-warned)
	if r.ListenerSets != nil {
		// A line without cells ends tabwriter's column blocks: the second
		// table is aligned on its own, as kubectl get prints one per kind.
		fmt.Fprintln(tw)
		header("LISTENERSET")
		denied, warned := table(r.ListenerSets)
		n := len(r.ListenerSets)
		summary += fmt.Sprintf("; %d %s: %d denied, %d warned, %d allowed", n, plural(n, "ListenerSet", "ListenerSets"), denied, warned, n-denied-warned)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(warnings) > 0 {
		fmt.Fprintf(w, "\nWarnings:\n  %s\n", strings.Join(warnings, "\n  "))
	}
	_, err := fmt.Fprintf(w, "\n%s.\n", summary)
	return err
}
