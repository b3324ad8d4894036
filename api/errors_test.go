package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"
)

// TestPanicBecomesProblem checks that a panicking handler answers a 500
// problem document without its cause, and logs the panic with the request id.
func TestPanicBecomesProblem(t *testing.T) {
	var logs bytes.Buffer
	s := New(Services{}, Options{}, slog.New(LogHandler(slog.NewJSONHandler(&logs, nil))))
	s.App().Get("/boom", func(fiber.Ctx) error { panic("secret cause") })
	res, err := s.App().Test(httptest.NewRequest("GET", "/boom", nil))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 500 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("panic answered %d %s, want 500 application/problem+json", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var p problem
	if err := json.Unmarshal(body, &p); err != nil || p.Status != 500 {
		t.Fatalf("body = %s, want a problem document", body)
	}
	if strings.Contains(string(body), "secret cause") {
		t.Errorf("the panic's cause reached the client: %s", body)
	}
	id := res.Header.Get("X-Request-Id")
	if !strings.Contains(logs.String(), `"msg":"panic"`) || !strings.Contains(logs.String(), id) {
		t.Errorf("panic not logged with request id %s:\n%s", id, logs.String())
	}
}
