package models

import (
	"fmt"
	"slices"
	"testing"
)

// writeBatch stores ins through the ingest writer as one batch, as the Ingester does, and fails the
// test unless the batch commits as a whole (the Ingester would retry it request by request).
func writeBatch(t *testing.T, s *Store, ins []*Incoming) []Stored {
	t.Helper()
	st := &ingestStatements{}
	defer st.close()
	jobs := make([]*ingestJob, len(ins))
	for i, in := range ins {
		if err := in.prepare(s.Postgres()); err != nil {
			t.Fatal(err)
		}
		jobs[i] = &ingestJob{in: in}
	}
	if err := s.writeIngest(st, jobs); err != nil {
		t.Fatalf("batch of %d: %v", len(ins), err)
	}
	out := make([]Stored, len(jobs))
	for i, j := range jobs {
		out[i] = j.result
	}
	return out
}

// TestIngestBatchDuplicates stores one batch holding copies of a new event, copies of an event
// stored before, a rejected request and the same event id on another endpoint, on the database the
// run uses: every request gets the outcome and event that storing them one by one would give.
func TestIngestBatchDuplicates(t *testing.T) {
	s := multiStore(t)
	ep, other := bbEndpoint(t, s, "Acme"), bbEndpoint(t, s, "Beta")
	old := writeBatch(t, s, []*Incoming{bbIncoming(s, ep, "old")})[0]

	rejected := bbIncoming(s, ep, "rejected")
	rejected.Event = nil
	rejected.Delivery.Outcome, rejected.Delivery.Reason, rejected.Delivery.StatusCode = OutcomeRejected, "too large", 413
	rejected.Delivery.Body, rejected.Delivery.BodySize = nil, 0
	got := writeBatch(t, s, []*Incoming{
		bbIncoming(s, ep, "a"),
		bbIncoming(s, ep, "old"),
		bbIncoming(s, ep, "a"),
		rejected,
		bbIncoming(s, ep, "b"),
		bbIncoming(s, ep, "old"),
		bbIncoming(s, ep, "a"),
		bbIncoming(s, other, "a"),
	})

	a, b, otherA := got[0].EventID, got[4].EventID, got[7].EventID
	if !(old.EventID < a && a < b && b < otherA) {
		t.Errorf("new events %d, %d, %d after %d; want ids ascending in batch order", a, b, otherA, old.EventID)
	}
	want := []struct {
		outcome Outcome
		event   uint
	}{
		{OutcomeAccepted, a},
		{OutcomeDuplicate, old.EventID},
		{OutcomeDuplicate, a},
		{OutcomeRejected, 0},
		{OutcomeAccepted, b},
		{OutcomeDuplicate, old.EventID},
		{OutcomeDuplicate, a},
		{OutcomeAccepted, otherA},
	}
	for i, w := range want {
		if got[i].Outcome != w.outcome || got[i].EventID != w.event {
			t.Errorf("request %d: %s of event %d, want %s of event %d", i, got[i].Outcome, got[i].EventID, w.outcome, w.event)
		}
		if i > 0 && got[i].DeliveryID <= got[i-1].DeliveryID {
			t.Errorf("request %d: delivery %d after %d; want ids ascending in batch order", i, got[i].DeliveryID, got[i-1].DeliveryID)
		}
		var d Delivery
		if err := s.DB.Take(&d, got[i].DeliveryID).Error; err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		var event uint
		if d.EventID != nil {
			event = *d.EventID
		}
		if d.Outcome != w.outcome || event != w.event {
			t.Errorf("request %d: stored as %s of event %d, want %s of event %d", i, d.Outcome, event, w.outcome, w.event)
		}
	}
	var nullBody bool
	if err := s.DB.Raw("SELECT body IS NULL FROM deliveries WHERE id = ?", got[3].DeliveryID).Scan(&nullBody).Error; err != nil || !nullBody {
		t.Errorf("empty body of the rejected request: NULL = %v, %v; want NULL, as GORM stores it", nullBody, err)
	}

	for _, c := range []struct {
		event uint
		count int
	}{{old.EventID, 3}, {a, 3}, {b, 1}, {otherA, 1}} {
		ev, err := s.EventByID(c.event)
		if err != nil {
			t.Fatal(err)
		}
		if ev.DeliveryCount != c.count {
			t.Errorf("event %s (%d): delivery_count %d, want %d", ev.ExternalID, c.event, ev.DeliveryCount, c.count)
		}
	}

	m, err := s.EnsureMerchant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		term string
		want []uint
	}{
		{"ord_a", []uint{got[0].DeliveryID, got[2].DeliveryID, got[6].DeliveryID}},
		{"ord_old", []uint{old.DeliveryID, got[1].DeliveryID, got[5].DeliveryID}},
		{"ord_b", []uint{got[4].DeliveryID}},
	} {
		page, err := s.Search(SearchFilter{MerchantID: m.ID, Terms: []string{c.term}})
		if err != nil {
			t.Fatal(err)
		}
		var found []uint
		for _, h := range page.Hits {
			found = append(found, h.ID)
		}
		slices.Sort(found)
		if !slices.Equal(found, c.want) {
			t.Errorf("search %q found deliveries %v, want %v", c.term, found, c.want)
		}
	}

	var counts []struct {
		Outcome Outcome
		N       int64
	}
	if err := s.DB.Raw("SELECT outcome, SUM(n) AS n FROM delivery_counts GROUP BY outcome ORDER BY outcome").Scan(&counts).Error; err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(counts), "[{accepted 4} {duplicate 4} {rejected 1}]"; got != want {
		t.Errorf("delivery counts %s, want %s", got, want)
	}
}

// TestIngestBatchBadRequestFailsAlonePostgres is TestIngesterBadRequestFailsAlone on PostgreSQL: a
// batch that fails as a whole leaves nothing behind, and its requests are stored one by one.
func TestIngestBatchBadRequestFailsAlonePostgres(t *testing.T) {
	s := multiStore(t)
	if !s.Postgres() {
		t.Skip("TestIngesterBadRequestFailsAlone covers SQLite; set HOOKLOG_TEST_POSTGRES to run this")
	}
	ep := bbEndpoint(t, s, "Acme")
	for _, stmt := range []string{
		`CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN IF NEW.remote_addr = 'bad' THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$`,
		`CREATE TRIGGER refuse_bad BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION refuse_bad()`,
	} {
		if err := s.DB.Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
	commits := 0
	ing, release := heldIngester(t, s, ep, 16, &commits)
	bad := bbIncoming(s, ep, "bad")
	bad.Delivery.RemoteAddr = "bad"
	ins := []*Incoming{bbIncoming(s, ep, "good1"), bad, bbIncoming(s, ep, "good1"), bbIncoming(s, ep, "good2")}
	var got []Stored
	for i, r := range storeHeld(t, ing, release, ins) {
		got = append(got, r.st)
		if i == 1 {
			if r.err == nil {
				t.Errorf("bad request stored as %+v, want an error", r.st)
			}
			continue
		}
		if r.err != nil {
			t.Errorf("request %d: %v", i, r.err)
		}
	}
	// The requests join the queue in any order: either copy of good1 may come first.
	outcomes := []Outcome{got[0].Outcome, got[2].Outcome}
	slices.Sort(outcomes)
	if !slices.Equal(outcomes, []Outcome{OutcomeAccepted, OutcomeDuplicate}) || got[2].EventID != got[0].EventID ||
		got[3].Outcome != OutcomeAccepted {
		t.Errorf("stored one by one as %+v; want good1 accepted once and a duplicate once, good2 accepted", got)
	}
	ev, err := s.EventByID(got[0].EventID)
	if err != nil || ev.DeliveryCount != 2 {
		t.Errorf("good1 = %+v, %v; want 2 deliveries, none counted by the failed batch", ev, err)
	}
	var n int64
	s.DB.Model(&Event{}).Where("external_id = ?", "bad").Count(&n)
	if n != 0 {
		t.Errorf("the refused request left its event behind")
	}
}

// TestIngestBatchLarge stores a batch whose rows hold more values than a PostgreSQL statement
// takes parameters (65535): the writer's statements take one array per column.
func TestIngestBatchLarge(t *testing.T) {
	s := multiStore(t)
	ep := bbEndpoint(t, s, "Acme")
	const n = 2500 // 29 event columns each
	ins := make([]*Incoming, n)
	for i := range ins {
		ins[i] = bbIncoming(s, ep, fmt.Sprintf("evt_%d", i%(n-10))) // the last 10 are copies of the first
	}
	got := writeBatch(t, s, ins)
	for i, st := range got {
		want := OutcomeAccepted
		if i >= n-10 {
			want = OutcomeDuplicate
		}
		if st.Outcome != want || st.EventID != got[i%(n-10)].EventID {
			t.Fatalf("request %d: %+v, want %s of event %d", i, st, want, got[i%(n-10)].EventID)
		}
	}
	var deliveries, events int64
	s.DB.Model(&Delivery{}).Count(&deliveries)
	s.DB.Model(&Event{}).Count(&events)
	if deliveries != n || events != n-10 {
		t.Errorf("%d deliveries and %d events stored, want %d and %d", deliveries, events, n, n-10)
	}
}
