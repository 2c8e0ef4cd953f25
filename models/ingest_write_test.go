package models

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"

	"hooklog/webhooks"
)

// TestIngestWriterMatchesGORM stores the same requests through the ingest writer's hand-written
// statements and through GORM's Create (storeIncoming), on the database the run uses, and compares
// every column read back: the writer's column lists must never drift from the models.
func TestIngestWriterMatchesGORM(t *testing.T) {
	s := multiStore(t)
	m, err := s.EnsureMerchant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	now := s.Now().Truncate(time.Microsecond)
	later := now.Add(time.Minute)
	incomings := func(endpointID uint) []*Incoming {
		ev := func(id string, mutate func(*Event)) *Event {
			e := &Event{MerchantID: m.ID, EndpointID: endpointID, Provider: "stripe", Status: StatusPending,
				NextAttemptAt: &now, ReceivedAt: now, DeliveryCount: 1}
			e.SetNormalised(webhooks.Event{ID: id, Type: "payment_intent.succeeded", Canonical: webhooks.PaymentSucceeded,
				OrderRef: "ord-1", PaymentID: "pi_1", Amount: 1999, HasAmount: true, Currency: "USD",
				CustomerEmail: "jane@example.com", CustomerPhone: "+8801712345678"})
			if mutate != nil {
				mutate(e)
			}
			return e
		}
		d := func(body string, h http.Header) Delivery {
			return Delivery{MerchantID: m.ID, EndpointID: endpointID, ReceivedAt: now, RemoteAddr: "127.0.0.1", Headers: h,
				Body: []byte(body), BodySize: int64(len(body)), StatusCode: 200, EventType: "payment_intent.succeeded"}
		}
		h := http.Header{"Stripe-Signature": {"t=1,v1=ab"}, "Content-Type": {"application/json"}}
		return []*Incoming{
			{Delivery: d(`{"id":"evt_1"}`, h), Event: ev("evt_1", nil)},
			{Delivery: d(`{"id":"evt_1"}`, h), Event: ev("evt_1", nil)}, // a duplicate
			{Delivery: d(`{"id":"evt_2"}`, nil), Event: ev("evt_2", func(e *Event) {
				e.Canonical, e.HasAmount, e.Amount = "", false, 0
				e.Status, e.NextAttemptAt, e.LastError = StatusFailed, nil, "body is not valid JSON"
				e.MarkedAt, e.ProcessedAt, e.Mark, e.MarkNote = &later, &later, MarkNeedsReview, "odd"
			})},
			{Delivery: func() Delivery {
				r := d("x\xff\x00y", http.Header{"X-Odd": {"a\x00b"}})
				r.Outcome, r.Reason, r.StatusCode, r.EventType = OutcomeRejected, "no signature matched", 401, ""
				return r
			}()},
			{Delivery: d(`{"id":"evt_3"}`, h), Event: ev("evt_3\x00\xff", func(e *Event) { e.CustomerEmail = "bad\xffmail" })},
		}
	}
	epA, _, err := s.CreateEndpoint(m.ID, EndpointInput{Name: "A", Provider: "stripe"}, "whsec_a")
	if err != nil {
		t.Fatal(err)
	}
	epB, _, err := s.CreateEndpoint(m.ID, EndpointInput{Name: "B", Provider: "stripe"}, "whsec_b")
	if err != nil {
		t.Fatal(err)
	}

	ing := NewIngester(s, 8, nil)
	var viaWriter []Stored
	for _, in := range incomings(epA.ID) {
		st, err := ing.Store(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		viaWriter = append(viaWriter, st)
	}
	ing.Close()
	var viaGORM []Stored
	for _, in := range incomings(epB.ID) {
		in.prepare(s.Postgres()) // the same text clean-up the writer gets on PostgreSQL
		err := s.DB.Transaction(func(tx *gorm.DB) error {
			st, _, err := storeIncoming(tx, in)
			viaGORM = append(viaGORM, st)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	for i := range viaWriter {
		if viaWriter[i].Outcome != viaGORM[i].Outcome {
			t.Errorf("request %d: outcome %s via the writer, %s via GORM", i, viaWriter[i].Outcome, viaGORM[i].Outcome)
		}
		var a, b Delivery
		if err := s.DB.Take(&a, viaWriter[i].DeliveryID).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.DB.Take(&b, viaGORM[i].DeliveryID).Error; err != nil {
			t.Fatal(err)
		}
		a.ID, b.ID, a.EndpointID, b.EndpointID, a.EventID, b.EventID = 0, 0, 0, 0, nil, nil
		if !reflect.DeepEqual(a, b) {
			t.Errorf("request %d: delivery differs:\nwriter %+v\nGORM   %+v", i, a, b)
		}
		if (viaWriter[i].EventID == 0) != (viaGORM[i].EventID == 0) {
			t.Fatalf("request %d: event %d via the writer, %d via GORM", i, viaWriter[i].EventID, viaGORM[i].EventID)
		}
		if viaWriter[i].EventID == 0 {
			continue
		}
		var ea, eb Event
		if err := s.DB.Take(&ea, viaWriter[i].EventID).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.DB.Take(&eb, viaGORM[i].EventID).Error; err != nil {
			t.Fatal(err)
		}
		ea.ID, eb.ID, ea.EndpointID, eb.EndpointID = 0, 0, 0, 0
		if !reflect.DeepEqual(ea, eb) {
			t.Errorf("request %d: event differs:\nwriter %+v\nGORM   %+v", i, ea, eb)
		}
	}
	if viaWriter[1].EventID != viaWriter[0].EventID || viaWriter[1].Outcome != OutcomeDuplicate {
		t.Errorf("duplicate stored as %+v; want a duplicate of event %d", viaWriter[1], viaWriter[0].EventID)
	}
	var count int
	if err := s.DB.Raw("SELECT delivery_count FROM events WHERE id = ?", viaWriter[0].EventID).Scan(&count).Error; err != nil {
		t.Fatal(err)
	}
	if count != 2 {
		t.Errorf("delivery_count = %d after a duplicate; want 2", count)
	}
}
