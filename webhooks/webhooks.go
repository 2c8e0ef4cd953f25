// Package webhooks holds the payment providers hooklog receives: their signature schemes (verify and
// sign), the normalisation of their payloads into one canonical event, realistic sample payloads and
// secret generation. It is pure: bytes in, a result out, with no web framework and no database.
//
// Event ids, the dedup keys, per provider:
//
//	stripe      the event's "id" (evt_...)
//	standard    the webhook-id header (svix-id as a fallback), else the generic rules
//	generic     "id", "event_id", the webhook-id header
//	custom      Fields.ID, then as generic
//	careempay   "id", else type + ":" + transaction_id
//	shadhinpay  event + "_" + data.payment_id, as ShadhinPay documents
//
// Whatever a payload lacks, the id falls back to "sha256:" + the hex SHA-256 of the exact body.
package webhooks

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Canonical is the provider-independent meaning of an event. Stored values: never rename.
type Canonical string

// The canonical meanings. Stored values: never rename.
const (
	PaymentSucceeded Canonical = "payment.succeeded"
	PaymentFailed    Canonical = "payment.failed"
	PaymentPending   Canonical = "payment.pending" // e.g. Stripe checkout completed but unpaid -> order awaiting payment
	RefundInitiated  Canonical = "refund.initiated"
	RefundCompleted  Canonical = "refund.completed"
	CustomerUpdated  Canonical = "customer" // customer.created/updated: logged, never touches orders
	Unknown          Canonical = "unknown"  // a type the profile does not map
)

// Canonicals lists every canonical meaning, for forms that map a custom provider's types.
func Canonicals() []Canonical {
	return []Canonical{PaymentSucceeded, PaymentFailed, PaymentPending, RefundInitiated, RefundCompleted, CustomerUpdated, Unknown}
}

// Valid reports whether c is one of the canonical meanings.
func (c Canonical) Valid() bool { return slices.Contains(Canonicals(), c) }

// Event is one normalised provider event.
type Event struct {
	ID            string // provider event id, or a stable derived dedup key; never empty
	Type          string // the provider's own type string, as sent
	Canonical     Canonical
	OrderRef      string // merchant order reference ("" when none)
	PaymentID     string // provider payment / transaction id
	Amount        int64  // minor units (cents)
	HasAmount     bool
	Currency      string // upper-case ISO 4217, "" when absent
	CustomerEmail string
	CustomerPhone string
}

// HMACConfig configures the configurable-HMAC scheme (careempay, generic, custom).
type HMACConfig struct {
	Header    string // default "X-Signature"
	Algorithm string // "sha256" (default) | "sha512"
	Encoding  string // "hex" (default) | "base64"
	Prefix    string // optional, e.g. "sha256="; default ""
}

// FieldMap configures where a custom provider's fields live: dotted JSON paths like "data.object.id".
type FieldMap struct {
	ID, Type, OrderRef, PaymentID, Amount, Currency, CustomerEmail, CustomerPhone string
	Types                                                                         map[string]Canonical // provider type -> canonical
}

// Settings are the per-endpoint options of a profile. Zero value = defaults.
type Settings struct {
	HMAC      HMACConfig
	Fields    FieldMap      // custom only; empty paths fall back to the generic rules
	Tolerance time.Duration // timestamped schemes; 0 means 300s
}

// DefaultTolerance is how far a signed timestamp may lie from now, in the past or the future.
const DefaultTolerance = 300 * time.Second

// tolerance returns the configured tolerance, or the default for a zero or negative one.
func (s Settings) tolerance() time.Duration {
	if s.Tolerance > 0 {
		return s.Tolerance
	}
	return DefaultTolerance
}

// Profile is one provider: its signature scheme and its payload rules.
type Profile interface {
	Name() string
	// Verify checks the signature over the exact raw body against every secret (raw strings as stored,
	// e.g. "whsec_..."), constant-time (hmac.Equal), returning nil or an error wrapping one of the sentinels.
	Verify(h http.Header, body []byte, secrets []string, now time.Time) error
	// Normalise extracts the event. The body is already verified. Non-JSON -> error wrapping ErrNotJSON.
	Normalise(h http.Header, body []byte) (Event, error)
	// Sign returns the headers a real provider would send for body (id is the message id, used by schemes
	// that sign one, e.g. Standard Webhooks' webhook-id; ignored otherwise).
	Sign(secret string, body []byte, now time.Time, id string) (http.Header, error)
	// Sample returns a realistic JSON payload of that provider for one of its event types (see SampleTypes).
	Sample(typ string, p SampleParams) ([]byte, error)
	// SampleTypes lists the types Sample accepts. A type may carry a variant after a colon
	// ("checkout.session.completed:unpaid"); the payload's own type is the part before it.
	SampleTypes() []string
	// SignatureHeader names the header that carries the signature (for display and evidence).
	SignatureHeader() string
	// GenerateSecret returns a fresh random secret in the provider's format, and false where the provider
	// itself issues the secret (stripe: the merchant must paste Stripe's whsec_ secret).
	GenerateSecret() (string, bool)
}

// SampleParams are the values a sample payload carries; zero fields get realistic random defaults.
type SampleParams struct {
	ID       string    // event id to use ("" -> random, e.g. "evt_" + random for stripe)
	OrderRef string    // "" -> random like "ord_..."
	Amount   int64     // minor units; 0 -> 2000
	Currency string    // "" -> provider's usual (USD for stripe/generic, AED for careempay, BDT for shadhinpay)
	Now      time.Time // zero -> time.Now()
}

// Sentinel errors. The ingest handler maps ErrMalformedHeader to 400 and the other verification
// errors to 401, and stores err.Error() as the rejection reason, so every error wraps one of these
// with the detail an operator needs.
var (
	ErrNoSignature      = errors.New("no signature header")
	ErrMalformedHeader  = errors.New("malformed signature header")
	ErrTimestamp        = errors.New("timestamp outside tolerance")
	ErrNoValidSignature = errors.New("no signature matched")
	ErrNoSecrets        = errors.New("endpoint has no valid secret")
	ErrNotJSON          = errors.New("body is not valid JSON")
	ErrUnknownProvider  = errors.New("unknown provider")
	ErrInvalidSettings  = errors.New("invalid provider settings")
)

// Provider names, as stored on endpoints.
const (
	providerStripe     = "stripe"
	providerStandard   = "standard"
	providerCareemPay  = "careempay"
	providerShadhinPay = "shadhinpay"
	providerGeneric    = "generic"
	providerCustom     = "custom"
)

// New returns the profile of provider configured by s.
func New(provider string, s Settings) (Profile, error) {
	name := strings.ToLower(strings.TrimSpace(provider))
	switch name {
	case providerStripe:
		return stripeProfile{tolerance: s.tolerance()}, nil
	case providerStandard:
		return standardProfile{tolerance: s.tolerance()}, nil
	case providerShadhinPay:
		return shadhinPayProfile{scheme: shadhinPayScheme}, nil
	case providerCareemPay, providerGeneric, providerCustom:
		scheme, err := newHMACScheme(s.HMAC)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		switch name {
		case providerCareemPay:
			return careemPayProfile{scheme: scheme}, nil
		case providerGeneric:
			return genericProfile{scheme: scheme}, nil
		}
		fields, err := cleanFieldMap(s.Fields)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return customProfile{scheme: scheme, fields: fields}, nil
	}
	return nil, fmt.Errorf("%w %q (want one of %s)", ErrUnknownProvider, snippet(provider), strings.Join(Providers(), ", "))
}

// Providers returns the sorted provider names, for forms and CLI help.
func Providers() []string {
	return []string{providerCareemPay, providerCustom, providerGeneric, providerShadhinPay, providerStandard, providerStripe}
}

// cleanSecrets drops empty secrets and the whitespace a paste may leave around one.
func cleanSecrets(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// errNoSecrets explains why an endpoint has no usable secret.
func errNoSecrets(given int) error {
	if given == 0 {
		return fmt.Errorf("%w: no secret is configured", ErrNoSecrets)
	}
	return fmt.Errorf("%w: none of the %d configured secrets is usable", ErrNoSecrets, given)
}

// errNoMatch reports how much was tried, which tells a rotation mistake from a tampered body.
func errNoMatch(sigs, secrets int) error {
	return fmt.Errorf("%w: %s checked against %s (wrong secret or modified body)",
		ErrNoValidSignature, plural(sigs, "signature"), plural(secrets, "secret"))
}

// checkTimestamp enforces the tolerance window on both sides of now.
func checkTimestamp(unix int64, now time.Time, tolerance time.Duration) error {
	d := now.Sub(time.Unix(unix, 0))
	switch {
	case d > tolerance:
		return fmt.Errorf("%w: signed %s in the past, tolerance %s", ErrTimestamp, d.Round(time.Second), tolerance)
	case -d > tolerance:
		return fmt.Errorf("%w: signed %s in the future, tolerance %s", ErrTimestamp, (-d).Round(time.Second), tolerance)
	}
	return nil
}

// derivedID is the stable dedup key of a payload that names no event id: a hash of the exact body.
func derivedID(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// snippet shortens attacker-controlled text before it goes into a stored error message.
func snippet(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// randomBytes reads n bytes from crypto/rand, which never fails since Go 1.24.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// hexSecret is the secret format of the HMAC providers: 32 random bytes as 64 hex digits.
func hexSecret() string { return hex.EncodeToString(randomBytes(32)) }

// whsecSecret is the Standard Webhooks secret format: "whsec_" + base64 of 24 random bytes.
func whsecSecret() string { return "whsec_" + base64.StdEncoding.EncodeToString(randomBytes(24)) }
