package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
)

// getOpenAPI handles GET /openapi.json.
func (s *Server) getOpenAPI(c fiber.Ctx) error {
	return c.JSON(s.OpenAPI())
}

var pathParam = regexp.MustCompile(`:([A-Za-z0-9_]+)\??`)

// OpenAPI builds the OpenAPI 3.1 document from the route table, so that no
// route can be served without being described.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, r := range s.routes {
		p := pathParam.ReplaceAllString(r.path, "{$1}")
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(r.method)] = s.operation(r)
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Hyperlieu API",
			"version":     cmpOr(s.opts.Version, "dev"),
			"description": "Geolocated engagement backend: accounts, shops and events, geofenced campaigns, push notifications and loyalty. Every error is application/problem+json (RFC 9457).",
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"},
			},
			"schemas": map[string]any{"Problem": schemaOf(reflect.TypeFor[problem]())},
		},
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Server) operation(r route) map[string]any {
	op := map[string]any{
		"summary":     r.summary,
		"operationId": operationID(r),
		"tags":        []string{tagOf(r.path)},
	}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(r.path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if !r.access.public {
		op["security"] = []any{map[string]any{"bearer": []string{}}}
		if len(r.access.roles) > 0 {
			op["x-roles"] = roleList(r.access.roles)
		}
	}
	if r.in != nil {
		op["requestBody"] = map[string]any{
			"required": true,
			"content":  map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(r.in))}},
		}
	}
	status := r.status
	if status == 0 {
		status = 200
	}
	ok := map[string]any{"description": http.StatusText(status)}
	switch {
	case r.out != nil:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(r.out))}}
	case r.content != "":
		ok["content"] = map[string]any{r.content: map[string]any{"schema": map[string]any{"type": "string"}}}
	}
	responses := map[string]any{strconv.Itoa(status): ok}
	errs := map[int]bool{500: true}
	if r.in != nil {
		errs[400], errs[413], errs[415], errs[422] = true, true, true, true
	}
	if !r.access.public {
		errs[401] = true
		if len(r.access.roles) > 0 {
			errs[403] = true
		}
	}
	if len(params) > 0 {
		errs[404] = true
	}
	for _, e := range r.errs {
		errs[e] = true
	}
	for e := range errs {
		responses[strconv.Itoa(e)] = map[string]any{
			"description": http.StatusText(e),
			"content":     map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}},
		}
	}
	op["responses"] = responses
	return op
}

func operationID(r route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.method))
	for _, part := range strings.FieldsFunc(r.path, func(c rune) bool { return c == '/' || c == '.' || c == '-' }) {
		if part == "v1" {
			continue
		}
		if strings.HasPrefix(part, ":") {
			part = "By" + strings.TrimPrefix(strings.TrimSuffix(part, "?"), ":")
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func tagOf(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if parts[0] == "v1" && len(parts) > 1 {
		if parts[1] == "admin" || parts[1] == "me" {
			return parts[1]
		}
		return parts[1]
	}
	return "service"
}

var timeType = reflect.TypeFor[time.Time]()
var rawType = reflect.TypeFor[json.RawMessage]()

// schemaOf describes a Go type as JSON Schema, following its json tags.
func schemaOf(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := schemaOf(t.Elem())
		if typ, ok := s["type"].(string); ok {
			s["type"] = []string{typ, "null"}
		}
		return s
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
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		addFields(t, props, &required)
		s := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			sort.Strings(required)
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}

func addFields(t reflect.Type, props map[string]any, required *[]string) {
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
			addFields(ft, props, required)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}
