package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	"github.com/hyperlieu/hyperlieu/config"
)

// printVersion handles "hyperlieu version".
func printVersion(stdout io.Writer) error {
	_, err := fmt.Fprintf(stdout, "hyperlieu %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

// healthcheck handles "hyperlieu healthcheck": GET /healthz on the address
// serve would listen on (same flags and variables), for the image's
// HEALTHCHECK, as distroless has no shell or curl. An error exits 1.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	host, port, _ := net.SplitHostPort(cfg.Addr) // validated by Load
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	if port == "0" {
		return errors.New("unhealthy: HYPERLIEU_ADDR has port 0, so there is no known port to check")
	}
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	// Straight to the server: an HTTP_PROXY of the container must not answer for it.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: GET %s answered %s", url, res.Status)
	}
	_, err = fmt.Fprintf(stdout, "healthy: GET %s answered %s\n", url, res.Status)
	return err
}

// startPprof serves net/http/pprof on addr (loopback, checked by config)
// until the returned stop is called. It is a listener of its own, never the
// API's: profiles and goroutine dumps expose the process's memory.
func startPprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("HYPERLIEU_PPROF_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also every named profile: heap, goroutine, …
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof listener stopped", "err", err)
		}
	}()
	log.Info("pprof listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// warnUnknownEnv logs, by name only (a value may be a secret), each
// HYPERLIEU_* variable no setting reads: a typo is otherwise silent.
func warnUnknownEnv(log *slog.Logger, environ []string) {
	for _, name := range config.UnknownEnv(environ) {
		log.Warn("unknown environment variable ignored; see hyperlieu serve --help", "name", name)
	}
}
