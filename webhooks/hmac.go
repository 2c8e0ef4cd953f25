package webhooks

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strings"
)

// Defaults of the configurable HMAC scheme.
const (
	DefaultHMACHeader    = "X-Signature"
	DefaultHMACAlgorithm = "sha256"
	DefaultHMACEncoding  = "hex"
)

// hmacScheme is the configurable scheme: one header carrying an HMAC of the raw body, keyed with the
// secret string's bytes, optionally behind a fixed prefix such as "sha256=".
type hmacScheme struct {
	header   string // canonical MIME header key, for lookups
	display  string // the header name as configured, for messages
	algo     string
	hash     func() hash.Hash
	size     int
	encoding string
	prefix   string
}

// newHMACScheme applies the defaults to c and checks what remains.
func newHMACScheme(c HMACConfig) (hmacScheme, error) {
	s := hmacScheme{
		header:   strings.TrimSpace(c.Header),
		algo:     strings.ToLower(strings.TrimSpace(c.Algorithm)),
		encoding: strings.ToLower(strings.TrimSpace(c.Encoding)),
		prefix:   strings.TrimSpace(c.Prefix), // header values arrive trimmed
	}
	if s.header == "" {
		s.header = DefaultHMACHeader
	}
	if !validHeaderName(s.header) {
		return hmacScheme{}, fmt.Errorf("%w: %q is not a valid header name", ErrInvalidSettings, snippet(s.header))
	}
	s.header, s.display = http.CanonicalHeaderKey(s.header), s.header
	if strings.ContainsFunc(s.prefix, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return hmacScheme{}, fmt.Errorf("%w: prefix %q has a control character", ErrInvalidSettings, snippet(s.prefix))
	}
	switch s.algo {
	case "", "sha256", "sha-256":
		s.algo, s.hash, s.size = "sha256", sha256.New, sha256.Size
	case "sha512", "sha-512":
		s.algo, s.hash, s.size = "sha512", sha512.New, sha512.Size
	default:
		return hmacScheme{}, fmt.Errorf("%w: algorithm %q (want sha256 or sha512)", ErrInvalidSettings, snippet(c.Algorithm))
	}
	switch s.encoding {
	case "", "hex":
		s.encoding = "hex"
	case "base64":
	default:
		return hmacScheme{}, fmt.Errorf("%w: encoding %q (want hex or base64)", ErrInvalidSettings, snippet(c.Encoding))
	}
	return s, nil
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return name != ""
}

// verify checks every signature value of the header against every secret. Repeated header lines are
// all checked, and so are comma-separated values, since a proxy may fold repeated lines into one
// (neither hex nor base64 contains a comma).
func (s hmacScheme) verify(h http.Header, body []byte, secrets []string) error {
	keys := cleanSecrets(secrets)
	if len(keys) == 0 {
		return errNoSecrets(len(secrets))
	}
	var sigs [][]byte
	var firstBad error
	for _, line := range h.Values(s.header) {
		parts := []string{line}
		if !strings.Contains(s.prefix, ",") {
			parts = strings.Split(line, ",")
		}
		for _, part := range parts {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			sig, err := s.decode(part)
			if err != nil {
				firstBad = cmp.Or(firstBad, err)
				continue
			}
			sigs = append(sigs, sig)
		}
	}
	if len(sigs) == 0 {
		if firstBad != nil {
			return fmt.Errorf("%w: %s: %v", ErrMalformedHeader, s.display, firstBad)
		}
		return fmt.Errorf("%w: %s is missing", ErrNoSignature, s.display)
	}
	for _, k := range keys {
		want := s.mac([]byte(k), body)
		for _, sig := range sigs {
			if hmac.Equal(want, sig) {
				return nil
			}
		}
	}
	return errNoMatch(len(sigs), len(keys))
}

// decode strips the prefix (case-insensitively) and decodes one signature value.
func (s hmacScheme) decode(v string) ([]byte, error) {
	if s.prefix != "" {
		if len(v) < len(s.prefix) || !strings.EqualFold(v[:len(s.prefix)], s.prefix) {
			return nil, fmt.Errorf("value %q lacks the prefix %q", snippet(v), s.prefix)
		}
		v = strings.TrimSpace(v[len(s.prefix):])
	}
	var sig []byte
	var err error
	if s.encoding == "base64" {
		sig, err = decodeBase64(v)
	} else {
		sig, err = hex.DecodeString(v)
	}
	if err != nil {
		return nil, fmt.Errorf("value %q is not %s", snippet(v), s.encoding)
	}
	if len(sig) != s.size {
		return nil, fmt.Errorf("value decodes to %d bytes, HMAC-%s has %d", len(sig), strings.ToUpper(s.algo), s.size)
	}
	return sig, nil
}

func (s hmacScheme) mac(key, body []byte) []byte {
	m := hmac.New(s.hash, key)
	m.Write(body)
	return m.Sum(nil)
}

// sign returns the header value a sender puts on body.
func (s hmacScheme) sign(secret string, body []byte) (http.Header, error) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return nil, errNoSecrets(0)
	}
	mac := s.mac([]byte(secret), body)
	enc := hex.EncodeToString(mac)
	if s.encoding == "base64" {
		enc = base64.StdEncoding.EncodeToString(mac)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(s.header, s.prefix+enc)
	return h, nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		firstErr = cmp.Or(firstErr, err)
	}
	return nil, firstErr
}
