package models

import (
	"fmt"
	"math"

	"hooklog/webhooks"
)

// OrderStatus is an order's payment state. Stored values: never rename.
type OrderStatus string

const (
	// OrderAwaitingPayment: checkout done, money not yet received.
	OrderAwaitingPayment OrderStatus = "awaiting_payment"
	// OrderPaid: payment succeeded.
	OrderPaid OrderStatus = "paid"
	// OrderFailed: payment failed and nothing succeeded since.
	OrderFailed OrderStatus = "failed"
	// OrderRefundPending: a refund was initiated and has not completed.
	OrderRefundPending OrderStatus = "refund_pending"
	// OrderRefunded: refunded in full.
	OrderRefunded OrderStatus = "refunded"
	// OrderPartiallyRefunded: refunded less than was paid.
	OrderPartiallyRefunded OrderStatus = "partially_refunded"
)

// OrderStatuses lists the statuses, for filters.
var OrderStatuses = []OrderStatus{OrderAwaitingPayment, OrderPaid, OrderFailed, OrderRefundPending, OrderRefunded, OrderPartiallyRefunded}

// OrderState is the part of an order the state machine reads and writes.
type OrderState struct {
	Exists         bool
	Status         OrderStatus
	Paid           bool  // a successful payment has been recorded
	Amount         int64 // the paid (or, before payment, the expected) amount in minor units
	HasAmount      bool
	Currency       string
	RefundedAmount int64
	FullRefund     bool // a refund without an amount: refunded in full whatever was paid
	PaymentID      string
}

// Effect is what one event asks of an order.
type Effect struct {
	Canonical webhooks.Canonical
	Amount    int64
	HasAmount bool
	Currency  string
	PaymentID string
	// Cumulative refund amounts (Stripe's amount_refunded) replace the refunded total; others add to it.
	Cumulative bool
}

// AffectsOrders reports whether a canonical event type moves orders at all.
func AffectsOrders(c webhooks.Canonical) bool {
	switch c {
	case webhooks.PaymentSucceeded, webhooks.PaymentFailed, webhooks.PaymentPending, webhooks.RefundInitiated, webhooks.RefundCompleted:
		return true
	}
	return false
}

// Apply is the order state machine. It tolerates duplicates and any order of arrival: a late failure
// never undoes a payment, a pending checkout never moves an order back, and a refund that arrives
// before its payment is kept and reconciled when the payment comes. It returns the next state and a
// sentence saying why, for the order's history.
func Apply(o OrderState, e Effect) (OrderState, string) {
	n := o
	if n.Currency == "" {
		n.Currency = e.Currency
	}
	if n.PaymentID == "" {
		n.PaymentID = e.PaymentID
	}
	switch e.Canonical {
	case webhooks.PaymentPending:
		if !o.Exists {
			n.Exists, n.Status = true, OrderAwaitingPayment
			if e.HasAmount {
				n.Amount, n.HasAmount = e.Amount, true
			}
			return n, "checkout completed; waiting for the payment"
		}
		return n, fmt.Sprintf("no change: order is already %s; a pending checkout does not move it back", o.Status)

	case webhooks.PaymentSucceeded:
		if o.Paid {
			return n, "no change: payment already recorded"
		}
		n.Exists, n.Paid = true, true
		if e.HasAmount {
			n.Amount, n.HasAmount = e.Amount, true
		}
		switch o.Status {
		case OrderRefundPending:
			return n, "payment recorded after its refund was initiated; the refund stays pending"
		case OrderRefunded, OrderPartiallyRefunded:
			n.Status = refundedStatus(n)
			return n, "payment recorded after its refund arrived; refund reconciled against the paid amount"
		}
		n.Status = OrderPaid
		if o.Status == OrderFailed {
			return n, "payment succeeded after an earlier failure"
		}
		return n, "payment succeeded"

	case webhooks.PaymentFailed:
		switch {
		case !o.Exists || o.Status == OrderAwaitingPayment:
			n.Exists, n.Status = true, OrderFailed
			if !o.HasAmount && e.HasAmount {
				n.Amount, n.HasAmount = e.Amount, true
			}
			return n, "payment failed"
		case o.Status == OrderFailed:
			return n, "no change: payment already failed"
		}
		return n, fmt.Sprintf("no change: order is %s; a late failure never undoes a payment", o.Status)

	case webhooks.RefundInitiated:
		switch o.Status {
		case OrderRefunded:
			return n, "no change: refund already completed"
		case OrderRefundPending:
			return n, "no change: refund already pending"
		}
		n.Exists, n.Status = true, OrderRefundPending
		if !o.Paid {
			return n, "refund initiated before its payment arrived; kept as pending"
		}
		return n, "refund initiated"

	case webhooks.RefundCompleted:
		n.Exists = true
		refund := refundAmount(e.Amount)
		switch {
		case !e.HasAmount:
			n.FullRefund = true
		case e.Cumulative:
			n.RefundedAmount = max(o.RefundedAmount, refund)
		default:
			n.RefundedAmount = addCapped(o.RefundedAmount, refund)
		}
		n.Status = refundedStatus(n)
		if !o.Paid {
			return n, "refund completed before its payment arrived; it will be reconciled when the payment comes"
		}
		if n.Status == OrderPartiallyRefunded {
			return n, fmt.Sprintf("partial refund: %d of %d refunded", n.RefundedAmount, n.Amount)
		}
		return n, "refunded in full"
	}
	return n, "no change: event does not affect orders"
}

// refundAmount is the money a refund event gives back. Some gateways write refunds as negative
// amounts, so the sign is dropped; a refunded total must never go below zero.
func refundAmount(amount int64) int64 {
	switch {
	case amount == math.MinInt64:
		return math.MaxInt64
	case amount < 0:
		return -amount
	}
	return amount
}

// addCapped adds two non-negative amounts, stopping at the largest int64 instead of wrapping around.
func addCapped(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// refundedStatus decides between refunded and partially refunded once a refund has completed.
func refundedStatus(o OrderState) OrderStatus {
	if o.FullRefund || !o.Paid || !o.HasAmount || o.RefundedAmount >= o.Amount {
		return OrderRefunded
	}
	return OrderPartiallyRefunded
}
