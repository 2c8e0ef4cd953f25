package models

import (
	"crypto/rand"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"hooklog/webhooks"
)

// bbClock is a settable clock for the backbone's store tests.
type bbClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *bbClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *bbClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// bbStore opens a store on a fresh SQLite file with a random key and a clock the test moves.
func bbStore(t testing.TB) (*Store, *bbClock, []byte) {
	t.Helper()
	c := &bbClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{DSN: filepath.Join(t.TempDir(), "hooklog.db"), Key: key, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c, key
}

// bbEndpoint creates a merchant and a generic endpoint.
func bbEndpoint(t testing.TB, s *Store, merchant string) *Endpoint {
	t.Helper()
	m, err := s.EnsureMerchant(merchant)
	if err != nil {
		t.Fatal(err)
	}
	ep, _, err := s.CreateEndpoint(m.ID, EndpointInput{Name: "gateway", Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// bbIngest stores a verified delivery of a generic payload and its pending event, as ingest does.
func bbIngest(t testing.TB, s *Store, ep *Endpoint, body string) Stored {
	t.Helper()
	p, err := ep.Profile()
	if err != nil {
		t.Fatal(err)
	}
	n, err := p.Normalise(nil, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	now := s.Now()
	ev := &Event{MerchantID: ep.MerchantID, EndpointID: ep.ID, Provider: ep.Provider, Status: StatusPending,
		NextAttemptAt: &now, ReceivedAt: now, DeliveryCount: 1}
	ev.SetNormalised(n)
	in := &Incoming{Delivery: Delivery{MerchantID: ep.MerchantID, EndpointID: ep.ID, ReceivedAt: now, RemoteAddr: "127.0.0.1",
		Headers: http.Header{"X-Signature": {"sig"}}, Body: []byte(body), BodySize: int64(len(body)), StatusCode: 200, EventType: n.Type}, Event: ev}
	var st Stored
	if err := s.DB.Transaction(func(tx *gorm.DB) error {
		var d *Delivery
		st, d, err = storeIncoming(tx, in)
		if err != nil {
			return err
		}
		return indexStored(tx, d)
	}); err != nil {
		t.Fatal(err)
	}
	return st
}

func paymentBody(id, order string) string {
	return `{"id":"` + id + `","event":"payment.completed","data":{"orderId":"` + order + `","paymentId":"pay_` + id + `","amount":"20.00","currency":"USD"}}`
}

// bbRun normalises a claim the way the worker does.
func bbRun(t testing.TB, s *Store, c *Claim) RunResult {
	t.Helper()
	r, err := normaliseClaim(s, c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// normaliseClaim is bbRun for goroutines other than the test's.
func normaliseClaim(s *Store, c *Claim) (RunResult, error) {
	src, err := s.EventSource(c.ID)
	if err != nil {
		return RunResult{}, err
	}
	p, err := webhooks.New(c.Provider, webhooks.Settings{})
	if err != nil {
		return RunResult{}, err
	}
	n, err := p.Normalise(src.Headers, src.Body)
	if err != nil {
		return RunResult{}, err
	}
	return RunResult{Normalised: n}, nil
}

func bbEvent(t testing.TB, s *Store, id uint) *Event {
	t.Helper()
	ev, err := s.EventByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestClaimEventsDueAndLeases(t *testing.T) {
	s, clock, _ := bbStore(t)
	ep := bbEndpoint(t, s, "Acme")
	first := bbIngest(t, s, ep, paymentBody("e1", "o1"))
	clock.Add(time.Second)
	second := bbIngest(t, s, ep, paymentBody("e2", "o2"))

	claims, err := s.ClaimEvents(1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != 1 || claims[0].ID != first.EventID {
		t.Fatalf("claimed %+v, want the oldest due event %d", claims, first.EventID)
	}
	c := claims[0]
	if c.Status != StatusProcessing || c.Attempts != 1 || c.PendingTrigger != TriggerAutomatic || c.ClaimToken == "" ||
		!c.NextAttemptAt.Equal(clock.Now().Add(time.Minute)) || !c.StartedAt.Equal(clock.Now()) {
		t.Errorf("claim = %+v", c)
	}
	rest, err := s.ClaimEvents(10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 1 || rest[0].ID != second.EventID {
		t.Fatalf("second claim = %+v, want only event %d (the other is leased)", rest, second.EventID)
	}
	if again, _ := s.ClaimEvents(10, time.Minute); len(again) != 0 {
		t.Fatalf("claimed %d leased events", len(again))
	}

	// The first worker dies; its lease ends and another worker takes the event over as a retry.
	clock.Add(time.Minute)
	taken, err := s.ClaimEvents(1, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(taken) != 1 || taken[0].ID != first.EventID || taken[0].Attempts != 2 || taken[0].PendingTrigger != TriggerRetry ||
		taken[0].ClaimToken == c.ClaimToken {
		t.Fatalf("takeover = %+v", taken)
	}

	// A scheduled retry is not due before its time.
	if _, err := s.FailEvent(&taken[0], errors.New("gateway timeout"), ptr(clock.Now().Add(time.Hour)), 5); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.RunnableCount(); n != 1 { // the second event's lease ended too
		t.Errorf("RunnableCount = %d, want 1", n)
	}
}

func ptr[T any](v T) *T { return &v }

func TestCompleteEventLostClaim(t *testing.T) {
	s, clock, _ := bbStore(t)
	ep := bbEndpoint(t, s, "Acme")
	st := bbIngest(t, s, ep, paymentBody("e1", "o1"))

	a, _ := s.ClaimEvents(1, time.Second)
	clock.Add(2 * time.Second)
	b, _ := s.ClaimEvents(1, time.Minute)
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("claims %d and %d", len(a), len(b))
	}
	if _, err := s.CompleteEvent(&a[0], bbRun(t, s, &a[0])); !errors.Is(err, ErrLostClaim) {
		t.Fatalf("late completion = %v, want ErrLostClaim", err)
	}
	if _, err := s.FailEvent(&a[0], errors.New("x"), nil, 5); !errors.Is(err, ErrLostClaim) {
		t.Fatalf("late failure = %v, want ErrLostClaim", err)
	}
	res, err := s.CompleteEvent(&b[0], bbRun(t, s, &b[0]))
	if err != nil || res != "order o1: payment succeeded" {
		t.Fatalf("CompleteEvent = %q, %v", res, err)
	}
	// The lost run completing after the winner must not apply the event again.
	if _, err := s.CompleteEvent(&a[0], bbRun(t, s, &a[0])); !errors.Is(err, ErrLostClaim) {
		t.Fatalf("completion after the winner = %v, want ErrLostClaim", err)
	}
	ev := bbEvent(t, s, st.EventID)
	as, _ := s.EventAttempts(ev.ID)
	o, _ := s.OrderByReference(ep.MerchantID, "o1")
	hist, _ := s.OrderHistory(o.ID)
	if ev.Status != StatusProcessed || !ev.Applied || len(as) != 1 || as[0].Trigger != TriggerRetry || len(hist) != 1 || o.Status != OrderPaid {
		t.Errorf("event %+v, attempts %+v, order %+v, history %+v", ev, as, o, hist)
	}
}

func TestFailEventRetriesDeadAndPermanent(t *testing.T) {
	s, clock, _ := bbStore(t)
	ep := bbEndpoint(t, s, "Acme")
	st := bbIngest(t, s, ep, paymentBody("e1", "o1"))
	const maxAttempts = 2

	c, _ := s.ClaimEvents(1, time.Minute)
	retryAt := clock.Now().Add(10 * time.Second)
	status, err := s.FailEvent(&c[0], errors.New("database locked"), &retryAt, maxAttempts)
	if err != nil || status != StatusFailed {
		t.Fatalf("FailEvent = %s, %v", status, err)
	}
	ev := bbEvent(t, s, st.EventID)
	if ev.Status != StatusFailed || ev.NextAttemptAt == nil || !ev.NextAttemptAt.Equal(retryAt) || ev.LastError != "database locked" || ev.ClaimToken != "" {
		t.Errorf("after a failure: %+v", ev)
	}
	if again, _ := s.ClaimEvents(1, time.Minute); len(again) != 0 {
		t.Fatal("claimed before the retry was due")
	}
	clock.Add(10 * time.Second)
	c, _ = s.ClaimEvents(1, time.Minute)
	if len(c) != 1 || c[0].PendingTrigger != TriggerRetry {
		t.Fatalf("retry claim = %+v", c)
	}
	if status, err := s.FailEvent(&c[0], errors.New("database locked"), &retryAt, maxAttempts); err != nil || status != StatusDead {
		t.Fatalf("last attempt: %s, %v; want dead", status, err)
	}
	ev = bbEvent(t, s, st.EventID)
	if ev.Status != StatusDead || ev.NextAttemptAt != nil {
		t.Errorf("dead event = %+v", ev)
	}
	as, _ := s.EventAttempts(ev.ID)
	if len(as) != 2 || as[0].Outcome != StatusFailed || as[0].Trigger != TriggerAutomatic || as[1].Outcome != StatusDead ||
		as[1].Trigger != TriggerRetry || as[1].Error != "database locked" {
		t.Errorf("attempts = %+v", as)
	}

	// A permanent error leaves the event failed with no retry, whatever the attempt count.
	st2 := bbIngest(t, s, ep, `{"id":"e2","event":"payment.completed","data":{"amount":"1.00"}}`)
	c, _ = s.ClaimEvents(1, time.Minute)
	if len(c) != 1 || c[0].ID != st2.EventID {
		t.Fatalf("claim = %+v", c)
	}
	_, err = s.CompleteEvent(&c[0], bbRun(t, s, &c[0]))
	var perm *PermanentError
	if !errors.Is(err, ErrNoOrderReference) || !errors.As(err, &perm) {
		t.Fatalf("CompleteEvent without an order = %v, want a permanent ErrNoOrderReference", err)
	}
	if status, err := s.FailEvent(&c[0], err, &retryAt, maxAttempts); err != nil || status != StatusFailed {
		t.Fatalf("FailEvent(permanent) = %s, %v", status, err)
	}
	ev = bbEvent(t, s, st2.EventID)
	if ev.Status != StatusFailed || ev.NextAttemptAt != nil || !strings.Contains(ev.LastError, "names no order reference") {
		t.Errorf("permanently failed event = %+v", ev)
	}
}

func TestReplay(t *testing.T) {
	s, _, _ := bbStore(t)
	ep := bbEndpoint(t, s, "Acme")
	other := bbEndpoint(t, s, "Other")
	st := bbIngest(t, s, ep, paymentBody("e1", "o1"))

	c, _ := s.ClaimEvents(1, time.Minute)
	if _, err := s.Replay(ep.MerchantID, st.EventID, "ops@acme.test"); !errors.Is(err, ErrBusy) {
		t.Fatalf("replay while processing = %v, want ErrBusy", err)
	}
	if _, err := s.CompleteEvent(&c[0], bbRun(t, s, &c[0])); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Replay(other.MerchantID, st.EventID, "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another merchant's replay = %v, want ErrNotFound", err)
	}
	ev, err := s.Replay(ep.MerchantID, st.EventID, "ops@acme.test")
	if err != nil || ev.Status != StatusPending || ev.PendingTrigger != TriggerReplay || ev.PendingActor != "ops@acme.test" {
		t.Fatalf("Replay = %+v, %v", ev, err)
	}
	c, _ = s.ClaimEvents(1, time.Minute)
	if len(c) != 1 || c[0].PendingTrigger != TriggerReplay || c[0].PendingActor != "ops@acme.test" {
		t.Fatalf("replay claim = %+v", c)
	}
	res, err := s.CompleteEvent(&c[0], bbRun(t, s, &c[0]))
	if err != nil || res != "no change: this event was already applied to its order" {
		t.Fatalf("replayed run = %q, %v", res, err)
	}
	as, _ := s.EventAttempts(st.EventID)
	if len(as) != 2 || as[1].Trigger != TriggerReplay || as[1].Actor != "ops@acme.test" {
		t.Errorf("attempts = %+v", as)
	}
	o, _ := s.OrderByReference(ep.MerchantID, "o1")
	if hist, _ := s.OrderHistory(o.ID); len(hist) != 1 {
		t.Errorf("history = %+v, want one step", hist)
	}
}

func TestReplayFailedFilters(t *testing.T) {
	s, clock, _ := bbStore(t)
	ep := bbEndpoint(t, s, "Acme")
	ep2, _, err := s.CreateEndpoint(ep.MerchantID, EndpointInput{Name: "second", Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	other := bbEndpoint(t, s, "Other")
	setStatus := func(id uint, st Status) {
		if err := s.DB.Model(&Event{}).Where("id = ?", id).Update("status", st).Error; err != nil {
			t.Fatal(err)
		}
	}
	oldFailed := bbIngest(t, s, ep, paymentBody("old", "o1"))
	setStatus(oldFailed.EventID, StatusFailed)
	since := clock.Now().Add(time.Hour)
	clock.Add(2 * time.Hour)
	dead := bbIngest(t, s, ep, paymentBody("dead", "o2"))
	setStatus(dead.EventID, StatusDead)
	processed := bbIngest(t, s, ep, paymentBody("done", "o3"))
	setStatus(processed.EventID, StatusProcessed)
	onSecond := bbIngest(t, s, ep2, paymentBody("second", "o4"))
	setStatus(onSecond.EventID, StatusFailed)
	otherFailed := bbIngest(t, s, other, paymentBody("other", "o5"))
	setStatus(otherFailed.EventID, StatusFailed)

	tests := []struct {
		name string
		f    ReplayFilter
		want []uint
	}{
		{"one merchant's endpoint since a time", ReplayFilter{MerchantID: ep.MerchantID, EndpointID: ep.ID, Since: since}, []uint{dead.EventID}},
		{"one endpoint", ReplayFilter{EndpointID: ep2.ID}, []uint{onSecond.EventID}},
		{"one merchant", ReplayFilter{MerchantID: other.MerchantID}, []uint{otherFailed.EventID}},
		{"everything left", ReplayFilter{}, []uint{oldFailed.EventID}},
	}
	for _, tc := range tests {
		n, err := s.ReplayFailed(tc.f, "cli")
		if err != nil || n != int64(len(tc.want)) {
			t.Fatalf("%s: ReplayFailed = %d, %v; want %d", tc.name, n, err, len(tc.want))
		}
		for _, id := range tc.want {
			if ev := bbEvent(t, s, id); ev.Status != StatusPending || ev.PendingTrigger != TriggerReplay || ev.PendingActor != "cli" {
				t.Errorf("%s: event %d = %+v", tc.name, id, ev)
			}
		}
	}
	if ev := bbEvent(t, s, processed.EventID); ev.Status != StatusProcessed {
		t.Errorf("a processed event was replayed: %+v", ev)
	}
}
