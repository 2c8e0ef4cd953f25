package models

import (
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

// lockWrites takes the writers' turn on SQLite and returns the function that gives it back. The
// background writers (workers, replay jobs) let the ingest writer go first while webhooks wait to be
// stored, for up to maxWriteDeferral: in a burst the providers' acknowledgements come first, and
// processing catches up once the burst has passed, but never stops altogether.
func (s *Store) lockWrites() func() {
	if !s.Postgres() {
		for deadline := time.Now().Add(maxWriteDeferral); s.ingestWaiting.Load() > 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
	}
	return s.lockIngestWrites()
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
