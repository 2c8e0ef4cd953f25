package models

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"testing"

	"hooklog/webhooks"
)

// Order states the table starts from: 20.00 paid (or expected), 5.00 refunded where partial.
var stateFixtures = map[OrderStatus]OrderState{
	"":                     {},
	OrderAwaitingPayment:   {Exists: true, Status: OrderAwaitingPayment, Amount: 2000, HasAmount: true, Currency: "USD"},
	OrderPaid:              {Exists: true, Status: OrderPaid, Paid: true, Amount: 2000, HasAmount: true, Currency: "USD", PaymentID: "pay_1"},
	OrderFailed:            {Exists: true, Status: OrderFailed, Amount: 2000, HasAmount: true, Currency: "USD"},
	OrderRefundPending:     {Exists: true, Status: OrderRefundPending, Paid: true, Amount: 2000, HasAmount: true, Currency: "USD", PaymentID: "pay_1"},
	OrderRefunded:          {Exists: true, Status: OrderRefunded, Paid: true, Amount: 2000, HasAmount: true, Currency: "USD", RefundedAmount: 2000},
	OrderPartiallyRefunded: {Exists: true, Status: OrderPartiallyRefunded, Paid: true, Amount: 2000, HasAmount: true, Currency: "USD", RefundedAmount: 500},
}

// effectFixtures: payments of 20.00, refunds of 5.00 (not cumulative).
var effectFixtures = map[webhooks.Canonical]Effect{
	webhooks.PaymentSucceeded: {Canonical: webhooks.PaymentSucceeded, Amount: 2000, HasAmount: true, Currency: "USD", PaymentID: "pay_1"},
	webhooks.PaymentFailed:    {Canonical: webhooks.PaymentFailed, Amount: 2000, HasAmount: true, Currency: "USD", PaymentID: "pay_1"},
	webhooks.PaymentPending:   {Canonical: webhooks.PaymentPending, Amount: 2000, HasAmount: true, Currency: "USD"},
	webhooks.RefundInitiated:  {Canonical: webhooks.RefundInitiated, Amount: 500, HasAmount: true, Currency: "USD"},
	webhooks.RefundCompleted:  {Canonical: webhooks.RefundCompleted, Amount: 500, HasAmount: true, Currency: "USD"},
	webhooks.CustomerUpdated:  {Canonical: webhooks.CustomerUpdated},
	webhooks.Unknown:          {Canonical: webhooks.Unknown},
}

const (
	reasonRefundBeforePayment = "refund completed before its payment arrived; it will be reconciled when the payment comes"
	reasonInitiatedEarly      = "refund initiated before its payment arrived; kept as pending"
	reasonNoEffect            = "no change: event does not affect orders"
)

// TestApplyTable runs every order status (and no order) against every canonical event.
func TestApplyTable(t *testing.T) {
	const (
		none      = OrderStatus("")
		awaiting  = OrderAwaitingPayment
		paid      = OrderPaid
		failed    = OrderFailed
		pending   = OrderRefundPending
		refunded  = OrderRefunded
		partially = OrderPartiallyRefunded
	)
	tests := []struct {
		from     OrderStatus
		event    webhooks.Canonical
		to       OrderStatus
		refunded int64
		reason   string
	}{
		{none, webhooks.PaymentSucceeded, paid, 0, "payment succeeded"},
		{none, webhooks.PaymentFailed, failed, 0, "payment failed"},
		{none, webhooks.PaymentPending, awaiting, 0, "checkout completed; waiting for the payment"},
		{none, webhooks.RefundInitiated, pending, 0, reasonInitiatedEarly},
		{none, webhooks.RefundCompleted, refunded, 500, reasonRefundBeforePayment},
		{none, webhooks.CustomerUpdated, none, 0, reasonNoEffect},
		{none, webhooks.Unknown, none, 0, reasonNoEffect},

		{awaiting, webhooks.PaymentSucceeded, paid, 0, "payment succeeded"},
		{awaiting, webhooks.PaymentFailed, failed, 0, "payment failed"},
		{awaiting, webhooks.PaymentPending, awaiting, 0, "no change: order is already awaiting_payment; a pending checkout does not move it back"},
		{awaiting, webhooks.RefundInitiated, pending, 0, reasonInitiatedEarly},
		{awaiting, webhooks.RefundCompleted, refunded, 500, reasonRefundBeforePayment},
		{awaiting, webhooks.CustomerUpdated, awaiting, 0, reasonNoEffect},
		{awaiting, webhooks.Unknown, awaiting, 0, reasonNoEffect},

		{paid, webhooks.PaymentSucceeded, paid, 0, "no change: payment already recorded"},
		{paid, webhooks.PaymentFailed, paid, 0, "no change: order is paid; a late failure never undoes a payment"},
		{paid, webhooks.PaymentPending, paid, 0, "no change: order is already paid; a pending checkout does not move it back"},
		{paid, webhooks.RefundInitiated, pending, 0, "refund initiated"},
		{paid, webhooks.RefundCompleted, partially, 500, "partial refund: 500 of 2000 refunded"},
		{paid, webhooks.CustomerUpdated, paid, 0, reasonNoEffect},
		{paid, webhooks.Unknown, paid, 0, reasonNoEffect},

		{failed, webhooks.PaymentSucceeded, paid, 0, "payment succeeded after an earlier failure"},
		{failed, webhooks.PaymentFailed, failed, 0, "no change: payment already failed"},
		{failed, webhooks.PaymentPending, failed, 0, "no change: order is already failed; a pending checkout does not move it back"},
		{failed, webhooks.RefundInitiated, pending, 0, reasonInitiatedEarly},
		{failed, webhooks.RefundCompleted, refunded, 500, reasonRefundBeforePayment},
		{failed, webhooks.CustomerUpdated, failed, 0, reasonNoEffect},
		{failed, webhooks.Unknown, failed, 0, reasonNoEffect},

		{pending, webhooks.PaymentSucceeded, pending, 0, "no change: payment already recorded"},
		{pending, webhooks.PaymentFailed, pending, 0, "no change: order is refund_pending; a late failure never undoes a payment"},
		{pending, webhooks.PaymentPending, pending, 0, "no change: order is already refund_pending; a pending checkout does not move it back"},
		{pending, webhooks.RefundInitiated, pending, 0, "no change: refund already pending"},
		{pending, webhooks.RefundCompleted, partially, 500, "partial refund: 500 of 2000 refunded"},
		{pending, webhooks.CustomerUpdated, pending, 0, reasonNoEffect},
		{pending, webhooks.Unknown, pending, 0, reasonNoEffect},

		{refunded, webhooks.PaymentSucceeded, refunded, 2000, "no change: payment already recorded"},
		{refunded, webhooks.PaymentFailed, refunded, 2000, "no change: order is refunded; a late failure never undoes a payment"},
		{refunded, webhooks.PaymentPending, refunded, 2000, "no change: order is already refunded; a pending checkout does not move it back"},
		{refunded, webhooks.RefundInitiated, refunded, 2000, "no change: refund already completed"},
		{refunded, webhooks.RefundCompleted, refunded, 2500, "refunded in full"},
		{refunded, webhooks.CustomerUpdated, refunded, 2000, reasonNoEffect},
		{refunded, webhooks.Unknown, refunded, 2000, reasonNoEffect},

		{partially, webhooks.PaymentSucceeded, partially, 500, "no change: payment already recorded"},
		{partially, webhooks.PaymentFailed, partially, 500, "no change: order is partially_refunded; a late failure never undoes a payment"},
		{partially, webhooks.PaymentPending, partially, 500, "no change: order is already partially_refunded; a pending checkout does not move it back"},
		{partially, webhooks.RefundInitiated, pending, 500, "refund initiated"},
		{partially, webhooks.RefundCompleted, partially, 1000, "partial refund: 1000 of 2000 refunded"},
		{partially, webhooks.CustomerUpdated, partially, 500, reasonNoEffect},
		{partially, webhooks.Unknown, partially, 500, reasonNoEffect},
	}

	covered := map[string]bool{}
	for _, tc := range tests {
		name := fmt.Sprintf("%s+%s", cmpOr(string(tc.from), "none"), tc.event)
		covered[name] = true
		t.Run(name, func(t *testing.T) {
			before := stateFixtures[tc.from]
			got, reason := Apply(before, effectFixtures[tc.event])
			if got.Status != tc.to || reason != tc.reason || got.RefundedAmount != tc.refunded {
				t.Errorf("Apply = %s (refunded %d), %q; want %s (refunded %d), %q", got.Status, got.RefundedAmount, reason, tc.to, tc.refunded, tc.reason)
			}
			if got.Exists != (tc.to != "") {
				t.Errorf("Exists = %v with status %q", got.Exists, got.Status)
			}
			wantPaid := before.Paid || tc.event == webhooks.PaymentSucceeded
			if got.Paid != wantPaid {
				t.Errorf("Paid = %v, want %v", got.Paid, wantPaid)
			}
			if before.Paid && (got.Status == OrderFailed || got.Status == OrderAwaitingPayment) {
				t.Errorf("a paid order became %s", got.Status)
			}
			if got.Amount != 2000 && got.Exists && tc.event != webhooks.RefundInitiated && tc.event != webhooks.RefundCompleted {
				t.Errorf("Amount = %d, want 2000", got.Amount)
			}
		})
	}
	for _, from := range append([]OrderStatus{""}, OrderStatuses...) {
		for _, c := range webhooks.Canonicals() {
			if name := fmt.Sprintf("%s+%s", cmpOr(string(from), "none"), c); !covered[name] {
				t.Errorf("the table misses %s", name)
			}
		}
	}
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// TestApplyRefundAmounts covers the refund arithmetic: cumulative totals, refunds without an amount,
// negative amounts (some gateways write refunds that way) and totals that would overflow.
func TestApplyRefundAmounts(t *testing.T) {
	paid := stateFixtures[OrderPaid]
	tests := []struct {
		name       string
		from       OrderState
		effects    []Effect
		want       OrderStatus
		refunded   int64
		fullRefund bool
	}{
		{"cumulative totals replace", paid, []Effect{
			{Canonical: webhooks.RefundCompleted, Amount: 500, HasAmount: true, Cumulative: true},
			{Canonical: webhooks.RefundCompleted, Amount: 1500, HasAmount: true, Cumulative: true},
		}, OrderPartiallyRefunded, 1500, false},
		{"a late smaller cumulative total changes nothing", paid, []Effect{
			{Canonical: webhooks.RefundCompleted, Amount: 2000, HasAmount: true, Cumulative: true},
			{Canonical: webhooks.RefundCompleted, Amount: 500, HasAmount: true, Cumulative: true},
		}, OrderRefunded, 2000, false},
		{"separate refunds add up", paid, []Effect{
			{Canonical: webhooks.RefundCompleted, Amount: 500, HasAmount: true},
			{Canonical: webhooks.RefundCompleted, Amount: 1500, HasAmount: true},
		}, OrderRefunded, 2000, false},
		{"a refund without an amount is in full", paid, []Effect{
			{Canonical: webhooks.RefundCompleted},
		}, OrderRefunded, 0, true},
		{"a negative refund amount counts as refunded money", paid, []Effect{
			{Canonical: webhooks.RefundCompleted, Amount: -500, HasAmount: true},
		}, OrderPartiallyRefunded, 500, false},
		{"a negative cumulative total", paid, []Effect{
			{Canonical: webhooks.RefundCompleted, Amount: -2000, HasAmount: true, Cumulative: true},
		}, OrderRefunded, 2000, false},
		{"totals that would overflow stay at the maximum", paid, []Effect{
			{Canonical: webhooks.RefundCompleted, Amount: math.MaxInt64, HasAmount: true},
			{Canonical: webhooks.RefundCompleted, Amount: math.MaxInt64, HasAmount: true},
			{Canonical: webhooks.RefundCompleted, Amount: math.MinInt64, HasAmount: true},
		}, OrderRefunded, math.MaxInt64, false},
		{"payment after a refund without an amount", stateFixtures[""], []Effect{
			{Canonical: webhooks.RefundCompleted},
			{Canonical: webhooks.PaymentSucceeded, Amount: 2000, HasAmount: true},
		}, OrderRefunded, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.from
			for _, e := range tc.effects {
				s, _ = Apply(s, e)
			}
			if s.Status != tc.want || s.RefundedAmount != tc.refunded || s.FullRefund != tc.fullRefund {
				t.Errorf("state = %+v, want %s refunded %d full %v", s, tc.want, tc.refunded, tc.fullRefund)
			}
		})
	}
}

// TestApplyFillsCurrencyAndPayment: the first event that names a currency or payment sets it; later
// ones do not overwrite it.
func TestApplyFillsCurrencyAndPayment(t *testing.T) {
	s, _ := Apply(OrderState{}, Effect{Canonical: webhooks.PaymentPending, Currency: "EUR", PaymentID: "pi_1", Amount: 100, HasAmount: true})
	s, _ = Apply(s, Effect{Canonical: webhooks.PaymentSucceeded, Currency: "USD", PaymentID: "pi_2", Amount: 150, HasAmount: true})
	if s.Currency != "EUR" || s.PaymentID != "pi_1" || s.Amount != 150 || s.Status != OrderPaid {
		t.Errorf("state = %+v", s)
	}
}

// effectsFrom decodes fuzz input into effects, ten bytes each: the canonical, flags, and an amount.
func effectsFrom(data []byte) []Effect {
	canonicals := webhooks.Canonicals()
	var out []Effect
	for len(data) >= 10 {
		e := Effect{
			Canonical:  canonicals[int(data[0])%len(canonicals)],
			HasAmount:  data[1]&1 != 0,
			Cumulative: data[1]&2 != 0,
			Amount:     int64(binary.LittleEndian.Uint64(data[2:10])),
		}
		if data[1]&4 != 0 { // realistic amounts, so refunds meet payments of the same size
			e.Amount = int64(int8(data[2])) * 100
		}
		if !e.HasAmount {
			e.Amount = 0
		}
		out = append(out, e)
		data = data[10:]
	}
	return out
}

// FuzzApply runs any sequence of effects through the state machine: a paid order never becomes
// failed or awaiting payment, the refunded amount is never negative, and an existing order's status
// is always one of OrderStatuses.
func FuzzApply(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s OrderState
		for i, e := range effectsFrom(data) {
			next, reason := Apply(s, e)
			if reason == "" {
				t.Fatalf("step %d: no reason", i)
			}
			if s.Paid && !next.Paid {
				t.Fatalf("step %d: %+v forgot its payment after %+v", i, s, e)
			}
			if next.Paid && (next.Status == OrderFailed || next.Status == OrderAwaitingPayment) {
				t.Fatalf("step %d: paid order became %s after %+v", i, next.Status, e)
			}
			if next.RefundedAmount < 0 {
				t.Fatalf("step %d: refunded amount %d after %+v", i, next.RefundedAmount, e)
			}
			if s.Exists && !next.Exists {
				t.Fatalf("step %d: order stopped existing", i)
			}
			if next.Exists && !slices.Contains(OrderStatuses, next.Status) {
				t.Fatalf("step %d: status %q is not an order status", i, next.Status)
			}
			if !next.Exists && next.Status != "" {
				t.Fatalf("step %d: status %q without an order", i, next.Status)
			}
			s = next
		}
	})
}
