package views

import (
	"fmt"
	"time"
)

// ProviderOption is one provider of the endpoint form's select, with its one-line help.
type ProviderOption struct {
	Name, Help string
}

// EndpointFormView is the endpoint form (create or edit) with the user's input and the field errors,
// keyed by field name ("name", "provider", "secret", "settings", "algorithm", "encoding", "type_map").
type EndpointFormView struct {
	// Action is where the form posts.
	Action string
	// New is true when creating: the form also asks for the first secret.
	New bool

	Name, Provider, Secret string

	HMACHeader, Algorithm, Encoding, Prefix string

	PathID, PathType, PathOrderRef, PathPaymentID  string
	PathAmount, PathCurrency, PathEmail, PathPhone string
	// TypeMap is one "provider.type=canonical" per line.
	TypeMap string

	Errors     map[string]string
	Providers  []ProviderOption
	Canonicals []string
}

// EndpointNewView is the page that registers an endpoint.
type EndpointNewView struct {
	CSRFToken string
	Form      EndpointFormView
}

// EndpointsView is the endpoints list.
type EndpointsView struct {
	Rows []EndpointListRow
}

// EndpointListRow is one endpoint with its delivery figures of the last 24 hours.
type EndpointListRow struct {
	ID             uint
	Name, Provider string
	Enabled        bool
	IngestURL      string
	LastDeliveryAt time.Time // zero: never
	Deliveries     int64
	Rejected       int64
	RejectionRate  float64 // percent
}

// RejectionText shows the rejection rate, or a dash when nothing arrived.
func (r EndpointListRow) RejectionText() string {
	if r.Deliveries == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", r.RejectionRate)
}

// EndpointDetailView is one endpoint's page: details, secrets, rotation, test events and settings.
type EndpointDetailView struct {
	CSRFToken       string
	ID              uint
	Name, Provider  string
	Enabled         bool
	IngestURL       string
	SignatureHeader string
	CreatedAt       time.Time
	// NewSecret is a secret just created or rotated, shown this once.
	NewSecret string
	Secrets   []SecretRow
	Rotate    RotateFormView
	Test      EndpointTestView
	Form      EndpointFormView
}

// SecretRow is one signing secret, never its plaintext unless just revealed.
type SecretRow struct {
	ID, EndpointID uint
	Hint           string
	CreatedAt      time.Time
	ExpiresAt      time.Time // zero: never
	Valid          bool
	// Revealed is the plaintext after a Reveal posted without htmx; empty otherwise.
	Revealed string
}

// GraceOption is one choice of how long rotated-out secrets keep working.
type GraceOption struct {
	Value, Label string
}

// RotateFormView is the rotate-secret form.
type RotateFormView struct {
	Secret, Grace string
	// Error is about the secret, GraceError about the grace period.
	Error, GraceError string
	// CanGenerate is false where the provider issues its own secrets (stripe).
	CanGenerate bool
	Provider    string
	Graces      []GraceOption
}

// EndpointTestView is the send-a-test-event panel: the form, the last result and the live list.
type EndpointTestView struct {
	EndpointID  uint
	CSRFToken   string
	Types       []string
	Type, Error string
	Result      *EndpointTestResult
	Recent      EndpointRecentView
}

// EndpointTestResult is what the ingest handler answered to a test event.
type EndpointTestResult struct {
	Type       string
	StatusCode int
	Outcome    string
	Error      string
	DeliveryID uint
	EventID    uint
}

// EndpointRecentView is an endpoint's newest deliveries; Poll keeps refreshing while an event waits.
type EndpointRecentView struct {
	EndpointID uint
	Rows       []EndpointDeliveryRow
	Poll       bool
}

// EndpointDeliveryRow is one recent delivery and the status of its event.
type EndpointDeliveryRow struct {
	ID          uint
	ReceivedAt  time.Time
	Outcome     string
	StatusCode  int
	Reason      string
	EventID     uint // 0: none (rejected)
	EventType   string
	EventStatus string
}

// UsersView is the users page.
type UsersView struct {
	CSRFToken string
	Rows      []UserRow
	Roles     []string
	Form      UserFormView
	// NewPassword is a generated password for NewPasswordEmail, shown this once.
	NewPassword, NewPasswordEmail string
}

// UserRow is one user of the merchant.
type UserRow struct {
	ID          uint
	Email, Role string
	Active      bool
	CreatedAt   time.Time
	LastLoginAt time.Time // zero: never
	// Self is the signed-in admin, who may neither deactivate nor demote themselves.
	Self bool
}

// UserFormView is the add-user form; the password is never echoed back.
type UserFormView struct {
	Email, Role string
	Errors      map[string]string
}

// TokensView is the API tokens page.
type TokensView struct {
	CSRFToken string
	Rows      []TokenRow
	Roles     []string
	Form      TokenFormView
	// NewToken is a token just created, shown this once with a curl example.
	NewToken, NewTokenName, CurlExample string
}

// TokenRow is one API token; only its prefix is known after creation.
type TokenRow struct {
	ID                               uint
	Name, Role, Prefix               string
	CreatedAt, LastUsedAt, RevokedAt time.Time // zero: never
}

// TokenFormView is the create-token form.
type TokenFormView struct {
	Name, Role string
	Errors     map[string]string
}

// AuditView is the audit log page: the filters in the URL, one page of entries and its pager.
type AuditView struct {
	Action, Actor string
	Actions       []string
	Rows          []AuditRow
	Pager         Pager
}

// Filtered reports whether a filter narrows the list.
func (v AuditView) Filtered() bool { return v.Action != "" || v.Actor != "" }

// AuditRow is one audit entry; ObjectURL links the object where it has a page.
type AuditRow struct {
	At                               time.Time
	Actor, Action, Object, ObjectURL string
	Detail, RemoteAddr               string
}

// providerHelp is the one-line help of each provider in the endpoint form.
var providerHelp = map[string]string{
	"careempay":  "Careem Pay: an HMAC of the raw body in the header set below (default X-Signature, sha256, hex).",
	"custom":     "Your own JSON webhooks: the HMAC settings below, where each field lives, and what your event types mean.",
	"generic":    "A gateway that signs the raw body with an HMAC (settings below) and sends {\"event\": …, \"data\": {…}}.",
	"shadhinpay": "ShadhinPay: X-ShadhinPay-Signature: sha256=<hex HMAC>. Nothing to configure.",
	"standard":   "Standard Webhooks (Svix and others): webhook-id, webhook-timestamp and webhook-signature with a whsec_ secret.",
	"stripe":     "Stripe: Stripe-Signature with a signed timestamp. Stripe issues its own whsec_ secret: paste it.",
}

// ProviderHelp is the one-line help of a provider for the endpoint form.
func ProviderHelp(provider string) string {
	if h, ok := providerHelp[provider]; ok {
		return h
	}
	return "Signature scheme and payload rules of " + provider + "."
}

// EndpointURL is the address of an endpoint's page.
func EndpointURL(id uint) string { return endpointPath(id) }
