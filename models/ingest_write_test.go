package models

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"reflect"
	"strings"
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

// TestBodyCompressedAtRest stores a large JSON body and a binary one through the ingester: the
// JSON is compressed in its column, and every way of reading a delivery gives back the exact bytes.
func TestBodyCompressedAtRest(t *testing.T) {
	s := multiStore(t)
	m, err := s.EnsureMerchant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	ep, _, err := s.CreateEndpoint(m.ID, EndpointInput{Name: "A", Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	json := []byte(`{"id":"evt_zip","event":"payment.completed","data":{"orderId":"ord-zip","paymentId":"pay_zip","amount":"20.00","currency":"USD","items":[` +
		strings.Repeat(`{"sku":"sku-123","name":"A thing","quantity":1,"price":"1.00"},`, 20) + `{}]}}`)
	random := make([]byte, 2048)
	rand.Read(random)
	ing := NewIngester(s, 4, nil)
	defer ing.Close()
	now := s.Now()
	var ids []uint
	for i, body := range [][]byte{json, random} {
		in := &Incoming{Delivery: Delivery{MerchantID: m.ID, EndpointID: ep.ID, ReceivedAt: now, RemoteAddr: "127.0.0.1",
			Headers: http.Header{"X-Test": {"zip"}}, Body: body, BodySize: int64(len(body)), StatusCode: 200}}
		if i == 0 {
			in.Event = &Event{MerchantID: m.ID, EndpointID: ep.ID, Provider: "generic", Status: StatusPending, NextAttemptAt: &now,
				ReceivedAt: now, DeliveryCount: 1}
			in.Event.SetNormalised(webhooks.Event{ID: "evt_zip", Type: "payment.completed", Canonical: webhooks.PaymentSucceeded, OrderRef: "ord-zip"})
		}
		st, err := ing.Store(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.DeliveryID)
	}

	var stored struct {
		Body      []byte
		BodyCodec string
	}
	if err := s.DB.Raw("SELECT body, body_codec FROM deliveries WHERE id = ?", ids[0]).Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if stored.BodyCodec != string(BodyZstd) || len(stored.Body) >= len(json)/2 {
		t.Errorf("JSON body stored as %q in %d bytes (received %d); want zstd, under half", stored.BodyCodec, len(stored.Body), len(json))
	}
	if err := s.DB.Raw("SELECT body, body_codec FROM deliveries WHERE id = ?", ids[1]).Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if stored.BodyCodec != string(BodyRaw) || !bytes.Equal(stored.Body, random) {
		t.Errorf("incompressible body stored as %q in %d bytes; want raw", stored.BodyCodec, len(stored.Body))
	}

	for i, want := range [][]byte{json, random} {
		d, err := s.Delivery(m.ID, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.Body, want) || d.BodyCodec != BodyRaw {
			t.Errorf("delivery %d read back %d bytes (codec %q); want the %d received", ids[i], len(d.Body), d.BodyCodec, len(want))
		}
	}
	var evID uint
	if err := s.DB.Raw("SELECT event_id FROM deliveries WHERE id = ?", ids[0]).Scan(&evID).Error; err != nil {
		t.Fatal(err)
	}
	src, err := s.EventSource(evID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src.Body, json) {
		t.Errorf("EventSource body = %d bytes; want the %d received", len(src.Body), len(json))
	}
	page, err := s.Search(SearchFilter{MerchantID: m.ID, Terms: []string{"ord-zip"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Hits) != 1 || !page.Hits[0].Body.Matched {
		t.Errorf("search for a word of the compressed body: %+v", page.Hits)
	}

	if err := s.DB.Exec("UPDATE deliveries SET body_codec = 'lz9' WHERE id = ?", ids[0]).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delivery(m.ID, ids[0]); err == nil || !strings.Contains(err.Error(), `unknown body codec "lz9"`) {
		t.Errorf("reading a body with an unknown codec: err = %v", err)
	}
}
