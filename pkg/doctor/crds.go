package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

const nameCRDs = "gateway-api-crds"

// gatewarden reads every Gateway API kind at v1 (pkg/cluster); a kind served
// only at an older version is not validated.
const readVersion = "v1"

var (
	requiredResources = []string{"gateways", "httproutes"}
	// listenersets: without them a parentRef to a ListenerSet is one whose
	// parent is not found (a warning), and ListenerSets are not checked.
	optionalResources = []string{"grpcroutes", "tlsroutes", "tcproutes", "udproutes", "listenersets", "referencegrants"}
)

// GatewayAPICRDs checks that the Gateway API kinds gatewarden needs are
// served, and lists the optional ones with their versions.
func GatewayAPICRDs(ctx context.Context, e *Env) Result {
	groups, err := e.Discovery.ServerGroupsWithContext(ctx)
	if err != nil {
		return unreadable(nameCRDs, fmt.Errorf("discovering API groups: %w", err))
	}
	// versions maps each resource to the versions serving it, preferred first.
	versions := map[string][]string{}
	for i := range groups.Groups {
		g := &groups.Groups[i]
		if g.Name != gatewayv1.GroupName {
			continue
		}
		for _, v := range g.Versions {
			list, err := e.Discovery.ServerResourcesForGroupVersionWithContext(ctx, v.GroupVersion)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return unreadable(nameCRDs, fmt.Errorf("discovering %s: %w", v.GroupVersion, err))
			}
			for j := range list.APIResources {
				name := list.APIResources[j].Name
				if !strings.Contains(name, "/") && !slices.Contains(versions[name], v.Version) {
					versions[name] = append(versions[name], v.Version)
				}
			}
		}
	}

	var missing, old, notValidated, served, absent []string
	for _, r := range requiredResources {
		switch {
		case len(versions[r]) == 0:
			missing = append(missing, r)
		case !slices.Contains(versions[r], readVersion):
			old = append(old, r+" "+strings.Join(versions[r], ","))
		default:
			served = append(served, r+" "+strings.Join(versions[r], ","))
		}
	}
	for _, r := range optionalResources {
		switch {
		case len(versions[r]) == 0:
			absent = append(absent, r)
		case !slices.Contains(versions[r], readVersion) && r != "referencegrants":
			// ReferenceGrant is read at v1beta1 too (docs/design.md section 2).
			notValidated = append(notValidated, r+" "+strings.Join(versions[r], ","))
		default:
			served = append(served, r+" "+strings.Join(versions[r], ","))
		}
	}

	detail := "served: " + strings.Join(served, "; ")
	if len(absent) > 0 {
		detail += "; not installed: " + strings.Join(absent, ", ")
	}
	switch {
	case len(missing) > 0:
		return fail(nameCRDs, "missing: "+strings.Join(missing, ", ")+"; "+detail, fixInstallGatewayAPI())
	case len(old) > 0:
		return fail(nameCRDs, "served only at an old version: "+strings.Join(old, "; ")+"; gatewarden needs "+readVersion,
			"upgrade the Gateway API CRDs to "+gatewayAPIVersion+": "+fixInstallGatewayAPI())
	case len(notValidated) > 0:
		return warn(nameCRDs, "not validated (gatewarden reads "+readVersion+"): "+strings.Join(notValidated, "; ")+"; "+detail,
			"upgrade the Gateway API CRDs to "+gatewayAPIVersion+" to validate those routes too: "+fixInstallGatewayAPI())
	}
	return ok(nameCRDs, detail)
}
