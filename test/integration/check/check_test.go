package check_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

type result struct {
	code           int
	stdout, stderr string
}

// check runs the gatewarden binary as a CI job would: no ~/.kube/config,
// no $KUBECONFIG unless env sets it.
func check(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(gatewarden, append([]string{"check"}, args...)...)
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running gatewarden: %v", err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errOut.String()}
}

// cluster runs check --cluster as the read-only user.
func cluster(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return check(t, nil, stdin, append([]string{"--cluster", "--kubeconfig", readOnly}, args...)...)
}

type parentJSON struct {
	Group, Kind, Namespace, Name, SectionName string
	Port                                      int
	Accepted, Reason, Message, Verdict        string
}

type routeJSON struct {
	Kind, Namespace, Name, Verdict string
	Parents                        []parentJSON
	Warnings                       []string
	File                           *string
	Document                       *int
}

type outcomeJSON struct {
	Verdict  string
	Parents  []parentJSON
	Warnings []string
}

type listenerJSON struct {
	Group, Kind, Namespace, Name, SectionName, Selector string
	AllowedListeners                                    bool
}

type changeJSON struct {
	Change, Kind, Namespace, Name string
	Breaking                      bool
	Before, After                 *outcomeJSON
	Listeners                     []listenerJSON
}

type checkJSON struct {
	Routes  []routeJSON
	Changes *[]changeJSON
}

func decode(t *testing.T, out string) checkJSON {
	t.Helper()
	var got checkJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&got), out)
	return got
}

func names(routes []routeJSON) []string {
	out := []string{}
	for i := range routes {
		out = append(out, routes[i].Kind+" "+routes[i].Namespace+"/"+routes[i].Name+" "+routes[i].Verdict)
	}
	return out
}

func sample(name string) string {
	return filepath.Join(cp.Root, "config", "samples", "shared-gateway", name)
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// The example scenario live: the same verdicts, messages and JSON contract
// as the offline check of the same files, read by a user who may only get
// and list.
func TestExampleScenarioLive(t *testing.T) {
	live := cluster(t, "", "-o", "json")
	assert.Equal(t, 1, live.code, "hr is denied: %s", live.stderr)
	assert.Empty(t, live.stderr)
	got := decode(t, live.stdout)
	assert.Nil(t, got.Changes, "no changes key without --changes")
	assert.Equal(t, []string{"HTTPRoute careers/careers allow", "HTTPRoute hr/hr deny", "HTTPRoute product/product allow"}, names(got.Routes),
		"in the order the API server lists them")

	offline := check(t, nil, "", "-f", filepath.Join(cp.Root, "config", "samples", "shared-gateway"), "-o", "json")
	require.Equal(t, 1, offline.code, offline.stderr)
	want := map[string]routeJSON{}
	for _, r := range decode(t, offline.stdout).Routes {
		r.File, r.Document = nil, nil
		want[r.Namespace+"/"+r.Name] = r
	}
	for _, r := range got.Routes {
		assert.Nil(t, r.File, "a route read from the cluster has no file")
		assert.Nil(t, r.Document, "nor a document")
		assert.Equal(t, want[r.Namespace+"/"+r.Name], r, "the live verdict is the offline one")
	}

	text := cluster(t, "")
	assert.Equal(t, 1, text.code)
	lines := strings.Split(text.stdout, "\n")
	assert.Regexp(t, `^ROUTE\s+PARENT\s+VERDICT\s+REASON\s+MESSAGE$`, lines[0])
	assert.Regexp(t, `^HTTPRoute hr/hr\s+Gateway infra-ns/shared-gateway\s+deny\s+NotAllowedByListeners\s+Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces matching shared-gateway-access=true; namespace "hr" does not match.`, lines[2])
	assert.Contains(t, text.stdout, "\n3 routes: 1 denied, 0 warned, 2 allowed.\n")
}

func TestNamespaceAndGatewayKeepPartOfTheOutput(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		routes []string
	}{
		{[]string{"-n", "careers"}, 0, []string{"HTTPRoute careers/careers allow"}},
		{[]string{"--namespace=hr"}, 1, []string{"HTTPRoute hr/hr deny"}},
		{[]string{"-n", "infra-ns"}, 0, []string{}},
		{[]string{"--gateway", "infra-ns/shared-gateway"}, 1, []string{"HTTPRoute careers/careers allow", "HTTPRoute hr/hr deny", "HTTPRoute product/product allow"}},
		{[]string{"--gateway", "infra-ns/shared-gateway", "-n", "product"}, 0, []string{"HTTPRoute product/product allow"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			res := cluster(t, "", append(tt.args, "-o", "json")...)
			assert.Equal(t, tt.code, res.code, res.stderr)
			assert.Equal(t, tt.routes, names(decode(t, res.stdout).Routes))
		})
	}

	res := cluster(t, "", "--gateway", "infra-ns/nope")
	assert.Equal(t, 2, res.code)
	assert.Equal(t, "Error: --gateway: Gateway infra-ns/nope is neither in the cluster nor in the files\n", res.stderr)
}

// --chunk-size 1 reads the three routes in three LIST requests, each but the
// first continuing the one before, and says the same as one request would;
// every request check makes is a GET.
func TestPagesThroughTheAPIServer(t *testing.T) {
	whole := cluster(t, "", "-o", "json", "--chunk-size", "0")
	require.Equal(t, 1, whole.code, whole.stderr)

	proxy, requests := recordingProxy(t)
	paged := check(t, nil, "", "--cluster", "--kubeconfig", proxy, "-o", "json", "--chunk-size", "1")
	require.Equal(t, 1, paged.code, paged.stderr)
	assert.JSONEq(t, whole.stdout, paged.stdout)

	var lists []url.Values
	for _, r := range requests() {
		assert.Equal(t, http.MethodGet, r.Method, "check only reads: %s %s", r.Method, r.URL)
		if r.URL.Path == "/apis/gateway.networking.k8s.io/v1/httproutes" {
			lists = append(lists, r.URL.Query())
		}
	}
	require.Len(t, lists, 3, "one LIST of HTTPRoutes per route")
	for i, q := range lists {
		assert.Equal(t, "1", q.Get("limit"))
		assert.Equal(t, i > 0, q.Get("continue") != "", "each page but the first continues the one before")
	}
}

// recordingProxy puts a proxy in front of the API server that records every
// request, and returns a kubeconfig that reaches the API server through it
// as the read-only user (the proxy authenticates as the admin, who may
// impersonate).
func recordingProxy(t *testing.T) (string, func() []*http.Request) {
	t.Helper()
	target, err := url.Parse(cp.Config.Host)
	require.NoError(t, err)
	transport, err := rest.TransportFor(cp.Config)
	require.NoError(t, err)
	var mu sync.Mutex
	var seen []*http.Request
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }, Transport: transport}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["proxy"] = &clientcmdapi.Cluster{Server: srv.URL}
	cfg.AuthInfos["reader"] = &clientcmdapi.AuthInfo{Impersonate: readerUser}
	cfg.Contexts["proxy"] = &clientcmdapi.Context{Cluster: "proxy", AuthInfo: "reader"}
	cfg.CurrentContext = "proxy"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path, func() []*http.Request {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

const narrowedGateway = `# The infra team narrows the shared Gateway to namespaces of tier gold.
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: shared-gateway
  namespace: infra-ns
spec:
  gatewayClassName: example
  listeners:
  - name: http
    protocol: HTTP
    port: 80
    allowedRoutes:
      namespaces:
        from: Selector
        selector:
          matchLabels:
            shared-gateway-access: "true"
            tier: gold
`

// A Gateway change that narrows the selector names the two routes it
// detaches, and fails the job.
func TestChangesOfANarrowedSelector(t *testing.T) {
	file := write(t, "gateway.yaml", narrowedGateway)
	res := cluster(t, "", "-f", file, "--changes", "-o", "json")
	assert.Equal(t, 1, res.code, res.stderr)
	got := decode(t, res.stdout)
	require.NotNil(t, got.Changes)
	require.Len(t, *got.Changes, 2)
	for i, name := range []string{"careers", "product"} {
		c := (*got.Changes)[i]
		assert.Equal(t, "attachment", c.Change)
		assert.Equal(t, "HTTPRoute "+name+"/"+name, c.Kind+" "+c.Namespace+"/"+c.Name)
		assert.True(t, c.Breaking)
		require.NotNil(t, c.Before)
		require.NotNil(t, c.After)
		assert.Equal(t, "allow", c.Before.Verdict)
		assert.Equal(t, "deny", c.After.Verdict)
		require.Len(t, c.After.Parents, 1)
		assert.Equal(t, "NotAllowedByListeners", c.After.Parents[0].Reason)
		assert.Contains(t, c.After.Parents[0].Message, "shared-gateway-access=true,tier=gold")
	}
	assert.Equal(t, []string{"HTTPRoute careers/careers deny", "HTTPRoute product/product deny"}, names(got.Routes))

	text := cluster(t, "", "-f", file, "--changes")
	assert.Equal(t, 1, text.code)
	assert.Regexp(t, `(?m)^detach\s+HTTPRoute careers/careers\s+Gateway infra-ns/shared-gateway\s+allow Accepted\s+deny NotAllowedByListeners\s+Gateway infra-ns/shared-gateway listener "http" accepts routes only from namespaces matching shared-gateway-access=true,tier=gold;`, text.stdout)
	assert.Regexp(t, `(?m)^detach\s+HTTPRoute product/product\s+`, text.stdout)
	assert.NotContains(t, text.stdout, "hr/hr", "hr is denied before and after, for the same reason")
	assert.Contains(t, text.stdout, "\n2 routes changed, 2 of them detached or denied; 0 namespaces newly admitted by a label selector.\n")

	// Read from standard input, as from kustomize build.
	stdin := cluster(t, narrowedGateway, "-f", "-", "--changes", "-o", "json")
	assert.Equal(t, 1, stdin.code, stdin.stderr)
	assert.JSONEq(t, res.stdout, stdin.stdout)
}

// A Namespace label file names the grants it makes (the Gateway's listener
// and its allowedListeners select the same label), and what it attaches;
// neither fails the job.
func TestChangesOfANamespaceLabel(t *testing.T) {
	file := write(t, "hr.yaml", `apiVersion: v1
kind: Namespace
metadata:
  name: hr
  labels:
    shared-gateway-access: "true"
`)
	res := cluster(t, "", "-f", file, "--changes", "-o", "json")
	assert.Equal(t, 0, res.code, res.stderr)
	got := decode(t, res.stdout)
	require.NotNil(t, got.Changes)
	require.Len(t, *got.Changes, 2)
	attach, grant := (*got.Changes)[0], (*got.Changes)[1]
	assert.Equal(t, "attachment HTTPRoute hr/hr", attach.Change+" "+attach.Kind+" "+attach.Namespace+"/"+attach.Name)
	assert.False(t, attach.Breaking)
	assert.Equal(t, "deny", attach.Before.Verdict)
	assert.Equal(t, "allow", attach.After.Verdict)
	assert.Equal(t, "grant Namespace hr", grant.Change+" "+grant.Kind+" "+grant.Name)
	assert.False(t, grant.Breaking)
	assert.Equal(t, []listenerJSON{
		{"gateway.networking.k8s.io", "Gateway", "infra-ns", "shared-gateway", "http", "shared-gateway-access=true", false},
		{"gateway.networking.k8s.io", "Gateway", "infra-ns", "shared-gateway", "", "shared-gateway-access=true", true},
	}, grant.Listeners)

	text := cluster(t, "", "-f", file, "--changes")
	assert.Equal(t, 0, text.code)
	assert.Regexp(t, `(?m)^grant\s+Namespace hr\s+Gateway infra-ns/shared-gateway#http\s+not admitted\s+admitted\s+admitted by label selector shared-gateway-access=true$`, text.stdout)
	assert.Regexp(t, `(?m)^grant\s+Namespace hr\s+Gateway infra-ns/shared-gateway allowedListeners\s+not admitted\s+admitted\s+ListenerSets admitted by label selector shared-gateway-access=true$`, text.stdout)
	assert.Contains(t, text.stdout, "\n1 route changed, 0 of them detached or denied; 1 namespace newly admitted by a label selector.\n")
}

// Deleting the Gateway's file detaches every route that uses it.
func TestChangesOfADeletedGateway(t *testing.T) {
	res := cluster(t, "", "--delete", sample("01-gateway.yaml"), "--changes", "-o", "json")
	assert.Equal(t, 1, res.code, res.stderr)
	got := decode(t, res.stdout)
	var summary []string
	for _, c := range *got.Changes {
		summary = append(summary, c.Namespace+"/"+c.Name+" "+c.Before.Verdict+"->"+c.After.Verdict+" "+strconv.FormatBool(c.Breaking))
	}
	assert.Equal(t, []string{"careers/careers allow->warn true", "hr/hr deny->warn false", "product/product allow->warn true"}, summary)

	// Applying it again (a file moved in the pull request) changes nothing.
	res = cluster(t, "", "--delete", sample("01-gateway.yaml"), "-f", sample("01-gateway.yaml"), "--changes", "-o", "json")
	assert.Equal(t, 0, res.code, res.stderr)
	assert.JSONEq(t, `{"routes": [], "changes": []}`, res.stdout)
}

// get and list are enough, and are all the reader may do; without list on
// one resource, check names the request that failed.
func TestReadOnlyPermissions(t *testing.T) {
	ctx := context.Background()
	reader, err := cp.ImpersonatingClient(readerUser, nil, nil)
	require.NoError(t, err)
	err = reader.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "written-by-the-reader"}})
	assert.True(t, apierrors.IsForbidden(err), "the reader may not write: %v", err)
	res := cluster(t, "", "-o", "json")
	assert.Equal(t, 1, res.code, res.stderr)
	assert.Len(t, decode(t, res.stdout).Routes, 3)

	res = check(t, nil, "", "--cluster", "--kubeconfig", partial)
	assert.Equal(t, 2, res.code)
	assert.Empty(t, res.stdout)
	assert.Equal(t, `Error: listing httproutes.gateway.networking.k8s.io: httproutes.gateway.networking.k8s.io is forbidden: `+
		`User "ci-partial" cannot list resource "httproutes" in API group "gateway.networking.k8s.io" at the cluster scope`+"\n", res.stderr)
}

// The kubeconfig is found as kubectl finds it: $KUBECONFIG, --context.
func TestKubeconfigAsKubectl(t *testing.T) {
	res := check(t, []string{"KUBECONFIG=" + readOnly}, "", "--cluster", "-o", "json")
	assert.Equal(t, 1, res.code, res.stderr)
	assert.Len(t, decode(t, res.stdout).Routes, 3)

	// Two contexts: the current one acts as a user bound to nothing.
	cfg, err := clientcmd.LoadFromFile(readOnly)
	require.NoError(t, err)
	current := cfg.Contexts[cfg.CurrentContext]
	require.NotNil(t, current)
	reader := *current
	cfg.Contexts["reader"] = &reader
	nobody := *cfg.AuthInfos[current.AuthInfo]
	nobody.Impersonate = "nobody"
	cfg.AuthInfos["nobody"] = &nobody
	current.AuthInfo = "nobody"
	two := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, two))

	res = check(t, []string{"KUBECONFIG=" + two}, "", "--cluster")
	assert.Equal(t, 2, res.code)
	// Every list is refused; the first refusal is the error.
	assert.Regexp(t, `^Error: listing (\S+): (\S+) is forbidden: User "nobody" cannot list resource "[a-z]+" in API group "[a-z0-9.]*" at the cluster scope\n$`, res.stderr)
	res = check(t, []string{"KUBECONFIG=" + two}, "", "--cluster", "--context", "reader", "-o", "json")
	assert.Equal(t, 1, res.code, res.stderr)
	assert.Len(t, decode(t, res.stdout).Routes, 3)
}
