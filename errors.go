// Package hyperlieu holds the vocabulary and the use cases of the Hyperlieu
// backend: accounts, shops, events, campaigns, notifications and loyalty.
// It knows nothing of HTTP, BSON or JSON; the api and store packages adapt it.
package hyperlieu

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind says what went wrong in terms a caller can act on.
type Kind uint8

const (
	Internal        Kind = iota // the zero value: anything not classified
	Malformed                   // the request cannot be read at all (bad JSON)
	Invalid                     // the request was read but a value is wrong
	Unauthenticated             // no identity, or a bad one
	Forbidden                   // identity known, action not allowed
	NotFound
	Conflict        // the state of things forbids it (taken, full, already done)
	TooManyRequests // slow down; see RetryAfter
	Unavailable     // a dependency is down; try again later
)

// FieldError names one offending field of a request and says what is wrong.
// Field uses the request's JSON names, with dots and [i] for nesting.
type FieldError struct {
	Field  string
	Detail string
}

// Error is a failure a client may be told about.
// Message is safe to show; Err is the cause, for logs only.
type Error struct {
	Kind       Kind
	Message    string
	Fields     []FieldError  // for Invalid: every offending field
	RetryAfter time.Duration // for TooManyRequests and Unavailable
	Err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Detail)
	}
	if e.Err != nil {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind with a formatted, client-safe message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the Kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Problems collects field errors while a request is validated, so that the
// client hears about every wrong field at once.
type Problems []FieldError

// Add records that field is wrong.
func (p *Problems) Add(field, format string, args ...any) {
	*p = append(*p, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was added, else an Invalid *Error listing the fields.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	names := make([]string, len(p))
	for i, f := range p {
		names[i] = f.Field
	}
	return &Error{Kind: Invalid, Message: "invalid " + strings.Join(names, ", "), Fields: p}
}

// InvalidField returns an Invalid *Error about one field of a request; its
// message is "invalid <field>" and detail says what is wrong.
func InvalidField(field, detail string) *Error {
	return &Error{Kind: Invalid, Message: "invalid " + field, Fields: []FieldError{{Field: field, Detail: detail}}}
}

// WithMessage replaces e's client-safe message and returns e.
func (e *Error) WithMessage(msg string) *Error {
	e.Message = msg
	return e
}

// WithCause records err as e's cause (for logs only) and returns e.
func (e *Error) WithCause(err error) *Error {
	e.Err = err
	return e
}
