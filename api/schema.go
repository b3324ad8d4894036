package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The request and response structs are the schema: their json tags give the
// names, and an api tag gives what JSON alone cannot say, for example
//
//	Rating int    `json:"rating" api:"required,min=1,max=5"`
//	Status string `json:"status" api:"enum=draft|active|paused|ended"`
//
// Keys: required, min, max, minLength, maxLength, minItems, maxItems,
// enum (| separated), default, format (date-time, email…), and last
// pattern. On a
// slice, everything but minItems and maxItems applies to its items. A doc
// tag describes the field. The same schema documents the field in
// /openapi.json and validates it on every request (validate.go), so the two
// cannot disagree.

// mode tells whether a type is read from clients or written to them. A
// response field is present unless omitempty; a request field is required
// only when its tag says so.
type mode uint8

const (
	outMode mode = iota
	inMode
)

// schemas builds JSON Schemas from Go types and collects the named ones as
// components (#/components/schemas/Name), named after their Go type.
type schemas struct {
	comps map[string]map[string]any
	names map[typeMode]string
}

type typeMode struct {
	t reflect.Type
	m mode
}

func newSchemas() *schemas {
	return &schemas{comps: map[string]map[string]any{}, names: map[typeMode]string{}}
}

// customSchema is a type whose shape reflection cannot see (a oneOf).
type customSchema interface {
	jsonSchema(g *schemas, m mode) map[string]any
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	rawType     = reflect.TypeFor[json.RawMessage]()
	customType  = reflect.TypeFor[customSchema]()
	componentAs = map[string]string{ // Go names that do not read well as component names
		"jsonFeed": "JSONFeed", "jsonFeedItem": "JSONFeedItem", "latLng": "LatLng", "rsvpResponse": "RSVP",
		"statusResponse": "ServiceStatus", "fanResponse": "CustomerView", "problem": "Problem",
		"fieldProblem": "FieldProblem", "pointResponse": "Point", "centerJSON": "LatLngPoint",
		"nearbyResponse": "NearbyPage", "nearbyJSON": "NearbyOffers", "locationResponse": "LocationResult",
		"shopsJSON": "ShopsZoneShops", "cellsResponse": "CellCollection",
	}
)

// componentName is the component a named type becomes.
func componentName(t reflect.Type) string {
	if n, ok := componentAs[t.Name()]; ok {
		return n
	}
	n := strings.TrimSuffix(strings.TrimSuffix(t.Name(), "Response"), "JSON")
	r := []rune(n)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// ref returns a reference to the named component of t, building it once.
func (g *schemas) ref(t reflect.Type, m mode) map[string]any {
	k := typeMode{t, m}
	if name, ok := g.names[k]; ok {
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	var s map[string]any
	if t.Implements(customType) {
		s = reflect.Zero(t).Interface().(customSchema).jsonSchema(g, m)
	} else {
		s = g.object(t, m)
	}
	name := componentName(t)
	// A type read and written with other constraints gets two components.
	if old, ok := g.comps[name]; ok && !reflect.DeepEqual(old, s) {
		if m == inMode {
			name += "Input"
		} else {
			name += "Output"
		}
	}
	g.names[k] = name
	g.comps[name] = s
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

// of describes t as JSON Schema.
func (g *schemas) of(t reflect.Type, m mode) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	case t.Kind() == reflect.Struct && t.Name() != "":
		return g.ref(t, m)
	case t.Kind() != reflect.Pointer && t.Implements(customType):
		return g.ref(t, m)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(g.of(t.Elem(), m))
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.of(t.Elem(), m)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem(), m)}
	case reflect.Struct:
		return g.object(t, m)
	}
	return map[string]any{}
}

// nullable lets s also be null.
func nullable(s map[string]any) map[string]any {
	if typ, ok := s["type"].(string); ok {
		s = maps.Clone(s)
		s["type"] = []any{typ, "null"}
		if e, ok := s["enum"].([]any); ok {
			s["enum"] = append(slices.Clone(e), nil)
		}
		return s
	}
	if _, ok := s["type"]; ok {
		return s
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

func (g *schemas) object(t reflect.Type, m mode) map[string]any {
	props := map[string]any{}
	var required []string
	g.addFields(t, m, props, &required)
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	return s
}

func (g *schemas) addFields(t reflect.Type, m mode, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			g.addFields(ft, m, props, required)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		omitted := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		ft := f.Type
		if m == outMode && omitted && ft.Kind() == reflect.Pointer {
			ft = ft.Elem() // absent, never null
		}
		var s map[string]any
		s, ok := g.rawSchema(f.Tag.Get("openapi"), m)
		if !ok {
			s = g.of(ft, m)
		}
		req, err := constrain(s, f.Tag.Get("api"))
		if err != nil {
			panic(fmt.Sprintf("api: %s.%s: %v", t.Name(), f.Name, err)) // a programming error, caught by any test
		}
		if d := f.Tag.Get("doc"); d != "" {
			s = withDescription(s, d)
		}
		props[name] = s
		switch {
		case m == inMode && req:
			*required = append(*required, name)
		case m == outMode && (req || !omitted && f.Type.Kind() != reflect.Pointer):
			*required = append(*required, name)
		}
	}
}

// withDescription adds a description; beside a $ref that needs allOf in
// tools that follow OpenAPI 3.0, so keep refs bare and describe nothing.
func withDescription(s map[string]any, d string) map[string]any {
	if _, ok := s["$ref"]; ok {
		return s
	}
	s["description"] = d
	return s
}

// rawSchema describes a json.RawMessage field by its openapi tag.
func (g *schemas) rawSchema(tag string, m mode) (map[string]any, bool) {
	switch tag {
	case "quietHours":
		return nullable(g.of(reflect.TypeFor[quietHours](), m)), true
	}
	return nil, false
}

// constrain applies an api tag to s (in place) and reports whether it says
// required.
func constrain(s map[string]any, tag string) (required bool, err error) {
	if tag == "" {
		return false, nil
	}
	target := s
	if typeOf(s) == "array" {
		if it, ok := s["items"].(map[string]any); ok {
			if _, isRef := it["$ref"]; !isRef {
				it = maps.Clone(it)
				s["items"] = it
				target = it
			}
		}
	}
	parts := strings.Split(tag, ",")
	for i, part := range parts {
		if strings.HasPrefix(part, "pattern=") { // the last key: a pattern may hold commas
			parts = append(parts[:i], strings.Join(parts[i:], ","))
			break
		}
	}
	for _, part := range parts {
		key, val, _ := strings.Cut(part, "=")
		switch key {
		case "required":
			required = true
		case "min", "max":
			n, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return false, fmt.Errorf("%s=%q is not a number", key, val)
			}
			target[map[string]string{"min": "minimum", "max": "maximum"}[key]] = n
		case "minLength", "maxLength":
			n, err := strconv.Atoi(val)
			if err != nil {
				return false, fmt.Errorf("%s=%q is not a whole number", key, val)
			}
			target[key] = n
		case "minItems", "maxItems":
			n, err := strconv.Atoi(val)
			if err != nil {
				return false, fmt.Errorf("%s=%q is not a whole number", key, val)
			}
			s[key] = n
		case "enum":
			var e []any
			for _, v := range strings.Split(val, "|") {
				e = append(e, v)
			}
			if typ, ok := target["type"].([]any); ok && slices.Contains(typ, "null") {
				e = append(e, nil)
			}
			target["enum"] = e
		case "default":
			target["default"] = typedValue(target, val)
		case "pattern":
			if _, err := regexp.Compile(val); err != nil {
				return false, err
			}
			target[key] = val
		case "format":
			target[key] = val
		default:
			return false, fmt.Errorf("unknown api tag key %q", key)
		}
	}
	return required, nil
}

// typedValue turns a tag's text into the schema's type, for defaults.
func typedValue(s map[string]any, v string) any {
	switch typeOf(s) {
	case "integer":
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	case "number":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	case "boolean":
		return v == "true"
	}
	return v
}

// typeOf returns the non-null type of s.
func typeOf(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if x != "null" {
				return x.(string)
			}
		}
	}
	return ""
}
