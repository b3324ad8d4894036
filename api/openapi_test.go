package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// TestEveryRouteIsDocumented fails when a route is served but missing from
// /openapi.json, or documented without a summary.
func TestEveryRouteIsDocumented(t *testing.T) {
	s := New(Services{}, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	doc := s.OpenAPI()
	paths := doc["paths"].(map[string]any)
	n := 0
	for _, r := range s.App().GetRoutes(true) {
		if r.Method == "HEAD" || !strings.HasPrefix(r.Path, "/") {
			continue
		}
		p := pathParam.ReplaceAllString(r.Path, "{$1}")
		item, _ := paths[p].(map[string]any)
		op, ok := item[strings.ToLower(r.Method)].(map[string]any)
		if !ok {
			t.Errorf("%s %s is served but not in the OpenAPI document", r.Method, r.Path)
			continue
		}
		if op["summary"] == "" {
			t.Errorf("%s %s has no summary", r.Method, r.Path)
		}
		if _, ok := op["responses"].(map[string]any)["500"]; !ok {
			t.Errorf("%s %s documents no error responses", r.Method, r.Path)
		}
		n++
	}
	if n < 10 {
		t.Errorf("checked %d routes; the table seems empty", n)
	}
}

// TestRouteTableHasNoDuplicates: Fiber would serve the first of two equal
// routes silently, hiding the second handler.
func TestRouteTableHasNoDuplicates(t *testing.T) {
	s := New(Services{}, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	seen := map[string]bool{}
	for _, r := range s.routes {
		k := r.method + " " + r.path
		if seen[k] {
			t.Errorf("%s is in the route table twice", k)
		}
		seen[k] = true
	}
}

// TestOpenAPIDocument writes the served document to $OPENAPI_OUT, for the
// contract checks in test/contract (Redocly lint, a generated TypeScript
// client); without it, it only checks that the document is JSON.
func TestOpenAPIDocument(t *testing.T) {
	s := New(Services{}, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if !json.Valid(s.docJSON) {
		t.Fatal("the document is not JSON")
	}
	if out := os.Getenv("OPENAPI_OUT"); out != "" {
		var doc any
		_ = json.Unmarshal(s.docJSON, &doc)
		b, _ := json.MarshalIndent(doc, "", "  ")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
