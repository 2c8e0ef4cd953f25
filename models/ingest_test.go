package models

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"hooklog/webhooks"
)

// bbIncoming is a verified generic payment delivery with its event, ready for the ingester.
func bbIncoming(s *Store, ep *Endpoint, id string) *Incoming {
	now := s.Now()
	body := paymentBody(id, "ord_"+id)
	ev := &Event{MerchantID: ep.MerchantID, EndpointID: ep.ID, Provider: ep.Provider, Status: StatusPending,
		NextAttemptAt: &now, ReceivedAt: now, DeliveryCount: 1}
	ev.SetNormalised(webhooks.Event{ID: id, Type: "payment.completed", Canonical: webhooks.PaymentSucceeded, OrderRef: "ord_" + id})
	return &Incoming{Delivery: Delivery{MerchantID: ep.MerchantID, EndpointID: ep.ID, ReceivedAt: now, RemoteAddr: "127.0.0.1",
		Headers: http.Header{"X-Signature": {"sig"}}, Body: []byte(body), BodySize: int64(len(body)), StatusCode: 200,
		EventType: "payment.completed"}, Event: ev}
}

// heldIngester returns an ingester whose writer is stuck in its first commit's callback until
// release is called, so that the requests sent meanwhile queue up and commit as one batch.
func heldIngester(t *testing.T, s *Store, ep *Endpoint, maxBatch int, commits *int) (ing *Ingester, release func()) {
	t.Helper()
	var mu sync.Mutex
	gate := make(chan struct{})
	first := true
	ing = NewIngester(s, maxBatch, func() {
		mu.Lock()
		*commits++
		wait := first
		first = false
		mu.Unlock()
		if wait {
			<-gate
		}
	})
	if _, err := ing.Store(context.Background(), bbIncoming(s, ep, "warmup")); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(func() { release(); ing.Close() })
	return ing, release
}

// waitQueued waits until n requests wait in the ingester's queue.
func waitQueued(t *testing.T, ing *Ingester, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(ing.queue) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", len(ing.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}

type storeResult struct {
	st  Stored
	err error
}

// storeAll sends every request from its own goroutine and returns a channel of their results, in order.
func storeAll(ing *Ingester, ins []*Incoming) []chan storeResult {
	out := make([]chan storeResult, len(ins))
	for i, in := range ins {
		out[i] = make(chan storeResult, 1)
		go func() {
			st, err := ing.Store(context.Background(), in)
			out[i] <- storeResult{st, err}
		}()
	}
	return out
}

// storeHeld stores ins while the writer is held, so that they all wait for one batch, then lets the
// batch go and returns each request's result, in order.
func storeHeld(t *testing.T, ing *Ingester, release func(), ins []*Incoming) []storeResult {
	t.Helper()
	results := storeAll(ing, ins)
	waitQueued(t, ing, len(ins))
	release()
	out := make([]storeResult, len(results))
	for i, ch := range results {
		out[i] = <-ch
	}
	return out
}

// TestIngesterDuplicatesInOneBatch: copies of one event committed in the same transaction make one
// event, one accepted delivery and duplicates linked to it.
func TestIngesterDuplicatesInOneBatch(t *testing.T) {
	s, _, _ := bbStore(t)
	ep := bbEndpoint(t, s, "Acme")
	commits := 0
	ing, release := heldIngester(t, s, ep, 16, &commits)
	ins := []*Incoming{bbIncoming(s, ep, "same"), bbIncoming(s, ep, "same"), bbIncoming(s, ep, "other"), bbIncoming(s, ep, "same")}
	var got []Stored
	for i, r := range storeHeld(t, ing, release, ins) {
		if r.err != nil {
			t.Fatalf("request %d: %v", i, r.err)
		}
		got = append(got, r.st)
	}
	sameID, accepted := uint(0), 0
	for i, st := range got {
		if i == 2 {
			if st.Outcome != OutcomeAccepted {
				t.Errorf("other event: %+v", st)
			}
			continue
		}
		if sameID == 0 {
			sameID = st.EventID
		}
		if st.EventID != sameID || st.DeliveryID == 0 {
			t.Errorf("request %d: %+v, want event %d", i, st, sameID)
		}
		if st.Outcome == OutcomeAccepted {
			accepted++
		} else if st.Outcome != OutcomeDuplicate {
			t.Errorf("request %d: outcome %s", i, st.Outcome)
		}
	}
	if accepted != 1 {
		t.Errorf("%d copies accepted, want 1", accepted)
	}
	ev, err := s.EventByID(sameID)
	if err != nil || ev.DeliveryCount != 3 {
		t.Fatalf("event = %+v, %v; want 3 deliveries", ev, err)
	}
	var n int64
	s.DB.Model(&Delivery{}).Where("event_id = ?", sameID).Count(&n)
	if n != 3 {
		t.Errorf("%d deliveries linked, want 3", n)
	}
	ing.Close() // orders the last commit's callback before the count is read
	if commits != 2 {
		t.Errorf("onCommit ran %d times, want 2 (the warm-up and one batch)", commits)
	}
}

// TestIngesterBadRequestFailsAlone: when one request of a batch cannot be stored, its neighbours are
// stored all the same.
func TestIngesterBadRequestFailsAlone(t *testing.T) {
	s, _, _ := bbStore(t)
	ep := bbEndpoint(t, s, "Acme")
	if err := s.DB.Exec(`CREATE TRIGGER refuse_bad BEFORE INSERT ON deliveries WHEN NEW.remote_addr = 'bad'
		BEGIN SELECT RAISE(ABORT, 'refused by test'); END`).Error; err != nil {
		t.Fatal(err)
	}
	commits := 0
	ing, release := heldIngester(t, s, ep, 16, &commits)
	bad := bbIncoming(s, ep, "bad")
	bad.Delivery.RemoteAddr = "bad"
	ins := []*Incoming{bbIncoming(s, ep, "good1"), bad, bbIncoming(s, ep, "good2")}
	for i, r := range storeHeld(t, ing, release, ins) {
		if i == 1 {
			if r.err == nil || !strings.HasPrefix(r.err.Error(), "store: ingest:") {
				t.Errorf("bad request: %v, want a store error", r.err)
			}
			continue
		}
		if r.err != nil || r.st.Outcome != OutcomeAccepted {
			t.Errorf("request %d: %+v, %v", i, r.st, r.err)
		}
	}
	var n int64
	s.DB.Model(&Event{}).Where("external_id = ?", "bad").Count(&n)
	if n != 0 {
		t.Errorf("the refused request left its event behind")
	}
}

// TestIngesterCloseStoresQueued: Close stores every request already queued before returning, and
// refuses requests after it.
func TestIngesterCloseStoresQueued(t *testing.T) {
	s, _, _ := bbStore(t)
	ep := bbEndpoint(t, s, "Acme")
	commits := 0
	ing, release := heldIngester(t, s, ep, 4, &commits)
	var ins []*Incoming
	for i := range 10 {
		ins = append(ins, bbIncoming(s, ep, fmt.Sprintf("q%d", i)))
	}
	results := storeAll(ing, ins)
	waitQueued(t, ing, len(ins))

	closed := make(chan struct{})
	go func() {
		ing.Close()
		close(closed)
	}()
	// Close cannot finish while the writer is held; new requests are refused at once meanwhile.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ing.mu.RLock()
		closing := ing.closed
		ing.mu.RUnlock()
		if closing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Close did not start")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := ing.Store(context.Background(), bbIncoming(s, ep, "late")); !errors.Is(err, ErrIngestClosed) {
		t.Fatalf("Store during Close = %v, want ErrIngestClosed", err)
	}
	select {
	case <-closed:
		t.Fatal("Close returned before the queued requests were stored")
	default:
	}
	release()
	<-closed
	for i, ch := range results {
		if r := <-ch; r.err != nil || r.st.Outcome != OutcomeAccepted {
			t.Errorf("queued request %d: %+v, %v", i, r.st, r.err)
		}
	}
	var n int64
	s.DB.Model(&Event{}).Count(&n)
	if n != 11 { // the warm-up and the ten queued
		t.Errorf("%d events stored, want 11", n)
	}
	s.DB.Model(&Event{}).Where("external_id = ?", "late").Count(&n)
	if n != 0 {
		t.Error("a request refused after Close was stored")
	}
	ing.Close() // a second Close is harmless
}

// TestIngesterWakesOnlyForNewEvents: a commit of rejected or duplicate deliveries does not wake the
// workers.
func TestIngesterWakesOnlyForNewEvents(t *testing.T) {
	s, _, _ := bbStore(t)
	ep := bbEndpoint(t, s, "Acme")
	var mu sync.Mutex
	wakes := 0
	ing := NewIngester(s, 8, func() { mu.Lock(); wakes++; mu.Unlock() })
	defer ing.Close()
	ctx := context.Background()
	steps := []struct {
		in    *Incoming
		want  Outcome
		wakes int
	}{
		{bbIncoming(s, ep, "a"), OutcomeAccepted, 1},
		{bbIncoming(s, ep, "a"), OutcomeDuplicate, 1},
		{&Incoming{Delivery: Delivery{MerchantID: ep.MerchantID, EndpointID: ep.ID, ReceivedAt: s.Now(), Outcome: OutcomeRejected,
			Reason: "no signature matched", StatusCode: 401}}, OutcomeRejected, 1},
		{bbIncoming(s, ep, "b"), OutcomeAccepted, 2},
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return wakes
	}
	for i, step := range steps {
		st, err := ing.Store(ctx, step.in)
		if err != nil || st.Outcome != step.want {
			t.Errorf("step %d: %+v, %v; want %s", i, st, err, step.want)
		}
		// The wake follows the commit, so it may come just after Store returns. Commits run one
		// after another, so once an accepted step's wake is counted, every earlier one has been.
		if step.want == OutcomeAccepted {
			deadline := time.Now().Add(5 * time.Second)
			for count() < step.wakes && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if n := count(); n != step.wakes {
				t.Errorf("step %d: %d wakes, want %d", i, n, step.wakes)
			}
		}
	}
}
