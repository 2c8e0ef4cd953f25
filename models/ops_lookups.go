package models

import (
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// EventState is the part of an event a delivery row shows beside it.
type EventState struct {
	ID     uint
	Status Status
	Mark   Mark
}

// EventStates loads the status and mark of a merchant's events by id; unknown ids are left out.
func (s *Store) EventStates(merchantID uint, ids []uint) (map[uint]EventState, error) {
	out := make(map[uint]EventState, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []EventState
	err := s.DB.Model(&Event{}).Select("id", "status", "mark").Where("merchant_id = ? AND id IN ?", merchantID, ids).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: event states: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// EventOrder finds the order an event moved or names: through the transitions it caused, else by its
// order reference, else by its payment id. It returns ErrNotFound when there is none.
func (s *Store) EventOrder(ev *Event) (*Order, error) {
	var o Order
	err := s.DB.Where("merchant_id = ? AND id IN (SELECT order_id FROM order_transitions WHERE event_id = ?)", ev.MerchantID, ev.ID).
		Take(&o).Error
	if errors.Is(err, gorm.ErrRecordNotFound) && ev.OrderRef != "" {
		err = s.DB.Where("merchant_id = ? AND reference = ?", ev.MerchantID, ev.OrderRef).Take(&o).Error
	}
	if errors.Is(err, gorm.ErrRecordNotFound) && ev.OrderRef == "" && ev.PaymentID != "" {
		err = s.DB.Where("merchant_id = ? AND payment_id = ?", ev.MerchantID, ev.PaymentID).Order("id").Take(&o).Error
	}
	if err != nil {
		return nil, notFound(fmt.Sprintf("order of event %d", ev.ID), err)
	}
	return &o, nil
}
