package handlers_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"hooklog/config"
	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// customSettings is a custom provider whose every signature option and field path differs from the
// defaults (the shape of webhooks/testdata/custom).
var customSettings = webhooks.Settings{
	HMAC: webhooks.HMACConfig{Header: "X-Acme-Signature", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512="},
	Fields: webhooks.FieldMap{
		ID: "meta.event_id", Type: "meta.kind", OrderRef: "payload.ref", PaymentID: "payload.txn.id",
		Amount: "payload.total", Currency: "payload.ccy", CustomerEmail: "payload.buyer.mail", CustomerPhone: "payload.buyer.tel",
		Types: map[string]webhooks.Canonical{
			"ORDER_PAID": webhooks.PaymentSucceeded, "ORDER_WAITING": webhooks.PaymentPending, "ORDER_CANCELLED": webhooks.PaymentFailed,
			"REFUND_STARTED": webhooks.RefundInitiated, "REFUND_DONE": webhooks.RefundCompleted,
		},
	},
}

// wantEvent is what a valid delivery must become.
type wantEvent struct {
	body        []byte
	msgID       string // the message id a signing scheme carries (Standard Webhooks' webhook-id)
	externalID  string
	typ         string
	canonical   webhooks.Canonical
	orderRef    string
	paymentID   string
	amount      int64
	currency    string
	email       string
	orderStatus models.OrderStatus
	reason      string // the order transition's reason
}

// providerCase is one provider configuration with the events and broken headers that test it.
type providerCase struct {
	name     string
	provider string
	settings webhooks.Settings
	secret   string // "" lets the provider generate one
	// rotateTo is the new secret of the rotation test ("" generated).
	rotateTo    string
	sampleType  string // a sample type that moves an order
	timestamped bool
	events      []wantEvent
	// malformed is a broken signature header value and the reason it must be rejected with.
	malformedHeader http.Header
	malformedReason string
}

func providerCases(t *testing.T) []providerCase {
	return []providerCase{
		{
			name: "stripe", provider: "stripe", secret: stripeSecret, rotateTo: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
			sampleType: "payment_intent.succeeded", timestamped: true,
			events: []wantEvent{{
				body: bbFixture(t, "stripe", "payment_intent.succeeded.json"), externalID: "evt_3PfJ1xLkdIwHu7ix0PiOkJpy",
				typ: "payment_intent.succeeded", canonical: webhooks.PaymentSucceeded, orderRef: "ord_1003",
				paymentID: "pi_3PfJ1xLkdIwHu7ix0Yen0500", amount: 500, currency: "JPY", email: "taro.yamada@example.jp",
				orderStatus: models.OrderPaid, reason: "payment succeeded",
			}, {
				body: bbFixture(t, "stripe", "checkout.session.completed_unpaid.json"), externalID: "evt_1PfK9bLkdIwHu7ixUnPaid01",
				typ: "checkout.session.completed", canonical: webhooks.PaymentPending, orderRef: "ord_1002",
				paymentID: "pi_3PfK9aLkdIwHu7ix1SepaDb1", amount: 4999, currency: "EUR", email: "max.mustermann@example.de",
				orderStatus: models.OrderAwaitingPayment, reason: "checkout completed; waiting for the payment",
			}},
			malformedHeader: http.Header{"Stripe-Signature": {"garbage"}},
			malformedReason: `malformed signature header: Stripe-Signature item "garbage" is not key=value`,
		},
		{
			name: "standard", provider: "standard", sampleType: "payment.completed", timestamped: true,
			events: []wantEvent{{
				body: bbFixture(t, "standard", "payment.completed.json"), msgID: "msg_2Lr8std0001", externalID: "msg_2Lr8std0001",
				typ: "payment.completed", canonical: webhooks.PaymentSucceeded, orderRef: "ord_2001",
				paymentID: "pay_9fKq2LmN4pR7sT", amount: 4999, currency: "EUR", email: "anna.berg@example.se",
				orderStatus: models.OrderPaid, reason: "payment succeeded",
			}},
			malformedHeader: http.Header{"Webhook-Id": {"msg_x"}, "Webhook-Timestamp": {"NOW"}, "Webhook-Signature": {"v1,@@@"}},
			malformedReason: `malformed signature header: webhook-signature entry "v1,@@@" is not v1,<base64 HMAC-SHA256>`,
		},
		{
			name: "careempay", provider: "careempay", sampleType: "PAYMENT_SUCCESS",
			events: []wantEvent{{
				body: bbFixture(t, "careempay", "payment_success.json"), externalID: "PAYMENT_SUCCESS:TXN8f3a9c2e71d4",
				typ: "PAYMENT_SUCCESS", canonical: webhooks.PaymentSucceeded, orderRef: "ORD-3001",
				paymentID: "TXN8f3a9c2e71d4", amount: 15000, currency: "AED",
				orderStatus: models.OrderPaid, reason: "payment succeeded",
			}},
			malformedHeader: http.Header{"X-Signature": {"zz"}},
			malformedReason: `malformed signature header: X-Signature: value "zz" is not hex`,
		},
		{
			name: "shadhinpay", provider: "shadhinpay", sampleType: "payment.completed",
			events: []wantEvent{{
				body: bbFixture(t, "shadhinpay", "payment.completed.json"), externalID: "payment.completed_pay_sp_4001",
				typ: "payment.completed", canonical: webhooks.PaymentSucceeded, orderRef: "ord_4001",
				paymentID: "pay_sp_4001", amount: 100000, currency: "BDT",
				orderStatus: models.OrderPaid, reason: "payment succeeded",
			}},
			malformedHeader: http.Header{"X-Shadhinpay-Signature": {"sha256=zz"}},
			malformedReason: `malformed signature header: X-ShadhinPay-Signature: value "zz" is not hex`,
		},
		{
			name: "generic", provider: "generic", sampleType: "payment.completed",
			events: []wantEvent{{
				body: bbFixture(t, "generic", "payment.completed.json"), externalID: "evt_5001",
				typ: "payment.completed", canonical: webhooks.PaymentSucceeded, orderRef: "ord_5001",
				paymentID: "pay_5001", amount: 10000, currency: "USD", email: "li.wei@example.com",
				orderStatus: models.OrderPaid, reason: "payment succeeded",
			}, {
				body: bbFixture(t, "generic", "payment.failed.json"), externalID: "evt_5002",
				typ: "payment.failed", canonical: webhooks.PaymentFailed, orderRef: "ord_5002",
				paymentID: "pay_5002", amount: 2000, currency: "USD", email: "li.wei@example.com",
				orderStatus: models.OrderFailed, reason: "payment failed",
			}},
			malformedHeader: http.Header{"X-Signature": {"zz"}},
			malformedReason: `malformed signature header: X-Signature: value "zz" is not hex`,
		},
		{
			name: "custom sha512 base64 prefix", provider: "custom", settings: customSettings, sampleType: "ORDER_PAID",
			events: []wantEvent{{
				body: bbFixture(t, "custom", "order_paid.json"), externalID: "whk_6001",
				typ: "ORDER_PAID", canonical: webhooks.PaymentSucceeded, orderRef: "INV-6001",
				paymentID: "T6001", amount: 4999, currency: "EUR", email: "ines.costa@example.pt",
				orderStatus: models.OrderPaid, reason: "payment succeeded",
			}, {
				body: bbFixture(t, "custom", "order_cancelled.json"), externalID: "whk_6002",
				typ: "ORDER_CANCELLED", canonical: webhooks.PaymentFailed, orderRef: "INV-6002",
				paymentID: "T6002", amount: 1200, currency: "EUR",
				orderStatus: models.OrderFailed, reason: "payment failed",
			}},
			malformedHeader: http.Header{"X-Acme-Signature": {"deadbeef"}},
			malformedReason: `malformed signature header: X-Acme-Signature: value "deadbeef" lacks the prefix "sha512="`,
		},
	}
}

const noMatchOneSecret = "no signature matched: 1 signature checked against 1 secret (wrong secret or modified body)"

// TestBackboneIngestProviders sends every provider's events over the real server: valid, tampered,
// wrongly signed, stale, early, unsigned, malformed, and signed with a rotated secret in and after its
// grace period. Everything received must be stored as it came, with the reason it was refused.
func TestBackboneIngestProviders(t *testing.T) {
	for _, tc := range providerCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			a := testapp.New(t)
			merchant := a.Merchant("Acme")
			ep := a.Endpoint("Acme", tc.provider, tc.secret, tc.settings)
			sigHeader := ep.Profile.SignatureHeader()

			// reject posts a request that must be refused and checks what was stored.
			reject := func(t *testing.T, h http.Header, body []byte, code int, reason *regexp.Regexp) {
				t.Helper()
				eventsBefore := bbCount(t, a, &models.Event{}, "endpoint_id = ?", ep.ID)
				r := a.Post(ep.URL, h, body)
				if r.Status != code || r.Outcome != models.OutcomeRejected || !reason.MatchString(r.Error) || r.DeliveryID == 0 || r.EventID != 0 {
					t.Fatalf("reply = %+v, want %d rejected with a reason matching %s", r, code, reason)
				}
				d := storedDelivery(t, a, r.DeliveryID)
				if d.Outcome != models.OutcomeRejected || d.Reason != r.Error || d.StatusCode != code || d.EventID != nil ||
					d.EndpointID != ep.ID || d.MerchantID != merchant.ID || d.EventType != "" || d.RemoteAddr != "127.0.0.1" {
					t.Errorf("stored delivery = %+v", d)
				}
				if !bytes.Equal(d.Body, body) || d.BodySize != int64(len(body)) {
					t.Errorf("stored body = %d bytes (size %d), want the %d bytes sent", len(d.Body), d.BodySize, len(body))
				}
				for k := range h {
					if got, want := d.Headers.Values(k), h.Values(k); strings.Join(got, "\n") != strings.Join(want, "\n") {
						t.Errorf("stored header %s = %q, want %q", k, got, want)
					}
				}
				if n := bbCount(t, a, &models.Event{}, "endpoint_id = ?", ep.ID); n != eventsBefore {
					t.Errorf("a rejected delivery created an event: %d events, was %d", n, eventsBefore)
				}
			}
			exact := func(s string) *regexp.Regexp { return regexp.MustCompile("^" + regexp.QuoteMeta(s) + "$") }

			for _, want := range tc.events {
				t.Run(fmt.Sprintf("valid %s", want.typ), func(t *testing.T) {
					h := signAt(t, ep, ep.Secret, want.body, time.Now(), want.msgID)
					r := a.Post(ep.URL, h, want.body)
					if r.Status != http.StatusOK || r.Outcome != models.OutcomeAccepted || r.EventID == 0 || r.DeliveryID == 0 || r.Error != "" {
						t.Fatalf("reply = %+v, want 200 accepted", r)
					}
					ev := a.WaitStatus(r.EventID, models.StatusProcessed)

					d := storedDelivery(t, a, r.DeliveryID)
					if d.Outcome != models.OutcomeAccepted || d.StatusCode != http.StatusOK || d.Reason != "" ||
						d.EventID == nil || *d.EventID != r.EventID || d.EventType != want.typ ||
						d.EndpointID != ep.ID || d.MerchantID != merchant.ID || d.RemoteAddr != "127.0.0.1" || d.ReceivedAt.IsZero() {
						t.Errorf("stored delivery = %+v", d)
					}
					if !bytes.Equal(d.Body, want.body) || d.BodySize != int64(len(want.body)) {
						t.Errorf("stored body differs from the %d bytes sent:\n%s", len(want.body), d.Body)
					}
					if d.Headers.Get(sigHeader) == "" || d.Headers.Get(sigHeader) != h.Get(sigHeader) {
						t.Errorf("stored %s = %q, want %q", sigHeader, d.Headers.Get(sigHeader), h.Get(sigHeader))
					}
					for k := range h {
						if d.Headers.Get(k) != h.Get(k) {
							t.Errorf("stored header %s = %q, want %q", k, d.Headers.Get(k), h.Get(k))
						}
					}
					if d.Headers.Get("Host") != strings.TrimPrefix(a.URL, "http://") {
						t.Errorf("stored Host = %q", d.Headers.Get("Host"))
					}

					if ev.ExternalID != want.externalID || ev.Type != want.typ || ev.Canonical != want.canonical ||
						ev.OrderRef != want.orderRef || ev.PaymentID != want.paymentID || !ev.HasAmount || ev.Amount != want.amount ||
						ev.Currency != want.currency || ev.CustomerEmail != want.email || ev.Provider != tc.provider ||
						ev.EndpointID != ep.ID || ev.MerchantID != merchant.ID || ev.DeliveryCount != 1 || ev.Attempts != 1 ||
						ev.LastError != "" || ev.ProcessedAt == nil || ev.NextAttemptAt != nil || !ev.Applied || ev.ClaimToken != "" {
						t.Errorf("event = %+v\nwant %+v", ev, want)
					}
					as := bbAttempts(t, a, ev.ID)
					wantResult := fmt.Sprintf("order %s: %s", want.orderRef, want.reason)
					if len(as) != 1 || as[0].Trigger != models.TriggerAutomatic || as[0].Outcome != models.StatusProcessed ||
						as[0].Result != wantResult || as[0].Error != "" || as[0].Actor != "" {
						t.Errorf("attempts = %+v, want one automatic run with %q", as, wantResult)
					}
					o, hist := bbOrder(t, a, "Acme", want.orderRef)
					if o.Status != want.orderStatus || o.Amount != want.amount || o.Currency != want.currency || o.Provider != tc.provider {
						t.Errorf("order = %+v, want %s %d %s", o, want.orderStatus, want.amount, want.currency)
					}
					assertHistory(t, hist, []bbStep{{"", want.orderStatus, ev.ID, want.reason}})
				})
			}

			body := tc.events[0].body
			msgID := "msg_reject"
			t.Run("tampered body", func(t *testing.T) {
				h := signAt(t, ep, ep.Secret, body, time.Now(), msgID)
				tampered := bytes.Replace(body, []byte(tc.events[0].orderRef), []byte("ord_evil"), 1)
				reject(t, h, tampered, http.StatusUnauthorized, exact(noMatchOneSecret))
			})
			t.Run("wrong secret", func(t *testing.T) {
				h := signAt(t, ep, "whsec_dGhpcmQgc2VjcmV0IGZvciB0ZXN0cw==", body, time.Now(), msgID)
				reject(t, h, body, http.StatusUnauthorized, exact(noMatchOneSecret))
			})
			if tc.timestamped {
				t.Run("stale timestamp", func(t *testing.T) {
					h := signAt(t, ep, ep.Secret, body, time.Now().Add(-10*time.Minute), msgID)
					reject(t, h, body, http.StatusUnauthorized,
						regexp.MustCompile(`^timestamp outside tolerance: signed 10m[01]s in the past, tolerance 5m0s$`))
				})
				t.Run("future timestamp", func(t *testing.T) {
					h := signAt(t, ep, ep.Secret, body, time.Now().Add(10*time.Minute), msgID)
					reject(t, h, body, http.StatusUnauthorized,
						regexp.MustCompile(`^timestamp outside tolerance: signed (9m59s|10m0s) in the future, tolerance 5m0s$`))
				})
			}
			t.Run("missing signature header", func(t *testing.T) {
				h := signAt(t, ep, ep.Secret, body, time.Now(), msgID)
				h.Del(sigHeader)
				reject(t, h, body, http.StatusUnauthorized, exact("no signature header: "+sigHeader+" is missing"))
			})
			t.Run("malformed signature header", func(t *testing.T) {
				h := http.Header{"Content-Type": {"application/json"}}
				for k, v := range tc.malformedHeader {
					h[k] = v
					if v[0] == "NOW" {
						h[k] = []string{fmt.Sprint(time.Now().Unix())}
					}
				}
				reject(t, h, body, http.StatusBadRequest, exact(tc.malformedReason))
			})

			t.Run("rotated secret", func(t *testing.T) {
				oldSecret := ep.Secret
				newSecret, err := a.Store.RotateSecret(merchant.ID, ep.ID, tc.rotateTo, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				if newSecret == "" || newSecret == oldSecret || (tc.rotateTo != "" && newSecret != tc.rotateTo) {
					t.Fatalf("RotateSecret = %q (old %q, asked %q)", newSecret, oldSecret, tc.rotateTo)
				}
				n := 0
				send := func(secret string) testapp.Reply {
					n++
					id := fmt.Sprintf("rot%d_%d", n, time.Now().UnixNano())
					b, err := ep.Profile.Sample(tc.sampleType, webhooks.SampleParams{ID: id, OrderRef: "ord_" + id})
					if err != nil {
						t.Fatal(err)
					}
					return a.Post(ep.URL, signAt(t, ep, secret, b, a.Store.Now(), "msg_"+id), b)
				}
				for _, s := range []struct{ name, secret string }{{"old", oldSecret}, {"new", newSecret}} {
					if r := send(s.secret); r.Status != http.StatusOK || r.Outcome != models.OutcomeAccepted {
						t.Errorf("in the grace period, signed with the %s secret: %+v, want 200 accepted", s.name, r)
					}
				}
				a.Advance(time.Hour + time.Second)
				r := send(oldSecret)
				if r.Status != http.StatusUnauthorized || r.Error != noMatchOneSecret {
					t.Errorf("after the grace period, signed with the old secret: %+v, want 401 %q", r, noMatchOneSecret)
				}
				d := storedDelivery(t, a, r.DeliveryID)
				if d.Outcome != models.OutcomeRejected || d.Reason != noMatchOneSecret || d.StatusCode != http.StatusUnauthorized {
					t.Errorf("stored delivery = %+v", d)
				}
				if r := send(newSecret); r.Status != http.StatusOK || r.Outcome != models.OutcomeAccepted {
					t.Errorf("after the grace period, signed with the new secret: %+v, want 200 accepted", r)
				}
			})
		})
	}
}

// TestBackboneIngestOversized refuses bodies over the limit whether or not they declare their length,
// and keeps the request's headers and size without its body.
func TestBackboneIngestOversized(t *testing.T) {
	const limit = 1024
	a := testapp.New(t, func(c *config.Config) { c.Ingest.MaxBodyBytes = limit })
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	reason := fmt.Sprintf("body larger than the %d-byte limit", limit)

	tests := []struct {
		name    string
		size    int
		chunked bool
		code    int
	}{
		{"at the limit", limit, false, http.StatusOK},
		{"at the limit, chunked", limit, true, http.StatusOK},
		{"one byte over, with Content-Length", limit + 1, false, http.StatusRequestEntityTooLarge},
		{"far over, with Content-Length", 4 * limit, false, http.StatusRequestEntityTooLarge},
		{"one byte over, chunked", limit + 1, true, http.StatusRequestEntityTooLarge},
		{"far over, chunked", 64 * limit, true, http.StatusRequestEntityTooLarge},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := bigBody(tc.size)
			body = bytes.Replace(body, []byte("evt_big"), []byte(fmt.Sprintf("evt_b%02d", i)), 1)
			h := signAt(t, ep, ep.Secret, body, time.Now(), "")
			h.Set("X-Trace", "oversized-"+tc.name)
			var code int
			var raw []byte
			var err error
			if tc.chunked {
				code, raw, err = rawPost(ep.URL, h, onlyReader{bytes.NewReader(body)}, -1)
			} else {
				code, raw, err = rawPost(ep.URL, h, bytes.NewReader(body), int64(len(body)))
			}
			if err != nil {
				t.Fatal(err)
			}
			var r testapp.Reply
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatalf("answer %q: %v", raw, err)
			}
			if code != tc.code {
				t.Fatalf("status = %d (%s), want %d", code, raw, tc.code)
			}
			d := storedDelivery(t, a, r.DeliveryID)
			if d.Headers.Get("X-Trace") != "oversized-"+tc.name || d.Headers.Get("X-Signature") != h.Get("X-Signature") {
				t.Errorf("stored headers = %v", d.Headers)
			}
			if tc.code == http.StatusOK {
				if r.Outcome != models.OutcomeAccepted || !bytes.Equal(d.Body, body) || d.BodySize != int64(tc.size) {
					t.Errorf("reply %+v, stored %d bytes (size %d), want accepted with the %d bytes", r, len(d.Body), d.BodySize, tc.size)
				}
				return
			}
			if r.Outcome != models.OutcomeRejected || r.Error != reason || r.EventID != 0 {
				t.Errorf("reply = %+v, want rejected %q", r, reason)
			}
			if d.Outcome != models.OutcomeRejected || d.Reason != reason || d.StatusCode != http.StatusRequestEntityTooLarge || d.EventID != nil {
				t.Errorf("stored delivery = %+v", d)
			}
			if len(d.Body) != 0 {
				t.Errorf("stored %d body bytes of an oversized request, want none", len(d.Body))
			}
			// With a Content-Length the size is known; without one, only that it passed the limit.
			if (!tc.chunked && d.BodySize != int64(tc.size)) || (tc.chunked && d.BodySize <= limit) {
				t.Errorf("stored size = %d, want %d", d.BodySize, tc.size)
			}
		})
	}
	if n := bbCount(t, a, &models.Event{}, ""); n != 2 {
		t.Errorf("%d events stored, want the 2 within the limit", n)
	}
}

// TestBackboneIngestNotJSON keeps a verified body that is not JSON as a failed event that explains
// itself and is never retried automatically.
func TestBackboneIngestNotJSON(t *testing.T) {
	a := testapp.New(t)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	body := []byte("status=paid&order=ord_9")
	r := a.Post(ep.URL, signAt(t, ep, ep.Secret, body, time.Now(), ""), body)
	if r.Status != http.StatusOK || r.Outcome != models.OutcomeAccepted || r.EventID == 0 {
		t.Fatalf("reply = %+v, want 200 accepted", r)
	}
	d := storedDelivery(t, a, r.DeliveryID)
	if !bytes.Equal(d.Body, body) || d.Outcome != models.OutcomeAccepted || d.StatusCode != http.StatusOK {
		t.Errorf("stored delivery = %+v", d)
	}

	// Another event processed afterwards shows the workers have run since.
	ok := a.SendSample(ep, "payment.completed", webhooks.SampleParams{})
	a.WaitStatus(ok.EventID, models.StatusProcessed)

	ev, err := a.Store.EventByID(r.EventID)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if ev.Status != models.StatusFailed || !strings.HasPrefix(ev.LastError, "body is not valid JSON") ||
		ev.NextAttemptAt != nil || ev.Attempts != 0 || ev.ExternalID != "sha256:"+hex.EncodeToString(sum[:]) ||
		ev.Canonical != webhooks.Unknown || ev.Type != "" {
		t.Errorf("event = %+v, want failed with %q, no retry scheduled, never attempted", ev, "body is not valid JSON")
	}
	if as := bbAttempts(t, a, ev.ID); len(as) != 0 {
		t.Errorf("attempts = %+v, want none", as)
	}
}

// TestBackboneIngestUnknownAndDisabled: an unknown URL stores nothing; a disabled endpoint answers 410
// and keeps the delivery as rejected.
func TestBackboneIngestUnknownAndDisabled(t *testing.T) {
	a := testapp.New(t)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	body := bbFixture(t, "generic", "payment.completed.json")
	h := signAt(t, ep, ep.Secret, body, time.Now(), "")

	r := a.Post(a.URL+"/in/ep_doesnotexist", h, body)
	if r.Status != http.StatusNotFound || r.Error != "no endpoint at this URL" || r.DeliveryID != 0 {
		t.Errorf("unknown token: %+v, want 404", r)
	}
	if n := bbCount(t, a, &models.Delivery{}, ""); n != 0 {
		t.Errorf("unknown token stored %d deliveries", n)
	}

	if err := a.Store.SetEndpointEnabled(ep.MerchantID, ep.ID, false); err != nil {
		t.Fatal(err)
	}
	r = a.Post(ep.URL, h, body)
	if r.Status != http.StatusGone || r.Outcome != models.OutcomeRejected || r.Error != "endpoint is disabled" {
		t.Fatalf("disabled endpoint: %+v, want 410", r)
	}
	d := storedDelivery(t, a, r.DeliveryID)
	if d.Outcome != models.OutcomeRejected || d.Reason != "endpoint is disabled" || d.StatusCode != http.StatusGone ||
		!bytes.Equal(d.Body, body) || d.Headers.Get("X-Signature") != h.Get("X-Signature") || d.EventID != nil {
		t.Errorf("stored delivery = %+v", d)
	}
	if n := bbCount(t, a, &models.Event{}, ""); n != 0 {
		t.Errorf("disabled endpoint stored %d events", n)
	}
}

// TestBackboneIngestTruncatedBody: a sender that stops before the Content-Length it announced gets a
// 400, and what did arrive is kept with the reason.
func TestBackboneIngestTruncatedBody(t *testing.T) {
	a := testapp.New(t)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	path := strings.TrimPrefix(ep.URL, a.URL)
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: hooks.test\r\nContent-Type: application/json\r\nX-Signature: %s\r\nContent-Length: 100\r\n\r\n{\"id\":\"cut",
		path, strings.Repeat("0", 64))
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r testapp.Reply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	const reason = "body could not be read: the connection closed before the whole body arrived"
	if resp.StatusCode != http.StatusBadRequest || r.Outcome != models.OutcomeRejected || r.Error != reason {
		t.Fatalf("answer = %d %+v, want 400 %q", resp.StatusCode, r, reason)
	}
	d := storedDelivery(t, a, r.DeliveryID)
	if d.Outcome != models.OutcomeRejected || d.Reason != reason || d.StatusCode != http.StatusBadRequest ||
		string(d.Body) != `{"id":"cut` || d.BodySize != 10 || d.Headers.Get("Host") != "hooks.test" || d.EventID != nil {
		t.Errorf("stored delivery = %+v", d)
	}
}
