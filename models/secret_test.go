package models

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

const (
	bbSecret1 = "whsec_FirstPlaintextSecretMarker0001"
	bbSecret2 = "whsec_SecondPlaintextSecretMarker002"
)

// dbFiles returns the bytes of the database file and its write-ahead log.
func dbFiles(t *testing.T, s *Store) []byte {
	t.Helper()
	var path string
	if err := s.DB.Raw("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path).Error; err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if len(all) == 0 {
		t.Fatalf("no database file at %s", path)
	}
	return all
}

// TestSecretsEncryptedAtRest: a secret's plaintext is in no column and nowhere in the database files.
func TestSecretsEncryptedAtRest(t *testing.T) {
	s, _, _ := bbStore(t)
	m, _ := s.EnsureMerchant("Acme")
	other, _ := s.EnsureMerchant("Other")
	ep, plain, err := s.CreateEndpoint(m.ID, EndpointInput{Name: "Stripe live", Provider: "stripe"}, "  "+bbSecret1+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if plain != bbSecret1 {
		t.Errorf("CreateEndpoint returned %q, want the trimmed secret", plain)
	}
	if _, err := s.RotateSecret(m.ID, ep.ID, bbSecret2, time.Hour); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		ID         uint
		Ciphertext []byte
		Hint       string
	}
	if err := s.DB.Raw("SELECT id, ciphertext, hint FROM secrets ORDER BY id").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d secret rows, want 2", len(rows))
	}
	for i, want := range []string{bbSecret1, bbSecret2} {
		r := rows[i]
		if bytes.Contains(r.Ciphertext, []byte(want)) || bytes.Contains(r.Ciphertext, []byte(want[6:])) {
			t.Errorf("secret %d is stored in plaintext", r.ID)
		}
		if r.Hint != "…"+want[len(want)-4:] {
			t.Errorf("hint = %q, want the last four characters", r.Hint)
		}
		got, err := s.RevealSecret(m.ID, ep.ID, r.ID)
		if err != nil || got != want {
			t.Errorf("RevealSecret = %q, %v; want %q", got, err, want)
		}
		if _, err := s.RevealSecret(other.ID, ep.ID, r.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("another merchant revealed a secret: %v", err)
		}
	}
	files := dbFiles(t, s)
	for _, secret := range []string{bbSecret1, bbSecret2} {
		if bytes.Contains(files, []byte(secret)) {
			t.Errorf("the database files contain %q", secret)
		}
	}
}

// TestRotateSecretGrace: after a rotation both secrets verify until the grace period ends, then only
// the new one.
func TestRotateSecretGrace(t *testing.T) {
	s, clock, _ := bbStore(t)
	m, _ := s.EnsureMerchant("Acme")
	ep, _, err := s.CreateEndpoint(m.ID, EndpointInput{Name: "gateway", Provider: "generic"}, bbSecret1)
	if err != nil {
		t.Fatal(err)
	}
	valid := func() []string {
		t.Helper()
		v, err := s.ValidSecrets(ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if _, err := s.RotateSecret(m.ID, ep.ID, bbSecret2, time.Hour); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		after time.Duration
		want  []string
	}{
		{0, []string{bbSecret2, bbSecret1}},
		{59 * time.Minute, []string{bbSecret2, bbSecret1}},
		{time.Minute, []string{bbSecret2}},
		{24 * time.Hour, []string{bbSecret2}},
	}
	for _, st := range steps {
		clock.Add(st.after)
		if got := valid(); !slices.Equal(got, st.want) {
			t.Errorf("%s: valid secrets = %q, want %q", clock.Now().Format(time.RFC3339), got, st.want)
		}
	}

	// A generated secret, with no grace: the previous one stops at once.
	gen, err := s.RotateSecret(m.ID, ep.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := hex.DecodeString(gen); err != nil || len(raw) != 32 {
		t.Errorf("generated secret %q is not 32 random bytes in hex", gen)
	}
	if got := valid(); !slices.Equal(got, []string{gen}) {
		t.Errorf("after a rotation without grace: %q, want only the new secret", got)
	}
	all, _ := s.Secrets(ep.ID)
	if len(all) != 3 || all[0].ExpiresAt != nil || all[1].ExpiresAt == nil || !all[1].ExpiresAt.Equal(clock.Now()) {
		t.Errorf("secrets = %+v", all)
	}

	// An earlier expiry is never pushed back by a later, longer grace.
	if _, err := s.RotateSecret(m.ID, ep.ID, "", 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	all, _ = s.Secrets(ep.ID)
	if !all[2].ExpiresAt.Equal(clock.Now()) {
		t.Errorf("an expired secret's expiry moved to %s", all[2].ExpiresAt)
	}

	if _, err := s.RotateSecret(m.ID+99, ep.ID, "", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("rotating another merchant's endpoint: %v, want ErrNotFound", err)
	}
}

func TestStripeSecretMustBePasted(t *testing.T) {
	s, _, _ := bbStore(t)
	m, _ := s.EnsureMerchant("Acme")
	_, _, err := s.CreateEndpoint(m.ID, EndpointInput{Name: "Stripe", Provider: "stripe"}, " ")
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Fields["secret"] != "Paste the signing secret stripe shows you; it issues its own." {
		t.Fatalf("CreateEndpoint(stripe, no secret) = %v", err)
	}
	ep, _, err := s.CreateEndpoint(m.ID, EndpointInput{Name: "Stripe", Provider: "stripe"}, bbSecret1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RotateSecret(m.ID, ep.ID, "", time.Hour); !errors.As(err, &ve) || ve.Fields["secret"] == "" {
		t.Fatalf("RotateSecret(stripe, generated) = %v, want a validation error", err)
	}
}

// TestSecretsNeedTheirKey: a store opened with another key cannot read the secrets until the old key
// is kept as a retired key, and re-encryption moves them to the new key.
func TestSecretsNeedTheirKey(t *testing.T) {
	s, _, oldKey := bbStore(t)
	m, _ := s.EnsureMerchant("Acme")
	ep, _, err := s.CreateEndpoint(m.ID, EndpointInput{Name: "gateway", Provider: "generic"}, bbSecret1)
	if err != nil {
		t.Fatal(err)
	}
	var path string
	s.DB.Raw("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path)
	newKey := bbKey(t)
	s2, err := Open(Options{DSN: filepath.Clean(path), Key: newKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.ValidSecrets(ep.ID); !errors.Is(err, ErrUndecryptable) {
		t.Fatalf("ValidSecrets with the wrong key = %v, want ErrUndecryptable", err)
	}
	if s2.box, err = NewBox(newKey, oldKey); err != nil {
		t.Fatal(err)
	}
	if n, err := s2.ReencryptSecrets(); err != nil || n != 1 {
		t.Fatalf("ReencryptSecrets = %d, %v; want 1", n, err)
	}
	if n, err := s2.ReencryptSecrets(); err != nil || n != 0 {
		t.Fatalf("second ReencryptSecrets = %d, %v; want 0", n, err)
	}
	s2.box, _ = NewBox(newKey)
	if got, err := s2.ValidSecrets(ep.ID); err != nil || !slices.Equal(got, []string{bbSecret1}) {
		t.Errorf("after re-encryption: %q, %v", got, err)
	}
}
