package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strings"
	"testing"
)

// customFixtures maps the fields of testdata/custom.
var customFixtures = Settings{
	HMAC: HMACConfig{Header: "X-Acme-Signature", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512="},
	Fields: FieldMap{
		ID: "meta.event_id", Type: "meta.kind", OrderRef: "payload.ref", PaymentID: "payload.txn.id",
		Amount: "payload.total", Currency: "payload.ccy", CustomerEmail: "payload.buyer.mail", CustomerPhone: "payload.buyer.tel",
		Types: map[string]Canonical{"ORDER_PAID": PaymentSucceeded, "ORDER_CANCELLED": PaymentFailed},
	},
}

func TestCustomVerify(t *testing.T) {
	body := fixture(t, "custom/order_paid.json")
	mac := func(h func() hash.Hash, secret string) []byte {
		m := hmac.New(h, []byte(secret))
		m.Write(body)
		return m.Sum(nil)
	}
	sha512b64 := "sha512=" + base64.StdEncoding.EncodeToString(mac(sha512.New, testSecret))
	secrets := []string{testSecret}

	p := mustProfile(t, "custom", customFixtures)
	runVerifyCases(t, p, append(commonVerifyCases(t, p, body),
		verifyCase{name: "sha512 base64 prefix: known answer", header: http.Header{"X-Acme-Signature": {sha512b64}}, body: body, secrets: secrets},
		verifyCase{name: "sha512: url-safe base64", header: http.Header{"X-Acme-Signature": {"sha512=" + base64.RawURLEncoding.EncodeToString(mac(sha512.New, testSecret))}}, body: body, secrets: secrets},
		verifyCase{name: "sha512: prefix missing", header: http.Header{"X-Acme-Signature": {strings.TrimPrefix(sha512b64, "sha512=")}}, body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: "lacks the prefix"},
		verifyCase{name: "sha512: a sha256 signature", header: http.Header{"X-Acme-Signature": {"sha512=" + base64.StdEncoding.EncodeToString(mac(sha256.New, testSecret))}}, body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: "32 bytes"},
		verifyCase{name: "sha512: the default header is not read", header: http.Header{"X-Signature": {sha512b64}}, body: body, secrets: secrets, want: ErrNoSignature, wantMsg: "X-Acme-Signature"},
	))

	// The defaults: X-Signature, hex SHA-256, no prefix.
	plain := mustProfile(t, "custom", Settings{})
	runVerifyCases(t, plain, append(commonVerifyCases(t, plain, body),
		verifyCase{name: "defaults: known answer", header: http.Header{"X-Signature": {hex.EncodeToString(mac(sha256.New, testSecret))}}, body: body, secrets: secrets},
		verifyCase{name: "defaults: base64 is malformed", header: http.Header{"X-Signature": {base64.StdEncoding.EncodeToString(mac(sha256.New, testSecret))}}, body: body, secrets: secrets, want: ErrMalformedHeader},
	))

	// sha256, base64, a prefix with a different case on the wire.
	b64 := mustProfile(t, "custom", Settings{HMAC: HMACConfig{Encoding: "base64", Prefix: "v1="}})
	runVerifyCases(t, b64, append(commonVerifyCases(t, b64, body),
		verifyCase{name: "sha256 base64: known answer", header: http.Header{"X-Signature": {"V1=" + base64.StdEncoding.EncodeToString(mac(sha256.New, testSecret))}}, body: body, secrets: secrets},
	))
}

func TestCustomNormalise(t *testing.T) {
	tests := []struct {
		file string
		want Event
	}{
		{"order_paid.json", Event{
			ID: "whk_6001", Type: "ORDER_PAID", Canonical: PaymentSucceeded,
			OrderRef: "INV-6001", PaymentID: "T6001", Amount: 4999, HasAmount: true, Currency: "EUR",
			CustomerEmail: "ines.costa@example.pt", CustomerPhone: "+351912345678",
		}},
		{"order_cancelled.json", Event{
			ID: "whk_6002", Type: "ORDER_CANCELLED", Canonical: PaymentFailed,
			OrderRef: "INV-6002", PaymentID: "T6002", Amount: 1200, HasAmount: true, Currency: "EUR",
		}},
		// Nothing at the mapped paths: the generic rules find every field.
		{"generic_fallback.json", Event{
			ID: "evt_6003", Type: "payment.failed", Canonical: PaymentFailed,
			OrderRef: "ord_6003", PaymentID: "pay_6003", Amount: 750, HasAmount: true, Currency: "EUR",
			CustomerEmail: "ines.costa@example.pt",
		}},
		// A type in neither map, and no id.
		{"unmapped.json", Event{
			ID:   "sha256:c5e0993fd35e64373caa0f91c0bc11a86089ed29afe04f1438d5c464a7b7faa2",
			Type: "ORDER_SHIPPED", Canonical: Unknown, OrderRef: "INV-6001",
		}},
	}
	p := mustProfile(t, "custom", customFixtures)
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := fixture(t, "custom/"+tc.file)
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

func TestCustomTypeMapOverridesGeneric(t *testing.T) {
	p := mustProfile(t, "custom", Settings{Fields: FieldMap{Types: map[string]Canonical{"payment.completed": PaymentPending, "payment.failed": Unknown}}})
	for body, want := range map[string]Canonical{
		`{"event":"payment.completed"}`: PaymentPending,
		`{"event":"payment.failed"}`:    Unknown,
		`{"event":"refund.completed"}`:  RefundCompleted,
	} {
		e, err := p.Normalise(nil, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if e.Canonical != want {
			t.Errorf("%s: Canonical = %q, want %q", body, e.Canonical, want)
		}
	}
}

func TestCustomPathsAreTrimmedAndCopied(t *testing.T) {
	types := map[string]Canonical{"PAID": PaymentSucceeded}
	p := mustProfile(t, "custom", Settings{Fields: FieldMap{OrderRef: "  payload.ref ", Type: "kind", Types: types}})
	types["PAID"] = PaymentFailed // the caller's map changing later does not change the profile
	e, err := p.Normalise(nil, []byte(`{"kind":"PAID","payload":{"ref":"r1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if e.OrderRef != "r1" || e.Canonical != PaymentSucceeded {
		t.Errorf("Normalise = %+v", e)
	}
}

func TestCustomSampleUsesPaths(t *testing.T) {
	p := mustProfile(t, "custom", customFixtures)
	body, err := p.Sample("ORDER_PAID", SampleParams{ID: "whk_1", OrderRef: "INV-1", Amount: 4999, Currency: "EUR", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"meta":{"event_id":"whk_1","kind":"ORDER_PAID"}`, `"payload":{"txn":{"id":"pay_`, `"ref":"INV-1"`, `"total":49.99,"ccy":"EUR"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("sample lacks %s:\n%s", want, body)
		}
	}
	// Two fields in one place cannot both be written.
	for _, fm := range []FieldMap{{ID: "event.id"}, {OrderRef: "data.paymentId"}, {Amount: "data"}} {
		clash := mustProfile(t, "custom", Settings{Fields: fm})
		if _, err := clash.Sample("payment.completed", SampleParams{}); err == nil || !strings.Contains(err.Error(), "two fields are mapped to") {
			t.Errorf("Sample with %+v = %v, want a clash", fm, err)
		}
	}
}
