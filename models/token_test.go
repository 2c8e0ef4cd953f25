package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestTokenHashing: only a hash of an API token is stored; the plaintext finds it until it is revoked.
func TestTokenHashing(t *testing.T) {
	s, clock, _ := bbStore(t)
	m, _ := s.EnsureMerchant("Acme")
	other, _ := s.EnsureMerchant("Other")
	tok, plain, err := s.CreateToken(m.ID, "  deploy script ", RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, "hkl_") || len(plain) != 4+32 || tok.Prefix != plain[:10] || tok.Name != "deploy script" {
		t.Errorf("token %+v, plaintext %q", tok, plain)
	}
	var row struct {
		Hash, Prefix, Name string
	}
	if err := s.DB.Raw("SELECT hash, prefix, name FROM api_tokens WHERE id = ?", tok.ID).Scan(&row).Error; err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(plain))
	if row.Hash != hex.EncodeToString(sum[:]) || strings.Contains(row.Hash+row.Prefix+row.Name, plain) {
		t.Errorf("stored row %+v, want the SHA-256 of the token and no plaintext", row)
	}
	if strings.Contains(string(dbFiles(t, s)), plain) {
		t.Error("the database files contain the token")
	}

	found, err := s.TokenByPlaintext(plain)
	if err != nil || found.ID != tok.ID || found.Merchant.Name != "Acme" || found.Role != RoleOperator ||
		found.LastUsedAt == nil || !found.LastUsedAt.Equal(clock.Now()) {
		t.Fatalf("TokenByPlaintext = %+v, %v", found, err)
	}
	for _, bad := range []string{"", plain[:len(plain)-1], plain + "x", strings.TrimPrefix(plain, "hkl_"), strings.ToUpper(plain)} {
		if _, err := s.TokenByPlaintext(bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("TokenByPlaintext(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	if err := s.RevokeToken(other.ID, tok.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another merchant revoked the token: %v", err)
	}
	clock.Add(time.Minute)
	if err := s.RevokeToken(m.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(m.ID, tok.ID); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	if _, err := s.TokenByPlaintext(plain); !errors.Is(err, ErrNotFound) {
		t.Errorf("a revoked token still works: %v", err)
	}
	if _, _, err := s.CreateToken(m.ID, "", Role("owner")); err == nil {
		t.Error("CreateToken accepted an unknown role")
	}
	_, _, err = s.CreateToken(m.ID, "", RoleSupport)
	ts, _ := s.Tokens(m.ID)
	if err != nil || len(ts) != 2 || ts[0].Name != "support token" {
		t.Errorf("tokens = %+v, %v", ts, err)
	}
}
