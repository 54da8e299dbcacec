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
// change (a Namespace relabelled, a Gateway edited) and returns the
// parentRefs the change would detach, in route order. A parentRef that was
// not accepted before is not a detachment, whatever it becomes.
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
