package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/mail"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
)

// checker validates request values against the schemas of the OpenAPI
// document itself, so that what the document says and what the server
// refuses are one thing.
type checker struct {
	comps    map[string]map[string]any
	patterns sync.Map // pattern → *regexp.Regexp
}

// queryParam is one declared query parameter of a route.
type queryParam struct {
	name     string
	required bool
	schema   map[string]any
}

// queryParams lists the query parameters a route's query struct declares.
func (g *schemas) queryParams(q any) []queryParam {
	if q == nil {
		return nil
	}
	t := reflect.TypeOf(q)
	var out []queryParam
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("query")
		if name == "" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		s := g.of(ft, inMode)
		req, err := constrain(s, f.Tag.Get("api"))
		if err != nil {
			panic(fmt.Sprintf("api: %s.%s: %v", t.Name(), f.Name, err))
		}
		if d := f.Tag.Get("doc"); d != "" {
			s["description"] = d
		}
		out = append(out, queryParam{name: name, required: req, schema: s})
	}
	return out
}

// validate checks a route's query parameters and JSON body against the
// route's schemas before its handler runs. Bodies that are not JSON, or not
// readable JSON, are left to the handler's decode, which says why (415, 400).
func (s *Server) validate(r route) fiber.Handler {
	var body map[string]any
	if r.in != nil {
		body = s.docSchemas.of(reflect.TypeOf(r.in), inMode)
	}
	params := s.docSchemas.queryParams(r.query)
	if body == nil && len(params) == 0 {
		return func(c fiber.Ctx) error { return c.Next() }
	}
	return func(c fiber.Ctx) error {
		var p hyperlieu.Problems
		for _, qp := range params {
			raw := c.Query(qp.name)
			if raw == "" {
				if qp.required {
					p.Add(qp.name, "is required")
				}
				continue
			}
			if v, ok := s.check.queryValue(qp.schema, raw, qp.name, &p); ok {
				s.check.value(qp.schema, v, qp.name, &p)
			}
		}
		if body != nil && isJSON(c.Get(fiber.HeaderContentType)) {
			if v, ok := parseJSON(c.Body()); ok {
				if _, isObj := v.(map[string]any); isObj || typeOf(s.check.resolve(body)) != "object" {
					s.check.value(body, v, "", &p)
				}
			}
		}
		slices.SortStableFunc(p, func(a, b hyperlieu.FieldError) int { return strings.Compare(a.Field, b.Field) })
		if err := p.Err(); err != nil {
			return err
		}
		return c.Next()
	}
}

// isJSON tells whether a Content-Type names JSON; none counts as JSON.
func isJSON(ct string) bool {
	ct = strings.ToLower(ct)
	return ct == "" || strings.HasPrefix(ct, "application/json") || strings.Contains(ct, "+json")
}

// parseJSON reads one JSON value, keeping numbers exact.
func parseJSON(b []byte) (any, bool) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return v, true
}

// queryValue turns a query string into the JSON value its schema's type
// expects.
func (k *checker) queryValue(s map[string]any, raw, field string, p *hyperlieu.Problems) (any, bool) {
	switch typeOf(s) {
	case "integer", "number":
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			p.Add(field, "must be %s", kindWords[typeOf(s)])
			return nil, false
		}
		return json.Number(raw), true
	case "boolean":
		switch strings.ToLower(raw) {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
		p.Add(field, "must be true or false")
		return nil, false
	}
	return raw, true
}

var kindWords = map[string]string{
	"string": "a string", "integer": "a whole number", "number": "a number", "boolean": "true or false",
	"object": "an object", "array": "an array", "null": "null",
}

func (k *checker) resolve(s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = k.comps[strings.TrimPrefix(ref, "#/components/schemas/")]
	}
}

func child(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// value records in p every way v breaks s, naming fields as the API does
// (dots and [i]).
func (k *checker) value(s map[string]any, v any, path string, p *hyperlieu.Problems) {
	s = k.resolve(s)
	if alts, ok := s["oneOf"].([]any); ok {
		k.oneOf(s, alts, v, path, p)
		return
	}
	if alts, ok := s["anyOf"].([]any); ok {
		k.oneOf(s, alts, v, path, p)
		return
	}
	if !k.typeMatches(s, v) {
		p.Add(orBody(path), "must be %s", typeWords(s))
		return
	}
	if c, ok := s["const"]; ok && v != c {
		p.Add(orBody(path), "must be %v", c)
		return
	}
	if e, ok := s["enum"].([]any); ok && !enumHas(e, v) {
		var words []string
		for _, x := range e {
			if x != nil {
				words = append(words, fmt.Sprint(x))
			}
		}
		p.Add(orBody(path), "must be one of: %s", strings.Join(words, ", "))
		return
	}
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		lo, hasLo := s["minimum"].(float64)
		hi, hasHi := s["maximum"].(float64)
		switch {
		case hasLo && hasHi && (f < lo || f > hi):
			p.Add(path, "must be between %s and %s", num(lo), num(hi))
		case hasLo && f < lo:
			p.Add(path, "must be at least %s", num(lo))
		case hasHi && f > hi:
			p.Add(path, "must be at most %s", num(hi))
		}
	case string:
		n := utf8.RuneCountInString(x)
		if lo, ok := s["minLength"].(int); ok && n < lo {
			if lo == 1 {
				p.Add(path, "must not be empty")
			} else {
				p.Add(path, "must be at least %d characters", lo)
			}
		}
		if hi, ok := s["maxLength"].(int); ok && n > hi {
			p.Add(path, "must be at most %d characters", hi)
		}
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339, x); err != nil {
				p.Add(path, "must be an RFC 3339 date-time such as 2030-05-01T18:30:00+02:00")
			}
		case "email":
			if _, err := mail.ParseAddress(x); err != nil {
				p.Add(path, "must be an email address")
			}
		}
		if pat, ok := s["pattern"].(string); ok && !k.pattern(pat).MatchString(x) {
			p.Add(path, "must match %s", pat)
		}
	case []any:
		if lo, ok := s["minItems"].(int); ok && len(x) < lo {
			p.Add(path, "must have at least %d items", lo)
		}
		if hi, ok := s["maxItems"].(int); ok && len(x) > hi {
			p.Add(path, "must have at most %d items", hi)
		}
		if it, ok := s["items"].(map[string]any); ok {
			for i, e := range x {
				k.value(it, e, fmt.Sprintf("%s[%d]", path, i), p)
			}
		}
	case map[string]any:
		if req, ok := s["required"].([]string); ok {
			for _, name := range req {
				if _, ok := x[name]; !ok {
					p.Add(child(path, name), "is required")
				}
			}
		}
		props, _ := s["properties"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(x)) { // a stable order of problems
			fv := x[name]
			if ps, ok := props[name].(map[string]any); ok {
				k.value(ps, fv, child(path, name), p)
			} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
				k.value(ap, fv, child(path, name), p)
			}
		}
	}
}

// orBody names the whole body when a problem is not about a field.
func orBody(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// oneOf accepts v when one alternative does. Otherwise it reports the
// problems of the alternative whose outline v has (its type, its required
// members and their constant values), or, when v has none's, says which
// shapes are allowed.
func (k *checker) oneOf(s map[string]any, alts []any, v any, path string, p *hyperlieu.Problems) {
	var typed, outlined []map[string]any
	for _, a := range alts {
		as := k.resolve(a.(map[string]any))
		var q hyperlieu.Problems
		k.value(as, v, path, &q)
		if len(q) == 0 {
			return
		}
		if k.typeMatches(as, v) {
			typed = append(typed, as)
			if k.outline(as, v) {
				outlined = append(outlined, as)
			}
		}
	}
	switch {
	case len(typed) == 1: // such as {…} against an object-or-null
		k.value(typed[0], v, path, p)
		return
	case len(outlined) == 1:
		k.value(outlined[0], v, path, p)
		return
	}
	if d, ok := s["x-shapes"].(string); ok {
		p.Add(orBody(path), "must be %s", d)
		return
	}
	var words []string
	for _, a := range alts {
		words = append(words, typeWords(k.resolve(a.(map[string]any))))
	}
	p.Add(orBody(path), "must be %s", strings.Join(words, " or "))
}

// outline tells whether the object v is meant as s: it has the values of
// s's constant members (a GeoJSON type) or, when s has none, its required
// members.
func (k *checker) outline(s map[string]any, v any) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return true
	}
	req, _ := s["required"].([]string)
	props, _ := s["properties"].(map[string]any)
	consts := 0
	for name, ps := range props {
		if c, ok := k.resolve(ps.(map[string]any))["const"]; ok {
			consts++
			if obj[name] != c {
				return false
			}
		}
	}
	if consts > 0 {
		return true
	}
	for _, name := range req {
		if _, ok := obj[name]; !ok {
			return false
		}
	}
	return true
}

func (k *checker) typeMatches(s map[string]any, v any) bool {
	var types []string
	switch t := s["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, x.(string))
		}
	default:
		return true
	}
	for _, t := range types {
		switch x := v.(type) {
		case nil:
			if t == "null" {
				return true
			}
		case bool:
			if t == "boolean" {
				return true
			}
		case string:
			if t == "string" {
				return true
			}
		case json.Number:
			if t == "number" {
				return true
			}
			if t == "integer" {
				if _, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
					return true
				}
			}
		case []any:
			if t == "array" {
				return true
			}
		case map[string]any:
			if t == "object" {
				return true
			}
		}
	}
	return false
}

func typeWords(s map[string]any) string {
	if t, ok := s["title"].(string); ok {
		return t
	}
	var words []string
	switch t := s["type"].(type) {
	case string:
		words = append(words, kindWords[t])
	case []any:
		for _, x := range t {
			words = append(words, kindWords[x.(string)])
		}
	}
	if len(words) == 0 {
		return "another value"
	}
	return strings.Join(words, " or ")
}

func enumHas(e []any, v any) bool {
	for _, x := range e {
		if x == v {
			return true
		}
		if n, ok := v.(json.Number); ok {
			if f, err := n.Float64(); err == nil && x == f {
				return true
			}
		}
	}
	return false
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (k *checker) pattern(p string) *regexp.Regexp {
	if re, ok := k.patterns.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(p) // constrain compiled it once already
	k.patterns.Store(p, re)
	return re
}
