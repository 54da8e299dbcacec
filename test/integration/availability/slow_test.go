package availability_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/test/framework"
)

// latencyProxy forwards TCP connections from a loopback port to upstream.
// Once slow is set, every chunk a client sends reaches upstream delay after
// it was sent: each request to the API server takes delay longer, while
// what the API server sends back (watch events included) is not held.
type latencyProxy struct {
	addr     string
	upstream string
	delay    time.Duration
	slow     atomic.Bool

	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, upstream string, delay time.Duration) *latencyProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &latencyProxy{addr: l.Addr().String(), upstream: upstream, delay: delay, l: l}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *latencyProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			_, _ = io.Copy(c, up)
			_ = c.Close()
		}()
		go func() {
			defer p.wg.Done()
			p.forwardLate(up, c)
		}()
	}
}

// forwardLate copies src to dst, each chunk held until delay after it was
// read while the proxy is slow; chunks keep their order.
func (p *latencyProxy) forwardLate(dst, src net.Conn) {
	type chunk struct {
		due  time.Time
		data []byte
	}
	chunks := make(chan chunk, 1024)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				due := time.Now()
				if p.slow.Load() {
					due = due.Add(p.delay)
				}
				chunks <- chunk{due, buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.data); err != nil {
			break
		}
	}
	_ = dst.Close()
}

func (p *latencyProxy) close() {
	_ = p.l.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// kubeconfigVia writes a copy of the control plane's kubeconfig whose
// server is addr.
func kubeconfigVia(t *testing.T, addr string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(cp.Kubeconfig)
	require.NoError(t, err)
	for _, c := range cfg.Clusters {
		c.Server = "https://" + addr
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path
}

// selectorGateway admits routes from namespaces labelled key=true.
func selectorGateway(ns, name, key string) *gatewayv1.Gateway {
	return &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "example", Listeners: []gatewayv1.Listener{{
			Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType,
			AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{
				From:     ptr.To(gatewayv1.NamespacesFromSelector),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{key: "true"}},
			}},
		}}},
	}
}

func routeTo(ns, name, gwNamespace, gwName string) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{
			{Namespace: ptr.To(gatewayv1.Namespace(gwNamespace)), Name: gatewayv1.ObjectName(gwName)},
		}}},
	}
}

// deniedByGatewarden says whether err is gatewarden's denial of a route.
func deniedByGatewarden(err error) bool {
	return strings.Contains(fmt.Sprint(err), `admission webhook "httproutes.gatewarden.dev" denied the request`)
}

// readyz returns the status code and body of a server's /readyz.
func readyz(t *testing.T, s *framework.Server) (int, string) {
	t.Helper()
	resp, err := http.Get(s.ProbeURL + "/readyz?verbose") //nolint:noctx // a probe, as the kubelet's
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// The API server answers gatewarden's reads 3 s late (gatewarden's own
// kubeconfig goes through a proxy that holds every request; the caches,
// filled before, stay current). A route that would be denied needs a live
// confirmation, which cannot come within --confirm-timeout (2 s): gatewarden
// lets it through with the reason as a warning, well within the webhook's 5 s,
// so the API server never answers with its own timeout. A route that is
// allowed is decided from the cache and is not slowed down at all.
func TestSlowAPIServerGetsAnAnswerInTime(t *testing.T) {
	ctx := context.Background()
	const delay = 3 * time.Second
	upstream, err := url.Parse(cp.Config.Host)
	require.NoError(t, err)
	proxy := startProxy(t, upstream.Host, delay)

	const infra, member, outsider, access = "slow-infra", "slow-member", "slow-outsider", "slow.test/access"
	require.NoError(t, cp.CreateNamespace(ctx, infra, nil))
	require.NoError(t, cp.CreateNamespace(ctx, member, map[string]string{access: "true"}))
	require.NoError(t, cp.CreateNamespace(ctx, outsider, nil))
	require.NoError(t, cp.Client.Create(ctx, selectorGateway(infra, "shared", access)))

	// A Gateway and a Namespace created after those: once gatewarden denies
	// a route from one to the other, its caches hold everything created
	// before them (an informer delivers in order). The probe's live
	// confirmation is of these two only; nothing of the test's own is
	// confirmed ahead of time.
	require.NoError(t, cp.CreateNamespace(ctx, "slow-probe", nil))
	require.NoError(t, cp.Client.Create(ctx, selectorGateway(infra, "probe", access)))

	s, err := cp.StartGatewarden(ctx, "slow", nil, "--kubeconfig="+kubeconfigVia(t, proxy.addr), "--status=false")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Stop(context.Background())) })
	require.Eventually(t, func() bool {
		return deniedByGatewarden(cp.Client.Create(ctx, routeTo("slow-probe", "probe", infra, "probe"), client.DryRunAll))
	}, 30*time.Second, 50*time.Millisecond)

	proxy.slow.Store(true)
	warnings := &framework.WarningRecorder{}
	c, err := cp.ClientWithWarnings(warnings)
	require.NoError(t, err)

	start := time.Now()
	err = c.Create(ctx, routeTo(outsider, "outsider", infra, "shared"))
	elapsed := time.Since(start)
	t.Logf("a route that would be denied, with the API server %s late: answered in %s", delay, elapsed)
	require.NoError(t, err, "gatewarden's answer, not the API server's timeout")
	assert.Less(t, elapsed, 5*time.Second, "within the webhook's timeoutSeconds")
	assert.Equal(t, []string{
		fmt.Sprintf(`spec.parentRefs[0]: Gateway %s/shared listener "http" accepts routes only from namespaces matching %s=true; `+
			`namespace %q does not match. Ask the Gateway owner to allow it, or label namespace %s to match.`, infra, access, outsider, outsider),
		"Not denied: gatewarden could not confirm this, as the API server did not answer within 2s. Retry to be sure.",
	}, warnings.Messages())

	warnings.Reset()
	start = time.Now()
	require.NoError(t, c.Create(ctx, routeTo(member, "member", infra, "shared")))
	elapsed = time.Since(start)
	t.Logf("an allowed route, with the API server %s late: answered in %s", delay, elapsed)
	assert.Less(t, elapsed, delay, "decided from the cache, without waiting on the API server")
	assert.Empty(t, warnings.Messages())

	code, body := readyz(t, s)
	assert.Equal(t, http.StatusInternalServerError, code, "not ready while the API server does not answer in time:\n%s", body)
	assert.Contains(t, body, "[-]apiserver failed")

	proxy.slow.Store(false)
	require.Eventually(t, func() bool { code, _ := readyz(t, s); return code == http.StatusOK }, 30*time.Second, 100*time.Millisecond,
		"ready again once the API server answers")
}
