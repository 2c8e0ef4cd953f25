package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"hooklog/config"
	"hooklog/models"
	"hooklog/testapp/testdb"
	"hooklog/webhooks"
)

// clock is a settable clock for the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// fixture is a store (on PostgreSQL when HOOKLOG_TEST_POSTGRES is set) with one merchant's generic
// endpoint.
type fixture struct {
	store *models.Store
	clock *clock
	ep    *models.Endpoint
	ing   *models.Ingester
	n     int
}

func newFixture(t testing.TB, realClock bool) *fixture {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	f := &fixture{clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	now := f.clock.Now
	if realClock {
		now = nil
	}
	s, err := models.Open(models.Options{DSN: testdb.DSN(t, "hooklog.db"), MaxConns: 8, Key: key, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	f.store = s
	m, err := s.EnsureMerchant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	if f.ep, _, err = s.CreateEndpoint(m.ID, models.EndpointInput{Name: "gateway", Provider: "generic"}, ""); err != nil {
		t.Fatal(err)
	}
	f.ing = models.NewIngester(s, 16, nil)
	t.Cleanup(func() {
		f.ing.Close()
		s.Close()
	})
	return f
}

// ingest stores a verified delivery and its pending event, as the ingest handler does.
func (f *fixture) ingest(t testing.TB, body string) uint {
	t.Helper()
	p, _ := f.ep.Profile()
	now := f.store.Now()
	ev := &models.Event{MerchantID: f.ep.MerchantID, EndpointID: f.ep.ID, Provider: f.ep.Provider, Status: models.StatusPending,
		NextAttemptAt: &now, ReceivedAt: now, DeliveryCount: 1}
	if n, err := p.Normalise(nil, []byte(body)); err == nil {
		ev.SetNormalised(n)
	} else {
		ev.ExternalID = fmt.Sprintf("raw_%d", time.Now().UnixNano())
	}
	st, err := f.ing.Store(context.Background(), &models.Incoming{Event: ev, Delivery: models.Delivery{
		MerchantID: f.ep.MerchantID, EndpointID: f.ep.ID, ReceivedAt: now, RemoteAddr: "127.0.0.1",
		Headers: http.Header{"X-Signature": {"sig"}}, Body: []byte(body), BodySize: int64(len(body)), StatusCode: 200}})
	if err != nil {
		t.Fatal(err)
	}
	return st.EventID
}

// payment ingests a payment of 20.00 USD for order ref.
func (f *fixture) payment(t testing.TB, ref string) uint {
	t.Helper()
	f.n++
	return f.ingest(t, fmt.Sprintf(`{"id":"evt_%d_%s","event":"payment.completed","data":{"orderId":%q,"amount":"20.00","currency":"USD"}}`, f.n, ref, ref))
}

func (f *fixture) event(t *testing.T, id uint) *models.Event {
	t.Helper()
	ev, err := f.store.EventByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func (f *fixture) attempts(t *testing.T, id uint) []models.Attempt {
	t.Helper()
	as, err := f.store.EventAttempts(id)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// history returns an order's status and transitions.
func (f *fixture) history(t *testing.T, ref string) (models.OrderStatus, []models.OrderTransition) {
	t.Helper()
	o, err := f.store.OrderByReference(f.ep.MerchantID, ref)
	if err != nil {
		t.Fatal(err)
	}
	h, err := f.store.OrderHistory(o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return o.Status, h
}

// runDue claims the events due now and processes them as one batch, as the pool would.
func runDue(t *testing.T, w *Worker) int {
	t.Helper()
	claims, err := w.store.ClaimEvents(10, w.cfg.Lease.Duration)
	if err != nil {
		t.Fatal(err)
	}
	w.processBatch(claims)
	return len(claims)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var testConfig = config.Worker{
	Concurrency:  2,
	MaxAttempts:  4,
	BaseBackoff:  config.Duration{Duration: 10 * time.Second},
	MaxBackoff:   config.Duration{Duration: time.Hour},
	Lease:        config.Duration{Duration: 30 * time.Second},
	PollInterval: config.Duration{Duration: 5 * time.Millisecond},
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// failing returns a beforeApply hook that fails the first n runs.
func failing(n int) (func(*models.Claim) error, func() int) {
	var mu sync.Mutex
	calls := 0
	return func(*models.Claim) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls <= n {
				return fmt.Errorf("injected failure %d", calls)
			}
			return nil
		}, func() int {
			mu.Lock()
			defer mu.Unlock()
			return calls
		}
}

func TestBackoffBounds(t *testing.T) {
	const s = time.Second
	tests := []struct {
		attempt   int
		base, max time.Duration
		lo, hi    time.Duration
	}{
		{0, 5 * s, time.Hour, 2500 * time.Millisecond, 5 * s},
		{1, 5 * s, time.Hour, 2500 * time.Millisecond, 5 * s},
		{2, 5 * s, time.Hour, 5 * s, 10 * s},
		{3, 5 * s, time.Hour, 10 * s, 20 * s},
		{10, 5 * s, time.Hour, 1280 * s, 2560 * s},
		{11, 5 * s, time.Hour, 30 * time.Minute, time.Hour},
		{1000, 5 * s, time.Hour, 30 * time.Minute, time.Hour},
		{1, 0, time.Hour, 500 * time.Millisecond, s}, // no base: one second
		{1, 10 * s, 4 * s, 2 * s, 4 * s},             // base above the cap
		{5, 20 * time.Millisecond, 100 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond},
	}
	for _, tc := range tests {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := Backoff(tc.attempt, tc.base, tc.max)
			if d < tc.lo || d > tc.hi {
				t.Fatalf("Backoff(%d, %s, %s) = %s, want within [%s, %s]", tc.attempt, tc.base, tc.max, d, tc.lo, tc.hi)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("Backoff(%d, %s, %s) took only %d values in 200 draws: no jitter", tc.attempt, tc.base, tc.max, len(seen))
		}
	}
}

// TestRetryBackoffSchedule fails a run twice: each failure is recorded and schedules the next try
// further out, nothing runs before it is due, and the third run succeeds.
func TestRetryBackoffSchedule(t *testing.T) {
	f := newFixture(t, false)
	w := New(f.store, testConfig, quietLog())
	w.beforeApply, _ = failing(2)
	id := f.payment(t, "ord_retry")
	base := testConfig.BaseBackoff.Duration

	var delays []time.Duration
	for i := 1; i <= 2; i++ {
		if n := runDue(t, w); n != 1 {
			t.Fatalf("run %d: claimed %d events", i, n)
		}
		ev := f.event(t, id)
		if ev.Status != models.StatusFailed || ev.Attempts != i || ev.LastError != fmt.Sprintf("injected failure %d", i) || ev.NextAttemptAt == nil {
			t.Fatalf("after failure %d: %+v", i, ev)
		}
		delay := ev.NextAttemptAt.Sub(f.clock.Now())
		lo, hi := base<<(i-1)/2, base<<(i-1)
		if delay < lo || delay > hi {
			t.Errorf("retry %d scheduled in %s, want within [%s, %s]", i, delay, lo, hi)
		}
		delays = append(delays, delay)
		f.clock.Add(delay - time.Millisecond)
		if n := runDue(t, w); n != 0 {
			t.Fatalf("ran a retry %s before it was due", time.Millisecond)
		}
		f.clock.Add(time.Millisecond)
	}
	if delays[1] < delays[0] {
		t.Errorf("backoff shrank: %s then %s", delays[0], delays[1])
	}
	if n := runDue(t, w); n != 1 {
		t.Fatalf("third run claimed %d", n)
	}
	ev := f.event(t, id)
	if ev.Status != models.StatusProcessed || ev.Attempts != 3 || ev.LastError != "" || ev.NextAttemptAt != nil {
		t.Errorf("processed event = %+v", ev)
	}
	as := f.attempts(t, id)
	want := []struct {
		trigger models.Trigger
		outcome models.Status
		err     string
	}{
		{models.TriggerAutomatic, models.StatusFailed, "injected failure 1"},
		{models.TriggerRetry, models.StatusFailed, "injected failure 2"},
		{models.TriggerRetry, models.StatusProcessed, ""},
	}
	if len(as) != len(want) {
		t.Fatalf("attempts = %+v", as)
	}
	for i, w := range want {
		if as[i].Trigger != w.trigger || as[i].Outcome != w.outcome || as[i].Error != w.err || as[i].Actor != "" {
			t.Errorf("attempt %d = %+v, want %s %s %q", i, as[i], w.trigger, w.outcome, w.err)
		}
	}
	if as[2].Result != "order ord_retry: payment succeeded" {
		t.Errorf("result = %q", as[2].Result)
	}
	if status, h := f.history(t, "ord_retry"); status != models.OrderPaid || len(h) != 1 {
		t.Errorf("order %s, history %+v", status, h)
	}
}

// TestDeadAfterMaxAttemptsThenReplay: an event that keeps failing is dead after max attempts and only
// a replay moves it again, recorded with who asked.
func TestDeadAfterMaxAttemptsThenReplay(t *testing.T) {
	f := newFixture(t, false)
	w := New(f.store, testConfig, quietLog())
	hook, calls := failing(1 << 30)
	w.beforeApply = hook
	id := f.payment(t, "ord_dead")
	for i := 1; i <= testConfig.MaxAttempts; i++ {
		if n := runDue(t, w); n != 1 {
			t.Fatalf("run %d claimed %d", i, n)
		}
		f.clock.Add(2 * time.Hour)
	}
	ev := f.event(t, id)
	if ev.Status != models.StatusDead || ev.NextAttemptAt != nil || ev.Attempts != testConfig.MaxAttempts ||
		ev.LastError != fmt.Sprintf("injected failure %d", testConfig.MaxAttempts) {
		t.Fatalf("after %d failures: %+v", testConfig.MaxAttempts, ev)
	}
	if n := runDue(t, w); n != 0 || calls() != testConfig.MaxAttempts {
		t.Fatalf("a dead event ran again (%d claimed, %d runs)", n, calls())
	}
	as := f.attempts(t, id)
	for i, a := range as {
		wantOutcome, wantTrigger := models.StatusFailed, models.TriggerRetry
		if i == len(as)-1 {
			wantOutcome = models.StatusDead
		}
		if i == 0 {
			wantTrigger = models.TriggerAutomatic
		}
		if a.Outcome != wantOutcome || a.Trigger != wantTrigger {
			t.Errorf("attempt %d = %s %s, want %s %s", i, a.Trigger, a.Outcome, wantTrigger, wantOutcome)
		}
	}

	w.beforeApply = nil
	if _, err := f.store.Replay(f.ep.MerchantID, id, "ops@acme.test"); err != nil {
		t.Fatal(err)
	}
	if n := runDue(t, w); n != 1 {
		t.Fatalf("replay claimed %d", n)
	}
	ev = f.event(t, id)
	as = f.attempts(t, id)
	last := as[len(as)-1]
	if ev.Status != models.StatusProcessed || len(as) != testConfig.MaxAttempts+1 || last.Trigger != models.TriggerReplay ||
		last.Actor != "ops@acme.test" || last.Outcome != models.StatusProcessed || ev.PendingActor != "" {
		t.Errorf("after the replay: event %+v, last attempt %+v", ev, last)
	}
	if status, _ := f.history(t, "ord_dead"); status != models.OrderPaid {
		t.Errorf("order = %s", status)
	}
}

// TestNotJSONIsPermanent: a body that cannot be normalised fails at once, with no retry scheduled.
func TestNotJSONIsPermanent(t *testing.T) {
	f := newFixture(t, false)
	w := New(f.store, testConfig, quietLog())
	id := f.ingest(t, "<xml>paid</xml>")
	runDue(t, w)
	ev := f.event(t, id)
	if ev.Status != models.StatusFailed || ev.NextAttemptAt != nil || !strings.HasPrefix(ev.LastError, "body is not valid JSON") {
		t.Fatalf("event = %+v", ev)
	}
	f.clock.Add(24 * time.Hour)
	if n := runDue(t, w); n != 0 {
		t.Error("a permanent failure was retried")
	}
}

// TestRunRetriesUntilProcessed runs the real pool with real time: two failures, then success.
func TestRunRetriesUntilProcessed(t *testing.T) {
	f := newFixture(t, true)
	cfg := testConfig
	cfg.BaseBackoff, cfg.MaxBackoff = config.Duration{Duration: 10 * time.Millisecond}, config.Duration{Duration: 40 * time.Millisecond}
	w := New(f.store, cfg, quietLog())
	w.beforeApply, _ = failing(2)
	id := f.payment(t, "ord_live")
	cancel, done := runPool(w)
	waitFor(t, "the pool to start", w.Running)
	w.Wake()
	waitFor(t, "the event to be processed", func() bool { return f.event(t, id).Status == models.StatusProcessed })
	cancel()
	<-done
	if w.Running() {
		t.Error("Running() after Run returned")
	}
	if as := f.attempts(t, id); len(as) != 3 || as[2].Outcome != models.StatusProcessed {
		t.Errorf("attempts = %+v", as)
	}
}

// TestRecoversExpiredLease: an event whose worker died mid-run is taken over once its lease ends and
// processed exactly once.
func TestRecoversExpiredLease(t *testing.T) {
	f := newFixture(t, false)
	id := f.payment(t, "ord_crash")
	crashed, err := f.store.ClaimEvents(1, time.Second)
	if err != nil || len(crashed) != 1 {
		t.Fatalf("claim = %+v, %v", crashed, err)
	}
	w := New(f.store, testConfig, quietLog())
	if n := runDue(t, w); n != 0 {
		t.Fatal("took over an event whose lease had not ended")
	}
	f.clock.Add(time.Second)

	cancel, done := runPool(w)
	waitFor(t, "the event to be processed", func() bool { return f.event(t, id).Status == models.StatusProcessed })
	cancel()
	<-done

	ev := f.event(t, id)
	as := f.attempts(t, id)
	if ev.Attempts != 2 || len(as) != 1 || as[0].Trigger != models.TriggerRetry || as[0].Outcome != models.StatusProcessed {
		t.Errorf("event %+v, attempts %+v; want one recorded run, a retry", ev, as)
	}
	if status, h := f.history(t, "ord_crash"); status != models.OrderPaid || len(h) != 1 {
		t.Errorf("order %s, history %+v", status, h)
	}
	// The crashed run cannot finish it a second time.
	if _, err := f.store.CompleteEvent(&crashed[0], models.RunResult{Normalised: ev.Normalised()}); !errors.Is(err, models.ErrLostClaim) {
		t.Errorf("the crashed run's completion = %v, want ErrLostClaim", err)
	}
}

// lockedBuffer is a log sink safe for the pool's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLostClaimDoesNotDoubleApply: a run that outlives its lease while another worker takes the event
// over and finishes it neither applies the event again nor records a failure.
func TestLostClaimDoesNotDoubleApply(t *testing.T) {
	f := newFixture(t, false)
	var logs lockedBuffer
	w := New(f.store, testConfig, slog.New(slog.NewTextHandler(&logs, nil)))
	id := f.payment(t, "ord_lost")
	slow, err := f.store.ClaimEvents(1, time.Second)
	if err != nil || len(slow) != 1 {
		t.Fatal(err)
	}
	// While the slow run is between normalising and applying, its lease ends and another worker
	// takes the event and finishes it.
	takeover := true
	w.beforeApply = func(c *models.Claim) error {
		if !takeover {
			return nil
		}
		takeover = false
		f.clock.Add(2 * time.Second)
		if n := runDue(t, w); n != 1 {
			t.Errorf("takeover claimed %d", n)
		}
		return nil
	}
	w.processBatch(slow)

	ev := f.event(t, id)
	as := f.attempts(t, id)
	if ev.Status != models.StatusProcessed || ev.LastError != "" || len(as) != 1 || as[0].Outcome != models.StatusProcessed {
		t.Errorf("event %+v, attempts %+v", ev, as)
	}
	if status, h := f.history(t, "ord_lost"); status != models.OrderPaid || len(h) != 1 {
		t.Errorf("order %s, history %+v; want one transition", status, h)
	}
	if !strings.Contains(logs.String(), "worker: event taken over by another worker") {
		t.Errorf("log = %q", logs.String())
	}
}

// TestRunFinishesClaimedEventsOnStop: stopping the pool lets every claimed event finish before Run
// returns, including claims not yet handed to a processor.
func TestRunFinishesClaimedEventsOnStop(t *testing.T) {
	f := newFixture(t, false)
	cfg := testConfig
	cfg.Concurrency = 1
	w := New(f.store, cfg, quietLog())
	entered := make(chan uint, 4)
	release := make(chan struct{})
	w.beforeApply = func(c *models.Claim) error {
		entered <- c.ID
		<-release
		return nil
	}
	first, second := f.payment(t, "ord_stop1"), f.payment(t, "ord_stop2")

	cancel, done := runPool(w)
	<-entered
	waitFor(t, "both events to be claimed", func() bool {
		return f.event(t, first).Status == models.StatusProcessing && f.event(t, second).Status == models.StatusProcessing
	})
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned while an event was mid-run")
	default:
	}
	close(release)
	<-done
	for _, id := range []uint{first, second} {
		if ev := f.event(t, id); ev.Status != models.StatusProcessed {
			t.Errorf("event %d = %s after Run returned, want processed", id, ev.Status)
		}
	}
}

// TestProcessUsesCurrentSettings: processing normalises the stored body again with the endpoint's
// settings of the moment, so fixing a field path and replaying repairs an event.
func TestProcessUsesCurrentSettings(t *testing.T) {
	f := newFixture(t, false)
	w := New(f.store, testConfig, quietLog())
	ep, _, err := f.store.CreateEndpoint(f.ep.MerchantID, models.EndpointInput{Name: "custom", Provider: "custom"}, "")
	if err != nil {
		t.Fatal(err)
	}
	f.ep = ep
	id := f.ingest(t, `{"id":"evt_c1","event":"payment.completed","data":{"ref":"ord_custom","amount":"5.00","currency":"EUR"}}`)
	runDue(t, w)
	if ev := f.event(t, id); ev.Status != models.StatusFailed || ev.NextAttemptAt != nil || !strings.Contains(ev.LastError, "names no order reference") {
		t.Fatalf("before the fix: %+v", ev)
	}
	if _, err := f.store.UpdateEndpoint(ep.MerchantID, ep.ID, models.EndpointInput{Name: "custom", Provider: "custom",
		Settings: webhooks.Settings{Fields: webhooks.FieldMap{OrderRef: "data.ref"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Replay(ep.MerchantID, id, "ops@acme.test"); err != nil {
		t.Fatal(err)
	}
	runDue(t, w)
	ev := f.event(t, id)
	if ev.Status != models.StatusProcessed || ev.OrderRef != "ord_custom" || ev.Amount != 500 {
		t.Errorf("after the fix and a replay: %+v", ev)
	}
}

// runPool runs w in the background; cancel stops it, and done closes once Run has returned.
func runPool(w *Worker) (cancel context.CancelFunc, done <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		w.Run(ctx)
		close(stopped)
	}()
	return cancel, stopped
}
