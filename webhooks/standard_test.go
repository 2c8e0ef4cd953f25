package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// standardSig computes a v1 signature independently of the code under test.
func standardSig(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.%s", id, ts, body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TestStandardSpecVector reproduces the test vector published with the Standard Webhooks reference
// implementations: a receiver's existing library has to accept what Sign produces.
func TestStandardSpecVector(t *testing.T) {
	p := mustProfile(t, "standard", Settings{})
	body := []byte(`{"test": 2432232314}`)
	at := time.Unix(1614265330, 0)
	h := mustSign(t, p, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", body, at, "msg_p5jXN8AQM9LWM0D4loKWxJek")
	want := http.Header{
		"Content-Type":      {"application/json"},
		"Webhook-Id":        {"msg_p5jXN8AQM9LWM0D4loKWxJek"},
		"Webhook-Timestamp": {"1614265330"},
		"Webhook-Signature": {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
	}
	if fmt.Sprint(h) != fmt.Sprint(want) {
		t.Errorf("Sign =\n %v\nwant\n %v", h, want)
	}
	if err := p.Verify(want, body, []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, at); err != nil {
		t.Errorf("Verify(spec vector) = %v", err)
	}
}

func TestStandardVerify(t *testing.T) {
	p := mustProfile(t, "standard", Settings{})
	body := fixture(t, "standard/payment.completed.json")
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(testSecret, "whsec_"))
	otherKey, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(otherSecret, "whsec_"))
	now := testNow.Unix()
	const id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
	sig := standardSig(key, id, now, body)
	hdr := func(id, ts string, sigs ...string) http.Header {
		h := http.Header{}
		if id != "" {
			h.Set("webhook-id", id)
		}
		if ts != "" {
			h.Set("webhook-timestamp", ts)
		}
		for _, s := range sigs {
			h.Add("webhook-signature", s)
		}
		return h
	}
	ts := strconv.FormatInt(now, 10)
	signedAt := func(d time.Duration) http.Header { return mustSign(t, p, testSecret, body, testNow.Add(d), id) }
	secrets := []string{testSecret}
	cases := append(commonVerifyCases(t, p, body),
		verifyCase{name: "stale", header: signedAt(-301 * time.Second), body: body, secrets: secrets, want: ErrTimestamp, wantMsg: "5m1s in the past"},
		verifyCase{name: "at the edge of the tolerance", header: signedAt(-300 * time.Second), body: body, secrets: secrets},
		verifyCase{name: "future", header: signedAt(10 * time.Minute), body: body, secrets: secrets, want: ErrTimestamp, wantMsg: "10m0s in the future"},
		verifyCase{name: "several signatures, one matches", header: hdr(id, ts, "v1,"+standardSig(otherKey, id, now, body)+" v1a,"+sig+" v1,"+sig), body: body, secrets: secrets},
		verifyCase{name: "several signature headers", header: hdr(id, ts, "v1,"+standardSig(otherKey, id, now, body), "v1,"+sig), body: body, secrets: secrets},
		verifyCase{name: "odd spacing", header: hdr(id, " "+ts+" ", "  v1,"+sig+"   "), body: body, secrets: secrets},
		verifyCase{name: "unpadded base64", header: hdr(id, ts, "v1,"+strings.TrimRight(sig, "=")), body: body, secrets: secrets},
		verifyCase{name: "svix headers", header: http.Header{"Svix-Id": {id}, "Svix-Timestamp": {ts}, "Svix-Signature": {"v1," + sig}}, body: body, secrets: secrets},
		verifyCase{name: "id changed", header: hdr("msg_other", ts, "v1,"+sig), body: body, secrets: secrets, want: ErrNoValidSignature},
		verifyCase{name: "timestamp changed", header: hdr(id, strconv.FormatInt(now+1, 10), "v1,"+sig), body: body, secrets: secrets, want: ErrNoValidSignature},
		verifyCase{name: "asymmetric v1a only", header: hdr(id, ts, "v1a,"+sig), body: body, secrets: secrets, want: ErrNoValidSignature, wantMsg: "no v1 signature"},
		verifyCase{name: "malformed: no version", header: hdr(id, ts, sig), body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: "is not v1,<base64 HMAC-SHA256>"},
		verifyCase{name: "malformed: bad base64", header: hdr(id, ts, "v1,***"), body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: `"v1,***"`},
		verifyCase{name: "malformed: hex signature", header: hdr(id, ts, "v1,"+strings.Repeat("ab", 32)), body: body, secrets: secrets, want: ErrMalformedHeader},
		verifyCase{name: "malformed: id missing", header: hdr("", ts, "v1,"+sig), body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: "webhook-id is missing"},
		verifyCase{name: "malformed: timestamp missing", header: hdr(id, "", "v1,"+sig), body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: "webhook-timestamp is missing"},
		verifyCase{name: "malformed: timestamp in RFC 3339", header: hdr(id, testNow.Format(time.RFC3339), "v1,"+sig), body: body, secrets: secrets, want: ErrMalformedHeader, wantMsg: "is not a unix time"},
		verifyCase{name: "secret without whsec_ is base64", header: hdr(id, ts, "v1,"+sig), body: body, secrets: []string{strings.TrimPrefix(testSecret, "whsec_")}},
		verifyCase{name: "a whsec_ secret that is not base64 is unusable", header: hdr(id, ts, "v1,"+sig), body: body, secrets: []string{"whsec_not base64!"}, want: ErrNoSecrets},
		verifyCase{name: "a plain secret is raw bytes", header: hdr(id, ts, "v1,"+standardSig([]byte("not base64!"), id, now, body)), body: body, secrets: []string{"not base64!"}},
	)
	runVerifyCases(t, p, cases)

	wide := mustProfile(t, "standard", Settings{Tolerance: time.Hour})
	runVerifyCases(t, wide, []verifyCase{
		{name: "wide: 59 minutes in the future", header: signedAt(59 * time.Minute), body: body, secrets: secrets},
		{name: "wide: 61 minutes old", header: signedAt(-61 * time.Minute), body: body, secrets: secrets, want: ErrTimestamp, wantMsg: "tolerance 1h0m0s"},
	})
}

func TestStandardSignWithoutID(t *testing.T) {
	p := mustProfile(t, "standard", Settings{})
	a := mustSign(t, p, testSecret, []byte(`{}`), testNow, "")
	b := mustSign(t, p, testSecret, []byte(`{}`), testNow, "")
	if !strings.HasPrefix(a.Get("webhook-id"), "msg_") || a.Get("webhook-id") == b.Get("webhook-id") {
		t.Errorf("webhook-id = %q and %q, want distinct msg_ ids", a.Get("webhook-id"), b.Get("webhook-id"))
	}
	if _, err := p.Sign("whsec_%%%", []byte(`{}`), testNow, ""); !errors.Is(err, ErrNoSecrets) {
		t.Errorf("Sign(bad whsec_) = %v, want ErrNoSecrets", err)
	}
}

func TestStandardNormalise(t *testing.T) {
	tests := []struct {
		file string
		id   string // webhook-id header
		want Event
	}{
		{"payment.completed.json", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", Event{
			ID: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", Type: "payment.completed", Canonical: PaymentSucceeded,
			OrderRef: "ord_2001", PaymentID: "pay_9fKq2LmN4pR7sT", Amount: 4999, HasAmount: true, Currency: "EUR",
			CustomerEmail: "anna.berg@example.se", CustomerPhone: "+46701234567",
		}},
		{"refund.completed.json", "msg_refund_1", Event{
			ID: "msg_refund_1", Type: "refund.completed", Canonical: RefundCompleted,
			OrderRef: "ord_2001", PaymentID: "pay_9fKq2LmN4pR7sT", Amount: 1050, HasAmount: true, Currency: "EUR",
			CustomerEmail: "anna.berg@example.se",
		}},
		// The header id wins over an id in the body.
		{"payment.updated_failed.json", "msg_failed_1", Event{
			ID: "msg_failed_1", Type: "payment.updated", Canonical: PaymentFailed,
			OrderRef: "ord_2003", PaymentID: "pay_Fa11ed000001", Amount: 1200000, HasAmount: true, Currency: "KWD",
		}},
	}
	p := mustProfile(t, "standard", Settings{})
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body := fixture(t, "standard/"+tc.file)
			h := mustSign(t, p, testSecret, body, testNow, tc.id)
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
	// Without the header (never after Verify, but Normalise stands alone) the generic rules apply.
	body := fixture(t, "standard/payment.updated_failed.json")
	if got, _ := p.Normalise(http.Header{}, body); got.ID != "evt_in_body_is_not_used" {
		t.Errorf("ID without header = %q, want the body's id", got.ID)
	}
	if got, _ := p.Normalise(http.Header{"Svix-Id": {"msg_svix"}}, body); got.ID != "msg_svix" {
		t.Errorf("ID with svix-id = %q, want msg_svix", got.ID)
	}
	body = []byte(`{"type":"payment.completed","data":{}}`)
	if got, _ := p.Normalise(nil, body); got.ID != sha256Hex(string(body)) {
		t.Errorf("ID without any = %q, want the body hash", got.ID)
	}
}

func TestStandardKey(t *testing.T) {
	tests := []struct {
		secret string
		want   string
		ok     bool
	}{
		{"whsec_aGVsbG8=", "hello", true},
		{"whsec_aGVsbG8", "hello", true},
		{" whsec_aGVsbG8= \n", "hello", true},
		{"aGVsbG8=", "hello", true},
		{"hello!", "hello!", true},
		{"whsec_", "", false},
		{"whsec_!!", "", false},
		{"", "", false},
		{"   ", "", false},
	}
	for _, tc := range tests {
		got, ok := standardKey(tc.secret)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("standardKey(%q) = %q, %v, want %q, %v", tc.secret, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzStandardHeader feeds arbitrary webhook-id, webhook-timestamp and webhook-signature values:
// no panic, and Verify accepts only the real signature.
func FuzzStandardHeader(f *testing.F) {
	body := []byte(`{"test": 2432232314}`)
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ts := strconv.FormatInt(testNow.Unix(), 10)
	key, _ := base64.StdEncoding.DecodeString("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	good := standardSig(key, "msg_1", testNow.Unix(), body)
	f.Add("msg_1", ts, "v1,"+good)
	f.Add("msg_1", ts, "v1a,abc v1,"+good+" v2,xyz")
	f.Add("msg_1", "+"+ts, "v1,"+good)
	f.Add("", "", "")
	f.Add("msg_1", "1e9", ", ,, v1, v1,=")
	f.Add("msg_1", "-9223372036854775808", "v1,"+good)
	p := mustProfile(f, "standard", Settings{})
	f.Fuzz(func(t *testing.T, id, ts, sig string) {
		sigs, err := parseStandardSignatures(sig)
		if err != nil && !errors.Is(err, ErrMalformedHeader) {
			t.Fatalf("parseStandardSignatures(%q) = %v", sig, err)
		}
		for _, s := range sigs {
			if len(s) != 32 {
				t.Fatalf("parseStandardSignatures(%q) kept a %d-byte signature", sig, len(s))
			}
		}
		h := http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sig}}
		err = p.Verify(h, body, []string{secret}, testNow)
		if err == nil {
			if strings.TrimSpace(id) != "msg_1" {
				t.Fatalf("Verify accepted id %q", id)
			}
			return
		}
		if !isSentinel(err) {
			t.Fatalf("Verify = %v, not a sentinel", err)
		}
	})
}
