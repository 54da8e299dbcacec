package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/manifest"
)

// ChangeType says what a Change is about.
type ChangeType string

const (
	// ChangeAttachment is a route whose verdict, or the accepted status or
	// reason of one of its parentRefs, is not the same after the change; or
	// a route the change adds or removes.
	ChangeAttachment ChangeType = "attachment"
	// ChangeGrant is a Namespace that Gateway listeners selecting namespaces
	// by label admit after the change and did not before.
	ChangeGrant ChangeType = "grant"
)

// Change is one entry of the changes array: what a change (files laid over
// the cluster) does to one object, named by kind, namespace and name.
type Change struct {
	Change    ChangeType `json:"change"`
	Kind      string     `json:"kind"`
	Namespace string     `json:"namespace"`
	Name      string     `json:"name"`
	// Breaking is set when the change detaches the object from a parent
	// (a parentRef accepted before, still in the route, not accepted
	// after), or makes its verdict deny when it was not before (including
	// a new route that would be denied). check exits 1 on it.
	Breaking bool `json:"breaking"`
	// Before and After are the object's outcome on each side of the change,
	// null where it does not exist. Set for attachment changes only.
	Before *Outcome `json:"before"`
	After  *Outcome `json:"after"`
	// Listeners are, for a grant, the listeners that newly admit the
	// Namespace.
	Listeners []Listener `json:"listeners,omitzero"`
}

// Outcome is a route's result on one side of a change.
type Outcome struct {
	Verdict  attachment.Verdict `json:"verdict"`
	Parents  []Parent           `json:"parents"`
	Warnings []string           `json:"warnings"`
}

// Listener names one listener of a Gateway, and the label selector by
// which it admits namespaces.
type Listener struct {
	Group       string `json:"group"`
	Kind        string `json:"kind"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	SectionName string `json:"sectionName"`
	Selector    string `json:"selector"`
}

// Compare evaluates the objects before and after a change and returns what
// changes: every route whose verdict or a parentRef's accepted status or
// reason changes (or that the change adds or removes), then every Namespace
// that a listener's label selector newly admits. Routes holds the routes
// that change, as they are after it; Changes is never nil.
func Compare(before, after []manifest.Object, mode attachment.Mode) (*Report, error) {
	was, err := Build(before, mode)
	if err != nil {
		return nil, err
	}
	now, err := Build(after, mode)
	if err != nil {
		return nil, err
	}
	rep := &Report{Routes: []Route{}, Changes: []Change{}}
	for _, c := range diffRoutes(was.Routes, now.Routes) {
		rep.Changes = append(rep.Changes, c.change)
		if c.after != nil {
			rep.Routes = append(rep.Routes, *c.after)
		}
	}
	rep.Changes = append(rep.Changes, grants(before, after)...)
	return rep, nil
}

// Breaking reports whether a change detaches or denies something.
func (r *Report) Breaking() bool {
	for i := range r.Changes {
		if r.Changes[i].Breaking {
			return true
		}
	}
	return false
}

type routeKey struct{ kind, namespace, name string }

type routeChange struct {
	change Change
	after  *Route
}

// diffRoutes pairs the routes of both sides by kind, namespace and name and
// returns those that change: in after order, then the removed ones in
// before order.
func diffRoutes(before, after []Route) []routeChange {
	was := make(map[routeKey]*Route, len(before))
	for i := range before {
		r := &before[i]
		was[routeKey{r.Kind, r.Namespace, r.Name}] = r
	}
	var out []routeChange
	for i := range after {
		now := &after[i]
		k := routeKey{now.Kind, now.Namespace, now.Name}
		old := was[k]
		delete(was, k)
		if old != nil && sameAttachment(old, now) {
			continue
		}
		out = append(out, routeChange{change: attachmentChange(old, now), after: now})
	}
	for i := range before {
		old := &before[i]
		if _, removed := was[routeKey{old.Kind, old.Namespace, old.Name}]; removed {
			out = append(out, routeChange{change: attachmentChange(old, nil)})
		}
	}
	return out
}

// sameAttachment reports whether a route has the same verdict and the same
// parentRefs, each accepted (or not) for the same reason.
func sameAttachment(a, b *Route) bool {
	return a.Verdict == b.Verdict && slices.EqualFunc(a.Parents, b.Parents, func(p, q Parent) bool {
		return p.ref() == q.ref() && p.Accepted == q.Accepted && p.Reason == q.Reason && p.Verdict == q.Verdict
	})
}

func attachmentChange(old, now *Route) Change {
	r := now
	if r == nil {
		r = old
	}
	c := Change{Change: ChangeAttachment, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
	if old != nil {
		c.Before = &Outcome{Verdict: old.Verdict, Parents: old.Parents, Warnings: old.Warnings}
	}
	if now != nil {
		c.After = &Outcome{Verdict: now.Verdict, Parents: now.Parents, Warnings: now.Warnings}
		c.Breaking = (now.Verdict == attachment.VerdictDeny && (old == nil || old.Verdict != attachment.VerdictDeny)) || detaches(old, now)
	}
	return c
}

// detaches reports whether a parentRef that the route keeps is accepted
// before and not after. A parentRef the change removes from the route is
// the route owner's choice, not a detachment.
func detaches(old, now *Route) bool {
	if old == nil {
		return false
	}
	for i := range now.Parents {
		if p := findParent(old.Parents, now.Parents[i].ref()); p != nil &&
			p.Accepted == string(metav1.ConditionTrue) && now.Parents[i].Accepted != string(metav1.ConditionTrue) {
			return true
		}
	}
	return false
}

// parentRef is a Parent's identity: the defaulted parentRef.
type parentRef struct {
	group, kind, namespace, name, sectionName string
	port                                      gatewayv1.PortNumber
}

func (p *Parent) ref() parentRef {
	return parentRef{p.Group, p.Kind, p.Namespace, p.Name, p.SectionName, p.Port}
}

func findParent(parents []Parent, ref parentRef) *Parent {
	for i := range parents {
		if parents[i].ref() == ref {
			return &parents[i]
		}
	}
	return nil
}

// side is what grants reads of one side of a change.
type side struct {
	gateways   map[types.NamespacedName]*attachment.Gateway
	order      []types.NamespacedName
	namespaces map[string]*corev1.Namespace
	nsOrder    []string
}

func sideOf(objs []manifest.Object) side {
	s := side{gateways: map[types.NamespacedName]*attachment.Gateway{}, namespaces: map[string]*corev1.Namespace{}}
	for _, o := range objs {
		switch obj := o.Object.(type) {
		case *gatewayv1.Gateway:
			k := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}
			if _, dup := s.gateways[k]; !dup {
				s.order = append(s.order, k)
			}
			s.gateways[k] = attachment.NewGateway(obj)
		case *corev1.Namespace:
			if _, dup := s.namespaces[obj.Name]; !dup {
				s.nsOrder = append(s.nsOrder, obj.Name)
			}
			s.namespaces[obj.Name] = obj
		}
	}
	return s
}

// admits reports whether listener l of Gateway gw (either nil) admits
// Namespace ns (nil: it does not exist).
func admits(gw *attachment.Gateway, l *attachment.Listener, ns *corev1.Namespace) bool {
	return gw != nil && l != nil && ns != nil && l.AdmitsNamespace(ns.Name, attachment.NamespaceLabels(ns.Name, ns.Labels))
}

// grants returns the Namespaces that a listener selecting namespaces by
// label admits after the change and did not admit before, sorted by name.
// Only a changed listener (new, or its allowedRoutes namespaces changed)
// or a changed Namespace (new, or its labels changed) can make one, so the
// cost is those times the other side, not every listener times every
// Namespace. A Gateway whose enforcement is off counts: its listeners
// still route the traffic of the routes they admit.
func grants(before, after []manifest.Object) []Change {
	was, now := sideOf(before), sideOf(after)
	found := map[string][]Listener{}
	grant := func(gw *attachment.Gateway, l *attachment.Listener, ns string) {
		found[ns] = append(found[ns], Listener{
			Group: gatewayv1.GroupName, Kind: string(attachment.KindGateway), Namespace: gw.Namespace, Name: gw.Name,
			SectionName: string(l.Name), Selector: l.Routes.SelectorText,
		})
	}
	var changedNS []*corev1.Namespace
	for _, name := range now.nsOrder {
		n, o := now.namespaces[name], was.namespaces[name]
		if o == nil || (n != o && !maps.Equal(n.Labels, o.Labels)) {
			changedNS = append(changedNS, n)
		}
	}
	for _, key := range now.order {
		gw, oldGW := now.gateways[key], was.gateways[key]
		for i := range gw.Listeners {
			l := &gw.Listeners[i]
			if !l.Routes.SelectsOnLabels() {
				continue
			}
			var old *attachment.Listener
			if oldGW != nil {
				old = oldGW.Listener(l.Name)
			}
			if old != nil && old.Routes.From == l.Routes.From && old.Routes.SelectorText == l.Routes.SelectorText {
				// The same selector: only a changed Namespace can be new to it.
				for _, ns := range changedNS {
					if admits(gw, l, ns) && !admits(oldGW, old, was.namespaces[ns.Name]) {
						grant(gw, l, ns.Name)
					}
				}
				continue
			}
			for _, name := range now.nsOrder {
				if admits(gw, l, now.namespaces[name]) && !admits(oldGW, old, was.namespaces[name]) {
					grant(gw, l, name)
				}
			}
		}
	}
	out := make([]Change, 0, len(found))
	for _, ns := range slices.Sorted(maps.Keys(found)) {
		out = append(out, Change{Change: ChangeGrant, Kind: "Namespace", Name: ns, Listeners: found[ns]})
	}
	return out
}

// Filter keeps part of a report, as `kubectl get -n` shows one namespace.
type Filter struct {
	// Namespace, when set, keeps the routes in that namespace and the
	// grants to that Namespace.
	Namespace string
	// Gateway, when set, keeps the routes with a parentRef to that Gateway
	// (before or after the change) and the grants by its listeners.
	Gateway types.NamespacedName
}

// Filter drops what f does not keep.
func (r *Report) Filter(f Filter) {
	if f == (Filter{}) {
		return
	}
	r.Routes = slices.DeleteFunc(r.Routes, func(rt Route) bool {
		return !f.keeps(rt.Namespace, rt.Parents)
	})
	if r.Changes == nil {
		return
	}
	out := r.Changes[:0]
	for _, c := range r.Changes {
		switch c.Change {
		case ChangeGrant:
			if f.Namespace != "" && c.Name != f.Namespace {
				continue
			}
			if f.Gateway != (types.NamespacedName{}) {
				c.Listeners = slices.DeleteFunc(slices.Clone(c.Listeners), func(l Listener) bool {
					return l.Namespace != f.Gateway.Namespace || l.Name != f.Gateway.Name
				})
				if len(c.Listeners) == 0 {
					continue
				}
			}
		default:
			var parents []Parent
			for _, o := range []*Outcome{c.Before, c.After} {
				if o != nil {
					parents = append(parents, o.Parents...)
				}
			}
			if !f.keeps(c.Namespace, parents) {
				continue
			}
		}
		out = append(out, c)
	}
	r.Changes = out
}

func (f Filter) keeps(namespace string, parents []Parent) bool {
	if f.Namespace != "" && namespace != f.Namespace {
		return false
	}
	if f.Gateway == (types.NamespacedName{}) {
		return true
	}
	return slices.ContainsFunc(parents, func(p Parent) bool {
		return p.Group == gatewayv1.GroupName && p.Kind == string(attachment.KindGateway) &&
			p.Namespace == f.Gateway.Namespace && p.Name == f.Gateway.Name
	})
}

// String is how the table names the listener: Gateway namespace/name#listener.
func (l *Listener) String() string {
	return l.Kind + " " + l.Namespace + "/" + l.Name + "#" + l.SectionName
}

// writeChanges writes one row per parentRef that changes (or per route,
// when only its verdict does) and per grant, then a summary line.
func (r *Report) writeChanges(w io.Writer, color bool) error {
	// Every cell of the BEFORE and AFTER columns is wrapped in a colour
	// code of the same length, so that the columns stay aligned.
	paint := func(text string, v attachment.Verdict) string {
		if !color {
			return text
		}
		code := map[attachment.Verdict]string{attachment.VerdictAllow: "32", attachment.VerdictWarn: "33", attachment.VerdictDeny: "31"}[v]
		if code == "" {
			code = "39"
		}
		return "\x1b[" + code + "m" + text + "\x1b[0m"
	}
	cell := func(p *Parent) string {
		if p == nil {
			return paint("-", "")
		}
		return paint(string(p.Verdict)+" "+p.Reason, p.Verdict)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "CHANGE\tOBJECT\tPARENT\t%s\t%s\tMESSAGE\n", paint("BEFORE", ""), paint("AFTER", ""))
	var routes, breaking, admitted int
	for i := range r.Changes {
		c := &r.Changes[i]
		object := c.Kind + " " + c.Name
		if c.Namespace != "" {
			object = c.Kind + " " + c.Namespace + "/" + c.Name
		}
		if c.Change == ChangeGrant {
			admitted++
			for j := range c.Listeners {
				l := &c.Listeners[j]
				fmt.Fprintf(tw, "grant\t%s\t%s\t%s\t%s\tadmitted by label selector %s\n", object, l, paint("not admitted", ""), paint("admitted", ""), l.Selector)
			}
			continue
		}
		routes++
		if c.Breaking {
			breaking++
		}
		rows := parentRows(c)
		if len(rows) == 0 {
			// Only the verdict changed: a backendRef's ReferenceGrant.
			before, after := paint("-", ""), paint("-", "")
			var msg string
			if c.Before != nil {
				before = paint(string(c.Before.Verdict), c.Before.Verdict)
				msg = first(c.Before.Warnings)
			}
			if c.After != nil {
				after = paint(string(c.After.Verdict), c.After.Verdict)
				if m := first(c.After.Warnings); m != "" || c.Before == nil {
					msg = m
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t-\t%s\t%s\t%s\n", verdictChange(c), object, before, after, msg)
		}
		for _, row := range rows {
			p := row.after
			if p == nil {
				p = row.before
			}
			msg := p.Message
			switch {
			case c.After == nil:
				msg = "the route is deleted"
			case row.after == nil:
				msg = "the parentRef is removed from the route"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", row.change(c), object, p.describe(), cell(row.before), cell(row.after), msg)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d %s changed, %d of them detached or denied; %d %s newly admitted by a label selector.\n",
		routes, plural(routes, "route", "routes"), breaking, admitted, plural(admitted, "namespace", "namespaces"))
	return err
}

// parentRow pairs one parentRef before and after a change; either is nil
// where the parentRef (or the route) does not exist.
type parentRow struct{ before, after *Parent }

// parentRows returns the parentRefs of an attachment change that change:
// every one of a route added or removed, else those whose verdict,
// accepted status or reason differ, in after order, then those removed.
func parentRows(c *Change) []parentRow {
	var before, after []Parent
	if c.Before != nil {
		before = c.Before.Parents
	}
	if c.After != nil {
		after = c.After.Parents
	}
	var rows []parentRow
	for i := range after {
		b := findParent(before, after[i].ref())
		if b != nil && b.Verdict == after[i].Verdict && b.Accepted == after[i].Accepted && b.Reason == after[i].Reason {
			continue
		}
		rows = append(rows, parentRow{before: b, after: &after[i]})
	}
	for i := range before {
		if findParent(after, before[i].ref()) == nil {
			rows = append(rows, parentRow{before: &before[i]})
		}
	}
	return rows
}

func (row parentRow) change(c *Change) string {
	switch {
	case c.Before == nil || (row.before == nil && row.after != nil):
		return "new"
	case c.After == nil || row.after == nil:
		return "removed"
	case row.before.Accepted == string(metav1.ConditionTrue) && row.after.Accepted != string(metav1.ConditionTrue):
		return "detach"
	case row.before.Accepted != string(metav1.ConditionTrue) && row.after.Accepted == string(metav1.ConditionTrue):
		return "attach"
	case row.after.Verdict == attachment.VerdictDeny && row.before.Verdict != attachment.VerdictDeny:
		return "deny"
	}
	return "changed"
}

func verdictChange(c *Change) string {
	switch {
	case c.Before == nil:
		return "new"
	case c.After == nil:
		return "removed"
	case c.After.Verdict == attachment.VerdictDeny:
		return "deny"
	}
	return "changed"
}

// describe names a parent as the route table does.
func (p *Parent) describe() string {
	s := fmt.Sprintf("%s %s/%s", p.Kind, p.Namespace, p.Name)
	if p.SectionName != "" {
		s += "#" + p.SectionName
	}
	if p.Port != 0 {
		s += fmt.Sprintf(":%d", p.Port)
	}
	return s
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
