package webhooks

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// customProfile is a provider the merchant describes: the configurable HMAC scheme, and JSON paths
// (Settings.Fields) for the event's fields. Every field first tries its path, then the generic rules;
// a type missing from Fields.Types is mapped by the generic rules, else Unknown.
type customProfile struct {
	scheme hmacScheme
	fields FieldMap
}

func (customProfile) Name() string { return providerCustom }

func (p customProfile) Verify(h http.Header, body []byte, secrets []string, _ time.Time) error {
	return p.scheme.verify(h, body, secrets)
}

func (p customProfile) Normalise(h http.Header, body []byte) (Event, error) {
	return normaliseFields(h, body, p.fields, false)
}

func (p customProfile) Sign(secret string, body []byte, _ time.Time, _ string) (http.Header, error) {
	return p.scheme.sign(secret, body)
}

// SampleTypes lists the generic types, then the provider's own types from Fields.Types.
func (p customProfile) SampleTypes() []string {
	types := genericSampleTypes()
	for _, t := range slices.Sorted(maps.Keys(p.fields.Types)) {
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	return types
}

// Sample writes a generic-shaped payload with every mapped field moved to its configured path. One
// of the provider's own types is written with the generic payload of the canonical it maps to.
func (p customProfile) Sample(typ string, sp SampleParams) ([]byte, error) {
	if slices.Contains(genericSampleTypes(), typ) {
		return genericSample(providerCustom, typ, sp, p.fields, genericStyle)
	}
	c, ok := p.fields.Types[typ]
	if !ok {
		return nil, errSampleType(providerCustom, typ, p.SampleTypes())
	}
	template := map[Canonical]string{
		PaymentSucceeded: "payment.completed",
		PaymentFailed:    "payment.failed",
		PaymentPending:   "payment.updated:pending",
		RefundInitiated:  "refund.initiated",
		RefundCompleted:  "refund.completed",
		CustomerUpdated:  "customer.updated",
	}[c]
	if template == "" {
		template = "payment.completed"
	}
	return genericSampleAs(providerCustom, template, typ, sp, p.fields, genericStyle)
}

func (p customProfile) SignatureHeader() string { return p.scheme.display }

func (customProfile) GenerateSecret() (string, bool) { return hexSecret(), true }

// cleanFieldMap trims the paths of fm, and refuses paths with an empty segment and types mapped to
// no canonical meaning.
func cleanFieldMap(fm FieldMap) (FieldMap, error) {
	paths := []struct {
		name string
		path *string
	}{
		{"id", &fm.ID}, {"type", &fm.Type}, {"order reference", &fm.OrderRef}, {"payment id", &fm.PaymentID},
		{"amount", &fm.Amount}, {"currency", &fm.Currency}, {"customer email", &fm.CustomerEmail}, {"customer phone", &fm.CustomerPhone},
	}
	for _, f := range paths {
		*f.path = strings.TrimSpace(*f.path)
		if *f.path != "" && slices.Contains(strings.Split(*f.path, "."), "") {
			return FieldMap{}, fmt.Errorf("%w: %s path %q has an empty segment", ErrInvalidSettings, f.name, snippet(*f.path))
		}
	}
	for _, t := range slices.Sorted(maps.Keys(fm.Types)) {
		if t == "" {
			return FieldMap{}, fmt.Errorf("%w: an empty type is mapped", ErrInvalidSettings)
		}
		if c := fm.Types[t]; !c.Valid() {
			return FieldMap{}, fmt.Errorf("%w: type %q maps to %q, which is not a canonical event", ErrInvalidSettings, snippet(t), snippet(string(c)))
		}
	}
	fm.Types = maps.Clone(fm.Types)
	return fm, nil
}
