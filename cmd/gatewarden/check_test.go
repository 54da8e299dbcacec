package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = "../../config/samples/shared-gateway"

func runCheck(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = execute(append([]string{"check"}, args...), streams{in: strings.NewReader(stdin), out: &out, err: &errOut})
	return code, out.String(), errOut.String()
}

// The contract of docs/design.md section 5, field by field.
type checkJSON struct {
	Routes []struct {
		Kind      string `json:"kind"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Verdict   string `json:"verdict"`
		Parents   []struct {
			Group       string `json:"group"`
			Kind        string `json:"kind"`
			Namespace   string `json:"namespace"`
			Name        string `json:"name"`
			SectionName string `json:"sectionName"`
			Port        int    `json:"port"`
			Accepted    string `json:"accepted"`
			Reason      string `json:"reason"`
			Message     string `json:"message"`
		} `json:"parents"`
		Warnings []string `json:"warnings"`
	} `json:"routes"`
}

func TestCheckExampleScenario(t *testing.T) {
	code, out, stderr := runCheck(t, "", "-f", sample, "-o", "json")
	assert.Equal(t, exitDenied, code, stderr)

	// Exactly one JSON object, whose one key is routes.
	dec := json.NewDecoder(strings.NewReader(out))
	var raw map[string]json.RawMessage
	require.NoError(t, dec.Decode(&raw))
	_, err := dec.Token()
	assert.ErrorIs(t, err, io.EOF, "nothing after the one object")
	assert.Len(t, raw, 1)
	var got checkJSON
	require.NoError(t, json.Unmarshal(raw["routes"], &got.Routes))

	require.Len(t, got.Routes, 3)
	byName := map[string]int{}
	for i, r := range got.Routes {
		byName[r.Name] = i
		assert.Equal(t, "HTTPRoute", r.Kind)
		assert.NotNil(t, r.Warnings, "warnings is [] rather than null")
		require.Len(t, r.Parents, 1)
		p := r.Parents[0]
		assert.Equal(t, "gateway.networking.k8s.io", p.Group)
		assert.Equal(t, "Gateway", p.Kind)
		assert.Equal(t, "infra-ns", p.Namespace)
		assert.Equal(t, "shared-gateway", p.Name)
		assert.Equal(t, "", p.SectionName)
		assert.Equal(t, 0, p.Port)
	}
	assert.Equal(t, []string{"careers", "product", "hr"}, []string{got.Routes[0].Name, got.Routes[1].Name, got.Routes[2].Name}, "input order")
	for _, name := range []string{"careers", "product"} {
		r := got.Routes[byName[name]]
		assert.Equal(t, "allow", r.Verdict)
		assert.Equal(t, "True", r.Parents[0].Accepted)
		assert.Equal(t, "Accepted", r.Parents[0].Reason)
	}
	hr := got.Routes[byName["hr"]]
	assert.Equal(t, "deny", hr.Verdict)
	assert.Equal(t, "False", hr.Parents[0].Accepted)
	assert.Equal(t, "NotAllowedByListeners", hr.Parents[0].Reason)
	assert.Contains(t, hr.Parents[0].Message, "shared-gateway-access=true")
	assert.Contains(t, hr.Parents[0].Message, "label namespace hr")
}

func TestCheckText(t *testing.T) {
	code, out, _ := runCheck(t, "", "-f", sample)
	assert.Equal(t, exitDenied, code)
	lines := strings.Split(out, "\n")
	assert.Regexp(t, `^ROUTE\s+PARENT\s+VERDICT\s+REASON\s+MESSAGE$`, lines[0])
	assert.Regexp(t, `^HTTPRoute hr/hr\s+Gateway infra-ns/shared-gateway\s+deny\s+NotAllowedByListeners\s+Gateway infra-ns/shared-gateway listener "http"`, lines[3])
	assert.Contains(t, out, "3 routes: 1 denied, 0 warned, 2 allowed.")
	assert.NotContains(t, out, "\x1b[", "no colour when the output is not a terminal")

	_, out, _ = runCheck(t, "", "-f", sample, "--color", "always")
	assert.Contains(t, out, "\x1b[31mdeny\x1b[0m")
}

func TestCheckWarnModeExitsZero(t *testing.T) {
	code, out, _ := runCheck(t, "", "-f", sample, "-o", "json", "--route-enforcement", "warn")
	assert.Equal(t, exitOK, code)
	var got checkJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	hr := got.Routes[2]
	assert.Equal(t, "warn", hr.Verdict)
	require.Len(t, hr.Warnings, 1)
	assert.True(t, strings.HasPrefix(hr.Warnings[0], "spec.parentRefs[0]: Gateway infra-ns/shared-gateway"), hr.Warnings[0])
}

func TestCheckStdinAndMultipleFiles(t *testing.T) {
	ns, err := os.ReadFile(filepath.Join(sample, "00-namespaces.yaml"))
	require.NoError(t, err)
	code, out, stderr := runCheck(t, string(ns), "-f", "-", "-f", filepath.Join(sample, "01-gateway.yaml"), "-f", filepath.Join(sample, "10-careers.yaml"), "-o", "json")
	assert.Equal(t, exitOK, code, stderr)
	var got checkJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got.Routes, 1)
	assert.Equal(t, "allow", got.Routes[0].Verdict)
}

func TestCheckBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {namespace: a}\n"), 0o644))

	tests := []struct {
		name   string
		stdin  string
		args   []string
		stderr string
	}{
		{"route without a name", "", []string{"-f", bad}, bad + ": document 2: HTTPRoute has no metadata.name"},
		{"invalid YAML on stdin", "kind: [\n", []string{"-f", "-"}, "<stdin>: document 1: not valid YAML or JSON"},
		{"missing file", "", []string{"-f", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"no -f", "", nil, "check needs at least one -f PATH, or --cluster"},
		{"--delete without --cluster", "", []string{"-f", sample, "--delete", sample}, "--delete and --changes compare with the cluster: add --cluster"},
		{"--changes without --cluster", "", []string{"-f", sample, "--changes"}, "--delete and --changes compare with the cluster: add --cluster"},
		{"--changes without files", "", []string{"--cluster", "--changes"}, "--changes needs the files of a change: -f PATH or --delete PATH"},
		{"stdin twice", "", []string{"--cluster", "-f", "-", "--delete", "-"}, "- (standard input) can be read only once"},
		{"--gateway without a namespace", "", []string{"-f", sample, "--gateway", "shared-gateway"}, `--gateway "shared-gateway" is not NAMESPACE/NAME`},
		{"negative --chunk-size", "", []string{"--cluster", "--chunk-size", "-1"}, "--chunk-size -1 is negative"},
		{"bad file with --cluster, before the cluster is read", "", []string{"--cluster", "--kubeconfig", "/nonexistent", "-f", bad}, bad + ": document 2: HTTPRoute has no metadata.name"},
		{"missing kubeconfig", "", []string{"--cluster", "--kubeconfig", filepath.Join(dir, "nope")}, "loading the kubeconfig: "},
		{"unreachable cluster", "", []string{"--cluster", "--kubeconfig", unreachable(t, dir)}, "cannot reach the cluster at https://127.0.0.1:1: "},
		{"unknown output", "", []string{"-f", sample, "-o", "yaml"}, `--output "yaml" is not text or json`},
		{"unknown mode", "", []string{"-f", sample, "--route-enforcement", "block"}, `enforcement mode "block" is not one of deny, warn, off`},
		{"off mode", "", []string{"-f", sample, "--route-enforcement", "off"}, "deny or warn"},
		{"unknown flag", "", []string{"--nope"}, "unknown flag: --nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runCheck(t, tt.stdin, tt.args...)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, stderr, tt.stderr)
			assert.Empty(t, out, "nothing on stdout when the input is bad")
		})
	}
}

// unreachable writes a kubeconfig whose API server refuses connections.
func unreachable(t *testing.T, dir string) string {
	path := filepath.Join(dir, "unreachable.kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600))
	return path
}

// --gateway keeps the routes that name one Gateway, also offline.
func TestCheckGatewayFilter(t *testing.T) {
	code, out, stderr := runCheck(t, "", "-f", sample, "-o", "json", "--gateway", "infra-ns/shared-gateway")
	assert.Equal(t, exitDenied, code, stderr)
	var got checkJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Len(t, got.Routes, 3)

	code, out, stderr = runCheck(t, "", "-f", sample, "-o", "json", "--gateway", "infra-ns/other")
	assert.Equal(t, exitOK, code, "nothing denied among the routes shown: %s", stderr)
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Empty(t, got.Routes)
}

// Offline, -n is only the namespace of objects that name none, as kubectl
// apply -n: it does not hide the routes of other namespaces.
func TestCheckNamespaceOfflineDoesNotFilter(t *testing.T) {
	code, out, stderr := runCheck(t, "", "-f", sample, "-o", "json", "-n", "careers")
	assert.Equal(t, exitDenied, code, stderr)
	var got checkJSON
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Len(t, got.Routes, 3)
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	code := execute([]string{"version"}, streams{out: &out, err: &out})
	assert.Equal(t, exitOK, code)
	assert.Regexp(t, `^gatewarden \S+ \(go1\.`, out.String())
}

const secondAct = "../../config/samples/listenersets"

// The contract of docs/design.md section 5 for ListenerSets, field by field.
type listenerSetJSON struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Verdict   string `json:"verdict"`
	Parents   []struct {
		Group       string `json:"group"`
		Kind        string `json:"kind"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		SectionName string `json:"sectionName"`
		Port        int    `json:"port"`
		Accepted    string `json:"accepted"`
		Reason      string `json:"reason"`
		Message     string `json:"message"`
		Verdict     string `json:"verdict"`
	} `json:"parents"`
	Warnings []string `json:"warnings"`
	File     string   `json:"file"`
	Document int      `json:"document"`
}

func TestCheckListenerSets(t *testing.T) {
	code, out, stderr := runCheck(t, "", "-f", sample, "-f", secondAct, "-o", "json")
	assert.Equal(t, exitDenied, code, stderr)

	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &raw))
	assert.Len(t, raw, 2, "routes and listenerSets")
	var got checkJSON
	require.NoError(t, json.Unmarshal(raw["routes"], &got.Routes))
	var sets []listenerSetJSON
	require.NoError(t, json.Unmarshal(raw["listenerSets"], &sets))

	require.Len(t, got.Routes, 4)
	site := got.Routes[3]
	assert.Equal(t, "careers/careers-site allow", site.Namespace+"/"+site.Name+" "+site.Verdict)
	require.Len(t, site.Parents, 1)
	p := site.Parents[0]
	assert.Equal(t, "gateway.networking.k8s.io ListenerSet careers/careers-listeners careers 0 True Accepted",
		fmt.Sprintf("%s %s %s/%s %s %d %s %s", p.Group, p.Kind, p.Namespace, p.Name, p.SectionName, p.Port, p.Accepted, p.Reason),
		"a parentRef to a ListenerSet, its sectionName naming the ListenerSet's listener")

	require.Len(t, sets, 2)
	careers, hr := sets[0], sets[1]
	assert.Equal(t, "ListenerSet careers/careers-listeners allow", careers.Kind+" "+careers.Namespace+"/"+careers.Name+" "+careers.Verdict)
	assert.Equal(t, filepath.Join(secondAct, "20-careers-listeners.yaml"), careers.File)
	assert.Equal(t, 1, careers.Document)
	assert.Equal(t, "ListenerSet hr/hr-listeners deny", hr.Kind+" "+hr.Namespace+"/"+hr.Name+" "+hr.Verdict)
	assert.NotNil(t, hr.Warnings, "warnings is [] rather than null")
	require.Len(t, hr.Parents, 1, "its one parent is its spec.parentRef")
	hp := hr.Parents[0]
	assert.Equal(t, "gateway.networking.k8s.io Gateway infra-ns/shared-gateway  0 False NotAllowed deny",
		fmt.Sprintf("%s %s %s/%s %s %d %s %s %s", hp.Group, hp.Kind, hp.Namespace, hp.Name, hp.SectionName, hp.Port, hp.Accepted, hp.Reason, hp.Verdict))
	assert.Contains(t, hp.Message, "accepts ListenerSets only from namespaces matching shared-gateway-access=true")
}

// Exit 1 when a ListenerSet is denied, also when no route is.
func TestCheckListenerSetExitCodes(t *testing.T) {
	tests := []struct {
		args []string
		code int
		hr   string
	}{
		{[]string{"--route-enforcement", "warn"}, exitDenied, "deny"},
		{[]string{"--route-enforcement", "warn", "--listenerset-enforcement", "deny"}, exitDenied, "deny"},
		{[]string{"--route-enforcement", "warn", "--listenerset-enforcement", "warn"}, exitOK, "warn"},
		{[]string{"--route-enforcement", "warn", "--listenerset-enforcement", "off"}, exitOK, "allow"},
		{[]string{"--listenerset-enforcement", "warn"}, exitDenied, "warn"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, stderr := runCheck(t, "", append([]string{"-f", sample, "-f", secondAct, "-o", "json"}, tt.args...)...)
			assert.Equal(t, tt.code, code, stderr)
			var got struct{ ListenerSets []listenerSetJSON }
			require.NoError(t, json.Unmarshal([]byte(out), &got))
			require.Len(t, got.ListenerSets, 2)
			assert.Equal(t, tt.hr, got.ListenerSets[1].Verdict)
		})
	}

	code, out, stderr := runCheck(t, "", "-f", sample, "-f", secondAct, "--listenerset-enforcement", "block")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, stderr, `invalid argument "block" for "--listenerset-enforcement" flag: enforcement mode "block" is not one of deny, warn, off`)
}

func TestCheckListenerSetsText(t *testing.T) {
	code, out, _ := runCheck(t, "", "-f", sample, "-f", secondAct)
	assert.Equal(t, exitDenied, code)
	assert.Regexp(t, `(?m)^HTTPRoute careers/careers-site\s+ListenerSet careers/careers-listeners#careers\s+allow\s+Accepted\s+Accepted by ListenerSet careers/careers-listeners listener "careers".$`, out)
	assert.Regexp(t, `(?m)^LISTENERSET\s+PARENT\s+VERDICT\s+REASON\s+MESSAGE$`, out)
	assert.Regexp(t, `(?m)^ListenerSet hr/hr-listeners\s+Gateway infra-ns/shared-gateway\s+deny\s+NotAllowed\s+Gateway infra-ns/shared-gateway accepts ListenerSets only from namespaces matching shared-gateway-access=true; namespace "hr" does not match.`, out)
	assert.Contains(t, out, "\n4 routes: 1 denied, 0 warned, 3 allowed; 2 ListenerSets: 1 denied, 0 warned, 1 allowed.\n")
}

// --gateway keeps the Gateway's ListenerSets and the routes through them.
func TestCheckGatewayFilterListenerSets(t *testing.T) {
	code, out, stderr := runCheck(t, "", "-f", sample, "-f", secondAct, "-o", "json", "--gateway", "infra-ns/shared-gateway")
	assert.Equal(t, exitDenied, code, stderr)
	var got struct {
		Routes       []struct{ Name string }
		ListenerSets []struct{ Name string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Len(t, got.Routes, 4)
	assert.Len(t, got.ListenerSets, 2)

	code, out, stderr = runCheck(t, "", "-f", sample, "-f", secondAct, "-o", "json", "--gateway", "infra-ns/other")
	assert.Equal(t, exitOK, code, stderr)
	assert.JSONEq(t, `{"routes": [], "listenerSets": []}`, out)
}

func TestCheckHelpNamesListenerSets(t *testing.T) {
	code, out, _ := runCheck(t, "", "--help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "check reads Namespaces, Gateways, ListenerSets, ReferenceGrants and routes")
	assert.Regexp(t, `--listenerset-enforcement mode\s+what a ListenerSet its Gateway does not accept is: deny, warn or off .*\(default deny\)`, out)
}
