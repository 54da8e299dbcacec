package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/manifest"
)

// updateGolden regenerates the golden verdicts: UPDATE_GOLDEN=true go test ./pkg/report/
// Review the diff before committing it: the golden files are the spec.
var updateGolden = os.Getenv("UPDATE_GOLDEN") == "true"

// conformanceModulePath is the Gateway API conformance suite, a module of its
// own; test/tools/conformance/go.mod pins its version.
const conformanceModulePath = "sigs.k8s.io/gateway-api/conformance"

// conformanceModule returns the folder and the version of the conformance
// module that test/tools/conformance requires. `go mod download -json`
// downloads it into the module cache when it is not there yet (`go list -m`
// would leave Dir empty), and does nothing more when it is.
var conformanceModule = sync.OnceValues(func() (module, error) {
	cmd := exec.Command("go", "mod", "download", "-json", conformanceModulePath)
	cmd.Dir = filepath.Join("..", "..", "test", "tools", "conformance")
	out, err := cmd.Output()
	var m module
	if jsonErr := json.Unmarshal(out, &m); jsonErr != nil {
		return m, errors.Join(err, jsonErr)
	}
	if m.Error != "" || m.Dir == "" {
		return m, fmt.Errorf("go mod download %s: %s", conformanceModulePath, m.Error)
	}
	return m, nil
})

type module struct {
	Dir, Version, Error string
}

// scenario is one golden file: the check JSON of the objects read from
// paths, in order.
type scenario struct {
	name  string
	paths []string
	// source names the file in the golden file when it is read from
	// outside the repository (the module cache), where its path is not
	// the same on every machine.
	source string
}

func read(t *testing.T, sc scenario) []manifest.Object {
	t.Helper()
	if sc.source == "" {
		objs, err := manifest.Read(sc.paths, nil, manifest.Options{})
		require.NoError(t, err)
		return objs
	}
	f, err := os.Open(sc.paths[0])
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	objs, err := manifest.Decode(sc.source, f, manifest.Options{})
	require.NoError(t, err)
	return objs
}

// conformanceScenarios are the conformance suite's ListenerSet manifests,
// read from the module as they are: {GATEWAY_CLASS_NAME} placeholders, and
// namespaces the suite creates, which the input does not hold (they exist
// with only their name label, as section 5 says).
func conformanceScenarios(t *testing.T) []scenario {
	t.Helper()
	m, err := conformanceModule()
	require.NoError(t, err, "locating %s from test/tools/conformance", conformanceModulePath)
	files, err := filepath.Glob(filepath.Join(m.Dir, "tests", "listenerset-*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no tests/listenerset-*.yaml in %s", m.Dir)
	out := make([]scenario, 0, len(files))
	for _, f := range files {
		stem := strings.TrimSuffix(filepath.Base(f), ".yaml")
		out = append(out, scenario{
			name:   "conformance/" + stem,
			paths:  []string{f},
			source: conformanceModulePath + "@" + m.Version + "/tests/" + filepath.Base(f),
		})
	}
	return out
}

// TestScenarios evaluates every scenario folder, the example scenario the
// README shows (both acts), and the conformance suite's ListenerSet
// manifests, and compares the check JSON with its golden file.
func TestScenarios(t *testing.T) {
	dirs, err := filepath.Glob("testdata/scenarios/*")
	require.NoError(t, err)
	require.Greater(t, len(dirs), 5)
	var scenarios []scenario
	for _, dir := range dirs {
		scenarios = append(scenarios, scenario{name: filepath.Base(dir), paths: []string{dir}})
	}
	const samples = "../../config/samples/"
	scenarios = append(scenarios,
		scenario{name: "shared-gateway", paths: []string{samples + "shared-gateway"}},
		scenario{name: "shared-gateway-listenersets", paths: []string{samples + "shared-gateway", samples + "listenersets"}},
	)
	scenarios = append(scenarios, conformanceScenarios(t)...)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			rep, err := Build(read(t, sc), Deny)
			require.NoError(t, err)
			var got bytes.Buffer
			require.NoError(t, rep.WriteJSON(&got))

			golden := filepath.Join("testdata", "golden", filepath.FromSlash(sc.name)+".json")
			if updateGolden {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, got.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "no golden file: run UPDATE_GOLDEN=true go test ./pkg/report/")
			assert.JSONEq(t, string(want), got.String())
		})
	}
}

// The conformance module must be the release of the gateway-api module
// gatewarden builds with: its manifests use the API of that release.
func TestConformanceModuleVersion(t *testing.T) {
	m, err := conformanceModule()
	require.NoError(t, err)
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "sigs.k8s.io/gateway-api")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSpace(string(out)), m.Version,
		"test/tools/conformance/go.mod requires %s at another version than go.mod requires sigs.k8s.io/gateway-api", conformanceModulePath)
}

// conformanceVerdicts are what the Go test of each ListenerSet manifest of
// the conformance suite (tests/listenerset-*.go) asserts, as check says it:
//
//	"ListenerSet ns/name": its Accepted condition, status/reason.
//	"ListenerSet ns/name listener L": "Conflicted/<reason>" for a listener
//	    that loses to one that takes precedence, "ResolvedRefs/RefNotPermitted"
//	    for one whose certificateRef is not granted, "usable" otherwise.
//	"<route> -> <parent>": the route's Accepted condition for that parent.
//	"Gateway ns/name": how many ListenerSets it accepts (the conformance
//	    tests' GatewayMustHaveAttachedListeners).
//
// The golden files hold every verdict and message; these are the ones the
// conformance suite pins, so that a golden file regenerated with a wrong
// verdict fails here even when its diff is approved.
var conformanceVerdicts = map[string]map[string]string{
	"listenerset-allowed-namespace-none": {
		"Gateway gateway-conformance-infra/gateway-does-not-allow-listenerset": "0",
		"ListenerSet gateway-conformance-infra/listenerset-not-allowed":        "False/NotAllowed",
	},
	"listenerset-default-not-allowed": {
		"Gateway gateway-conformance-infra/gateway-default-does-not-allow-listenerset": "0",
		"ListenerSet gateway-conformance-infra/listenerset-default-not-allowed":        "False/NotAllowed",
	},
	"listenerset-allowed-namespace-same": {
		"Gateway gateway-conformance-infra/gateway-allows-listenerset-in-same-namespace":                                      "1",
		"ListenerSet gateway-conformance-infra/listenerset-in-same-namespace":                                                 "True/Accepted",
		"ListenerSet gateway-conformance-infra/listenerset-in-same-namespace listener listenerset-in-same-namespace-listener": "usable",
		"ListenerSet gateway-api-listenerset-not-allowed-ns/listenerset-in-different-namespace":                               "False/NotAllowed",
	},
	"listenerset-allowed-namespace-selector": {
		"Gateway gateway-conformance-infra/gateway-allows-listenerset-in-selected-namespace":                                                            "1",
		"ListenerSet gateway-api-listenerset-selector-allowed-ns/listenerset-in-selected-namespace":                                                     "True/Accepted",
		"ListenerSet gateway-api-listenerset-selector-allowed-ns/listenerset-in-selected-namespace listener listenerset-in-selected-namespace-listener": "usable",
		"ListenerSet gateway-api-listenerset-selector-not-allowed-ns/listenerset-not-in-selected-namespace":                                             "False/NotAllowed",
	},
	"listenerset-allowed-routes-namespaces": {
		"Gateway gateway-conformance-infra/gateway-with-listener-sets-test-allowed-routes":                                                                                "2",
		"HTTPRoute gateway-conformance-infra/route-in-same-namespace -> ListenerSet gateway-conformance-infra/listenerset-test-allowed-routes-namespaces":                 "True/Accepted",
		"HTTPRoute gateway-api-routes-allowed-ns/route-in-selected-namespace -> ListenerSet gateway-conformance-infra/listenerset-test-allowed-routes-namespaces":         "True/Accepted",
		"HTTPRoute gateway-api-routes-not-allowed-ns/route-not-in-selected-namespace -> ListenerSet gateway-conformance-infra/listenerset-test-allowed-routes-namespaces": "True/Accepted",
		// Same is the ListenerSet's namespace, not the Gateway's.
		"HTTPRoute gateway-api-ls-cross-ns/route-in-listenerset-namespace -> ListenerSet gateway-api-ls-cross-ns/listenerset-test-allowed-routes-cross-ns": "True/Accepted",
		"HTTPRoute gateway-conformance-infra/route-in-gateway-namespace -> ListenerSet gateway-api-ls-cross-ns/listenerset-test-allowed-routes-cross-ns":   "False/NotAllowedByListeners",
	},
	"listenerset-allowed-routes-supported-kinds": {
		// The conformance test asserts the listener's ResolvedRefs
		// InvalidRouteKinds (a TLS Passthrough listener that lists only
		// HTTPRoute supports no kind): check warns about the listener, and
		// the route added below attaches to nothing.
		"ListenerSet gateway-conformance-infra/listenerset-test-allowed-routes-supported-kinds listener listener-set-listener-allowed-routes-tls-only": "ResolvedRefs/InvalidRouteKinds",
		"HTTPRoute gateway-conformance-infra/probe -> ListenerSet gateway-conformance-infra/listenerset-test-allowed-routes-supported-kinds":           "False/NotAllowedByListeners",
	},
	"listenerset-dual-parentref-independence": {
		"Gateway gateway-conformance-infra/gateway-dual-parentref":                                                                                            "1",
		"HTTPRoute gateway-conformance-infra/route-dual-parentref-both -> Gateway gateway-conformance-infra/gateway-dual-parentref":                           "True/Accepted",
		"HTTPRoute gateway-conformance-infra/route-dual-parentref-both -> ListenerSet gateway-conformance-infra/ls-dual-parentref":                            "True/Accepted",
		"HTTPRoute gateway-conformance-infra/route-dual-parentref-one -> Gateway gateway-conformance-infra/gateway-dual-parentref#ls-dual-parentref-listener": "False/NoMatchingParent",
		"HTTPRoute gateway-conformance-infra/route-dual-parentref-one -> ListenerSet gateway-conformance-infra/ls-dual-parentref#ls-dual-parentref-listener":  "True/Accepted",
	},
	"listenerset-gateway-parent-section-name-not-found": {
		"Gateway gateway-conformance-infra/gateway-section-name": "1",
		"HTTPRoute gateway-conformance-infra/route-via-listenerset -> ListenerSet gateway-conformance-infra/listenerset-section-name#ls-only-listener": "True/Accepted",
		"HTTPRoute gateway-conformance-infra/route-via-gateway -> Gateway gateway-conformance-infra/gateway-section-name#ls-only-listener":             "False/NoMatchingParent",
	},
	// Precedence: these manifests carry no creationTimestamp, so the
	// ListenerSets are ordered by namespace/name, which here is also the
	// order the conformance suite creates them in (…-gateway-1, …-gateway-2,
	// …-listener-set-1, …-listener-set-2): the suite creates them within a
	// second, whose creationTimestamps are equal, so it relies on that
	// order too. That is why hostname-conflict-with-listener-set-listener
	// is usable in …-gateway-1 and conflicted in …-listener-set-1.
	"listenerset-hostname-conflict": {
		"Gateway gateway-conformance-infra/gateway-with-listenerset-hostname-conflict":                                                                       "2",
		"ListenerSet gateway-conformance-infra/listenerset-with-hostname-conflict-with-gateway-1":                                                            "True/Accepted",
		"ListenerSet gateway-conformance-infra/listenerset-with-hostname-conflict-with-gateway-1 listener listener-set-1-listener":                           "usable",
		"ListenerSet gateway-conformance-infra/listenerset-with-hostname-conflict-with-gateway-1 listener hostname-conflict-with-gateway-listener":           "Conflicted/HostnameConflict",
		"ListenerSet gateway-conformance-infra/listenerset-with-hostname-conflict-with-gateway-1 listener hostname-conflict-with-listener-set-listener":      "usable",
		"ListenerSet gateway-conformance-infra/listenerset-with-hostname-conflict-with-gateway-2":                                                            "False/ListenersNotValid",
		"ListenerSet gateway-conformance-infra/listenerset-with-hostname-conflict-with-gateway-2 listener hostname-conflict-with-gateway-listener":           "Conflicted/HostnameConflict",
		"ListenerSet gateway-conformance-infra/listenerset-with-hostname-conflict-with-listener-set-1":                                                       "True/Accepted",
		"ListenerSet gateway-conformance-infra/listenerset-with-hostname-conflict-with-listener-set-1 listener listener-set-2-listener":                      "usable",
		"ListenerSet gateway-conformance-infra/listenerset-with-hostname-conflict-with-listener-set-1 listener hostname-conflict-with-listener-set-listener": "Conflicted/HostnameConflict",
		"ListenerSet gateway-conformance-infra/listenerset-with-hostname-conflict-with-listener-set-2":                                                       "False/ListenersNotValid",
		"ListenerSet gateway-conformance-infra/listenerset-with-hostname-conflict-with-listener-set-2 listener hostname-conflict-with-listener-set-listener": "Conflicted/HostnameConflict",
	},
	// The same precedence as listenerset-hostname-conflict.
	"listenerset-protocol-conflict": {
		"Gateway gateway-conformance-infra/gateway-with-listenerset-protocol-conflict":                                                                       "2",
		"ListenerSet gateway-conformance-infra/listenerset-with-protocol-conflict-with-gateway-1":                                                            "True/Accepted",
		"ListenerSet gateway-conformance-infra/listenerset-with-protocol-conflict-with-gateway-1 listener listener-set-1-listener":                           "usable",
		"ListenerSet gateway-conformance-infra/listenerset-with-protocol-conflict-with-gateway-1 listener protocol-conflict-with-gateway-listener":           "Conflicted/ProtocolConflict",
		"ListenerSet gateway-conformance-infra/listenerset-with-protocol-conflict-with-gateway-1 listener protocol-conflict-with-listener-set-listener":      "usable",
		"ListenerSet gateway-conformance-infra/listenerset-with-protocol-conflict-with-gateway-2":                                                            "False/ListenersNotValid",
		"ListenerSet gateway-conformance-infra/listenerset-with-protocol-conflict-with-gateway-2 listener protocol-conflict-with-gateway-listener":           "Conflicted/ProtocolConflict",
		"ListenerSet gateway-conformance-infra/listenerset-with-protocol-conflict-with-listener-set-1":                                                       "True/Accepted",
		"ListenerSet gateway-conformance-infra/listenerset-with-protocol-conflict-with-listener-set-1 listener listener-set-2-listener":                      "usable",
		"ListenerSet gateway-conformance-infra/listenerset-with-protocol-conflict-with-listener-set-1 listener protocol-conflict-with-listener-set-listener": "Conflicted/ProtocolConflict",
		"ListenerSet gateway-conformance-infra/listenerset-with-protocol-conflict-with-listener-set-2":                                                       "False/ListenersNotValid",
		"ListenerSet gateway-conformance-infra/listenerset-with-protocol-conflict-with-listener-set-2 listener protocol-conflict-with-listener-set-listener": "Conflicted/ProtocolConflict",
	},
	"listenerset-http-routing": {
		"Gateway gateway-conformance-infra/gateway-with-listener-sets-http-routing":                                                                                                                 "2",
		"HTTPRoute gateway-conformance-infra/attaches-to-all-listeners -> Gateway gateway-conformance-infra/gateway-with-listener-sets-http-routing":                                                "True/Accepted",
		"HTTPRoute gateway-conformance-infra/attaches-to-all-listeners -> ListenerSet gateway-conformance-infra/listener-set-http-routing-1":                                                        "True/Accepted",
		"HTTPRoute gateway-conformance-infra/attaches-to-all-listeners -> ListenerSet gateway-conformance-infra/listener-set-http-routing-2":                                                        "True/Accepted",
		"HTTPRoute gateway-conformance-infra/gateway-route -> Gateway gateway-conformance-infra/gateway-with-listener-sets-http-routing":                                                            "True/Accepted",
		"HTTPRoute gateway-conformance-infra/gateway-section-route -> Gateway gateway-conformance-infra/gateway-with-listener-sets-http-routing#gateway-listener-1":                                 "True/Accepted",
		"HTTPRoute gateway-conformance-infra/listener-set-http-routing-1-route -> ListenerSet gateway-conformance-infra/listener-set-http-routing-1":                                                "True/Accepted",
		"HTTPRoute gateway-conformance-infra/listener-set-http-routing-1-section-route -> ListenerSet gateway-conformance-infra/listener-set-http-routing-1#listener-set-http-routing-1-listener-1": "True/Accepted",
		"HTTPRoute gateway-conformance-infra/listener-set-http-routing-2-route -> ListenerSet gateway-conformance-infra/listener-set-http-routing-2":                                                "True/Accepted",
	},
	"listenerset-reference-grant": {
		"ListenerSet gateway-conformance-infra/listenerset-with-reference-grant":                                                                                  "True/Accepted",
		"ListenerSet gateway-conformance-infra/listenerset-with-reference-grant listener listenerset-with-reference-grant-listener":                               "usable",
		"ListenerSet gateway-api-listener-sets-test-reference-grant-ns/listenerset-without-reference-grant":                                                       "False/ListenersNotValid",
		"ListenerSet gateway-api-listener-sets-test-reference-grant-ns/listenerset-without-reference-grant listener listenerset-without-reference-grant-listener": "ResolvedRefs/RefNotPermitted",
	},
	"listenerset-route-status-scoped-to-parentref": {
		"Gateway gateway-conformance-infra/gateway-parentref":                                                                       "1",
		"HTTPRoute gateway-conformance-infra/route-parentref-gwonly -> Gateway gateway-conformance-infra/gateway-parentref":         "True/Accepted",
		"HTTPRoute gateway-conformance-infra/route-parentref-lsonly -> ListenerSet gateway-conformance-infra/listenerset-parentref": "True/Accepted",
	},
}

// conformanceExtra are objects a case adds to the manifest, to ask check
// what the conformance test asserts in a way check does not print.
var conformanceExtra = map[string]string{
	"listenerset-allowed-routes-supported-kinds": `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: probe, namespace: gateway-conformance-infra}
spec:
  parentRefs: [{kind: ListenerSet, name: listenerset-test-allowed-routes-supported-kinds}]
`,
}

func TestConformanceListenerSetVerdicts(t *testing.T) {
	scenarios := conformanceScenarios(t)
	stems := make([]string, 0, len(scenarios))
	for _, sc := range scenarios {
		stems = append(stems, strings.TrimPrefix(sc.name, "conformance/"))
	}
	assert.ElementsMatch(t, slices.Collect(maps.Keys(conformanceVerdicts)), stems,
		"every ListenerSet manifest of the conformance suite has its verdicts here, and only those")
	for _, sc := range scenarios {
		stem := strings.TrimPrefix(sc.name, "conformance/")
		t.Run(stem, func(t *testing.T) {
			objs := read(t, sc)
			if extra := conformanceExtra[stem]; extra != "" {
				more, err := manifest.Decode("extra.yaml", strings.NewReader(extra), manifest.Options{})
				require.NoError(t, err)
				objs = append(objs, more...)
			}
			rep, err := Build(objs, Deny)
			require.NoError(t, err)
			got := verdicts(t, rep, objs)
			want := conformanceVerdicts[stem]
			picked := map[string]string{}
			for subject := range want {
				picked[subject] = got[subject]
			}
			assert.Equal(t, want, picked)
		})
	}
}

// listenerWarning is how DecideListenerSet warns about a listener that
// accepts no route: a conflict with the reason, a certificateRef, or its
// route kinds.
var listenerWarning = regexp.MustCompile(`^spec\.listeners\[\d+\](\.tls\.certificateRefs\[\d+\]|\.allowedRoutes\.kinds)?: listener "([^"]+)" ` +
	`(?:conflicts with .*? \((\w+)\), which takes precedence|accepts no route)`)

// verdicts names each verdict of rep as conformanceVerdicts does.
func verdicts(t *testing.T, rep *Report, objs []manifest.Object) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, o := range objs {
		if ls, ok := o.Object.(*gatewayv1.ListenerSet); ok {
			for _, l := range ls.Spec.Listeners {
				got[fmt.Sprintf("ListenerSet %s/%s listener %s", ls.Namespace, ls.Name, l.Name)] = "usable"
			}
		}
		if gw, ok := o.Object.(*gatewayv1.Gateway); ok {
			got[fmt.Sprintf("Gateway %s/%s", gw.Namespace, gw.Name)] = "0"
		}
	}
	attached := map[string]int{}
	for i := range rep.ListenerSets {
		ls := &rep.ListenerSets[i]
		name := fmt.Sprintf("ListenerSet %s/%s", ls.Namespace, ls.Name)
		require.Len(t, ls.Parents, 1, name)
		p := ls.Parents[0]
		got[name] = p.Accepted + "/" + p.Reason
		if p.Accepted == "True" {
			attached[fmt.Sprintf("%s %s/%s", p.Kind, p.Namespace, p.Name)]++
		}
		for _, w := range ls.Warnings {
			m := listenerWarning.FindStringSubmatch(w)
			require.NotNil(t, m, "a warning about a listener: %s", w)
			verdict := "Conflicted/" + m[3]
			switch {
			case m[1] == ".allowedRoutes.kinds":
				verdict = "ResolvedRefs/InvalidRouteKinds"
			case m[1] != "":
				verdict = "ResolvedRefs/RefNotPermitted"
			}
			got[name+" listener "+m[2]] = verdict
		}
	}
	for gw, n := range attached {
		got[gw] = fmt.Sprint(n)
	}
	for j := range rep.Routes {
		r := &rep.Routes[j]
		for i := range r.Parents {
			p := &r.Parents[i]
			got[fmt.Sprintf("%s %s/%s -> %s", r.Kind, r.Namespace, r.Name, p.describe())] = p.Accepted + "/" + p.Reason
		}
	}
	return got
}
