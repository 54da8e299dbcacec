// Command demo shows gatewarden at work on a local control plane: a real
// kube-apiserver and etcd (no Docker), the Gateway API CRDs, `gatewarden
// serve` behind a ValidatingWebhookConfiguration, and the example scenario
// applied with kubectl. `make demo` runs it; `make demo KEEP=1` leaves the
// control plane up until Ctrl-C and prints a kubeconfig to explore it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gatewarden/gatewarden/test/framework"
)

func main() {
	keep := os.Getenv("KEEP") != "" && os.Getenv("KEEP") != "0"
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, keep)
	stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, keep bool) (err error) {
	step("Starting a local control plane: kube-apiserver and etcd from bin/, Gateway API CRDs v1.6")
	cp, err := framework.Start(framework.Options{})
	if err != nil {
		return err
	}
	defer func() {
		step("Cleaning up: stopping kube-apiserver and etcd")
		err = errors.Join(err, cp.Stop())
	}()

	step("Starting `gatewarden serve` on 127.0.0.1 and registering the chart's ValidatingWebhookConfiguration")
	server, err := cp.StartGatewarden(ctx, "demo", nil)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, server.Stop(context.Background())) }()

	sample := func(name string) string {
		return filepath.Join(cp.Root, "config", "samples", "shared-gateway", name)
	}
	kubectl := func(args ...string) {
		fmt.Printf("\n$ kubectl %s\n", strings.Join(args, " "))
		res := cp.Kubectl(ctx, "", args...)
		fmt.Print(indent(res.Stdout), indent(res.Stderr))
	}

	step("The infra team's Namespaces and the shared Gateway (careers and product carry shared-gateway-access=true, hr does not)")
	kubectl("apply", "-f", sample("00-namespaces.yaml"))
	kubectl("apply", "-f", sample("01-gateway.yaml"))

	step("Each team applies its HTTPRoute: careers and product are admitted, hr is refused and told why")
	for _, team := range []string{"10-careers.yaml", "11-product.yaml", "12-hr.yaml"} {
		kubectl("apply", "-f", sample(team))
	}

	step("CI can ask the same question without writing anything: a server-side dry run")
	kubectl("apply", "--dry-run=server", "-f", sample("12-hr.yaml"))

	listenerSets := func(name string) string {
		return filepath.Join(cp.Root, "config", "samples", "listenersets", name)
	}
	step("The second handshake: careers adds its own listener for careers.example.com with a ListenerSet (the Gateway's allowedListeners selects the label careers carries)")
	kubectl("apply", "-f", listenerSets("20-careers-listeners.yaml"))

	step("hr tries the same, and gatewarden refuses its ListenerSet, saying why")
	kubectl("apply", "-f", listenerSets("22-hr-listeners.yaml"))

	step("careers' site attaches through careers' own listener")
	kubectl("apply", "-f", listenerSets("21-careers-site.yaml"))

	step("The infra team puts the Gateway in warn mode: hr is created, with a warning it cannot miss")
	kubectl("annotate", "gateway", "-n", "infra-ns", "shared-gateway", "gatewarden.dev/enforcement=warn")
	kubectl("apply", "-f", sample("12-hr.yaml"))

	step("The status reconciler writes gatewarden's verdict into each route's status")
	if err := waitForStatus(ctx, cp); err != nil {
		return err
	}
	kubectl("get", "httproutes", "-A", "-o", `custom-columns=ROUTE:.metadata.name,NAMESPACE:.metadata.namespace,`+
		`ACCEPTED:.status.parents[?(@.controllerName=="gatewarden.dev/attachment")].conditions[?(@.type=="Accepted")].status,`+
		`REASON:.status.parents[?(@.controllerName=="gatewarden.dev/attachment")].conditions[?(@.type=="Accepted")].reason`)

	step("Someone removes careers' label: the ListenerSet and the routes that would detach are named on the spot")
	kubectl("label", "namespace", "careers", "shared-gateway-access-")

	step("Offline, for CI: `gatewarden check` on the same manifests")
	bin, err := cp.Gatewarden()
	if err != nil {
		return err
	}
	fmt.Printf("\n$ gatewarden check -f config/samples/shared-gateway -f config/samples/listenersets\n")
	out, _ := runCommand(ctx, bin, "check", "-f", filepath.Join(cp.Root, "config", "samples", "shared-gateway"),
		"-f", filepath.Join(cp.Root, "config", "samples", "listenersets"))
	fmt.Print(indent(out))

	if keep {
		step("The control plane stays up until Ctrl-C")
		fmt.Printf("  export KUBECONFIG=%s\n  kubectl get httproutes -A\n", cp.Kubeconfig)
		<-ctx.Done()
	}
	return nil
}

// waitForStatus waits until the reconciler has written an entry on hr.
func waitForStatus(ctx context.Context, cp *framework.ControlPlane) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res := cp.Kubectl(ctx, "", "get", "httproute", "-n", "hr", "hr", "-o", "jsonpath={.status.parents[*].controllerName}")
		if strings.Contains(res.Stdout, "gatewarden.dev/attachment") {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("the status reconciler wrote no status within 30s")
}

func step(s string) { fmt.Printf("\n\033[1m==> %s\033[0m\n", s) }

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}

func runCommand(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
