package handlers_test

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hooklog/config"
	"hooklog/handlers"
	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// rlClock is a clock a test moves by hand.
type rlClock struct{ t atomic.Int64 }

func newRLClock() *rlClock {
	c := &rlClock{}
	c.t.Store(time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *rlClock) now() time.Time          { return time.Unix(0, c.t.Load()).UTC() }
func (c *rlClock) advance(d time.Duration) { c.t.Add(int64(d)) }

func TestRateLimitOff(t *testing.T) {
	for _, rate := range []float64{0, -1} {
		l := handlers.NewRateLimiter(rate, 5, nil)
		if l != nil {
			t.Fatalf("rate %v: want no limiter (nil), got one", rate)
		}
		for i := range 1000 {
			if ok, wait := l.Allow(1); !ok || wait != 0 {
				t.Fatalf("rate %v: request %d refused (wait %s) by a disabled limiter", rate, i, wait)
			}
		}
		if n := l.Tracked(); n != 0 {
			t.Fatalf("rate %v: disabled limiter tracks %d endpoints", rate, n)
		}
	}
}

func TestRateLimitBucket(t *testing.T) {
	type step struct {
		advance  time.Duration
		endpoint uint
		allowed  bool
		wait     time.Duration
	}
	tests := []struct {
		name  string
		rate  float64
		burst int
		steps []step
	}{
		{
			name: "burst defaults to twice the rate", rate: 2, burst: 0,
			steps: []step{
				{0, 1, true, 0}, {0, 1, true, 0}, {0, 1, true, 0}, {0, 1, true, 0},
				{0, 1, false, 500 * time.Millisecond},
				{250 * time.Millisecond, 1, false, 250 * time.Millisecond},
				{250 * time.Millisecond, 1, true, 0},
				{0, 1, false, 500 * time.Millisecond},
			},
		},
		{
			name: "explicit burst", rate: 10, burst: 1,
			steps: []step{
				{0, 7, true, 0},
				{0, 7, false, 100 * time.Millisecond},
				{100 * time.Millisecond, 7, true, 0},
			},
		},
		{
			name: "fractional rate", rate: 0.5, burst: 1,
			steps: []step{
				{0, 3, true, 0},
				{0, 3, false, 2 * time.Second},
				{time.Second, 3, false, time.Second},
				{time.Second, 3, true, 0},
			},
		},
		{
			name: "endpoints have their own buckets", rate: 1, burst: 1,
			steps: []step{
				{0, 1, true, 0}, {0, 1, false, time.Second},
				{0, 2, true, 0}, {0, 2, false, time.Second},
				{0, 3, true, 0},
			},
		},
		{
			name: "a long pause refills only up to the burst", rate: 1, burst: 2,
			steps: []step{
				{0, 1, true, 0}, {0, 1, true, 0}, {0, 1, false, time.Second},
				{time.Hour, 1, true, 0}, {0, 1, true, 0}, {0, 1, false, time.Second},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newRLClock()
			l := handlers.NewRateLimiter(tt.rate, tt.burst, clock.now)
			if l == nil {
				t.Fatal("NewRateLimiter returned nil for a positive rate")
			}
			for i, s := range tt.steps {
				clock.advance(s.advance)
				ok, wait := l.Allow(s.endpoint)
				if ok != s.allowed {
					t.Fatalf("step %d (endpoint %d): allowed = %v, want %v", i, s.endpoint, ok, s.allowed)
				}
				if d := wait - s.wait; d < -time.Microsecond || d > time.Microsecond {
					t.Fatalf("step %d (endpoint %d): wait = %s, want %s", i, s.endpoint, wait, s.wait)
				}
			}
		})
	}
}

func TestRateLimitReason(t *testing.T) {
	for rate, want := range map[float64]string{
		10:  "rate limit exceeded (10/s per endpoint)",
		0.5: "rate limit exceeded (0.5/s per endpoint)",
		2.5: "rate limit exceeded (2.5/s per endpoint)",
	} {
		if got := handlers.NewRateLimiter(rate, 0, nil).Reason(); got != want {
			t.Errorf("rate %v: Reason() = %q, want %q", rate, got, want)
		}
	}
}

// TestRateLimitEvictsIdleBuckets: a bucket untouched until it would be full again is dropped, so
// endpoints that stopped sending cost no memory.
func TestRateLimitEvictsIdleBuckets(t *testing.T) {
	clock := newRLClock()
	l := handlers.NewRateLimiter(1, 2, clock.now) // empty to full in 2s
	for id := range uint(10000) {
		l.Allow(id + 1)
	}
	if n := l.Tracked(); n != 10000 {
		t.Fatalf("after 10000 endpoints sent: tracked %d buckets, want 10000", n)
	}
	clock.advance(time.Second)
	l.Allow(1) // endpoint 1 stays busy
	if n := l.Tracked(); n != 10000 {
		t.Fatalf("1s later (before buckets can be full): tracked %d, want 10000", n)
	}
	clock.advance(1500 * time.Millisecond)
	l.Allow(20000)
	if n := l.Tracked(); n != 2 {
		t.Fatalf("after the idle period: tracked %d buckets, want 2 (the busy endpoint and the new one)", n)
	}
	// Endpoint 1 kept its state: one token used 1.5s ago refilled, so two requests pass, not three.
	if ok, _ := l.Allow(1); !ok {
		t.Fatal("endpoint 1: first request refused")
	}
	if ok, _ := l.Allow(1); !ok {
		t.Fatal("endpoint 1: second request refused")
	}
	if ok, _ := l.Allow(1); ok {
		t.Fatal("endpoint 1: third request allowed; its bucket was reset by eviction")
	}
}

// TestRateLimitConcurrent: with the clock stopped, exactly burst requests pass however many
// goroutines race for them (run with -race).
func TestRateLimitConcurrent(t *testing.T) {
	clock := newRLClock()
	l := handlers.NewRateLimiter(5, 50, clock.now)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if ok, _ := l.Allow(uint(g % 2)); ok {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got := allowed.Load(); got != 100 {
		t.Fatalf("allowed %d requests over two endpoints, want 2 × burst = 100", got)
	}
}

// TestRateLimitIngest: over the real server, the request past the burst answers 429 with
// Retry-After, is still stored as a rejected delivery with its headers and body, and creates no
// event; another endpoint is not affected; once time passes the endpoint is served again.
func TestRateLimitIngest(t *testing.T) {
	a := testapp.New(t, func(c *config.Config) { c.Ingest.RateLimit, c.Ingest.RateBurst = 0.5, 2 })
	ep := a.Endpoint("Shop", "generic", "", webhooks.Settings{})
	other := a.Endpoint("Shop", "generic", "", webhooks.Settings{})

	body := func(id string) []byte {
		b, err := ep.Profile.Sample("payment.completed", webhooks.SampleParams{ID: id, OrderRef: "o-" + id})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i := range 2 {
		if r := a.Send(ep, body(fmt.Sprint("evt_rl_", i))); r.Status != http.StatusOK || r.Outcome != models.OutcomeAccepted {
			t.Fatalf("request %d within the burst: %d %q %q", i, r.Status, r.Outcome, r.Error)
		}
	}

	over := body("evt_rl_over")
	h, err := ep.Profile.Sign(ep.Secret, over, time.Now(), "msg_over")
	if err != nil {
		t.Fatal(err)
	}
	h.Set("X-Trace", "over-the-limit")
	status, hdr, reply := hostilePost(t, ep.URL, h, over)
	if status != http.StatusTooManyRequests {
		t.Fatalf("third request: status %d, want 429 (%s)", status, reply.raw)
	}
	ra, err := strconv.Atoi(hdr.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 2 {
		t.Fatalf("Retry-After = %q, want whole seconds in [1, 2] (one token every 2s)", hdr.Get("Retry-After"))
	}
	const reason = "rate limit exceeded (0.5/s per endpoint)"
	if reply.Outcome != models.OutcomeRejected || reply.Error != reason || reply.DeliveryID == 0 || reply.EventID != 0 {
		t.Fatalf("reply = %+v, want rejected with %q, a delivery id and no event", reply, reason)
	}
	d := hostileDelivery(t, a, reply.DeliveryID)
	if d.Outcome != models.OutcomeRejected || d.StatusCode != 429 || d.Reason != reason || d.EventID != nil ||
		string(d.Body) != string(over) || d.BodySize != int64(len(over)) || d.EndpointID != ep.ID ||
		d.Headers.Get("X-Trace") != "over-the-limit" || d.Headers.Get("X-Signature") != h.Get("X-Signature") {
		t.Fatalf("stored delivery = outcome %q status %d reason %q event %v body %d/%d bytes endpoint %d headers %v",
			d.Outcome, d.StatusCode, d.Reason, d.EventID, len(d.Body), d.BodySize, d.EndpointID, d.Headers)
	}
	var events int64
	if err := a.Store.DB.Model(&models.Event{}).Where("endpoint_id = ?", ep.ID).Count(&events).Error; err != nil {
		t.Fatal(err)
	}
	if events != 2 {
		t.Fatalf("endpoint has %d events, want 2: a rate-limited request must not create one", events)
	}

	if r := a.SendSample(other, "payment.completed", webhooks.SampleParams{}); r.Status != http.StatusOK {
		t.Fatalf("another endpoint: %d %q; the limit is per endpoint", r.Status, r.Error)
	}

	a.Advance(2 * time.Second)
	if r := a.Send(ep, body("evt_rl_later")); r.Status != http.StatusOK || r.Outcome != models.OutcomeAccepted {
		t.Fatalf("after waiting Retry-After: %d %q %q", r.Status, r.Outcome, r.Error)
	}
}

// TestRateLimitConfig: ingest.rate_limit and ingest.rate_burst as config.yaml sets them.
func TestRateLimitConfig(t *testing.T) {
	tests := []struct {
		yaml      string
		rate      float64
		burst     int
		wantError string
	}{
		{yaml: "", rate: 0, burst: 0},
		{yaml: "ingest:\n  rate_limit: 2.5\n", rate: 2.5, burst: 5},
		{yaml: "ingest:\n  rate_limit: 0.2\n", rate: 0.2, burst: 1},
		{yaml: "ingest:\n  rate_limit: 10\n  rate_burst: 3\n", rate: 10, burst: 3},
		{yaml: "ingest:\n  rate_limit: -1\n", wantError: "ingest.rate_limit must be 0 (no limit) or a positive number of requests a second"},
		{yaml: "ingest:\n  rate_limit: 1\n  rate_burst: -2\n", wantError: "ingest.rate_burst must be 0 (twice rate_limit) or positive"},
	}
	for _, tt := range tests {
		path := t.TempDir() + "/hooklog.yaml"
		if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path, true, func(string) string { return "" })
		if tt.wantError != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantError) {
				t.Errorf("%q: error %v, want %q", tt.yaml, err, tt.wantError)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.yaml, err)
			continue
		}
		if cfg.Ingest.RateLimit != tt.rate || cfg.Ingest.RateBurst != tt.burst {
			t.Errorf("%q: rate %v burst %d, want %v %d", tt.yaml, cfg.Ingest.RateLimit, cfg.Ingest.RateBurst, tt.rate, tt.burst)
		}
	}
}
