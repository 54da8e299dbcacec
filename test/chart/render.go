// Package chart renders gatewarden's install manifests, the Helm chart in
// charts/gatewarden and the kustomize configuration in config/, into objects,
// so that tests can assert on what would reach the API server: this
// package's own tests, and the end-to-end tests that install the rendered
// ValidatingWebhookConfiguration into a real kube-apiserver.
//
// It shells out to the helm and kubectl binaries `make tools` builds into
// bin/; it never talks to a cluster.
package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	// ReleaseName is the Helm release RenderChart renders. The chart names
	// every object after it, so it gives the names the kustomize
	// configuration in config/ uses: "gatewarden".
	ReleaseName = "gatewarden"
)

// RenderChart runs `helm template` on the chart in chartDir as release
// ReleaseName in namespace, with each of set passed as a --set flag
// ("key=value"), and returns the rendered objects in output order (Helm
// hooks included). A schema violation or a template error is returned with
// helm's message.
func RenderChart(helmPath, chartDir, namespace string, set ...string) ([]*unstructured.Unstructured, error) {
	// No --kube-version: helm renders for the Kubernetes its build is
	// stamped with, as a user's helm does (make tools stamps it).
	args := []string{"template", ReleaseName, chartDir, "--namespace", namespace}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := run(helmPath, args...)
	if err != nil {
		return nil, err
	}
	return DecodeObjects(out)
}

// RenderKustomize runs `kubectl kustomize dir` and returns the objects.
func RenderKustomize(kubectlPath, dir string) ([]*unstructured.Unstructured, error) {
	out, err := run(kubectlPath, "kustomize", dir)
	if err != nil {
		return nil, err
	}
	return DecodeObjects(out)
}

// DecodeObjects splits a multi-document YAML stream into objects, skipping
// empty documents (a trailing "---", or one holding only comments).
func DecodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for i := 0; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading document %d: %w", i, err)
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if trimmed := bytes.TrimSpace(j); len(trimmed) == 0 || string(trimmed) == "null" {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(j); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		objs = append(objs, obj)
	}
}

// Find returns the object of that kind and name, or nil.
func Find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// FindKind returns the objects of that kind, in order.
func FindKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	return found
}

func run(name string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
