package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"hooklog/webhooks"
)

// bodySize is the size a delivery is padded to: a typical Stripe event of a real shop, whose
// metadata carries a few more keys than the bare sample.
const bodySize = 1500

// stripeMix is the share of each event type in generated traffic: mostly completed checkouts and
// their payment intents, some declines, delayed payments and refunds, as a shop sees them.
var stripeMix = []struct {
	typ    string
	weight int
}{
	{"checkout.session.completed", 40},
	{"payment_intent.succeeded", 35},
	{"payment_intent.payment_failed", 10},
	{"checkout.session.completed:unpaid", 5},
	{"charge.refunded", 5},
	{"refund.created", 5},
}

// pickType picks an event type by weight from r in [0,100).
func pickType(r int) string {
	for _, m := range stripeMix {
		if r < m.weight {
			return m.typ
		}
		r -= m.weight
	}
	return stripeMix[0].typ
}

// Markers stand in a template for the values each delivery gets; each is as long as the value it
// stands for, so padding computed on the template holds for every delivery.
const (
	markID     = "evt_1PZQXIDZQXIDZQXIDZQXIDZQXI" // evt_1P + 10-char tag + 14 digits
	markRef    = "ord_ZQXREFZQXREFZQXREF"         // ord_ + 10-char tag + 8 digits
	markEmail  = "customer.ZQXMAILZQXMAILZQX@example.com"
	markAmount = "987654321"
	markerFree = "ZQX"
)

// fields of a delivery that a template leaves open.
const (
	fieldLiteral = iota
	fieldID
	fieldRef
	fieldEmail
	fieldAmount
	fieldRandom // random alphanumerics, as long as the template's placeholder
)

type part struct {
	lit   []byte
	field int
	slot  int // fieldRandom: which random value; a token repeated in the sample repeats it
}

// template is a Stripe sample cut where per-delivery values go. Rendering one is a few copies,
// where webhooks' Sample (ordered JSON re-indented) costs about 100 µs a body.
type template struct {
	typ   string
	parts []part
	// slots are the sample's random tokens; each delivery gets fresh ones of the same shape.
	slots []string
}

// randomRun finds the random parts of a sample: Stripe-style tokens (ids, client secrets, receipt
// paths) and UUIDs.
var randomRun = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9]{14,}`)

func newTemplate(p webhooks.Profile, typ, currency string) (*template, error) {
	amount, _ := strconv.ParseInt(markAmount, 10, 64)
	body, err := p.Sample(typ, webhooks.SampleParams{ID: markID, OrderRef: markRef, Amount: amount, Currency: currency, Now: time.Now()})
	if err != nil {
		return nil, err
	}
	body = bytes.ReplaceAll(body, []byte("jenny.rosen@example.com"), []byte(markEmail))
	body = padMetadata(body, markRef)
	t := &template{typ: typ}
	marks := regexp.MustCompile(regexp.QuoteMeta(markID) + "|" + regexp.QuoteMeta(markRef) + "|" +
		regexp.QuoteMeta(markEmail) + "|" + `\b` + markAmount + `\b|` + randomRun.String())
	slotOf := map[string]int{}
	last := 0
	for _, m := range marks.FindAllIndex(body, -1) {
		s := string(body[m[0]:m[1]])
		var f part
		switch {
		case s == markID:
			f.field = fieldID
		case s == markRef:
			f.field = fieldRef
		case s == markEmail:
			f.field = fieldEmail
		case s == markAmount:
			f.field = fieldAmount
		case strings.Contains(s, markerFree):
			continue
		default:
			slot, ok := slotOf[s]
			if !ok {
				slot = len(t.slots)
				slotOf[s] = slot
				t.slots = append(t.slots, s)
			}
			f.field, f.slot = fieldRandom, slot
		}
		t.parts = append(t.parts, part{lit: body[last:m[0]]}, f)
		last = m[1]
	}
	t.parts = append(t.parts, part{lit: body[last:]})
	return t, nil
}

const (
	alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	hexLow = "0123456789abcdef"
)

// randomLike returns a fresh token shaped like s: a Stripe id keeps its two-character version
// prefix ("1P"), a UUID its dashes and hex digits.
func randomLike(s string, r *rand.Rand) string {
	b := []byte(s)
	set, from := alnum, 2
	if len(s) == 36 && s[8] == '-' {
		set, from = hexLow, 0
	}
	for i := from; i < len(b); i++ {
		if b[i] != '-' {
			b[i] = set[r.IntN(len(set))]
		}
	}
	return string(b)
}

// render writes the template with d's values into a new body.
func (t *template) render(d *delivery, r *rand.Rand) []byte {
	slots := make([]string, len(t.slots))
	for i, s := range t.slots {
		slots[i] = randomLike(s, r)
	}
	b := make([]byte, 0, bodySize+400)
	for _, p := range t.parts {
		switch p.field {
		case fieldLiteral:
			b = append(b, p.lit...)
		case fieldID:
			b = append(b, d.EventID...)
		case fieldRef:
			b = append(b, d.OrderRef...)
		case fieldEmail:
			b = append(b, d.Email...)
		case fieldAmount:
			b = strconv.AppendInt(b, d.Amount, 10)
		case fieldRandom:
			b = append(b, slots[p.slot]...)
		}
	}
	return b
}

// padMetadata adds metadata keys after "order_id" until the body is about bodySize bytes, keeping
// the pretty-printed layout of the sample.
func padMetadata(body []byte, orderRef string) []byte {
	need := bodySize - len(body)
	key := []byte(`"order_id": "` + orderRef + `"`)
	i := bytes.Index(body, key)
	if need <= 0 || i < 0 {
		return body
	}
	lineStart := bytes.LastIndexByte(body[:i], '\n') + 1
	indent := string(body[lineStart:i])
	extra := fmt.Sprintf(",\n%s\"cart_id\": \"cart_4f1c2a9e\",\n%s\"channel\": \"web\",\n%s\"note\": \"", indent, indent, indent)
	fill := max(0, need-len(extra)-1)
	var b bytes.Buffer
	end := i + len(key)
	b.Write(body[:end])
	b.WriteString(extra)
	const words = "gift wrap please, leave at the side door, call on arrival, "
	for fill > 0 {
		n := min(fill, len(words))
		b.WriteString(words[:n])
		fill -= n
	}
	b.WriteByte('"')
	b.Write(body[end:])
	return b.Bytes()
}

// newRand is a fast, seeded source for generated values (not for secrets).
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// generator makes unique, realistic Stripe deliveries from templates of every type in stripeMix.
type generator struct {
	profile   webhooks.Profile
	templates map[string][]*template // by type: one per currency
	tag       string
}

// currencies the generated shop sells in.
var currencies = []string{"USD", "EUR"}

func newGenerator(tag string) (*generator, error) {
	if len(tag) != 10 {
		return nil, fmt.Errorf("generator tag %q must be 10 characters", tag)
	}
	p, err := webhooks.New("stripe", webhooks.Settings{})
	if err != nil {
		return nil, err
	}
	g := &generator{profile: p, templates: map[string][]*template{}, tag: tag}
	for _, m := range stripeMix {
		for _, cur := range currencies {
			t, err := newTemplate(p, m.typ, cur)
			if err != nil {
				return nil, err
			}
			g.templates[m.typ] = append(g.templates[m.typ], t)
		}
	}
	return g, nil
}

// delivery is one generated Stripe event with the values a search would look for.
type delivery struct {
	Body     []byte
	EventID  string
	Type     string
	OrderRef string
	Email    string
	Amount   int64
	Currency string
}

// make builds delivery n of event type typ for order orderRef (n < 10^8), with a customer of its own.
func (g *generator) make(n int, typ, orderRef string, r *rand.Rand) delivery {
	cur := currencies[0]
	if r.IntN(5) == 0 {
		cur = currencies[1]
	}
	return g.render(delivery{
		EventID:  g.eventID(n),
		Type:     typ,
		OrderRef: orderRef,
		Email:    g.email(n),
		Amount:   int64(500 + r.IntN(49500)),
		Currency: cur,
	}, r)
}

// render fills d.Body from the template of d's type and currency.
func (g *generator) render(d delivery, r *rand.Rand) delivery {
	ci := 0
	if d.Currency == currencies[1] {
		ci = 1
	}
	d.Body = g.templates[d.Type][ci].render(&d, r)
	return d
}

func (g *generator) eventID(n int) string { return fmt.Sprintf("evt_1P%s%014d", g.tag, n) }

func (g *generator) email(n int) string { return fmt.Sprintf("customer.%s%08d@example.com", g.tag, n) }

// orderRef is the reference of order n of generator g.
func (g *generator) orderRef(n int) string { return fmt.Sprintf("ord_%s%08d", g.tag, n) }

// stripeRequest renders a signed POST of body as the raw bytes of an HTTP/1.1 request.
func stripeRequest(p webhooks.Profile, host, path, secret string, body []byte, now time.Time) ([]byte, error) {
	h, err := p.Sign(secret, body, now, "")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(body) + 400)
	b.WriteString("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\n")
	b.WriteString("User-Agent: " + h.Get("User-Agent") + "\r\n")
	b.WriteString("Accept: */*; q=0.5, application/xml\r\nCache-Control: no-cache\r\n")
	b.WriteString("Content-Type: " + h.Get("Content-Type") + "\r\n")
	b.WriteString("Stripe-Signature: " + h.Get("Stripe-Signature") + "\r\n")
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	b.Write(body)
	return b.Bytes(), nil
}

// poolSpec describes a pool of pre-built requests.
type poolSpec struct {
	Host, Path, Secret string
	N                  int
	// DupShare is the fraction of requests that repeat an earlier event of the pool (a provider retry).
	DupShare float64
	// Tag makes event ids unique across the pools of one run (10 characters).
	Tag string
}

// pool is a set of pre-built requests and what they carry.
type pool struct {
	Reqs      [][]byte
	BodyBytes int64 // of the unique bodies
	Dups      int
}

// buildPool signs every request of spec, in parallel, before any timed run starts. Each event is
// its own order's, so processing creates one order per accepted event.
func buildPool(spec poolSpec) (*pool, error) {
	g, err := newGenerator(spec.Tag)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := &pool{Reqs: make([][]byte, spec.N)}
	isDup := make([]bool, spec.N)
	seed := rand.New(rand.NewPCG(uint64(now.UnixNano()), 7))
	for i := 64; i < spec.N; i++ {
		if seed.Float64() < spec.DupShare {
			isDup[i] = true
			out.Dups++
		}
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	sizes := make([]int64, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(now.UnixNano()), uint64(w)))
			for i := w; i < spec.N; i += workers {
				if isDup[i] {
					continue
				}
				d := g.make(i, pickType(r.IntN(100)), g.orderRef(i), r)
				req, err := stripeRequest(g.profile, spec.Host, spec.Path, spec.Secret, d.Body, now)
				if err != nil {
					errs[w] = err
					return
				}
				out.Reqs[i] = req
				sizes[w] += int64(len(d.Body))
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	// A duplicate resends, byte for byte, an event sent at least 64 requests earlier: with 32
	// connections the original has then almost always been stored first, as with a real retry.
	for i, d := range isDup {
		if d {
			j := i - 64 - seed.IntN(i-63)
			for isDup[j] {
				j--
			}
			out.Reqs[i] = out.Reqs[j]
		}
	}
	for _, s := range sizes {
		out.BodyBytes += s
	}
	return out, nil
}
