package models

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Secret is one signing secret of an endpoint, encrypted at rest. Several can be valid at once, so a
// rotated secret keeps verifying until its grace period ends.
type Secret struct {
	ID         uint   `gorm:"primaryKey"`
	EndpointID uint   `gorm:"index;not null"`
	Ciphertext []byte `gorm:"not null"`
	// Hint is the last four characters, enough to tell secrets apart without revealing them.
	Hint      string `gorm:"not null"`
	CreatedAt time.Time
	ExpiresAt *time.Time
	Endpoint  Endpoint `gorm:"constraint:OnDelete:CASCADE"`
}

func secretHint(secret string) string {
	if len(secret) <= 8 {
		return "…"
	}
	return "…" + secret[len(secret)-4:]
}

// Valid reports whether the secret still verifies signatures at t.
func (s *Secret) Valid(t time.Time) bool { return s.ExpiresAt == nil || t.Before(*s.ExpiresAt) }

// Secrets lists an endpoint's secrets, newest first, including expired ones.
func (s *Store) Secrets(endpointID uint) ([]Secret, error) {
	var ss []Secret
	if err := s.DB.Where("endpoint_id = ?", endpointID).Order("id DESC").Find(&ss).Error; err != nil {
		return nil, fmt.Errorf("store: list secrets: %w", err)
	}
	return ss, nil
}

// ValidSecrets returns the plaintext of an endpoint's secrets that are valid now, newest first.
func (s *Store) ValidSecrets(endpointID uint) ([]string, error) {
	open, err := s.openValidSecrets(endpointID)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(open))
	for i, o := range open {
		out[i] = o.plaintext
	}
	return out, nil
}

// openSecret is a secret decrypted, with its other fields (but not its ciphertext).
type openSecret struct {
	meta      Secret
	plaintext string
}

// openValidSecrets decrypts an endpoint's secrets that are valid now, newest first. An expired
// secret is never opened: it cannot become valid again.
func (s *Store) openValidSecrets(endpointID uint) ([]openSecret, error) {
	ss, err := s.Secrets(endpointID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	var out []openSecret
	for _, sec := range ss {
		if !sec.Valid(now) {
			continue
		}
		pt, err := s.box.Open(sec.Ciphertext)
		if err != nil {
			return nil, fmt.Errorf("store: secret %d of endpoint %d: %w", sec.ID, endpointID, err)
		}
		sec.Ciphertext = nil
		out = append(out, openSecret{meta: sec, plaintext: string(pt)})
	}
	return out, nil
}

// RevealSecret decrypts one secret of a merchant's endpoint. Callers audit it.
func (s *Store) RevealSecret(merchantID, endpointID, secretID uint) (string, error) {
	if _, err := s.Endpoint(merchantID, endpointID); err != nil {
		return "", err
	}
	var sec Secret
	if err := s.DB.Where("endpoint_id = ?", endpointID).Take(&sec, secretID).Error; err != nil {
		return "", notFound(fmt.Sprintf("secret %d", secretID), err)
	}
	pt, err := s.box.Open(sec.Ciphertext)
	if err != nil {
		return "", fmt.Errorf("store: reveal secret %d: %w", secretID, err)
	}
	return string(pt), nil
}

// RotateSecret adds a new secret (generated when empty and the provider allows it) and lets every
// currently valid secret expire after grace. It returns the new plaintext, once.
func (s *Store) RotateSecret(merchantID, endpointID uint, secret string, grace time.Duration) (string, error) {
	e, err := s.Endpoint(merchantID, endpointID)
	if err != nil {
		return "", err
	}
	secret = strings.TrimSpace(secret)
	if secret == "" {
		p, err := e.Profile()
		if err != nil {
			return "", fmt.Errorf("store: rotate: %w", err)
		}
		gen, ok := p.GenerateSecret()
		if !ok {
			return "", &ValidationError{Fields: map[string]string{"secret": "Paste the new signing secret " + e.Provider + " shows you; it issues its own."}}
		}
		secret = gen
	}
	if grace < 0 {
		grace = 0
	}
	now := s.Now()
	until := now.Add(grace)
	defer s.forgetIngestTargets()
	err = s.DB.Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&Secret{}).
			Where("endpoint_id = ? AND (expires_at IS NULL OR expires_at > ?)", endpointID, until).
			Update("expires_at", until).Error; err != nil {
			return err
		}
		return tx.Omit("Endpoint").Create(&Secret{EndpointID: endpointID, Ciphertext: s.box.Seal([]byte(secret)), Hint: secretHint(secret), CreatedAt: now}).Error
	})
	if err != nil {
		return "", fmt.Errorf("store: rotate secret of endpoint %d: %w", endpointID, err)
	}
	return secret, nil
}

// ReencryptSecrets re-seals every secret not yet under the primary key (after a key rotation) and
// returns how many it changed.
func (s *Store) ReencryptSecrets() (int, error) {
	var ss []Secret
	if err := s.DB.Find(&ss).Error; err != nil {
		return 0, fmt.Errorf("store: reencrypt: %w", err)
	}
	n := 0
	for _, sec := range ss {
		if s.box.SealedWithPrimary(sec.Ciphertext) {
			continue
		}
		pt, err := s.box.Open(sec.Ciphertext)
		if err != nil {
			return n, fmt.Errorf("store: reencrypt secret %d: %w", sec.ID, err)
		}
		if err := s.DB.Model(&Secret{}).Where("id = ?", sec.ID).Update("ciphertext", s.box.Seal(pt)).Error; err != nil {
			return n, fmt.Errorf("store: reencrypt secret %d: %w", sec.ID, err)
		}
		n++
	}
	return n, nil
}
