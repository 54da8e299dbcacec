package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Status is the outcome of a check.
type Status string

// The statuses, from best to worst. Only FAIL makes the doctor exit non-zero:
// WARN is for what may be intended, or what could not be checked.
const (
	StatusOK   Status = "OK"
	StatusWarn Status = "WARN"
	StatusFail Status = "FAIL"
)

// Result is what one check found.
type Result struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Detail is one line: what was found.
	Detail string `json:"detail"`
	// Fix says what to do about it; empty when Status is OK.
	Fix string `json:"fix,omitempty"`
}

// Check examines one aspect of the installation.
type Check func(ctx context.Context, e *Env) Result

// Checks returns every check, in the order an operator should read them: a
// problem early in the list often explains those after it.
func Checks() []Check {
	return []Check{
		GatewayAPICRDs,
		WebhookConfiguration,
		Certificate,
		ServingCertificate,
		ServiceEndpoints,
		FailurePolicy,
		MatchConditions,
	}
}

// Discovery is the part of client-go's discovery client the checks use;
// *discovery.DiscoveryClient and discovery/fake.FakeDiscovery implement it.
type Discovery interface {
	ServerGroupsWithContext(ctx context.Context) (*metav1.APIGroupList, error)
	ServerResourcesForGroupVersionWithContext(ctx context.Context, groupVersion string) (*metav1.APIResourceList, error)
}

// Env is the installation the checks examine and how to read it.
type Env struct {
	// Client reads objects; its scheme must come from NewScheme.
	Client    client.Client
	Discovery Discovery

	// Namespace of the release: the Service, the Secret and the Certificate.
	Namespace         string
	WebhookConfigName string
	ServiceName       string
	// CertificateName is the cert-manager Certificate of the serving
	// certificate, looked for only when cert-manager's CRDs are served.
	CertificateName string
	// SelfSignedSecretName is the Secret gatewarden fills itself when
	// cert-manager is not used.
	SelfSignedSecretName string

	// Now returns the current time; time.Now when nil. For tests.
	Now func() time.Time
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// serviceHost is the name the API server dials and verifies.
func (e *Env) serviceHost() string {
	return e.ServiceName + "." + e.Namespace + ".svc"
}

// NewScheme returns a scheme with the built-in types and cert-manager's.
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("registering the built-in types: %w", err)
	}
	if err := cmv1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("registering the cert-manager types: %w", err)
	}
	return scheme, nil
}

// Report is the results of a run, in check order.
type Report struct {
	Checks []Result `json:"checks"`
}

// Run runs the checks one after the other. A check that cannot read what it
// needs reports it in its Result; Run itself does not fail.
func Run(ctx context.Context, e *Env, checks []Check) Report {
	r := Report{Checks: make([]Result, 0, len(checks))}
	for _, check := range checks {
		r.Checks = append(r.Checks, check(ctx, e))
	}
	return r
}

// Failed reports whether any check failed.
func (r Report) Failed() bool {
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			return true
		}
	}
	return false
}

// WriteText writes an aligned CHECK STATUS DETAIL table, then the fix of
// every check that is not OK.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Status, oneLine(c.Detail))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	var fixes strings.Builder
	for _, c := range r.Checks {
		if c.Status != StatusOK && c.Fix != "" {
			fmt.Fprintf(&fixes, "  %s: %s\n", c.Name, c.Fix)
		}
	}
	if fixes.Len() == 0 {
		return nil
	}
	if _, err := fmt.Fprintf(w, "\nFixes:\n%s", fixes.String()); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// WriteJSON writes the report as one JSON object: {"checks": [...]}.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// oneLine keeps an error message that spans lines (an aggregated API error)
// from breaking the table.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// ok, warn and fail build results; fix is dropped for ok.
func ok(name, detail string) Result {
	return Result{Name: name, Status: StatusOK, Detail: detail}
}

func warn(name, detail, fix string) Result {
	return Result{Name: name, Status: StatusWarn, Detail: detail, Fix: fix}
}

func fail(name, detail, fix string) Result {
	return Result{Name: name, Status: StatusFail, Detail: detail, Fix: fix}
}

// date formats a time for a detail line.
func date(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// until says how long is left before t, roughly, as an operator reads it.
func until(now, t time.Time) string {
	d := t.Sub(now)
	switch {
	case d < 0:
		return "expired " + date(t)
	case d < 48*time.Hour:
		return fmt.Sprintf("expires in %dh (%s)", int(d.Hours()), date(t))
	default:
		return fmt.Sprintf("expires in %dd (%s)", int(d.Hours()/24), date(t))
	}
}
