package webhook

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// The texts the webhook adds to the evaluator's own messages are kept here,
// so that they are reviewed together and tests assert on them. Warnings are
// kept under maxWarning characters so that kubectl prints each whole, and
// few enough that the API server's 4,096-character budget never truncates
// them.

const (
	maxWarning = 120
	// maxListedRoutes is how many affected routes a warning names; the rest
	// are counted.
	maxListedRoutes = 5
)

const (
	// msgUnconfirmed ends the warnings of a rejection gatewarden could not
	// confirm (readFailure says why): a route's, or a detaching change's in
	// deny mode.
	msgUnconfirmed = "Not denied: gatewarden could not confirm this, as %s. Retry to be sure."
	// msgUnchecked is the warning of a Namespace or Gateway change whose
	// detached routes gatewarden could not work out.
	msgUnchecked = "gatewarden could not check which routes this change detaches, as %s."
	// msgGrantUnchecked refuses a label change that may grant a Gateway
	// when gatewarden could not check it: only approvers may grant.
	msgGrantUnchecked = "gatewarden could not check whether these labels grant namespace %s a Gateway, as %s, and only %s may grant: retry"
)

// readFailure says, for a warning, why reading the API server did not
// settle a question: it did not answer within the deadline, or it failed
// (the error itself is logged).
func readFailure(ctx context.Context, err error, timeout time.Duration) string {
	if cluster.Unanswered(ctx, err) {
		return fmt.Sprintf("the API server did not answer within %s", timeout)
	}
	return "reading the API server failed (gatewarden logs why)"
}

// denial is how gatewarden refuses a write: a Forbidden (403) status, not
// the API's own Invalid (422). gatewarden is a policy on objects it does not
// own; kubectl rebuilds an Invalid status from its causes and drops the
// message, which is the only place the API server names the webhook that
// refused ("admission webhook "httproutes.gatewarden.dev" denied the
// request: ..."). The message is every problem with its field path in
// front, and the problems stay in the details as causes for programs.
func denial(gk schema.GroupKind, name string, errs field.ErrorList) *apierrors.StatusError {
	lines := make([]string, 0, len(errs))
	causes := make([]metav1.StatusCause, 0, len(errs))
	for _, e := range errs {
		line := e.Detail
		if e.Field != "" {
			line = e.Field + ": " + e.Detail
		}
		lines = append(lines, line)
		causes = append(causes, metav1.StatusCause{Type: metav1.CauseType(e.Type), Message: e.Detail, Field: e.Field})
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusForbidden,
		Reason:  metav1.StatusReasonForbidden,
		Message: strings.Join(lines, "; "),
		Details: &metav1.StatusDetails{Group: gk.Group, Kind: gk.Kind, Name: name, Causes: causes},
	}}
}

// detachWarnings explains a change that detaches ListenerSets from their
// Gateway and routes from their parents: one line to say what happens, one
// per ListenerSet and route for the first few, a count of the rest, and
// what to do.
func detachWarnings(what string, sets []attachment.ListenerSetDetachment, dets []attachment.Detachment, fix string) []string {
	routes := map[string]bool{}
	parents := map[attachment.ParentKey]bool{}
	for i := range dets {
		routes[routeName(dets[i].Route)] = true
		parents[dets[i].After.Ref.Key()] = true
	}
	for i := range sets {
		parents[sets[i].Gateway] = true
	}
	var counted []string
	if len(sets) > 0 {
		counted = append(counted, fmt.Sprintf("%d %s", len(sets), plural(len(sets), "ListenerSet", "ListenerSets")))
	}
	if len(routes) > 0 {
		counted = append(counted, fmt.Sprintf("%d %s", len(routes), plural(len(routes), "route", "routes")))
	}
	header := fmt.Sprintf("%s detaches %s", what, strings.Join(counted, " and "))
	if len(parents) == 1 {
		for p := range parents {
			header += " from " + p.String()
		}
	}
	out := []string{clip(header + ":")}
	listed := 0
	for i := range sets {
		if listed == maxListedRoutes {
			break
		}
		s := &sets[i]
		out = append(out, withReason(fmt.Sprintf("- %s from %s", s.Key, s.Gateway), string(s.After.Reason)))
		listed++
	}
	for i := range dets {
		if listed == maxListedRoutes {
			break
		}
		d := &dets[i]
		line := fmt.Sprintf("- %s from %s", routeName(d.Route), d.After.Ref.Key())
		if d.After.Accepted == metav1.ConditionFalse {
			line = withReason(line, string(d.After.Reason))
		}
		out = append(out, clip(line))
		listed++
	}
	if rest := len(sets) + len(dets) - listed; rest > 0 {
		out = append(out, fmt.Sprintf("- and %d more; their status and `gatewarden check` name them all", rest))
	}
	return append(out, clip(fix))
}

// withReason adds the reason to a line when it still fits.
func withReason(line, reason string) string {
	if reason == "" {
		return clip(line)
	}
	if with := line + " (" + reason + ")"; utf8.RuneCountInString(with) <= maxWarning {
		return with
	}
	return clip(line)
}

func routeName(r *attachment.Route) string {
	return fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// clip shortens s to maxWarning characters.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxWarning {
		return s
	}
	r := []rune(s)
	return string(r[:maxWarning-1]) + "…"
}

// detachDenial is the one message of a denied change that would detach
// routes: the warnings joined.
func detachDenial(lines []string) string {
	return strings.Join(lines, " ")
}

// grantWarnings says what a Namespace newly reaches through its labels,
// when no approver guards it.
func grantWarnings(ns string, grants []attachment.Grant) []string {
	out := make([]string, 0, len(grants)+1)
	for i, g := range grants {
		if i == maxListedRoutes {
			out = append(out, fmt.Sprintf("- and %d more", len(grants)-i))
			break
		}
		if g.Listener == nil {
			out = append(out, clip(fmt.Sprintf("namespace %s may now attach ListenerSets to %s via selector %s", ns, g.Gateway, g.Selector())))
			continue
		}
		out = append(out, clip(fmt.Sprintf("namespace %s now reaches %s listener %q via selector %s",
			ns, g.Gateway, g.Listener.Name, g.Selector())))
	}
	return out
}

// grantDenial says who may grant what the request tried to.
func grantDenial(ns string, grants []attachment.Grant, approvers Approvers) string {
	var what []string
	for i, g := range grants {
		if i == maxListedRoutes {
			what = append(what, fmt.Sprintf("and %d more", len(grants)-i))
			break
		}
		if g.Listener == nil {
			what = append(what, fmt.Sprintf("attach ListenerSets to %s (allowedListeners selector %s)", g.Gateway, g.Selector()))
			continue
		}
		what = append(what, fmt.Sprintf("attach routes to %s listener %q (selector %s)", g.Gateway, g.Listener.Name, g.Selector()))
	}
	return fmt.Sprintf("these labels would let namespace %s %s; only %s may grant that. Ask one of them to label it.",
		ns, strings.Join(what, ", "), approvers)
}
