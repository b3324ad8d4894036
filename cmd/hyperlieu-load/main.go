// Command hyperlieu-load replays customers walking through Paris against a
// running Hyperlieu server on this machine, and prints location reports per
// second and latency percentiles.
//
//	hyperlieu-load -url http://127.0.0.1:8080 -admin-email a@b.c -admin-password ... \
//	    [-customers 200] [-campaigns 500] [-workers 16] [-duration 30s]
//
// It signs in as the admin, creates and activates random polygon campaigns
// (100 m to 2 km across, 6 to 12 vertices) over Paris, registers customers
// who consent to location, then has each worker take customers in turn and
// move them a few metres along a random walk, reporting each step now.
// It refuses any server that is not on the loopback interface.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hyperlieu-load:", err)
		os.Exit(1)
	}
}

type options struct {
	url, email, password string
	customers, campaigns int
	workers              int
	duration             time.Duration
	seed                 uint64
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("hyperlieu-load", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	fs.StringVar(&o.email, "admin-email", os.Getenv("HYPERLIEU_ADMIN_EMAIL"), "admin email (creates the campaigns)")
	fs.StringVar(&o.password, "admin-password", os.Getenv("HYPERLIEU_ADMIN_PASSWORD"), "admin password")
	fs.IntVar(&o.customers, "customers", 200, "customers walking")
	fs.IntVar(&o.campaigns, "campaigns", 500, "random polygon campaigns over Paris")
	fs.IntVar(&o.workers, "workers", 16, "concurrent requests")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long to report")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed (same seed, same city)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(o.url)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return errors.New("-url must be a loopback address: load runs only against this machine")
	}
	c := &client{base: o.url, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.workers * 2}}}
	rng := rand.New(rand.NewPCG(o.seed, 42))

	var admin struct{ AccessToken string }
	if err := c.call(ctx, "POST", "/v1/auth/login", "", map[string]any{"email": o.email, "password": o.password}, &admin); err != nil {
		return fmt.Errorf("admin sign-in: %w", err)
	}
	phase := time.Now()
	fmt.Fprintf(stdout, "creating %d campaigns…\n", o.campaigns)
	for i := range o.campaigns {
		var cp struct{ ID string }
		if err := c.call(ctx, "POST", "/v1/campaigns", admin.AccessToken, campaign(rng, i), &cp); err != nil {
			return fmt.Errorf("campaign %d: %w", i, err)
		}
		if err := c.call(ctx, "POST", "/v1/campaigns/"+cp.ID+"/activate", admin.AccessToken, nil, nil); err != nil {
			return fmt.Errorf("activate %d: %w", i, err)
		}
	}
	fmt.Fprintf(stdout, "  done in %s\nregistering %d customers…\n", time.Since(phase).Round(time.Millisecond), o.customers)
	phase = time.Now()
	walkers := make([]*walker, o.customers)
	run := rng.Uint64()
	for i := range walkers {
		var a struct{ AccessToken string }
		email := fmt.Sprintf("walker-%x-%d@load.test", run, i)
		if err := c.call(ctx, "POST", "/v1/auth/register", "", map[string]any{"email": email, "password": "load-test-password", "displayName": "Walker"}, &a); err != nil {
			return fmt.Errorf("register: %w", err)
		}
		if err := c.call(ctx, "PATCH", "/v1/me", a.AccessToken, map[string]any{"locationConsent": true}, nil); err != nil {
			return fmt.Errorf("consent: %w", err)
		}
		// A device, so that triggered offers go through the outbox to the push sender.
		if err := c.call(ctx, "POST", "/v1/me/devices", a.AccessToken, map[string]any{"token": fmt.Sprintf("load-%x-%d", run, i), "platform": "android"}, nil); err != nil {
			return fmt.Errorf("device: %w", err)
		}
		walkers[i] = &walker{token: a.AccessToken, lat: 48.815 + rng.Float64()*0.085, lng: 2.255 + rng.Float64()*0.16, heading: rng.Float64() * 2 * math.Pi}
	}

	fmt.Fprintf(stdout, "  done in %s\nreporting for %s with %d workers…\n", time.Since(phase).Round(time.Millisecond), o.duration, o.workers)
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		triggered atomic.Int64
		failures  atomic.Int64 // 4xx and transport errors
		errors5xx atomic.Int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	for w := range o.workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(o.seed, uint64(w)))
			var mine []time.Duration
			for ctx.Err() == nil {
				wk := walkers[int(next.Add(1))%len(walkers)]
				wk.mu.Lock() // one report at a time per customer, in order
				wk.step(r)
				body := map[string]any{"lat": wk.lat, "lng": wk.lng, "accuracyM": 8 + r.Float64()*20, "recordedAt": time.Now().UTC().Format(time.RFC3339Nano)}
				var res struct{ Triggered []any }
				t := time.Now()
				err := c.call(ctx, "POST", "/v1/me/location", wk.token, body, &res)
				d := time.Since(t)
				wk.mu.Unlock()
				if ctx.Err() != nil {
					break
				}
				if se := (statusError{}); errors.As(err, &se) && se.code >= 500 {
					errors5xx.Add(1)
					continue
				}
				if err != nil {
					failures.Add(1)
					continue
				}
				mine = append(mine, d)
				triggered.Add(int64(len(res.Triggered)))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(latencies) == 0 {
		return errors.New("no report succeeded")
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))] }
	fmt.Fprintf(stdout, "reports: %d in %s = %.0f reports/s; 5xx: %d; other failures: %d; offers triggered: %d\n",
		len(latencies), elapsed.Round(time.Millisecond), float64(len(latencies))/elapsed.Seconds(), errors5xx.Load(), failures.Load(), triggered.Load())
	fmt.Fprintf(stdout, "latency: p50 %s  p90 %s  p99 %s  max %s\n", pct(0.5), pct(0.9), pct(0.99), latencies[len(latencies)-1])
	return nil
}

// walker is one customer on a random walk, about 10 m per report.
type walker struct {
	mu                sync.Mutex
	token             string
	lat, lng, heading float64
}

func (w *walker) step(r *rand.Rand) {
	w.heading += (r.Float64() - 0.5) * 0.8
	d := 5 + r.Float64()*10
	w.lat += d * math.Cos(w.heading) / 111_320
	w.lng += d * math.Sin(w.heading) / (111_320 * math.Cos(w.lat*math.Pi/180))
	if w.lat < 48.815 || w.lat > 48.90 || w.lng < 2.255 || w.lng > 2.415 {
		w.heading += math.Pi // turn back at the edge of Paris
	}
}

// campaign returns a random polygon campaign: 6 to 12 vertices around a
// centre in Paris, 100 m to 2 km across.
func campaign(r *rand.Rand, i int) map[string]any {
	lat, lng := 48.815+r.Float64()*0.085, 2.255+r.Float64()*0.16
	radius := 50 + r.Float64()*950
	n := 6 + r.IntN(7)
	ring := make([][]float64, 0, n+1)
	for k := range n {
		a := 2 * math.Pi * (float64(k) + r.Float64()*0.8) / float64(n)
		rr := radius * (0.5 + r.Float64()*0.5)
		ring = append(ring, []float64{lng + rr*math.Sin(a)/(111_320*math.Cos(lat*math.Pi/180)), lat + rr*math.Cos(a)/111_320})
	}
	ring = append(ring, ring[0])
	return map[string]any{
		"name":     fmt.Sprintf("Load %d", i),
		"geofence": map[string]any{"type": "Polygon", "coordinates": [][][]float64{ring}},
		"trigger":  map[string]any{"kind": "enter"},
		"audience": map[string]any{"newcomers": true},
		"offer": map[string]any{
			"texts": []any{map[string]any{"locale": "en", "formality": "formal", "title": "Load offer"}}, "validityHours": 24,
		},
		"caps": map[string]any{"perCustomer": 1},
	}
}

type client struct {
	base string
	http *http.Client
}

func (c *client) call(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		return statusError{code: res.StatusCode, msg: fmt.Sprintf("%s %s: %d %s", method, path, res.StatusCode, data)}
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// statusError is an answer other than 2xx.
type statusError struct {
	code int
	msg  string
}

func (e statusError) Error() string { return e.msg }
