package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/hyperlieu/hyperlieu"
)

// decode reads the JSON request body into v. Unreadable JSON is Malformed
// (400); a value of the wrong type is Invalid (422) naming the field.
// Unknown fields are ignored, so that newer apps can talk to older servers.
func decode(c fiber.Ctx, v any) error {
	if ct := c.Get(fiber.HeaderContentType); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") &&
		!strings.Contains(strings.ToLower(ct), "+json") {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "request body must be application/json")
	}
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return hyperlieu.Errorf(hyperlieu.Malformed, "request body is empty; expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return decodeFailure(body, v, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return hyperlieu.Errorf(hyperlieu.Malformed, "request body has data after the JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return &hyperlieu.Error{Kind: hyperlieu.Malformed, Message: "request body must be a JSON " + jsonKind(te.Type.Kind().String()), Err: err}
		}
		return hyperlieu.InvalidField(field, fmt.Sprintf("must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)).WithCause(err)
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return &hyperlieu.Error{Kind: hyperlieu.Malformed, Message: "request body is not valid JSON: " + err.Error(), Err: err}
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		return hyperlieu.InvalidField(fe.field, fe.detail).WithCause(err)
	}
	return &hyperlieu.Error{Kind: hyperlieu.Malformed, Message: "request body is not valid JSON", Err: err}
}

// decodeFailure turns an error of decoding valid JSON body into v into a
// problem. Errors of UnmarshalJSON methods (time.Time's above all) carry no
// field name, so the field is found again by decoding it alone.
func decodeFailure(body []byte, v any, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var fe *fieldError
	if errors.As(err, &te) || errors.As(err, &se) || errors.As(err, &fe) || !json.Valid(body) {
		return decodeError(err)
	}
	field, t := locate(reflect.TypeOf(v), body, "")
	if field == "" {
		return decodeError(err)
	}
	detail := "has a value of the wrong type or format"
	if t == reflect.TypeFor[time.Time]() {
		detail = "must be a date-time string in RFC 3339 format, like 2026-05-01T18:30:00Z"
	}
	return &hyperlieu.Error{Kind: hyperlieu.Invalid, Message: "invalid " + field,
		Fields: []hyperlieu.FieldError{{Field: field, Detail: detail}}, Err: err}
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// locate returns the dotted name (as json.UnmarshalTypeError.Field gives
// it: no indexes) and the type of the first value in raw that fails to
// decode into its place in t through an UnmarshalJSON method, or "".
func locate(t reflect.Type, raw json.RawMessage, path string) (string, reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		if path != "" && json.Unmarshal(raw, reflect.New(t).Interface()) != nil {
			return path, t
		}
		if path != "" {
			return "", nil
		}
	}
	join := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	switch t.Kind() {
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return "", nil
		}
		for _, f := range reflect.VisibleFields(t) {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" || (f.Anonymous && name == "") {
				continue
			}
			if name == "" {
				name = f.Name
			}
			for k, v := range obj {
				if strings.EqualFold(k, name) {
					if field, ft := locate(f.Type, v, join(name)); field != "" {
						return field, ft
					}
				}
			}
		}
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return "", nil
		}
		for _, item := range items {
			if field, ft := locate(t.Elem(), item, path); field != "" {
				return field, ft
			}
		}
	case reflect.Map:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return "", nil
		}
		for k, v := range obj {
			if field, ft := locate(t.Elem(), v, join(k)); field != "" {
				return field, ft
			}
		}
	}
	return "", nil
}

// fieldError is returned by custom UnmarshalJSON methods to name a field.
type fieldError struct{ field, detail string }

func (e *fieldError) Error() string { return e.field + " " + e.detail }

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number"
	case "float32", "float64":
		return "a number"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "of another type"
}
