package attachment

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// EnforcementAnnotation on a Gateway overrides the route enforcement mode for
// the routes that name it. Quote "off" in YAML, or it is the boolean false.
const EnforcementAnnotation = "gatewarden.dev/enforcement"

// Mode is how strictly a rejection is enforced.
type Mode string

const (
	// ModeDeny refuses the write.
	ModeDeny Mode = "deny"
	// ModeWarn lets the write through with a warning.
	ModeWarn Mode = "warn"
	// ModeOff says nothing.
	ModeOff Mode = "off"
)

// Modes lists the valid modes, for flag help and validation.
var Modes = []Mode{ModeDeny, ModeWarn, ModeOff}

// ParseMode parses a mode, as given in a flag or the annotation.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeDeny, ModeWarn, ModeOff:
		return m, nil
	}
	return "", fmt.Errorf("enforcement mode %q is not one of deny, warn, off", s)
}

// String implements fmt.Stringer and pflag.Value.
func (m Mode) String() string { return string(m) }

// Set implements pflag.Value.
func (m *Mode) Set(s string) error {
	v, err := ParseMode(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Type implements pflag.Value.
func (m *Mode) Type() string { return "mode" }

// Verdict is the outcome of an admission for one route.
type Verdict string

const (
	// VerdictAllow lets the write through without a word.
	VerdictAllow Verdict = "allow"
	// VerdictWarn lets the write through with warnings.
	VerdictWarn Verdict = "warn"
	// VerdictDeny refuses the write.
	VerdictDeny Verdict = "deny"
)

// Decision is what an admission of a route answers.
type Decision struct {
	Verdict Verdict
	// Denials are set when Verdict is deny: one Forbidden per rejected
	// parentRef, at its field path.
	Denials field.ErrorList
	// Warnings say what was let through and why it needs attention.
	Warnings []string
	// Reason is the Gateway API reason of the first parentRef that was not
	// accepted, RefNotPermitted when only backendRefs are, or Accepted. For
	// a ListenerSet, the reason of its Accepted condition.
	Reason string
}

// ParentVerdict is the verdict for one parentRef: mode is the default, which
// the EnforcementAnnotation of the Gateway that owns the listeners
// overrides (for a ListenerSet, its Gateway's, never its own).
func ParentVerdict(p *ParentResult, mode Mode) Verdict {
	mode = governedMode(p.Governor(), mode)
	switch {
	case p.Accepted == metav1.ConditionTrue || mode == ModeOff:
		return VerdictAllow
	case p.Accepted == metav1.ConditionFalse && mode == ModeDeny && !p.preexisting:
		return VerdictDeny
	default:
		return VerdictWarn
	}
}

// Decide applies enforcement to a route's result. mode is the default
// (--route-enforcement); a Gateway's EnforcementAnnotation overrides it for
// the parentRefs that name that Gateway.
//
//   - A rejected parentRef (Accepted=False) is a denial in deny mode and a
//     warning in warn mode.
//   - A Gateway that is not known cannot be checked: a warning, never a
//     denial.
//   - A backendRef that is not permitted is a warning: it does not stop the
//     route from attaching.
func Decide(res RouteResult, mode Mode) Decision {
	d := Decision{Reason: string(gatewayv1.RouteReasonAccepted)}
	if len(res.RefProblems) > 0 {
		d.Reason = string(res.RefProblems[0].Reason)
	}
	for i := len(res.Parents) - 1; i >= 0; i-- {
		if res.Parents[i].Accepted != metav1.ConditionTrue {
			d.Reason = string(res.Parents[i].Reason)
		}
	}
	for i := range res.Parents {
		p := &res.Parents[i]
		switch ParentVerdict(p, mode) {
		case VerdictDeny:
			d.Denials = append(d.Denials, field.Forbidden(p.Path(), p.Message))
		case VerdictWarn:
			msg := p.Message
			if p.preexisting {
				msg += " " + msgPreexisting
			}
			d.Warnings = append(d.Warnings, p.Path().String()+": "+msg)
		}
	}
	if mode != ModeOff {
		for _, rp := range res.RefProblems {
			d.Warnings = append(d.Warnings, rp.Path.String()+": "+rp.Message)
		}
	}
	d.setVerdict()
	return d
}

func (d *Decision) setVerdict() {
	switch {
	case len(d.Denials) > 0:
		d.Verdict = VerdictDeny
	case len(d.Warnings) > 0:
		d.Verdict = VerdictWarn
	default:
		d.Verdict = VerdictAllow
	}
}

// governedMode is the mode that applies to what attaches to gw: its
// annotation when it has one, otherwise mode.
func governedMode(gw *Gateway, mode Mode) Mode {
	if gw != nil && gw.Enforcement != "" {
		return gw.Enforcement
	}
	return mode
}

// DecideUpdate is Decide for an update of a route from old to new: a
// parentRef that the update did not make worse is not denied. A rejection
// that was already there before the update (the same parentRef, rejected
// for the same reason) is a warning, so that an unrelated edit of a route,
// or a controller removing its finalizer, is never blocked by a Gateway
// change the route's owner did not make. A new or changed parentRef that is
// rejected is denied as on create.
func DecideUpdate(old, updated RouteResult, mode Mode) Decision {
	// Marking rejections as pre-existing must not change the caller's result.
	updated.Parents = slices.Clone(updated.Parents)
	for i := range updated.Parents {
		p := &updated.Parents[i]
		if p.Accepted != metav1.ConditionFalse || ParentVerdict(p, mode) != VerdictDeny {
			continue
		}
		for j := range old.Parents {
			o := &old.Parents[j]
			if o.Ref == p.Ref && o.Accepted == metav1.ConditionFalse && o.Reason == p.Reason {
				p.preexisting = true
				break
			}
		}
	}
	return Decide(updated, mode)
}

var (
	listenerSetParentRefPath = specPath.Child("parentRef")
	listenersPath            = specPath.Child("listeners")
)

// DecideListenerSet applies enforcement to a judged ListenerSet. mode is
// the default (--listenerset-enforcement); its Gateway's
// EnforcementAnnotation overrides it, never the ListenerSet's own.
//
//   - A Gateway that does not accept it (NotAllowed) is a denial in deny
//     mode and a warning in warn mode.
//   - A Gateway that is not known cannot be checked: a warning.
//   - Conflicted and invalid listeners, and listeners whose
//     allowedRoutes.kinds names no kind their protocol carries, are
//     warnings, one per listener, naming the listener that takes
//     precedence; a ListenerSet whose listeners are all unusable
//     (ListenersNotValid) is warned, not denied.
func DecideListenerSet(ls *ListenerSet, mode Mode) Decision {
	return decideListenerSet(ls, mode, false)
}

// DecideListenerSetUpdate is DecideListenerSet for an update from old: a
// rejection that was already there (same Gateway, same reason) is a
// warning, so that an edit the Gateway owner's change did not make depend
// on is never blocked by it.
func DecideListenerSetUpdate(old, updated *ListenerSet, mode Mode) Decision {
	preexisting := old.Attachment.Accepted == metav1.ConditionFalse &&
		old.Attachment.Reason == updated.Attachment.Reason && old.GatewayRef == updated.GatewayRef
	return decideListenerSet(updated, mode, preexisting)
}

func decideListenerSet(ls *ListenerSet, mode Mode, preexisting bool) Decision {
	mode = governedMode(ls.Gateway, mode)
	d := Decision{Reason: string(ls.Attachment.Reason)}
	if mode == ModeOff {
		d.Verdict = VerdictAllow
		return d
	}
	a := &ls.Attachment
	switch {
	case a.Accepted == metav1.ConditionUnknown:
		d.Warnings = append(d.Warnings, listenerSetParentRefPath.String()+": "+a.Message)
	case a.Reason == gatewayv1.ListenerSetReasonNotAllowed && mode == ModeDeny && !preexisting:
		d.Denials = append(d.Denials, field.Forbidden(listenerSetParentRefPath, a.Message))
	case a.Reason == gatewayv1.ListenerSetReasonNotAllowed:
		msg := a.Message
		if preexisting {
			msg += " " + msgPreexisting
		}
		d.Warnings = append(d.Warnings, listenerSetParentRefPath.String()+": "+msg)
	}
	if a.Accepted != metav1.ConditionUnknown && a.Reason != gatewayv1.ListenerSetReasonNotAllowed {
		for i := range ls.Listeners {
			l := &ls.Listeners[i]
			switch {
			case l.Conflict != nil:
				d.Warnings = append(d.Warnings, listenersPath.Index(i).String()+": "+msgListenerConflict(l))
			case l.Invalid != nil:
				d.Warnings = append(d.Warnings, listenersPath.Index(i).Child("tls", "certificateRefs").Index(l.Invalid.Index).String()+": "+
					msgListenerInvalid(&ls.Parent, l))
			case l.kindsExplicit && l.kinds == 0:
				// ResolvedRefs=False/InvalidRouteKinds (conformance
				// ListenerSetAllowedRoutesSupportedKinds): no route can
				// attach through it.
				d.Warnings = append(d.Warnings, listenersPath.Index(i).Child("allowedRoutes", "kinds").String()+": "+msgInvalidRouteKinds(l))
			}
		}
	}
	d.setVerdict()
	return d
}
