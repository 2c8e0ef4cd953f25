package webhooks

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// stripeSig computes a v1 signature independently of the code under test.
func stripeSig(secret string, t int64, body []byte) string {
	return hmacHex(secret, fmt.Sprintf("%d.%s", t, body))
}

func TestStripeSignKnownAnswer(t *testing.T) {
	p := mustProfile(t, "stripe", Settings{})
	body := fixture(t, "stripe/checkout.session.completed.json")
	h := mustSign(t, p, testSecret, body, testNow, "ignored")
	want := fmt.Sprintf("t=%d,v1=%s", testNow.Unix(), stripeSig(testSecret, testNow.Unix(), body))
	if got := h.Get("Stripe-Signature"); got != want {
		t.Errorf("Stripe-Signature = %q, want %q", got, want)
	}
	if !strings.HasPrefix(h.Get("User-Agent"), "Stripe/") || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("headers = %v", h)
	}
}

func TestStripeVerify(t *testing.T) {
	p := mustProfile(t, "stripe", Settings{})
	body := fixture(t, "stripe/checkout.session.completed.json")
	now := testNow.Unix()
	sig := stripeSig(testSecret, now, body)
	other := stripeSig(otherSecret, now, body)
	hdr := func(values ...string) http.Header {
		h := http.Header{}
		for _, v := range values {
			h.Add("Stripe-Signature", v)
		}
		return h
	}
	signedAt := func(d time.Duration) http.Header { return mustSign(t, p, testSecret, body, testNow.Add(d), "") }
	secrets := []string{testSecret}
	cases := append(commonVerifyCases(t, p, body),
		verifyCase{name: "stale", header: signedAt(-301 * time.Second), body: body, secrets: secrets, want: ErrTimestamp, wantMsg: "signed 5m1s in the past, tolerance 5m0s"},
		verifyCase{name: "an hour old", header: signedAt(-time.Hour), body: body, secrets: secrets, want: ErrTimestamp, wantMsg: "1h0m0s in the past"},
		verifyCase{name: "at the edge of the tolerance", header: signedAt(-300 * time.Second), body: body, secrets: secrets},
		verifyCase{name: "future", header: signedAt(301 * time.Second), body: body, secrets: secrets, want: ErrTimestamp, wantMsg: "signed 5m1s in the future"},
		verifyCase{name: "slightly in the future", header: signedAt(30 * time.Second), body: body, secrets: secrets},
		verifyCase{name: "stale and forged", header: mustSign(t, p, otherSecret, body, testNow.Add(-time.Hour), ""), body: body, secrets: secrets, want: ErrNoValidSignature},
		verifyCase{name: "several v1, the last one matches", header: hdr(fmt.Sprintf("t=%d,v1=%s,v1=%s,v0=%s", now, other, sig, other)), body: body, secrets: secrets},
		verifyCase{name: "several v1, the first one matches", header: hdr(fmt.Sprintf("t=%d,v1=%s,v1=%s", now, sig, other)), body: body, secrets: secrets},
		verifyCase{name: "several v1, none matches", header: hdr(fmt.Sprintf("t=%d,v1=%s,v1=%s", now, other, strings.Repeat("ab", 32))), body: body, secrets: secrets, want: ErrNoValidSignature, wantMsg: "2 signatures checked"},
		verifyCase{name: "a broken v1 beside a good one", header: hdr(fmt.Sprintf("t=%d,v1=nothex,v1=%s", now, sig)), body: body, secrets: secrets},
		verifyCase{name: "odd spacing and upper-case hex", header: hdr(fmt.Sprintf(" t = %d ,  v1=%s , ", now, strings.ToUpper(sig))), body: body, secrets: secrets},
		verifyCase{name: "upper-case keys", header: hdr(fmt.Sprintf("T=%d,V1=%s", now, sig)), body: body, secrets: secrets},
		verifyCase{name: "split over two header lines", header: hdr(fmt.Sprintf("t=%d", now), "v1="+sig), body: body, secrets: secrets},
		verifyCase{name: "v0 only", header: hdr(fmt.Sprintf("t=%d,v0=%s", now, sig)), body: body, secrets: secrets, want: ErrNoValidSignature, wantMsg: "carries no v1 signature"},
		verifyCase{name: "timestamp changed", header: hdr(fmt.Sprintf("t=%d,v1=%s", now+1, sig)), body: body, secrets: secrets, want: ErrNoValidSignature},
		verifyCase{name: "malformed: no key=value", header: hdr("garbage"), body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: `item "garbage" is not key=value`},
		verifyCase{name: "malformed: no timestamp", header: hdr("v1=" + sig), body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: "no t= timestamp"},
		verifyCase{name: "malformed: timestamp not a number", header: hdr("t=yesterday,v1=" + sig), body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: `timestamp "yesterday"`},
		verifyCase{name: "malformed: two timestamps", header: hdr(fmt.Sprintf("t=%d,t=%d,v1=%s", now, now+1, sig)), body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: "two different timestamps"},
		verifyCase{name: "malformed: v1 not hex", header: hdr(fmt.Sprintf("t=%d,v1=xyz", now)), body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: `v1 "xyz" is not 64 hex digits`},
		verifyCase{name: "malformed: v1 too short", header: hdr(fmt.Sprintf("t=%d,v1=%s", now, sig[:62])), body: body, secrets: secrets, want: ErrMalformedHeader},
		verifyCase{name: "malformed: long junk is shortened in the message", header: hdr(strings.Repeat("x", 5000)), body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: "..."},
		verifyCase{name: "the secret is the whole whsec_ string", header: hdr(fmt.Sprintf("t=%d,v1=%s", now, stripeSig(strings.TrimPrefix(testSecret, "whsec_"), now, body))), body: body, secrets: secrets, want: ErrNoValidSignature},
	)
	runVerifyCases(t, p, cases)

	// A configured tolerance replaces the default one.
	wide := mustProfile(t, "stripe", Settings{Tolerance: 10 * time.Minute})
	runVerifyCases(t, wide, []verifyCase{
		{name: "wide: six minutes old", header: signedAt(-6 * time.Minute), body: body, secrets: secrets},
		{name: "wide: eleven minutes old", header: signedAt(-11 * time.Minute), body: body, secrets: secrets, want: ErrTimestamp, wantMsg: "tolerance 10m0s"},
	})
}

func TestParseStripeHeader(t *testing.T) {
	sig := strings.Repeat("0a", 32)
	tests := []struct {
		in      string
		wantT   int64
		wantV1  int
		wantErr bool
	}{
		{"t=1719400087,v1=" + sig, 1719400087, 1, false},
		{"t=1719400087,v1=" + sig + ",v1=" + sig + ",v0=" + sig, 1719400087, 2, false},
		{"v1=" + sig + ",t=-5", -5, 1, false},
		{"t=1,t=1,v1=" + sig, 1, 1, false},
		{"t=1,scheme=unknown=x", 1, 0, false},
		{"t=1,v1=", 0, 0, true},
		{"t=1,,,", 1, 0, false},
		{"", 0, 0, true},
		{"t=", 0, 0, true},
		{"t=1e3", 0, 0, true},
		{"t=99999999999999999999", 0, 0, true},
		{"t=1;v1=" + sig, 0, 0, true},
	}
	for _, tc := range tests {
		got, err := parseStripeHeader(tc.in)
		if tc.wantErr {
			if !errors.Is(err, ErrMalformedHeader) {
				t.Errorf("parseStripeHeader(%q) = %+v, %v, want ErrMalformedHeader", tc.in, got, err)
			}
			continue
		}
		if err != nil || got.timestamp != tc.wantT || len(got.v1) != tc.wantV1 {
			t.Errorf("parseStripeHeader(%q) = t=%d, %d v1, %v; want t=%d, %d v1", tc.in, got.timestamp, len(got.v1), err, tc.wantT, tc.wantV1)
		}
	}
}

func TestStripeNormalise(t *testing.T) {
	tests := []struct {
		file string
		want Event
	}{
		{"checkout.session.completed.json", Event{
			ID: "evt_1PfJ2aLkdIwHu7ixKXc2m3Qn", Type: "checkout.session.completed", Canonical: PaymentSucceeded,
			OrderRef: "ord_1001", PaymentID: "pi_3PfJ1xLkdIwHu7ix0Qe5dX1a", Amount: 2000, HasAmount: true, Currency: "USD",
			CustomerEmail: "jenny.rosen@example.com", CustomerPhone: "+14155550123",
		}},
		{"checkout.session.completed_unpaid.json", Event{
			ID: "evt_1PfK9bLkdIwHu7ixUnPaid01", Type: "checkout.session.completed", Canonical: PaymentPending,
			OrderRef: "ord_1002", PaymentID: "pi_3PfK9aLkdIwHu7ix1SepaDb1", Amount: 4999, HasAmount: true, Currency: "EUR",
			CustomerEmail: "max.mustermann@example.de",
		}},
		{"checkout.session.async_payment_succeeded.json", Event{
			ID: "evt_1PfN0cLkdIwHu7ixAsyncOk1", Type: "checkout.session.async_payment_succeeded", Canonical: PaymentSucceeded,
			OrderRef: "ord_1002", PaymentID: "pi_3PfK9aLkdIwHu7ix1SepaDb1", Amount: 4999, HasAmount: true, Currency: "EUR",
			CustomerEmail: "max.mustermann@example.de",
		}},
		{"checkout.session.async_payment_failed.json", Event{
			ID: "evt_1PfN0cLkdIwHu7ixAsyncNo1", Type: "checkout.session.async_payment_failed", Canonical: PaymentFailed,
			OrderRef: "ord_1002", PaymentID: "pi_3PfK9aLkdIwHu7ix1SepaDb1", Amount: 4999, HasAmount: true, Currency: "EUR",
			CustomerEmail: "max.mustermann@example.de",
		}},
		{"payment_intent.succeeded.json", Event{
			ID: "evt_3PfJ1xLkdIwHu7ix0PiOkJpy", Type: "payment_intent.succeeded", Canonical: PaymentSucceeded,
			OrderRef: "ord_1003", PaymentID: "pi_3PfJ1xLkdIwHu7ix0Yen0500", Amount: 500, HasAmount: true, Currency: "JPY",
			CustomerEmail: "taro.yamada@example.jp",
		}},
		{"payment_intent.payment_failed.json", Event{
			ID: "evt_3PfJ5zLkdIwHu7ix1PiFail1", Type: "payment_intent.payment_failed", Canonical: PaymentFailed,
			OrderRef: "ord_1004", PaymentID: "pi_3PfJ5zLkdIwHu7ix1Fail1500", Amount: 1500, HasAmount: true, Currency: "USD",
		}},
		{"charge.refunded.json", Event{
			ID: "evt_3PfJ1xLkdIwHu7ix0Refund1", Type: "charge.refunded", Canonical: RefundCompleted,
			OrderRef: "ord_1005", PaymentID: "pi_3PfJ1xLkdIwHu7ix0Gbp5000", Amount: 2000, HasAmount: true, Currency: "GBP",
			CustomerEmail: "sam.smith@example.co.uk", CustomerPhone: "+447700900123",
		}},
		{"refund.created.json", Event{
			ID: "evt_3PfJ1xLkdIwHu7ix0ReCrt1", Type: "refund.created", Canonical: RefundInitiated,
			PaymentID: "pi_3PfJ1xLkdIwHu7ix0Gbp5000", Amount: 2000, HasAmount: true, Currency: "GBP",
		}},
		{"customer.created.json", Event{
			ID: "evt_1PfJ0aLkdIwHu7ixCust001", Type: "customer.created", Canonical: Unknown,
		}},
	}
	p := mustProfile(t, "stripe", Settings{})
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := fixture(t, "stripe/"+tc.file)
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

func TestStripeNormaliseEdges(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Event
	}{
		{"expanded payment_intent and no_payment_required",
			`{"id":"evt_x","type":"checkout.session.completed","data":{"object":{"payment_status":"no_payment_required","payment_intent":{"id":"pi_exp","object":"payment_intent"},"amount_total":0,"currency":"usd"}}}`,
			Event{ID: "evt_x", Type: "checkout.session.completed", Canonical: PaymentSucceeded, PaymentID: "pi_exp", HasAmount: true, Currency: "USD"}},
		{"completed session without payment_status is awaiting payment",
			`{"id":"evt_y","type":"checkout.session.completed","data":{"object":{}}}`,
			Event{ID: "evt_y", Type: "checkout.session.completed", Canonical: PaymentPending}},
		{"partial capture: amount_received wins",
			`{"id":"evt_z","type":"payment_intent.succeeded","data":{"object":{"id":"pi_z","amount":5000,"amount_received":4000,"currency":"usd"}}}`,
			Event{ID: "evt_z", Type: "payment_intent.succeeded", Canonical: PaymentSucceeded, PaymentID: "pi_z", Amount: 4000, HasAmount: true, Currency: "USD"}},
		{"no event id: derived from the body",
			`{"type":"payment_intent.processing","data":{"object":{"id":"pi_p"}}}`,
			Event{ID: "sha256:", Type: "payment_intent.processing", Canonical: PaymentPending, PaymentID: "pi_p"}},
		{"wrong types everywhere",
			`{"id":["evt"],"type":{"a":1},"data":{"object":"nope"}}`,
			Event{ID: "sha256:", Canonical: Unknown}},
		{"data is an array",
			`{"id":"evt_a","type":"charge.refunded","data":[{"object":{"amount_refunded":1}}]}`,
			Event{ID: "evt_a", Type: "charge.refunded", Canonical: RefundCompleted}},
	}
	p := mustProfile(t, "stripe", Settings{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Normalise(nil, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.ID == "sha256:" { // derived: the hash of the exact body
				tc.want.ID = sha256Hex(tc.body)
			}
			if got != tc.want {
				t.Errorf("Normalise =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
	if _, err := p.Normalise(nil, []byte("t=1,v1=abc")); !errors.Is(err, ErrNotJSON) {
		t.Errorf("Normalise(non-JSON) = %v, want ErrNotJSON", err)
	}
}

func TestStripeSampleShape(t *testing.T) {
	p := mustProfile(t, "stripe", Settings{})
	for _, typ := range p.SampleTypes() {
		body, err := p.Sample(typ, SampleParams{ID: "evt_fixed", Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		if len(body) < 900 || len(body) > 2200 {
			t.Errorf("%s: sample is %d bytes, want a realistic 1-2 KB", typ, len(body))
		}
		s := string(body)
		for _, want := range []string{
			"{\n  \"id\": \"evt_fixed\",\n  \"object\": \"event\",\n  \"api_version\": \"2024-06-20\",",
			fmt.Sprintf(`"created": %d,`, testNow.Unix()), `"livemode": false`, `"pending_webhooks": 1`,
			fmt.Sprintf(`"type": %q`, baseType(typ)), `"currency": "usd"`,
		} {
			if !strings.Contains(s, want) {
				t.Errorf("%s: sample lacks %q:\n%s", typ, want, s)
			}
		}
	}
}

// FuzzStripeHeader feeds arbitrary Stripe-Signature values: the parser never panics, every v1 it
// keeps is 32 bytes, and Verify accepts only a header carrying the real signature.
func FuzzStripeHeader(f *testing.F) {
	body := []byte(`{"id":"evt_1","type":"payment_intent.succeeded"}`)
	sig := stripeSig("whsec_test", testNow.Unix(), body)
	f.Add(fmt.Sprintf("t=%d,v1=%s", testNow.Unix(), sig))
	f.Add(fmt.Sprintf("t=%d,v1=%s,v1=%s,v0=abc", testNow.Unix(), strings.Repeat("0", 64), strings.ToUpper(sig)))
	f.Add("t=1,v1=")
	f.Add("=,=,=")
	f.Add("t=-9223372036854775808,v1=" + sig)
	f.Add("t=9223372036854775807,v1=" + sig)
	f.Add(" , t = 1 , ")
	p := mustProfile(f, "stripe", Settings{})
	f.Fuzz(func(t *testing.T, header string) {
		sh, err := parseStripeHeader(header)
		if err == nil {
			for _, s := range sh.v1 {
				if len(s) != 32 {
					t.Fatalf("parseStripeHeader(%q) kept a %d-byte v1", header, len(s))
				}
			}
		} else if !errors.Is(err, ErrMalformedHeader) {
			t.Fatalf("parseStripeHeader(%q) = %v, not ErrMalformedHeader", header, err)
		}
		err = p.Verify(http.Header{"Stripe-Signature": {header}}, body, []string{"whsec_test"}, testNow)
		if err == nil {
			if !strings.Contains(strings.ToLower(header), sig) {
				t.Fatalf("Verify accepted %q, which lacks the signature", header)
			}
			return
		}
		if !isSentinel(err) {
			t.Fatalf("Verify(%q) = %v, not a sentinel", header, err)
		}
	})
}
