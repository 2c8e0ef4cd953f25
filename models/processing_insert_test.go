package models

import (
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestCompletionInsertsMatchGORM writes the same attempts, transitions and new orders through the
// completion's hand-written inserts and through GORM's Create, on the database the run uses, and
// compares every column read back: the column lists must never drift from the models. The text
// includes a NUL and invalid UTF-8, which PostgreSQL cannot store as given.
func TestCompletionInsertsMatchGORM(t *testing.T) {
	s := multiStore(t)
	m, err := s.EnsureMerchant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	now := s.Now().Truncate(time.Microsecond)
	odd := "ord\x00\xff-1"
	order := func(ref string) *Order {
		return &Order{MerchantID: m.ID, Reference: ref, Status: OrderPaid, Paid: true, Amount: 1999, HasAmount: true,
			Currency: "USD", RefundedAmount: 500, FullRefund: false, PaymentID: "pi_" + ref, Provider: "stripe",
			CreatedAt: now, UpdatedAt: now}
	}

	hand, viaGORM := order("hand"+odd), order("gorm"+odd)
	err = s.DB.Transaction(func(tx *gorm.DB) error {
		if err := insertNewOrder(tx, hand); err != nil {
			return err
		}
		return tx.Create(viaGORM).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	if hand.ID == 0 {
		t.Fatal("insertNewOrder left the new order's id at 0")
	}
	var a, b Order
	if err := s.DB.Take(&a, hand.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Take(&b, viaGORM.ID).Error; err != nil {
		t.Fatal(err)
	}
	a.ID, b.ID = 0, 0
	a.Reference, b.Reference = a.Reference[len("hand"):], b.Reference[len("gorm"):]
	a.PaymentID, b.PaymentID = a.PaymentID[len("pi_hand"):], b.PaymentID[len("pi_gorm"):]
	if !reflect.DeepEqual(a, b) {
		t.Errorf("order differs:\nhand-written %+v\nGORM         %+v", a, b)
	}

	// An order that exists already is left alone, and its id is not reported.
	again := order("hand" + odd)
	again.Status = OrderFailed
	if err := s.DB.Transaction(func(tx *gorm.DB) error { return insertNewOrder(tx, again) }); err != nil {
		t.Fatal(err)
	}
	var kept Order
	if err := s.DB.Take(&kept, hand.ID).Error; err != nil {
		t.Fatal(err)
	}
	if again.ID != 0 || kept.Status != OrderPaid {
		t.Errorf("inserting an existing order: id %d, stored status %s; want 0 and %s unchanged", again.ID, kept.Status, OrderPaid)
	}

	attempts := func(eventID uint) []Attempt {
		return []Attempt{
			{EventID: eventID, StartedAt: now, FinishedAt: now.Add(time.Millisecond), Outcome: StatusProcessed,
				Result: "order " + odd + ": payment succeeded", Trigger: TriggerAutomatic},
			{EventID: eventID, StartedAt: now, FinishedAt: now, Outcome: StatusFailed, Error: "bad\x00\xff",
				Trigger: TriggerReplay, Actor: "jane@example.com"},
		}
	}
	transitions := func(orderID uint) []OrderTransition {
		return []OrderTransition{
			{OrderID: orderID, To: OrderPaid, EventID: 7, Reason: "payment succeeded " + odd, At: now},
			{OrderID: orderID, From: OrderPaid, To: OrderRefunded, EventID: 8, Reason: "refund completed", At: now},
		}
	}
	err = s.DB.Transaction(func(tx *gorm.DB) error {
		if err := insertAttempts(tx, attempts(1)); err != nil {
			return err
		}
		if err := insertTransitions(tx, transitions(hand.ID)); err != nil {
			return err
		}
		if err := tx.Create(attempts(2)).Error; err != nil {
			return err
		}
		return tx.Create(transitions(viaGORM.ID)).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, s, "attempt", "event_id", 1, 2, func(a *Attempt) { a.ID, a.EventID = 0, 0 })
	sameRows(t, s, "transition", "order_id", hand.ID, viaGORM.ID, func(tr *OrderTransition) { tr.ID, tr.OrderID = 0, 0 })
}

// sameRows reads the two rows of T whose column is hand (written by hand) and the two whose column
// is gorm (written by GORM), in order of id, and reports each pair that differs once blank clears
// what is meant to differ.
func sameRows[T any](t *testing.T, s *Store, what, column string, hand, gorm uint, blank func(*T)) {
	t.Helper()
	var hs, gs []T
	if err := s.DB.Where(column+" = ?", hand).Order("id").Find(&hs).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Where(column+" = ?", gorm).Order("id").Find(&gs).Error; err != nil {
		t.Fatal(err)
	}
	if len(hs) != 2 || len(gs) != 2 {
		t.Fatalf("%d %ss hand-written, %d via GORM; want 2 each", len(hs), what, len(gs))
	}
	for i := range hs {
		blank(&hs[i])
		blank(&gs[i])
		if !reflect.DeepEqual(hs[i], gs[i]) {
			t.Errorf("%s %d differs:\nhand-written %+v\nGORM         %+v", what, i, hs[i], gs[i])
		}
	}
}
