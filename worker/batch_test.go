package worker

import (
	"fmt"
	"strings"
	"testing"

	"hooklog/config"
	"hooklog/models"
)

// refund ingests a full refund of 20.00 USD for order ref.
func (f *fixture) refund(t *testing.T, ref string) uint {
	t.Helper()
	f.n++
	return f.ingest(t, fmt.Sprintf(`{"id":"evt_%d_%s","event":"refund.completed","data":{"orderId":%q,"amount":"20.00","currency":"USD"}}`, f.n, ref, ref))
}

// TestBatchAppliesOneOrderInEventOrder: a payment and its refund processed in one batch move the
// order through paid to refunded, one transition each, in order.
func TestBatchAppliesOneOrderInEventOrder(t *testing.T) {
	f := newFixture(t, false)
	w := New(f.store, testConfig, quietLog())
	pay, refund := f.payment(t, "ord_batch"), f.refund(t, "ord_batch")
	if n := runDue(t, w); n != 2 {
		t.Fatalf("claimed %d", n)
	}
	status, h := f.history(t, "ord_batch")
	if status != models.OrderRefunded || len(h) != 2 || h[0].EventID != pay || h[0].To != models.OrderPaid ||
		h[1].EventID != refund || h[1].From != models.OrderPaid || h[1].To != models.OrderRefunded {
		t.Fatalf("order %s, history %+v", status, h)
	}
	for id, want := range map[uint]string{pay: "order ord_batch: payment succeeded", refund: "order ord_batch: refunded in full"} {
		if as := f.attempts(t, id); len(as) != 1 || as[0].Outcome != models.StatusProcessed || as[0].Result != want {
			t.Errorf("attempts of %d = %+v, want one with %q", id, as, want)
		}
	}
}

// TestBatchFailuresLeaveTheOthers: in one batch, a body that is not JSON fails while normalising and
// a payment naming no order fails while applying, both permanently; the other events complete.
func TestBatchFailuresLeaveTheOthers(t *testing.T) {
	f := newFixture(t, false)
	w := New(f.store, testConfig, quietLog())
	first := f.payment(t, "ord_a")
	notJSON := f.ingest(t, "<xml>paid</xml>")
	noOrder := f.ingest(t, `{"id":"evt_no_order","event":"payment.completed","data":{"amount":"1.00"}}`)
	last := f.payment(t, "ord_b")
	if n := runDue(t, w); n != 4 {
		t.Fatalf("claimed %d", n)
	}
	for _, id := range []uint{first, last} {
		if ev := f.event(t, id); ev.Status != models.StatusProcessed || len(f.attempts(t, id)) != 1 {
			t.Errorf("event %d = %+v", id, ev)
		}
	}
	for id, want := range map[uint]string{notJSON: "body is not valid JSON", noOrder: "the event names no order reference"} {
		ev := f.event(t, id)
		as := f.attempts(t, id)
		if ev.Status != models.StatusFailed || ev.NextAttemptAt != nil || !strings.HasPrefix(ev.LastError, want) ||
			len(as) != 1 || as[0].Outcome != models.StatusFailed || as[0].Error != ev.LastError {
			t.Errorf("event %d = %+v, attempts %+v; want failed for good with %q", id, ev, as, want)
		}
	}
	for _, ref := range []string{"ord_a", "ord_b"} {
		if status, h := f.history(t, ref); status != models.OrderPaid || len(h) != 1 {
			t.Errorf("order %s: %s, history %+v", ref, status, h)
		}
	}
}

// TestRunClaimsConfiguredBatch: the pool claims worker.batch events at a time.
func TestRunClaimsConfiguredBatch(t *testing.T) {
	f := newFixture(t, false)
	cfg := testConfig
	cfg.Concurrency, cfg.Batch = 1, 2
	w := New(f.store, cfg, quietLog())
	entered := make(chan struct{}, 8)
	release := make(chan struct{})
	w.beforeApply = func(*models.Claim) error {
		entered <- struct{}{}
		<-release
		return nil
	}
	var ids []uint
	for i := range 5 {
		ids = append(ids, f.payment(t, fmt.Sprintf("ord_%d", i)))
	}
	cancel, done := runPool(w)
	<-entered
	processing := 0
	for _, id := range ids {
		if f.event(t, id).Status == models.StatusProcessing {
			processing++
		}
	}
	if processing != 2 {
		t.Errorf("%d events claimed while the first batch ran, want 2", processing)
	}
	close(release)
	waitFor(t, "every event to be processed", func() bool {
		for _, id := range ids {
			if f.event(t, id).Status != models.StatusProcessed {
				return false
			}
		}
		return true
	})
	cancel()
	<-done
}

// BenchmarkDrain measures how fast a backlog is processed (claim, run, complete), one event per
// batch against the default batch: compare the events/s of the sub-benchmarks.
func BenchmarkDrain(b *testing.B) {
	for _, size := range []int{1, config.Default().Worker.Batch} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			f := newFixture(b, true)
			cfg := testConfig
			cfg.Batch = size
			w := New(f.store, cfg, quietLog())
			drained := 0
			for b.Loop() {
				b.StopTimer()
				for i := range 256 {
					f.payment(b, fmt.Sprintf("ord_%d", i))
				}
				b.StartTimer()
				for {
					claims, err := f.store.ClaimEvents(w.batch(), cfg.Lease.Duration)
					if err != nil {
						b.Fatal(err)
					}
					if len(claims) == 0 {
						break
					}
					w.processBatch(claims)
					drained += len(claims)
				}
			}
			b.ReportMetric(float64(drained)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
