package models

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"hooklog/webhooks"
)

// Claim is an event a worker holds, with what it needs to finish it.
type Claim struct {
	Event
	StartedAt time.Time
}

// ErrLostClaim means the event's lease ended and another worker took it; the run is discarded.
var ErrLostClaim = errors.New("claim lost: the lease expired and another worker took the event")

func newClaimToken() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// ClaimEvents takes up to n events that are due, the earliest first: pending, failed with a retry
// due, or processing under an expired lease (a crashed worker). While an event is processing,
// next_attempt_at holds its lease deadline, so a single index on (status, next_attempt_at) serves
// every case. On PostgreSQL the selection skips rows another instance is claiming at that moment,
// so instances never wait on each other nor claim the same event.
func (s *Store) ClaimEvents(n int, lease time.Duration) ([]Claim, error) {
	now := s.Now()
	token := newClaimToken()
	if !s.Postgres() {
		if err := s.noteProcessingLag(now); err != nil {
			return nil, err
		}
	}
	var evs []Event
	unlock := s.lockWrites()
	defer unlock()
	// Each status's earliest n are read in index order, and the earliest n of those taken. One range
	// over the three statuses at once would come out of the index unordered, and PostgreSQL would
	// sort every due event (the whole backlog, locking forbids it to stop early) for each claim.
	due := `SELECT id, next_attempt_at FROM (SELECT id, next_attempt_at FROM events
		WHERE status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?` + skipLocked(s.DB) + `) AS `
	err := s.DB.Raw(`UPDATE events SET
			status = ?, claim_token = ?, attempts = attempts + 1, next_attempt_at = ?,
			pending_trigger = CASE WHEN pending_trigger = '' AND attempts > 0 THEN ? ELSE pending_trigger END
		WHERE id IN (
			SELECT id FROM (`+due+`pending UNION ALL `+due+`failed UNION ALL `+due+`expired) AS due
			ORDER BY next_attempt_at LIMIT ?)
		RETURNING *`,
		StatusProcessing, token, now.Add(lease), TriggerRetry,
		StatusPending, now, n, StatusFailed, now, n, StatusProcessing, now, n, n).Scan(&evs).Error
	if err != nil {
		return nil, fmt.Errorf("store: claim events: %w", err)
	}
	out := make([]Claim, len(evs))
	for i, e := range evs {
		if e.PendingTrigger == "" {
			e.PendingTrigger = TriggerAutomatic
		}
		out[i] = Claim{Event: e, StartedAt: now}
	}
	return out, nil
}

// EventSource returns the headers and raw body of the event's first delivery, which processing
// re-reads so that a replay after fixing an endpoint's settings normalises again.
func (s *Store) EventSource(eventID uint) (*Delivery, error) {
	srcs, err := s.EventSources([]uint{eventID})
	if err != nil {
		return nil, err
	}
	if d := srcs[eventID]; d != nil {
		return d, nil
	}
	return nil, fmt.Errorf("store: first delivery of event %d: %w", eventID, ErrNotFound)
}

// RunResult is what a worker learned from one processing run.
type RunResult struct {
	Normalised webhooks.Event
	// Cumulative tells the state machine that refund amounts are running totals (Stripe).
	Cumulative bool
}

// CompleteEvent applies a claimed event to its order and marks it processed, all in one transaction
// that commits only if the claim is still this worker's. An event already applied to its order (a
// replay of a processed event) does not move the order twice. It is CompleteEvents for one event.
func (s *Store) CompleteEvent(c *Claim, r RunResult) (string, error) {
	done := s.CompleteEvents([]Completion{{Claim: c, Run: r}})
	return done[0].Result, done[0].Err
}

// ErrNoOrderReference is a permanent failure: a payment event names no order and no payment.
var ErrNoOrderReference = errors.New("the event names no order reference and no payment id, so no order can be updated; check the endpoint's field settings, then replay")

// applyToOrder runs the state machine for one event inside tx and says what happened, with the
// transition it caused (nil when the order's status stays), which the caller stores. orders holds
// the orders the transaction has read and written so far. A permanent error comes before anything is
// written, so that CompleteEvents can leave that one event as it was and commit the others.
func applyToOrder(tx *gorm.DB, orders *txOrders, ev *Event, cumulative bool, now time.Time) (string, *OrderTransition, error) {
	if !AffectsOrders(ev.Canonical) {
		if ev.Canonical == webhooks.CustomerUpdated {
			return "customer event recorded; orders are not affected", nil, nil
		}
		return fmt.Sprintf("event type %q does not affect orders; recorded only", ev.Type), nil, nil
	}
	if ev.Applied {
		return "no change: this event was already applied to its order", nil, nil
	}
	if ev.OrderRef == "" && ev.PaymentID == "" {
		return "", nil, Permanent(ErrNoOrderReference)
	}
	effect := Effect{Canonical: ev.Canonical, Amount: ev.Amount, HasAmount: ev.HasAmount,
		Currency: ev.Currency, PaymentID: ev.PaymentID, Cumulative: cumulative}
	// The event's order: by payment id when it names no reference, else (or when no order has that
	// payment id) by reference, which is then the payment id.
	ref := ev.OrderRef
	var o *Order
	if ref == "" {
		ref = ev.PaymentID
		o = orders.byPaymentID(ev.MerchantID, ev.PaymentID)
	}
	if o == nil {
		o = orders.byReference(ev.MerchantID, ref)
	}
	if o == nil {
		// A new order is inserted in the state the event gives it, in one statement. Should another
		// instance have inserted it since the orders were loaded, the insert does nothing and the
		// event is applied to that order like to any other.
		next, why := Apply(OrderState{}, effect)
		o = &Order{MerchantID: ev.MerchantID, Reference: ref, CreatedAt: now, UpdatedAt: now, Provider: ev.Provider}
		o.setState(next)
		if err := insertNewOrder(tx, o); err != nil {
			return "", nil, err
		}
		if o.ID != 0 {
			orders.add(o)
			var tr *OrderTransition
			if next.Status != "" {
				tr = &OrderTransition{OrderID: o.ID, To: next.Status, EventID: ev.ID, Reason: why, At: now}
			}
			ev.Applied = true
			return fmt.Sprintf("order %s: %s", o.Reference, why), tr, nil
		}
		o = &Order{}
		if err := lockRow(tx).Where("merchant_id = ? AND reference = ?", ev.MerchantID, ref).Take(o).Error; err != nil {
			return "", nil, err
		}
		orders.add(o)
	}
	before := o.State()
	if before.Status == "" {
		before.Exists = false
	}
	next, why := Apply(before, effect)
	from := o.Status
	o.setState(next)
	o.UpdatedAt = now
	if o.Provider == "" {
		o.Provider = ev.Provider
	}
	// Written out rather than Save: it costs a fraction (this runs once per event), and Save would
	// stamp updated_at with the wall clock instead of the store's.
	err := tx.Exec(`UPDATE orders SET status = ?, paid = ?, amount = ?, has_amount = ?, currency = ?, refunded_amount = ?,
		full_refund = ?, payment_id = ?, provider = ?, updated_at = ? WHERE id = ?`,
		o.Status, o.Paid, o.Amount, o.HasAmount, o.Currency, o.RefundedAmount, o.FullRefund, o.PaymentID, o.Provider, o.UpdatedAt, o.ID).Error
	if err != nil {
		return "", nil, err
	}
	orders.add(o)
	var tr *OrderTransition
	if next.Status != from {
		tr = &OrderTransition{OrderID: o.ID, From: from, To: next.Status, EventID: ev.ID, Reason: why, At: now}
	}
	ev.Applied = true
	return fmt.Sprintf("order %s: %s", o.Reference, why), tr, nil
}

// PermanentError is a processing failure that retrying cannot fix; the event waits for a replay.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so the worker does not schedule automatic retries for it.
func Permanent(err error) error { return &PermanentError{Err: err} }

// FailEvent records a failed run: it schedules a retry at retryAt, or marks the event dead after the
// last attempt, or (for a permanent error) leaves it failed until someone replays it.
func (s *Store) FailEvent(c *Claim, runErr error, retryAt *time.Time, maxAttempts int) (Status, error) {
	now := s.Now()
	status := StatusFailed
	var perm *PermanentError
	switch {
	case errors.As(runErr, &perm):
		retryAt = nil
	case c.Attempts >= maxAttempts:
		status, retryAt = StatusDead, nil
	}
	msg := runErr.Error()
	err := s.writeTx(func(tx *gorm.DB) error {
		res := tx.Model(&Event{}).Where("id = ? AND claim_token = ? AND status = ?", c.ID, c.ClaimToken, StatusProcessing).
			Updates(map[string]any{"status": status, "claim_token": "", "next_attempt_at": retryAt, "last_error": msg,
				"pending_trigger": "", "pending_actor": ""})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrLostClaim
		}
		return tx.Create(&Attempt{EventID: c.ID, StartedAt: c.StartedAt, FinishedAt: now, Outcome: status,
			Error: msg, Trigger: c.PendingTrigger, Actor: c.PendingActor}).Error
	})
	if err != nil {
		if errors.Is(err, ErrLostClaim) {
			return "", err
		}
		return "", fmt.Errorf("store: fail event %d: %w", c.ID, err)
	}
	return status, nil
}

// ErrBusy means the event is being processed right now and cannot be replayed until that ends.
var ErrBusy = errors.New("the event is being processed right now; try again in a moment")

// Replay queues one of a merchant's events to run again at the worker. It returns the event as the
// replay left it (pending), even if a worker, here or on another instance, claims it at once.
func (s *Store) Replay(merchantID, id uint, actor string) (*Event, error) {
	var queued []Event
	res := s.DB.Model(&queued).Clauses(clause.Returning{}).Where("merchant_id = ? AND id = ? AND status <> ?", merchantID, id, StatusProcessing).
		Updates(map[string]any{"status": StatusPending, "next_attempt_at": s.Now(), "pending_trigger": TriggerReplay, "pending_actor": actor})
	if res.Error != nil {
		return nil, fmt.Errorf("store: replay event %d: %w", id, res.Error)
	}
	if len(queued) == 1 {
		return &queued[0], nil
	}
	ev, err := s.Event(merchantID, id)
	if err != nil {
		return nil, err
	}
	return ev, ErrBusy
}

// ReplayFilter selects failed and dead events for a bulk replay.
type ReplayFilter struct {
	MerchantID uint // 0: every merchant (CLI)
	EndpointID uint
	Since      time.Time
}

// ReplayFailed queues every failed or dead event matching f and returns how many.
func (s *Store) ReplayFailed(f ReplayFilter, actor string) (int64, error) {
	q := s.DB.Model(&Event{}).Where("status IN ?", []Status{StatusFailed, StatusDead})
	if f.MerchantID != 0 {
		q = q.Where("merchant_id = ?", f.MerchantID)
	}
	if f.EndpointID != 0 {
		q = q.Where("endpoint_id = ?", f.EndpointID)
	}
	if !f.Since.IsZero() {
		q = q.Where("received_at >= ?", f.Since)
	}
	res := q.Updates(map[string]any{"status": StatusPending, "next_attempt_at": s.Now(), "pending_trigger": TriggerReplay, "pending_actor": actor})
	if res.Error != nil {
		return 0, fmt.Errorf("store: replay failed events: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// RunnableCount counts events waiting for a worker now (pending, or failed with a retry due).
func (s *Store) RunnableCount() (int64, error) {
	var n int64
	err := s.DB.Model(&Event{}).Where("status IN ? AND next_attempt_at <= ?", []Status{StatusPending, StatusFailed, StatusProcessing}, s.Now()).Count(&n).Error
	return n, err
}
