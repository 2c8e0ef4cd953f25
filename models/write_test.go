package models

import (
	"testing"
	"time"
)

// TestDeferToIngest: background writers let waiting webhooks go first (for up to maxWriteDeferral)
// while processing keeps up; once the oldest due event (pending, or failed with its retry due) has
// waited longer than processingLagLimit they do so for longer than behindDeferral only while the
// ingest writer is saturated.
func TestDeferToIngest(t *testing.T) {
	s, clock := opsStore(t)
	f := opsMerchant(t, s, "Shop")
	check := func(name string, waiting int64, waited time.Duration, want bool) {
		t.Helper()
		if err := s.noteProcessingLag(s.Now()); err != nil {
			t.Fatal(err)
		}
		s.ingestWaiting.Store(waiting)
		defer s.ingestWaiting.Store(0)
		if got := s.deferToIngest(waited); got != want {
			t.Errorf("%s, %d webhooks waiting, waited %v: defer = %v, want %v", name, waiting, waited, got, want)
		}
	}
	check("nothing to process", 0, 0, false)
	check("nothing to process", 1, 0, true)
	check("nothing to process", 1, maxWriteDeferral-time.Millisecond, true)
	check("nothing to process", 1, maxWriteDeferral, false)

	ev := f.event(t, clock.Now(), StatusPending, "payment.succeeded")
	// Due at once, as the ingest writer stores it.
	if err := s.DB.Model(&Event{}).Where("id = ?", ev.ID).Update("next_attempt_at", clock.Now()).Error; err != nil {
		t.Fatal(err)
	}
	clock.Add(processingLagLimit - time.Millisecond)
	check("a pending event just due", 1, behindDeferral, true)
	clock.Add(2 * time.Millisecond)
	check("a pending event due too long", 1, 0, true)
	check("a pending event due too long", 1, behindDeferral, false)
	check("a pending event due too long", saturatedWaiting-1, behindDeferral, false)
	check("a pending event due too long, ingest saturated", saturatedWaiting, behindDeferral, true)
	check("a pending event due too long, ingest saturated", saturatedWaiting, maxWriteDeferral, false)

	// A failed event counts once its retry is due, not before.
	retry := clock.Now().Add(time.Minute)
	if err := s.DB.Model(&Event{}).Where("id = ?", ev.ID).Updates(map[string]any{"status": StatusFailed, "next_attempt_at": retry}).Error; err != nil {
		t.Fatal(err)
	}
	check("a failed event waiting for its retry", 1, behindDeferral, true)
	clock.Add(time.Minute + processingLagLimit + time.Millisecond)
	check("a failed event due too long", 1, behindDeferral, false)

	// Processed (no next_attempt_at) is done.
	if err := s.DB.Model(&Event{}).Where("id = ?", ev.ID).Updates(map[string]any{"status": StatusProcessed, "next_attempt_at": nil}).Error; err != nil {
		t.Fatal(err)
	}
	check("everything processed", 1, behindDeferral, true)
}
