package models

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Box encrypts endpoint secrets at rest with AES-256-GCM. Each ciphertext starts with a 4-byte id of
// the key that sealed it, so a box that also holds retired keys can open old rows during a key rotation.
type Box struct {
	primary keyEntry
	retired []keyEntry
}

type keyEntry struct {
	id   [4]byte
	aead cipher.AEAD
}

// DeriveKey derives an independent 32-byte key for one purpose from the master key, so the master key
// itself never encrypts anything and sessions and secrets never share a key.
func DeriveKey(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("hooklog/" + purpose))
	return m.Sum(nil)
}

// NewBox builds a box from the master key and, optionally, retired master keys it may still open.
func NewBox(master []byte, retired ...[]byte) (*Box, error) {
	p, err := newKeyEntry(master)
	if err != nil {
		return nil, err
	}
	b := &Box{primary: p}
	for _, r := range retired {
		e, err := newKeyEntry(r)
		if err != nil {
			return nil, err
		}
		b.retired = append(b.retired, e)
	}
	return b, nil
}

func newKeyEntry(master []byte) (keyEntry, error) {
	if len(master) != 32 {
		return keyEntry{}, fmt.Errorf("store: secret key must be 32 bytes, got %d", len(master))
	}
	k := DeriveKey(master, "endpoint-secrets")
	block, err := aes.NewCipher(k)
	if err != nil {
		return keyEntry{}, fmt.Errorf("store: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return keyEntry{}, fmt.Errorf("store: %w", err)
	}
	var e keyEntry
	sum := sha256.Sum256(k)
	copy(e.id[:], sum[:4])
	e.aead = aead
	return e, nil
}

// Seal encrypts plaintext with the primary key.
func (b *Box) Seal(plaintext []byte) []byte {
	nonce := make([]byte, b.primary.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	out := append([]byte{}, b.primary.id[:]...)
	out = append(out, nonce...)
	return b.primary.aead.Seal(out, nonce, plaintext, nil)
}

// ErrUndecryptable means a secret was sealed with a key this box does not hold.
var ErrUndecryptable = errors.New("secret cannot be decrypted with the configured key")

// Open decrypts a ciphertext made by Seal with the primary or a retired key.
func (b *Box) Open(ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < 4 {
		return nil, ErrUndecryptable
	}
	for _, e := range append([]keyEntry{b.primary}, b.retired...) {
		if !hmac.Equal(e.id[:], ciphertext[:4]) {
			continue
		}
		rest := ciphertext[4:]
		ns := e.aead.NonceSize()
		if len(rest) < ns {
			return nil, ErrUndecryptable
		}
		pt, err := e.aead.Open(nil, rest[:ns], rest[ns:], nil)
		if err != nil {
			return nil, ErrUndecryptable
		}
		return pt, nil
	}
	return nil, ErrUndecryptable
}

// SealedWithPrimary reports whether ciphertext already uses the primary key.
func (b *Box) SealedWithPrimary(ciphertext []byte) bool {
	return len(ciphertext) >= 4 && hmac.Equal(b.primary.id[:], ciphertext[:4])
}
