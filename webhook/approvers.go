package webhook

import (
	"fmt"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
)

// Approvers are the users and groups that --grant-approvers names: only they
// may make a Namespace newly reach a Gateway by its labels.
type Approvers struct {
	Users  []string
	Groups []string
}

// ParseApprovers parses "group:NAME,user:NAME,...". Service accounts are
// users named system:serviceaccount:NAMESPACE:NAME.
func ParseApprovers(s string) (Approvers, error) {
	var a Approvers
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		kind, name, ok := strings.Cut(item, ":")
		switch {
		case !ok || name == "":
			return Approvers{}, fmt.Errorf("--grant-approvers: %q is not user:NAME or group:NAME", item)
		case kind == "user":
			a.Users = append(a.Users, name)
		case kind == "group":
			a.Groups = append(a.Groups, name)
		default:
			return Approvers{}, fmt.Errorf("--grant-approvers: %q is not user:NAME or group:NAME", item)
		}
	}
	return a, nil
}

// Empty reports whether no approver is configured: then anyone may grant.
func (a Approvers) Empty() bool { return len(a.Users) == 0 && len(a.Groups) == 0 }

// Approve reports whether the user that made a request is an approver, by
// name or by one of the groups the API server authenticated it with.
func (a Approvers) Approve(u authenticationv1.UserInfo) bool {
	if slices.Contains(a.Users, u.Username) {
		return true
	}
	for _, g := range u.Groups {
		if slices.Contains(a.Groups, g) {
			return true
		}
	}
	return false
}

// String lists the approvers as they are configured.
func (a Approvers) String() string {
	var parts []string
	for _, u := range a.Users {
		parts = append(parts, "user:"+u)
	}
	for _, g := range a.Groups {
		parts = append(parts, "group:"+g)
	}
	return strings.Join(parts, ",")
}
