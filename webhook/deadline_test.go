package webhook

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
	"github.com/gatewarden/gatewarden/pkg/cluster"
)

// The API server as gatewarden sees it when it is slow or failing: every
// read blocks until its context ends (fail nil), or fails at once with fail.
// reads counts them.
type apiServer struct {
	fail  error
	reads atomic.Int32
}

func (a *apiServer) client(t testing.TB, objs ...client.Object) client.Client {
	answer := func(ctx context.Context) error {
		a.reads.Add(1)
		if a.fail != nil {
			return a.fail
		}
		<-ctx.Done()
		return fmt.Errorf("waiting for the API server: %w", ctx.Err())
	}
	return withNames(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...)).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, _ client.WithWatch, _ client.ObjectKey, _ client.Object, _ ...client.GetOption) error {
			return answer(ctx)
		},
		List: func(ctx context.Context, _ client.WithWatch, _ client.ObjectList, _ ...client.ListOption) error {
			return answer(ctx)
		},
	}).Build()
}

const testConfirmTimeout = 100 * time.Millisecond

// readerOver reads the cache from objs and the API server from api.
func readerOver(t testing.TB, api *apiServer, objs ...client.Object) *cluster.Reader {
	cache := withIndexes(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...)).Build()
	r := cluster.NewReader(cache, api.client(t, objs...), cluster.Options{RouteTypes: attachment.RouteTypes, GrantV1: true, ListenerSets: true})
	r.ConfirmTimeout = testConfirmTimeout
	return r
}

var (
	msgSlow   = fmt.Sprintf(msgUnconfirmed, "the API server did not answer within 100ms")
	msgFailed = fmt.Sprintf(msgUnconfirmed, "reading the API server failed (gatewarden logs why)")
	hrDenied  = `spec.parentRefs[0]: Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces matching shared-gateway-access=true; ` +
		`namespace "hr" does not match. Ask the Gateway owner to allow it, or label namespace hr to match.`
)

// timed runs f and fails the test if it took longer than the deadline
// allows: the API server must get gatewarden's answer, not its own timeout.
func timed(t *testing.T, f func()) {
	t.Helper()
	start := time.Now()
	f()
	assert.Less(t, time.Since(start), testConfirmTimeout+time.Second, "the answer waited past the deadline")
}

// A rejection the cache sees is confirmed live before it is denied. When the
// API server does not answer in time, or fails, the route is let through
// with the rejection as a warning and the reason it was not denied: a stale
// cache must never cause a wrong denial.
func TestRouteRejectionThatCannotBeConfirmedIsAWarning(t *testing.T) {
	for name, tc := range map[string]struct {
		fail error
		want string
	}{
		"the API server does not answer in time": {want: msgSlow},
		"the API server fails":                   {fail: apierrors.NewServiceUnavailable("etcd is down"), want: msgFailed},
	} {
		t.Run(name, func(t *testing.T) {
			api := &apiServer{fail: tc.fail}
			v := &HTTPRouteValidator{Reader: readerOver(t, api, sharedGateway(), labelled("hr", nil)), Mode: attachment.ModeDeny}
			var warnings []string
			var err error
			timed(t, func() { warnings, err = v.ValidateCreate(withUser("alice"), httpRoute("hr", "hr")) })
			require.NoError(t, err, "not denied")
			assert.Equal(t, []string{hrDenied, tc.want}, warnings)
			assert.Positive(t, api.reads.Load(), "the rejection was sent for confirmation")
		})
	}
}

// A route whose Gateway the cache does not have is read from the API server
// (it may have been created a moment ago); when that read cannot be made in
// time, the route is let through with a warning, not refused.
func TestRouteWhoseGatewayCannotBeReadIsAWarning(t *testing.T) {
	api := &apiServer{}
	v := &HTTPRouteValidator{Reader: readerOver(t, api, labelled("hr", nil)), Mode: attachment.ModeDeny}
	var warnings []string
	var err error
	timed(t, func() { warnings, err = v.ValidateCreate(withUser("alice"), httpRoute("hr", "hr")) })
	require.NoError(t, err)
	assert.Equal(t, []string{msgSlow}, warnings)
}

// An allowed route is decided from the cache: a slow API server does not
// slow it down.
func TestAllowedRouteNeverWaitsOnTheAPIServer(t *testing.T) {
	api := &apiServer{}
	v := &HTTPRouteValidator{Reader: readerOver(t, api, sharedGateway(), labelled("hr", map[string]string{accessLabel: "true"})), Mode: attachment.ModeDeny}
	warnings, err := v.ValidateCreate(withUser("alice"), httpRoute("hr", "hr"))
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Zero(t, api.reads.Load())
}

// In deny mode, a relabel that detaches routes is denied only once the API
// server confirms it; unconfirmed, it is warned about.
func TestNamespaceDetachThatCannotBeConfirmedIsAWarning(t *testing.T) {
	api := &apiServer{}
	labels := map[string]string{accessLabel: "true"}
	objs := []client.Object{sharedGateway(), labelled("careers", labels), httpRoute("careers", "careers")}
	v := &NamespaceValidator{Reader: readerOver(t, api, objs...), Mode: attachment.ModeDeny}
	var warnings []string
	var err error
	timed(t, func() {
		warnings, err = v.ValidateUpdate(withUser("alice"), labelled("careers", labels), labelled("careers", nil))
	})
	require.NoError(t, err, "not denied")
	assert.Equal(t, []string{
		"Relabelling namespace careers detaches 1 route from Gateway infra-ns/shared-gateway:",
		"- HTTPRoute careers/careers from Gateway infra-ns/shared-gateway (NotAllowedByListeners)",
		"To keep them attached, restore the labels of namespace careers or ask the Gateway owner to allow it.",
		msgSlow,
	}, warnings)
}

// The same for a Gateway change in deny mode.
func TestGatewayDetachThatCannotBeConfirmedIsAWarning(t *testing.T) {
	api := &apiServer{}
	objs := []client.Object{sharedGateway(), labelled("careers", map[string]string{accessLabel: "true"}), httpRoute("careers", "careers")}
	narrowed := sharedGateway()
	narrowed.Spec.Listeners[0].AllowedRoutes.Namespaces.From = ptr.To(gatewayv1.NamespacesFromSame)
	v := &GatewayValidator{Reader: readerOver(t, api, objs...), Mode: attachment.ModeDeny}
	var warnings []string
	var err error
	timed(t, func() { warnings, err = v.ValidateUpdate(withUser("alice"), sharedGateway(), narrowed) })
	require.NoError(t, err, "not denied")
	assert.Equal(t, []string{
		"This change to Gateway infra-ns/shared-gateway detaches 1 route from Gateway infra-ns/shared-gateway:",
		"- HTTPRoute careers/careers from Gateway infra-ns/shared-gateway (NotAllowedByListeners)",
		"Keep the listeners, namespaces, kinds and hostnames they use, or tell their owners first.",
		msgSlow,
	}, warnings)
}

// The grant guard checks with the API server, not the cache; what it could
// not check it does not let through, and it says why and that a retry may
// pass. An approver is not slowed down: approvers need no check.
func TestGrantGuardThatCannotCheckRefuses(t *testing.T) {
	api := &apiServer{}
	a, err := ParseApprovers("group:platform-admins")
	require.NoError(t, err)
	v := &NamespaceValidator{Reader: readerOver(t, api, sharedGateway()), Mode: attachment.ModeWarn, Approvers: a}
	grant := map[string]string{accessLabel: "true"}

	timed(t, func() { _, err = v.ValidateCreate(withUser("alice", "tenants"), labelled("hr", grant)) })
	require.Error(t, err)
	var status *apierrors.StatusError
	require.ErrorAs(t, err, &status)
	assert.Contains(t, status.ErrStatus.Message, "gatewarden could not check whether these labels grant namespace hr a Gateway, "+
		"as the API server did not answer within 100ms, and only group:platform-admins may grant: retry")

	reads := api.reads.Load()
	warnings, err := v.ValidateCreate(withUser("bob", "platform-admins"), labelled("hr", grant))
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Equal(t, reads, api.reads.Load())
}

// Without a deadline the reads wait as long as the request does; Deadline is
// what bounds them.
func TestDeadlineBoundsTheAPIServerReads(t *testing.T) {
	api := &apiServer{}
	r := readerOver(t, api, sharedGateway(), labelled("hr", nil))
	ctx, cancel := r.Deadline(context.Background())
	defer cancel()
	deadline, ok := ctx.Deadline()
	require.True(t, ok)
	assert.WithinDuration(t, time.Now().Add(testConfirmTimeout), deadline, testConfirmTimeout)

	_, err := r.ObjectsFor(ctx, attachment.FromHTTPRoute(httpRoute("hr", "hr")), true)
	require.Error(t, err)
	assert.True(t, cluster.Unanswered(ctx, err))
	assert.True(t, errors.Is(err, context.DeadlineExceeded))

	r.ConfirmTimeout = 0
	ctx, cancel = r.Deadline(context.Background())
	defer cancel()
	_, ok = ctx.Deadline()
	assert.False(t, ok, "zero leaves the reads unbounded")
}

// On a cluster that writes, the API server's watch cache of Gateways often
// lags etcd, and a consistent list of one waits for etcd's progress
// notification (up to 100 ms, and longer on a slow control plane). The GET
// that races such a list confirms the rejection in time, and the route is
// denied; a reader without the race could only warn.
func TestRouteRejectionConfirmedByTheGetThatRacesAWaitingList(t *testing.T) {
	objs := []client.Object{sharedGateway(), labelled("hr", nil)}
	for name, tc := range map[string]struct {
		hedgeAfter time.Duration
		wantErr    string
		warnings   []string
	}{
		"raced by a GET":  {hedgeAfter: cluster.DefaultHedgeAfter, wantErr: hrDenied},
		"the list, alone": {hedgeAfter: 0, warnings: []string{hrDenied, msgSlow}},
	} {
		t.Run(name, func(t *testing.T) {
			var lists atomic.Int32
			live := withNames(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...)).WithInterceptorFuncs(interceptor.Funcs{
				List: func(ctx context.Context, _ client.WithWatch, _ client.ObjectList, _ ...client.ListOption) error {
					lists.Add(1)
					<-ctx.Done() // the watch cache never catches up in time
					return ctx.Err()
				},
			}).Build()
			cache := withIndexes(fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(objs...)).Build()
			r := cluster.NewReader(cache, live, cluster.Options{RouteTypes: attachment.RouteTypes, GrantV1: true, ListenerSets: true})
			r.ConfirmTimeout, r.HedgeAfter = testConfirmTimeout, tc.hedgeAfter
			v := &HTTPRouteValidator{Reader: r, Mode: attachment.ModeDeny}
			var warnings []string
			var err error
			timed(t, func() { warnings, err = v.ValidateCreate(withUser("alice"), httpRoute("hr", "hr")) })
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
			} else {
				require.NoError(t, err, "not denied")
			}
			assert.Equal(t, tc.warnings, warnings)
			// The list's goroutine may reach the API server only after the
			// GET that beat it has answered.
			assert.Eventually(t, func() bool { return lists.Load() == 1 }, 5*time.Second, time.Millisecond, "the Gateway is listed by name first")
		})
	}
}
