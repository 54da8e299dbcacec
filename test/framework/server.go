package framework

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/test/chart"
)

// Server is a running `gatewarden serve` process with the
// ValidatingWebhookConfiguration that sends admissions to it.
type Server struct {
	Name string
	// URL is the webhook server's base URL, https://127.0.0.1:PORT.
	URL string
	// ProbeURL is the base URL of /healthz and /readyz; MetricsURL of /metrics.
	ProbeURL, MetricsURL string
	// Webhook is the ValidatingWebhookConfiguration registered for it.
	Webhook *admissionregistrationv1.ValidatingWebhookConfiguration

	cp   *ControlPlane
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
	err  error
}

// Gatewarden builds the gatewarden binary once per control plane, with the
// race detector when Options.Race says so.
func (cp *ControlPlane) Gatewarden() (string, error) {
	path := filepath.Join(cp.dir, "gatewarden")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	args := []string{"build", "-o", path}
	if cp.race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/gatewarden")...)
	cmd.Dir = cp.Root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building gatewarden: %w\n%s", err, out)
	}
	return path, nil
}

// StartGatewarden runs `gatewarden serve` against the control plane with
// extra flags, waits until it is ready, registers webhooks (the chart's
// ValidatingWebhookConfiguration unless webhooks is given) pointing at it, and
// waits until the API server calls it.
func (cp *ControlPlane) StartGatewarden(ctx context.Context, name string, webhooks *admissionregistrationv1.ValidatingWebhookConfiguration, flags ...string) (*Server, error) {
	bin, err := cp.Gatewarden()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Name:       name,
		URL:        fmt.Sprintf("https://127.0.0.1:%d", ports[0]),
		ProbeURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		MetricsURL: fmt.Sprintf("http://127.0.0.1:%d", ports[2]),
		cp:         cp,
		logs:       &syncBuffer{},
		done:       make(chan struct{}),
	}
	args := append([]string{"serve",
		"--kubeconfig=" + cp.Kubeconfig,
		"--cert-dir=" + cp.ServingCertDir(),
		"--webhook-host=127.0.0.1",
		fmt.Sprintf("--webhook-port=%d", ports[0]),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", ports[1]),
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", ports[2]),
		"--log-format=console",
		"--shutdown-timeout=10s",
	}, flags...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	cp.servers = append(cp.servers, s)
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		return nil, errors.Join(err, s.Stop(ctx))
	}
	if webhooks == nil {
		if webhooks, err = cp.ChartWebhookConfiguration(); err != nil {
			return nil, errors.Join(err, s.Stop(ctx))
		}
	}
	s.Webhook = PointAt(webhooks, "gatewarden-"+name, s.URL, cp.CABundle())
	if err := cp.Client.Create(ctx, s.Webhook); err != nil {
		return nil, errors.Join(fmt.Errorf("registering the webhooks: %w", err), s.Stop(ctx))
	}
	if err := cp.waitWebhookCalled(ctx); err != nil {
		return nil, errors.Join(err, s.Stop(ctx))
	}
	return s, nil
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Logs returns what the server has logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// Stop removes the webhook configuration, so that the API server stops
// calling the server, then stops the server with SIGTERM, as the kubelet
// does, and waits for it to exit. It returns an error when the server did
// not exit cleanly: a non-zero exit status (a crash, a failed shutdown, the
// race detector's exit code) or a data race in its output.
func (s *Server) Stop(ctx context.Context) error {
	var errs []error
	if s.Webhook != nil {
		if err := s.cp.Client.Delete(ctx, s.Webhook); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	select {
	case <-s.done:
	default:
		s.cp.countAdmissions(ctx, s)
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
			errs = append(errs, errors.New("gatewarden did not stop within 30s of SIGTERM"))
		}
	}
	return errors.Join(append(errs, s.exitError())...)
}

// raceReport is what the race detector prints for each data race it finds.
const raceReport = "WARNING: DATA RACE"

// exitError says how the exited process went wrong, or nil.
func (s *Server) exitError() error {
	var errs []error
	if s.err != nil {
		errs = append(errs, fmt.Errorf("gatewarden %s exited with %w", s.Name, s.err))
	}
	if _, report, found := strings.Cut(s.Logs(), raceReport); found {
		errs = append(errs, fmt.Errorf("gatewarden %s reported a data race:\n%s%s", s.Name, raceReport, report))
	}
	return errors.Join(errs...)
}

// Exited reports whether the process has exited, and its error.
func (s *Server) Exited() (bool, error) {
	select {
	case <-s.done:
		return true, s.err
	default:
		return false, nil
	}
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if exited, err := s.Exited(); exited {
			return fmt.Errorf("gatewarden exited before it was ready (%w):\n%s", err, s.Logs())
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.ProbeURL+"/readyz", http.NoBody)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("gatewarden was not ready within 90s:\n%s", s.Logs())
}

// TLSClient returns an HTTP client that trusts the serving certificate, for
// posting AdmissionReviews straight to the server.
func (cp *ControlPlane) TLSClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cp.CABundle())
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
}

// probeGateway is a Gateway that never exists: a route to it is admitted
// with gatewarden's "not found" warning, which tells that the API server
// calls the webhook.
const probeGateway = "gatewarden-probe-gateway-that-does-not-exist"

// waitWebhookCalled waits until the API server sends route admissions to
// the webhook: its configuration reaches the API server's informer a moment
// after it is created.
func (cp *ControlPlane) waitWebhookCalled(ctx context.Context) error {
	warnings := &WarningRecorder{}
	c, err := cp.ClientWithWarnings(warnings)
	if err != nil {
		return err
	}
	route := &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", GenerateName: "probe-"},
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{
			ParentRefs: []gatewayv1.ParentReference{{Name: probeGateway}},
		}},
	}
	var last error
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		warnings.Reset()
		last = c.Create(ctx, route.DeepCopy(), client.DryRunAll)
		if last == nil && strings.Contains(strings.Join(warnings.Messages(), "\n"), probeGateway) {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the API server did not call the webhook within 60s (last error: %w)", last)
}

// PointAt returns a copy of a ValidatingWebhookConfiguration named name whose
// webhooks call baseURL (the service's path kept) and trust caBundle, as
// the API server reaches a webhook that runs outside the cluster.
func PointAt(in *admissionregistrationv1.ValidatingWebhookConfiguration, name, baseURL string, caBundle []byte) *admissionregistrationv1.ValidatingWebhookConfiguration {
	out := in.DeepCopy()
	out.ObjectMeta = metav1.ObjectMeta{Name: name, Labels: in.Labels}
	for i := range out.Webhooks {
		cc := &out.Webhooks[i].ClientConfig
		path := ""
		if cc.Service != nil && cc.Service.Path != nil {
			path = *cc.Service.Path
		}
		cc.Service = nil
		cc.URL = ptr.To(baseURL + path)
		cc.CABundle = caBundle
	}
	return out
}

// WarningRecorder keeps the warnings the API server returns.
type WarningRecorder struct {
	mu       sync.Mutex
	messages []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *WarningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages = append(w.messages, text)
}

// Messages returns the warnings so far.
func (w *WarningRecorder) Messages() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.messages...)
}

// Reset forgets the warnings so far.
func (w *WarningRecorder) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages = nil
}

// ClientWithWarnings returns an admin client whose warnings go to w.
func (cp *ControlPlane) ClientWithWarnings(w *WarningRecorder) (client.Client, error) {
	cfg := rest.CopyConfig(cp.Config)
	cfg.WarningHandler = w
	return client.New(cfg, client.Options{Scheme: cp.Scheme})
}

// ImpersonatingClient returns a client that acts as user, in groups, with
// its warnings going to w (which may be nil).
func (cp *ControlPlane) ImpersonatingClient(user string, groups []string, w *WarningRecorder) (client.Client, error) {
	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	if w != nil {
		cfg.WarningHandler = w
	}
	return client.New(cfg, client.Options{Scheme: cp.Scheme})
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// syncBuffer is a bytes.Buffer safe for the process's two writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ChartWebhookConfiguration renders the Helm chart (release gatewarden in
// namespace gatewarden-system, default values plus set) and returns its
// ValidatingWebhookConfiguration: the tests register exactly what users
// install, rules, selectors and policies included.
func (cp *ControlPlane) ChartWebhookConfiguration(set ...string) (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	objs, err := chart.RenderChart(filepath.Join(cp.Bin, "helm"), filepath.Join(cp.Root, "charts", "gatewarden"), "gatewarden-system", set...)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if o.GetKind() != "ValidatingWebhookConfiguration" {
			continue
		}
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, vwc, true); err != nil {
			return nil, fmt.Errorf("decoding the chart's ValidatingWebhookConfiguration: %w", err)
		}
		return vwc, nil
	}
	return nil, errors.New("the chart renders no ValidatingWebhookConfiguration")
}

// scrape reads the server's /metrics.
func (s *Server) scrape(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.MetricsURL+"/metrics", http.NoBody)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return string(body), nil
}

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

func samples(text string) []sample {
	var out []sample
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		name, labels, _ := strings.Cut(strings.TrimSuffix(series, "}"), "{")
		out = append(out, sample{name: name, labels: parseLabels(labels), value: v})
	}
	return out
}

// parseLabels reads `a="x",b="y"`; a value ends at the first quote that is
// not escaped.
func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		name, rest, ok := strings.Cut(s, `="`)
		if !ok {
			break
		}
		end := 0
		for end < len(rest) && (rest[end] != '"' || (end > 0 && rest[end-1] == '\\')) {
			end++
		}
		out[strings.TrimPrefix(name, ",")] = rest[:end]
		if end >= len(rest) {
			break
		}
		s = rest[end+1:]
	}
	return out
}

// Metric returns the sum of a metric's samples whose labels have the values
// given as name, value pairs, and whether any sample matched.
func (s *Server) Metric(ctx context.Context, name string, labels ...string) (float64, bool, error) {
	text, err := s.scrape(ctx)
	if err != nil {
		return 0, false, err
	}
	total, found := 0.0, false
	for _, smp := range samples(text) {
		if smp.name != name {
			continue
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && smp.labels[labels[i]] == labels[i+1]
		}
		if match {
			total, found = total+smp.value, true
		}
	}
	return total, found, nil
}

// countAdmissions adds the admission requests a running server has served
// (controller-runtime's controller_runtime_webhook_requests_total), by
// webhook path, to the control plane's count. A server whose metrics cannot
// be read is not counted.
func (cp *ControlPlane) countAdmissions(ctx context.Context, s *Server) {
	text, err := s.scrape(ctx)
	if err != nil {
		return
	}
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for _, smp := range samples(text) {
		if smp.name == "controller_runtime_webhook_requests_total" {
			cp.admissions[smp.labels["webhook"]] += smp.value
		}
	}
}

// AdmissionSummary says how many admission requests the servers this
// control plane stopped served, by webhook path: the traffic the API server
// sent gatewarden through the webhook configuration under test.
func (cp *ControlPlane) AdmissionSummary() string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	paths := make([]string, 0, len(cp.admissions))
	total := 0.0
	for p, n := range cp.admissions {
		paths = append(paths, p)
		total += n
	}
	slices.Sort(paths)
	parts := make([]string, 0, len(paths))
	for _, p := range paths {
		parts = append(parts, fmt.Sprintf("%s=%.0f", p, cp.admissions[p]))
	}
	return fmt.Sprintf("gatewarden served %.0f admission requests: %s", total, strings.Join(parts, " "))
}
