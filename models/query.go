package models

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// Cursor is an opaque keyset position: lists continue below the last id seen, so a deep page costs
// the same as the first.
type Cursor string

// EncodeCursor makes a cursor that continues after id.
func EncodeCursor(id uint) Cursor {
	if id == 0 {
		return ""
	}
	return Cursor(base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(uint64(id), 10))))
}

// ErrBadCursor means a cursor was not made by EncodeCursor.
var ErrBadCursor = errors.New("cursor is not valid; start again from the first page")

// ID decodes the cursor; an empty cursor is 0, meaning the first page.
func (c Cursor) ID() (uint, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(string(c))
	if err != nil {
		return 0, ErrBadCursor
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil || n == 0 {
		return 0, ErrBadCursor
	}
	return uint(n), nil
}

// EventFilter narrows an event list. Zero fields match everything.
type EventFilter struct {
	MerchantID uint
	Status     Status
	Type       string
	EndpointID uint
	OrderRef   string
	ExternalID string
	Mark       Mark
	Since      time.Time
	Until      time.Time
	Cursor     Cursor
	Limit      int
}

func clampLimit(n int) int {
	if n <= 0 {
		return 50
	}
	return min(n, 500)
}

// Events lists a merchant's events newest first and returns the cursor of the next page ("" at the end).
func (s *Store) Events(f EventFilter) ([]Event, Cursor, error) {
	after, err := f.Cursor.ID()
	if err != nil {
		return nil, "", err
	}
	limit := clampLimit(f.Limit)
	var evs []Event
	if err := eventsQuery(s.DB, f, after).Limit(limit + 1).Find(&evs).Error; err != nil {
		return nil, "", fmt.Errorf("store: list events: %w", err)
	}
	return pageOf(evs, limit, func(e Event) uint { return e.ID })
}

// eventsQuery selects the events of f older than the event after (0: from the newest), newest first.
func eventsQuery(db *gorm.DB, f EventFilter, after uint) *gorm.DB {
	var q *gorm.DB
	if f.OrderRef != "" {
		// The order key equals a non-empty order_ref, and names the index that finds the order's
		// few events; the unary + keeps SQLite from walking the merchant's every event instead.
		q = db.Where("+merchant_id = ? AND "+eventOrderKey+" = ? AND order_ref = ?", f.MerchantID, f.OrderRef, f.OrderRef)
	} else {
		q = db.Where("merchant_id = ?", f.MerchantID)
	}
	if after != 0 {
		q = q.Where("id < ?", after)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.EndpointID != 0 {
		q = q.Where("endpoint_id = ?", f.EndpointID)
	}
	if f.ExternalID != "" {
		q = q.Where("external_id = ?", f.ExternalID)
	}
	if f.Mark != "" {
		q = q.Where("mark = ?", f.Mark)
	}
	if !f.Since.IsZero() {
		q = q.Where("received_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		q = q.Where("received_at < ?", f.Until)
	}
	return q.Order("id DESC")
}

// DeliveryFilter narrows a delivery list. Zero fields match everything.
type DeliveryFilter struct {
	MerchantID uint
	EndpointID uint
	Outcome    Outcome
	EventType  string
	Status     Status
	Mark       Mark
	Since      time.Time
	Until      time.Time
	Cursor     Cursor
	// After lists only deliveries newer than this id (live updates of the first page).
	After uint
	Limit int
}

// Deliveries lists a merchant's deliveries newest first and returns the next page's cursor.
func (s *Store) Deliveries(f DeliveryFilter) ([]Delivery, Cursor, error) {
	before, err := f.Cursor.ID()
	if err != nil {
		return nil, "", err
	}
	limit := clampLimit(f.Limit)
	q := s.DB.Model(&Delivery{}).Select("deliveries.id, deliveries.merchant_id, deliveries.endpoint_id, deliveries.received_at, "+
		"deliveries.remote_addr, deliveries.body_size, deliveries.outcome, deliveries.reason, deliveries.status_code, "+
		"deliveries.event_id, deliveries.event_type").
		Where("deliveries.merchant_id = ?", f.MerchantID)
	if before != 0 {
		q = q.Where("deliveries.id < ?", before)
	}
	if f.After != 0 {
		q = q.Where("deliveries.id > ?", f.After)
	}
	if f.EndpointID != 0 {
		q = q.Where("deliveries.endpoint_id = ?", f.EndpointID)
	}
	if f.Outcome != "" {
		q = q.Where("deliveries.outcome = ?", f.Outcome)
	}
	if f.EventType != "" {
		q = q.Where("deliveries.event_type = ?", f.EventType)
	}
	if !f.Since.IsZero() {
		q = q.Where("deliveries.received_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		q = q.Where("deliveries.received_at < ?", f.Until)
	}
	if f.Status != "" || f.Mark != "" {
		q = q.Joins("JOIN events ON events.id = deliveries.event_id")
		if f.Status != "" {
			q = q.Where("events.status = ?", f.Status)
		}
		if f.Mark != "" {
			q = q.Where("events.mark = ?", f.Mark)
		}
	}
	var ds []Delivery
	if err := q.Order("deliveries.id DESC").Limit(limit + 1).Find(&ds).Error; err != nil {
		return nil, "", fmt.Errorf("store: list deliveries: %w", err)
	}
	return pageOf(ds, limit, func(d Delivery) uint { return d.ID })
}

// pageOf trims a list fetched with limit+1 rows and returns the cursor of the next page.
func pageOf[T any](rows []T, limit int, id func(T) uint) ([]T, Cursor, error) {
	if len(rows) <= limit {
		return rows, "", nil
	}
	rows = rows[:limit]
	return rows, EncodeCursor(id(rows[len(rows)-1])), nil
}

// pageLinks gives the cursors of a keyset page's links to newer and older rows, from the cursors of
// its first and last rows. A page reached going back (asNewer) has older rows; one reached going
// forward (fromOlder) has newer rows; either has more in its own direction only if it overflowed.
func pageLinks(asNewer, fromOlder, more bool, first, last Cursor) (newer, older Cursor) {
	switch {
	case asNewer:
		older = last
		if more {
			newer = first
		}
	case fromOlder:
		newer = first
		if more {
			older = last
		}
	case more:
		older = last
	}
	return newer, older
}
