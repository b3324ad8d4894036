package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

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
		return decodeError(err)
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
