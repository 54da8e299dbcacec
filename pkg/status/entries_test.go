package status

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

const me = gatewayv1.GatewayController("gatewarden.dev/attachment")

func ref(name string) gatewayv1.ParentReference {
	return gatewayv1.ParentReference{Name: gatewayv1.ObjectName(name), Namespace: ptr.To(gatewayv1.Namespace("infra"))}
}

func entry(controller gatewayv1.GatewayController, r gatewayv1.ParentReference, status metav1.ConditionStatus) gatewayv1.RouteParentStatus {
	return gatewayv1.RouteParentStatus{ParentRef: r, ControllerName: controller, Conditions: []metav1.Condition{{
		Type: "Accepted", Status: status, Reason: "Accepted", LastTransitionTime: metav1.NewTime(time.Unix(1000, 0)),
	}}}
}

func TestMergeKeepsOtherControllersEntriesInPlace(t *testing.T) {
	other1 := entry("example.com/a", ref("gw"), metav1.ConditionTrue)
	other2 := entry("example.com/b", ref("gw"), metav1.ConditionFalse)
	mineOld := entry(me, ref("gw"), metav1.ConditionTrue)
	stale := entry(me, ref("removed"), metav1.ConditionTrue)
	current := []gatewayv1.RouteParentStatus{other1, mineOld, stale, other2}

	mineNew := entry(me, ref("gw"), metav1.ConditionFalse)
	added := entry(me, ref("new"), metav1.ConditionTrue)
	merged, changed := Merge(current, []gatewayv1.RouteParentStatus{added, mineNew}, me)
	assert.True(t, changed)
	assert.Equal(t, []gatewayv1.RouteParentStatus{other1, mineNew, other2, added}, merged,
		"others untouched and in place; ours updated in place, stale dropped, new appended")

	_, changed = Merge(merged, []gatewayv1.RouteParentStatus{mineNew, added}, me)
	assert.False(t, changed, "the same entries again change nothing")
}

func TestMergeRespectsTheAPILimit(t *testing.T) {
	var current []gatewayv1.RouteParentStatus
	for i := range maxParents {
		current = append(current, entry("example.com/a", ref(string(rune('a'+i))), metav1.ConditionTrue))
	}
	merged, changed := Merge(current, []gatewayv1.RouteParentStatus{entry(me, ref("gw"), metav1.ConditionTrue)}, me)
	assert.False(t, changed)
	assert.Len(t, merged, maxParents)
}

func TestDesired(t *testing.T) {
	gw := &attachment.Gateway{Parent: attachment.Parent{ParentKey: attachment.GatewayKey("infra", "gw")}}
	gw.Gateway = gw
	off := &attachment.Gateway{Parent: attachment.Parent{ParentKey: attachment.GatewayKey("infra", "off")}, Enforcement: attachment.ModeOff}
	off.Gateway = off
	route := &attachment.Route{Kind: attachment.KindHTTPRoute, Namespace: "app", Name: "r",
		ParentRefs: []gatewayv1.ParentReference{ref("gw"), ref("missing"), ref("off"), ref("gw")}}
	res := attachment.RouteResult{Parents: []attachment.ParentResult{
		{Index: 0, Accepted: metav1.ConditionFalse, Reason: gatewayv1.RouteReasonNotAllowedByListeners, Message: "why", Parent: &gw.Parent},
		{Index: 1, Accepted: metav1.ConditionUnknown, Reason: gatewayv1.RouteReasonPending},
		{Index: 2, Accepted: metav1.ConditionFalse, Parent: &off.Parent},
		{Index: 3, Accepted: metav1.ConditionFalse, Reason: gatewayv1.RouteReasonNotAllowedByListeners, Message: "why", Parent: &gw.Parent},
	}}
	then := metav1.NewTime(time.Unix(1000, 0))
	now := metav1.NewTime(time.Unix(2000, 0))

	own := Desired(route, res, me, 7, nil, now)
	require.Len(t, own, 1, "one entry per governed parentRef: not for a missing Gateway, one annotated off, or a duplicate")
	acc := meta.FindStatusCondition(own[0].Conditions, "Accepted")
	require.NotNil(t, acc)
	assert.Equal(t, metav1.ConditionFalse, acc.Status)
	assert.Equal(t, "NotAllowedByListeners", acc.Reason)
	assert.Equal(t, int64(7), acc.ObservedGeneration)
	assert.Equal(t, now, acc.LastTransitionTime)
	resolved := meta.FindStatusCondition(own[0].Conditions, "ResolvedRefs")
	require.NotNil(t, resolved)
	assert.Equal(t, metav1.ConditionTrue, resolved.Status)

	// Same status, another message: lastTransitionTime stays.
	current := []gatewayv1.RouteParentStatus{entry(me, ref("gw"), metav1.ConditionFalse)}
	current[0].Conditions[0].LastTransitionTime = then
	res.Parents[0].Message = "another why"
	own = Desired(route, res, me, 8, current, now)
	acc = meta.FindStatusCondition(own[0].Conditions, "Accepted")
	assert.Equal(t, then, acc.LastTransitionTime)
	assert.Equal(t, "another why", acc.Message)
	assert.Equal(t, int64(8), acc.ObservedGeneration)
}
