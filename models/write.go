package models

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// writeTx runs fn in a write transaction. On SQLite only one writer can hold the database at a time,
// and a writer that finds it taken waits in SQLite's busy handler, which sleeps in steps of up to
// 100 ms: under load the ingester would stall behind the workers for whole sleeps. So the busy
// writers (ingest batches, claims, completions, replay jobs) take turns on a Go mutex instead and
// never meet the busy handler. PostgreSQL has row locks and needs no such turn-taking.
func (s *Store) writeTx(fn func(tx *gorm.DB) error) error {
	defer s.lockWrites()()
	return s.DB.Transaction(fn)
}

// maxWriteDeferral is the longest a background writer lets waiting webhooks go first.
const maxWriteDeferral = 50 * time.Millisecond

// processingLagLimit is how long an event may have been due before the workers stop letting
// webhooks go first. Without it a steady stream kept them waiting at every turn: at 2,000 webhooks/s
// (the bench's latency run) they processed about 450 events a second and fell further behind for
// as long as the stream lasted, though the server had most of a core to spare.
const processingLagLimit = 2 * time.Second

// saturatedWaiting is how many webhooks waiting to be stored mean that the ingest writer has no time
// to spare: at 2,000 webhooks/s (the bench's latency run) a few wait at a time, while a burst that
// saturates it keeps most of the providers' connections waiting (the bench's 32).
const saturatedWaiting = 16

// behindDeferral is how long the background writers let unsaturated ingest go first once processing
// is behind: about the batch it is gathering, not the ones after. In-process at 2,000/s it took
// about 1 ms off the p99 of taking turns at once (three alternating runs).
const behindDeferral = 2 * time.Millisecond

// lockWrites takes the writers' turn on SQLite and returns the function that gives it back. The
// background writers (workers, replay jobs) let the ingest writer go first while webhooks wait to be
// stored, for up to maxWriteDeferral: in a burst the providers' acknowledgements come first, and
// processing catches up once the burst has passed, but never stops altogether. Once the workers are
// more than processingLagLimit behind, they wait longer than behindDeferral only while the ingest
// writer is saturated: a steady stream leaves it time to spare, and processing then keeps up instead
// of falling further behind for as long as the stream lasts.
func (s *Store) lockWrites() func() {
	if !s.Postgres() {
		for start := time.Now(); s.deferToIngest(time.Since(start)); {
			time.Sleep(time.Millisecond)
		}
	}
	return s.lockIngestWrites()
}

// deferToIngest says whether a background writer that has waited so far should go on letting the
// ingest writer go first.
func (s *Store) deferToIngest(waited time.Duration) bool {
	waiting := s.ingestWaiting.Load()
	switch {
	case waiting == 0 || waited >= maxWriteDeferral:
		return false
	case s.processingBehind.Load() && waiting < saturatedWaiting:
		return waited < behindDeferral
	}
	return true
}

// IngestBusy reports whether, on SQLite, webhooks are being stored or were within the last second.
// PostgreSQL has no single writer for background work to hold up, so there it is never busy.
func (s *Store) IngestBusy() bool {
	return !s.Postgres() && (s.ingestWaiting.Load() > 0 || time.Since(time.Unix(0, s.lastIngest.Load())) < time.Second)
}

// lockIngestWrites takes the writers' turn for the ingest writer, which never defers.
func (s *Store) lockIngestWrites() func() {
	if s.Postgres() {
		return func() {}
	}
	s.writeMu.Lock()
	return s.writeMu.Unlock
}

// noteProcessingLag sets processingBehind from the longest wait among the events due now: pending
// ones, and failed ones whose retry is due. Two index seeks (idx_events_due).
func (s *Store) noteProcessingLag(now time.Time) error {
	oldest := now
	for _, st := range []Status{StatusPending, StatusFailed} {
		var due []time.Time
		err := s.DB.Model(&Event{}).Where("status = ? AND next_attempt_at IS NOT NULL", st).
			Order("next_attempt_at").Limit(1).Pluck("next_attempt_at", &due).Error
		if err != nil {
			return fmt.Errorf("store: processing lag: %w", err)
		}
		if len(due) > 0 && due[0].Before(oldest) {
			oldest = due[0]
		}
	}
	s.processingBehind.Store(now.Sub(oldest) > processingLagLimit)
	return nil
}
