package api

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

func TestBuildInfo(t *testing.T) {
	s := New(Services{}, Options{Version: "1.2.3"}, slog.New(slog.DiscardHandler))
	res, err := s.App().Test(httptest.NewRequest("GET", "/metrics", nil))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	want := `hyperlieu_build_info{goversion="` + runtime.Version() + `",version="1.2.3"} 1`
	if !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}
