package webhook

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "sigs.k8s.io/json"
)

// This file is the JSON reader of the route webhooks' decoder
// (routereview.go): one pass over an AdmissionReview that checks its syntax
// as encoding/json does and, for each value, whether apimachinery's decoder
// would accept it into its Go type, while routereview.go takes out the few
// fields gatewarden reads.
//
// The reader answers only what it knows for sure. Anything else (bad JSON,
// an escaped key, nesting deeper than maxDepth) stops it, and the handler
// hands the request to controller-runtime's typed path, whose answer is then
// the answer: the fast path is exact by construction or not taken. A value
// of a type the reader does not follow (one with its own UnmarshalJSON
// other than unmarshalers', a float, []byte...) is decoded by encoding/json
// itself, which is exact too; routes and reviews have none
// (TestRouteShapesFollowEveryMember).

// maxDepth is how deep the reader follows nesting before it leaves the
// review to the typed path (encoding/json allows 10,000 levels; a route is
// about 10 deep).
const maxDepth = 128

// jsonReader reads one JSON document held in a string: substrings of it are
// the values it returns, without copies.
type jsonReader struct {
	s     string
	pos   int
	depth int
	// stopped says the fast path does not answer this review: the JSON is
	// not well-formed, or the reader cannot tell what the typed path would
	// answer.
	stopped bool
}

// stop gives up the fast path; every read after it finds the end.
func (d *jsonReader) stop() {
	d.stopped = true
	d.pos = len(d.s)
}

// ws skips JSON whitespace.
func (d *jsonReader) ws() {
	for d.pos < len(d.s) {
		switch d.s[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the first byte of the next value, 0 at the end.
func (d *jsonReader) peek() byte {
	d.ws()
	if d.pos >= len(d.s) {
		return 0
	}
	return d.s[d.pos]
}

// end checks that nothing but whitespace follows the document.
func (d *jsonReader) end() {
	d.ws()
	if d.pos != len(d.s) {
		d.stop()
	}
}

// container is an object or array being read: see next.
type container struct {
	close byte
	n     int
	// key is the current member's name, in an object.
	key string
}

// open starts reading the object or array at the current position, whose
// first byte the caller has peeked.
func (d *jsonReader) open() container {
	c := container{close: ']'}
	if d.s[d.pos] == '{' {
		c.close = '}'
	}
	d.pos++
	if d.depth++; d.depth > maxDepth {
		d.stop()
	}
	return c
}

// next moves to the next member or element of c and reports whether there
// is one; in an object, c.key is its name and the reader is at its value.
// The caller must read the value before calling next again.
func (d *jsonReader) next(c *container) bool {
	if d.stopped {
		return false
	}
	d.ws()
	if d.pos >= len(d.s) {
		d.stop()
		return false
	}
	if d.s[d.pos] == c.close {
		d.pos++
		d.depth--
		return false
	}
	if c.n > 0 {
		if d.s[d.pos] != ',' {
			d.stop()
			return false
		}
		d.pos++
		d.ws()
	}
	c.n++
	if c.close == ']' {
		return true
	}
	if d.pos >= len(d.s) || d.s[d.pos] != '"' {
		d.stop()
		return false
	}
	key, escaped := d.str()
	if escaped {
		// encoding/json matches the unescaped name; leave it the typed
		// path rather than unescape here.
		d.stop()
		return false
	}
	c.key = key
	d.ws()
	if d.pos >= len(d.s) || d.s[d.pos] != ':' {
		d.stop()
		return false
	}
	d.pos++
	return true
}

// str reads the string at the current position (at its opening quote) and
// returns its content as written, and whether it has escapes.
func (d *jsonReader) str() (raw string, escaped bool) {
	i := d.pos + 1
	for i < len(d.s) {
		c := d.s[i]
		switch {
		case c == '"':
			raw = d.s[d.pos+1 : i]
			d.pos = i + 1
			return raw, escaped
		case c == '\\':
			escaped = true
			if i+1 >= len(d.s) {
				d.stop()
				return "", false
			}
			switch d.s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d.s) || !isHex(d.s[i+2]) || !isHex(d.s[i+3]) || !isHex(d.s[i+4]) || !isHex(d.s[i+5]) {
					d.stop()
					return "", false
				}
				i += 6
			default:
				d.stop()
				return "", false
			}
		case c < 0x20:
			d.stop()
			return "", false
		default:
			i++
		}
	}
	d.stop()
	return "", false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// literal reads true, false or null.
func (d *jsonReader) literal(want string) {
	if !strings.HasPrefix(d.s[d.pos:], want) {
		d.stop()
		return
	}
	d.pos += len(want)
}

// number reads a number and returns it as written.
func (d *jsonReader) number() string {
	start, i := d.pos, d.pos
	digits := func() bool {
		j := i
		for i < len(d.s) && '0' <= d.s[i] && d.s[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(d.s) && d.s[i] == '-' {
		i++
	}
	switch {
	case i < len(d.s) && d.s[i] == '0':
		i++
	case !digits():
		d.stop()
		return ""
	}
	if i < len(d.s) && d.s[i] == '.' {
		i++
		if !digits() {
			d.stop()
			return ""
		}
	}
	if i < len(d.s) && (d.s[i] == 'e' || d.s[i] == 'E') {
		i++
		if i < len(d.s) && (d.s[i] == '+' || d.s[i] == '-') {
			i++
		}
		if !digits() {
			d.stop()
			return ""
		}
	}
	d.pos = i
	return d.s[start:i]
}

// skip reads any value, checking only its syntax.
func (d *jsonReader) skip() {
	switch d.peek() {
	case '{', '[':
		c := d.open()
		for d.next(&c) {
			d.skip()
		}
	case '"':
		d.str()
	case 't':
		d.literal("true")
	case 'f':
		d.literal("false")
	case 'n':
		d.literal("null")
	default:
		d.number()
	}
}

// stringValue reads a string (or null, which encoding/json leaves as the
// zero value) as encoding/json decodes it into a Go string; ok is false when
// the value is another type, which the typed decode refuses.
func (d *jsonReader) stringValue() (s string, isNull, ok bool) {
	switch d.peek() {
	case 'n':
		d.literal("null")
		return "", true, true
	case '"':
	default:
		d.skip()
		return "", false, false
	}
	start := d.pos
	raw, escaped := d.str()
	if d.stopped {
		return "", false, false
	}
	if !escaped && utf8.ValidString(raw) {
		return raw, false, true
	}
	if s, ok = unquote(d.s[start:d.pos]); !ok {
		d.stop()
	}
	return s, false, ok
}

// unquote decodes a JSON string with escapes, or bytes that are not UTF-8
// (which encoding/json replaces with U+FFFD), as the typed decode does.
func unquote(quoted string) (string, bool) {
	var s string
	err := kjson.UnmarshalCaseSensitivePreserveInts([]byte(quoted), &s)
	return s, err == nil
}

// intValue reads an integer of the given size (or null), as encoding/json
// decodes it into a Go integer; ok is false when the typed decode would
// refuse it (another type, a fraction, an exponent, out of range).
func (d *jsonReader) intValue(bits int) (n int64, isNull, ok bool) {
	switch c := d.peek(); {
	case c == 'n':
		d.literal("null")
		return 0, true, true
	case c == '-' || '0' <= c && c <= '9':
	default:
		d.skip()
		return 0, false, false
	}
	n, ok = parseInt(d.number(), bits)
	return n, false, ok
}

// parseInt is strconv.ParseInt(s, 10, 64) with the overflow check of a
// bits-sized integer, as encoding/json decodes a number into an int, without
// allocating.
func parseInt(s string, bits int) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var u uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		u = u*10 + uint64(s[i]-'0')
	}
	limit := uint64(1) << (bits - 1)
	if neg {
		if u > limit {
			return 0, false
		}
		return -int64(u), true
	}
	if u >= limit {
		return 0, false
	}
	return int64(u), true
}

// parseUint is strconv.ParseUint(s, 10, 64) with the overflow check of a
// bits-sized unsigned integer, as encoding/json decodes a number into a
// uint, without allocating.
func parseUint(s string, bits int) bool {
	if s == "" {
		return false
	}
	var u uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		d := uint64(s[i] - '0')
		if u > (math.MaxUint64-d)/10 {
			return false
		}
		u = u*10 + d
	}
	return bits == 64 || u < uint64(1)<<bits
}

// foldsTo reports whether encoding/json, which matches keys regardless of
// case, would take key for name although it is not name itself.
func foldsTo(key, name string) bool {
	return key != name && strings.EqualFold(key, name)
}

// jsonShape is what apimachinery's decoder (sigs.k8s.io/json, case
// sensitive) accepts into one Go type: value checks a JSON value against it
// while reading.
type jsonShape struct {
	kind shapeKind
	// fields are a struct's members by their JSON name.
	fields map[string]*jsonShape
	// elem is a slice's elements' shape, or a map's values'.
	elem *jsonShape
	// bits is an integer's size.
	bits int
	// typ is the type an opaque value is decoded into to find out.
	typ reflect.Type
	// pointer says the Go value is a pointer: a null sets it to nil and
	// calls no UnmarshalJSON.
	pointer bool
}

type shapeKind uint8

const (
	// shapeAny is a member the type does not have: any value is ignored.
	shapeAny shapeKind = iota
	shapeString
	shapeBool
	shapeInt
	shapeUint
	// shapeTime is a metav1.Time: null, or an RFC 3339 string.
	shapeTime
	shapeStruct
	shapeSlice
	shapeMap
	// shapeOpaque is a type the reader does not follow (its own
	// UnmarshalJSON, floats, unsigned integers, []byte, interfaces...):
	// its value is decoded into it by encoding/json itself.
	shapeOpaque
)

// unmarshalers are types with their own UnmarshalJSON that every route and
// review holds (timestamps, managedFields, the review's raw objects): the
// reader checks what their UnmarshalJSON checks rather than run it
// (TestKnownUnmarshalers compares the two).
var unmarshalers = map[reflect.Type]shapeKind{
	reflect.TypeFor[metav1.Time]():          shapeTime,
	reflect.TypeFor[metav1.FieldsV1]():      shapeAny,
	reflect.TypeFor[runtime.RawExtension](): shapeAny,
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	numberType          = reflect.TypeFor[json.Number]()
)

// shapeOf returns the shape of t.
func shapeOf(t reflect.Type) *jsonShape {
	return shapeFor(t, map[reflect.Type]*jsonShape{})
}

func shapeFor(t reflect.Type, seen map[reflect.Type]*jsonShape) *jsonShape {
	if s, ok := seen[t]; ok {
		return s
	}
	s := &jsonShape{}
	seen[t] = s // before the members: a type may contain itself
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		s.pointer = true
	}
	opaque := func() *jsonShape {
		s.kind, s.typ = shapeOpaque, t
		return s
	}
	if kind, ok := unmarshalers[t]; ok {
		s.kind = kind
		return s
	}
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) ||
		t.Implements(textUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) || t == numberType {
		return opaque()
	}
	switch t.Kind() {
	case reflect.String:
		s.kind = shapeString
	case reflect.Bool:
		s.kind = shapeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s.kind, s.bits = shapeInt, t.Bits()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s.kind, s.bits = shapeUint, t.Bits()
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return opaque() // base64
		}
		s.kind, s.elem = shapeSlice, shapeFor(t.Elem(), seen)
	case reflect.Map:
		k := t.Key()
		if k.Kind() != reflect.String || reflect.PointerTo(k).Implements(textUnmarshalerType) {
			return opaque()
		}
		s.kind, s.elem = shapeMap, shapeFor(t.Elem(), seen)
	case reflect.Struct:
		s.kind, s.fields = shapeStruct, map[string]*jsonShape{}
		if !addFields(s.fields, t, seen) {
			return opaque()
		}
	default:
		return opaque()
	}
	return s
}

// addFields adds the members encoding/json decodes into a struct, with
// those of its embedded structs. A struct it cannot map for sure (a ",string"
// option, an embedded pointer, two members of one name) is opaque: then
// encoding/json decides.
func addFields(fields map[string]*jsonShape, t reflect.Type, seen map[reflect.Type]*jsonShape) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !isValidTag(name) {
			name = ""
		}
		if f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				return false
			}
			if !f.IsExported() && ft.Kind() != reflect.Struct {
				continue
			}
			if ft.Kind() == reflect.Struct {
				if name != "" && !f.IsExported() {
					return false
				}
				if name == "" {
					if !addFields(fields, ft, seen) {
						return false
					}
					continue
				}
			}
		} else if !f.IsExported() {
			continue
		}
		for opt := range strings.SplitSeq(opts, ",") {
			if opt == "string" {
				return false
			}
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := fields[name]; dup {
			return false
		}
		fields[name] = shapeFor(f.Type, seen)
	}
	return true
}

// isValidTag is encoding/json's: a name it does not accept is ignored, and
// the Go field name used instead.
func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// field returns the shape of a struct's member; nil (anything goes) for a
// member the type does not have.
func (s *jsonShape) field(name string) *jsonShape {
	if s == nil || s.kind != shapeStruct {
		return nil
	}
	return s.fields[name]
}

// value reads a value and reports whether apimachinery's decoder would
// accept it into a Go value of shape s. Its syntax is checked either way.
func (d *jsonReader) value(s *jsonShape) bool {
	if s == nil || s.kind == shapeAny {
		d.skip()
		return true
	}
	c := d.peek()
	if s.kind == shapeOpaque {
		if c == 'n' && s.pointer {
			d.literal("null")
			return true
		}
		start := d.pos
		d.skip()
		if d.stopped {
			return false
		}
		return kjson.UnmarshalCaseSensitivePreserveInts([]byte(d.s[start:d.pos]), reflect.New(s.typ).Interface()) == nil
	}
	switch c {
	case 'n':
		// A null leaves a value as it is, and sets a pointer, slice or
		// map to nil.
		d.literal("null")
		return true
	case 't':
		d.literal("true")
		return s.kind == shapeBool
	case 'f':
		d.literal("false")
		return s.kind == shapeBool
	case '"':
		if s.kind == shapeTime {
			str, _, _ := d.stringValue()
			_, err := time.Parse(time.RFC3339, str)
			return err == nil && !d.stopped
		}
		d.str()
		return s.kind == shapeString
	case '{':
		if s.kind != shapeStruct && s.kind != shapeMap {
			d.skip()
			return false
		}
		ok := true
		o := d.open()
		for d.next(&o) {
			member := s.elem
			if s.kind == shapeStruct {
				member = s.fields[o.key]
			}
			ok = d.value(member) && ok
		}
		return ok
	case '[':
		if s.kind != shapeSlice {
			d.skip()
			return false
		}
		ok := true
		a := d.open()
		for d.next(&a) {
			ok = d.value(s.elem) && ok
		}
		return ok
	}
	n := d.number()
	switch {
	case d.stopped:
		return false
	case s.kind == shapeInt:
		_, ok := parseInt(n, s.bits)
		return ok
	case s.kind == shapeUint:
		return parseUint(n, s.bits)
	}
	return false
}
