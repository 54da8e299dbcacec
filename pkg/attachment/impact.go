package attachment

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Detachment is a parentRef that is accepted before a change and is not
// after it.
type Detachment struct {
	Route *Route
	// Before is the accepted result; After says why it is no longer.
	Before, After ParentResult
}

// Detachments evaluates every route against the objects before and after a
// change (a Namespace relabelled, a Gateway or a ListenerSet edited) and
// returns the parentRefs the change would detach, in route order. A
// parentRef that was not accepted before is not a detachment, whatever it
// becomes.
func Detachments(routes []*Route, before, after Objects) []Detachment {
	var out []Detachment
	for _, r := range routes {
		was := Evaluate(r, before)
		if !anyAccepted(was.Parents) {
			continue
		}
		now := Evaluate(r, after)
		for i := range was.Parents {
			if was.Parents[i].Accepted == metav1.ConditionTrue && now.Parents[i].Accepted != metav1.ConditionTrue {
				out = append(out, Detachment{Route: r, Before: was.Parents[i], After: now.Parents[i]})
			}
		}
	}
	return out
}

func anyAccepted(parents []ParentResult) bool {
	for i := range parents {
		if parents[i].Accepted == metav1.ConditionTrue {
			return true
		}
	}
	return false
}

// ListenerSetDetachment is a ListenerSet accepted by its Gateway before a
// change and not after it.
type ListenerSetDetachment struct {
	Key ParentKey
	// Gateway is the Gateway it was attached to.
	Gateway ParentKey
	// After says why it is no longer accepted.
	After Attachment
}

// ListenerSetDetachments returns the ListenerSets among keys that a change
// would detach from their Gateway, in keys' order.
func ListenerSetDetachments(keys []ParentKey, before, after Objects) []ListenerSetDetachment {
	var out []ListenerSetDetachment
	for _, k := range keys {
		was := before.Parent(k)
		if was == nil || was.Attachment.Accepted != metav1.ConditionTrue {
			continue
		}
		var now Attachment
		if p := after.Parent(k); p != nil {
			now = p.Attachment
		} else {
			now = Attachment{Accepted: metav1.ConditionUnknown, Message: k.String() + " is gone."}
		}
		if now.Accepted != metav1.ConditionTrue {
			out = append(out, ListenerSetDetachment{Key: k, Gateway: was.Gateway.ParentKey, After: now})
		}
	}
	return out
}
