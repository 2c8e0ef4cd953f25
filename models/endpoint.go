package models

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"hooklog/webhooks"
)

// Endpoint is one ingest URL of a merchant, for one provider.
type Endpoint struct {
	ID         uint   `gorm:"primaryKey"`
	MerchantID uint   `gorm:"index;not null"`
	Name       string `gorm:"not null"`
	Provider   string `gorm:"not null"`
	// Token is the unguessable public part of the ingest URL: /in/{token}.
	Token     string            `gorm:"uniqueIndex;not null"`
	Settings  webhooks.Settings `gorm:"serializer:json"`
	Enabled   bool              `gorm:"not null;default:true"`
	CreatedAt time.Time
	UpdatedAt time.Time
	Merchant  Merchant `gorm:"constraint:OnDelete:CASCADE"`
}

// EndpointInput is what a person or the CLI gives to create or edit an endpoint.
type EndpointInput struct {
	Name     string
	Provider string
	Settings webhooks.Settings
}

// Validate checks the input and returns field errors keyed by field name.
func (in *EndpointInput) Validate() map[string]string {
	errs := map[string]string{}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		errs["name"] = "Give the endpoint a name, for example “Stripe live”."
	} else if len(in.Name) > 100 {
		errs["name"] = "Keep the name under 100 characters."
	}
	if _, err := webhooks.New(in.Provider, in.Settings); err != nil {
		if errors.Is(err, webhooks.ErrUnknownProvider) {
			errs["provider"] = "Choose one of: " + strings.Join(webhooks.Providers(), ", ") + "."
		} else {
			errs["settings"] = err.Error()
		}
	}
	h := in.Settings.HMAC
	if h.Algorithm != "" && h.Algorithm != "sha256" && h.Algorithm != "sha512" {
		errs["algorithm"] = "Algorithm must be sha256 or sha512."
	}
	if h.Encoding != "" && h.Encoding != "hex" && h.Encoding != "base64" {
		errs["encoding"] = "Encoding must be hex or base64."
	}
	return errs
}

// ValidationError carries field errors back to a form or a CLI.
type ValidationError struct{ Fields map[string]string }

func (e *ValidationError) Error() string {
	var parts []string
	for k, v := range e.Fields {
		parts = append(parts, k+": "+v)
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

func newEndpointToken() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return "ep_" + base64.RawURLEncoding.EncodeToString(b)
}

// Profile builds the endpoint's webhooks profile from its provider and settings.
func (e *Endpoint) Profile() (webhooks.Profile, error) {
	return webhooks.New(e.Provider, e.Settings)
}

// CreateEndpoint registers an endpoint with its first secret. An empty secret is generated where the
// provider allows it; the plaintext secret is returned once so it can be shown.
func (s *Store) CreateEndpoint(merchantID uint, in EndpointInput, secret string) (*Endpoint, string, error) {
	if errs := in.Validate(); len(errs) > 0 {
		return nil, "", &ValidationError{Fields: errs}
	}
	profile, _ := webhooks.New(in.Provider, in.Settings)
	secret = strings.TrimSpace(secret)
	if secret == "" {
		gen, ok := profile.GenerateSecret()
		if !ok {
			return nil, "", &ValidationError{Fields: map[string]string{"secret": "Paste the signing secret " + in.Provider + " shows you; it issues its own."}}
		}
		secret = gen
	}
	now := s.Now()
	e := Endpoint{MerchantID: merchantID, Name: in.Name, Provider: in.Provider, Token: newEndpointToken(), Settings: in.Settings, Enabled: true, CreatedAt: now, UpdatedAt: now}
	err := s.DB.Transaction(func(tx *gorm.DB) error {
		if err := tx.Omit("Merchant").Create(&e).Error; err != nil {
			return err
		}
		return tx.Create(&Secret{EndpointID: e.ID, Ciphertext: s.box.Seal([]byte(secret)), Hint: secretHint(secret), CreatedAt: now}).Error
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: create endpoint: %w", err)
	}
	return &e, secret, nil
}

// UpdateEndpoint changes an endpoint's name, provider and settings.
func (s *Store) UpdateEndpoint(merchantID, id uint, in EndpointInput) (*Endpoint, error) {
	if errs := in.Validate(); len(errs) > 0 {
		return nil, &ValidationError{Fields: errs}
	}
	e, err := s.Endpoint(merchantID, id)
	if err != nil {
		return nil, err
	}
	e.Name, e.Provider, e.Settings, e.UpdatedAt = in.Name, in.Provider, in.Settings, s.Now()
	defer s.forgetIngestTargets()
	if err := s.DB.Omit("Merchant").Save(e).Error; err != nil {
		return nil, fmt.Errorf("store: update endpoint %d: %w", id, err)
	}
	return e, nil
}

// SetEndpointEnabled enables or disables an endpoint. A disabled endpoint answers 410.
func (s *Store) SetEndpointEnabled(merchantID, id uint, enabled bool) error {
	defer s.forgetIngestTargets()
	res := s.DB.Model(&Endpoint{}).Where("merchant_id = ? AND id = ?", merchantID, id).
		Updates(map[string]any{"enabled": enabled, "updated_at": s.Now()})
	if res.Error != nil {
		return fmt.Errorf("store: enable endpoint %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: endpoint %d: %w", id, ErrNotFound)
	}
	return nil
}

// Endpoint loads one of a merchant's endpoints.
func (s *Store) Endpoint(merchantID, id uint) (*Endpoint, error) {
	var e Endpoint
	if err := s.DB.Where("merchant_id = ?", merchantID).Take(&e, id).Error; err != nil {
		return nil, notFound(fmt.Sprintf("endpoint %d", id), err)
	}
	return &e, nil
}

// EndpointByID loads an endpoint whoever owns it (workers and the CLI).
func (s *Store) EndpointByID(id uint) (*Endpoint, error) {
	var e Endpoint
	if err := s.DB.Take(&e, id).Error; err != nil {
		return nil, notFound(fmt.Sprintf("endpoint %d", id), err)
	}
	return &e, nil
}

// EndpointByToken loads the endpoint behind an ingest URL.
func (s *Store) EndpointByToken(token string) (*Endpoint, error) {
	var e Endpoint
	if err := s.DB.Where("token = ?", token).Take(&e).Error; err != nil {
		return nil, notFound("endpoint by token", err)
	}
	return &e, nil
}

// Endpoints lists a merchant's endpoints by name.
func (s *Store) Endpoints(merchantID uint) ([]Endpoint, error) {
	var es []Endpoint
	if err := s.DB.Where("merchant_id = ?", merchantID).Order("name, id").Find(&es).Error; err != nil {
		return nil, fmt.Errorf("store: list endpoints: %w", err)
	}
	return es, nil
}

// IngestURL is the URL a provider posts to.
func (e *Endpoint) IngestURL(baseURL string) string {
	return strings.TrimRight(baseURL, "/") + "/in/" + e.Token
}
