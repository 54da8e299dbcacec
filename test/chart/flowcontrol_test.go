package chart

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

// flowControlName names the chart's FlowSchema and PriorityLevelConfiguration.
const flowControlName = "gatewarden-confirmations"

// serviceAccountsPrecedence is the matchingPrecedence of the API server's
// built-in FlowSchema "service-accounts", which puts every ServiceAccount's
// requests in the workload-low level; kubeSystemPrecedence that of
// "kube-system-service-accounts", the last built-in one before it.
const (
	serviceAccountsPrecedence = 9000
	kubeSystemPrecedence      = 900
)

// request is what priority and fairness classifies a request by.
type request struct {
	user      string
	groups    []string
	verb      string
	apiGroup  string
	resource  string
	namespace string // "" for a cluster-scoped request
}

// matches reports whether a FlowSchema's rules match a request, as the API
// server's classifier reads them (k8s.io/apiserver/pkg/util/flowcontrol,
// match.go): a subject and a resource rule of the same rule.
func matches(fs *flowcontrolv1.FlowSchema, r request) bool {
	for _, rule := range fs.Spec.Rules {
		subject := slices.ContainsFunc(rule.Subjects, func(s flowcontrolv1.Subject) bool {
			switch s.Kind {
			case flowcontrolv1.SubjectKindServiceAccount:
				return r.user == "system:serviceaccount:"+s.ServiceAccount.Namespace+":"+s.ServiceAccount.Name
			case flowcontrolv1.SubjectKindUser:
				return s.User.Name == "*" || s.User.Name == r.user
			case flowcontrolv1.SubjectKindGroup:
				return s.Group.Name == "*" || slices.Contains(r.groups, s.Group.Name)
			}
			return false
		})
		resource := slices.ContainsFunc(rule.ResourceRules, func(rr flowcontrolv1.ResourcePolicyRule) bool {
			scope := rr.ClusterScope && r.namespace == "" ||
				r.namespace != "" && (slices.Contains(rr.Namespaces, "*") || slices.Contains(rr.Namespaces, r.namespace))
			return scope && anyOf(rr.Verbs, r.verb) && anyOf(rr.APIGroups, r.apiGroup) && anyOf(rr.Resources, r.resource)
		})
		if subject && resource {
			return true
		}
	}
	return false
}

func anyOf(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, v)
}

func flowControl(t *testing.T, objs []*unstructured.Unstructured) (*flowcontrolv1.FlowSchema, *flowcontrolv1.PriorityLevelConfiguration) {
	t.Helper()
	return mustFind[flowcontrolv1.FlowSchema](t, objs, "FlowSchema", flowControlName),
		mustFind[flowcontrolv1.PriorityLevelConfiguration](t, objs, "PriorityLevelConfiguration", flowControlName)
}

// The reads an admission waits on get a priority level of their own; the
// informers' lists and watches and the status writes stay where the API
// server puts every ServiceAccount's requests.
func TestChartFlowSchemaGivesTheLiveReadsTheirOwnLevel(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			fs, plc := flowControl(t, renderChart(t, namespace, m.set...))
			assert.Equal(t, flowControlName, fs.Spec.PriorityLevelConfiguration.Name)
			assert.Greater(t, fs.Spec.MatchingPrecedence, int32(kubeSystemPrecedence), "after the control plane's own schemas")
			assert.Less(t, fs.Spec.MatchingPrecedence, int32(serviceAccountsPrecedence), "before the schema that puts the reads with the writes")

			sa := "system:serviceaccount:" + namespace + ":" + fullname
			groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
			for _, r := range []request{
				{verb: "get", resource: "namespaces"},
				{verb: "get", apiGroup: gatewayAPIGroup, resource: "gateways", namespace: "infra"},
				{verb: "get", apiGroup: gatewayAPIGroup, resource: "listenersets", namespace: "team"},
				{verb: "list", apiGroup: gatewayAPIGroup, resource: "gateways", namespace: "infra"},
				{verb: "list", apiGroup: gatewayAPIGroup, resource: "listenersets", namespace: "team"},
				{verb: "list", apiGroup: gatewayAPIGroup, resource: "referencegrants", namespace: "backends"},
			} {
				r.user, r.groups = sa, groups
				assert.True(t, matches(fs, r), "a confirmation: %+v", r)
			}
			for _, r := range []request{
				{verb: "patch", apiGroup: gatewayAPIGroup, resource: "httproutes", namespace: "team"},
				{verb: "list", resource: "namespaces"},
				{verb: "watch", resource: "namespaces"},
				{verb: "list", apiGroup: gatewayAPIGroup, resource: "gateways"},
				{verb: "list", apiGroup: gatewayAPIGroup, resource: "listenersets"},
				{verb: "watch", apiGroup: gatewayAPIGroup, resource: "httproutes"},
				{verb: "list", apiGroup: gatewayAPIGroup, resource: "referencegrants"},
				{verb: "create", apiGroup: "events.k8s.io", resource: "events", namespace: "team"},
				{verb: "update", apiGroup: "coordination.k8s.io", resource: "leases", namespace: namespace},
			} {
				r.user, r.groups = sa, groups
				assert.False(t, matches(fs, r), "not a confirmation: %+v", r)
			}
			other := request{user: "system:serviceaccount:" + namespace + ":other", groups: groups, verb: "get", resource: "namespaces"}
			assert.False(t, matches(fs, other), "another ServiceAccount's reads")

			assert.Equal(t, flowcontrolv1.PriorityLevelConfigurationSpec{
				Type: flowcontrolv1.PriorityLevelEnablementLimited,
				Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{
					NominalConcurrencyShares: ptr.To(int32(5)),
					LendablePercent:          ptr.To(int32(0)),
					LimitResponse: flowcontrolv1.LimitResponse{
						Type:    flowcontrolv1.LimitResponseTypeQueue,
						Queuing: &flowcontrolv1.QueuingConfiguration{Queues: 8, HandSize: 4, QueueLengthLimit: 50},
					},
				},
			}, plc.Spec)
		})
	}

	t.Run("the ServiceAccount the pods run as", func(t *testing.T) {
		fs, _ := flowControl(t, renderChart(t, "edge", "serviceAccount.create=false", "serviceAccount.name=gw"))
		require.Len(t, fs.Spec.Rules, 1)
		assert.Equal(t, []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindServiceAccount,
			ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: "edge", Name: "gw"}}}, fs.Spec.Rules[0].Subjects)
	})

	t.Run("values", func(t *testing.T) {
		fs, plc := flowControl(t, renderChart(t, namespace, "flowControl.matchingPrecedence=500", "flowControl.nominalConcurrencyShares=20"))
		assert.Equal(t, int32(500), fs.Spec.MatchingPrecedence)
		assert.Equal(t, ptr.To(int32(20)), plc.Spec.Limited.NominalConcurrencyShares)
	})

	t.Run("off", func(t *testing.T) {
		objs := renderChart(t, namespace, "flowControl.enabled=false")
		assert.Empty(t, FindKind(objs, "FlowSchema"))
		assert.Empty(t, FindKind(objs, "PriorityLevelConfiguration"))
	})
}
