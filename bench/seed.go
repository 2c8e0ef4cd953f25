package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hooklog/models"
	"hooklog/webhooks"
)

// The seeded history: over the last 30 days, deliveries arrive at several endpoints of one merchant,
// each order's events one after another. Most are accepted, some are provider retries (duplicates)
// and some fail verification (rejected).
const (
	seedSpan      = 30 * 24 * time.Hour
	seedDupShare  = 0.04
	seedRejShare  = 0.02
	seedDeadShare = 0.003
	seedChunk     = 1000 // orders per transaction
)

// stripeIPs are addresses Stripe documents for its webhooks, as a remote address would read.
var stripeIPs = []string{"3.18.12.63", "3.130.192.231", "13.235.14.237", "13.235.122.149", "18.211.135.69", "35.154.171.200", "52.15.183.38", "54.88.130.119"}

// seedInfo is what the page timings open: ids and values taken across the whole seeded history.
type seedInfo struct {
	Deliveries, Orders int
	Endpoints          []uint
	Events             []uint
	OrderRefs          []string
	PaymentIDs         []string
	Emails             []string
	Amounts            []string
}

// seedRow is one delivery with, when it created one, its event.
type seedRow struct {
	at         time.Time
	endpoint   uint
	remote     string
	headers    string // JSON, as the delivery's serializer writes them
	searchHdrs string // as the search index holds them
	body       []byte
	outcome    models.Outcome
	reason     string
	status     int
	eventType  string
	event      int // index into the chunk's events, -1 for none
}

type seedEvent struct {
	n         webhooks.Event
	at        time.Time
	status    models.Status
	lastError string
	applied   bool
	result    string
	count     int
	order     int // index into the chunk's orders, -1 for none
}

type seedOrder struct {
	ref         string
	st          models.OrderState
	created     time.Time
	updated     time.Time
	transitions []seedTransition
}

type seedTransition struct {
	from, to models.OrderStatus
	event    int
	reason   string
	at       time.Time
}

// seedChunkData is the rows of a run of orders, with chunk-local indexes that the writer turns
// into ids.
type seedChunkData struct {
	rows   []seedRow
	events []seedEvent
	orders []seedOrder
	done   chan struct{}
	err    error
}

// seedScale creates a data directory that `hooklog serve` opens as it is: the secret key file, the
// schema (through models.Open), the merchant, its admin and endpoints, then deliveries, events,
// attempts, orders, transitions and search rows written with SQL in large transactions.
func seedScale(dataDir, password string, o options) (*seedInfo, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dataDir, "secret.key"), []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	dbPath := filepath.Join(dataDir, "hooklog.db")
	store, err := models.Open(models.Options{DSN: dbPath, Key: key})
	if err != nil {
		return nil, err
	}
	info := &seedInfo{Deliveries: o.Scale, Orders: o.Orders}
	err = func() error {
		defer store.Close()
		m, err := store.EnsureMerchant(merchant)
		if err != nil {
			return err
		}
		if _, err := store.CreateUser(m.ID, adminEmail, password, models.RoleAdmin); err != nil {
			return err
		}
		for i := range o.Endpoints {
			ep, _, err := store.CreateEndpoint(m.ID, models.EndpointInput{Name: fmt.Sprintf("Stripe store %d", i+1), Provider: "stripe"}, secret)
			if err != nil {
				return err
			}
			info.Endpoints = append(info.Endpoints, ep.ID)
		}
		return nil
	}()
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}

	db, err := sql.Open("sqlite3", "file:"+dbPath+"?_journal_mode=WAL&_synchronous=OFF&_busy_timeout=10000&_cache_size=-1000000")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// One connection, kept, with the search index's file attached: the seeded rows are indexed as
	// they are written (FTS5 segments of a whole chunk are no burden here).
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if _, err := db.Exec(attachSearchSQL(dbPath)); err != nil {
		return nil, fmt.Errorf("seed: attach the search index: %w", err)
	}
	var merchantID uint
	if err := db.QueryRow("SELECT id FROM merchants WHERE name = ?", merchant).Scan(&merchantID); err != nil {
		return nil, fmt.Errorf("seed: merchant: %w", err)
	}
	g, err := newGenerator("seedhistor")
	if err != nil {
		return nil, err
	}
	w := &seedWriter{db: db, merchantID: merchantID, info: info, sampleEvery: max(1, o.Orders/o.PageRuns)}
	start := time.Now()
	end := start.Add(-time.Minute)
	plan := newSeedPlan(o.Scale, o.Orders, end.Add(-seedSpan), end)

	// Workers build chunks in parallel; the one writer takes them in order.
	nChunks := (o.Orders + seedChunk - 1) / seedChunk
	jobs := make(chan int)
	inOrder := make(chan *seedChunkData, 2*runtime.GOMAXPROCS(0))
	chunks := make([]*seedChunkData, nChunks)
	for i := range chunks {
		chunks[i] = &seedChunkData{done: make(chan struct{})}
	}
	for range runtime.GOMAXPROCS(0) {
		go func() {
			for k := range jobs {
				c := chunks[k]
				c.err = buildChunk(c, g, plan, info.Endpoints, k)
				close(c.done)
			}
		}()
	}
	go func() {
		for k := range nChunks {
			inOrder <- chunks[k]
			jobs <- k
		}
		close(jobs)
		close(inOrder)
	}()
	lastLog := time.Now()
	for c := range inOrder {
		<-c.done
		if c.err == nil {
			c.err = w.write(c)
		}
		if c.err != nil {
			for range inOrder { // let the producers finish
			}
			return nil, fmt.Errorf("seed: %w", c.err)
		}
		*c = seedChunkData{}
		if time.Since(lastLog) > 10*time.Second {
			logf("seed: %d of %d deliveries (%.0f/s)", w.nextDelivery, o.Scale, float64(w.nextDelivery)/time.Since(start).Seconds())
			lastLog = time.Now()
		}
	}
	if err := countSeeded(dbPath, key, db, w.nextDelivery); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return nil, fmt.Errorf("seed: checkpoint: %w", err)
	}
	return info, nil
}

// countSeeded fills the per-hour delivery counts that the overview and the endpoints page read and
// that the ingester keeps; the seeded rows went in around it. Opening the store does it: its
// migration fills empty counts from the deliveries, as for an install upgraded from before the
// counts. The counts must then add up to the deliveries seeded.
func countSeeded(dbPath string, key []byte, db *sql.DB, deliveries int64) error {
	start := time.Now()
	store, err := models.Open(models.Options{DSN: dbPath, Key: key})
	if err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	var counted int64
	if err := db.QueryRow("SELECT COALESCE(SUM(n), 0) FROM delivery_counts").Scan(&counted); err != nil {
		return fmt.Errorf("delivery counts: %w", err)
	}
	if counted != deliveries {
		return fmt.Errorf("delivery counts add up to %d, want the %d deliveries seeded", counted, deliveries)
	}
	logf("seed: counted the deliveries per hour in %.1fs", time.Since(start).Seconds())
	return nil
}

// seedPlan spreads deliveries over orders and time.
type seedPlan struct {
	deliveries, orders int
	from               time.Time
	step               time.Duration
}

func newSeedPlan(deliveries, orders int, from, to time.Time) seedPlan {
	return seedPlan{deliveries: deliveries, orders: orders, from: from, step: to.Sub(from) / time.Duration(deliveries)}
}

// span is the first delivery index of order o and how many deliveries it has.
func (p seedPlan) span(o int) (first, n int) {
	base, rem := p.deliveries/p.orders, p.deliveries%p.orders
	return o*base + min(o, rem), base + btoi(o < rem)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// buildChunk makes the rows of chunk k: each order's deliveries, their events run through the real
// normaliser and order state machine.
func buildChunk(c *seedChunkData, g *generator, p seedPlan, endpoints []uint, k int) error {
	r := mrand.New(mrand.NewPCG(uint64(k), 42))
	profile := g.profile
	wrong := "whsec_not_the_endpoint_secret"
	rejectReason := ""
	for o := k * seedChunk; o < min(p.orders, (k+1)*seedChunk); o++ {
		first, n := p.span(o)
		ord := seedOrder{ref: g.orderRef(o)}
		oi := len(c.orders)
		cur := currencies[btoi(r.IntN(5) == 0)]
		amount := int64(500 + r.IntN(49500))
		email := g.email(o)
		ep := endpoints[o%len(endpoints)]
		var accepted []int // rows of this order that created an event
		for j := range n {
			i := first + j
			at := p.from.Add(time.Duration(i)*p.step + time.Duration(r.IntN(int(p.step))))
			row := seedRow{at: at, endpoint: ep, remote: stripeIPs[r.IntN(len(stripeIPs))], event: -1, status: http.StatusOK}
			roll := r.Float64()
			var typ string
			switch {
			case j == 0:
				typ = []string{"checkout.session.completed", "checkout.session.completed", "checkout.session.completed:unpaid", "payment_intent.payment_failed"}[r.IntN(4)]
			case j == 1:
				typ = "payment_intent.succeeded"
			default:
				typ = pickType(r.IntN(100))
			}
			d := g.render(delivery{EventID: g.eventID(i), Type: typ, OrderRef: ord.ref, Email: email, Amount: amount, Currency: cur}, r)
			sign := secret
			switch {
			case roll < seedRejShare && j > 0:
				row.outcome, row.status, sign = models.OutcomeRejected, http.StatusUnauthorized, wrong
			case roll < seedRejShare+seedDupShare && len(accepted) > 0:
				orig := c.rows[accepted[r.IntN(len(accepted))]]
				row.outcome, row.eventType, row.event, d.Body = models.OutcomeDuplicate, orig.eventType, orig.event, orig.body
				c.events[orig.event].count++
			default:
				row.outcome = models.OutcomeAccepted
			}
			hdr, err := profile.Sign(sign, d.Body, at, "")
			if err != nil {
				return err
			}
			hdr.Set("Accept", "*/*; q=0.5, application/xml")
			hdr.Set("Cache-Control", "no-cache")
			hdr.Set("Content-Length", strconv.Itoa(len(d.Body)))
			hdr.Set("Host", "hooks.example.com")
			if row.outcome == models.OutcomeRejected {
				if rejectReason == "" {
					rejectReason = profile.Verify(hdr, d.Body, []string{secret}, at).Error()
				}
				row.reason = rejectReason
			}
			row.body = d.Body
			raw, err := json.Marshal(hdr)
			if err != nil {
				return err
			}
			row.headers, row.searchHdrs = string(raw), headerText(hdr)
			if row.outcome == models.OutcomeAccepted {
				ev, err := processEvent(profile, &ord, d.Body, at, r, len(c.events))
				if err != nil {
					return err
				}
				ev.order = oi
				row.eventType, row.event = ev.n.Type, len(c.events)
				c.events = append(c.events, ev)
				accepted = append(accepted, len(c.rows))
			}
			c.rows = append(c.rows, row)
		}
		if ord.st.Exists {
			c.orders = append(c.orders, ord)
		} else {
			for _, i := range accepted {
				c.events[c.rows[i].event].order = -1
			}
		}
	}
	return nil
}

// processEvent normalises an accepted body and applies it to its order as the worker would, 30 ms
// after it arrived; a few events end dead instead.
func processEvent(profile webhooks.Profile, ord *seedOrder, body []byte, at time.Time, r *mrand.Rand, index int) (seedEvent, error) {
	n, err := profile.Normalise(nil, body)
	if err != nil {
		return seedEvent{}, err
	}
	ev := seedEvent{n: n, at: at, count: 1, status: models.StatusProcessed}
	done := at.Add(30 * time.Millisecond)
	if r.Float64() < seedDeadShare {
		ev.status, ev.lastError = models.StatusDead, "database is locked (simulated in the seeded history)"
		return ev, nil
	}
	before := ord.st
	if before.Status == "" {
		before.Exists = false
	}
	next, why := models.Apply(before, models.Effect{Canonical: n.Canonical, Amount: n.Amount, HasAmount: n.HasAmount,
		Currency: n.Currency, PaymentID: n.PaymentID, Cumulative: true})
	if !ord.st.Exists {
		ord.created = done
	}
	if next.Status != ord.st.Status {
		ord.transitions = append(ord.transitions, seedTransition{from: ord.st.Status, to: next.Status, event: index, reason: why, at: done})
	}
	ord.st, ord.updated = next, done
	ev.applied, ev.result = true, fmt.Sprintf("order %s: %s", ord.ref, why)
	return ev, nil
}

// headerText is the headers as the search index holds them (models' searchText): "Name: value"
// lines, sorted by name.
func headerText(h http.Header) string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, k := range names {
		for _, v := range h[k] {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

// seedWriter inserts chunks in order, turning chunk-local indexes into ids.
type seedWriter struct {
	db          *sql.DB
	merchantID  uint
	info        *seedInfo
	sampleEvery int
	orderCount  int

	nextDelivery, nextEvent, nextAttempt, nextOrder, nextTransition int64
}

func (w *seedWriter) write(c *seedChunkData) (err error) {
	tx, err := w.db.Begin()
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = tx.Prepare(q)
		return s
	}
	insDelivery := prep(`INSERT INTO deliveries(id, merchant_id, endpoint_id, received_at, remote_addr, headers, body, body_codec,
		body_size, outcome, reason, status_code, event_id, event_type) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	insSearch := prep(`INSERT INTO search.delivery_search(rowid, body, headers) VALUES (?, ?, ?)`)
	insEvent := prep(`INSERT INTO events(id, merchant_id, endpoint_id, external_id, provider, type, canonical, order_ref, payment_id,
		amount, has_amount, currency, customer_email, customer_phone, status, attempts, next_attempt_at, claim_token, last_error,
		pending_trigger, pending_actor, applied, mark, mark_note, marked_by, marked_at, received_at, processed_at, delivery_count)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,'',?,'','',?,'','','',NULL,?,?,?)`)
	insAttempt := prep(`INSERT INTO attempts(id, event_id, started_at, finished_at, outcome, result, error, "trigger", actor)
		VALUES (?,?,?,?,?,?,?,?,'')`)
	insOrder := prep(`INSERT INTO orders(id, merchant_id, reference, status, paid, amount, has_amount, currency, refunded_amount,
		full_refund, payment_id, provider, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	insTransition := prep(`INSERT INTO order_transitions(id, order_id, "from", "to", event_id, reason, at) VALUES (?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	eventBase := w.nextEvent
	endpointOf := make([]uint, len(c.events))
	for _, row := range c.rows {
		w.nextDelivery++
		var eventID any
		if row.event >= 0 {
			eventID = eventBase + int64(row.event) + 1
			endpointOf[row.event] = row.endpoint
		}
		// Stored as the server stores it, so the seeded database's size per delivery is the server's.
		stored, codec := models.SealBody(row.body)
		if _, err = insDelivery.Exec(w.nextDelivery, w.merchantID, row.endpoint, row.at, row.remote, row.headers, stored, string(codec),
			len(row.body), row.outcome, row.reason, row.status, eventID, row.eventType); err != nil {
			return fmt.Errorf("insert delivery: %w", err)
		}
		body := ""
		if utf8.Valid(row.body) {
			body = string(row.body)
		}
		if _, err = insSearch.Exec(w.nextDelivery, body, row.searchHdrs); err != nil {
			return fmt.Errorf("index delivery: %w", err)
		}
	}
	for i, ev := range c.events {
		w.nextEvent++
		n := ev.n
		done := ev.at.Add(30 * time.Millisecond)
		var processedAt any
		attempts := 1
		if ev.status == models.StatusProcessed {
			processedAt = done
		} else {
			attempts = 8
		}
		if _, err = insEvent.Exec(w.nextEvent, w.merchantID, endpointOf[i], n.ID, "stripe", n.Type, n.Canonical, n.OrderRef, n.PaymentID,
			n.Amount, n.HasAmount, n.Currency, n.CustomerEmail, n.CustomerPhone, ev.status, attempts, ev.lastError,
			ev.applied, ev.at, processedAt, ev.count); err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		w.nextAttempt++
		if _, err = insAttempt.Exec(w.nextAttempt, w.nextEvent, ev.at.Add(20*time.Millisecond), done, ev.status, ev.result,
			ev.lastError, models.TriggerAutomatic); err != nil {
			return fmt.Errorf("insert attempt: %w", err)
		}
	}
	for _, o := range c.orders {
		w.nextOrder++
		st := o.st
		if _, err = insOrder.Exec(w.nextOrder, w.merchantID, o.ref, st.Status, st.Paid, st.Amount, st.HasAmount, st.Currency,
			st.RefundedAmount, st.FullRefund, st.PaymentID, "stripe", o.created, o.updated); err != nil {
			return fmt.Errorf("insert order: %w", err)
		}
		for _, t := range o.transitions {
			w.nextTransition++
			if _, err = insTransition.Exec(w.nextTransition, w.nextOrder, t.from, t.to, eventBase+int64(t.event)+1, t.reason, t.at); err != nil {
				return fmt.Errorf("insert transition: %w", err)
			}
		}
		if w.orderCount%w.sampleEvery == 0 {
			w.sample(c, o, eventBase)
		}
		w.orderCount++
	}
	// The seeded rows are indexed above, so the server's search indexer starts after them.
	if _, err = tx.Exec(`UPDATE search.delivery_search_progress SET indexed_through = ?`, w.nextDelivery); err != nil {
		return fmt.Errorf("search progress: %w", err)
	}
	return tx.Commit()
}

// sample keeps what the page timings open for order o: the order, its first event, and the
// values a person would search for.
func (w *seedWriter) sample(c *seedChunkData, o seedOrder, eventBase int64) {
	if len(o.transitions) == 0 {
		return
	}
	ev := c.events[o.transitions[0].event]
	w.info.OrderRefs = append(w.info.OrderRefs, o.ref)
	w.info.Events = append(w.info.Events, uint(eventBase)+uint(o.transitions[0].event)+1)
	w.info.PaymentIDs = append(w.info.PaymentIDs, ev.n.PaymentID)
	w.info.Emails = append(w.info.Emails, ev.n.CustomerEmail)
	w.info.Amounts = append(w.info.Amounts, strconv.FormatInt(ev.n.Amount, 10))
}
