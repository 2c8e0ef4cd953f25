package models

import (
	"crypto/rand"
	"maps"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"hooklog/testapp/testdb"
)

// opsClock is a settable clock for the operations store tests.
type opsClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *opsClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *opsClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// opsStore opens a store on a fresh SQLite file with a clock the test moves.
func opsStore(t testing.TB) (*Store, *opsClock) {
	t.Helper()
	c := &opsClock{t: time.Date(2026, 3, 10, 15, 40, 0, 0, time.UTC)}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{DSN: filepath.Join(t.TempDir(), "hooklog.db"), Key: key, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// countsStore is opsStore on a fresh database of either kind (PostgreSQL when HOOKLOG_TEST_POSTGRES
// is set), for the tests of the delivery counts; it returns the DSN too, to open it again.
func countsStore(t testing.TB) (*Store, *opsClock, string) {
	t.Helper()
	c := &opsClock{t: time.Date(2026, 3, 10, 15, 40, 0, 0, time.UTC)}
	dsn := testdb.DSN(t, "hooklog.db")
	s, err := Open(Options{DSN: dsn, MaxConns: 4, Key: make([]byte, 32), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c, dsn
}

// opsFixture is a merchant with one generic endpoint.
type opsFixture struct {
	s        *Store
	merchant *Merchant
	ep       *Endpoint
}

func opsMerchant(t testing.TB, s *Store, name string) *opsFixture {
	t.Helper()
	m, err := s.EnsureMerchant(name)
	if err != nil {
		t.Fatal(err)
	}
	ep, _, err := s.CreateEndpoint(m.ID, EndpointInput{Name: name + " generic", Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return &opsFixture{s: s, merchant: m, ep: ep}
}

// delivery stores a delivery received at at, and counts it; event, when set, is the event it delivered.
func (f *opsFixture) delivery(t testing.TB, at time.Time, o Outcome, event *Event, typ string) *Delivery {
	t.Helper()
	d := Delivery{MerchantID: f.merchant.ID, EndpointID: f.ep.ID, ReceivedAt: at, RemoteAddr: "192.0.2.1", Outcome: o,
		StatusCode: 200, EventType: typ, Body: []byte(`{}`), BodySize: 2}
	if o == OutcomeRejected {
		d.StatusCode, d.Reason = 401, "no signature header"
	}
	if event != nil {
		d.EventID = &event.ID
	}
	// Stored and counted in one transaction, as the ingester does.
	err := f.s.writeTx(func(tx *gorm.DB) error {
		if err := tx.Create(&d).Error; err != nil {
			return err
		}
		return countDeliveries(tx, []*Delivery{&d})
	})
	if err != nil {
		t.Fatal(err)
	}
	return &d
}

// event stores an event with its accepted delivery.
func (f *opsFixture) event(t testing.TB, at time.Time, status Status, typ string) *Event {
	t.Helper()
	ev := Event{MerchantID: f.merchant.ID, EndpointID: f.ep.ID, ExternalID: "evt_" + newClaimToken(), Provider: "generic",
		Type: typ, Status: status, ReceivedAt: at, DeliveryCount: 1}
	if status == StatusFailed {
		ev.LastError = "boom"
	}
	if err := f.s.DB.Create(&ev).Error; err != nil {
		t.Fatal(err)
	}
	f.delivery(t, at, OutcomeAccepted, &ev, typ)
	return &ev
}

func opsReload(t testing.TB, s *Store, id uint) *Event {
	t.Helper()
	ev, err := s.EventByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// assertDeliveryCounts checks that the maintained delivery counts are exactly the deliveries
// counted afresh, with no row left at zero.
func assertDeliveryCounts(t testing.TB, s *Store) {
	t.Helper()
	var ds []Delivery
	if err := s.DB.Select("merchant_id", "endpoint_id", "received_at", "outcome").Find(&ds).Error; err != nil {
		t.Fatal(err)
	}
	want := map[deliveryCountKey]int64{}
	for _, d := range ds {
		want[deliveryCountKey{merchantID: d.MerchantID, endpointID: d.EndpointID, hour: unixHour(d.ReceivedAt), outcome: d.Outcome}]++
	}
	var rows []DeliveryCount
	if err := s.DB.Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	got := map[deliveryCountKey]int64{}
	for _, r := range rows {
		got[deliveryCountKey{merchantID: r.MerchantID, endpointID: r.EndpointID, hour: r.Hour, outcome: r.Outcome}] = r.N
	}
	if !maps.Equal(got, want) {
		t.Errorf("delivery counts (%d rows) differ from the %d deliveries:\n got %v\nwant %v", len(rows), len(ds), got, want)
	}
}

// countIncoming is a delivery for the ingester received at at: with an event of id, or rejected
// when id is empty.
func countIncoming(ep *Endpoint, at time.Time, id string, status Status) *Incoming {
	in := &Incoming{Delivery: Delivery{MerchantID: ep.MerchantID, EndpointID: ep.ID, ReceivedAt: at, RemoteAddr: "192.0.2.1",
		Body: []byte(`{"id":"` + id + `"}`), BodySize: 12, StatusCode: 200, EventType: "payment.completed"}}
	if id == "" {
		in.Delivery.Outcome, in.Delivery.StatusCode, in.Delivery.Reason = OutcomeRejected, 401, "no signature header"
		return in
	}
	in.Event = &Event{MerchantID: ep.MerchantID, EndpointID: ep.ID, ExternalID: id, Provider: "generic", Type: "payment.completed",
		Status: status, ReceivedAt: at, DeliveryCount: 1}
	return in
}
