package webhooks

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// genericProfile is a gateway signing the raw body with the configurable HMAC scheme and sending
// {"event": ..., "data": {...}} payloads (seeds 002 and 003).
type genericProfile struct{ scheme hmacScheme }

func (genericProfile) Name() string { return providerGeneric }

func (p genericProfile) Verify(h http.Header, body []byte, secrets []string, _ time.Time) error {
	return p.scheme.verify(h, body, secrets)
}

func (genericProfile) Normalise(h http.Header, body []byte) (Event, error) {
	return normaliseFields(h, body, FieldMap{}, false)
}

func (p genericProfile) Sign(secret string, body []byte, _ time.Time, _ string) (http.Header, error) {
	return p.scheme.sign(secret, body)
}

func (genericProfile) Sample(typ string, sp SampleParams) ([]byte, error) {
	return genericSample(providerGeneric, typ, sp, FieldMap{}, genericStyle)
}

func (genericProfile) SampleTypes() []string { return genericSampleTypes() }

func (p genericProfile) SignatureHeader() string { return p.scheme.display }

func (genericProfile) GenerateSecret() (string, bool) { return hexSecret(), true }

// Where the generic rules look for each field, in order.
var (
	genericIDPaths       = []string{"id", "event_id"}
	genericTypePaths     = []string{"event", "type"}
	genericOrderPaths    = []string{"data.orderId", "data.order_id", "data.metadata.order_id"}
	genericPaymentPaths  = []string{"data.paymentId", "data.payment_id", "data.transaction_id", "data.id"}
	genericAmountPaths   = []string{"data.amount"}
	genericCurrencyPaths = []string{"data.currency"}
	genericEmailPaths    = []string{"data.email", "data.customer.email", "data.customer_email"}
	genericPhonePaths    = []string{"data.customer_phone", "data.phone", "data.customer.phone"}
)

// genericTypes maps the generic gateway's types; payment.updated is decided by data.status.
var genericTypes = map[string]Canonical{
	"payment.completed": PaymentSucceeded,
	"payment.succeeded": PaymentSucceeded,
	"payment.failed":    PaymentFailed,
	"refund.initiated":  RefundInitiated,
	"refund.completed":  RefundCompleted,
	"customer.created":  CustomerUpdated,
	"customer.updated":  CustomerUpdated,
}

// genericCanonical maps typ by the generic rules (case-insensitively).
func genericCanonical(typ string, doc any) Canonical {
	t := strings.ToLower(typ)
	if t == "payment.updated" {
		return paymentStatusCanonical(firstString(doc, "data.status"))
	}
	if c, ok := genericTypes[t]; ok {
		return c
	}
	return Unknown
}

// paymentStatusCanonical maps the status of a payment.updated event.
func paymentStatusCanonical(status string) Canonical {
	switch strings.ToLower(status) {
	case "completed", "succeeded", "paid":
		return PaymentSucceeded
	case "failed":
		return PaymentFailed
	case "refunded":
		return RefundCompleted
	case "pending":
		return PaymentPending
	}
	return Unknown
}

// normaliseFields applies the generic rules, each field first looked up at its FieldMap path when one
// is set. The event id is, in order: the mapped path, "id", "event_id", the webhook-id header, and
// finally a hash of the body; headerIDFirst (Standard Webhooks) puts the header in front.
func normaliseFields(h http.Header, body []byte, fm FieldMap, headerIDFirst bool) (Event, error) {
	doc, err := decodeJSON(body)
	if err != nil {
		return Event{}, err
	}
	var e Event
	headerID := standardHeader(h, "id")
	if headerIDFirst {
		e.ID = headerID
	}
	if e.ID == "" {
		e.ID = firstString(doc, prepend(fm.ID, genericIDPaths)...)
	}
	if e.ID == "" {
		e.ID = headerID
	}
	if e.ID == "" {
		e.ID = derivedID(body)
	}
	e.Type = firstString(doc, prepend(fm.Type, genericTypePaths)...)
	e.Canonical = genericCanonical(e.Type, doc)
	if c, ok := fm.Types[e.Type]; ok {
		e.Canonical = c
	}
	e.OrderRef = firstString(doc, prepend(fm.OrderRef, genericOrderPaths)...)
	e.PaymentID = firstString(doc, prepend(fm.PaymentID, genericPaymentPaths)...)
	e.Currency = strings.ToUpper(firstString(doc, prepend(fm.Currency, genericCurrencyPaths)...))
	e.Amount, e.HasAmount = firstAmount(doc, MinorUnits(e.Currency), prepend(fm.Amount, genericAmountPaths)...)
	e.CustomerEmail = firstString(doc, prepend(fm.CustomerEmail, genericEmailPaths)...)
	e.CustomerPhone = firstString(doc, prepend(fm.CustomerPhone, genericPhonePaths)...)
	return e, nil
}

// genericSampleTypes are the sample types of the generic-shaped providers.
func genericSampleTypes() []string {
	return []string{
		"payment.completed", "payment.failed", "payment.updated", "payment.updated:pending",
		"refund.initiated", "refund.completed", "customer.created", "customer.updated",
	}
}

// fieldKind names the Event field a sample value feeds, so a custom FieldMap can move it.
type fieldKind int

const (
	kindOther fieldKind = iota
	kindID
	kindType
	kindOrderRef
	kindPaymentID
	kindAmount
	kindCurrency
	kindEmail
	kindPhone
)

// path returns the custom path of kind, "" when the generic place is kept.
func (fm FieldMap) path(k fieldKind) string {
	switch k {
	case kindID:
		return fm.ID
	case kindType:
		return fm.Type
	case kindOrderRef:
		return fm.OrderRef
	case kindPaymentID:
		return fm.PaymentID
	case kindAmount:
		return fm.Amount
	case kindCurrency:
		return fm.Currency
	case kindEmail:
		return fm.CustomerEmail
	case kindPhone:
		return fm.CustomerPhone
	}
	return ""
}

// sampleField is one value of a generic-shaped sample at its default path.
type sampleField struct {
	kind  fieldKind
	path  string
	value any
}

// sampleStyle is what differs between the generic-shaped envelopes.
type sampleStyle struct {
	typeKey   string // "event" or "type"
	withID    bool   // the body carries an event id
	timestamp string // time layout of the top-level timestamp
}

var (
	genericStyle  = sampleStyle{typeKey: "event", withID: true, timestamp: time.RFC3339}
	standardStyle = sampleStyle{typeKey: "type", withID: false, timestamp: "2006-01-02T15:04:05.000000Z07:00"}
)

// genericSample builds a generic-shaped payload of sampleType.
func genericSample(provider, sampleType string, sp SampleParams, fm FieldMap, style sampleStyle) ([]byte, error) {
	return genericSampleAs(provider, sampleType, baseType(sampleType), sp, fm, style)
}

// genericSampleAs builds the payload of sampleType but writes payloadType into it (a custom provider's
// own name for that kind of event).
func genericSampleAs(provider, sampleType, payloadType string, sp SampleParams, fm FieldMap, style sampleStyle) ([]byte, error) {
	sp = sp.withDefaults("USD")
	if sp.ID == "" {
		sp.ID = "evt_" + randomToken(20)
	}
	fields := []sampleField{}
	if style.withID {
		fields = append(fields, sampleField{kindID, "id", sp.ID})
	}
	fields = append(fields,
		sampleField{kindType, style.typeKey, payloadType},
		sampleField{kindOther, "timestamp", sp.Now.Format(style.timestamp)},
	)
	payment := sampleField{kindPaymentID, "data.paymentId", "pay_" + randomToken(14)}
	order := sampleField{kindOrderRef, "data.orderId", sp.OrderRef}
	amount := sampleField{kindAmount, "data.amount", sp.major()}
	currency := sampleField{kindCurrency, "data.currency", sp.Currency}
	email := sampleField{kindEmail, "data.customer.email", "jane.doe@example.com"}
	phone := sampleField{kindPhone, "data.customer.phone", "+15555550123"}
	status := func(s string) sampleField { return sampleField{kindOther, "data.status", s} }
	switch sampleType {
	case "payment.completed":
		fields = append(fields, payment, order, status("completed"), amount, currency,
			sampleField{kindOther, "data.method", "card"}, email, phone)
	case "payment.failed":
		fields = append(fields, payment, order, status("failed"), amount, currency,
			sampleField{kindOther, "data.method", "card"},
			sampleField{kindOther, "data.failureReason", "insufficient_funds"}, email, phone)
	case "payment.updated", "payment.updated:pending":
		// The shape of seed 003.
		st := "completed"
		if sampleType == "payment.updated:pending" {
			st = "pending"
		}
		fields = append(fields, payment, status(st), amount, currency, order)
	case "refund.initiated", "refund.completed":
		fields = append(fields, sampleField{kindOther, "data.refundId", "rfd_" + randomToken(14)},
			payment, order, status(strings.TrimPrefix(sampleType, "refund.")), amount, currency,
			sampleField{kindOther, "data.reason", "requested_by_customer"})
	case "customer.created", "customer.updated":
		fields = append(fields, sampleField{kindOther, "data.customerId", "cus_" + randomToken(14)},
			sampleField{kindOther, "data.name", "Jane Doe"},
			sampleField{kindEmail, "data.email", "jane.doe@example.com"},
			sampleField{kindPhone, "data.phone", "+15555550123"})
	default:
		return nil, errSampleType(provider, sampleType, genericSampleTypes())
	}
	doc := &object{}
	for _, f := range fields {
		path := f.path
		if p := fm.path(f.kind); p != "" {
			path = p
		}
		if err := doc.set(path, f.value); err != nil {
			return nil, fmt.Errorf("%s: sample: %w", provider, err)
		}
	}
	return doc.MarshalJSON()
}
