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
	// ChangeAttachment is a route or a ListenerSet whose verdict, or the
	// accepted status or reason of one of its parents, is not the same after
	// the change; or one the change adds or removes.
	ChangeAttachment ChangeType = "attachment"
	// ChangeGrant is a Namespace that Gateway listeners (or a Gateway's
	// allowedListeners) selecting namespaces by label admit after the change
	// and did not before.
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
	// (a parentRef accepted before, still in the route or ListenerSet, not
	// accepted after), or makes its verdict deny when it was not before
	// (including a new route or ListenerSet that would be denied). check
	// exits 1 on it.
	Breaking bool `json:"breaking"`
	// Before and After are the object's outcome on each side of the change,
	// null where it does not exist. Set for attachment changes only.
	Before *Outcome `json:"before"`
	After  *Outcome `json:"after"`
	// Listeners are, for a grant, the listeners that newly admit the
	// Namespace, and the Gateways whose allowedListeners newly do.
	Listeners []Listener `json:"listeners,omitzero"`
}

// Outcome is a route's or a ListenerSet's result on one side of a change.
type Outcome struct {
	Verdict  attachment.Verdict `json:"verdict"`
	Parents  []Parent           `json:"parents"`
	Warnings []string           `json:"warnings"`
}

// Listener names one listener of a Gateway, and the label selector by
// which it admits namespaces' routes; or, with AllowedListeners, the
// Gateway's allowedListeners selector, by which it admits namespaces'
// ListenerSets.
type Listener struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// SectionName is the listener's name; "" for allowedListeners.
	SectionName string `json:"sectionName"`
	Selector    string `json:"selector"`
	// AllowedListeners is set when the grant is the Gateway's
	// spec.allowedListeners: the Namespace may now add listeners to the
	// Gateway with a ListenerSet. The key is absent otherwise.
	AllowedListeners bool `json:"allowedListeners,omitzero"`
}

// Compare evaluates the objects before and after a change and returns what
// changes: every route whose verdict or a parentRef's accepted status or
// reason changes (or that the change adds or removes), then every
// ListenerSet likewise, then every Namespace that a label selector of a
// listener or of a Gateway's allowedListeners newly admits. Routes and
// ListenerSets hold those that change, as they are after it (ListenerSets
// is set when either side holds a ListenerSet); Changes is never nil.
func Compare(before, after []manifest.Object, modes Modes) (*Report, error) {
	was, err := Build(before, modes)
	if err != nil {
		return nil, err
	}
	now, err := Build(after, modes)
	if err != nil {
		return nil, err
	}
	rep := &Report{Routes: []Route{}, Changes: []Change{}}
	for _, c := range diffResults(was.Routes, now.Routes) {
		rep.Changes = append(rep.Changes, c.change)
		if c.after != nil {
			rep.Routes = append(rep.Routes, *c.after)
		}
	}
	if was.ListenerSets != nil || now.ListenerSets != nil {
		rep.ListenerSets = []ListenerSet{}
		for _, c := range diffResults(was.ListenerSets, now.ListenerSets) {
			rep.Changes = append(rep.Changes, c.change)
			if c.after != nil {
				rep.ListenerSets = append(rep.ListenerSets, *c.after)
			}
		}
		rep.gatewayBefore, rep.gatewayOf = was.gatewayOf, now.gatewayOf
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

type resultKey struct{ kind, namespace, name string }

type resultChange struct {
	change Change
	after  *Result
}

// diffResults pairs the routes (or the ListenerSets) of both sides by kind,
// namespace and name and returns those that change: in after order, then
// the removed ones in before order.
func diffResults(before, after []Result) []resultChange {
	was := make(map[resultKey]*Result, len(before))
	for i := range before {
		r := &before[i]
		was[resultKey{r.Kind, r.Namespace, r.Name}] = r
	}
	var out []resultChange
	for i := range after {
		now := &after[i]
		k := resultKey{now.Kind, now.Namespace, now.Name}
		old := was[k]
		delete(was, k)
		if old != nil && sameAttachment(old, now) {
			continue
		}
		out = append(out, resultChange{change: attachmentChange(old, now), after: now})
	}
	for i := range before {
		old := &before[i]
		if _, removed := was[resultKey{old.Kind, old.Namespace, old.Name}]; removed {
			out = append(out, resultChange{change: attachmentChange(old, nil)})
		}
	}
	return out
}

// sameAttachment reports whether a route or ListenerSet has the same
// verdict and the same parents, each accepted (or not) for the same reason.
func sameAttachment(a, b *Result) bool {
	return a.Verdict == b.Verdict && slices.EqualFunc(a.Parents, b.Parents, func(p, q Parent) bool {
		return p.ref() == q.ref() && p.Accepted == q.Accepted && p.Reason == q.Reason && p.Verdict == q.Verdict
	})
}

func attachmentChange(old, now *Result) Change {
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

// detaches reports whether a parentRef that the route (or the ListenerSet)
// keeps is accepted before and not after. A parentRef the change removes
// is the owner's choice, not a detachment.
func detaches(old, now *Result) bool {
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

// admits reports whether a namespaces rule (nil: it does not exist)
// admits Namespace ns (nil: it does not exist).
func admits(rule *attachment.Namespaces, ns *corev1.Namespace) bool {
	return rule != nil && ns != nil && rule.Admits(ns.Name, attachment.NamespaceLabels(ns.Name, ns.Labels))
}

// grants returns the Namespaces that a label selector admits after the
// change and did not admit before, sorted by name: that of a listener's
// allowedRoutes (the Namespace's routes may attach to it) or of a
// Gateway's allowedListeners (the Namespace's ListenerSets may add
// listeners to it). Only a changed selector (new, or its rule changed) or a
// changed Namespace (new, or its labels changed) can make one, so the cost
// is those times the other side, not every selector times every Namespace.
// A Gateway whose enforcement is off counts: its listeners still route the
// traffic of the routes they admit.
func grants(before, after []manifest.Object) []Change {
	was, now := sideOf(before), sideOf(after)
	found := map[string][]Listener{}
	var changedNS []*corev1.Namespace
	for _, name := range now.nsOrder {
		n, o := now.namespaces[name], was.namespaces[name]
		if o == nil || (n != o && !maps.Equal(n.Labels, o.Labels)) {
			changedNS = append(changedNS, n)
		}
	}
	// newlyAdmitted records, as granted by l, every Namespace that rule
	// admits and old (nil: there was none) did not.
	newlyAdmitted := func(rule, old *attachment.Namespaces, l Listener) {
		if !rule.SelectsOnLabels() {
			return
		}
		if old != nil && old.From == rule.From && old.SelectorText == rule.SelectorText {
			// The same selector: only a changed Namespace can be new to it.
			for _, ns := range changedNS {
				if admits(rule, ns) && !admits(old, was.namespaces[ns.Name]) {
					found[ns.Name] = append(found[ns.Name], l)
				}
			}
			return
		}
		for _, name := range now.nsOrder {
			if admits(rule, now.namespaces[name]) && !admits(old, was.namespaces[name]) {
				found[name] = append(found[name], l)
			}
		}
	}
	for _, key := range now.order {
		gw, oldGW := now.gateways[key], was.gateways[key]
		named := Listener{Group: gatewayv1.GroupName, Kind: string(attachment.KindGateway), Namespace: gw.Namespace, Name: gw.Name}
		for i := range gw.Listeners {
			l := &gw.Listeners[i]
			var old *attachment.Namespaces
			if oldGW != nil {
				if o := oldGW.Listener(l.Name); o != nil {
					old = &o.Routes
				}
			}
			by := named
			by.SectionName, by.Selector = string(l.Name), l.Routes.SelectorText
			newlyAdmitted(&l.Routes, old, by)
		}
		var old *attachment.Namespaces
		if oldGW != nil {
			old = &oldGW.AllowedListeners
		}
		by := named
		by.Selector, by.AllowedListeners = gw.AllowedListeners.SelectorText, true
		newlyAdmitted(&gw.AllowedListeners, old, by)
	}
	out := make([]Change, 0, len(found))
	for _, ns := range slices.Sorted(maps.Keys(found)) {
		out = append(out, Change{Change: ChangeGrant, Kind: "Namespace", Name: ns, Listeners: found[ns]})
	}
	return out
}

// Filter keeps part of a report, as `kubectl get -n` shows one namespace.
type Filter struct {
	// Namespace, when set, keeps the routes and ListenerSets in that
	// namespace and the grants to that Namespace.
	Namespace string
	// Gateway, when set, keeps the routes with a parentRef to that Gateway
	// or to one of its ListenerSets, the ListenerSets whose parentRef names
	// it (before or after the change), and the grants by its listeners and
	// its allowedListeners.
	Gateway types.NamespacedName
}

// Filter drops what f does not keep.
func (r *Report) Filter(f Filter) {
	if f == (Filter{}) {
		return
	}
	keep := func(res Result) bool { return !f.keeps(res.Namespace, res.Parents, r.gatewayOf) }
	r.Routes = slices.DeleteFunc(r.Routes, keep)
	if r.ListenerSets != nil {
		r.ListenerSets = slices.DeleteFunc(r.ListenerSets, keep)
	}
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
			// Each side's parents, with each side's ListenerSets.
			before := c.Before != nil && f.keeps(c.Namespace, c.Before.Parents, r.gatewayBefore)
			after := c.After != nil && f.keeps(c.Namespace, c.After.Parents, r.gatewayOf)
			if !before && !after {
				continue
			}
		}
		out = append(out, c)
	}
	r.Changes = out
}

// keeps reports whether f keeps an object of namespace with these parents;
// gatewayOf names the Gateway of each ListenerSet.
func (f Filter) keeps(namespace string, parents []Parent, gatewayOf map[types.NamespacedName]types.NamespacedName) bool {
	if f.Namespace != "" && namespace != f.Namespace {
		return false
	}
	if f.Gateway == (types.NamespacedName{}) {
		return true
	}
	return slices.ContainsFunc(parents, func(p Parent) bool {
		if p.Group != gatewayv1.GroupName {
			return false
		}
		switch p.Kind {
		case string(attachment.KindGateway):
			return p.Namespace == f.Gateway.Namespace && p.Name == f.Gateway.Name
		case string(attachment.KindListenerSet):
			gw, ok := gatewayOf[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}]
			return ok && gw == f.Gateway
		}
		return false
	})
}

// String is how the table names the listener: Gateway
// namespace/name#listener, or Gateway namespace/name allowedListeners.
func (l *Listener) String() string {
	if l.AllowedListeners {
		return l.Kind + " " + l.Namespace + "/" + l.Name + " allowedListeners"
	}
	return l.Kind + " " + l.Namespace + "/" + l.Name + "#" + l.SectionName
}

// writeChanges writes one row per parentRef that changes (or per route or
// ListenerSet, when only its verdict does) and per grant, then a summary
// line.
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
	// changed and breaking count the routes [0] and the ListenerSets [1].
	var changed, breaking [2]int
	var admitted int
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
				what := "admitted by label selector "
				if l.AllowedListeners {
					what = "ListenerSets admitted by label selector "
				}
				fmt.Fprintf(tw, "grant\t%s\t%s\t%s\t%s\t%s%s\n", object, l, paint("not admitted", ""), paint("admitted", ""), what, l.Selector)
			}
			continue
		}
		listenerSet := c.Kind == string(attachment.KindListenerSet)
		k := 0
		if listenerSet {
			k = 1
		}
		changed[k]++
		if c.Breaking {
			breaking[k]++
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
			case c.After == nil && listenerSet:
				msg = "the ListenerSet is deleted"
			case c.After == nil:
				msg = "the route is deleted"
			case row.after == nil && listenerSet:
				msg = "spec.parentRef names another Gateway"
			case row.after == nil:
				msg = "the parentRef is removed from the route"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", row.change(c), object, p.describe(), cell(row.before), cell(row.after), msg)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	summary := fmt.Sprintf("%d %s changed, %d of them detached or denied; ", changed[0], plural(changed[0], "route", "routes"), breaking[0])
	if r.ListenerSets != nil {
		summary += fmt.Sprintf("%d %s changed, %d of them detached or denied; ", changed[1], plural(changed[1], "ListenerSet", "ListenerSets"), breaking[1])
	}
	_, err := fmt.Fprintf(w, "\n%s%d %s newly admitted by a label selector.\n", summary, admitted, plural(admitted, "namespace", "namespaces"))
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
