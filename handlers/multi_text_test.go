package handlers_test

import (
	"net/http"
	"testing"
	"time"

	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// TestMultiTextAnyDatabase sends signed events whose ids and order reference hold what PostgreSQL
// text cannot (a NUL, bytes that are not UTF-8): on both databases each is acknowledged, processed
// into its order, and recognised again when it is delivered twice.
func TestMultiTextAnyDatabase(t *testing.T) {
	a := testapp.New(t)
	generic := a.Endpoint("Shop", "generic", "", webhooks.Settings{})
	standard := a.Endpoint("Shop", "standard", "", webhooks.Settings{})
	nulBody := []byte(`{"id":"evt\u0000nul","event":"payment.completed","data":{"orderId":"o\u0000-1","amount":"1.00","currency":"USD"}}`)
	stdBody, err := standard.Profile.Sample("payment.completed", webhooks.SampleParams{OrderRef: "o-std-1"})
	if err != nil {
		t.Fatal(err)
	}
	stdHeaders, err := standard.Profile.Sign(standard.Secret, stdBody, time.Now(), "msg_\xff\xfe")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		send func() testapp.Reply
	}{
		{"NUL in the event id and the order reference", func() testapp.Reply { return a.Send(generic, nulBody) }},
		{"a Standard Webhooks id that is not UTF-8", func() testapp.Reply { return a.Post(standard.URL, stdHeaders, stdBody) }},
	}
	merchant := a.Merchant("Shop")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first := c.send()
			if first.Status != http.StatusOK || first.Outcome != models.OutcomeAccepted || first.EventID == 0 {
				t.Fatalf("first delivery: %+v; want 200 accepted", first)
			}
			ev := a.WaitStatus(first.EventID, models.StatusProcessed)
			o, err := a.Store.OrderByReference(merchant.ID, ev.OrderRef)
			if err != nil || o.Status != models.OrderPaid {
				t.Errorf("order %q: %+v, %v; want paid", ev.OrderRef, o, err)
			}
			again := c.send()
			if again.Status != http.StatusOK || again.Outcome != models.OutcomeDuplicate || again.EventID != first.EventID {
				t.Errorf("second delivery: %+v; want 200, a duplicate of event %d", again, first.EventID)
			}
		})
	}
}
