package test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEdges runs the checks of what the server lets out at its edges —
// headers, error bodies, logs, metrics, the operator's listener — against
// one server, as they need nothing of each other.
func TestEdges(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{
		"HYPERLIEU_DEMO":         "true", // beaten by the flag below
		"HYPERLIEU_TYPO_SETTING": "value-of-a-typo",
		"HYPERLIEU_PPROF_ADDR":   "127.0.0.1:0",
	}, "--demo=false")

	t.Run("no CORS without origins", func(t *testing.T) {
		for _, r := range []response{
			s.doHeaders(t, "GET", "/v1/me", "", nil, map[string]string{"Origin": "https://evil.example"}),
			s.doHeaders(t, "OPTIONS", "/v1/me", "", nil, map[string]string{
				"Origin": "https://evil.example", "Access-Control-Request-Method": "GET",
			}),
		} {
			for k := range r.Header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("with no origins configured, /v1 answered %s: %q (status %d)", k, r.Header.Get(k), r.Status)
				}
			}
		}
	})

	t.Run("errors never echo the request", func(t *testing.T) {
		const secret = "secret-bearer-0123456789"
		auth := "Authorization: Bearer " + secret + "\r\n"
		for name, raw := range map[string]string{
			"malformed request line": "GET  /v1/me HTTP/1.1 extra\r\nHost: x\r\n" + auth + "\r\n",
			"bad version":            "GET /v1/me HTTP/9" + secret + "\r\nHost: x\r\n" + auth + "\r\n",
			"duplicate length":       "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
			"NUL in a header":        "GET /v1/me HTTP/1.1\r\nHost: x\r\n" + auth + "X-Note: a\x00b\r\n\r\n",
			"header without colon":   "GET /v1/me HTTP/1.1\r\nHost: x\r\n" + auth + "not a header\r\n\r\n",
			"bad content length":     "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 1" + secret + "\r\n\r\n{}",
			"bad chunk":              "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n" + auth + "Transfer-Encoding: chunked\r\n\r\nzz" + secret + "\r\n",
		} {
			t.Run(name, func(t *testing.T) {
				status, answer := rawExchange(t, s, raw)
				if strings.Contains(answer, secret) || strings.Contains(answer, "Bearer") {
					t.Errorf("the answer quotes the request:\n%s", answer)
				}
				if status < 400 || status >= 500 {
					t.Errorf("status = %d, want a 4xx:\n%s", status, answer)
				}
				if !strings.Contains(answer, "application/problem+json") {
					t.Errorf("the answer is not a problem document:\n%s", answer)
				}
			})
		}
		if strings.Contains(s.Logs(), secret) {
			t.Errorf("the bearer token reached the logs:\n%s", tail(s.Logs(), 20))
		}
	})

	t.Run("device tokens stay out of the logs", func(t *testing.T) {
		const device = "fcm-device-token-abcdefghijklmnopqrstuvwxyz-0123456789"
		u := s.registerIn(t, "Noa", "fr", zoneWhere(t, daytime))
		s.addDevice(t, u, device)
		waitUntil(t, s, 30*time.Second, "the welcome is logged", func() bool {
			return strings.Contains(s.Logs(), "Bienvenue chez Hyperlieu, Noa")
		})
		want(t, s.do(t, "DELETE", "/v1/me/devices/"+device, u.Token, nil), http.StatusNoContent)
		problemOf(t, s.do(t, "DELETE", "/v1/me/devices/"+device+"-unknown", u.Token, nil), http.StatusNotFound)
		waitUntil(t, s, 10*time.Second, "the deletions are logged", func() bool {
			return strings.Count(s.Logs(), `"route":"/v1/me/devices/:token"`) >= 2
		})
		if strings.Contains(s.Logs(), device) || strings.Contains(s.Logs(), device[:24]) {
			t.Errorf("a device token reached the logs:\n%s", grepLines(s.Logs(), device[:24]))
		}
		if !strings.Contains(s.Logs(), `"token":"…`+device[len(device)-4:]+`"`) {
			t.Errorf("the push log does not show the masked token:\n%s", grepLines(s.Logs(), "Bienvenue"))
		}
	})

	t.Run("malformed times are 422 naming the field", func(t *testing.T) {
		u := s.register(t, "Tim")
		admin := s.admin(t)
		for _, tc := range []struct {
			method, path, token, body, field string
		}{
			{"POST", "/v1/me/location", u.Token, `{"lat": 48.85, "lng": 2.35, "recordedAt": "yesterday"}`, "recordedAt"},
			{"POST", "/v1/me/location", u.Token, `{"points": [{"lat": 48.85, "lng": 2.35, "recordedAt": 17}]}`, "points[0].recordedAt"},
			{"POST", "/v1/admin/activities", admin.Token, `{"userId": "` + u.ID + `", "kind": "checkin", "sourceKey": "k", "at": 12345}`, "at"},
		} {
			p := problemOf(t, s.do(t, tc.method, tc.path, tc.token, tc.body), http.StatusUnprocessableEntity)
			if got := fields(p); !slices.Equal(got, []string{tc.field}) {
				t.Errorf("%s %s: fields = %v, want [%s]; problem %v", tc.method, tc.path, got, tc.field, p)
			}
			if strings.Contains(fmt.Sprint(p), "yesterday") {
				t.Errorf("the problem quotes the value: %v", p)
			}
		}
	})

	t.Run("flags win over the environment", func(t *testing.T) {
		want(t, s.do(t, "POST", "/v1/auth/login", "", map[string]any{
			"email": "camille@demo.hyperlieu.test", "password": "hyperlieu-demo",
		}), http.StatusUnauthorized)
	})

	t.Run("unknown variables are warned about by name only", func(t *testing.T) {
		if !strings.Contains(grepLines(s.Logs(), "HYPERLIEU_TYPO_SETTING"), `"level":"WARN"`) {
			t.Errorf("no warning names HYPERLIEU_TYPO_SETTING:\n%s", tail(s.Logs(), 30))
		}
		if strings.Contains(s.Logs(), "value-of-a-typo") {
			t.Errorf("the unknown variable's value was logged")
		}
	})

	t.Run("build info in the metrics", func(t *testing.T) {
		r := want(t, s.do(t, "GET", "/metrics", "", nil), http.StatusOK)
		if !regexp.MustCompile(`(?m)^hyperlieu_build_info\{goversion="go1\.[^"]+",version="dev"\} 1$`).Match(r.Body) {
			t.Errorf("no hyperlieu_build_info in /metrics:\n%s", grepLines(string(r.Body), "build_info"))
		}
	})

	t.Run("pprof on its own loopback listener only", func(t *testing.T) {
		problemOf(t, s.do(t, "GET", "/debug/pprof/", "", nil), http.StatusNotFound)
		addr := logged(t, s, "pprof listening")
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Fatalf("pprof listens on %q, want a loopback address", addr)
		}
		for path, want := range map[string]string{"/debug/pprof/": "goroutine", "/debug/pprof/goroutine?debug=1": "goroutine profile", "/debug/pprof/cmdline": "hyperlieu"} {
			res, err := client.Get("http://" + addr + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
				t.Errorf("GET %s = %d, want 200 with %q:\n%.300s", path, res.StatusCode, want, body)
			}
		}
	})

	t.Run("healthcheck", func(t *testing.T) {
		out, err := runBinary(t, map[string]string{"HYPERLIEU_ADDR": strings.TrimPrefix(s.URL, "http://")}, "healthcheck")
		if err != nil {
			t.Errorf("healthcheck against a running server: %v\n%s", err, out)
		}
		out, err = runBinary(t, map[string]string{"HYPERLIEU_ADDR": fmt.Sprintf("127.0.0.1:%d", freePort(t))}, "healthcheck")
		if err == nil {
			t.Errorf("healthcheck against nothing succeeded:\n%s", out)
		}
	})
}

// rawExchange writes raw bytes on a fresh connection and returns the
// status and the whole answer (head and body).
func rawExchange(t *testing.T, s *server, raw string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	res, err := http.ReadResponse(bufio.NewReader(io.TeeReader(conn, &all)), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v\n%s", err, all.String())
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, all.String()
}

// logged returns the addr of the first log line with message msg.
func logged(t *testing.T, s *server, msg string) string {
	t.Helper()
	for line := range strings.SplitSeq(s.Logs(), "\n") {
		var rec struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
			return rec.Addr
		}
	}
	t.Fatalf("no %q line in the log:\n%s", msg, tail(s.Logs(), 30))
	return ""
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func TestCORSAllowsOnlyConfiguredOrigins(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"HYPERLIEU_CORS_ORIGINS": "https://app.example"})
	r := s.doHeaders(t, "GET", "/v1/me", "", nil, map[string]string{"Origin": "https://app.example"})
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
		t.Errorf("Access-Control-Allow-Origin = %q for a configured origin, want it echoed", got)
	}
	r = s.doHeaders(t, "GET", "/v1/me", "", nil, map[string]string{"Origin": "https://evil.example"})
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("Access-Control-Allow-Origin = %q for another origin, want none", got)
	}
}

// TestDataFolderIsLocked shows that a second server on the same embedded
// data folder refuses to start, and that a crashed one does not block the next.
func TestDataFolderIsLocked(t *testing.T) {
	t.Parallel()
	first := startServer(t, nil)
	out, err := runBinary(t, map[string]string{
		"HYPERLIEU_DATA_DIR": first.DataDir, "HYPERLIEU_JWT_KEYS_FILE": keysFile, "HYPERLIEU_ADDR": "127.0.0.1:0",
	}, "serve")
	if err == nil || !strings.Contains(out, "in use by another hyperlieu process") {
		t.Errorf("a second server on the same data folder: err %v, output:\n%s", err, out)
	}
	first.Kill(t) // a crash leaves the lock file behind
	again := startServer(t, map[string]string{"HYPERLIEU_DATA_DIR": first.DataDir})
	want(t, again.do(t, "GET", "/healthz", "", nil), http.StatusOK)
}

func TestCommandLine(t *testing.T) {
	t.Parallel()
	out, err := runBinary(t, nil, "serve", "--help")
	if err != nil || !strings.Contains(out, "HYPERLIEU_ADDR") || !strings.Contains(out, "HYPERLIEU_PPROF_ADDR") {
		t.Errorf("serve --help: err %v, output:\n%s", err, out)
	}
	out, err = runBinary(t, nil, "version")
	if err != nil || !strings.HasPrefix(out, "hyperlieu dev go1.") {
		t.Errorf("version: err %v, output %q, want hyperlieu dev go1.…", err, out)
	}
	out, err = runBinary(t, map[string]string{"HYPERLIEU_PPROF_ADDR": "0.0.0.0:6060", "HYPERLIEU_ADDR": "127.0.0.1:0"}, "serve")
	if err == nil || !strings.Contains(out, "HYPERLIEU_PPROF_ADDR") {
		t.Errorf("pprof on every interface: err %v, output:\n%s", err, out)
	}
	out, err = runBinary(t, nil, "frobnicate")
	if err == nil || !strings.Contains(out, "healthcheck") {
		t.Errorf("an unknown command: err %v, output:\n%s", err, out)
	}
}

// TestImage checks the image's files, as CI has no Docker engine: the
// health check needs no shell, and the build context leaves secrets out.
func TestImage(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	dockerfile := read("Dockerfile")
	for _, want := range []string{
		`HEALTHCHECK`, `CMD ["/usr/local/bin/hyperlieu", "healthcheck"]`,
		`org.opencontainers.image.version="${VERSION}"`, `org.opencontainers.image.source=`,
		`org.opencontainers.image.licenses="Apache-2.0"`,
	} {
		if !strings.Contains(dockerfile, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	ignored := strings.Fields(read(".dockerignore"))
	for _, want := range []string{".git", "data", "**/node_modules", "*.pem", "admin-password.txt", ".env*", "**/*.key"} {
		if !slices.Contains(ignored, want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
	if !strings.Contains(read("docker-compose.yml"), "restart: unless-stopped") {
		t.Errorf("docker-compose.yml has no restart policy")
	}
	if !strings.Contains(read("LICENSE"), "Apache License") {
		t.Errorf("LICENSE is not the Apache License")
	}
}
