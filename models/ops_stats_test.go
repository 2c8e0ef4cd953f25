package models

import (
	"strings"
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
	f.event(t, now.Add(-2*time.Hour), StatusProcessed, "payment.completed")
	failed := f.event(t, now.Add(-90*time.Minute), StatusFailed, "payment.failed")
	rej := f.delivery(t, now.Add(-time.Hour), OutcomeRejected, nil, "")
	dead := f.event(t, now.Add(-48*time.Hour), StatusDead, "refund.completed")

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
// which is what keeps them fast with millions of deliveries.
func TestOpsStatsUseIndexes(t *testing.T) {
	s, clock := opsStore(t)
	since := clock.Now().Add(-24 * time.Hour)
	for _, tc := range []struct {
		name, query string
		args        []any
		want        string
	}{
		{"window counts", `SELECT outcome, COUNT(*) FROM deliveries WHERE merchant_id = ? AND received_at >= ? GROUP BY outcome`,
			[]any{1, since}, "USING COVERING INDEX idx_deliveries_merchant_received (merchant_id=? AND received_at>?)"},
		{"hourly buckets", `SELECT strftime('%Y-%m-%d %H:00:00', received_at) AS hour, outcome, COUNT(*) FROM deliveries
			WHERE merchant_id = ? AND received_at >= ? GROUP BY hour, outcome`,
			[]any{1, since}, "USING COVERING INDEX idx_deliveries_merchant_received (merchant_id=? AND received_at>?)"},
		{"failed events", `SELECT COUNT(*) FROM events WHERE merchant_id = ? AND status IN ('failed','dead') AND received_at >= ?`,
			[]any{1, since}, "USING COVERING INDEX idx_events_merchant_status (merchant_id=? AND status=? AND received_at>?)"},
		{"last delivery", `SELECT received_at FROM deliveries WHERE endpoint_id = ? ORDER BY received_at DESC LIMIT 1`,
			[]any{1}, "USING COVERING INDEX idx_deliveries_endpoint_received (endpoint_id=?)"},
		{"latest rejected", `SELECT id FROM deliveries WHERE merchant_id = ? AND outcome = 'rejected' ORDER BY received_at DESC LIMIT 10`,
			[]any{1}, "USING COVERING INDEX idx_deliveries_merchant_outcome (merchant_id=? AND outcome=?)"},
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
