// Package manifest reads Kubernetes manifests, YAML or JSON, from files,
// folders and standard input into the typed objects gatewarden evaluates.
//
// Every error names the file and the document it comes from. Overlay lays
// objects read from files over those read from the cluster, as kubectl apply
// would. It reads only files; it knows nothing of the attachment rules.
package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Stdin is the path that means standard input.
const Stdin = "-"

// Source says where an object was read. The zero Source is an object read
// from the cluster.
type Source struct {
	File string
	// Document is the 1-based position of the document in the file.
	Document int
}

func (s Source) String() string { return fmt.Sprintf("%s: document %d", s.File, s.Document) }

// Object is one object read, typed as its row of Kinds says:
// *corev1.Namespace, *gatewayv1.Gateway, *gatewayv1.ListenerSet,
// *gatewayv1.ReferenceGrant, or a route (*gatewayv1.HTTPRoute, GRPCRoute,
// TLSRoute, TCPRoute, UDPRoute).
type Object struct {
	Source Source
	Object metav1.Object
}

// Options tune how manifests are read.
type Options struct {
	// DefaultNamespace is given to namespaced objects that name none, as
	// kubectl would. Empty means "default".
	DefaultNamespace string
}

// Read reads every path in order: a file, a folder (recursively, its .yaml,
// .yml and .json files in lexical order, as kubectl does), or Stdin. Kinds
// gatewarden does not use and empty documents are skipped. The first
// document that cannot be read is the error.
func Read(paths []string, stdin io.Reader, opts Options) ([]Object, error) {
	var out []Object
	for _, p := range paths {
		if p == Stdin {
			objs, err := Decode("<stdin>", stdin, opts)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
			continue
		}
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			objs, err := readFile(f, opts)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
	}
	return out, nil
}

// expand returns the manifest files under path.
func expand(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && slices.Contains([]string{".yaml", ".yml", ".json"}, strings.ToLower(filepath.Ext(p))) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .yaml, .yml or .json files in this folder", path)
	}
	return files, nil
}

func readFile(path string, opts Options) ([]Object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return Decode(path, f, opts)
}

// Decode reads one stream of YAML or JSON documents; name is used in errors.
func Decode(name string, r io.Reader, opts Options) ([]Object, error) {
	if opts.DefaultNamespace == "" {
		opts.DefaultNamespace = metav1.NamespaceDefault
	}
	return decodeStream(name, r, opts)
}

func decodeStream(name string, r io.Reader, opts Options) ([]Object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []Object
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		src := Source{File: name, Document: doc}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		objs, err := decodeDocument(raw, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		for _, o := range objs {
			out = append(out, Object{Source: src, Object: o})
		}
	}
}

// typeMeta is read first to pick the type to decode into.
type typeMeta struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

func decodeDocument(raw []byte, opts Options) ([]metav1.Object, error) {
	data, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML or JSON: %w", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, nil // an empty document, such as after a trailing ---
	}
	if data[0] != '{' {
		return nil, errors.New("not a Kubernetes object: the document is not a mapping")
	}
	var tm typeMeta
	if err := json.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	if tm.Kind == "" || tm.APIVersion == "" {
		return nil, errors.New("not a Kubernetes object: apiVersion and kind are required")
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("apiVersion %q: %w", tm.APIVersion, err)
	}
	if gv.Group == "" && strings.HasSuffix(tm.Kind, "List") {
		// kubectl get -o yaml writes a v1 List of items.
		var out []metav1.Object
		for i, item := range tm.Items {
			objs, err := decodeDocument(item, opts)
			if err != nil {
				return nil, fmt.Errorf("items[%d]: %w", i, err)
			}
			out = append(out, objs...)
		}
		return out, nil
	}
	obj := newObject(gv.Group, tm.Kind)
	if obj == nil {
		return nil, nil // a kind gatewarden does not use
	}
	if err := json.Unmarshal(data, obj); err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	if obj.GetName() == "" {
		return nil, fmt.Errorf("%s has no metadata.name", tm.Kind)
	}
	if _, isNamespace := obj.(*corev1.Namespace); !isNamespace && obj.GetNamespace() == "" {
		obj.SetNamespace(opts.DefaultNamespace)
	}
	return []metav1.Object{obj}, nil
}

// newObject returns an empty typed object for the kinds gatewarden reads, or
// nil. Every version of a Gateway API kind decodes into its v1 type: the
// fields gatewarden reads have the same shape in v1alpha2 and v1beta1.
func newObject(group, kind string) metav1.Object {
	for _, k := range Kinds {
		if k.Group == group && k.Kind == kind {
			return k.New()
		}
	}
	return nil
}
