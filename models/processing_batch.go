package models

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Completion is a claimed event and what its run learned, for CompleteEvents.
type Completion struct {
	Claim *Claim
	Run   RunResult
}

// CompletionResult is how completing one event went: the sentence its attempt records, or why it
// was not completed (ErrLostClaim, a *PermanentError, or a failure to write that a retry may fix).
type CompletionResult struct {
	Result string
	Err    error
}

// CompleteEvents completes claimed events together in one transaction, each as CompleteEvent
// describes: an event whose claim was lost, or that fails permanently, is left as it was and
// reported, and the others are committed. Events are applied in order of id, so that several events
// of one order each find the order as the one before left it. One transaction for many events is
// what lets processing keep up with ingest on SQLite, where every write transaction waits its turn.
// If the transaction fails as a whole (a database error, a deadlock between PostgreSQL instances),
// each event is tried again in a transaction of its own, so one event cannot fail the others.
func (s *Store) CompleteEvents(items []Completion) []CompletionResult {
	out := make([]CompletionResult, len(items))
	if len(items) == 0 {
		return out
	}
	now := s.Now()
	defer s.lastComplete.Store(time.Now().UnixNano())
	err := s.writeTx(func(tx *gorm.DB) error { return s.completeIn(tx, items, out, now) })
	switch {
	case err != nil && len(items) > 1:
		for i := range items {
			out[i] = CompletionResult{}
			if err := s.writeTx(func(tx *gorm.DB) error { return s.completeIn(tx, items[i:i+1], out[i:i+1], now) }); err != nil {
				out[i] = CompletionResult{Err: err}
			}
		}
	case err != nil:
		out[0] = CompletionResult{Err: err}
	}
	for i, r := range out {
		var perm *PermanentError
		// A permanent failure is recorded as the operator's explanation, without internal prefixes.
		if r.Err != nil && !errors.Is(r.Err, ErrLostClaim) && !errors.As(r.Err, &perm) {
			out[i].Err = fmt.Errorf("store: complete event %d: %w", items[i].Claim.ID, r.Err)
		}
	}
	return out
}

// completeIn completes items inside tx and fills out. It returns an error only for what must roll
// the whole transaction back; a lost claim or a permanent failure found before anything of its
// event is written goes into out, and the other events go on.
func (s *Store) completeIn(tx *gorm.DB, items []Completion, out []CompletionResult, now time.Time) error {
	ids := make([]uint, len(items))
	for i, it := range items {
		ids[i] = it.Claim.ID
	}
	// The claims still ours. On PostgreSQL their rows stay locked until tx ends, so no other instance
	// takes one over between this check and the update that finishes it.
	var held []Event
	if err := lockRow(tx).Select("id", "claim_token").Where("id IN ? AND status = ?", ids, StatusProcessing).
		Order("id").Find(&held).Error; err != nil {
		return err
	}
	tokens := make(map[uint]string, len(held))
	for _, e := range held {
		tokens[e.ID] = e.ClaimToken
	}
	evs := make([]Event, len(items))
	todo := make([]int, 0, len(items))
	for i, it := range items {
		if tok, ok := tokens[it.Claim.ID]; !ok || tok != it.Claim.ClaimToken {
			out[i].Err = ErrLostClaim
			continue
		}
		evs[i] = it.Claim.Event
		evs[i].SetNormalised(it.Run.Normalised)
		storableEvent(tx, &evs[i])
		todo = append(todo, i)
	}
	slices.SortFunc(todo, func(a, b int) int { return cmp.Compare(evs[a].ID, evs[b].ID) })
	orders, err := loadOrders(tx, evs, todo)
	if err != nil {
		return err
	}
	attempts := make([]Attempt, 0, len(todo))
	var transitions []OrderTransition
	for _, i := range todo {
		ev, c := &evs[i], items[i].Claim
		result, tr, err := applyToOrder(tx, orders, ev, items[i].Run.Cumulative, now)
		var perm *PermanentError
		if errors.As(err, &perm) {
			out[i].Err = err
			continue
		}
		if err != nil {
			return err
		}
		// Written out rather than Updates with a map, which costs more than the database's own work.
		// The normalised fields are written only when this run read them differently (the endpoint's
		// settings changed): SQLite rewrites the entry of every indexed column an UPDATE names, and
		// the order_ref and payment_id indexes are keyed at random, so each costs a page.
		var res *gorm.DB
		if ev.Normalised() == c.Event.Normalised() {
			res = tx.Exec(`UPDATE events SET status = ?, claim_token = '', next_attempt_at = NULL, last_error = '',
				processed_at = ?, applied = ?, pending_trigger = '', pending_actor = ''
				WHERE id = ? AND claim_token = ? AND status = ?`,
				StatusProcessed, now, ev.Applied, ev.ID, c.ClaimToken, StatusProcessing)
		} else {
			res = tx.Exec(`UPDATE events SET status = ?, claim_token = '', next_attempt_at = NULL, last_error = '',
				processed_at = ?, applied = ?, pending_trigger = '', pending_actor = '',
				type = ?, canonical = ?, order_ref = ?, payment_id = ?, amount = ?, has_amount = ?, currency = ?,
				customer_email = ?, customer_phone = ?
				WHERE id = ? AND claim_token = ? AND status = ?`,
				StatusProcessed, now, ev.Applied, ev.Type, ev.Canonical, ev.OrderRef, ev.PaymentID, ev.Amount, ev.HasAmount, ev.Currency,
				ev.CustomerEmail, ev.CustomerPhone, ev.ID, c.ClaimToken, StatusProcessing)
		}
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			// The check above makes this unreachable; should it happen, the event's order has already
			// moved, so only a rollback (and the one-by-one retry) is right.
			return ErrLostClaim
		}
		out[i].Result = result
		attempts = append(attempts, Attempt{EventID: ev.ID, StartedAt: c.StartedAt, FinishedAt: now, Outcome: StatusProcessed,
			Result: result, Trigger: c.PendingTrigger, Actor: c.PendingActor})
		if tr != nil {
			transitions = append(transitions, *tr)
		}
	}
	// One statement each for the batch's transitions and attempts; rows keep the order of the
	// slice, so an order's history lists its transitions in the order they were applied.
	if err := insertTransitions(tx, transitions); err != nil {
		return err
	}
	return insertAttempts(tx, attempts)
}

// txOrders is the orders a transaction completing events may move, as the transaction has them:
// loaded (on PostgreSQL, and locked) in one query before any event is applied, then kept up to date
// as events move them or create new ones, so that applying an event reads no order.
type txOrders struct {
	byRef map[orderKey]*Order
	// byPayment holds, for each payment id, its order with the lowest id.
	byPayment map[orderKey]*Order
}

// orderKey is a merchant's order reference or payment id.
type orderKey struct {
	merchantID uint
	key        string
}

// loadOrders reads every order that the events at todo may move: each order whose reference or
// payment id one of them names (an order created for an event without a reference takes its
// payment id as the reference, so each name is looked up in both columns). Orders only ever gain a
// payment id, never change one, so no other order can come to match while the events are applied.
//
// On PostgreSQL the orders stay locked until tx ends, and are locked in order of id: the events are
// applied in order of event id, which would lock their orders in no order in particular, and two
// instances completing batches that share two orders could each hold one and wait for the other.
func loadOrders(tx *gorm.DB, evs []Event, todo []int) (*txOrders, error) {
	orders := &txOrders{byRef: map[orderKey]*Order{}, byPayment: map[orderKey]*Order{}}
	q := batchOrdersQuery(tx, evs, todo)
	if q == nil {
		return orders, nil
	}
	var found []Order
	if err := q.Find(&found).Error; err != nil {
		return nil, err
	}
	for i := range found {
		orders.add(&found[i])
	}
	return orders, nil
}

// batchOrdersQuery selects the orders loadOrders reads; nil when no event at todo moves an order.
func batchOrdersQuery(tx *gorm.DB, evs []Event, todo []int) *gorm.DB {
	keys := map[uint][]string{}
	for _, i := range todo {
		ev := &evs[i]
		if !AffectsOrders(ev.Canonical) || ev.Applied {
			continue
		}
		for _, k := range []string{ev.OrderRef, ev.PaymentID} {
			if k != "" {
				keys[ev.MerchantID] = append(keys[ev.MerchantID], k)
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	// The orders come from lookups in the reference and payment id indexes, united; the unary +
	// leaves the merchant as a check, so SQLite never trades a lookup for a walk over the merchant's
	// orders.
	var sets []string
	var args []any
	for m, ks := range keys {
		slices.Sort(ks)
		ks = slices.Compact(ks)
		sets = append(sets, "SELECT id FROM orders WHERE merchant_id = ? AND reference IN ?",
			"SELECT id FROM orders WHERE payment_id IN ? AND +merchant_id = ?")
		args = append(args, m, ks, ks, m)
	}
	q := lockRow(tx).Where("id IN ("+strings.Join(sets, " UNION ")+")", args...)
	// Only PostgreSQL locks, so only there is the order of id needed.
	if isPostgres(tx) {
		q = q.Order("id")
	}
	return q
}

func (t *txOrders) byReference(merchantID uint, ref string) *Order {
	return t.byRef[orderKey{merchantID, ref}]
}

func (t *txOrders) byPaymentID(merchantID uint, paymentID string) *Order {
	return t.byPayment[orderKey{merchantID, paymentID}]
}

// add records an order as the transaction has it now: loaded, created, or moved.
func (t *txOrders) add(o *Order) {
	t.byRef[orderKey{o.MerchantID, o.Reference}] = o
	if o.PaymentID == "" {
		return
	}
	k := orderKey{o.MerchantID, o.PaymentID}
	if cur := t.byPayment[k]; cur == nil || o.ID < cur.ID {
		t.byPayment[k] = o
	}
}

// EventSources returns what EventSource returns for each of several events, in one query, keyed by
// event id; an event without an accepted delivery is missing from the map.
func (s *Store) EventSources(eventIDs []uint) (map[uint]*Delivery, error) {
	out := make(map[uint]*Delivery, len(eventIDs))
	if len(eventIDs) == 0 {
		return out, nil
	}
	var ds []Delivery
	if err := sourcesQuery(s.DB, eventIDs).Find(&ds).Error; err != nil {
		return nil, fmt.Errorf("store: first deliveries of %d events: %w", len(eventIDs), err)
	}
	for i := range ds {
		if id := *ds[i].EventID; out[id] == nil || ds[i].ID < out[id].ID {
			out[id] = &ds[i]
		}
	}
	return out, nil
}

// sourcesQuery selects the accepted deliveries of events. It has no ORDER BY id: SQLite would serve
// that from the index on outcome alone, which lists deliveries in id order, and so read every
// accepted delivery there is instead of looking up these events' own.
func sourcesQuery(db *gorm.DB, eventIDs []uint) *gorm.DB {
	return db.Model(&Delivery{}).Select("id", "event_id", "headers", "body", "body_codec", "body_size").
		Where("event_id IN ? AND outcome = ?", eventIDs, OutcomeAccepted)
}
