package webhooks

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"testing"
	"time"
)

func TestCareemPayVerify(t *testing.T) {
	body := fixture(t, "careempay/payment_success.json")
	p := mustProfile(t, "careempay", Settings{})
	sig := hmacHex(testSecret, string(body))
	secrets := []string{testSecret}
	cases := append(commonVerifyCases(t, p, body),
		verifyCase{name: "known answer", header: http.Header{"X-Signature": {sig}}, body: body, secrets: secrets},
		verifyCase{name: "no timestamp: the clock does not matter", header: http.Header{"X-Signature": {sig}}, body: body, secrets: secrets, now: testNow.Add(30 * 24 * time.Hour)},
		verifyCase{name: "malformed: not hex", header: http.Header{"X-Signature": {"sig=" + sig}}, body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: "X-Signature"},
	)
	runVerifyCases(t, p, cases)

	// The endpoint's HMAC settings apply, since Careem Pay documents no scheme.
	configured := mustProfile(t, "careempay", Settings{HMAC: HMACConfig{Header: "X-Careem-Signature", Encoding: "base64"}})
	raw, _ := hex.DecodeString(sig)
	runVerifyCases(t, configured, append(commonVerifyCases(t, configured, body),
		verifyCase{name: "configured: known answer", header: http.Header{"X-Careem-Signature": {base64.StdEncoding.EncodeToString(raw)}}, body: body, secrets: secrets},
		verifyCase{name: "configured: the default header is not read", header: http.Header{"X-Signature": {sig}}, body: body, secrets: secrets, want: ErrNoSignature, wantMsg: "X-Careem-Signature"},
	))
}

func TestCareemPayNormalise(t *testing.T) {
	tests := []struct {
		file string
		want Event
	}{
		{"payment_success.json", Event{
			ID: "PAYMENT_SUCCESS:TXN8f3a9c2e71d4", Type: "PAYMENT_SUCCESS", Canonical: PaymentSucceeded,
			OrderRef: "ORD-3001", PaymentID: "TXN8f3a9c2e71d4", Amount: 15000, HasAmount: true, Currency: "AED",
		}},
		// No order_id: the transaction id is the order reference. KWD has three decimals.
		{"payment_failed.json", Event{
			ID: "PAYMENT_FAILED:TXN1b2c3d4e5f60", Type: "PAYMENT_FAILED", Canonical: PaymentFailed,
			OrderRef: "TXN1b2c3d4e5f60", PaymentID: "TXN1b2c3d4e5f60", Amount: 12345, HasAmount: true, Currency: "KWD",
			CustomerPhone: "+96550001234",
		}},
		// A payload id wins; the amount is a string.
		{"refund_processed.json", Event{
			ID: "rfnd_7c1e0a", Type: "REFUND_PROCESSED", Canonical: RefundCompleted,
			OrderRef: "ORD-3001", PaymentID: "TXN8f3a9c2e71d4", Amount: 10000, HasAmount: true, Currency: "AED",
			CustomerEmail: "omar.haddad@example.ae",
		}},
	}
	p := mustProfile(t, "careempay", Settings{})
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := fixture(t, "careempay/"+tc.file)
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

func TestCareemPayNormaliseEdges(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Event
	}{
		{"lower-case type still maps", `{"type":"payment_success","transaction_id":"T1","amount":1,"currency":"aed"}`,
			Event{ID: "payment_success:T1", Type: "payment_success", Canonical: PaymentSucceeded, OrderRef: "T1", PaymentID: "T1", Amount: 100, HasAmount: true, Currency: "AED"}},
		{"unknown type", `{"type":"REFUND_FAILED","transaction_id":"T2"}`,
			Event{ID: "REFUND_FAILED:T2", Type: "REFUND_FAILED", Canonical: Unknown, OrderRef: "T2", PaymentID: "T2"}},
		{"numeric transaction id", `{"type":"PAYMENT_SUCCESS","transaction_id":12345}`,
			Event{ID: "PAYMENT_SUCCESS:12345", Type: "PAYMENT_SUCCESS", Canonical: PaymentSucceeded, OrderRef: "12345", PaymentID: "12345"}},
		{"no transaction id: the body hash", `{"type":"PAYMENT_SUCCESS","amount":"abc"}`,
			Event{ID: "sha256:", Type: "PAYMENT_SUCCESS", Canonical: PaymentSucceeded}},
		{"no type", `{"transaction_id":"T3"}`,
			Event{ID: "sha256:", Canonical: Unknown, OrderRef: "T3", PaymentID: "T3"}},
	}
	p := mustProfile(t, "careempay", Settings{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Normalise(nil, []byte(tc.body))
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
