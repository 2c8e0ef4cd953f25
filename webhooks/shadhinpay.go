package webhooks

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// shadhinPayScheme is ShadhinPay's fixed signature: X-ShadhinPay-Signature: sha256=<hex HMAC-SHA256>.
// Their guide signs JSON.stringify of the parsed body; we verify the raw body, which is what their
// sender serialises in the first place.
var shadhinPayScheme, _ = newHMACScheme(HMACConfig{Header: shadhinPayHeader, Algorithm: "sha256", Encoding: "hex", Prefix: "sha256="})

const shadhinPayHeader = "X-ShadhinPay-Signature"

// shadhinPayProfile is ShadhinPay (seed 004): {"event": ..., "data": {payment_id, transaction_id,
// amount, currency, customer_phone, metadata: {order_id}}}. It ignores the endpoint's HMAC settings.
type shadhinPayProfile struct{ scheme hmacScheme }

func (shadhinPayProfile) Name() string { return providerShadhinPay }

func (p shadhinPayProfile) Verify(h http.Header, body []byte, secrets []string, _ time.Time) error {
	return p.scheme.verify(h, body, secrets)
}

var shadhinPayTypes = map[string]Canonical{
	"payment.completed": PaymentSucceeded,
	"payment.failed":    PaymentFailed,
	"payment.refunded":  RefundCompleted,
}

// Normalise: the id is ShadhinPay's own idempotency key, event + "_" + data.payment_id, or a hash of
// the body when either is missing.
func (shadhinPayProfile) Normalise(_ http.Header, body []byte) (Event, error) {
	doc, err := decodeJSON(body)
	if err != nil {
		return Event{}, err
	}
	e := Event{Type: firstString(doc, "event"), Canonical: Unknown}
	if c, ok := shadhinPayTypes[e.Type]; ok {
		e.Canonical = c
	}
	e.PaymentID = firstString(doc, "data.payment_id")
	if e.Type != "" && e.PaymentID != "" {
		e.ID = e.Type + "_" + e.PaymentID
	} else {
		e.ID = derivedID(body)
	}
	e.OrderRef = firstString(doc, "data.metadata.order_id", "data.order_id")
	e.Currency = strings.ToUpper(firstString(doc, "data.currency"))
	e.Amount, e.HasAmount = firstAmount(doc, MinorUnits(e.Currency), "data.amount")
	e.CustomerEmail = firstString(doc, "data.customer_email")
	e.CustomerPhone = firstString(doc, "data.customer_phone")
	return e, nil
}

func (p shadhinPayProfile) Sign(secret string, body []byte, _ time.Time, _ string) (http.Header, error) {
	return p.scheme.sign(secret, body)
}

var shadhinPaySampleTypes = []string{"payment.completed", "payment.failed", "payment.refunded"}

func (shadhinPayProfile) SampleTypes() []string {
	return append([]string(nil), shadhinPaySampleTypes...)
}

// Sample: the payload has no event id, so sp.ID becomes data.payment_id and the event id is then
// typ + "_" + sp.ID. Amounts are written the way JSON.stringify writes numbers (1000, 100.5).
func (shadhinPayProfile) Sample(typ string, sp SampleParams) ([]byte, error) {
	sp = sp.withDefaults("BDT")
	if sp.ID == "" {
		sp.ID = "pay_" + randomToken(16)
	}
	data := object{
		{"payment_id", sp.ID},
		{"transaction_id", "TXN" + strings.ToUpper(randomToken(12))},
		{"amount", json.Number(formatAmountShort(sp.Amount, sp.Currency))},
		{"currency", sp.Currency},
	}
	switch typ {
	case "payment.completed":
		data = append(data, member{"status", "completed"}, member{"paid_at", sp.Now.Format(time.RFC3339)})
	case "payment.failed":
		data = append(data, member{"status", "failed"}, member{"failure_reason", "insufficient_balance"})
	case "payment.refunded":
		data = append(data, member{"status", "refunded"}, member{"refunded_at", sp.Now.Format(time.RFC3339)})
	default:
		return nil, errSampleType(providerShadhinPay, typ, shadhinPaySampleTypes)
	}
	data = append(data,
		member{"customer_phone", "+8801712345678"},
		member{"metadata", object{{"order_id", sp.OrderRef}}},
	)
	return object{{"event", typ}, {"data", data}}.MarshalJSON()
}

func (p shadhinPayProfile) SignatureHeader() string { return p.scheme.display }

func (shadhinPayProfile) GenerateSecret() (string, bool) { return hexSecret(), true }
