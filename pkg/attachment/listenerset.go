package attachment

import (
	"cmp"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Attachment is a parent's own place on its Gateway: for a ListenerSet, its
// Accepted condition (apis/v1/listenerset_types.go).
type Attachment struct {
	// Accepted is True, False, or Unknown when the Gateway is not known.
	Accepted metav1.ConditionStatus
	// Reason is Accepted, NotAllowed, ListenersNotValid or Pending.
	Reason gatewayv1.ListenerSetConditionReason
	// Message says what was decided, why, and how to fix a rejection.
	Message string
}

// attached is a Gateway's Attachment: a Gateway is its own parent.
var attached = Attachment{Accepted: metav1.ConditionTrue, Reason: gatewayv1.ListenerSetReasonAccepted}

// ListenerSet is a ListenerSet prepared for evaluation. NewListenerSet
// prepares it alone; its Attachment and its listeners' conflicts are decided
// by judging it against its Gateway's ListenerTable.
type ListenerSet struct {
	// Parent holds the ListenerSet's listeners; its Gateway is set once it
	// is judged against a known Gateway.
	Parent
	// GatewayRef is spec.parentRef with its defaults: group
	// gateway.networking.k8s.io, kind Gateway, the ListenerSet's namespace.
	GatewayRef ParentRef
	// Created is the creation time, which orders the ListenerSets of a
	// Gateway (oldest first, then by namespace/name).
	Created time.Time
}

// NewListenerSet prepares a ListenerSet for evaluation, not yet judged: its
// Attachment is Unknown until it is judged against its Gateway.
func NewListenerSet(ls *gatewayv1.ListenerSet) *ListenerSet {
	out := &ListenerSet{
		Parent: Parent{
			ParentKey:  ListenerSetKey(ls.Namespace, ls.Name),
			Listeners:  make([]Listener, len(ls.Spec.Listeners)),
			Attachment: Attachment{Accepted: metav1.ConditionUnknown, Reason: gatewayv1.ListenerSetReasonPending},
		},
		GatewayRef: defaultGatewayRef(ls.Namespace, &ls.Spec.ParentRef),
		Created:    ls.CreationTimestamp.Time,
	}
	for i := range ls.Spec.Listeners {
		out.Listeners[i] = newListener(&ls.Spec.Listeners[i], ls.Namespace)
	}
	return out
}

// defaultGatewayRef applies the defaults of a ParentGatewayReference.
func defaultGatewayRef(namespace string, ref *gatewayv1.ParentGatewayReference) ParentRef {
	out := ParentRef{Group: gatewayv1.GroupName, Kind: KindGateway, Namespace: namespace, Name: string(ref.Name)}
	if ref.Group != nil {
		out.Group = *ref.Group
	}
	if ref.Kind != nil {
		out.Kind = *ref.Kind
	}
	if ref.Namespace != nil && *ref.Namespace != "" {
		out.Namespace = string(*ref.Namespace)
	}
	return out
}

// NamesGateway reports whether the ListenerSet's spec.parentRef names a
// Gateway, the only parent a ListenerSet can have that gatewarden judges.
func (ls *ListenerSet) NamesGateway() bool {
	return ls.GatewayRef.Group == gatewayv1.GroupName && ls.GatewayRef.Kind == KindGateway
}

// unjudged is the Attachment of a ListenerSet whose Gateway is not known.
func (ls *ListenerSet) unjudged() *ListenerSet {
	out := *ls
	out.Attachment = Attachment{Accepted: metav1.ConditionUnknown, Reason: gatewayv1.ListenerSetReasonPending, Message: msgListenerSetGatewayNotFound(ls)}
	return &out
}

// Lookup is what judging a ListenerSet reads besides its Gateway: the
// labels of its Namespace, for allowedListeners selectors, and the
// ReferenceGrants of the namespaces its certificates are in.
type Lookup interface {
	// NamespaceLabels returns the labels of a Namespace, and false when the
	// Namespace is not known.
	NamespaceLabels(name string) (labels.Set, bool)
	// ReferenceGrants returns the ReferenceGrants in a namespace.
	ReferenceGrants(namespace string) []*gatewayv1.ReferenceGrant
}

// ListenerTable is a Gateway's merged list of listeners: the Gateway's own,
// then those of the ListenerSets it accepts, oldest first, then by
// namespace/name (apis/v1/listenerset_types.go, ListenerSetSpec.Listeners).
// A ListenerSet listener that is not distinct from one earlier in that order
// (apis/v1/gateway_types.go, "Distinct Listeners") is Conflicted and the
// earlier one keeps its routes: conformance ListenerSetHostnameConflict and
// ListenerSetProtocolConflict.
//
// Build it once per version of the Gateway and its ListenerSets: judging one
// ListenerSet against it costs that ListenerSet's listeners, however many
// other ListenerSets the Gateway has. It is read-only once built.
type ListenerTable struct {
	Gateway *Gateway
	// claims holds, for each way a listener can be told apart, the earliest
	// listener in effect that claims it.
	claims map[claimKey]claim
	judged map[types.NamespacedName]judgedSet
}

type judgedSet struct {
	from, judged *ListenerSet
}

// claimKey is what makes listeners distinct: listeners that share a
// protocol must differ in port or, for HTTP, HTTPS and TLS, in hostname;
// HTTP, HTTPS and TLS listeners sharing a port with a TCP one conflict.
type claimKey struct {
	port     gatewayv1.PortNumber
	class    gatewayv1.ProtocolType
	hostname string
}

// classLayer7 marks a port on which an HTTP, HTTPS or TLS listener is in
// effect, which a TCP listener on the same port conflicts with.
const classLayer7 gatewayv1.ProtocolType = "gatewarden.dev/layer7"

type claim struct {
	rank     rank
	parent   ParentKey
	listener gatewayv1.SectionName
}

// rank is a listener's place in the merged list.
type rank struct {
	// gateway: the Gateway's own listeners precede every ListenerSet's.
	gateway bool
	created int64
	key     string
	index   int
}

func (a rank) before(b rank) bool {
	if a.gateway != b.gateway {
		return a.gateway
	}
	return cmp.Or(cmp.Compare(a.created, b.created), cmp.Compare(a.key, b.key), cmp.Compare(a.index, b.index)) < 0
}

// rankOf is the place of a ListenerSet's first listener.
func rankOf(ls *ListenerSet) rank {
	var created int64
	if !ls.Created.IsZero() {
		created = ls.Created.UnixNano()
	}
	return rank{created: created, key: ls.Namespace + "/" + ls.Name}
}

// distinctness is what a listener must not find taken by an earlier
// listener (check, with the reason of the conflict), and what it takes once
// in effect (claim). Fixed-size, so that judging allocates nothing per
// listener.
type distinctness struct {
	check  [2]checkKey
	checks int
	claim  [2]claimKey
	claims int
}

type checkKey struct {
	key    claimKey
	reason gatewayv1.ListenerConditionReason
}

func distinct(l *Listener) distinctness {
	switch l.Protocol {
	case gatewayv1.HTTPProtocolType, gatewayv1.HTTPSProtocolType, gatewayv1.TLSProtocolType:
		own := claimKey{port: l.Port, class: l.Protocol, hostname: l.Hostname}
		return distinctness{
			check: [2]checkKey{
				{own, gatewayv1.ListenerReasonHostnameConflict},
				{claimKey{port: l.Port, class: gatewayv1.TCPProtocolType}, gatewayv1.ListenerReasonProtocolConflict},
			}, checks: 2,
			claim: [2]claimKey{own, {port: l.Port, class: classLayer7}}, claims: 2,
		}
	case gatewayv1.TCPProtocolType:
		// Two TCP (or two UDP) listeners on one port both want the whole
		// port: nothing else can tell them apart.
		own := claimKey{port: l.Port, class: l.Protocol}
		return distinctness{
			check: [2]checkKey{
				{own, gatewayv1.ListenerReasonProtocolConflict},
				{claimKey{port: l.Port, class: classLayer7}, gatewayv1.ListenerReasonProtocolConflict},
			}, checks: 2,
			claim: [2]claimKey{own}, claims: 1,
		}
	case gatewayv1.UDPProtocolType:
		own := claimKey{port: l.Port, class: l.Protocol}
		return distinctness{check: [2]checkKey{{own, gatewayv1.ListenerReasonProtocolConflict}}, checks: 1, claim: [2]claimKey{own}, claims: 1}
	default:
		own := claimKey{port: l.Port, class: l.Protocol, hostname: l.Hostname}
		return distinctness{check: [2]checkKey{{own, gatewayv1.ListenerReasonHostnameConflict}}, checks: 1, claim: [2]claimKey{own}, claims: 1}
	}
}

// NewListenerTable merges the listeners of gw and of the ListenerSets among
// sets whose parentRef names it, judging each ListenerSet in precedence
// order. lk gives the labels of their Namespaces and the ReferenceGrants of
// the namespaces their certificates are in.
func NewListenerTable(gw *Gateway, sets []*ListenerSet, lk Lookup) *ListenerTable {
	t := &ListenerTable{Gateway: gw, claims: map[claimKey]claim{}, judged: make(map[types.NamespacedName]judgedSet, len(sets))}
	for i := range gw.Listeners {
		l := &gw.Listeners[i]
		d := distinct(l)
		for _, k := range d.claim[:d.claims] {
			if _, taken := t.claims[k]; !taken {
				t.claims[k] = claim{rank: rank{gateway: true, index: i}, parent: gw.ParentKey, listener: l.Name}
			}
		}
	}
	ordered := make([]*ListenerSet, 0, len(sets))
	for _, ls := range sets {
		if ls.NamesGateway() && ls.GatewayRef.Key() == gw.ParentKey {
			ordered = append(ordered, ls)
		}
	}
	slices.SortFunc(ordered, func(a, b *ListenerSet) int {
		if rankOf(a).before(rankOf(b)) {
			return -1
		}
		return 1
	})
	for _, ls := range ordered {
		j := t.Judge(ls, lk)
		t.judged[ls.NamespacedName()] = judgedSet{from: ls, judged: j}
		if j.Attachment.Accepted != metav1.ConditionTrue {
			continue
		}
		r := rankOf(ls)
		for i := range j.Listeners {
			l := &j.Listeners[i]
			if !l.Usable() {
				continue
			}
			r.index = i
			d := distinct(l)
			for _, k := range d.claim[:d.claims] {
				if _, taken := t.claims[k]; !taken {
					t.claims[k] = claim{rank: r, parent: ls.ParentKey, listener: l.Name}
				}
			}
		}
	}
	return t
}

// Judged returns the judgement of ls made when the table was built, or false
// when the table was built from another version of it (or without it).
func (t *ListenerTable) Judged(ls *ListenerSet) (*ListenerSet, bool) {
	j, ok := t.judged[ls.NamespacedName()]
	if !ok || j.from != ls {
		return nil, false
	}
	return j.judged, true
}

// Judge decides ls's Attachment to the table's Gateway and which of its
// listeners are Conflicted or invalid, as if it were in the merged list at
// its place. Only listeners earlier in the list count, so the table may have
// been built with another version of ls, or without it. It returns a new
// ListenerSet; ls is not modified.
func (t *ListenerTable) Judge(ls *ListenerSet, lk Lookup) *ListenerSet {
	out := *ls
	out.Listeners = slices.Clone(ls.Listeners)
	out.Gateway = t.Gateway
	gw := t.Gateway
	nsLabels, ok := lk.NamespaceLabels(ls.Namespace)
	if !ok {
		nsLabels = NamespaceLabels(ls.Namespace, nil)
	}
	if !gw.AllowedListeners.Admits(ls.Namespace, nsLabels) {
		out.Attachment = Attachment{Accepted: metav1.ConditionFalse, Reason: gatewayv1.ListenerSetReasonNotAllowed,
			Message: msgListenerSetNotAllowed(gw, ls)}
		return &out
	}
	// own holds what this ListenerSet's earlier listeners claim: within one
	// ListenerSet the first listener wins.
	own := make(map[claimKey]gatewayv1.SectionName, 2*len(out.Listeners))
	usable := 0
	r := rankOf(ls)
	for i := range out.Listeners {
		l := &out.Listeners[i]
		l.Conflict, l.Invalid = nil, nil
		if l.Invalid = invalidCertificateRef(ls, l, lk); l.Invalid != nil {
			continue
		}
		r.index = i
		d := distinct(l)
		for _, c := range d.check[:d.checks] {
			if won, ok := t.claims[c.key]; ok && won.parent != ls.ParentKey && won.rank.before(r) {
				l.Conflict = &Conflict{Reason: c.reason, Parent: won.parent, Listener: won.listener}
				break
			}
			if name, ok := own[c.key]; ok {
				l.Conflict = &Conflict{Reason: c.reason, Parent: ls.ParentKey, Listener: name}
				break
			}
		}
		if l.Conflict != nil {
			continue
		}
		for _, k := range d.claim[:d.claims] {
			if _, taken := own[k]; !taken {
				own[k] = l.Name
			}
		}
		usable++
	}
	if usable == 0 {
		out.Attachment = Attachment{Accepted: metav1.ConditionFalse, Reason: gatewayv1.ListenerSetReasonListenersNotValid,
			Message: msgListenersNotValid(&out)}
		return &out
	}
	out.Attachment = Attachment{Accepted: metav1.ConditionTrue, Reason: gatewayv1.ListenerSetReasonAccepted, Message: msgListenerSetAccepted(&out)}
	return &out
}

// invalidCertificateRef returns the first TLS certificateRef of a
// ListenerSet listener into another namespace that no ReferenceGrant there
// lets the ListenerSet use. The Gateway's grants are not inherited
// (conformance ListenerSetReferenceGrant).
func invalidCertificateRef(ls *ListenerSet, l *Listener, lk Lookup) *InvalidRef {
	for i, ref := range l.certificateRefs {
		if ref.Namespace == nil || string(*ref.Namespace) == ls.Namespace || *ref.Namespace == "" {
			continue
		}
		target := refTarget{Kind: "Secret", Namespace: string(*ref.Namespace), Name: ref.Name}
		if ref.Group != nil {
			target.Group = *ref.Group
		}
		if ref.Kind != nil {
			target.Kind = *ref.Kind
		}
		from := referrer{Kind: KindListenerSet, Namespace: ls.Namespace}
		if !referencePermitted(lk.ReferenceGrants(target.Namespace), from, target) {
			return &InvalidRef{Index: i, Namespace: target.Namespace, Name: target.Name}
		}
	}
	return nil
}
