package models

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// APIToken lets a script use the JSON API as one merchant with one role. Only a hash is stored.
type APIToken struct {
	ID         uint   `gorm:"primaryKey"`
	MerchantID uint   `gorm:"index;not null"`
	Name       string `gorm:"not null"`
	Role       Role   `gorm:"not null"`
	Hash       string `gorm:"uniqueIndex;not null"`
	// Prefix is the token's first characters, shown so people can tell tokens apart.
	Prefix     string `gorm:"not null"`
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	Merchant   Merchant `gorm:"constraint:OnDelete:CASCADE"`
}

const tokenPrefix = "hkl_"

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes a new API token and returns it with its plaintext, which is never stored.
func (s *Store) CreateToken(merchantID uint, name string, role Role) (*APIToken, string, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return nil, "", err
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", fmt.Errorf("store: token: %w", err)
	}
	plain := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	if strings.TrimSpace(name) == "" {
		name = string(role) + " token"
	}
	t := APIToken{MerchantID: merchantID, Name: strings.TrimSpace(name), Role: role, Hash: hashToken(plain), Prefix: plain[:10], CreatedAt: s.Now()}
	if err := s.DB.Omit("Merchant").Create(&t).Error; err != nil {
		return nil, "", fmt.Errorf("store: create token: %w", err)
	}
	return &t, plain, nil
}

// TokenByPlaintext finds the live token whose plaintext is given. Comparison is by SHA-256 hash
// lookup, so no secret-dependent comparison happens in Go.
func (s *Store) TokenByPlaintext(plain string) (*APIToken, error) {
	if !strings.HasPrefix(plain, tokenPrefix) {
		return nil, fmt.Errorf("store: token: %w", ErrNotFound)
	}
	var t APIToken
	err := s.DB.Preload("Merchant").Where("hash = ? AND revoked_at IS NULL", hashToken(plain)).Take(&t).Error
	if err != nil {
		return nil, notFound("token", err)
	}
	now := s.Now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		s.DB.Model(&t).Update("last_used_at", now)
		t.LastUsedAt = &now
	}
	return &t, nil
}

// Tokens lists a merchant's tokens, newest first.
func (s *Store) Tokens(merchantID uint) ([]APIToken, error) {
	var ts []APIToken
	if err := s.DB.Where("merchant_id = ?", merchantID).Order("id DESC").Find(&ts).Error; err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	return ts, nil
}

// RevokeToken revokes a merchant's token.
func (s *Store) RevokeToken(merchantID, id uint) error {
	res := s.DB.Model(&APIToken{}).Where("merchant_id = ? AND id = ? AND revoked_at IS NULL", merchantID, id).Update("revoked_at", s.Now())
	if res.Error != nil {
		return fmt.Errorf("store: revoke token: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		var n int64
		s.DB.Model(&APIToken{}).Where("merchant_id = ? AND id = ?", merchantID, id).Count(&n)
		if n == 0 {
			return fmt.Errorf("store: token %d: %w", id, ErrNotFound)
		}
	}
	return nil
}
