package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	kjson "sigs.k8s.io/json"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// The route handler decodes reviews itself, and leaves to the typed path
// what it cannot answer for sure. For reviews as the API server sends them it
// answers itself; for each way a review can differ from what the typed
// decode reads, it either reads the same or leaves the review to the typed
// path, and either way answers exactly as the typed path does.
func TestRouteHandlerAnswersAsTheTypedPath(t *testing.T) {
	var route fuzzHandler
	for _, h := range fuzzHandlers(t) {
		if h.name == "route" {
			route = h
		}
	}
	create := string(apiServerReview("u-1", admissionv1.Create, "hr", "hr", apiServerRoute("hr", "hr", "shared-gateway"), nil))
	allowed := string(apiServerReview("u-2", admissionv1.Create, "careers", "jobs", apiServerRoute("careers", "jobs", "shared-gateway"), nil))
	update := string(apiServerReview("u-3", admissionv1.Update, "hr", "hr",
		apiServerRoute("hr", "hr", "shared-gateway"), apiServerRoute("hr", "hr", "other-gateway")))
	const (
		parentRef = `"parentRefs":[{"group":"gateway.networking.k8s.io","kind":"Gateway","namespace":"infra-ns","name":"shared-gateway","sectionName":"http"}]`
		metadata  = `"metadata":{"name":"hr","namespace":"hr",`
		backend   = `{"group":"","kind":"Service","name":"app","port":8080,"weight":90}`
		rule      = `"rules":[{`
		filters   = `"filters":[{"type":"RequestHeaderModifier",`
		object    = `"object":{"kind":"HTTPRoute",`
	)
	for name, tc := range map[string]struct {
		body string
		// old and new replace the first old in body; so do old2 and new2.
		old, new, old2, new2 string
		// fast says the handler answers without the typed path.
		fast bool
	}{
		"denied":                    {body: create, fast: true},
		"allowed":                   {body: allowed, fast: true},
		"update":                    {body: update, fast: true},
		"v1beta1":                   {body: create, old: `"apiVersion":"admission.k8s.io/v1"`, new: `"apiVersion":"admission.k8s.io/v1beta1"`, fast: true},
		"leading whitespace":        {body: create, old: `{"kind":"AdmissionReview"`, new: " \n\t{\"kind\":\"AdmissionReview\"", fast: true},
		"trailing whitespace":       {body: create + "\r\n ", fast: true},
		"trailing garbage":          {body: create + "x"},
		"second document":           {body: create + "{}"},
		"review apiVersion v2":      {body: create, old: `"apiVersion":"admission.k8s.io/v1"`, new: `"apiVersion":"admission.k8s.io/v2"`},
		"review kind folded":        {body: create, old: `{"kind":"AdmissionReview"`, new: `{"Kind":"Pod","kind":"AdmissionReview"`},
		"review kind Kelvin":        {body: create, old: `{"kind":"AdmissionReview"`, new: `{"kind":"AdmissionReview","\u212aind":"Pod"`},
		"response too":              {body: create, old: `"request":{`, new: `"response":{"uid":"x","allowed":true},"request":{`, fast: true},
		"response of bad type":      {body: create, old: `"request":{`, new: `"response":{"allowed":"yes"},"request":{`},
		"escaped key":               {body: create, old: metadata, new: `"metadata":{"n\u0061me":"hr","namespace":"hr",`},
		"escaped value":             {body: create, old: parentRef, new: strings.Replace(parentRef, `"shared-gateway"`, `"shared\u002dgateway"`, 1), fast: true},
		"invalid UTF-8":             {body: create, old: `"hostnames":["hr.example.com"]`, new: "\"hostnames\":[\"hr.\xffexample.com\"]", fast: true},
		"control character":         {body: create, old: `"hostnames":["hr.example.com"]`, new: "\"hostnames\":[\"hr.\x01example.com\"]"},
		"bad escape":                {body: create, old: `"hostnames":["hr.example.com"]`, new: `"hostnames":["hr.\qexample.com"]`},
		"uid twice":                 {body: create, old: `"uid":"u-1"`, new: `"uid":"u-0","uid":"u-1"`},
		"parentRefs twice":          {body: create, old: parentRef, new: `"parentRefs":[],` + parentRef},
		"name twice in ref":         {body: create, old: `"name":"shared-gateway"`, new: `"name":"other","name":"shared-gateway"`},
		"object kind folded":        {body: create, old: object, new: `"object":{"KIND":"Pod","kind":"HTTPRoute",`},
		"object of another kind":    {body: create, old: object, new: `"object":{"kind":"GRPCRoute",`},
		"object without kind":       {body: create, old: object, new: `"object":{`},
		"object v1beta1":            {body: create, old: `"apiVersion":"gateway.networking.k8s.io/v1","metadata"`, new: `"apiVersion":"gateway.networking.k8s.io/v1beta1","metadata"`},
		"object is a list":          {body: create, old: `"oldObject":null`, new: `"oldObject":[]`, fast: true},
		"object null":               {body: create, old: object, new: `"object":null,"x":{"kind":"HTTPRoute",`},
		"CREATE, garbage oldObject": {body: create, old: `"oldObject":null`, new: `"oldObject":{"kind":7,"spec":{"parentRefs":"x"}}`, fast: true},
		"UPDATE without oldObject":  {body: update, old: `"oldObject":{"kind":"HTTPRoute",`, new: `"oldObject":null,"x":{"kind":"HTTPRoute",`},
		"UPDATE, deleting":          {body: update, old: metadata, new: metadata + `"deletionTimestamp":"2026-12-01T00:00:00Z",`, fast: true},
		"deletionTimestamp garbage": {body: create, old: metadata, new: metadata + `"deletionTimestamp":"yesterday",`},
		"deletionTimestamp null":    {body: create, old: metadata, new: metadata + `"deletionTimestamp":null,`, fast: true},
		"creationTimestamp garbage": {body: create, old: `"creationTimestamp":"2026-11-30T09:00:00Z"`, new: `"creationTimestamp":"noon"`},
		"generation a string":       {body: create, old: `"generation":1`, new: `"generation":"1"`},
		"label a number":            {body: create, old: `"app.kubernetes.io/part-of":"shop"`, new: `"app.kubernetes.io/part-of":7`},
		"matches a string":          {body: create, old: `"matches":[`, new: `"matches":"all","x":[`},
		"weight a fraction":         {body: create, old: `"weight":90`, new: `"weight":90.5`},
		"weight past int32":         {body: create, old: `"weight":90`, new: `"weight":2147483648`},
		"weight at int32":           {body: create, old: `"weight":90`, new: `"weight":-2147483648`, fast: true},
		"port an exponent":          {body: create, old: `"port":8080`, new: `"port":8e3`},
		"port minus zero":           {body: create, old: `"port":8080`, new: `"port":-0`, fast: true},
		"port null":                 {body: create, old: `"port":8080`, new: `"port":null`, fast: true},
		"port a string":             {body: create, old: `"port":8080`, new: `"port":"8080"`},
		"sectionName null":          {body: create, old: `"sectionName":"http"`, new: `"sectionName":null`, fast: true},
		"null parentRef":            {body: create, old: parentRef, new: `"parentRefs":[null,{"name":"shared-gateway","namespace":"infra-ns"}]`, fast: true},
		"null backendRef":           {body: create, old: backend, new: `null`, fast: true},
		"null rule":                 {body: create, old: rule, new: `"rules":[null,{`, fast: true},
		"empty lists":               {body: create, old: `"hostnames":["hr.example.com"]`, new: `"hostnames":[]`, old2: `"matches":[{`, new2: `"matches":[],"x":[{`, fast: true},
		"unknown members":           {body: create, old: metadata, new: `"extra":[1,{"a":[true,false,null]}],` + metadata, fast: true},
		"mirror":                    {body: create, old: filters, new: `"filters":[{"type":"RequestMirror","requestMirror":{"backendRef":{"name":"shadow","namespace":"search","port":80},"percent":5}},{"type":"RequestHeaderModifier",`, fast: true},
		"mirror then auth, reversed": {body: create, old: filters,
			new: `"filters":[{"externalAuth":{"protocol":"HTTP","backendRef":{"name":"auth","namespace":"sec"}},"requestMirror":{"backendRef":{"name":"shadow"}},"type":"RequestMirror"},{"type":"RequestHeaderModifier",`, fast: true},
		"backendRefs before filters":  {body: create, old: rule, new: `"rules":[{"backendRefs":[{"name":"first","filters":[{"type":"RequestMirror","requestMirror":{"backendRef":{"name":"m","namespace":"other"}}}]}],"x":{},`},
		"mirror null":                 {body: create, old: filters, new: `"filters":[{"type":"RequestMirror","requestMirror":null},{"type":"RequestHeaderModifier",`, fast: true},
		"mirror backendRef null":      {body: create, old: filters, new: `"filters":[{"type":"RequestMirror","requestMirror":{"backendRef":null}},{"type":"RequestHeaderModifier",`, fast: true},
		"mirror percent a string":     {body: create, old: filters, new: `"filters":[{"type":"RequestMirror","requestMirror":{"percent":"5"}},{"type":"RequestHeaderModifier",`},
		"deep in an unknown member":   {body: create, old: metadata, new: `"deep":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `,` + metadata, fast: true},
		"deeper than the reader goes": {body: create, old: metadata, new: `"deep":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `,` + metadata},
		"dryRun a string":             {body: create, old: `"dryRun":false`, new: `"dryRun":"no"`},
		"groups a string":             {body: create, old: `"groups":["tenants","system:authenticated"]`, new: `"groups":"tenants"`},
		"extra":                       {body: create, old: `"groups":[`, new: `"extra":{"scopes":["a"]},"groups":[`, fast: true},
		"extra of bad type":           {body: create, old: `"groups":[`, new: `"extra":{"scopes":"a"},"groups":[`},
		"userInfo null":               {body: create, old: `"userInfo":{`, new: `"userInfo":null,"x":{`, fast: true},
		"CONNECT":                     {body: create, old: `"operation":"CREATE"`, new: `"operation":"CONNECT"`},
		"DELETE":                      {body: create, old: `"operation":"CREATE"`, new: `"operation":"DELETE"`},
		"operation in lower case":     {body: create, old: `"operation":"CREATE"`, new: `"operation":"create"`},
	} {
		t.Run(name, func(t *testing.T) {
			body := tc.body
			for _, edit := range [][2]string{{tc.old, tc.new}, {tc.old2, tc.new2}} {
				if edit[0] != "" {
					require.Contains(t, body, edit[0])
					body = strings.Replace(body, edit[0], edit[1], 1)
				}
			}
			rv, ok := route.decoder.decode(body)
			assert.Equal(t, tc.fast, ok && rv.decided(), "the route handler answers it itself")
			checkSameAsTyped(t, route, []byte(body))
		})
	}
}

// Each RouteType row says where its kind's JSON holds what Route reads
// (attachment.RouteFields): the decoder reads exactly what the kind's Route
// reads of the typed object, and ignores what the kind does not have.
func TestRouteDecoderReadsWhatRouteReads(t *testing.T) {
	// Every member any kind reads, some in an unusual order, with nulls.
	const spec = `{"parentRefs":[{"name":"gw","namespace":"infra","sectionName":"https","port":443},null,{"kind":"ListenerSet","group":"gateway.networking.k8s.io","name":"ls"}],
		"hostnames":["a.example.com","*.example.org"],
		"rules":[
		  {"backendRefs":[{"name":"app","port":80,"weight":3,"filters":[{"type":"RequestMirror","requestMirror":{"backendRef":{"name":"m1","namespace":"mirror"}}},null,
		     {"type":"ExternalAuth","externalAuth":{"protocol":"GRPC","backendRef":{"name":"auth","namespace":"sec","port":9000}}}]},null,{"group":"","kind":"Service","name":"b"}],
		   "filters":[{"externalAuth":{"backendRef":{"name":"a2"}},"requestMirror":{"backendRef":{"name":"m2","port":81}},"type":"RequestMirror"},{"type":"RequestHeaderModifier","requestHeaderModifier":{"set":[{"name":"x","value":"y"}]}}],
		   "matches":[{"path":{"type":"PathPrefix","value":"/"}}]},
		  null,
		  {"backendRefs":[]}]}`
	scheme := fuzzScheme(t)
	for i := range attachment.RouteTypes {
		kind := &attachment.RouteTypes[i]
		t.Run(string(kind.Kind), func(t *testing.T) {
			raw := fmt.Sprintf(`{"apiVersion":"gateway.networking.k8s.io/v1","kind":%q,"metadata":{"namespace":"shop","name":"r"},"spec":%s}`, kind.Kind, spec)
			body := apiServerReview("u", admissionv1.Create, "shop", "r", []byte(raw), nil)
			rv, ok := newRouteDecoder(kind).decode(string(body))
			require.True(t, ok && rv.decided(), "the decoder answers")

			obj := kind.NewObject()
			require.NoError(t, admission.NewDecoder(scheme).DecodeRaw(runtime.RawExtension{Raw: []byte(raw)}, obj))
			want, err := kind.Route(obj)
			require.NoError(t, err)
			assert.Equal(t, want, rv.object.route)
			assert.NotEmpty(t, want.BackendRefs)
		})
	}
}

// The decoder follows every member of a route and of the review, so that it
// knows the typed decode accepts it: a member it could not follow would be
// decoded by encoding/json itself, at the typed path's cost.
func TestRouteShapesFollowEveryMember(t *testing.T) {
	opaque := func(s *jsonShape) []string {
		var out []string
		var walk func(path string, s *jsonShape, seen map[*jsonShape]bool)
		walk = func(path string, s *jsonShape, seen map[*jsonShape]bool) {
			if s == nil || seen[s] {
				return
			}
			seen[s] = true
			switch s.kind {
			case shapeOpaque:
				out = append(out, path+" "+s.typ.String())
			case shapeStruct:
				for name, f := range s.fields {
					walk(path+"."+name, f, seen)
				}
			case shapeSlice, shapeMap:
				walk(path+"[]", s.elem, seen)
			}
		}
		walk("", s, map[*jsonShape]bool{})
		return out
	}
	for i := range attachment.RouteTypes {
		kind := &attachment.RouteTypes[i]
		assert.Empty(t, opaque(newRouteDecoder(kind).shapes.object), kind.Kind)
	}
	assert.Empty(t, opaque(requestShape))
	assert.Equal(t, shapeAny, requestShape.field("object").kind, "the object is the review's raw JSON, any value")
	assert.Equal(t, shapeTime, newRouteDecoder(&attachment.RouteTypes[0]).shapes.metadata.field("creationTimestamp").kind)
}

// The reader checks the types of unmarshalers itself: it accepts exactly
// what their UnmarshalJSON accepts.
func TestKnownUnmarshalers(t *testing.T) {
	values := []string{
		`null`, `"2026-11-30T09:00:00Z"`, `"2026-11-30T09:00:00+02:00"`, `"2026-11-30T09:00:00.123456789Z"`, `"2026-11-30 09:00:00Z"`,
		`"2026-11-30T09:00:00\u005a"`, `"2026-13-30T09:00:00Z"`, `""`, `"yesterday"`, `7`, `true`, `{}`, `{"a":[1,2]}`, `[]`, `"x"`,
	}
	for typ := range unmarshalers {
		for _, pointer := range []bool{false, true} {
			target := typ
			if pointer {
				target = reflect.PointerTo(typ)
			}
			shape := shapeOf(target)
			for _, v := range values {
				// As a member of a struct, as the typed decode meets them.
				holder := reflect.StructOf([]reflect.StructField{{Name: "V", Type: target, Tag: `json:"v"`}})
				want := kjson.UnmarshalCaseSensitivePreserveInts([]byte(`{"v":`+v+`}`), reflect.New(holder).Interface()) == nil
				d := &jsonReader{s: v}
				got := d.value(shape)
				d.end()
				require.False(t, d.stopped, v)
				assert.Equal(t, want, got, "%s %s", target, v)
			}
		}
	}
}

// The route webhooks are served at controller-runtime's paths for their
// kinds, which the chart's webhook configuration names.
func TestRouteWebhookPaths(t *testing.T) {
	// The manager is not started: nothing reaches this address.
	mgr, err := ctrl.NewManager(&rest.Config{Host: "https://127.0.0.1:1"}, ctrl.Options{Scheme: fuzzScheme(t)})
	require.NoError(t, err)
	require.NoError(t, SetupWithManager(mgr, Options{Reader: testReader(nil)}))
	for _, path := range []string{
		"/validate-gateway-networking-k8s-io-v1-httproute", "/validate-gateway-networking-k8s-io-v1-grpcroute",
		"/validate-gateway-networking-k8s-io-v1-tlsroute", "/validate-gateway-networking-k8s-io-v1-tcproute",
		"/validate-gateway-networking-k8s-io-v1-udproute",
	} {
		h, pattern := mgr.GetWebhookServer().WebhookMux().Handler(&http.Request{Method: http.MethodPost, URL: &url.URL{Path: path}})
		assert.Equal(t, path, pattern)
		assert.NotNil(t, h)
	}
}

// What is wrong with the HTTP request itself is answered by
// controller-runtime, exactly as before.
func TestRouteHandlerLeavesBadRequestsToControllerRuntime(t *testing.T) {
	var route fuzzHandler
	for _, h := range fuzzHandlers(t) {
		if h.name == "route" {
			route = h
		}
	}
	body := apiServerReview("u-1", admissionv1.Create, "hr", "hr", apiServerRoute("hr", "hr", "shared-gateway"), nil)
	for name, tc := range map[string]struct {
		body        func() io.Reader
		contentType string
		wantCode    int32
	}{
		"no body": {body: func() io.Reader { return nil }, contentType: "application/json", wantCode: http.StatusBadRequest},
		"YAML":    {body: func() io.Reader { return bytes.NewReader(body) }, contentType: "application/yaml", wantCode: http.StatusBadRequest},
		"too large": {body: func() io.Reader {
			return io.MultiReader(bytes.NewReader(body), strings.NewReader(strings.Repeat(" ", 7<<20)))
		}, contentType: "application/json", wantCode: http.StatusRequestEntityTooLarge},
		"cut short": {body: func() io.Reader {
			return io.MultiReader(bytes.NewReader(body[:100]), iotest.ErrReader(io.ErrUnexpectedEOF))
		}, contentType: "application/json", wantCode: http.StatusBadRequest},
		"a good one": {body: func() io.Reader { return bytes.NewReader(body) }, contentType: "application/json", wantCode: http.StatusForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			answer := func(h http.Handler) *httptest.ResponseRecorder {
				req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, route.path, tc.body())
				req.Header.Set("Content-Type", tc.contentType)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec
			}
			got, want := answer(route.handler), answer(route.typed)
			assert.Equal(t, want.Code, got.Code)
			assert.Equal(t, want.Body.String(), got.Body.String())
			var review admissionv1.AdmissionReview
			require.NoError(t, json.Unmarshal(got.Body.Bytes(), &review))
			assert.Equal(t, tc.wantCode, review.Response.Result.Code, review.Response.Result.Message)
		})
	}
}
