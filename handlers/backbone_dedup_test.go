package handlers_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// settle sends an unrelated event and waits until it is processed, so that every wake-up the workers
// had before it has run.
func bbSettle(t *testing.T, a *testapp.App, ep *testapp.Endpoint) {
	t.Helper()
	r := a.SendSample(ep, "customer.created", webhooks.SampleParams{})
	a.WaitStatus(r.EventID, models.StatusProcessed)
}

// assertProcessedOnce checks that an event ran once and moved its order once.
func assertProcessedOnce(t *testing.T, a *testapp.App, eventID uint, orderRef string, deliveries int) {
	t.Helper()
	ev := a.WaitStatus(eventID, models.StatusProcessed)
	if ev.DeliveryCount != deliveries || ev.Attempts != 1 {
		t.Errorf("event: delivery_count %d, attempts %d; want %d and 1", ev.DeliveryCount, ev.Attempts, deliveries)
	}
	if as := bbAttempts(t, a, eventID); len(as) != 1 || as[0].Trigger != models.TriggerAutomatic {
		t.Errorf("attempts = %+v, want one automatic run", as)
	}
	o, hist := bbOrder(t, a, "Acme", orderRef)
	if o.Status != models.OrderPaid {
		t.Errorf("order status = %s, want paid", o.Status)
	}
	assertHistory(t, hist, []bbStep{{"", models.OrderPaid, eventID, "payment succeeded"}})
	if n := bbCount(t, a, &models.Event{}, "external_id = ?", ev.ExternalID); n != 1 {
		t.Errorf("%d events with id %s, want 1", n, ev.ExternalID)
	}
	if n := bbCount(t, a, &models.Delivery{}, "event_id = ?", eventID); n != int64(deliveries) {
		t.Errorf("%d deliveries linked to the event, want %d", n, deliveries)
	}
}

// TestBackboneDuplicateSequential: a redelivery answers 200 as a duplicate linked to the first event,
// and the event is processed once.
func TestBackboneDuplicateSequential(t *testing.T) {
	a := testapp.New(t)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	body, err := ep.Profile.Sample("payment.completed", webhooks.SampleParams{ID: "evt_dup_seq", OrderRef: "ord_dup_seq"})
	if err != nil {
		t.Fatal(err)
	}
	h := signAt(t, ep, ep.Secret, body, time.Now(), "")

	first := a.Post(ep.URL, h, body)
	if first.Status != http.StatusOK || first.Outcome != models.OutcomeAccepted {
		t.Fatalf("first delivery: %+v", first)
	}
	a.WaitStatus(first.EventID, models.StatusProcessed)
	second := a.Post(ep.URL, h, body)
	if second.Status != http.StatusOK || second.Outcome != models.OutcomeDuplicate || second.EventID != first.EventID ||
		second.DeliveryID == first.DeliveryID || second.DeliveryID == 0 {
		t.Fatalf("second delivery: %+v, want 200 duplicate of event %d", second, first.EventID)
	}
	d := storedDelivery(t, a, second.DeliveryID)
	if d.Outcome != models.OutcomeDuplicate || d.StatusCode != http.StatusOK || d.EventID == nil || *d.EventID != first.EventID ||
		!bytes.Equal(d.Body, body) || d.EventType != "payment.completed" || d.Reason != "" {
		t.Errorf("duplicate delivery = %+v", d)
	}
	bbSettle(t, a, ep)
	assertProcessedOnce(t, a, first.EventID, "ord_dup_seq", 2)
}

// TestBackboneDuplicateConcurrent sends one signed event 50 times at once: one delivery is accepted,
// 49 are duplicates of it, and the event is processed once.
func TestBackboneDuplicateConcurrent(t *testing.T) {
	a := testapp.New(t)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	body, err := ep.Profile.Sample("payment.completed", webhooks.SampleParams{ID: "evt_dup_conc", OrderRef: "ord_dup_conc"})
	if err != nil {
		t.Fatal(err)
	}
	h := signAt(t, ep, ep.Secret, body, time.Now(), "")

	const n = 50
	replies := make([]testapp.Reply, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, raw, err := rawPost(ep.URL, h, bytes.NewReader(body), int64(len(body)))
			if err == nil {
				err = json.Unmarshal(raw, &replies[i])
			}
			replies[i].Status, errs[i] = code, err
		}()
	}
	close(start)
	wg.Wait()

	accepted, duplicates := 0, 0
	eventIDs := map[uint]bool{}
	deliveryIDs := map[uint]bool{}
	for i, r := range replies {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if r.Status != http.StatusOK {
			t.Fatalf("request %d: %+v", i, r)
		}
		switch r.Outcome {
		case models.OutcomeAccepted:
			accepted++
		case models.OutcomeDuplicate:
			duplicates++
		}
		eventIDs[r.EventID] = true
		deliveryIDs[r.DeliveryID] = true
	}
	if accepted != 1 || duplicates != n-1 || len(eventIDs) != 1 || len(deliveryIDs) != n {
		t.Fatalf("%d accepted, %d duplicates, %d event ids, %d delivery ids; want 1, %d, 1, %d",
			accepted, duplicates, len(eventIDs), len(deliveryIDs), n-1, n)
	}
	bbSettle(t, a, ep)
	assertProcessedOnce(t, a, replies[0].EventID, "ord_dup_conc", n)
}
