package models

import (
	"fmt"
	"net/http"
	"time"
)

// Outcome is what happened to one received HTTP request. Stored values: never rename.
type Outcome string

const (
	// OutcomeAccepted is a verified delivery that created its event.
	OutcomeAccepted Outcome = "accepted"
	// OutcomeDuplicate is a verified delivery of an event already stored.
	OutcomeDuplicate Outcome = "duplicate"
	// OutcomeRejected is a delivery that failed verification, was too large, or hit a disabled endpoint.
	OutcomeRejected Outcome = "rejected"
)

// Outcomes lists the outcomes, for filters.
var Outcomes = []Outcome{OutcomeAccepted, OutcomeDuplicate, OutcomeRejected}

// Delivery is one HTTP request received at an ingest URL, stored byte for byte whatever its outcome.
type Delivery struct {
	ID         uint      `gorm:"primaryKey"`
	MerchantID uint      `gorm:"not null;index:idx_deliveries_merchant_id,priority:1"`
	EndpointID uint      `gorm:"not null;index:idx_deliveries_endpoint_id,priority:1"`
	ReceivedAt time.Time `gorm:"not null;index"`
	RemoteAddr string    `gorm:"not null"`
	// Headers are all request headers as received.
	Headers http.Header `gorm:"serializer:json"`
	// Body is the raw request body, byte for byte; empty when it was over the size limit. It is
	// stored as BodyCodec says, and every read through GORM gives back the bytes received (AfterFind).
	Body      []byte
	BodyCodec BodyCodec `gorm:"not null;default:''"`
	BodySize  int64     `gorm:"not null"`
	Outcome   Outcome   `gorm:"not null;index:idx_deliveries_outcome,priority:2;index:idx_deliveries_event_outcome,priority:2"`
	// Reason says why a delivery was rejected, exactly ("no signature matched", ...).
	Reason     string `gorm:"not null;default:''"`
	StatusCode int    `gorm:"not null"`
	// EventID is indexed with Outcome: an event's first accepted delivery, which every processing
	// run reads, is then one index lookup. With event_id alone indexed, SQLite preferred the
	// outcome index and scanned every accepted delivery, so processing slowed as the table grew.
	EventID *uint `gorm:"index:idx_deliveries_event_outcome,priority:1"`
	// EventType is the provider's event type, kept here so filters need no join.
	EventType string `gorm:"not null;default:''"`
}

// Delivery loads one of a merchant's deliveries.
func (s *Store) Delivery(merchantID, id uint) (*Delivery, error) {
	var d Delivery
	if err := s.DB.Where("merchant_id = ?", merchantID).Take(&d, id).Error; err != nil {
		return nil, notFound(fmt.Sprintf("delivery %d", id), err)
	}
	return &d, nil
}

// EventDeliveries lists every delivery of an event, oldest first.
func (s *Store) EventDeliveries(eventID uint) ([]Delivery, error) {
	var ds []Delivery
	if err := s.DB.Where("event_id = ?", eventID).Order("id").Find(&ds).Error; err != nil {
		return nil, fmt.Errorf("store: deliveries of event %d: %w", eventID, err)
	}
	return ds, nil
}
