package api

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu"
)

// TestDecodeNamesTheField checks that a value of the wrong type or format
// is Invalid naming its field, whether encoding/json or an UnmarshalJSON
// method (time.Time's) refuses it.
func TestDecodeNamesTheField(t *testing.T) {
	type point struct {
		At *time.Time `json:"at"`
	}
	type body struct {
		Name       string           `json:"name"`
		RecordedAt *time.Time       `json:"recordedAt,omitempty"`
		When       time.Time        `json:"when"`
		Points     []point          `json:"points"`
		ByKey      map[string]point `json:"byKey"`
	}
	tests := []struct {
		name, body string
		kind       hyperlieu.Kind
		field      string
	}{
		{"words for a time", `{"recordedAt": "yesterday"}`, hyperlieu.Invalid, "recordedAt"},
		{"number for a time", `{"when": 12345}`, hyperlieu.Invalid, "when"},
		{"time in an array", `{"points": [{"at": "2026-05-01T10:00:00Z"}, {"at": true}]}`, hyperlieu.Invalid, "points.at"},
		{"time in a map", `{"byKey": {"k": {"at": "soon"}}}`, hyperlieu.Invalid, "byKey.k.at"},
		{"field case as encoding/json", `{"RECORDEDAT": "yesterday"}`, hyperlieu.Invalid, "recordedAt"},
		{"wrong type", `{"name": 3}`, hyperlieu.Invalid, "name"},
		{"not JSON", `{"name": `, hyperlieu.Malformed, ""},
		{"good", `{"name": "x", "recordedAt": "2026-05-01T10:00:00+02:00", "when": null}`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v body
			err := json.Unmarshal([]byte(tt.body), &v)
			if tt.kind == 0 {
				if err != nil {
					t.Fatalf("the good body does not decode: %v", err)
				}
				return
			}
			err = decodeFailure([]byte(tt.body), &v, err)
			var he *hyperlieu.Error
			if !errors.As(err, &he) || he.Kind != tt.kind {
				t.Fatalf("decode(%s) = %v, want kind %v", tt.body, err, tt.kind)
			}
			var got []string
			for _, f := range he.Fields {
				got = append(got, f.Field)
			}
			if want := []string{tt.field}; tt.field != "" && !slices.Equal(got, want) {
				t.Errorf("decode(%s) fields = %v, want %v", tt.body, got, want)
			}
		})
	}
}
