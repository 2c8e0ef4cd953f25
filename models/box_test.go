package models

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func bbKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestBoxSealOpen(t *testing.T) {
	b, err := NewBox(bbKey(t))
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	c1, c2 := b.Seal(plain), b.Seal(plain)
	if bytes.Equal(c1, c2) {
		t.Error("two seals of one plaintext are equal: the nonce is not random")
	}
	if bytes.Contains(c1, plain) {
		t.Error("the ciphertext contains the plaintext")
	}
	for _, c := range [][]byte{c1, c2} {
		got, err := b.Open(c)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, %v", got, err)
		}
	}
	if !b.SealedWithPrimary(c1) {
		t.Error("SealedWithPrimary = false for the primary key's ciphertext")
	}
	empty, err := b.Open(b.Seal(nil))
	if err != nil || len(empty) != 0 {
		t.Errorf("empty plaintext: %q, %v", empty, err)
	}
}

func TestBoxRetiredKeys(t *testing.T) {
	oldKey, newKey := bbKey(t), bbKey(t)
	old, _ := NewBox(oldKey)
	sealedOld := old.Seal([]byte("secret-1"))

	rotated, err := NewBox(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rotated.Open(sealedOld)
	if err != nil || string(got) != "secret-1" {
		t.Fatalf("a retired key's ciphertext: %q, %v", got, err)
	}
	if rotated.SealedWithPrimary(sealedOld) {
		t.Error("a retired key's ciphertext reports the primary key")
	}
	if !rotated.SealedWithPrimary(rotated.Seal([]byte("x"))) {
		t.Error("new seals do not use the primary key")
	}
	newOnly, _ := NewBox(newKey)
	if _, err := newOnly.Open(sealedOld); !errors.Is(err, ErrUndecryptable) {
		t.Errorf("without the retired key: %v, want ErrUndecryptable", err)
	}
}

func TestBoxRefusesTampering(t *testing.T) {
	b, _ := NewBox(bbKey(t))
	sealed := b.Seal([]byte("whsec_secret"))
	tests := []struct {
		name string
		c    []byte
	}{
		{"nil", nil},
		{"shorter than a key id", sealed[:3]},
		{"key id only", sealed[:4]},
		{"truncated nonce", sealed[:10]},
		{"truncated tag", sealed[:len(sealed)-1]},
		{"flipped key id", flip(sealed, 0)},
		{"flipped nonce", flip(sealed, 5)},
		{"flipped ciphertext", flip(sealed, 4+12+1)},
		{"flipped tag", flip(sealed, len(sealed)-1)},
	}
	for _, tc := range tests {
		if got, err := b.Open(tc.c); !errors.Is(err, ErrUndecryptable) {
			t.Errorf("%s: Open = %q, %v; want ErrUndecryptable", tc.name, got, err)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

func TestNewBoxKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewBox(make([]byte, n)); err == nil {
			t.Errorf("NewBox accepted a %d-byte key", n)
		}
	}
	if _, err := NewBox(bbKey(t), make([]byte, 8)); err == nil {
		t.Error("NewBox accepted a short retired key")
	}
}

func TestDeriveKeyIsPerPurpose(t *testing.T) {
	master := bbKey(t)
	a, b := DeriveKey(master, "endpoint-secrets"), DeriveKey(master, "sessions")
	if bytes.Equal(a, b) || bytes.Equal(a, master) || len(a) != 32 {
		t.Error("derived keys are not independent 32-byte keys")
	}
	if !bytes.Equal(a, DeriveKey(master, "endpoint-secrets")) {
		t.Error("DeriveKey is not deterministic")
	}
}
