package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	stripeHeader     = "Stripe-Signature"
	stripeAPIVersion = "2024-06-20"
)

// stripeProfile is Stripe: Stripe-Signature "t=<unix>,v1=<hex HMAC-SHA256 of "t.body">", keyed by the
// whole "whsec_..." secret string as bytes.
type stripeProfile struct{ tolerance time.Duration }

func (stripeProfile) Name() string { return providerStripe }

// stripeSignature is a parsed Stripe-Signature header.
type stripeSignature struct {
	timestamp int64
	v1        [][]byte
}

// parseStripeHeader parses "t=...,v1=...,v1=...,v0=...". Unknown schemes are ignored, as Stripe asks;
// a v1 that is not 64 hex digits is skipped, but a header whose every v1 is broken is malformed.
func parseStripeHeader(v string) (stripeSignature, error) {
	var sh stripeSignature
	var haveT bool
	var badV1 []string // v1 values that are not 64 hex digits
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		if !ok {
			return stripeSignature{}, fmt.Errorf("%w: %s item %q is not key=value", ErrMalformedHeader, stripeHeader, snippet(item))
		}
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		switch key {
		case "t":
			t, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return stripeSignature{}, fmt.Errorf("%w: %s timestamp %q is not a unix time", ErrMalformedHeader, stripeHeader, snippet(val))
			}
			if haveT && t != sh.timestamp {
				return stripeSignature{}, fmt.Errorf("%w: %s has two different timestamps", ErrMalformedHeader, stripeHeader)
			}
			sh.timestamp, haveT = t, true
		case "v1":
			sig, err := hex.DecodeString(val)
			if err != nil || len(sig) != sha256.Size {
				badV1 = append(badV1, val)
				continue
			}
			sh.v1 = append(sh.v1, sig)
		}
	}
	if !haveT {
		return stripeSignature{}, fmt.Errorf("%w: %s has no t= timestamp", ErrMalformedHeader, stripeHeader)
	}
	if len(sh.v1) == 0 && len(badV1) > 0 {
		return stripeSignature{}, fmt.Errorf("%w: %s v1 %q is not 64 hex digits", ErrMalformedHeader, stripeHeader, snippet(badV1[0]))
	}
	return sh, nil
}

// Verify accepts the event when any v1 signature matches any secret, then checks the timestamp, so
// a genuine but late delivery is reported as late rather than as forged. Unlike Stripe's libraries,
// it also refuses timestamps too far in the future.
func (p stripeProfile) Verify(h http.Header, body []byte, secrets []string, now time.Time) error {
	keys := cleanSecrets(secrets)
	if len(keys) == 0 {
		return errNoSecrets(len(secrets))
	}
	value := strings.Join(h.Values(stripeHeader), ",")
	if strings.TrimSpace(value) == "" {
		return fmt.Errorf("%w: %s is missing", ErrNoSignature, stripeHeader)
	}
	sh, err := parseStripeHeader(value)
	if err != nil {
		return err
	}
	if len(sh.v1) == 0 {
		return fmt.Errorf("%w: %s carries no v1 signature", ErrNoValidSignature, stripeHeader)
	}
	matched := false
	for _, k := range keys {
		want := stripeMAC(k, sh.timestamp, body)
		for _, sig := range sh.v1 {
			if hmac.Equal(want, sig) {
				matched = true
			}
		}
	}
	if !matched {
		return errNoMatch(len(sh.v1), len(keys))
	}
	return checkTimestamp(sh.timestamp, now, p.tolerance)
}

func stripeMAC(secret string, t int64, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(strconv.AppendInt(nil, t, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Sign returns the headers Stripe sends: Stripe-Signature with one v1 for the time now.
func (stripeProfile) Sign(secret string, body []byte, now time.Time, _ string) (http.Header, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return nil, errNoSecrets(0)
	}
	t := now.Unix()
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	h.Set(stripeHeader, fmt.Sprintf("t=%d,v1=%s", t, hex.EncodeToString(stripeMAC(secret, t, body))))
	return h, nil
}

// stripeTypes maps the Stripe event types hooklog acts on; checkout.session.completed depends on
// payment_status. charge.succeeded and charge.failed are left unmapped on purpose: Stripe sends them
// alongside the payment_intent events, which already carry the outcome.
var stripeTypes = map[string]Canonical{
	"checkout.session.async_payment_succeeded": PaymentSucceeded,
	"checkout.session.async_payment_failed":    PaymentFailed,
	"payment_intent.succeeded":                 PaymentSucceeded,
	"payment_intent.payment_failed":            PaymentFailed,
	"payment_intent.processing":                PaymentPending,
	"charge.refunded":                          RefundCompleted,
	"refund.created":                           RefundInitiated,
}

// Normalise reads Stripe's event envelope. The id is the event's own evt_... id.
func (stripeProfile) Normalise(_ http.Header, body []byte) (Event, error) {
	doc, err := decodeJSON(body)
	if err != nil {
		return Event{}, err
	}
	e := Event{ID: firstString(doc, "id"), Type: firstString(doc, "type")}
	if e.ID == "" {
		e.ID = derivedID(body)
	}
	obj, _ := lookup(doc, "data.object")
	e.Canonical = Unknown
	if c, ok := stripeTypes[e.Type]; ok {
		e.Canonical = c
	}
	if e.Type == "checkout.session.completed" {
		// A completed session is paid, or an order awaiting a delayed payment (bank debits).
		switch firstString(obj, "payment_status") {
		case "paid", "no_payment_required":
			e.Canonical = PaymentSucceeded
		default:
			e.Canonical = PaymentPending
		}
	}
	e.OrderRef = firstString(obj, "metadata.order_id", "client_reference_id")
	if strings.HasPrefix(e.Type, "payment_intent.") {
		e.PaymentID = firstString(obj, "id")
	} else {
		// payment_intent is an id, or the object itself when the event was expanded.
		e.PaymentID = firstString(obj, "payment_intent", "payment_intent.id")
	}
	e.Currency = strings.ToUpper(firstString(obj, "currency"))
	// Stripe amounts are already in minor units.
	switch {
	case e.Type == "charge.refunded":
		e.Amount, e.HasAmount = firstAmount(obj, 0, "amount_refunded")
	case strings.HasPrefix(e.Type, "checkout.session."):
		e.Amount, e.HasAmount = firstAmount(obj, 0, "amount_total")
	case strings.HasPrefix(e.Type, "payment_intent."):
		if n, ok := firstAmount(obj, 0, "amount_received"); ok && n != 0 {
			e.Amount, e.HasAmount = n, true
		} else {
			e.Amount, e.HasAmount = firstAmount(obj, 0, "amount")
		}
	default:
		e.Amount, e.HasAmount = firstAmount(obj, 0, "amount")
	}
	e.CustomerEmail = firstString(obj, "customer_details.email", "customer_email", "receipt_email", "billing_details.email")
	e.CustomerPhone = firstString(obj, "customer_details.phone", "billing_details.phone")
	return e, nil
}

// stripeSampleTypes; "checkout.session.completed:unpaid" is a completed session whose delayed payment
// is still on its way.
var stripeSampleTypes = []string{
	"checkout.session.completed",
	"checkout.session.completed:unpaid",
	"checkout.session.async_payment_succeeded",
	"checkout.session.async_payment_failed",
	"payment_intent.succeeded",
	"payment_intent.payment_failed",
	"charge.refunded",
	"refund.created",
}

func (stripeProfile) SampleTypes() []string { return append([]string(nil), stripeSampleTypes...) }

// stripeSample carries the ids one sample shares between its objects.
type stripeSample struct {
	SampleParams
	created  int64
	currency string // lower case, as Stripe writes it
	intent   string
	charge   string
	method   string
	email    string
}

// Sample returns a full Stripe event envelope, pretty-printed as Stripe sends it.
func (stripeProfile) Sample(typ string, sp SampleParams) ([]byte, error) {
	sp = sp.withDefaults("USD")
	if sp.ID == "" {
		sp.ID = "evt_" + stripeToken()
	}
	s := stripeSample{
		SampleParams: sp,
		created:      sp.Now.Unix(),
		currency:     strings.ToLower(sp.Currency),
		intent:       "pi_" + stripeToken(),
		charge:       "ch_" + stripeToken(),
		method:       "pm_" + stripeToken(),
		email:        "jenny.rosen@example.com",
	}
	var obj object
	var previous any
	switch typ {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		obj = s.session("paid", typ == "checkout.session.async_payment_succeeded")
	case "checkout.session.completed:unpaid":
		obj = s.session("unpaid", true)
	case "checkout.session.async_payment_failed":
		obj = s.session("unpaid", true)
	case "payment_intent.succeeded":
		obj = s.paymentIntent(true)
	case "payment_intent.payment_failed":
		obj = s.paymentIntent(false)
	case "charge.refunded":
		obj = s.refundedCharge()
		previous = object{{"amount_refunded", 0}, {"refunded", false}}
	case "refund.created":
		obj = s.refund()
	default:
		return nil, errSampleType(providerStripe, typ, stripeSampleTypes)
	}
	data := object{{"object", obj}}
	if previous != nil {
		data = append(data, member{"previous_attributes", previous})
	}
	event := object{
		{"id", sp.ID},
		{"object", "event"},
		{"api_version", stripeAPIVersion},
		{"created", s.created},
		{"data", data},
		{"livemode", false},
		{"pending_webhooks", 1},
		{"request", object{{"id", "req_" + randomToken(14)}, {"idempotency_key", randomUUID()}}},
		{"type", baseType(typ)},
	}
	return json.MarshalIndent(event, "", "  ")
}

// stripeToken looks like the random part of a Stripe id.
func stripeToken() string { return "1P" + randomToken(22) }

func (s stripeSample) metadata() object { return object{{"order_id", s.OrderRef}} }

func (s stripeSample) address() object {
	return object{{"city", nil}, {"country", "US"}, {"line1", nil}, {"line2", nil}, {"postal_code", "94103"}, {"state", nil}}
}

// session is a checkout.session; delayed is a bank debit that settles after the session completes.
func (s stripeSample) session(paymentStatus string, delayed bool) object {
	methods := []string{"card"}
	if delayed {
		methods = []string{"us_bank_account"}
	}
	return object{
		{"id", "cs_test_a1" + randomToken(48)},
		{"object", "checkout.session"},
		{"amount_subtotal", s.Amount},
		{"amount_total", s.Amount},
		{"automatic_tax", object{{"enabled", false}, {"status", nil}}},
		{"cancel_url", "https://shop.example.com/cart"},
		{"client_reference_id", s.OrderRef},
		{"created", s.created - 120},
		{"currency", s.currency},
		{"customer", nil},
		{"customer_details", object{
			{"address", s.address()}, {"email", s.email}, {"name", "Jenny Rosen"},
			{"phone", nil}, {"tax_exempt", "none"}, {"tax_ids", []any{}},
		}},
		{"customer_email", nil},
		{"expires_at", s.created + 86280},
		{"invoice", nil},
		{"livemode", false},
		{"metadata", s.metadata()},
		{"mode", "payment"},
		{"payment_intent", s.intent},
		{"payment_method_types", methods},
		{"payment_status", paymentStatus},
		{"status", "complete"},
		{"success_url", "https://shop.example.com/checkout/success?session_id={CHECKOUT_SESSION_ID}"},
		{"total_details", object{{"amount_discount", 0}, {"amount_shipping", 0}, {"amount_tax", 0}}},
		{"url", nil},
	}
}

func (s stripeSample) paymentIntent(succeeded bool) object {
	received, status := s.Amount, "succeeded"
	var lastError any
	if !succeeded {
		received, status = 0, "requires_payment_method"
		lastError = object{
			{"charge", s.charge},
			{"code", "card_declined"},
			{"decline_code", "insufficient_funds"},
			{"doc_url", "https://stripe.com/docs/error-codes/card-declined"},
			{"message", "Your card has insufficient funds."},
			{"payment_method", object{{"id", s.method}, {"object", "payment_method"}, {"type", "card"}}},
			{"type", "card_error"},
		}
	}
	return object{
		{"id", s.intent},
		{"object", "payment_intent"},
		{"amount", s.Amount},
		{"amount_capturable", 0},
		{"amount_received", received},
		{"capture_method", "automatic_async"},
		{"client_secret", s.intent + "_secret_" + randomToken(25)},
		{"confirmation_method", "automatic"},
		{"created", s.created - 5},
		{"currency", s.currency},
		{"customer", nil},
		{"description", "Order " + s.OrderRef},
		{"last_payment_error", lastError},
		{"latest_charge", s.charge},
		{"livemode", false},
		{"metadata", s.metadata()},
		{"payment_method", s.method},
		{"payment_method_types", []string{"card"}},
		{"receipt_email", s.email},
		{"status", status},
	}
}

// refundedCharge is a charge refunded in full.
func (s stripeSample) refundedCharge() object {
	return object{
		{"id", s.charge},
		{"object", "charge"},
		{"amount", s.Amount},
		{"amount_captured", s.Amount},
		{"amount_refunded", s.Amount},
		{"balance_transaction", "txn_" + stripeToken()},
		{"billing_details", object{{"address", s.address()}, {"email", s.email}, {"name", "Jenny Rosen"}, {"phone", nil}}},
		{"captured", true},
		{"created", s.created - 3600},
		{"currency", s.currency},
		{"customer", nil},
		{"description", "Order " + s.OrderRef},
		{"livemode", false},
		{"metadata", s.metadata()},
		{"paid", true},
		{"payment_intent", s.intent},
		{"payment_method", s.method},
		{"receipt_email", s.email},
		{"receipt_url", "https://pay.stripe.com/receipts/payment/" + randomToken(40)},
		{"refunded", true},
		{"status", "succeeded"},
	}
}

func (s stripeSample) refund() object {
	return object{
		{"id", "re_" + stripeToken()},
		{"object", "refund"},
		{"amount", s.Amount},
		{"balance_transaction", "txn_" + stripeToken()},
		{"charge", s.charge},
		{"created", s.created},
		{"currency", s.currency},
		{"destination_details", object{{"card", object{{"reference_status", "pending"}, {"reference_type", "acquirer_reference_number"}, {"type", "refund"}}}, {"type", "card"}}},
		{"metadata", s.metadata()},
		{"payment_intent", s.intent},
		{"reason", "requested_by_customer"},
		{"receipt_number", nil},
		{"status", "pending"},
	}
}

func (stripeProfile) SignatureHeader() string { return stripeHeader }

// GenerateSecret reports false: Stripe issues the whsec_ secret, which the merchant pastes.
func (stripeProfile) GenerateSecret() (string, bool) { return "", false }
