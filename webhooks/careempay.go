package webhooks

import (
	"net/http"
	"strings"
	"time"
)

// careemPayProfile is the Careem Pay Merchant API (seed 000). Its documentation names no signature
// scheme, so the endpoint's configurable HMAC settings apply. Fields are at the top level:
// type, transaction_id, status, amount (decimal major units), currency, order_id.
type careemPayProfile struct{ scheme hmacScheme }

func (careemPayProfile) Name() string { return providerCareemPay }

func (p careemPayProfile) Verify(h http.Header, body []byte, secrets []string, _ time.Time) error {
	return p.scheme.verify(h, body, secrets)
}

var careemPayTypes = map[string]Canonical{
	"PAYMENT_SUCCESS":  PaymentSucceeded,
	"PAYMENT_FAILED":   PaymentFailed,
	"REFUND_PROCESSED": RefundCompleted,
}

// Normalise: Careem Pay sends no event id and its guide deduplicates by transaction_id, so the id is
// the payload's "id" when present, else type + ":" + transaction_id (a refund of a transaction is a
// different event than its payment), else a hash of the body. The order reference falls back to
// the transaction id, since a merchant may track Careem Pay orders by it.
func (careemPayProfile) Normalise(_ http.Header, body []byte) (Event, error) {
	doc, err := decodeJSON(body)
	if err != nil {
		return Event{}, err
	}
	e := Event{Type: firstString(doc, "type"), Canonical: Unknown}
	if c, ok := careemPayTypes[strings.ToUpper(e.Type)]; ok {
		e.Canonical = c
	}
	e.PaymentID = firstString(doc, "transaction_id")
	e.ID = firstString(doc, "id")
	if e.ID == "" && e.Type != "" && e.PaymentID != "" {
		e.ID = e.Type + ":" + e.PaymentID
	}
	if e.ID == "" {
		e.ID = derivedID(body)
	}
	e.OrderRef = firstString(doc, "order_id", "transaction_id")
	e.Currency = strings.ToUpper(firstString(doc, "currency"))
	e.Amount, e.HasAmount = firstAmount(doc, MinorUnits(e.Currency), "amount")
	e.CustomerEmail = firstString(doc, "customer_email", "customer.email")
	e.CustomerPhone = firstString(doc, "customer_phone", "customer.phone")
	return e, nil
}

func (p careemPayProfile) Sign(secret string, body []byte, _ time.Time, _ string) (http.Header, error) {
	return p.scheme.sign(secret, body)
}

var careemPaySampleTypes = []string{"PAYMENT_SUCCESS", "PAYMENT_FAILED", "REFUND_PROCESSED"}

func (careemPayProfile) SampleTypes() []string { return append([]string(nil), careemPaySampleTypes...) }

// Sample: the payload has no event id, so sp.ID becomes the transaction_id and the event id is then
// typ + ":" + sp.ID.
func (careemPayProfile) Sample(typ string, sp SampleParams) ([]byte, error) {
	sp = sp.withDefaults("AED")
	if sp.ID == "" {
		sp.ID = "TXN" + randomToken(16)
	}
	status := map[string]string{"PAYMENT_SUCCESS": "SUCCESS", "PAYMENT_FAILED": "FAILED", "REFUND_PROCESSED": "REFUNDED"}[typ]
	if status == "" {
		return nil, errSampleType(providerCareemPay, typ, careemPaySampleTypes)
	}
	return object{
		{"type", typ},
		{"transaction_id", sp.ID},
		{"status", status},
		{"amount", sp.major()},
		{"currency", sp.Currency},
		{"order_id", sp.OrderRef},
		{"timestamp", sp.Now.Format(time.RFC3339)},
	}.MarshalJSON()
}

func (p careemPayProfile) SignatureHeader() string { return p.scheme.display }

func (careemPayProfile) GenerateSecret() (string, bool) { return hexSecret(), true }
