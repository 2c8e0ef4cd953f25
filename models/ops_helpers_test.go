package models

import (
	"crypto/rand"
	"path/filepath"
	"sync"
	"testing"
	"time"
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

// delivery stores a delivery received at at; event, when set, is the event it delivered.
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
	if err := f.s.DB.Create(&d).Error; err != nil {
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
