package webhooks

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// object is a JSON object that keeps its keys in insertion order, so a sample reads like the
// provider's own payload rather than in encoding/json's alphabetical map order.
type object []member

type member struct {
	key   string
	value any
}

// MarshalJSON writes the members in order.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// set stores v at a dotted path, creating the objects on the way; nested objects are *object. Each
// place takes one value: two fields mapped to the same place are an error, not a silent overwrite.
func (o *object) set(path string, v any) error {
	key, rest, nested := strings.Cut(path, ".")
	for i := range *o {
		if (*o)[i].key != key {
			continue
		}
		child, ok := (*o)[i].value.(*object)
		if !nested || !ok {
			return fmt.Errorf("two fields are mapped to %q", key)
		}
		return child.set(rest, v)
	}
	if !nested {
		*o = append(*o, member{key, v})
		return nil
	}
	child := &object{}
	*o = append(*o, member{key, child})
	return child.set(rest, v)
}

// withDefaults fills the zero fields of p; currency is the provider's usual one.
func (p SampleParams) withDefaults(currency string) SampleParams {
	if p.OrderRef == "" {
		p.OrderRef = "ord_" + randomToken(14)
	}
	if p.Amount == 0 {
		p.Amount = 2000
	}
	if p.Currency == "" {
		p.Currency = currency
	}
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	if p.Now.IsZero() {
		p.Now = time.Now()
	}
	p.Now = p.Now.UTC()
	return p
}

// major renders p.Amount in major units as a JSON number ("20.00").
func (p SampleParams) major() json.Number {
	return json.Number(FormatAmount(p.Amount, p.Currency))
}

const tokenAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomToken returns n random alphanumerics, the look of most providers' object ids.
func randomToken(n int) string {
	b := randomBytes(n)
	for i := range b {
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return string(b)
}

// randomUUID returns a random version 4 UUID.
func randomUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// errSampleType names the valid types when typ is not one of them.
func errSampleType(provider, typ string, valid []string) error {
	return fmt.Errorf("%s: unknown sample type %q (want one of %s)", provider, snippet(typ), strings.Join(valid, ", "))
}

// baseType drops a sample variant: "checkout.session.completed:unpaid" -> "checkout.session.completed".
func baseType(sampleType string) string {
	t, _, _ := strings.Cut(sampleType, ":")
	return t
}
