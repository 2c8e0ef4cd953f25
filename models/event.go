package models

import (
	"fmt"
	"time"

	"hooklog/webhooks"
)

// Status is where an event is in processing. Stored values: never rename.
type Status string

const (
	// StatusPending waits for a worker.
	StatusPending Status = "pending"
	// StatusProcessing is claimed by a worker until its lease ends.
	StatusProcessing Status = "processing"
	// StatusProcessed moved its order (or needed nothing) and is done.
	StatusProcessed Status = "processed"
	// StatusFailed failed and waits for its next automatic retry, or for a replay when none is scheduled.
	StatusFailed Status = "failed"
	// StatusDead failed too many times; only a replay moves it again.
	StatusDead Status = "dead"
)

// Statuses lists the statuses, for filters.
var Statuses = []Status{StatusPending, StatusProcessing, StatusProcessed, StatusFailed, StatusDead}

// Mark is an operator's label on an event. Stored values: never rename.
type Mark string

const (
	// MarkNone is no mark.
	MarkNone Mark = ""
	// MarkResolved means someone dealt with it.
	MarkResolved Mark = "resolved"
	// MarkIgnored means it needs nothing.
	MarkIgnored Mark = "ignored"
	// MarkNeedsReview asks someone to look.
	MarkNeedsReview Mark = "needs_review"
)

// Marks lists the marks an operator can set.
var Marks = []Mark{MarkResolved, MarkIgnored, MarkNeedsReview}

// ParseMark validates a mark; "" clears it.
func ParseMark(s string) (Mark, error) {
	if s == "" {
		return MarkNone, nil
	}
	for _, m := range Marks {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("mark must be resolved, ignored or needs_review, not %q", s)
}

// Event is one provider event, stored once however many times it is delivered.
type Event struct {
	ID         uint               `gorm:"primaryKey"`
	MerchantID uint               `gorm:"not null;index"`
	EndpointID uint               `gorm:"not null;uniqueIndex:idx_events_dedup,priority:1"`
	ExternalID string             `gorm:"not null;uniqueIndex:idx_events_dedup,priority:2"`
	Provider   string             `gorm:"not null"`
	Type       string             `gorm:"not null;default:''"`
	Canonical  webhooks.Canonical `gorm:"not null;default:'unknown'"`
	// OrderRef and PaymentID are indexed together, as the order they lead to, by
	// idx_events_order_key (see migrateOrderIndexes).
	OrderRef      string `gorm:"not null;default:''"`
	PaymentID     string `gorm:"not null;default:''"`
	Amount        int64  `gorm:"not null;default:0"`
	HasAmount     bool   `gorm:"not null;default:false"`
	Currency      string `gorm:"not null;default:''"`
	CustomerEmail string `gorm:"not null;default:''"`
	CustomerPhone string `gorm:"not null;default:''"`

	// Status and NextAttemptAt are indexed for the workers' claims by idx_events_due (see
	// migrateStatsIndexes), over the events that can still be due only.
	Status   Status `gorm:"not null"`
	Attempts int    `gorm:"not null;default:0"`
	// NextAttemptAt is when a pending or failed event is due; while processing, it is the end of the
	// worker's lease, after which another worker may take the event over (a crashed worker).
	NextAttemptAt *time.Time
	// ClaimToken identifies the run holding a processing event; finishing checks it.
	ClaimToken string `gorm:"not null;default:''"`
	LastError  string `gorm:"not null;default:''"`
	// PendingTrigger and PendingActor say why and by whom the next run was asked for.
	PendingTrigger Trigger `gorm:"not null;default:''"`
	PendingActor   string  `gorm:"not null;default:''"`
	// Applied is true once the event has moved its order, so a replay never moves it twice.
	Applied bool `gorm:"not null;default:false"`

	Mark     Mark   `gorm:"not null;default:''"`
	MarkNote string `gorm:"not null;default:''"`
	MarkedBy string `gorm:"not null;default:''"`
	MarkedAt *time.Time

	ReceivedAt    time.Time `gorm:"not null"`
	ProcessedAt   *time.Time
	DeliveryCount int `gorm:"not null;default:1"`
}

// Normalised returns the event's webhooks fields.
func (e *Event) Normalised() webhooks.Event {
	return webhooks.Event{ID: e.ExternalID, Type: e.Type, Canonical: e.Canonical, OrderRef: e.OrderRef, PaymentID: e.PaymentID,
		Amount: e.Amount, HasAmount: e.HasAmount, Currency: e.Currency, CustomerEmail: e.CustomerEmail, CustomerPhone: e.CustomerPhone}
}

// SetNormalised copies normalised fields onto the event.
func (e *Event) SetNormalised(n webhooks.Event) {
	e.ExternalID, e.Type, e.Canonical, e.OrderRef, e.PaymentID = n.ID, n.Type, n.Canonical, n.OrderRef, n.PaymentID
	e.Amount, e.HasAmount, e.Currency, e.CustomerEmail, e.CustomerPhone = n.Amount, n.HasAmount, n.Currency, n.CustomerEmail, n.CustomerPhone
}

// Event loads one of a merchant's events.
func (s *Store) Event(merchantID, id uint) (*Event, error) {
	var e Event
	if err := s.DB.Where("merchant_id = ?", merchantID).Take(&e, id).Error; err != nil {
		return nil, notFound(fmt.Sprintf("event %d", id), err)
	}
	return &e, nil
}

// EventByID loads an event whoever owns it (workers and the CLI).
func (s *Store) EventByID(id uint) (*Event, error) {
	var e Event
	if err := s.DB.Take(&e, id).Error; err != nil {
		return nil, notFound(fmt.Sprintf("event %d", id), err)
	}
	return &e, nil
}

// MarkEvent sets or clears an operator's mark with a note.
func (s *Store) MarkEvent(merchantID, id uint, mark Mark, note, by string) (*Event, error) {
	now := s.Now()
	res := s.DB.Model(&Event{}).Where("merchant_id = ? AND id = ?", merchantID, id).
		Updates(map[string]any{"mark": mark, "mark_note": note, "marked_by": by, "marked_at": now})
	if res.Error != nil {
		return nil, fmt.Errorf("store: mark event %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, fmt.Errorf("store: event %d: %w", id, ErrNotFound)
	}
	return s.Event(merchantID, id)
}
