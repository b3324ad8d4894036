// Package test holds black-box end-to-end tests: each starts the real
// hyperlieu binary on a free loopback port with a fresh data folder (and so
// a fresh embedded database), speaks HTTP to it, and stops it with SIGTERM.
package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the hyperlieu executable built once for the package.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hyperlieu-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "hyperlieu")
	_, file, _, _ := runtime.Caller(0)
	root = filepath.Dir(filepath.Dir(file))
	build := exec.Command("go", "build", "-o", binary, "./cmd/hyperlieu")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the server:", err)
		return 1
	}
	// Every server of the run shares one key ring, as instances behind one
	// load balancer must; it also exercises "hyperlieu keygen".
	keys, err := exec.Command(binary, "keygen").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "keygen:", err)
		return 1
	}
	keysFile = filepath.Join(dir, "jwt-keys.pem")
	if err := os.WriteFile(keysFile, keys, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// keysFile is the JWT key ring every test server uses.
var keysFile string

// server is one running hyperlieu process.
type server struct {
	URL      string // http://127.0.0.1:port
	MongoURI string // its embedded database, for a second instance
	DataDir  string
	cmd      *exec.Cmd
	mu       sync.Mutex
	out      bytes.Buffer // everything it logged
	done     chan struct{}
}

// adminEmail and adminPassword are the bootstrap admin of every test server.
const (
	adminEmail    = "admin@e2e.test"
	adminPassword = "admin-password-e2e"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer runs the binary with env added to a minimal environment and
// waits for /readyz. Extra args go after "serve". It is stopped with SIGTERM
// at cleanup, and the test fails if it does not exit cleanly.
func startServer(t testing.TB, env map[string]string, args ...string) *server {
	t.Helper()
	s := &server{DataDir: t.TempDir(), done: make(chan struct{})}
	dbPort := freePort(t)
	vars := map[string]string{
		"HYPERLIEU_ADDR":             "127.0.0.1:0",
		"HYPERLIEU_DATA_DIR":         s.DataDir,
		"HYPERLIEU_EMBEDDED_DB_ADDR": fmt.Sprintf("127.0.0.1:%d", dbPort),
		"HYPERLIEU_ADMIN_EMAIL":      adminEmail,
		"HYPERLIEU_ADMIN_PASSWORD":   adminPassword,
		"HYPERLIEU_LOG_FORMAT":       "json",
		"HYPERLIEU_JWT_KEYS_FILE":    keysFile,
		"HYPERLIEU_OUTBOX_POLL":      "500ms",
		"HYPERLIEU_OUTBOX_SCAN":      "500ms",
		// Every test customer signs up from loopback; the throttle has its
		// own test (trust_throttle_test.go).
		"HYPERLIEU_SIGNUPS_PER_ADDR": "100000",
		"PATH":                       os.Getenv("PATH"),
		"HOME":                       os.Getenv("HOME"),
	}
	for k, v := range env {
		vars[k] = v
	}
	if vars["MONGO_URI"] == "" {
		s.MongoURI = fmt.Sprintf("mongodb://127.0.0.1:%d/", dbPort)
	} else {
		s.MongoURI = vars["MONGO_URI"]
	}
	s.cmd = exec.Command(binary, append([]string{"serve"}, args...)...)
	for k, v := range vars {
		s.cmd.Env = append(s.cmd.Env, k+"="+v)
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = &lockedWriter{s: s}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.out.WriteString(line + "\n")
			s.mu.Unlock()
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case <-s.done:
		t.Fatalf("server exited before listening:\n%s", s.Logs())
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Fatalf("server did not start within 60s:\n%s", s.Logs())
	}
	t.Cleanup(func() { s.Stop(t) })
	return s
}

type lockedWriter struct{ s *server }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.out.Write(p)
}

// Logs returns what the server has written so far.
func (s *server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// Stop sends SIGTERM and waits for a clean exit (graceful shutdown).
func (s *server) Stop(t testing.TB) {
	t.Helper()
	if s.cmd.ProcessState != nil {
		return
	}
	// Spare connections the client opened but never used would hold the
	// graceful shutdown until the server's read timeout.
	client.CloseIdleConnections()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { <-s.done; exited <- s.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("server exited with %v after SIGTERM:\n%s", err, tail(s.Logs(), 40))
		}
		// The API document must declare every status a route answered.
		for _, line := range strings.Split(s.Logs(), "\n") {
			if strings.Contains(line, "status not declared in the OpenAPI document") {
				t.Errorf("%s", line)
			}
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("server did not stop within 30s of SIGTERM")
	}
}

// Kill stops the server abruptly (SIGKILL), as a crash would.
func (s *server) Kill(t testing.TB) {
	t.Helper()
	_ = s.cmd.Process.Kill()
	<-s.done
	_ = s.cmd.Wait()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// response is a decoded HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a generic object.
func (r response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Decode decodes the body into v.
func (r response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %T: %v\n%s", v, err, r.Body)
	}
}

var client = &http.Client{Timeout: 3 * time.Minute} // a safety net; requests have their own deadlines

// do sends a request. body may be nil, a string (sent as is) or a value
// (sent as JSON). token, if not empty, is sent as a bearer token.
func (s *server) do(t testing.TB, method, path, token string, body any) response {
	t.Helper()
	return s.doHeaders(t, method, path, token, body, nil)
}

func (s *server) doHeaders(t testing.TB, method, path, token string, body any, headers map[string]string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: data}
}

// want fails the test unless r has the status; it returns r for chaining.
func want(t testing.TB, r response, status int) response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// user is a signed-in account.
type user struct {
	ID, Email, Token, Refresh string
}

var userSeq struct {
	sync.Mutex
	n int
}

// register creates a customer account with a unique email and signs it in.
func (s *server) register(t testing.TB, name string) user {
	t.Helper()
	userSeq.Lock()
	userSeq.n++
	email := fmt.Sprintf("%s-%d@e2e.test", strings.ToLower(strings.ReplaceAll(name, " ", "")), userSeq.n)
	userSeq.Unlock()
	r := want(t, s.do(t, "POST", "/v1/auth/register", "", map[string]any{
		"email": email, "password": "correct horse battery", "displayName": name,
	}), http.StatusCreated)
	return authUser(t, r)
}

func authUser(t testing.TB, r response) user {
	t.Helper()
	var a struct {
		User struct {
			ID, Email string
		}
		AccessToken, RefreshToken string
	}
	r.Decode(t, &a)
	return user{ID: a.User.ID, Email: a.User.Email, Token: a.AccessToken, Refresh: a.RefreshToken}
}

// login signs in with email and password.
func (s *server) login(t testing.TB, email, password string) user {
	t.Helper()
	return authUser(t, want(t, s.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": email, "password": password}), http.StatusOK))
}

// admin signs in as the bootstrap admin.
func (s *server) admin(t testing.TB) user {
	t.Helper()
	return s.login(t, adminEmail, adminPassword)
}

// withRoles registers a user and has the admin give it roles; the returned
// token carries them.
func (s *server) withRoles(t testing.TB, name string, roles ...string) user {
	t.Helper()
	u := s.register(t, name)
	want(t, s.do(t, "POST", "/v1/admin/users/"+u.ID+"/roles", s.admin(t).Token, map[string]any{"roles": roles}), http.StatusOK)
	return authUser(t, want(t, s.do(t, "POST", "/v1/auth/refresh", "", map[string]any{"refreshToken": u.Refresh}), http.StatusOK))
}

// problemOf checks r is a problem document with status, and returns it.
func problemOf(t testing.TB, r response, status int) map[string]any {
	t.Helper()
	want(t, r, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	p := r.JSON(t)
	if int(p["status"].(float64)) != status || p["title"] == "" {
		t.Fatalf("problem = %v, want status %d and a title", p, status)
	}
	return p
}

// fields returns the field names a problem document lists.
func fields(p map[string]any) []string {
	var out []string
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		if m, ok := e.(map[string]any); ok {
			out = append(out, fmt.Sprint(m["field"]))
		}
	}
	return out
}

// runBinary runs the binary to completion with env and args, returning its
// combined output.
func runBinary(t testing.TB, env map[string]string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HYPERLIEU_DATA_DIR=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { <-ctx.Done(); _ = cmd.Process.Kill() }()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// announceBody sends only the headers of a request whose body would be n
// bytes, and reads the answer: the server must refuse an oversized body
// from its Content-Length, and the test cannot race the upload into a reset.
func (s *server) announceBody(t testing.TB, method, path string, n int) response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", method, path, n)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: data}
}

// root is the module's folder.
var root string

// TestSourcesAreInputs looks at every source file of the module. The binary
// these tests run is built from all of them, yet this package imports none:
// go test's result cache only knows the files a test touched (after
// TestMain's setup), so without this a changed server would be reported
// "(cached)" and green.
func TestSourcesAreInputs(t *testing.T) {
	if err := statSources(root); err != nil {
		t.Fatal(err)
	}
}

func statSources(root string) error {
	return filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "data" || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if name := d.Name(); strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" {
			_, err := os.Stat(path)
			return err
		}
		return nil
	})
}

// inGoroutine lets helpers that stop a test on failure (do, want …) run in a
// goroutine of the test's own: t.FailNow may only be called from the test's
// goroutine, so a fatal failure here is reported with Error and ends only
// the calling goroutine.
type inGoroutine struct{ testing.TB }

func (g inGoroutine) Fatal(args ...any) { g.Helper(); g.Error(args...); runtime.Goexit() }

func (g inGoroutine) Fatalf(format string, args ...any) {
	g.Helper()
	g.Errorf(format, args...)
	runtime.Goexit()
}

func (g inGoroutine) FailNow() { g.Fail(); runtime.Goexit() }
