package webhooks

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestShadhinPayVerify(t *testing.T) {
	body := fixture(t, "shadhinpay/payment.completed.json")
	// ShadhinPay's scheme is fixed: the endpoint's HMAC settings are ignored.
	p := mustProfile(t, "shadhinpay", Settings{HMAC: HMACConfig{Header: "X-Other", Algorithm: "sha512", Encoding: "base64"}})
	sig := hmacHex(testSecret, string(body))
	hdr := func(v string) http.Header { return http.Header{"X-Shadhinpay-Signature": {v}} }
	secrets := []string{testSecret}
	cases := append(commonVerifyCases(t, p, body),
		verifyCase{name: "known answer", header: hdr("sha256=" + sig), body: body, secrets: secrets},
		verifyCase{name: "upper-case prefix and hex", header: hdr("SHA256=" + strings.ToUpper(sig)), body: body, secrets: secrets},
		verifyCase{name: "no timestamp: the clock does not matter", header: hdr("sha256=" + sig), body: body, secrets: secrets, now: testNow.Add(-365 * 24 * time.Hour)},
		verifyCase{name: "malformed: prefix missing", header: hdr(sig), body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: `lacks the prefix "sha256="`},
		verifyCase{name: "malformed: not hex", header: hdr("sha256=" + sig[:60] + "zzzz"), body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: "not hex"},
		verifyCase{name: "malformed: empty after the prefix", header: hdr("sha256="), body: body, secrets: secrets, want: ErrMalformedHeader},
		verifyCase{name: "re-serialised JSON is not the raw body", header: hdr("sha256=" + hmacHex(testSecret, strings.ReplaceAll(string(body), ",", ", "))), body: body, secrets: secrets, want: ErrNoValidSignature},
	)
	runVerifyCases(t, p, cases)
}

func TestShadhinPayNormalise(t *testing.T) {
	tests := []struct {
		file string
		want Event
	}{
		{"payment.completed.json", Event{
			ID: "payment.completed_pay_sp_4001", Type: "payment.completed", Canonical: PaymentSucceeded,
			OrderRef: "ord_4001", PaymentID: "pay_sp_4001", Amount: 100000, HasAmount: true, Currency: "BDT",
			CustomerPhone: "+8801712345678",
		}},
		{"payment.failed.json", Event{
			ID: "payment.failed_pay_sp_4002", Type: "payment.failed", Canonical: PaymentFailed,
			OrderRef: "ord_4002", PaymentID: "pay_sp_4002", Amount: 10050, HasAmount: true, Currency: "BDT",
			CustomerPhone: "+8801812345678",
		}},
		{"payment.refunded.json", Event{
			ID: "payment.refunded_pay_sp_4001", Type: "payment.refunded", Canonical: RefundCompleted,
			OrderRef: "ord_4001", PaymentID: "pay_sp_4001", Amount: 25075, HasAmount: true, Currency: "BDT",
			CustomerPhone: "+8801712345678",
		}},
		// Without a payment_id there is no idempotency key: the body hash stands in.
		{"no_payment_id.json", Event{
			ID:   "sha256:5b7633c77e015031f65fd71cdc994eb74ff56c9d4dda3094d0a2f80276051c35",
			Type: "payment.completed", Canonical: PaymentSucceeded,
			OrderRef: "ord_4003", Amount: 50000, HasAmount: true, Currency: "BDT",
		}},
	}
	p := mustProfile(t, "shadhinpay", Settings{})
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := fixture(t, "shadhinpay/"+tc.file)
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

func TestShadhinPayNormaliseEdges(t *testing.T) {
	p := mustProfile(t, "shadhinpay", Settings{})
	body := `{"event":"payment.completed","data":{"payment_id":"p1","order_id":"o1","amount":"1,000"}}`
	got, err := p.Normalise(nil, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := Event{ID: "payment.completed_p1", Type: "payment.completed", Canonical: PaymentSucceeded, OrderRef: "o1", PaymentID: "p1"}
	if got != want {
		t.Errorf("Normalise =\n %+v\nwant\n %+v", got, want)
	}
	if got, _ := p.Normalise(nil, []byte(`{"event":"payment.disputed","data":{"payment_id":"p2"}}`)); got.Canonical != Unknown || got.ID != "payment.disputed_p2" {
		t.Errorf("unknown event = %+v", got)
	}
}
