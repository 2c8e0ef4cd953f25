package models

import (
	"fmt"
	"time"
)

// Trigger says why an event was processed. Stored values: never rename.
type Trigger string

const (
	// TriggerAutomatic is the first run after the event arrived.
	TriggerAutomatic Trigger = "automatic"
	// TriggerRetry is a scheduled retry after a failure, or a takeover after a crashed worker.
	TriggerRetry Trigger = "retry"
	// TriggerReplay is a person or script asking for the event to run again.
	TriggerReplay Trigger = "replay"
)

// Attempt is one processing run of an event.
type Attempt struct {
	ID         uint      `gorm:"primaryKey"`
	EventID    uint      `gorm:"not null;index"`
	StartedAt  time.Time `gorm:"not null"`
	FinishedAt time.Time `gorm:"not null"`
	// Outcome is the event's status after the run: processed, failed or dead.
	Outcome Status  `gorm:"not null"`
	Result  string  `gorm:"not null;default:''"`
	Error   string  `gorm:"not null;default:''"`
	Trigger Trigger `gorm:"not null"`
	// Actor is who asked for a replay ("" for automatic runs).
	Actor string `gorm:"not null;default:''"`
}

// EventAttempts lists an event's attempts, oldest first.
func (s *Store) EventAttempts(eventID uint) ([]Attempt, error) {
	var as []Attempt
	if err := s.DB.Where("event_id = ?", eventID).Order("id").Find(&as).Error; err != nil {
		return nil, fmt.Errorf("store: attempts of event %d: %w", eventID, err)
	}
	return as, nil
}
