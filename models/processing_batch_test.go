package models

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"hooklog/testapp/testdb"
	"hooklog/webhooks"
)

// batchStore opens a store with a clock the test moves, on PostgreSQL when HOOKLOG_TEST_POSTGRES
// is set, else on a SQLite file.
func batchStore(t testing.TB) (*Store, *bbClock) {
	t.Helper()
	c := &bbClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{DSN: testdb.DSN(t, "hooklog.db"), MaxConns: 4, Key: key, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

func refundBody(id, order string) string {
	return `{"id":"` + id + `","event":"refund.completed","data":{"orderId":"` + order + `","amount":"20.00","currency":"USD"}}`
}

// claimAll claims every due event, oldest first, and normalises each as the worker does.
func claimAll(t testing.TB, s *Store, lease time.Duration) ([]Claim, []Completion) {
	t.Helper()
	claims, err := s.ClaimEvents(100, lease)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]Completion, len(claims))
	for i := range claims {
		items[i] = Completion{Claim: &claims[i], Run: bbRun(t, s, &claims[i])}
	}
	return claims, items
}

// TestCompleteEventsSameOrderInIDOrder: a payment and its refund completed in one batch, handed over
// in the wrong order, are applied in order of event id, the refund finding the order paid.
func TestCompleteEventsSameOrderInIDOrder(t *testing.T) {
	s, clock := batchStore(t)
	ep := bbEndpoint(t, s, "Acme")
	pay := bbIngest(t, s, ep, paymentBody("e1", "o1"))
	clock.Add(time.Second)
	refund := bbIngest(t, s, ep, refundBody("e2", "o1"))
	clock.Add(time.Second)

	_, items := claimAll(t, s, time.Minute)
	if len(items) != 2 || items[0].Claim.ID != pay.EventID {
		t.Fatalf("claimed %d events", len(items))
	}
	items[0], items[1] = items[1], items[0]
	done := s.CompleteEvents(items)
	want := []string{"order o1: refunded in full", "order o1: payment succeeded"}
	for i, d := range done {
		if d.Err != nil || d.Result != want[i] {
			t.Errorf("result %d = %q, %v; want %q", i, d.Result, d.Err, want[i])
		}
	}

	o, err := s.OrderByReference(ep.MerchantID, "o1")
	if err != nil {
		t.Fatal(err)
	}
	hist, _ := s.OrderHistory(o.ID)
	if o.Status != OrderRefunded || o.RefundedAmount != 2000 || len(hist) != 2 ||
		hist[0].EventID != pay.EventID || hist[0].From != "" || hist[0].To != OrderPaid ||
		hist[1].EventID != refund.EventID || hist[1].From != OrderPaid || hist[1].To != OrderRefunded {
		t.Errorf("order %+v, history %+v", o, hist)
	}
	for _, id := range []uint{pay.EventID, refund.EventID} {
		ev := bbEvent(t, s, id)
		as, _ := s.EventAttempts(id)
		if ev.Status != StatusProcessed || !ev.Applied || ev.ClaimToken != "" || ev.NextAttemptAt != nil ||
			ev.ProcessedAt == nil || !ev.ProcessedAt.Equal(clock.Now()) || ev.OrderRef != "o1" {
			t.Errorf("event %d = %+v", id, ev)
		}
		if len(as) != 1 || as[0].Outcome != StatusProcessed || as[0].Trigger != TriggerAutomatic || as[0].Error != "" ||
			!as[0].FinishedAt.Equal(clock.Now()) {
			t.Errorf("attempts of %d = %+v", id, as)
		}
	}
}

// TestCompleteEventsLostClaimInBatch: the event in the middle of a batch was taken over by another
// worker; the batch completes the others and leaves that one to its new owner.
func TestCompleteEventsLostClaimInBatch(t *testing.T) {
	s, clock := batchStore(t)
	ep := bbEndpoint(t, s, "Acme")
	first := bbIngest(t, s, ep, paymentBody("e1", "o1"))
	middle := bbIngest(t, s, ep, paymentBody("e2", "o2"))
	last := bbIngest(t, s, ep, paymentBody("e3", "o3"))
	// The middle event is claimed first, on a short lease, then the others on a long one.
	if err := s.DB.Model(&Event{}).Where("id = ?", middle.EventID).Update("next_attempt_at", clock.Now().Add(-time.Hour)).Error; err != nil {
		t.Fatal(err)
	}
	short, err := s.ClaimEvents(1, time.Second)
	if err != nil || len(short) != 1 || short[0].ID != middle.EventID {
		t.Fatalf("short claim = %+v, %v", short, err)
	}
	long, err := s.ClaimEvents(2, time.Minute)
	if err != nil || len(long) != 2 {
		t.Fatalf("long claim = %+v, %v", long, err)
	}
	clock.Add(2 * time.Second)
	taken, err := s.ClaimEvents(10, time.Minute)
	if err != nil || len(taken) != 1 || taken[0].ID != middle.EventID {
		t.Fatalf("takeover = %+v, %v", taken, err)
	}

	batch := []Completion{
		{Claim: &long[0], Run: bbRun(t, s, &long[0])},
		{Claim: &short[0], Run: bbRun(t, s, &short[0])},
		{Claim: &long[1], Run: bbRun(t, s, &long[1])},
	}
	done := s.CompleteEvents(batch)
	if done[0].Err != nil || done[0].Result != "order o1: payment succeeded" ||
		!errors.Is(done[1].Err, ErrLostClaim) || done[1].Result != "" ||
		done[2].Err != nil || done[2].Result != "order o3: payment succeeded" {
		t.Fatalf("CompleteEvents = %+v", done)
	}
	for _, id := range []uint{first.EventID, last.EventID} {
		if ev := bbEvent(t, s, id); ev.Status != StatusProcessed || !ev.Applied {
			t.Errorf("event %d = %+v", id, ev)
		}
	}
	ev := bbEvent(t, s, middle.EventID)
	as, _ := s.EventAttempts(middle.EventID)
	if ev.Status != StatusProcessing || ev.ClaimToken != taken[0].ClaimToken || ev.Applied || len(as) != 0 {
		t.Errorf("the lost event was touched: %+v, attempts %+v", ev, as)
	}
	if _, err := s.OrderByReference(ep.MerchantID, "o2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the lost event's order = %v, want none", err)
	}

	// Its new owner completes it once.
	res, err := s.CompleteEvent(&taken[0], bbRun(t, s, &taken[0]))
	if err != nil || res != "order o2: payment succeeded" {
		t.Fatalf("takeover completion = %q, %v", res, err)
	}
	as, _ = s.EventAttempts(middle.EventID)
	o, _ := s.OrderByReference(ep.MerchantID, "o2")
	hist, _ := s.OrderHistory(o.ID)
	if len(as) != 1 || as[0].Trigger != TriggerRetry || len(hist) != 1 || o.Status != OrderPaid {
		t.Errorf("attempts %+v, order %+v, history %+v", as, o, hist)
	}
}

// TestCompleteEventsPermanentFailureInBatch: an event that names no order fails permanently and is
// left for FailEvent, untouched; its neighbours in the batch complete.
func TestCompleteEventsPermanentFailureInBatch(t *testing.T) {
	s, clock := batchStore(t)
	ep := bbEndpoint(t, s, "Acme")
	first := bbIngest(t, s, ep, paymentBody("e1", "o1"))
	clock.Add(time.Second)
	bad := bbIngest(t, s, ep, `{"id":"e2","event":"payment.completed","data":{"amount":"1.00"}}`)
	clock.Add(time.Second)
	last := bbIngest(t, s, ep, paymentBody("e3", "o1"))

	claims, items := claimAll(t, s, time.Minute)
	done := s.CompleteEvents(items)
	var perm *PermanentError
	if done[0].Err != nil || done[0].Result != "order o1: payment succeeded" ||
		!errors.Is(done[1].Err, ErrNoOrderReference) || !errors.As(done[1].Err, &perm) || done[1].Err.Error() != ErrNoOrderReference.Error() ||
		done[2].Err != nil || done[2].Result != "order o1: no change: payment already recorded" {
		t.Fatalf("CompleteEvents = %+v", done)
	}
	ev := bbEvent(t, s, bad.EventID)
	if as, _ := s.EventAttempts(bad.EventID); ev.Status != StatusProcessing || ev.ClaimToken != claims[1].ClaimToken || len(as) != 0 {
		t.Errorf("the failed event was touched: %+v, attempts %+v", ev, as)
	}
	if status, err := s.FailEvent(&claims[1], done[1].Err, ptr(clock.Now().Add(time.Hour)), 5); err != nil || status != StatusFailed {
		t.Fatalf("FailEvent = %s, %v", status, err)
	}
	if ev := bbEvent(t, s, bad.EventID); ev.Status != StatusFailed || ev.NextAttemptAt != nil || ev.LastError != ErrNoOrderReference.Error() {
		t.Errorf("failed event = %+v", ev)
	}
	for _, id := range []uint{first.EventID, last.EventID} {
		as, _ := s.EventAttempts(id)
		if ev := bbEvent(t, s, id); ev.Status != StatusProcessed || !ev.Applied || len(as) != 1 {
			t.Errorf("event %d = %+v, attempts %+v", id, ev, as)
		}
	}
	o, _ := s.OrderByReference(ep.MerchantID, "o1")
	if hist, _ := s.OrderHistory(o.ID); len(hist) != 1 || hist[0].EventID != first.EventID {
		t.Errorf("history = %+v", hist)
	}
}

// TestCompleteEventsWriteFailureInBatch: when writing one event's transition fails, the batch is
// rolled back and each event tried again alone, so the others complete and that one reports the
// error for a retry.
func TestCompleteEventsWriteFailureInBatch(t *testing.T) {
	s, clock := batchStore(t)
	ep := bbEndpoint(t, s, "Acme")
	first := bbIngest(t, s, ep, paymentBody("e1", "o1"))
	clock.Add(time.Second)
	broken := bbIngest(t, s, ep, paymentBody("e2", "o2"))
	clock.Add(time.Second)
	last := bbIngest(t, s, ep, paymentBody("e3", "o3"))
	diskFull := errors.New("disk full")
	// The batch's transitions are one hand-written INSERT (insertTransitions); it fails when it
	// holds the broken event's.
	err := s.DB.Callback().Raw().Before("gorm:raw").Register("test:fail_transition", func(db *gorm.DB) {
		if !strings.HasPrefix(db.Statement.SQL.String(), "INSERT INTO order_transitions") {
			return
		}
		// Each row is order_id, from, to, event_id, reason, at.
		for i := 3; i < len(db.Statement.Vars); i += 6 {
			if db.Statement.Vars[i] == any(broken.EventID) {
				db.AddError(diskFull)
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	_, items := claimAll(t, s, time.Minute)
	done := s.CompleteEvents(items)
	if done[0].Err != nil || done[2].Err != nil || !errors.Is(done[1].Err, diskFull) ||
		done[1].Err.Error() != fmt.Sprintf("store: complete event %d: disk full", broken.EventID) {
		t.Fatalf("CompleteEvents = %+v", done)
	}
	for _, id := range []uint{first.EventID, last.EventID} {
		as, _ := s.EventAttempts(id)
		if ev := bbEvent(t, s, id); ev.Status != StatusProcessed || len(as) != 1 {
			t.Errorf("event %d = %+v, attempts %+v", id, ev, as)
		}
	}
	if ev := bbEvent(t, s, broken.EventID); ev.Status != StatusProcessing || ev.Applied {
		t.Errorf("the failed event = %+v", ev)
	}
	if _, err := s.OrderByReference(ep.MerchantID, "o2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the failed event's order = %v, want none (rolled back)", err)
	}
}

// TestCompleteEventsInstancesShareOrders: several PostgreSQL instances complete batches whose events
// name the same orders, all at once; every event is processed exactly once and every order moves once.
func TestCompleteEventsInstancesShareOrders(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("several instances share a database only on PostgreSQL; set HOOKLOG_TEST_POSTGRES to run this")
	}
	dsn := testdb.DSN(t, "multi.db")
	key := make([]byte, 32)
	stores := make([]*Store, 3)
	for i := range stores {
		s, err := Open(Options{DSN: dsn, MaxConns: 4, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	ep := bbEndpoint(t, stores[0], "Acme")
	const orders, perOrder = 8, 12
	for i := range orders * perOrder {
		bbIngest(t, stores[0], ep, paymentBody(fmt.Sprintf("e%d", i), fmt.Sprintf("o%d", i%orders)))
	}

	var wg sync.WaitGroup
	failures := make([][]error, len(stores))
	for i, s := range stores {
		wg.Go(func() {
			for {
				claims, err := s.ClaimEvents(8, time.Minute)
				if err != nil {
					failures[i] = append(failures[i], err)
				}
				if len(claims) == 0 {
					return
				}
				items := make([]Completion, len(claims))
				for j := range claims {
					items[j].Claim = &claims[j]
					if items[j].Run, err = normaliseClaim(s, &claims[j]); err != nil {
						failures[i] = append(failures[i], err)
						return
					}
				}
				for _, d := range s.CompleteEvents(items) {
					if d.Err != nil {
						failures[i] = append(failures[i], d.Err)
					}
				}
			}
		})
	}
	wg.Wait()
	for i, errs := range failures {
		if len(errs) > 0 {
			t.Errorf("instance %d: %v", i, errs)
		}
	}
	s := stores[0]
	var unfinished, attempts int64
	s.DB.Model(&Event{}).Where("status <> ? OR NOT applied", StatusProcessed).Count(&unfinished)
	s.DB.Model(&Attempt{}).Count(&attempts)
	if unfinished != 0 || attempts != orders*perOrder {
		t.Errorf("%d events unfinished, %d attempts; want 0 and %d", unfinished, attempts, orders*perOrder)
	}
	for i := range orders {
		o, err := s.OrderByReference(ep.MerchantID, fmt.Sprintf("o%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if hist, _ := s.OrderHistory(o.ID); o.Status != OrderPaid || len(hist) != 1 {
			t.Errorf("order %s: %s, history %+v", o.Reference, o.Status, hist)
		}
	}
}

// TestClaimEventsEarliestAcrossStatuses: a claim takes the earliest due events whatever their
// status: an expired lease, a pending event and a retry that are due before a later pending event.
func TestClaimEventsEarliestAcrossStatuses(t *testing.T) {
	s, clock := batchStore(t)
	ep := bbEndpoint(t, s, "Acme")
	t0 := clock.Now()
	retry := bbIngest(t, s, ep, paymentBody("retry", "o1"))
	c, err := s.ClaimEvents(1, time.Minute)
	if err != nil || len(c) != 1 {
		t.Fatalf("claim = %+v, %v", c, err)
	}
	if _, err := s.FailEvent(&c[0], errors.New("timeout"), ptr(t0.Add(3*time.Second)), 5); err != nil {
		t.Fatal(err)
	}
	expired := bbIngest(t, s, ep, paymentBody("expired", "o2"))
	if c, err := s.ClaimEvents(1, time.Second); err != nil || len(c) != 1 || c[0].ID != expired.EventID {
		t.Fatalf("claim = %+v, %v", c, err)
	}
	clock.Add(2 * time.Second)
	pending := bbIngest(t, s, ep, paymentBody("pending", "o3"))
	clock.Add(2 * time.Second)
	later := bbIngest(t, s, ep, paymentBody("later", "o4"))
	clock.Add(time.Second)

	claims, err := s.ClaimEvents(3, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint
	for _, c := range claims {
		got = append(got, c.ID)
	}
	slices.Sort(got)
	if want := []uint{retry.EventID, expired.EventID, pending.EventID}; !slices.Equal(got, want) {
		t.Errorf("claimed %v, want %v (not %d, due last)", got, want, later.EventID)
	}
}

// TestEventSources: each event's first accepted delivery, read for a batch in one query that looks
// the events up in the index on (event_id, outcome).
func TestEventSources(t *testing.T) {
	s, _ := batchStore(t)
	ep := bbEndpoint(t, s, "Acme")
	first := bbIngest(t, s, ep, paymentBody("e1", "o1"))
	again := bbIngest(t, s, ep, paymentBody("e1", "o1"))
	second := bbIngest(t, s, ep, refundBody("e2", "o1"))
	if again.Outcome != OutcomeDuplicate || again.EventID != first.EventID {
		t.Fatalf("second delivery of e1 = %+v", again)
	}
	srcs, err := s.EventSources([]uint{first.EventID, second.EventID, 999})
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 2 || srcs[first.EventID].ID != first.DeliveryID || srcs[second.EventID].ID != second.DeliveryID ||
		string(srcs[second.EventID].Body) != refundBody("e2", "o1") || srcs[first.EventID].Headers.Get("X-Signature") != "sig" {
		t.Errorf("EventSources = %+v", srcs)
	}
	if s.Postgres() {
		return
	}
	sql := s.DB.ToSQL(func(tx *gorm.DB) *gorm.DB { return sourcesQuery(tx, []uint{1, 2, 3}).Find(&[]Delivery{}) })
	if plan := sqlitePlan(t, s, sql); len(plan) != 1 || !strings.Contains(plan[0], "USING INDEX idx_deliveries_event_outcome (event_id=? AND outcome=?)") {
		t.Errorf("plan of %s = %q", sql, plan)
	}
}

// TestLoadOrdersPlan: the orders of a batch are looked up through the reference and payment id
// indexes, never by walking the table.
func TestLoadOrdersPlan(t *testing.T) {
	s, _ := batchStore(t)
	if s.Postgres() {
		t.Skip("asserts SQLite's query plan")
	}
	evs := []Event{
		{MerchantID: 1, Canonical: webhooks.PaymentSucceeded, OrderRef: "o1", PaymentID: "p1"},
		{MerchantID: 1, Canonical: webhooks.RefundCompleted, PaymentID: "p2"},
		{MerchantID: 2, Canonical: webhooks.PaymentFailed, OrderRef: "o3"},
	}
	sql := s.DB.ToSQL(func(tx *gorm.DB) *gorm.DB { return batchOrdersQuery(tx, evs, []int{0, 1, 2}).Find(&[]Order{}) })
	var lookups []string
	for _, step := range sqlitePlan(t, s, sql) {
		if strings.HasPrefix(step, "SCAN orders") || strings.Contains(step, "idx_orders_merchant_updated") {
			t.Errorf("plan of %s walks the orders: %q", sql, step)
		}
		if strings.HasPrefix(step, "SEARCH orders USING") {
			lookups = append(lookups, step)
		}
	}
	want := []string{
		"SEARCH orders USING INTEGER PRIMARY KEY (rowid=?)",
		"SEARCH orders USING COVERING INDEX idx_orders_ref (merchant_id=? AND reference=?)",
		"SEARCH orders USING INDEX idx_orders_payment_id (payment_id=?)",
		"SEARCH orders USING COVERING INDEX idx_orders_ref (merchant_id=? AND reference=?)",
		"SEARCH orders USING INDEX idx_orders_payment_id (payment_id=?)",
	}
	if !slices.Equal(lookups, want) {
		t.Errorf("lookups of %s = %q\nwant %q", sql, lookups, want)
	}
}

// sqlitePlan explains sql and returns the plan's steps.
func sqlitePlan(t *testing.T, s *Store, sql string) []string {
	t.Helper()
	var plan []struct {
		ID, Parent, Notused int
		Detail              string
	}
	if err := s.DB.Raw("EXPLAIN QUERY PLAN " + sql).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range plan {
		out = append(out, p.Detail)
	}
	t.Logf("%s: %q", sql, out)
	return out
}

// BenchmarkCompleteEvents measures completion alone, one event per transaction against batches:
// compare the events/s of the sub-benchmarks.
func BenchmarkCompleteEvents(b *testing.B) {
	for _, size := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s, _ := batchStore(b)
			ep := bbEndpoint(b, s, "Acme")
			n, completed := 0, 0
			for b.Loop() {
				b.StopTimer()
				for range 64 {
					n++
					bbIngest(b, s, ep, paymentBody(fmt.Sprintf("e%d", n), fmt.Sprintf("o%d", n%500)))
				}
				_, items := claimAll(b, s, time.Minute)
				b.StartTimer()
				completed += len(items)
				for i := 0; i < len(items); i += size {
					for _, d := range s.CompleteEvents(items[i:min(i+size, len(items))]) {
						if d.Err != nil {
							b.Fatal(d.Err)
						}
					}
				}
			}
			b.ReportMetric(float64(completed)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
