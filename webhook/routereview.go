package webhook

import (
	"reflect"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatewarden/gatewarden/pkg/attachment"
)

// routeReview is what a route webhook reads of an AdmissionReview: what the
// answer needs (apiVersion, uid), what the logs name (the request's
// namespace, name, operation and user) and the route, before and after.
type routeReview struct {
	apiVersion string
	uid        types.UID
	operation  admissionv1.Operation
	namespace  string
	name       string
	username   string
	object     routeObject
	oldObject  routeObject
}

// routeObject is request.object or request.oldObject.
type routeObject struct {
	// present says the review carries it (not absent, not null).
	present bool
	// exact says the typed decode would accept it, and route is what the
	// evaluator reads of it.
	exact bool
	route *attachment.Route
	// deleting says metadata.deletionTimestamp is set.
	deleting bool
}

// routeDecoder decodes the AdmissionReviews of one route kind.
type routeDecoder struct {
	kind   *attachment.RouteType
	shapes routeShapes
}

// routeShapes are the shapes of the parts of a route the decoder takes
// fields out of, to check the members it does not read.
type routeShapes struct {
	object, metadata, spec, parentRef, rule, backendRef *jsonShape
	// ruleFilter and backendRefFilter are the filters' (nil for a kind
	// without filters).
	ruleFilter, backendRefFilter *jsonShape
}

var (
	requestShape  = shapeOf(reflect.TypeFor[admissionv1.AdmissionRequest]())
	responseShape = shapeOf(reflect.TypeFor[admissionv1.AdmissionResponse]())
	userInfoShape = shapeOf(reflect.TypeFor[authenticationv1.UserInfo]())
)

// newRouteDecoder reads the kind's Go type for the shapes of its JSON. A
// RouteType whose Fields name members its type does not have panics: the
// row is wrong.
func newRouteDecoder(kind *attachment.RouteType) *routeDecoder {
	object := shapeOf(reflect.TypeOf(kind.NewObject()))
	must := func(s *jsonShape, path string) *jsonShape {
		if s == nil || s.kind != shapeStruct {
			panic("webhook: " + string(kind.Kind) + " has no object at " + path)
		}
		return s
	}
	elem := func(s *jsonShape, path string) *jsonShape {
		if s == nil || s.kind != shapeSlice {
			panic("webhook: " + string(kind.Kind) + " has no list at " + path)
		}
		return must(s.elem, path+"[]")
	}
	spec := must(object.field("spec"), "spec")
	rule := elem(spec.field("rules"), "spec.rules")
	sh := routeShapes{
		object: object, metadata: must(object.field("metadata"), "metadata"), spec: spec,
		parentRef: elem(spec.field("parentRefs"), "spec.parentRefs"), rule: rule,
		backendRef: elem(rule.field("backendRefs"), "spec.rules[].backendRefs"),
	}
	if kind.Fields.Hostnames && spec.field("hostnames") == nil {
		panic("webhook: " + string(kind.Kind) + " has no spec.hostnames")
	}
	if len(kind.Fields.FilterRefs) > 0 {
		sh.ruleFilter = elem(rule.field("filters"), "spec.rules[].filters")
		sh.backendRefFilter = elem(sh.backendRef.field("filters"), "spec.rules[].backendRefs[].filters")
		for _, m := range kind.Fields.FilterRefs {
			for path, filter := range map[string]*jsonShape{"spec.rules[].filters[].": sh.ruleFilter, "spec.rules[].backendRefs[].filters[].": sh.backendRefFilter} {
				must(must(filter.field(m), path+m).field("backendRef"), path+m+".backendRef")
			}
		}
	}
	return &routeDecoder{kind: kind, shapes: sh}
}

// decode reads an AdmissionReview in one pass. ok is false when the fast
// path must not answer it: it is not well-formed JSON, not a v1 or v1beta1
// AdmissionReview, a member of the review has a type the typed decode
// refuses, a member gatewarden reads is there twice (encoding/json merges
// them), or a key differs from one the typed path reads only in case (its
// kind lookup ignores case). Whether the route itself decodes as the typed
// path would is routeObject.exact.
func (dec *routeDecoder) decode(body string) (rv routeReview, ok bool) {
	d := &jsonReader{s: body}
	if d.peek() != '{' {
		return rv, false
	}
	var kind string
	var seen bitset
	request := false
	top := d.open()
	for d.next(&top) {
		switch top.key {
		case "apiVersion":
			var ok bool
			if rv.apiVersion, _, ok = d.stringValue(); !ok || seen.add(0) {
				d.stop()
			}
		case "kind":
			var ok bool
			if kind, _, ok = d.stringValue(); !ok || seen.add(1) {
				d.stop()
			}
		case "request":
			if seen.add(2) {
				d.stop()
			}
			request = dec.request(d, &rv)
		case "response":
			if !d.value(responseShape) {
				d.stop()
			}
		default:
			if foldsTo(top.key, "apiVersion") || foldsTo(top.key, "kind") {
				d.stop()
			}
			d.skip()
		}
	}
	d.end()
	_, known := reviewVersions[rv.apiVersion]
	return rv, !d.stopped && request && known && kind == "AdmissionReview"
}

// request reads request, and reports whether it is an object.
func (dec *routeDecoder) request(d *jsonReader, rv *routeReview) bool {
	switch d.peek() {
	case '{':
	case 'n':
		d.literal("null")
		return false
	default:
		d.stop()
		return false
	}
	var seen bitset
	o := d.open()
	for d.next(&o) {
		// A member of the wrapper that the typed decode refuses refuses
		// the whole review: leave it to the typed path's answer.
		var ok bool
		switch o.key {
		case "uid":
			var s string
			s, _, ok = d.stringValue()
			rv.uid = types.UID(s)
			ok = ok && !seen.add(0)
		case "operation":
			var s string
			s, _, ok = d.stringValue()
			rv.operation = admissionv1.Operation(s)
			ok = ok && !seen.add(1)
		case "namespace":
			rv.namespace, _, ok = d.stringValue()
			ok = ok && !seen.add(2)
		case "name":
			rv.name, _, ok = d.stringValue()
			ok = ok && !seen.add(3)
		case "userInfo":
			ok = userInfo(d, rv) && !seen.add(4)
		case "object":
			dec.object(d, &rv.object)
			ok = !seen.add(5)
		case "oldObject":
			dec.object(d, &rv.oldObject)
			ok = !seen.add(6)
		default:
			ok = d.value(requestShape.field(o.key))
		}
		if !ok {
			d.stop()
		}
	}
	return true
}

// userInfo reads request.userInfo for its username.
func userInfo(d *jsonReader, rv *routeReview) bool {
	if isObject, ok := startObject(d); !isObject {
		return ok
	}
	ok, named := true, false
	o := d.open()
	for d.next(&o) {
		if o.key != "username" {
			ok = d.value(userInfoShape.field(o.key)) && ok
			continue
		}
		s, _, isString := d.stringValue()
		ok = ok && isString && !named
		rv.username, named = s, true
	}
	return ok
}

// object reads request.object or request.oldObject, which the API server
// sends as the raw JSON of the object: any JSON value passes the review's
// own decode, and only the operations that use it decode it into the route.
func (dec *routeDecoder) object(d *jsonReader, o *routeObject) {
	switch d.peek() {
	case 'n':
		d.literal("null")
		*o = routeObject{}
		return
	case '{':
	default:
		d.skip()
		*o = routeObject{present: true}
		return
	}
	r := &attachment.Route{Kind: dec.kind.Kind}
	*o = routeObject{present: true, route: r}
	var apiVersion, kind string
	var seen bitset
	exact := true
	obj := d.open()
	for d.next(&obj) {
		switch obj.key {
		case "apiVersion":
			var ok bool
			apiVersion, _, ok = d.stringValue()
			exact = ok && !seen.add(0) && exact
		case "kind":
			var ok bool
			kind, _, ok = d.stringValue()
			exact = ok && !seen.add(1) && exact
		case "metadata":
			exact = dec.metadata(d, o) && !seen.add(2) && exact
		case "spec":
			exact = dec.spec(d, r) && !seen.add(3) && exact
		default:
			if foldsTo(obj.key, "apiVersion") || foldsTo(obj.key, "kind") {
				// The typed path finds the kind with encoding/json, which
				// would take this key for it.
				exact = false
			}
			exact = d.value(dec.shapes.object.field(obj.key)) && exact
		}
	}
	// The typed path decodes an object of another version or kind into
	// that type, and then refuses it; one without either is taken for the
	// route. Only the API server's exact spelling takes the fast path.
	o.exact = exact && apiVersion == routeAPIVersion && kind == string(dec.kind.Kind)
}

// metadata reads a route's metadata for its namespace, name and
// deletionTimestamp.
func (dec *routeDecoder) metadata(d *jsonReader, o *routeObject) bool {
	if isObject, ok := startObject(d); !isObject {
		return ok
	}
	ok := true
	var seen bitset
	m := d.open()
	for d.next(&m) {
		switch m.key {
		case "namespace":
			s, _, isString := d.stringValue()
			o.route.Namespace = s
			ok = isString && !seen.add(0) && ok
		case "name":
			s, _, isString := d.stringValue()
			o.route.Name = s
			ok = isString && !seen.add(1) && ok
		case "deletionTimestamp":
			o.deleting = d.peek() != 'n'
			ok = d.value(dec.shapes.metadata.field(m.key)) && !seen.add(2) && ok
		default:
			ok = d.value(dec.shapes.metadata.field(m.key)) && ok
		}
	}
	return ok
}

// spec reads a route's spec for its parentRefs, hostnames and backend
// references.
func (dec *routeDecoder) spec(d *jsonReader, r *attachment.Route) bool {
	if isObject, ok := startObject(d); !isObject {
		return ok
	}
	ok := true
	var seen bitset
	s := d.open()
	for d.next(&s) {
		switch {
		case s.key == "parentRefs":
			ok = dec.parentRefs(d, r) && !seen.add(0) && ok
		case s.key == "hostnames" && dec.kind.Fields.Hostnames:
			ok = hostnames(d, r) && !seen.add(1) && ok
		case s.key == "rules":
			ok = dec.rules(d, r) && !seen.add(2) && ok
		default:
			ok = d.value(dec.shapes.spec.field(s.key)) && ok
		}
	}
	return ok
}

// startObject starts reading a JSON object, or null: it returns whether
// there is an object to read, and, when there is not, whether that was null
// (anything else it skips, and reports as not ok).
func startObject(d *jsonReader) (isObject, ok bool) {
	return start(d, '{')
}

// start starts reading a JSON value that opens with open ('{' or '['), or
// null, as startObject says.
func start(d *jsonReader, open byte) (present, ok bool) {
	switch d.peek() {
	case open:
		return true, true
	case 'n':
		d.literal("null")
		return false, true
	default:
		d.skip()
		return false, false
	}
}

// list reads a JSON array, or null, calling each for every element; it
// returns whether it was an array.
func list(d *jsonReader, each func(i int) bool) (isList, ok bool) {
	if isList, ok = start(d, '['); !isList {
		return false, ok
	}
	a := d.open()
	for i := 0; d.next(&a); i++ {
		ok = each(i) && ok
	}
	return true, ok
}

func (dec *routeDecoder) parentRefs(d *jsonReader, r *attachment.Route) bool {
	isList, ok := list(d, func(int) bool {
		r.ParentRefs = append(r.ParentRefs, gatewayv1.ParentReference{})
		return dec.parentRef(d, &r.ParentRefs[len(r.ParentRefs)-1])
	})
	if isList && r.ParentRefs == nil {
		r.ParentRefs = []gatewayv1.ParentReference{}
	}
	return ok
}

func (dec *routeDecoder) parentRef(d *jsonReader, p *gatewayv1.ParentReference) bool {
	if isObject, ok := startObject(d); !isObject {
		return ok
	}
	ok := true
	var seen bitset
	o := d.open()
	for d.next(&o) {
		switch o.key {
		case "group":
			p.Group, ok = optional[gatewayv1.Group](d, &seen, 0, ok)
		case "kind":
			p.Kind, ok = optional[gatewayv1.Kind](d, &seen, 1, ok)
		case "namespace":
			p.Namespace, ok = optional[gatewayv1.Namespace](d, &seen, 2, ok)
		case "sectionName":
			p.SectionName, ok = optional[gatewayv1.SectionName](d, &seen, 3, ok)
		case "name":
			s, _, isString := d.stringValue()
			p.Name = gatewayv1.ObjectName(s)
			ok = isString && !seen.add(4) && ok
		case "port":
			p.Port, ok = port(d, &seen, 5, ok)
		default:
			ok = d.value(dec.shapes.parentRef.field(o.key)) && ok
		}
	}
	return ok
}

// optional reads a member of a pointer to a string type: null is nil.
func optional[S ~string](d *jsonReader, seen *bitset, bit int, ok bool) (*S, bool) {
	s, isNull, isString := d.stringValue()
	ok = isString && !seen.add(bit) && ok
	if isNull || !isString {
		return nil, ok
	}
	v := S(s)
	return &v, ok
}

// port reads a member of type *PortNumber (int32).
func port(d *jsonReader, seen *bitset, bit int, ok bool) (*gatewayv1.PortNumber, bool) {
	n, isNull, isInt := d.intValue(32)
	ok = isInt && !seen.add(bit) && ok
	if isNull || !isInt {
		return nil, ok
	}
	p := gatewayv1.PortNumber(n)
	return &p, ok
}

func hostnames(d *jsonReader, r *attachment.Route) bool {
	isList, ok := list(d, func(int) bool {
		s, _, isString := d.stringValue()
		r.Hostnames = append(r.Hostnames, gatewayv1.Hostname(s))
		return isString
	})
	if isList && r.Hostnames == nil {
		r.Hostnames = []gatewayv1.Hostname{}
	}
	return ok
}

var rulesPath = field.NewPath("spec", "rules")

// routeAPIVersion is the version of every route kind the webhooks serve.
var routeAPIVersion = gatewayv1.GroupVersion.String()

// rules reads spec.rules for their backend references, which Route lists
// rule by rule: the rule's filters' first, then each backendRef followed by
// its filters'. A rule's members may come in any order in the JSON.
func (dec *routeDecoder) rules(d *jsonReader, r *attachment.Route) bool {
	_, ok := list(d, func(i int) bool {
		if isObject, ok := startObject(d); !isObject {
			return ok
		}
		rulePath := rulesPath.Index(i)
		var filterRefs, backendRefs []attachment.BackendRef
		ok := true
		var seen bitset
		o := d.open()
		for d.next(&o) {
			switch {
			case o.key == "backendRefs":
				_, listed := list(d, func(j int) bool {
					return dec.backendRef(d, rulePath.Child("backendRefs").Index(j), &backendRefs)
				})
				ok = listed && !seen.add(0) && ok
			case o.key == "filters" && dec.shapes.ruleFilter != nil:
				_, listed := list(d, func(j int) bool {
					return dec.filter(d, dec.shapes.ruleFilter, rulePath.Child("filters").Index(j), &filterRefs)
				})
				ok = listed && !seen.add(1) && ok
			default:
				ok = d.value(dec.shapes.rule.field(o.key)) && ok
			}
		}
		r.BackendRefs = append(append(r.BackendRefs, filterRefs...), backendRefs...)
		return ok
	})
	return ok
}

// backendRef reads a rule's backendRef: the reference itself, then those in
// its filters.
func (dec *routeDecoder) backendRef(d *jsonReader, path *field.Path, out *[]attachment.BackendRef) bool {
	ref := &gatewayv1.BackendObjectReference{}
	*out = append(*out, attachment.BackendRef{Path: path, Ref: ref})
	if isObject, ok := startObject(d); !isObject {
		return ok
	}
	var filterRefs []attachment.BackendRef
	ok := true
	var seen bitset
	o := d.open()
	for d.next(&o) {
		if o.key == "filters" && dec.shapes.backendRefFilter != nil {
			_, listed := list(d, func(k int) bool {
				return dec.filter(d, dec.shapes.backendRefFilter, path.Child("filters").Index(k), &filterRefs)
			})
			ok = listed && !seen.add(8) && ok
			continue
		}
		if known, refOK := objectReference(d, o.key, ref, &seen); known {
			ok = refOK && ok
			continue
		}
		ok = d.value(dec.shapes.backendRef.field(o.key)) && ok
	}
	*out = append(*out, filterRefs...)
	return ok
}

// filter reads a filter for the backendRefs of its members that hold one
// (attachment.RouteFields.FilterRefs), in that order.
func (dec *routeDecoder) filter(d *jsonReader, shape *jsonShape, path *field.Path, out *[]attachment.BackendRef) bool {
	if isObject, ok := startObject(d); !isObject {
		return ok
	}
	refs := make([]*gatewayv1.BackendObjectReference, len(dec.kind.Fields.FilterRefs))
	ok := true
	var seen bitset
	o := d.open()
	for d.next(&o) {
		m := memberIndex(dec.kind.Fields.FilterRefs, o.key)
		if m < 0 {
			ok = d.value(shape.field(o.key)) && ok
			continue
		}
		var memberOK bool
		refs[m], memberOK = dec.filterMember(d, shape.field(o.key))
		ok = memberOK && !seen.add(m) && ok
	}
	for m, ref := range refs {
		if ref != nil {
			*out = append(*out, attachment.BackendRef{Path: path.Child(dec.kind.Fields.FilterRefs[m], "backendRef"), Ref: ref})
		}
	}
	return ok
}

func memberIndex(members []string, key string) int {
	for i, m := range members {
		if m == key {
			return i
		}
	}
	return -1
}

// filterMember reads a filter's member that holds a backendRef (such as
// requestMirror): nil when it is null.
func (dec *routeDecoder) filterMember(d *jsonReader, shape *jsonShape) (*gatewayv1.BackendObjectReference, bool) {
	if isObject, ok := startObject(d); !isObject {
		return nil, ok
	}
	ref := &gatewayv1.BackendObjectReference{}
	ok := true
	var seen bitset
	o := d.open()
	for d.next(&o) {
		if o.key != "backendRef" {
			ok = d.value(shape.field(o.key)) && ok
			continue
		}
		ok = !seen.add(0) && ok
		refShape := shape.field("backendRef")
		switch d.peek() {
		case 'n':
			d.literal("null")
		case '{':
			var refSeen bitset
			r := d.open()
			for d.next(&r) {
				if known, refOK := objectReference(d, r.key, ref, &refSeen); known {
					ok = refOK && ok
					continue
				}
				ok = d.value(refShape.field(r.key)) && ok
			}
		default:
			d.skip()
			ok = false
		}
	}
	return ref, ok
}

// objectReference reads a member of a BackendObjectReference, if key is
// one; it reports whether it was, and whether the typed decode accepts it.
func objectReference(d *jsonReader, key string, ref *gatewayv1.BackendObjectReference, seen *bitset) (known, ok bool) {
	ok = true
	switch key {
	case "group":
		ref.Group, ok = optional[gatewayv1.Group](d, seen, 0, ok)
	case "kind":
		ref.Kind, ok = optional[gatewayv1.Kind](d, seen, 1, ok)
	case "namespace":
		ref.Namespace, ok = optional[gatewayv1.Namespace](d, seen, 2, ok)
	case "name":
		s, _, isString := d.stringValue()
		ref.Name = gatewayv1.ObjectName(s)
		ok = isString && !seen.add(3)
	case "port":
		ref.Port, ok = port(d, seen, 4, ok)
	default:
		return false, true
	}
	return true, ok
}

// bitset records which members of an object were read, to find one that is
// there twice.
type bitset uint16

// add marks member i and reports whether it was already there.
func (b *bitset) add(i int) bool {
	was := *b&(1<<i) != 0
	*b |= 1 << i
	return was
}
