package webhooks

import (
	"net/http"
	"testing"
)

func TestGenericVerify(t *testing.T) {
	body := fixture(t, "generic/payment.completed.json")
	p := mustProfile(t, "generic", Settings{})
	sig := hmacHex(testSecret, string(body))
	secrets := []string{testSecret}
	cases := append(commonVerifyCases(t, p, body),
		verifyCase{name: "known answer: hex HMAC-SHA256 in X-Signature", header: http.Header{"X-Signature": {sig}}, body: body, secrets: secrets},
		verifyCase{name: "malformed: truncated", header: http.Header{"X-Signature": {sig[:63]}}, body: body, secrets: secrets, want: ErrMalformedHeader},
	)
	runVerifyCases(t, p, cases)
}

func TestGenericNormalise(t *testing.T) {
	tests := []struct {
		file string
		want Event
	}{
		{"payment.completed.json", Event{
			ID: "evt_5001", Type: "payment.completed", Canonical: PaymentSucceeded,
			OrderRef: "ord_5001", PaymentID: "pay_5001", Amount: 10000, HasAmount: true, Currency: "USD",
			CustomerEmail: "li.wei@example.com", CustomerPhone: "+8613800138000",
		}},
		// event_id; an amount with more decimals than USD has rounds half up.
		{"payment.failed.json", Event{
			ID: "evt_5002", Type: "payment.failed", Canonical: PaymentFailed,
			OrderRef: "ord_5002", PaymentID: "pay_5002", Amount: 2000, HasAmount: true, Currency: "USD",
			CustomerEmail: "li.wei@example.com", CustomerPhone: "+8613800138000",
		}},
		// Seed 003 verbatim: no id anywhere, so the body hash.
		{"payment.updated.json", Event{
			ID:   "sha256:16c930a294db8d690a00daaf9efe39788270f9d2a71c7df2236957a58efb4635",
			Type: "payment.updated", Canonical: PaymentSucceeded,
			OrderRef: "ord_0987654321", PaymentID: "pay_1234567890", Amount: 10000, HasAmount: true, Currency: "USD",
		}},
		// "type" instead of "event"; transaction_id before data.id; metadata.order_id; JPY.
		{"refund.initiated.json", Event{
			ID: "evt_5003", Type: "refund.initiated", Canonical: RefundInitiated,
			OrderRef: "ord_5001", PaymentID: "txn_5001", Amount: 25, HasAmount: true, Currency: "JPY",
		}},
		{"refund.completed.json", Event{
			ID: "evt_5004", Type: "refund.completed", Canonical: RefundCompleted,
			OrderRef: "ord_5001", PaymentID: "pay_5001", Amount: 10050, HasAmount: true, Currency: "USD",
			CustomerEmail: "li.wei@example.com",
		}},
		{"customer.created.json", Event{
			ID: "evt_5005", Type: "customer.created", Canonical: CustomerUpdated,
			CustomerEmail: "li.wei@example.com", CustomerPhone: "+8613800138000",
		}},
		{"customer.updated.json", Event{
			ID: "evt_5006", Type: "customer.updated", Canonical: CustomerUpdated,
			CustomerEmail: "wei.li@example.com",
		}},
	}
	p := mustProfile(t, "generic", Settings{})
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := fixture(t, "generic/"+tc.file)
			h := mustSign(t, p, testSecret, body, testNow, "")
			if err := p.Verify(h, body, []string{testSecret}, testNow); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := p.Normalise(h, body)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Normalise =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
}

func TestGenericPaymentUpdatedStatus(t *testing.T) {
	tests := map[string]Canonical{
		"completed": PaymentSucceeded, "succeeded": PaymentSucceeded, "paid": PaymentSucceeded, "COMPLETED": PaymentSucceeded,
		"failed": PaymentFailed, "refunded": RefundCompleted, "pending": PaymentPending,
		"cancelled": Unknown, "": Unknown,
	}
	p := mustProfile(t, "generic", Settings{})
	for status, want := range tests {
		body := []byte(`{"event":"payment.updated","data":{"paymentId":"pay_1","status":"` + status + `"}}`)
		e, err := p.Normalise(nil, body)
		if err != nil {
			t.Fatal(err)
		}
		if e.Canonical != want {
			t.Errorf("status %q: Canonical = %q, want %q", status, e.Canonical, want)
		}
	}
	// A status of the wrong kind is no status.
	e, _ := p.Normalise(nil, []byte(`{"event":"payment.updated","data":{"status":{"code":"completed"}}}`))
	if e.Canonical != Unknown {
		t.Errorf("object status: Canonical = %q", e.Canonical)
	}
}

func TestGenericNormaliseEdges(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		body   string
		want   Event
	}{
		{"id wins over event_id and the header", http.Header{"Webhook-Id": {"msg_1"}}, `{"id":"a","event_id":"b","event":"payment.succeeded"}`,
			Event{ID: "a", Type: "payment.succeeded", Canonical: PaymentSucceeded}},
		{"the webhook-id header when the body has no id", http.Header{"Webhook-Id": {"msg_1"}}, `{"event":"refund.completed"}`,
			Event{ID: "msg_1", Type: "refund.completed", Canonical: RefundCompleted}},
		{"numeric id", nil, `{"id":12345,"event":"payment.completed"}`,
			Event{ID: "12345", Type: "payment.completed", Canonical: PaymentSucceeded}},
		{"event wins over type", nil, `{"id":"x","event":"payment.failed","type":"payment.completed"}`,
			Event{ID: "x", Type: "payment.failed", Canonical: PaymentFailed}},
		{"no type is recorded as unknown", nil, `{"id":"x","data":{"amount":1}}`,
			Event{ID: "x", Canonical: Unknown, Amount: 100, HasAmount: true}},
		{"a type in upper case maps too", nil, `{"id":"x","event":"PAYMENT.COMPLETED"}`,
			Event{ID: "x", Type: "PAYMENT.COMPLETED", Canonical: PaymentSucceeded}},
		{"an unknown type", nil, `{"id":"x","event":"payout.paid"}`,
			Event{ID: "x", Type: "payout.paid", Canonical: Unknown}},
		{"an array body", nil, `[{"id":"x"}]`,
			Event{ID: "sha256:", Canonical: Unknown}},
		{"an amount too large for int64", nil, `{"id":"x","data":{"amount":1e30,"currency":"usd"}}`,
			Event{ID: "x", Canonical: Unknown, Currency: "USD"}},
		{"data is a string", nil, `{"id":"x","event":"payment.completed","data":"pay_1"}`,
			Event{ID: "x", Type: "payment.completed", Canonical: PaymentSucceeded}},
	}
	p := mustProfile(t, "generic", Settings{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Normalise(tc.header, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.ID == "sha256:" {
				tc.want.ID = sha256Hex(tc.body)
			}
			if got != tc.want {
				t.Errorf("Normalise =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
}
