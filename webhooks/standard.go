package webhooks

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// standardProfile is Standard Webhooks (standardwebhooks.com): webhook-id, webhook-timestamp and
// webhook-signature headers, the last a space-separated list of "v1,<base64 HMAC-SHA256>" over
// "id.timestamp.body", keyed by the base64-decoded part of a "whsec_" secret.
type standardProfile struct{ tolerance time.Duration }

func (standardProfile) Name() string { return providerStandard }

// Verify checks the signature first and the timestamp second, so a genuine but late delivery is
// reported as such rather than as a forgery.
func (p standardProfile) Verify(h http.Header, body []byte, secrets []string, now time.Time) error {
	keys := standardKeys(secrets)
	if len(keys) == 0 {
		return errNoSecrets(len(secrets))
	}
	id, ts, sigHeader := standardHeaders(h)
	if sigHeader == "" {
		return fmt.Errorf("%w: webhook-signature is missing", ErrNoSignature)
	}
	if id == "" {
		return fmt.Errorf("%w: webhook-id is missing", ErrMalformedHeader)
	}
	if ts == "" {
		return fmt.Errorf("%w: webhook-timestamp is missing", ErrMalformedHeader)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: webhook-timestamp %q is not a unix time", ErrMalformedHeader, snippet(ts))
	}
	sigs, err := parseStandardSignatures(sigHeader)
	if err != nil {
		return err
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: webhook-signature carries no v1 signature", ErrNoValidSignature)
	}
	matched := false
	for _, k := range keys {
		want := standardMAC(k, id, ts, body)
		for _, sig := range sigs {
			if hmac.Equal(want, sig) {
				matched = true
			}
		}
	}
	if !matched {
		return errNoMatch(len(sigs), len(keys))
	}
	return checkTimestamp(unix, now, p.tolerance)
}

func (standardProfile) Normalise(h http.Header, body []byte) (Event, error) {
	return normaliseFields(h, body, FieldMap{}, true)
}

// Sign signs body as message id (a random "msg_..." when id is empty) sent at now.
func (standardProfile) Sign(secret string, body []byte, now time.Time, id string) (http.Header, error) {
	key, ok := standardKey(secret)
	if !ok {
		return nil, errNoSecrets(1)
	}
	if id == "" {
		id = "msg_" + randomToken(27)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(standardMAC(key, id, ts, body)))
	return h, nil
}

// Sample ignores sp.ID: a Standard Webhooks event id travels in the webhook-id header (see Sign).
func (standardProfile) Sample(typ string, sp SampleParams) ([]byte, error) {
	return genericSample(providerStandard, typ, sp, FieldMap{}, standardStyle)
}

func (standardProfile) SampleTypes() []string { return genericSampleTypes() }

func (standardProfile) SignatureHeader() string { return "webhook-signature" }

func (standardProfile) GenerateSecret() (string, bool) { return whsecSecret(), true }

func standardMAC(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// standardHeaders returns the id, timestamp and signature headers of the webhook-* family or, when
// that carries no signature, of the svix-* family that Svix-based senders use for the same scheme.
func standardHeaders(h http.Header) (id, ts, sig string) {
	for _, family := range []string{"Webhook-", "Svix-"} {
		sig = strings.TrimSpace(strings.Join(h.Values(family+"Signature"), " "))
		if sig != "" {
			return strings.TrimSpace(h.Get(family + "Id")), strings.TrimSpace(h.Get(family + "Timestamp")), sig
		}
	}
	return "", "", ""
}

// standardHeader returns one header of the webhook-* family, falling back to svix-*.
func standardHeader(h http.Header, name string) string {
	if v := strings.TrimSpace(h.Get("Webhook-" + name)); v != "" {
		return v
	}
	return strings.TrimSpace(h.Get("Svix-" + name))
}

// parseStandardSignatures returns the decoded v1 signatures of a webhook-signature value. Entries of
// other versions (v1a, asymmetric) are skipped; a value with no usable entry and a broken one is malformed.
func parseStandardSignatures(v string) ([][]byte, error) {
	var sigs [][]byte
	bad := ""
	for entry := range strings.FieldsSeq(v) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok {
			bad = cmp.Or(bad, entry)
			continue
		}
		if version != "v1" {
			continue
		}
		b, err := decodeBase64(sig)
		if err != nil || len(b) != sha256.Size {
			bad = cmp.Or(bad, entry)
			continue
		}
		sigs = append(sigs, b)
	}
	if len(sigs) == 0 && bad != "" {
		return nil, fmt.Errorf("%w: webhook-signature entry %q is not v1,<base64 HMAC-SHA256>", ErrMalformedHeader, snippet(bad))
	}
	return sigs, nil
}

// standardKey derives the HMAC key of a secret: the base64 after "whsec_"; without the prefix the
// secret is tried as base64 and otherwise used as raw bytes. A "whsec_" secret that is not base64
// is unusable.
func standardKey(secret string) ([]byte, bool) {
	s := strings.TrimSpace(secret)
	if s == "" {
		return nil, false
	}
	if rest, ok := strings.CutPrefix(s, "whsec_"); ok {
		b, err := decodeBase64(rest)
		return b, err == nil && len(b) > 0
	}
	if b, err := decodeBase64(s); err == nil && len(b) > 0 {
		return b, true
	}
	return []byte(s), true
}

func standardKeys(secrets []string) [][]byte {
	var keys [][]byte
	for _, s := range secrets {
		if k, ok := standardKey(s); ok {
			keys = append(keys, k)
		}
	}
	return keys
}
