package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// hmacHex and hmacB64 compute the expected signatures independently of the code under test.
func hmacHex(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func hmac512(secret, body string) []byte {
	m := hmac.New(sha512.New, []byte(secret))
	m.Write([]byte(body))
	return m.Sum(nil)
}

func TestHMACSignKnownAnswer(t *testing.T) {
	body := []byte(`{"event":"payment.completed"}`)
	tests := []struct {
		name   string
		config HMACConfig
		header string
		want   string
	}{
		{"defaults", HMACConfig{}, "X-Signature", hmacHex("s3cret", string(body))},
		{"sha512 base64 prefix", HMACConfig{Header: "X-Acme-Signature", Algorithm: "SHA512", Encoding: "Base64", Prefix: "sha512="},
			"X-Acme-Signature", "sha512=" + base64.StdEncoding.EncodeToString(hmac512("s3cret", string(body)))},
		{"sha512 hex", HMACConfig{Algorithm: "sha-512"}, "X-Signature", hex.EncodeToString(hmac512("s3cret", string(body)))},
	}
	for _, tc := range tests {
		s, err := newHMACScheme(tc.config)
		if err != nil {
			t.Fatal(err)
		}
		h, err := s.sign("s3cret", body)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Get(tc.header); got != tc.want {
			t.Errorf("%s: %s = %q, want %q", tc.name, tc.header, got, tc.want)
		}
		if h.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type = %q", tc.name, h.Get("Content-Type"))
		}
	}
}

func TestHMACVerify(t *testing.T) {
	const secret = "0f5c1c2e9b8a7d6c5b4a39281706f5e4d3c2b1a0918273645546372819a0b1c2"
	body := `{"id":"evt_1","event":"payment.completed","data":{"amount":10.00}}`
	sigHex := hmacHex(secret, body)
	raw, _ := hex.DecodeString(sigHex)
	sigB64 := base64.StdEncoding.EncodeToString(raw)
	sig512 := hmac512(secret, body)

	defaults := HMACConfig{}
	b64 := HMACConfig{Encoding: "base64"}
	prefixed := HMACConfig{Header: "X-Hub-Signature-256", Prefix: "sha256="}
	sha512b64 := HMACConfig{Algorithm: "sha512", Encoding: "base64", Prefix: "v1="}
	hdr := func(name string, values ...string) http.Header {
		h := http.Header{}
		for _, v := range values {
			h.Add(name, v)
		}
		return h
	}
	tests := []struct {
		name    string
		config  HMACConfig
		header  http.Header
		body    string
		want    error
		wantMsg string
	}{
		{"hex", defaults, hdr("X-Signature", sigHex), body, nil, ""},
		{"hex upper case", defaults, hdr("X-Signature", strings.ToUpper(sigHex)), body, nil, ""},
		{"surrounding whitespace", defaults, hdr("X-Signature", "  "+sigHex+"\t"), body, nil, ""},
		{"header name in lower case", defaults, http.Header{"X-Signature": {sigHex}}, body, nil, ""},
		{"repeated header, first broken", defaults, hdr("X-Signature", "nothex", sigHex), body, nil, ""},
		{"repeated header, first wrong", defaults, hdr("X-Signature", hmacHex("other", body), sigHex), body, nil, ""},
		{"comma-folded values", defaults, hdr("X-Signature", hmacHex("other", body)+", "+sigHex), body, nil, ""},
		{"tampered body", defaults, hdr("X-Signature", sigHex), body + " ", ErrNoValidSignature, "1 signature checked against 1 secret"},
		{"signature of another body", defaults, hdr("X-Signature", hmacHex(secret, "{}")), body, ErrNoValidSignature, ""},
		{"missing header", defaults, hdr("X-Other", sigHex), body, ErrNoSignature, "X-Signature is missing"},
		{"empty header", defaults, hdr("X-Signature", "  "), body, ErrNoSignature, ""},
		{"bad hex", defaults, hdr("X-Signature", "zz"+sigHex[2:]), body, ErrMalformedHeader, "is not hex"},
		{"short hex", defaults, hdr("X-Signature", sigHex[:40]), body, ErrMalformedHeader, "decodes to 20 bytes, HMAC-SHA256 has 32"},
		{"odd-length hex", defaults, hdr("X-Signature", sigHex[1:]), body, ErrMalformedHeader, "not hex"},
		{"base64 where hex is expected", defaults, hdr("X-Signature", sigB64), body, ErrMalformedHeader, ""},
		{"a prefix nobody asked for", defaults, hdr("X-Signature", "sha256="+sigHex), body, ErrMalformedHeader, ""},
		{"base64", b64, hdr("X-Signature", sigB64), body, nil, ""},
		{"base64 url-safe unpadded", b64, hdr("X-Signature", base64.RawURLEncoding.EncodeToString(raw)), body, nil, ""},
		{"bad base64", b64, hdr("X-Signature", "!!"+sigB64[2:]), body, ErrMalformedHeader, "is not base64"},
		{"hex where base64 is expected", b64, hdr("X-Signature", sigHex), body, ErrMalformedHeader, "48 bytes"},
		{"prefix", prefixed, hdr("X-Hub-Signature-256", "sha256="+sigHex), body, nil, ""},
		{"prefix in upper case with a space", prefixed, hdr("X-Hub-Signature-256", "SHA256= "+sigHex), body, nil, ""},
		{"prefix missing", prefixed, hdr("X-Hub-Signature-256", sigHex), body, ErrMalformedHeader, `lacks the prefix "sha256="`},
		{"other prefix", prefixed, hdr("X-Hub-Signature-256", "sha1="+sigHex), body, ErrMalformedHeader, "lacks the prefix"},
		{"prefix on the default header", prefixed, hdr("X-Signature", "sha256="+sigHex), body, ErrNoSignature, "X-Hub-Signature-256"},
		{"sha512 base64 prefix", sha512b64, hdr("X-Signature", "v1="+base64.StdEncoding.EncodeToString(sig512)), body, nil, ""},
		{"sha256 sent to a sha512 endpoint", sha512b64, hdr("X-Signature", "v1="+sigB64), body, ErrMalformedHeader, "HMAC-SHA512 has 64"},
		{"sha512 of another secret", sha512b64, hdr("X-Signature", "v1="+base64.StdEncoding.EncodeToString(hmac512("x", body))), body, ErrNoValidSignature, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newHMACScheme(tc.config)
			if err != nil {
				t.Fatal(err)
			}
			err = s.verify(tc.header, []byte(tc.body), []string{secret})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("verify = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("verify = %v, want %v mentioning %q", err, tc.want, tc.wantMsg)
			}
		})
	}
}

func TestHMACVerifyNoSecrets(t *testing.T) {
	s, _ := newHMACScheme(HMACConfig{})
	// Without a secret nothing can be checked, whatever the request carries.
	for _, h := range []http.Header{{}, {"X-Signature": {"zz"}}, {"X-Signature": {hmacHex("x", "{}")}}} {
		if err := s.verify(h, []byte(`{}`), nil); !errors.Is(err, ErrNoSecrets) {
			t.Errorf("verify(%v) = %v, want ErrNoSecrets", h, err)
		}
	}
}

// FuzzHMACVerify checks that any header value and body, under any configuration, yields nil or a
// sentinel, and that signing then verifying always succeeds.
func FuzzHMACVerify(f *testing.F) {
	f.Add("deadbeef", []byte(`{}`), "sha256", "hex", "", "secret")
	f.Add("sha256="+hmacHex("k", `{"a":1}`), []byte(`{"a":1}`), "sha256", "hex", "sha256=", "k")
	f.Add("v1=AAAA,v1=====", []byte("x"), "sha512", "base64", "v1=", "k")
	f.Add(",,, ,", []byte(""), "SHA512", "HEX", ",", " ")
	f.Add("sha256=", []byte(nil), "sha256", "base64", "sha256=", "whsec_x")
	f.Fuzz(func(t *testing.T, value string, body []byte, algo, enc, prefix, secret string) {
		s, err := newHMACScheme(HMACConfig{Algorithm: algo, Encoding: enc, Prefix: prefix})
		if err != nil {
			if !errors.Is(err, ErrInvalidSettings) {
				t.Fatalf("newHMACScheme error %v does not wrap ErrInvalidSettings", err)
			}
			return
		}
		err = s.verify(http.Header{"X-Signature": {value}}, body, []string{secret})
		if err != nil && !isSentinel(err) {
			t.Fatalf("verify(%q) = %v, not a sentinel", value, err)
		}
		h, err := s.sign(secret, body)
		if strings.TrimSpace(secret) == "" {
			if !errors.Is(err, ErrNoSecrets) {
				t.Fatalf("sign with a blank secret = %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		if err := s.verify(h, body, []string{"other", secret}); err != nil {
			t.Fatalf("verify(sign(body)) = %v; header %q", err, h.Get("X-Signature"))
		}
	})
}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
