package models

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOpsWindowStats(t *testing.T) {
	s, clock := opsStore(t)
	now := clock.Now()
	f := opsMerchant(t, s, "Acme")
	other := opsMerchant(t, s, "Other")

	f.event(t, now.Add(-1*time.Hour), StatusProcessed, "payment.completed")    // 24 h: 1 delivery
	f.event(t, now.Add(-2*time.Hour), StatusFailed, "payment.completed")       // 24 h: 1 delivery, failed
	f.delivery(t, now.Add(-3*time.Hour), OutcomeRejected, nil, "")             // 24 h: rejected
	dead := f.event(t, now.Add(-30*time.Hour), StatusDead, "refund.completed") // 7 d: dead
	f.delivery(t, now.Add(-29*time.Hour), OutcomeDuplicate, dead, "refund.completed")
	f.delivery(t, now.Add(-8*24*time.Hour), OutcomeRejected, nil, "") // outside both windows
	other.event(t, now.Add(-1*time.Hour), StatusFailed, "payment.completed")
	other.delivery(t, now.Add(-1*time.Hour), OutcomeRejected, nil, "")

	for _, tc := range []struct {
		name  string
		since time.Time
		want  WindowStats
		rate  float64
	}{
		{"24 hours", now.Add(-24 * time.Hour), WindowStats{Deliveries: 3, Rejected: 1, FailedEvents: 1}, 2.0 / 3},
		{"7 days", now.Add(-7 * 24 * time.Hour), WindowStats{Deliveries: 5, Rejected: 1, FailedEvents: 2}, 3.0 / 5},
		{"future", now.Add(time.Hour), WindowStats{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.WindowStats(f.merchant.ID, tc.since)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("stats = %+v, want %+v", got, tc.want)
			}
			if got.Failures() != tc.want.Rejected+tc.want.FailedEvents {
				t.Errorf("failures = %d", got.Failures())
			}
			if got.FailureRate() != tc.rate {
				t.Errorf("rate = %v, want %v", got.FailureRate(), tc.rate)
			}
		})
	}
}

func TestOpsHourlyDeliveries(t *testing.T) {
	s, clock := opsStore(t) // 15:40 UTC
	f := opsMerchant(t, s, "Acme")
	other := opsMerchant(t, s, "Other")
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	ev := f.event(t, at(15, 5), StatusProcessed, "payment.completed")
	f.delivery(t, at(15, 30), OutcomeDuplicate, ev, "payment.completed")
	f.delivery(t, at(14, 59), OutcomeRejected, nil, "")
	f.delivery(t, at(-8, 0), OutcomeRejected, nil, "")  // 16:00 yesterday: the first bucket
	f.delivery(t, at(-8, -1), OutcomeRejected, nil, "") // 15:59 yesterday: outside
	other.delivery(t, at(15, 0), OutcomeRejected, nil, "")

	got, err := s.HourlyDeliveries(f.merchant.ID, 24)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 24 {
		t.Fatalf("%d buckets, want 24", len(got))
	}
	want := map[int]HourBucket{
		0:  {Hour: at(-8, 0), Rejected: 1},
		22: {Hour: at(14, 0), Rejected: 1},
		23: {Hour: at(15, 0), Accepted: 1, Duplicate: 1},
	}
	for i, b := range got {
		w, ok := want[i]
		if !ok {
			w = HourBucket{Hour: at(-8+i, 0)}
		}
		if b != w {
			t.Errorf("bucket %d = %+v, want %+v", i, b, w)
		}
	}
	if got[23].Total() != 2 {
		t.Errorf("total = %d", got[23].Total())
	}
	clock.Add(time.Hour) // 16:40: the oldest hour drops out
	got, err = s.HourlyDeliveries(f.merchant.ID, 24)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Hour != at(-7, 0) || got[0].Total() != 0 || got[21].Rejected != 1 || got[22].Total() != 2 || got[23].Total() != 0 {
		t.Errorf("after an hour: %+v", got)
	}
}

func TestOpsEndpointsHealthAndFailures(t *testing.T) {
	s, clock := opsStore(t)
	now := clock.Now()
	f := opsMerchant(t, s, "Acme")
	quiet, _, err := s.CreateEndpoint(f.merchant.ID, EndpointInput{Name: "A quiet one", Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	// Stored in the order they arrived: the last delivery is the one stored last.
	dead := f.event(t, now.Add(-48*time.Hour), StatusDead, "refund.completed")
	f.event(t, now.Add(-2*time.Hour), StatusProcessed, "payment.completed")
	failed := f.event(t, now.Add(-90*time.Minute), StatusFailed, "payment.failed")
	rej := f.delivery(t, now.Add(-time.Hour), OutcomeRejected, nil, "")

	health, err := s.EndpointsHealth(f.merchant.ID, now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(health) != 2 || health[0].Endpoint.ID != quiet.ID || health[1].Endpoint.ID != f.ep.ID {
		t.Fatalf("health = %+v", health)
	}
	if h := health[0]; !h.LastDelivery.IsZero() || h.Deliveries != 0 || h.Rejected != 0 || h.ErrorRate() != 0 {
		t.Errorf("quiet endpoint = %+v", h)
	}
	if h := health[1]; !h.LastDelivery.Equal(now.Add(-time.Hour)) || h.Deliveries != 3 || h.Rejected != 1 || h.ErrorRate() != 1.0/3 {
		t.Errorf("busy endpoint = %+v", h)
	}

	fs, err := s.LatestFailures(f.merchant.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Failure{
		{DeliveryID: rej.ID, At: rej.ReceivedAt, EndpointID: f.ep.ID, Status: "rejected", Reason: "no signature header"},
		{EventID: failed.ID, At: failed.ReceivedAt, EndpointID: f.ep.ID, Type: "payment.failed", Status: "failed", Reason: "boom"},
		{EventID: dead.ID, At: dead.ReceivedAt, EndpointID: f.ep.ID, Type: "refund.completed", Status: "dead"},
	}
	if len(fs) != len(want) {
		t.Fatalf("failures = %+v", fs)
	}
	for i := range want {
		if !fs[i].At.Equal(want[i].At) {
			t.Errorf("failure %d at %v, want %v", i, fs[i].At, want[i].At)
		}
		fs[i].At = want[i].At
		if fs[i] != want[i] {
			t.Errorf("failure %d = %+v, want %+v", i, fs[i], want[i])
		}
	}
	if fs, _ := s.LatestFailures(f.merchant.ID, 2); len(fs) != 2 || fs[1].EventID != failed.ID {
		t.Errorf("limited failures = %+v", fs)
	}
}

func TestOpsBacklog(t *testing.T) {
	s, clock := opsStore(t)
	now := clock.Now()
	f := opsMerchant(t, s, "Acme")
	other := opsMerchant(t, s, "Other")
	f.event(t, now, StatusPending, "a")
	f.event(t, now, StatusPending, "a")
	retry := f.event(t, now, StatusFailed, "a")
	if err := s.DB.Model(&Event{}).Where("id = ?", retry.ID).Update("next_attempt_at", now.Add(time.Minute)).Error; err != nil {
		t.Fatal(err)
	}
	f.event(t, now, StatusFailed, "a")
	f.event(t, now, StatusDead, "a")
	f.event(t, now, StatusProcessed, "a")
	other.event(t, now, StatusDead, "a")
	got, err := s.Backlog(f.merchant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Backlog{Pending: 2, Failed: 2, Retrying: 1, Dead: 1}); got != want || got.Waiting() != 3 {
		t.Errorf("backlog = %+v, want %+v", got, want)
	}
	has, err := s.HasDeliveries(f.merchant.ID)
	if err != nil || !has {
		t.Errorf("has deliveries = %v, %v", has, err)
	}
	empty := opsMerchant(t, s, "Empty")
	if has, err := s.HasDeliveries(empty.merchant.ID); err != nil || has {
		t.Errorf("empty merchant has deliveries = %v, %v", has, err)
	}
}

// TestOpsStatsUseIndexes checks that the overview's queries read index ranges, not whole tables,
// which is what keeps them fast with millions of deliveries: the windows read the maintained
// counts, and deliveries for the first hour only.
func TestOpsStatsUseIndexes(t *testing.T) {
	s, clock := opsStore(t)
	since := clock.Now().Add(-24 * time.Hour)
	for _, tc := range []struct {
		name, query string
		args        []any
		want        string
	}{
		{"window counts, whole hours", `SELECT endpoint_id, outcome, SUM(n) FROM delivery_counts WHERE merchant_id = ? AND hour >= ?
			GROUP BY endpoint_id, outcome`,
			[]any{1, unixHour(since)}, "USING INDEX sqlite_autoindex_delivery_counts_1 (merchant_id=? AND hour>?)"},
		{"window counts, first hour", `SELECT endpoint_id, outcome, COUNT(*) FROM deliveries WHERE merchant_id = ? AND received_at >= ?
			AND received_at < ? GROUP BY endpoint_id, outcome`,
			[]any{1, since, since.Add(time.Hour)}, "USING COVERING INDEX idx_deliveries_merchant_received (merchant_id=? AND received_at>? AND received_at<?)"},
		{"hourly buckets", `SELECT hour, outcome, SUM(n) FROM delivery_counts WHERE merchant_id = ? AND hour >= ? AND hour <= ?
			GROUP BY hour, outcome`,
			[]any{1, unixHour(since), unixHour(since) + 3600}, "USING INDEX sqlite_autoindex_delivery_counts_1 (merchant_id=? AND hour>? AND hour<?)"},
		{"failed events", `SELECT COUNT(*) FROM events WHERE merchant_id = ? AND status IN ('failed','dead') AND received_at >= ?`,
			[]any{1, since}, "USING COVERING INDEX idx_events_merchant_status_next (merchant_id=? AND status=? AND received_at>?)"},
		{"claim, each status's earliest due", `SELECT id, next_attempt_at FROM events WHERE status = ? AND next_attempt_at <= ?
			ORDER BY next_attempt_at LIMIT 16`,
			[]any{"pending", since}, "USING COVERING INDEX idx_events_due (status=? AND next_attempt_at<?)"},
		{"runnable count", `SELECT count(*) FROM events WHERE status IN ('pending', 'failed', 'processing') AND next_attempt_at <= ?`,
			[]any{since}, "USING COVERING INDEX idx_events_due (status=? AND next_attempt_at<?)"},
		{"backlog", `SELECT status, next_attempt_at IS NOT NULL AS scheduled, COUNT(*) AS n FROM events
			WHERE merchant_id = ? AND status IN ('pending', 'failed', 'dead') GROUP BY status, scheduled`,
			[]any{1}, "USING COVERING INDEX idx_events_merchant_status_next (merchant_id=? AND status=?)"},
		{"last delivery", `SELECT received_at FROM deliveries WHERE id = (SELECT MAX(id) FROM deliveries WHERE endpoint_id = ?)`,
			[]any{1}, "SEARCH deliveries USING COVERING INDEX idx_deliveries_endpoint_id"},
		{"latest rejected", `SELECT id FROM deliveries WHERE merchant_id = ? AND outcome = 'rejected' ORDER BY id DESC LIMIT 10`,
			[]any{1}, "USING COVERING INDEX idx_deliveries_merchant_outcome_id (merchant_id=? AND outcome=?)"},
		{"deliveries of an outcome, newest first", `SELECT id FROM deliveries WHERE merchant_id = ? AND outcome = 'accepted' ORDER BY id DESC LIMIT 51`,
			[]any{1}, "USING COVERING INDEX idx_deliveries_merchant_outcome_id (merchant_id=? AND outcome=?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rows []struct{ Detail string }
			if err := s.DB.Raw("EXPLAIN QUERY PLAN "+tc.query, tc.args...).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			var plan []string
			for _, r := range rows {
				plan = append(plan, r.Detail)
			}
			if !strings.Contains(strings.Join(plan, "\n"), tc.want) {
				t.Errorf("plan:\n%s\nwant %q", strings.Join(plan, "\n"), tc.want)
			}
		})
	}
}

// TestDeliveryCountsFollowIngestAndPurge checks that the maintained counts equal the deliveries
// counted afresh after batched and single ingests of every outcome across hours, endpoints and
// merchants, and after a purge that cuts an hour in two.
func TestDeliveryCountsFollowIngestAndPurge(t *testing.T) {
	s, clock, _ := countsStore(t)
	now := clock.Now()
	f := opsMerchant(t, s, "Acme")
	second, _, err := s.CreateEndpoint(f.merchant.ID, EndpointInput{Name: "Second", Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	other := opsMerchant(t, s, "Other")
	eps := []*Endpoint{f.ep, second, other.ep}

	// One batch: the writer is held while the requests queue, so they commit together and several
	// share a count row.
	var ins []*Incoming
	for i := range 40 {
		ep := eps[i%len(eps)]
		at := now.Add(-time.Duration(i)*47*time.Minute - time.Duration(i)*time.Second)
		switch {
		case i%5 == 0:
			ins = append(ins, countIncoming(ep, at, "", ""))
		case i%7 == 3: // a provider retry of an event of the same endpoint
			ins = append(ins, countIncoming(ep, at, fmt.Sprintf("evt-%d", i-3), StatusProcessed))
		default:
			ins = append(ins, countIncoming(ep, at, fmt.Sprintf("evt-%d", i), StatusProcessed))
		}
	}
	for range 5 {
		ins = append(ins, countIncoming(f.ep, now.Add(-10*time.Minute), "", ""))
	}
	commits := 0
	ing, release := heldIngester(t, s, f.ep, 64, &commits)
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Go(func() {
			if _, err := ing.Store(t.Context(), in); err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(t, ing, len(ins))
	release()
	wg.Wait()
	// Then one at a time, duplicates included.
	for _, in := range ins[:6] {
		if _, err := ing.Store(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	assertDeliveryCounts(t, s)
	var busiest int64
	s.DB.Model(&DeliveryCount{}).Select("MAX(n)").Scan(&busiest)
	if busiest < 6 {
		t.Errorf("busiest count row = %d, want an hour's rejected deliveries of one endpoint in one row", busiest)
	}
	var dups int64
	s.DB.Model(&Delivery{}).Where("outcome = ?", OutcomeDuplicate).Count(&dups)
	if dups < 6 {
		t.Errorf("%d duplicates stored, want at least 6", dups)
	}

	// 12 hours back is 03:40: the 03:00 hour loses its first 40 minutes only.
	res, err := s.Purge(RetentionPolicy{OlderThan: 12 * time.Hour, Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	var left int64
	s.DB.Model(&Delivery{}).Count(&left)
	if res.Deliveries == 0 || left == 0 {
		t.Fatalf("purged %+v, %d left; want some of each", res, left)
	}
	assertDeliveryCounts(t, s)
	clock.Add(time.Hour)
	_, err = s.Purge(RetentionPolicy{OlderThan: time.Nanosecond, IncludeUnfinished: true})
	if err != nil {
		t.Fatal(err)
	}
	assertDeliveryCounts(t, s)
	var rows int64
	s.DB.Model(&DeliveryCount{}).Count(&rows)
	s.DB.Model(&Delivery{}).Count(&left)
	if left != 0 || rows != 0 {
		t.Errorf("after purging everything: %d deliveries, %d count rows; want none", left, rows)
	}
}

// TestDeliveryCountsBackfill opens a database that has deliveries but no counts, as one upgraded
// from before the counts were kept, and checks that opening it fills them once.
func TestDeliveryCountsBackfill(t *testing.T) {
	s, c, dsn := countsStore(t)
	open := func() *Store {
		t.Helper()
		s, err := Open(Options{DSN: dsn, MaxConns: 4, Key: make([]byte, 32), Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	f := opsMerchant(t, s, "Acme")
	other := opsMerchant(t, s, "Other")
	for i := range 30 {
		o := Outcomes[i%len(Outcomes)]
		at := c.Now().Add(-time.Duration(i) * 37 * time.Minute).Add(time.Duration(i) * time.Millisecond)
		f.delivery(t, at, o, nil, "")
		if i%4 == 0 {
			other.delivery(t, at, o, nil, "")
		}
	}
	before, err := s.WindowStats(f.merchant.ID, c.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Exec("DROP TABLE delivery_counts").Error; err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open()
	defer s.Close()
	assertDeliveryCounts(t, s)
	after, err := s.WindowStats(f.merchant.ID, c.Now().Add(-24*time.Hour))
	if err != nil || after != before {
		t.Errorf("window after the backfill = %+v, %v; want %+v", after, err, before)
	}
	// Counts that exist are kept as they are, and a recount is idempotent.
	s.DB.Exec("UPDATE delivery_counts SET n = n + 100")
	reopened := open()
	var n int64
	reopened.DB.Model(&DeliveryCount{}).Select("MIN(n)").Scan(&n)
	reopened.Close()
	if n < 100 {
		t.Errorf("a reopen rebuilt counts that existed (min n = %d)", n)
	}
	if err := s.RecountDeliveries(); err != nil {
		t.Fatal(err)
	}
	if err := s.RecountDeliveries(); err != nil {
		t.Fatal(err)
	}
	assertDeliveryCounts(t, s)
}

// TestOpsWindowsExact checks the window figures against a direct count of the deliveries for
// windows starting on, just before, just after and between hour boundaries.
func TestOpsWindowsExact(t *testing.T) {
	s, clock, _ := countsStore(t) // 15:40 UTC
	now := clock.Now()
	f := opsMerchant(t, s, "Acme")
	second, _, err := s.CreateEndpoint(f.merchant.ID, EndpointInput{Name: "Second", Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	g := &opsFixture{s: s, merchant: f.merchant, ep: second}
	other := opsMerchant(t, s, "Other")
	day := now.Add(-24 * time.Hour)
	hour := day.Truncate(time.Hour).Add(time.Hour) // 16:00 yesterday
	var ats []time.Time
	for k := range 100 {
		ats = append(ats, now.Add(-25*time.Hour+time.Duration(k)*17*time.Minute+time.Duration(k)*time.Second))
	}
	for _, at := range []time.Time{day, hour} {
		ats = append(ats, at.Add(-time.Nanosecond), at, at.Add(time.Nanosecond))
	}
	for i, at := range ats {
		o := Outcomes[i%len(Outcomes)]
		f.delivery(t, at, o, nil, "")
		if i%3 == 0 {
			g.delivery(t, at, OutcomeRejected, nil, "")
		}
		if i%5 == 0 {
			other.delivery(t, at, o, nil, "")
		}
	}
	assertDeliveryCounts(t, s)

	sinces := []time.Time{day, hour, hour.Add(-time.Nanosecond), hour.Add(time.Nanosecond), day.Add(-time.Nanosecond),
		day.Add(time.Nanosecond), day.Truncate(time.Hour), now, now.Truncate(time.Hour), now.Add(30 * time.Minute),
		now.Add(-7 * 24 * time.Hour), now.Add(-30 * time.Hour)}
	for m := 0; m < 180; m += 13 {
		sinces = append(sinces, day.Add(time.Duration(m)*time.Minute+time.Duration(m)*time.Millisecond))
	}
	for _, since := range sinces {
		var direct []struct {
			EndpointID uint
			Outcome    Outcome
			N          int64
		}
		err := s.DB.Raw(`SELECT endpoint_id, outcome, COUNT(*) AS n FROM deliveries WHERE merchant_id = ? AND received_at >= ?
			GROUP BY endpoint_id, outcome`, f.merchant.ID, since).Scan(&direct).Error
		if err != nil {
			t.Fatal(err)
		}
		var want WindowStats
		perEndpoint := map[uint][2]int64{}
		for _, r := range direct {
			want.Deliveries += r.N
			e := perEndpoint[r.EndpointID]
			e[0] += r.N
			if r.Outcome == OutcomeRejected {
				want.Rejected += r.N
				e[1] += r.N
			}
			perEndpoint[r.EndpointID] = e
		}
		got, err := s.WindowStats(f.merchant.ID, since)
		if err != nil {
			t.Fatal(err)
		}
		if got.Deliveries != want.Deliveries || got.Rejected != want.Rejected {
			t.Errorf("since %v: window = %+v, want %d deliveries, %d rejected", since, got, want.Deliveries, want.Rejected)
		}
		health, err := s.EndpointsHealth(f.merchant.ID, since)
		if err != nil {
			t.Fatal(err)
		}
		stats, err := s.EndpointStats(f.merchant.ID, since)
		if err != nil {
			t.Fatal(err)
		}
		if len(health) != 2 || len(stats) != 2 {
			t.Fatalf("since %v: %d endpoints in health, %d in stats; want 2", since, len(health), len(stats))
		}
		for _, h := range health {
			w := perEndpoint[h.Endpoint.ID]
			if h.Deliveries != w[0] || h.Rejected != w[1] {
				t.Errorf("since %v: endpoint %d health %d/%d, want %d/%d", since, h.Endpoint.ID, h.Deliveries, h.Rejected, w[0], w[1])
			}
			if st := stats[h.Endpoint.ID]; st.Deliveries != w[0] || st.Rejected != w[1] {
				t.Errorf("since %v: endpoint %d stats %d/%d, want %d/%d", since, h.Endpoint.ID, st.Deliveries, st.Rejected, w[0], w[1])
			}
		}
	}
}

// TestMigrateEventIndexes: a database with the events' earlier indexes (idx_events_claim over every
// event, idx_events_merchant_status without next_attempt_at, one index each on order_ref and
// payment_id) gets the current ones at the next start, and the old ones are gone.
func TestMigrateEventIndexes(t *testing.T) {
	s, _, dsn := countsStore(t)
	for _, stmt := range []string{
		`DROP INDEX idx_events_due`, `DROP INDEX idx_events_merchant_status_next`,
		`CREATE INDEX idx_events_claim ON events(status, next_attempt_at)`,
		`CREATE INDEX idx_events_merchant_status ON events(merchant_id, status, received_at)`,
		`DROP INDEX idx_events_order_key`,
		`CREATE INDEX idx_events_order_ref ON events(order_ref)`,
		`CREATE INDEX idx_events_payment_id ON events(payment_id)`,
	} {
		if err := s.DB.Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
	again, err := Open(Options{DSN: dsn, MaxConns: 4, Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	var rows []struct{ Name, Def string }
	q := `SELECT name, COALESCE(sql, '') AS def FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'`
	if again.Postgres() {
		q = `SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'events' AND schemaname = current_schema()`
	}
	if err := again.DB.Raw(q).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	defs := map[string]string{}
	for _, r := range rows {
		defs[r.Name] = r.Def
	}
	for _, old := range []string{"idx_events_claim", "idx_events_merchant_status", "idx_events_order_ref", "idx_events_payment_id"} {
		if _, ok := defs[old]; ok {
			t.Errorf("%s is still there: %v", old, defs)
		}
	}
	if !strings.Contains(defs["idx_events_merchant_status_next"], "next_attempt_at") {
		t.Errorf("idx_events_merchant_status_next = %q", defs["idx_events_merchant_status_next"])
	}
	if key := defs["idx_events_order_key"]; !strings.Contains(key, "order_ref") || !strings.Contains(key, "payment_id") {
		t.Errorf("idx_events_order_key = %q; want the order key", key)
	}
	if due := defs["idx_events_due"]; !strings.Contains(due, "WHERE") || !strings.Contains(due, "next_attempt_at IS NOT NULL") {
		t.Errorf("idx_events_due = %q; want a partial index over the events with a next_attempt_at", due)
	}
}
