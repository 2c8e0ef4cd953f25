package webhooks

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testNow is the fixed clock of every test.
var testNow = time.Date(2024, 6, 26, 11, 8, 7, 0, time.UTC)

const (
	// testSecret is usable by every provider (Stripe uses the string, Standard Webhooks the key after whsec_).
	testSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	otherSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
	thirdSecret = "whsec_dGhpcmQgc2VjcmV0IGZvciB0ZXN0cw=="
)

func mustProfile(t testing.TB, provider string, s Settings) Profile {
	t.Helper()
	p, err := New(provider, s)
	if err != nil {
		t.Fatalf("New(%q): %v", provider, err)
	}
	return p
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustSign(t testing.TB, p Profile, secret string, body []byte, at time.Time, id string) http.Header {
	t.Helper()
	h, err := p.Sign(secret, body, at, id)
	if err != nil {
		t.Fatalf("%s: Sign: %v", p.Name(), err)
	}
	return h
}

// with returns a copy of h with key set to values (none: deleted).
func with(h http.Header, key string, values ...string) http.Header {
	c := h.Clone()
	c.Del(key)
	for _, v := range values {
		c.Add(key, v)
	}
	return c
}

// verifyCase is one signature check: the headers and body a request carries, the endpoint's secrets
// and the clock, and the sentinel expected (nil: accepted).
type verifyCase struct {
	name    string
	header  http.Header
	body    []byte
	secrets []string
	now     time.Time
	want    error
	wantMsg string // a detail the error message must carry
}

var sentinels = []error{ErrNoSignature, ErrMalformedHeader, ErrTimestamp, ErrNoValidSignature, ErrNoSecrets}

func runVerifyCases(t *testing.T, p Profile, cases []verifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = testNow
			}
			err := p.Verify(tc.header, tc.body, tc.secrets, now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			for _, s := range sentinels {
				if s != tc.want && errors.Is(err, s) {
					t.Errorf("Verify = %v also wraps %v", err, s)
				}
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Verify = %q, want it to mention %q", err, tc.wantMsg)
			}
		})
	}
}

// commonVerifyCases are the checks every provider must pass for a body signed at testNow.
func commonVerifyCases(t *testing.T, p Profile, body []byte) []verifyCase {
	h := mustSign(t, p, testSecret, body, testNow, "msg_common")
	hOther := mustSign(t, p, otherSecret, body, testNow, "msg_common")
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)/2] ^= 0x01
	return []verifyCase{
		{name: "valid", header: h, body: body, secrets: []string{testSecret}},
		{name: "tampered body", header: h, body: tampered, secrets: []string{testSecret}, want: ErrNoValidSignature, wantMsg: "1 signature checked against 1 secret"},
		{name: "body with a trailing newline", header: h, body: append(append([]byte(nil), body...), '\n'), secrets: []string{testSecret}, want: ErrNoValidSignature},
		{name: "wrong secret", header: h, body: body, secrets: []string{otherSecret}, want: ErrNoValidSignature},
		{name: "rotated: signed with the new secret", header: hOther, body: body, secrets: []string{testSecret, otherSecret}},
		{name: "rotated: signed with the old secret", header: h, body: body, secrets: []string{otherSecret, testSecret}},
		{name: "rotated: neither", header: h, body: body, secrets: []string{otherSecret, thirdSecret}, want: ErrNoValidSignature, wantMsg: "2 secrets"},
		{name: "secret pasted with whitespace", header: h, body: body, secrets: []string{"  " + testSecret + "\n"}},
		{name: "missing header", header: http.Header{}, body: body, secrets: []string{testSecret}, want: ErrNoSignature, wantMsg: p.SignatureHeader()},
		{name: "empty header", header: with(h, p.SignatureHeader(), ""), body: body, secrets: []string{testSecret}, want: ErrNoSignature},
		{name: "empty secret list", header: h, body: body, secrets: nil, want: ErrNoSecrets, wantMsg: "no secret is configured"},
		{name: "blank secrets only", header: h, body: body, secrets: []string{"", "  "}, want: ErrNoSecrets, wantMsg: "none of the 2"},
	}
}

func TestNew(t *testing.T) {
	for _, name := range Providers() {
		p := mustProfile(t, name, Settings{})
		if p.Name() != name {
			t.Errorf("New(%q).Name() = %q", name, p.Name())
		}
	}
	p := mustProfile(t, "  Stripe ", Settings{})
	if p.Name() != "stripe" {
		t.Errorf(`New("  Stripe ").Name() = %q`, p.Name())
	}
	_, err := New("paypal", Settings{})
	if !errors.Is(err, ErrUnknownProvider) {
		t.Fatalf("New(paypal) = %v, want ErrUnknownProvider", err)
	}
	if !strings.Contains(err.Error(), "careempay, custom, generic, shadhinpay, standard, stripe") {
		t.Errorf("New(paypal) = %q, want it to list the providers", err)
	}
}

func TestProviders(t *testing.T) {
	want := []string{"careempay", "custom", "generic", "shadhinpay", "standard", "stripe"}
	if got := Providers(); !slices.Equal(got, want) {
		t.Errorf("Providers() = %v, want %v", got, want)
	}
}

func TestNewInvalidSettings(t *testing.T) {
	tests := []struct {
		name     string
		provider string
		settings Settings
		wantMsg  string
	}{
		{"algorithm", "generic", Settings{HMAC: HMACConfig{Algorithm: "md5"}}, `algorithm "md5"`},
		{"encoding", "careempay", Settings{HMAC: HMACConfig{Encoding: "base32"}}, `encoding "base32"`},
		{"header with a space", "custom", Settings{HMAC: HMACConfig{Header: "X Sig"}}, `"X Sig" is not a valid header name`},
		{"header with a colon", "generic", Settings{HMAC: HMACConfig{Header: "X-Sig:"}}, "not a valid header name"},
		{"empty path segment", "custom", Settings{Fields: FieldMap{OrderRef: "data..order"}}, `order reference path "data..order"`},
		{"trailing dot", "custom", Settings{Fields: FieldMap{ID: "meta."}}, "id path"},
		{"type mapped to nothing", "custom", Settings{Fields: FieldMap{Types: map[string]Canonical{"PAID": "paid"}}}, `type "PAID" maps to "paid"`},
		{"empty type", "custom", Settings{Fields: FieldMap{Types: map[string]Canonical{"": PaymentFailed}}}, "empty type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.provider, tc.settings)
			if !errors.Is(err, ErrInvalidSettings) {
				t.Fatalf("New = %v, want ErrInvalidSettings", err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("New = %q, want it to mention %q", err, tc.wantMsg)
			}
		})
	}
	// Settings a provider does not use are ignored.
	if _, err := New("stripe", Settings{HMAC: HMACConfig{Algorithm: "md5"}}); err != nil {
		t.Errorf("stripe with HMAC settings: %v", err)
	}
}

func TestCanonicalValid(t *testing.T) {
	for _, c := range Canonicals() {
		if !c.Valid() {
			t.Errorf("%q.Valid() = false", c)
		}
	}
	for _, c := range []Canonical{"", "paid", "Payment.Succeeded"} {
		if c.Valid() {
			t.Errorf("%q.Valid() = true", c)
		}
	}
	// Stored values: a rename here breaks every stored event.
	want := []string{"payment.succeeded", "payment.failed", "payment.pending", "refund.initiated", "refund.completed", "customer", "unknown"}
	for i, c := range Canonicals() {
		if string(c) != want[i] {
			t.Errorf("Canonicals()[%d] = %q, want %q", i, c, want[i])
		}
	}
}

func TestSignatureHeader(t *testing.T) {
	tests := []struct {
		provider string
		settings Settings
		want     string
	}{
		{"stripe", Settings{}, "Stripe-Signature"},
		{"standard", Settings{}, "webhook-signature"},
		{"shadhinpay", Settings{HMAC: HMACConfig{Header: "X-Ignored"}}, "X-ShadhinPay-Signature"},
		{"careempay", Settings{}, "X-Signature"},
		{"generic", Settings{}, "X-Signature"},
		{"custom", Settings{HMAC: HMACConfig{Header: " x-hub-signature-256 "}}, "x-hub-signature-256"}, // as configured
	}
	for _, tc := range tests {
		p := mustProfile(t, tc.provider, tc.settings)
		if got := p.SignatureHeader(); got != tc.want {
			t.Errorf("%s: SignatureHeader() = %q, want %q", tc.provider, got, tc.want)
		}
		h := mustSign(t, p, testSecret, []byte(`{}`), testNow, "msg_1")
		if h.Get(tc.want) == "" {
			t.Errorf("%s: Sign sets no %s header: %v", tc.provider, tc.want, h)
		}
	}
}

func TestGenerateSecret(t *testing.T) {
	for _, name := range Providers() {
		t.Run(name, func(t *testing.T) {
			p := mustProfile(t, name, Settings{})
			s1, ok := p.GenerateSecret()
			s2, _ := p.GenerateSecret()
			switch name {
			case "stripe":
				if s1 != "" || ok {
					t.Fatalf("GenerateSecret() = %q, %v, want \"\", false", s1, ok)
				}
				return
			case "standard":
				key, found := strings.CutPrefix(s1, "whsec_")
				raw, err := base64.StdEncoding.DecodeString(key)
				if !found || err != nil || len(raw) != 24 {
					t.Fatalf("GenerateSecret() = %q, want whsec_ + base64 of 24 bytes", s1)
				}
			default:
				if raw, err := hex.DecodeString(s1); err != nil || len(raw) != 32 || strings.ToLower(s1) != s1 {
					t.Fatalf("GenerateSecret() = %q, want 64 lower-case hex digits", s1)
				}
			}
			if !ok {
				t.Error("GenerateSecret() reports false")
			}
			if s1 == s2 {
				t.Errorf("two secrets are equal: %q", s1)
			}
			body := []byte(`{"event":"payment.completed"}`)
			if err := p.Verify(mustSign(t, p, s1, body, testNow, "msg_1"), body, []string{s1}, testNow); err != nil {
				t.Errorf("a generated secret does not verify: %v", err)
			}
		})
	}
}

func TestSignWithoutSecret(t *testing.T) {
	for _, name := range Providers() {
		p := mustProfile(t, name, Settings{})
		for _, secret := range []string{"", "   "} {
			if _, err := p.Sign(secret, []byte(`{}`), testNow, ""); !errors.Is(err, ErrNoSecrets) {
				t.Errorf("%s: Sign(%q) = %v, want ErrNoSecrets", name, secret, err)
			}
		}
	}
}

// customRoundTrip is a custom provider whose every field and signature option differs from the defaults.
var customRoundTrip = Settings{
	HMAC: HMACConfig{Header: "X-Acme-Signature", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512="},
	Fields: FieldMap{
		ID: "meta.event_id", Type: "meta.kind", OrderRef: "payload.ref", PaymentID: "payload.txn.id",
		Amount: "payload.total", Currency: "payload.ccy", CustomerEmail: "payload.buyer.mail", CustomerPhone: "payload.buyer.tel",
		Types: map[string]Canonical{
			"ORDER_PAID": PaymentSucceeded, "ORDER_WAITING": PaymentPending, "ORDER_CANCELLED": PaymentFailed,
			"REFUND_STARTED": RefundInitiated, "REFUND_DONE": RefundCompleted, "BUYER_CHANGED": CustomerUpdated,
		},
	},
}

// TestSampleRoundTrip signs every sample of every provider, verifies it, and normalises it back to the
// parameters it was made from.
func TestSampleRoundTrip(t *testing.T) {
	settings := map[string]Settings{"custom": customRoundTrip}
	for _, name := range Providers() {
		p := mustProfile(t, name, settings[name])
		types := p.SampleTypes()
		if len(types) == 0 {
			t.Fatalf("%s: no sample types", name)
		}
		for _, typ := range types {
			t.Run(name+"/"+typ, func(t *testing.T) {
				params := SampleParams{ID: "id_" + strings.NewReplacer(".", "_", ":", "_").Replace(typ), OrderRef: "ord_rt_1", Amount: 123456, Currency: "kwd", Now: testNow}
				body, err := p.Sample(typ, params)
				if err != nil {
					t.Fatalf("Sample: %v", err)
				}
				if !json.Valid(body) {
					t.Fatalf("Sample is not JSON: %s", body)
				}
				h := mustSign(t, p, testSecret, body, testNow, "msg_roundtrip")
				if err := p.Verify(h, body, []string{otherSecret, testSecret}, testNow.Add(time.Minute)); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				e, err := p.Normalise(h, body)
				if err != nil {
					t.Fatalf("Normalise: %v", err)
				}
				wantID := params.ID
				switch name {
				case "standard":
					wantID = "msg_roundtrip"
				case "careempay":
					wantID = typ + ":" + params.ID
				case "shadhinpay":
					wantID = typ + "_" + params.ID
				}
				if e.ID != wantID {
					t.Errorf("ID = %q, want %q", e.ID, wantID)
				}
				if e.Type != baseType(typ) {
					t.Errorf("Type = %q, want %q", e.Type, baseType(typ))
				}
				if e.Canonical == Unknown || !e.Canonical.Valid() {
					t.Errorf("Canonical = %q", e.Canonical)
				}
				if e.Canonical == CustomerUpdated {
					if e.OrderRef != "" || e.HasAmount || e.CustomerEmail == "" {
						t.Errorf("customer event = %+v, want no order or amount, and an email", e)
					}
					return
				}
				if e.OrderRef != "ord_rt_1" {
					t.Errorf("OrderRef = %q, want ord_rt_1", e.OrderRef)
				}
				if e.Amount != 123456 || !e.HasAmount || e.Currency != "KWD" {
					t.Errorf("amount = %d %q (has %v), want 123456 KWD", e.Amount, e.Currency, e.HasAmount)
				}
				if e.PaymentID == "" {
					t.Errorf("PaymentID is empty")
				}
			})
		}
	}
}

// TestSampleCanonicals pins what each sample type means.
func TestSampleCanonicals(t *testing.T) {
	want := map[string]map[string]Canonical{
		"stripe": {
			"checkout.session.completed": PaymentSucceeded, "checkout.session.completed:unpaid": PaymentPending,
			"checkout.session.async_payment_succeeded": PaymentSucceeded, "checkout.session.async_payment_failed": PaymentFailed,
			"payment_intent.succeeded": PaymentSucceeded, "payment_intent.payment_failed": PaymentFailed,
			"charge.refunded": RefundCompleted, "refund.created": RefundInitiated,
		},
		"careempay":  {"PAYMENT_SUCCESS": PaymentSucceeded, "PAYMENT_FAILED": PaymentFailed, "REFUND_PROCESSED": RefundCompleted},
		"shadhinpay": {"payment.completed": PaymentSucceeded, "payment.failed": PaymentFailed, "payment.refunded": RefundCompleted},
	}
	generic := map[string]Canonical{
		"payment.completed": PaymentSucceeded, "payment.failed": PaymentFailed, "payment.updated": PaymentSucceeded,
		"payment.updated:pending": PaymentPending, "refund.initiated": RefundInitiated, "refund.completed": RefundCompleted,
		"customer.created": CustomerUpdated, "customer.updated": CustomerUpdated,
	}
	want["generic"], want["standard"] = generic, generic
	want["custom"] = map[string]Canonical{
		"ORDER_PAID": PaymentSucceeded, "ORDER_WAITING": PaymentPending, "ORDER_CANCELLED": PaymentFailed,
		"REFUND_STARTED": RefundInitiated, "REFUND_DONE": RefundCompleted, "BUYER_CHANGED": CustomerUpdated,
	}
	for k, v := range generic {
		want["custom"][k] = v
	}
	for _, name := range Providers() {
		s := Settings{}
		if name == "custom" {
			s = customRoundTrip
		}
		p := mustProfile(t, name, s)
		got := map[string]Canonical{}
		for _, typ := range p.SampleTypes() {
			body, err := p.Sample(typ, SampleParams{Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			e, err := p.Normalise(mustSign(t, p, testSecret, body, testNow, "msg_1"), body)
			if err != nil {
				t.Fatal(err)
			}
			got[typ] = e.Canonical
		}
		if len(got) != len(want[name]) {
			t.Errorf("%s: %d sample types, want %d: %v", name, len(got), len(want[name]), p.SampleTypes())
		}
		for typ, c := range want[name] {
			if got[typ] != c {
				t.Errorf("%s %s: Canonical = %q, want %q", name, typ, got[typ], c)
			}
		}
	}
}

func TestSampleDefaults(t *testing.T) {
	tests := []struct {
		provider, typ, currency string
		idPrefix                string
	}{
		{"stripe", "payment_intent.succeeded", "USD", "evt_"},
		{"standard", "payment.completed", "USD", "msg_"},
		{"generic", "payment.completed", "USD", "evt_"},
		{"custom", "payment.completed", "USD", "evt_"},
		{"careempay", "PAYMENT_SUCCESS", "AED", "PAYMENT_SUCCESS:TXN"},
		{"shadhinpay", "payment.completed", "BDT", "payment.completed_pay_"},
	}
	for _, tc := range tests {
		t.Run(tc.provider, func(t *testing.T) {
			p := mustProfile(t, tc.provider, Settings{})
			before := time.Now()
			a, err := p.Sample(tc.typ, SampleParams{})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := p.Sample(tc.typ, SampleParams{})
			e, err := p.Normalise(mustSign(t, p, testSecret, a, before, ""), a)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(e.ID, tc.idPrefix) || len(e.ID) < len(tc.idPrefix)+8 {
				t.Errorf("ID = %q, want %q + random", e.ID, tc.idPrefix)
			}
			if !strings.HasPrefix(e.OrderRef, "ord_") || len(e.OrderRef) < 10 {
				t.Errorf("OrderRef = %q, want ord_ + random", e.OrderRef)
			}
			if e.Amount != 2000 || e.Currency != tc.currency {
				t.Errorf("amount = %d %s, want 2000 %s", e.Amount, e.Currency, tc.currency)
			}
			if string(a) == string(b) {
				t.Error("two default samples are identical")
			}
		})
	}
}

func TestSampleUnknownType(t *testing.T) {
	for _, name := range Providers() {
		p := mustProfile(t, name, Settings{})
		_, err := p.Sample("no.such.type", SampleParams{Now: testNow})
		if err == nil {
			t.Fatalf("%s: Sample(no.such.type) = nil error", name)
		}
		for _, typ := range p.SampleTypes() {
			if !strings.Contains(err.Error(), typ) {
				t.Errorf("%s: error %q does not list %q", name, err, typ)
			}
		}
	}
}

// FuzzNormalise feeds arbitrary bodies to every provider: no panic, an error only for non-JSON, and
// an event always with an id.
func FuzzNormalise(f *testing.F) {
	for _, dir := range []string{"stripe", "standard", "careempay", "shadhinpay", "generic", "custom"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, s := range []string{
		``, `null`, `[]`, `"x"`, `{}`, `{"data":[]}`, `{"data":{"object":[1,2]}}`,
		`{"event":{"x":1},"type":[],"id":{},"data":{"amount":{"v":1},"currency":7}}`,
		`{"data":{"amount":1e999999,"currency":"usd"}}`, `{"data":{"amount":"-0.005"}}`,
		`{"amount":123456789012345678901234567890}`, `{"type":"PAYMENT_SUCCESS","transaction_id":12}`,
		`{"data":{"object":{"amount_total":9223372036854775807,"payment_intent":{"id":7}}},"type":"checkout.session.completed"}`,
		strings.Repeat(`{"a":[`, 200) + strings.Repeat(`]}`, 200), // deeper than 10000 is in TestDecodeJSON
		`{"a":1} {"b":2}`, "{\"id\":\"\xff\xfe\"}",
	} {
		f.Add([]byte(s))
	}
	var profiles []Profile
	for _, name := range Providers() {
		s := Settings{}
		if name == "custom" {
			s = customRoundTrip
		}
		profiles = append(profiles, mustProfile(f, name, s))
	}
	h := http.Header{"Webhook-Id": {"msg_fuzz"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		valid := json.Valid(body)
		for _, p := range profiles {
			for _, hdr := range []http.Header{nil, h} {
				e, err := p.Normalise(hdr, body)
				if err != nil {
					if !errors.Is(err, ErrNotJSON) {
						t.Fatalf("%s: Normalise error %v does not wrap ErrNotJSON", p.Name(), err)
					}
					if valid && !strings.Contains(err.Error(), "depth") {
						t.Fatalf("%s: Normalise refused valid JSON: %v", p.Name(), err)
					}
					continue
				}
				if !valid {
					t.Fatalf("%s: Normalise accepted invalid JSON %q", p.Name(), body)
				}
				if e.ID == "" {
					t.Fatalf("%s: Normalise returned an empty ID for %q", p.Name(), body)
				}
				if !e.Canonical.Valid() {
					t.Fatalf("%s: Canonical %q is not valid", p.Name(), e.Canonical)
				}
				if e.Currency != strings.ToUpper(e.Currency) {
					t.Fatalf("%s: Currency %q is not upper case", p.Name(), e.Currency)
				}
				if !e.HasAmount && e.Amount != 0 {
					t.Fatalf("%s: Amount %d without HasAmount", p.Name(), e.Amount)
				}
			}
		}
	})
}

// sha256Hex is the expected derived id of body.
func sha256Hex(body string) string {
	sum := sha256.Sum256([]byte(body))
	return "sha256:" + hex.EncodeToString(sum[:])
}
