package cluster

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// MetadataReader is the client.Reader a denial's confirmation reads the API
// server through. The metadata reads of stillCurrent (a Namespace's
// PartialObjectMetadata, a list of Gateways or ListenerSets by name) are
// one prepared request each, on the REST path of their kind: in a profile of
// the denial mix, controller-runtime's metadata client spent a third of a
// confirmation's cost looking the kind up in its RESTMapper and converting
// the options through a parameter codec, on every read. The requests and
// answers are those of client-go's metadata client (protobuf, the same
// Accept header). Every other read goes to the embedded Reader.
type MetadataReader struct {
	client.Reader
	rest rest.Interface
}

// NewMetadataReader returns a MetadataReader over the API server of cfg,
// sharing httpClient's connections, that sends every other read to next.
func NewMetadataReader(next client.Reader, cfg *rest.Config, httpClient *http.Client) (*MetadataReader, error) {
	c := metadata.ConfigFor(cfg)
	// Every request names its absolute path; the group version only
	// satisfies the REST client's constructor.
	c.GroupVersion = &schema.GroupVersion{}
	c.APIPath = "/"
	rc, err := rest.RESTClientForConfigAndClient(c, httpClient)
	if err != nil {
		return nil, fmt.Errorf("building the API server client of confirmations: %w", err)
	}
	return &MetadataReader{Reader: next, rest: rc}, nil
}

// The media types client-go's metadata client asks for.
const (
	acceptMetadata     = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
	acceptMetadataList = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
)

// metadataResource is the REST resource of a kind in metadataKinds: the
// root of its group version ("/api/v1", "/apis/GROUP/VERSION"), its
// resource and scope.
type metadataResource struct {
	root       string
	resource   string
	namespaced bool
}

// metadataResources are the REST resources of the kinds in metadataKinds
// and of their lists, built once.
var metadataResources = func() map[schema.GroupVersionKind]metadataResource {
	out := map[schema.GroupVersionKind]metadataResource{}
	for _, k := range metadataKinds {
		r := metadataResource{root: "/apis/" + k.gvk.Group + "/" + k.gvk.Version, resource: k.resource, namespaced: k.namespaced}
		if k.gvk.Group == "" {
			r.root = "/api/" + k.gvk.Version
		}
		out[k.gvk] = r
		out[k.gvk.GroupVersion().WithKind(k.gvk.Kind+"List")] = r
	}
	return out
}()

// metadataPath is the REST path of the collection of gvk's kind in
// namespace, or false for a kind the MetadataReader does not serve, or one
// asked for in the wrong scope.
func metadataPath(gvk schema.GroupVersionKind, namespace string) ([]string, bool) {
	r, ok := metadataResources[gvk]
	if !ok || r.namespaced != (namespace != "") {
		return nil, false
	}
	if r.namespaced {
		return []string{r.root, "namespaces", namespace, r.resource}, true
	}
	return []string{r.root, r.resource}, true
}

// Get reads the metadata of a Namespace; everything else goes to the
// embedded Reader.
func (m *MetadataReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	pm, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok || len(opts) > 0 {
		return m.Reader.Get(ctx, key, obj, opts...)
	}
	gvk := pm.GroupVersionKind()
	path, ok := metadataPath(gvk, key.Namespace)
	if !ok {
		return m.Reader.Get(ctx, key, obj, opts...)
	}
	res, err := m.rest.Get().AbsPath(append(path, key.Name)...).SetHeader("Accept", acceptMetadata).Do(ctx).Get()
	if err != nil {
		return err
	}
	got, ok := res.(*metav1.PartialObjectMetadata)
	if !ok {
		return fmt.Errorf("the API server answered a metadata read of %s %s with %T", gvk.Kind, key, res)
	}
	*pm = *got
	pm.SetGroupVersionKind(gvk)
	return nil
}

// List lists the metadata of Gateways or ListenerSets in a namespace,
// selected by field; everything else goes to the embedded Reader.
func (m *MetadataReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	pl, ok := list.(*metav1.PartialObjectMetadataList)
	if !ok {
		return m.Reader.List(ctx, list, opts...)
	}
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	gvk := pl.GroupVersionKind()
	path, ok := metadataPath(gvk, lo.Namespace)
	if !ok || lo.LabelSelector != nil || lo.Limit != 0 || lo.Continue != "" || lo.Raw != nil {
		return m.Reader.List(ctx, list, opts...)
	}
	req := m.rest.Get().AbsPath(path...).SetHeader("Accept", acceptMetadataList)
	if lo.FieldSelector != nil {
		req = req.Param("fieldSelector", lo.FieldSelector.String())
	}
	res, err := req.Do(ctx).Get()
	if err != nil {
		return err
	}
	got, ok := res.(*metav1.PartialObjectMetadataList)
	if !ok {
		return fmt.Errorf("the API server answered a metadata list of %s with %T", gvk.Kind, res)
	}
	*pl = *got
	pl.SetGroupVersionKind(gvk)
	item := gvk.GroupVersion().WithKind(strings.TrimSuffix(gvk.Kind, "List"))
	for i := range pl.Items {
		pl.Items[i].SetGroupVersionKind(item)
	}
	return nil
}
