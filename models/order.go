package models

import (
	"fmt"
	"time"
)

// Order is a merchant's order as the payment events describe it.
type Order struct {
	ID             uint        `gorm:"primaryKey"`
	MerchantID     uint        `gorm:"not null;uniqueIndex:idx_orders_ref,priority:1"`
	Reference      string      `gorm:"not null;uniqueIndex:idx_orders_ref,priority:2"`
	Status         OrderStatus `gorm:"not null;index"`
	Paid           bool        `gorm:"not null;default:false"`
	Amount         int64       `gorm:"not null;default:0"`
	HasAmount      bool        `gorm:"not null;default:false"`
	Currency       string      `gorm:"not null;default:''"`
	RefundedAmount int64       `gorm:"not null;default:0"`
	FullRefund     bool        `gorm:"not null;default:false"`
	PaymentID      string      `gorm:"not null;default:'';index"`
	Provider       string      `gorm:"not null;default:''"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// OrderTransition is one step of an order's history, linked to the event that caused it.
type OrderTransition struct {
	ID      uint        `gorm:"primaryKey"`
	OrderID uint        `gorm:"not null;index"`
	From    OrderStatus `gorm:"not null;default:''"`
	To      OrderStatus `gorm:"not null"`
	EventID uint        `gorm:"not null;index"`
	Reason  string      `gorm:"not null"`
	At      time.Time   `gorm:"not null"`
}

// State returns the part of the order the state machine works on.
func (o *Order) State() OrderState {
	return OrderState{Exists: o.ID != 0, Status: o.Status, Paid: o.Paid, Amount: o.Amount, HasAmount: o.HasAmount,
		Currency: o.Currency, RefundedAmount: o.RefundedAmount, FullRefund: o.FullRefund, PaymentID: o.PaymentID}
}

func (o *Order) setState(st OrderState) {
	o.Status, o.Paid, o.Amount, o.HasAmount = st.Status, st.Paid, st.Amount, st.HasAmount
	o.Currency, o.RefundedAmount, o.FullRefund, o.PaymentID = st.Currency, st.RefundedAmount, st.FullRefund, st.PaymentID
}

// OrderByReference loads a merchant's order by its reference.
func (s *Store) OrderByReference(merchantID uint, ref string) (*Order, error) {
	var o Order
	if err := s.DB.Where("merchant_id = ? AND reference = ?", merchantID, ref).Take(&o).Error; err != nil {
		return nil, notFound("order "+ref, err)
	}
	return &o, nil
}

// OrderHistory lists an order's transitions, oldest first.
func (s *Store) OrderHistory(orderID uint) ([]OrderTransition, error) {
	var ts []OrderTransition
	if err := s.DB.Where("order_id = ?", orderID).Order("id").Find(&ts).Error; err != nil {
		return nil, fmt.Errorf("store: history of order %d: %w", orderID, err)
	}
	return ts, nil
}

// EventTransitions lists the order transitions an event caused.
func (s *Store) EventTransitions(eventID uint) ([]OrderTransition, error) {
	var ts []OrderTransition
	if err := s.DB.Where("event_id = ?", eventID).Order("id").Find(&ts).Error; err != nil {
		return nil, fmt.Errorf("store: transitions of event %d: %w", eventID, err)
	}
	return ts, nil
}
