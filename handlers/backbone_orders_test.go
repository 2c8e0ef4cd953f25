package handlers_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// sent is one event of a sequence and the attempt result it must produce.
type bbSent struct {
	typ    string // generic sample type
	id     string
	amount int64  // minor units; the payload carries it in major units
	result string // the attempt's result after "order REF: "
}

// seqStep is an expected order transition caused by the event at index by of a sequence.
type seqStep struct {
	from, to models.OrderStatus
	by       int
	reason   string
}

// TestBackboneOrdersOutOfOrder sends sequences in the order a provider might deliver them and checks
// where each order ends and how it got there.
func TestBackboneOrdersOutOfOrder(t *testing.T) {
	a := testapp.New(t)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})

	tests := []struct {
		name     string
		events   []bbSent
		status   models.OrderStatus
		paid     bool
		amount   int64
		refunded int64
		history  []seqStep
	}{
		{
			name: "refund before payment",
			events: []bbSent{
				{"refund.completed", "r", 2000, "refund completed before its payment arrived; it will be reconciled when the payment comes"},
				{"payment.completed", "p", 2000, "payment recorded after its refund arrived; refund reconciled against the paid amount"},
			},
			status: models.OrderRefunded, paid: true, amount: 2000, refunded: 2000,
			history: []seqStep{{"", models.OrderRefunded, 0, "refund completed before its payment arrived; it will be reconciled when the payment comes"}},
		},
		{
			name: "partial refund before payment",
			events: []bbSent{
				{"refund.completed", "r", 500, "refund completed before its payment arrived; it will be reconciled when the payment comes"},
				{"payment.completed", "p", 2000, "payment recorded after its refund arrived; refund reconciled against the paid amount"},
			},
			status: models.OrderPartiallyRefunded, paid: true, amount: 2000, refunded: 500,
			history: []seqStep{
				{"", models.OrderRefunded, 0, "refund completed before its payment arrived; it will be reconciled when the payment comes"},
				{models.OrderRefunded, models.OrderPartiallyRefunded, 1, "payment recorded after its refund arrived; refund reconciled against the paid amount"},
			},
		},
		{
			name: "refund initiated before payment",
			events: []bbSent{
				{"refund.initiated", "ri", 2000, "refund initiated before its payment arrived; kept as pending"},
				{"payment.completed", "p", 2000, "payment recorded after its refund was initiated; the refund stays pending"},
				{"refund.completed", "rc", 2000, "refunded in full"},
			},
			status: models.OrderRefunded, paid: true, amount: 2000, refunded: 2000,
			history: []seqStep{
				{"", models.OrderRefundPending, 0, "refund initiated before its payment arrived; kept as pending"},
				{models.OrderRefundPending, models.OrderRefunded, 2, "refunded in full"},
			},
		},
		{
			name: "failed after paid",
			events: []bbSent{
				{"payment.completed", "p", 2000, "payment succeeded"},
				{"payment.failed", "f", 2000, "no change: order is paid; a late failure never undoes a payment"},
			},
			status: models.OrderPaid, paid: true, amount: 2000,
			history: []seqStep{{"", models.OrderPaid, 0, "payment succeeded"}},
		},
		{
			name: "paid after failed",
			events: []bbSent{
				{"payment.failed", "f", 2000, "payment failed"},
				{"payment.completed", "p", 2000, "payment succeeded after an earlier failure"},
				{"payment.failed", "f2", 2000, "no change: order is paid; a late failure never undoes a payment"},
			},
			status: models.OrderPaid, paid: true, amount: 2000,
			history: []seqStep{
				{"", models.OrderFailed, 0, "payment failed"},
				{models.OrderFailed, models.OrderPaid, 1, "payment succeeded after an earlier failure"},
			},
		},
		{
			name: "pending after paid",
			events: []bbSent{
				{"payment.completed", "p", 2000, "payment succeeded"},
				{"payment.updated:pending", "u", 2000, "no change: order is already paid; a pending checkout does not move it back"},
			},
			status: models.OrderPaid, paid: true, amount: 2000,
			history: []seqStep{{"", models.OrderPaid, 0, "payment succeeded"}},
		},
		{
			name: "partial then full refund",
			events: []bbSent{
				{"payment.completed", "p", 2000, "payment succeeded"},
				{"refund.completed", "r1", 500, "partial refund: 500 of 2000 refunded"},
				{"refund.completed", "r2", 1500, "refunded in full"},
			},
			status: models.OrderRefunded, paid: true, amount: 2000, refunded: 2000,
			history: []seqStep{
				{"", models.OrderPaid, 0, "payment succeeded"},
				{models.OrderPaid, models.OrderPartiallyRefunded, 1, "partial refund: 500 of 2000 refunded"},
				{models.OrderPartiallyRefunded, models.OrderRefunded, 2, "refunded in full"},
			},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := fmt.Sprintf("ord_seq_%d", i)
			ids := make([]uint, len(tc.events))
			for j, e := range tc.events {
				r := a.SendSample(ep, e.typ, webhooks.SampleParams{ID: ref + "_" + e.id, OrderRef: ref, Amount: e.amount, Currency: "USD"})
				if r.Status != http.StatusOK || r.Outcome != models.OutcomeAccepted {
					t.Fatalf("%s: %+v", e.typ, r)
				}
				a.WaitStatus(r.EventID, models.StatusProcessed)
				ids[j] = r.EventID
				if as := bbAttempts(t, a, r.EventID); len(as) != 1 || as[0].Result != "order "+ref+": "+e.result {
					t.Errorf("%s: attempts = %+v, want one with %q", e.typ, as, e.result)
				}
			}
			o, hist := bbOrder(t, a, "Acme", ref)
			if o.Status != tc.status || o.Paid != tc.paid || o.Amount != tc.amount || o.RefundedAmount != tc.refunded || o.Currency != "USD" {
				t.Errorf("order = %+v, want %s paid=%v amount %d refunded %d", o, tc.status, tc.paid, tc.amount, tc.refunded)
			}
			want := make([]bbStep, len(tc.history))
			for j, h := range tc.history {
				want[j] = bbStep{h.from, h.to, ids[h.by], h.reason}
			}
			assertHistory(t, hist, want)
		})
	}
}

// TestBackboneOrdersDuplicatedRefund: a refund delivered twice, and then replayed, is counted once.
func TestBackboneOrdersDuplicatedRefund(t *testing.T) {
	a := testapp.New(t)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	pay := a.SendSample(ep, "payment.completed", webhooks.SampleParams{ID: "p1", OrderRef: "ord_dr", Amount: 2000, Currency: "USD"})
	a.WaitStatus(pay.EventID, models.StatusProcessed)

	body, err := ep.Profile.Sample("refund.completed", webhooks.SampleParams{ID: "r1", OrderRef: "ord_dr", Amount: 500, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	refund := a.Send(ep, body)
	a.WaitStatus(refund.EventID, models.StatusProcessed)
	again := a.Send(ep, body)
	if again.Outcome != models.OutcomeDuplicate || again.EventID != refund.EventID {
		t.Fatalf("redelivered refund: %+v", again)
	}
	if _, err := a.Store.Replay(ep.MerchantID, refund.EventID, "ops@acme.test"); err != nil {
		t.Fatal(err)
	}
	a.Worker.Wake()
	a.WaitFor("the replay to run", 5*time.Second, func() bool { return len(bbAttempts(t, a, refund.EventID)) == 2 })
	a.WaitStatus(refund.EventID, models.StatusProcessed)

	as := bbAttempts(t, a, refund.EventID)
	if as[1].Trigger != models.TriggerReplay || as[1].Actor != "ops@acme.test" ||
		as[1].Result != "no change: this event was already applied to its order" {
		t.Errorf("replay attempt = %+v", as[1])
	}
	o, hist := bbOrder(t, a, "Acme", "ord_dr")
	if o.Status != models.OrderPartiallyRefunded || o.RefundedAmount != 500 {
		t.Errorf("order = %+v, want partially_refunded with 500 refunded", o)
	}
	assertHistory(t, hist, []bbStep{
		{"", models.OrderPaid, pay.EventID, "payment succeeded"},
		{models.OrderPaid, models.OrderPartiallyRefunded, refund.EventID, "partial refund: 500 of 2000 refunded"},
	})
}

// TestBackboneOrdersStripeCumulativeRefunds: Stripe's charge.refunded carries the refunded total so
// far, so a second refund replaces the total instead of adding to it, and a late, smaller total
// changes nothing. refund.created names only the payment, which finds the order.
func TestBackboneOrdersStripeCumulativeRefunds(t *testing.T) {
	a := testapp.New(t)
	ep := a.Endpoint("Acme", "stripe", stripeSecret, webhooks.Settings{})
	send := func(body []byte) uint {
		t.Helper()
		r := a.Send(ep, body)
		if r.Status != http.StatusOK || r.Outcome != models.OutcomeAccepted {
			t.Fatalf("%+v", r)
		}
		a.WaitStatus(r.EventID, models.StatusProcessed)
		return r.EventID
	}
	refunded := bbFixture(t, "stripe", "charge.refunded.json") // 2000 of 5000 GBP refunded so far
	refundedTo := func(id string, total int) []byte {
		b := bytes.Replace(refunded, []byte(`"amount_refunded": 2000`), []byte(fmt.Sprintf(`"amount_refunded": %d`, total)), 1)
		return bytes.Replace(b, []byte("evt_3PfJ1xLkdIwHu7ix0Refund1"), []byte(id), 1)
	}

	paid := send([]byte(`{"id":"evt_pi_gbp","object":"event","type":"payment_intent.succeeded","data":{"object":{` +
		`"id":"pi_3PfJ1xLkdIwHu7ix0Gbp5000","object":"payment_intent","amount":5000,"amount_received":5000,` +
		`"currency":"gbp","metadata":{"order_id":"ord_1005"}}}}`))
	initiated := send(bbFixture(t, "stripe", "refund.created.json"))
	partial := send(refunded)
	full := send(refundedTo("evt_refund_total_5000", 5000))
	late := send(refundedTo("evt_refund_total_2000_late", 2000))

	o, hist := bbOrder(t, a, "Acme", "ord_1005")
	if o.Status != models.OrderRefunded || o.RefundedAmount != 5000 || o.Amount != 5000 || o.Currency != "GBP" ||
		o.PaymentID != "pi_3PfJ1xLkdIwHu7ix0Gbp5000" {
		t.Errorf("order = %+v, want refunded 5000 of 5000 GBP", o)
	}
	assertHistory(t, hist, []bbStep{
		{"", models.OrderPaid, paid, "payment succeeded"},
		{models.OrderPaid, models.OrderRefundPending, initiated, "refund initiated"},
		{models.OrderRefundPending, models.OrderPartiallyRefunded, partial, "partial refund: 2000 of 5000 refunded"},
		{models.OrderPartiallyRefunded, models.OrderRefunded, full, "refunded in full"},
	})
	if as := bbAttempts(t, a, late); len(as) != 1 || !strings.HasSuffix(as[0].Result, "refunded in full") {
		t.Errorf("late total: attempts = %+v", as)
	}
	if n := bbCount(t, a, &models.Order{}, ""); n != 1 {
		t.Errorf("%d orders, want 1 (refund.created must find the order by its payment)", n)
	}
}
