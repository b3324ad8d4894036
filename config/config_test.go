package config_test

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hyperlieu/hyperlieu/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := config.Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.MongoURI != "" || c.BodyLimit != 1<<20 ||
		c.AccessTTL != 15*time.Minute || c.LogLevel != slog.LevelInfo || c.MongoDatabase != "hyperlieu" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	c, err := config.Load([]string{"--addr", "127.0.0.1:9000", "--demo"}, env(map[string]string{
		"HYPERLIEU_ADDR": "127.0.0.1:7000", "HYPERLIEU_LOG_LEVEL": "debug", "HYPERLIEU_CORS_ORIGINS": "https://a.example, https://b.example",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || !c.Demo || c.LogLevel != slog.LevelDebug || len(c.CORSOrigins) != 2 {
		t.Errorf("Load = %+v, want flag addr, demo, debug, two origins", c)
	}
}

func TestSecretFromFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(f, []byte("from-a-file-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(nil, env(map[string]string{"HYPERLIEU_ADMIN_EMAIL": "a@b.c", "HYPERLIEU_ADMIN_PASSWORD_FILE": f}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminPassword != "from-a-file-123" {
		t.Errorf("AdminPassword = %q, want the file's content", c.AdminPassword)
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	_, err := config.Load(nil, env(map[string]string{
		"HYPERLIEU_ADDR":           "nonsense",
		"HYPERLIEU_LOG_LEVEL":      "loud",
		"HYPERLIEU_BODY_LIMIT":     "big",
		"HYPERLIEU_ACCESS_TTL":     "forever",
		"MONGO_URI":                "postgres://x",
		"HYPERLIEU_ADMIN_EMAIL":    "a@b.c",
		"HYPERLIEU_CORS_ORIGINS":   "not an origin",
		"HYPERLIEU_ADMIN_PASSWORD": "short",
	}), io.Discard)
	if err == nil {
		t.Fatal("Load = nil error, want problems")
	}
	for _, name := range []string{"HYPERLIEU_ADDR", "HYPERLIEU_LOG_LEVEL", "HYPERLIEU_BODY_LIMIT", "HYPERLIEU_ACCESS_TTL", "MONGO_URI", "HYPERLIEU_ADMIN_PASSWORD", "HYPERLIEU_CORS_ORIGINS"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
}

func TestEmbeddedAddrMustBeLoopback(t *testing.T) {
	_, err := config.Load(nil, env(map[string]string{"HYPERLIEU_EMBEDDED_DB_ADDR": "0.0.0.0:27017"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "HYPERLIEU_EMBEDDED_DB_ADDR") {
		t.Errorf("Load(public embedded addr) = %v, want an error naming HYPERLIEU_EMBEDDED_DB_ADDR", err)
	}
}

func TestLogValueRedactsSecrets(t *testing.T) {
	c, err := config.Load(nil, env(map[string]string{
		"MONGO_URI":                "mongodb://app:s3cr3t-pw@db.example:27017/?replicaSet=rs0",
		"HYPERLIEU_ADMIN_EMAIL":    "a@b.c",
		"HYPERLIEU_ADMIN_PASSWORD": "very-secret-admin-pw",
		"HYPERLIEU_JWT_KEYS":       "-----BEGIN PRIVATE KEY-----\nsecretkeymaterial\n-----END PRIVATE KEY-----",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "config", c)
	for _, secret := range []string{"s3cr3t-pw", "very-secret-admin-pw", "secretkeymaterial"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("logged config contains %q:\n%s", secret, b.String())
		}
	}
	if !strings.Contains(b.String(), "db.example") {
		t.Errorf("logged config lost the database host:\n%s", b.String())
	}
}

func TestBoolFlagBeatsEnv(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  string
		want bool
	}{
		{[]string{"--demo=false"}, "true", false},
		{[]string{"--demo"}, "false", true},
		{[]string{"--demo=true"}, "", true},
		{nil, "true", true},
		{nil, "", false},
	} {
		c, err := config.Load(tt.args, env(map[string]string{"HYPERLIEU_DEMO": tt.env}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.Demo != tt.want {
			t.Errorf("Load(%v) with HYPERLIEU_DEMO=%q: Demo = %v, want %v", tt.args, tt.env, c.Demo, tt.want)
		}
	}
}

func TestHelp(t *testing.T) {
	var out strings.Builder
	_, err := config.Load([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("Load(--help) = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "HYPERLIEU_PPROF_ADDR") || !strings.Contains(out.String(), "flag given wins") {
		t.Errorf("--help printed:\n%s", out.String())
	}
}

func TestPprofAddr(t *testing.T) {
	for addr, ok := range map[string]bool{
		"": true, "127.0.0.1:6060": true, "localhost:6060": true, "[::1]:6060": true, "127.0.0.1:0": true,
		"0.0.0.0:6060": false, ":6060": false, "10.0.0.1:6060": false, "127.0.0.1": false,
	} {
		c, err := config.Load(nil, env(map[string]string{"HYPERLIEU_PPROF_ADDR": addr}), io.Discard)
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "HYPERLIEU_PPROF_ADDR")) {
			t.Errorf("HYPERLIEU_PPROF_ADDR=%q: err = %v, want ok %v", addr, err, ok)
		}
		if ok && c.PprofAddr != addr {
			t.Errorf("PprofAddr = %q, want %q", c.PprofAddr, addr)
		}
	}
}

func TestUnknownEnv(t *testing.T) {
	got := config.UnknownEnv([]string{
		"HYPERLIEU_ADDR=127.0.0.1:1", "HYPERLIEU_ADMIN_PASSWORD_FILE=/run/secrets/pw", "HYPERLIEU_DEMO=1",
		"HYPERLIEU_ADRR=typo", "HYPERLIEU_JWT_SECRET=s3cret", "MONGO_URI=mongodb://x", "PATH=/bin", "HYPERLIEU_ADRR=again",
	})
	if want := []string{"HYPERLIEU_ADRR", "HYPERLIEU_JWT_SECRET"}; !slices.Equal(got, want) {
		t.Errorf("UnknownEnv = %v, want %v", got, want)
	}
}
