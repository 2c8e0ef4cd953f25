package models

import (
	"log/slog"
	"time"
)

// checkpointEvery is how often the background checkpointer copies committed pages from the WAL into
// the database file.
const checkpointEvery = 250 * time.Millisecond

// lockedCheckpointFrames is the WAL size (in 4 KiB frames, 32 MiB) beyond which the checkpointer
// holds the writers back while it finishes.
const lockedCheckpointFrames = 8192

// SQLite's automatic checkpoint runs inside whichever commit crosses the WAL size threshold, and its
// copying and fsyncs then hold up the ingest writer and every request in its batch. Connections turn
// it off (see openSQLite), and this goroutine checkpoints beside the writer instead: a PASSIVE
// checkpoint takes no lock a writer or reader needs, so commits go on while it copies. But a writer
// appending without pause outruns it, and the WAL then never restarts: in a 5-second burst it grew to
// 550 MB, and every page read slows as the WAL index it searches grows. So when the WAL is past
// lockedCheckpointFrames after a pass, the checkpointer takes the writers' turn and finishes the
// copy (most of it done by the unlocked pass), and the next commit starts the WAL from its beginning.
func (s *Store) startCheckpointer() {
	s.stopCheckpoints = make(chan struct{})
	s.checkpointsDone = make(chan struct{})
	go func() {
		defer close(s.checkpointsDone)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		warned := false
		// busySince says webhooks arrived since the C heap was last trimmed (see trimCHeap): a trim
		// takes the allocator's locks for up to tens of milliseconds, so it waits for a quiet moment.
		busySince := false
		for {
			select {
			case <-s.stopCheckpoints:
				return
			case <-t.C:
			}
			if s.IngestBusy() {
				busySince = true
			} else if busySince {
				trimCHeap()
				busySince = false
			}
			log, done, err := s.checkpoint()
			if err == nil && log > lockedCheckpointFrames {
				// A second pass copies what was committed during the first, so the locked pass below
				// has little left to copy besides its two fsyncs: it held the writers for 8.3-8.4 ms
				// (median) instead of 11.0-12.7 ms, timed in BenchmarkServerLatency.
				log, done, err = s.checkpoint()
			}
			if err == nil && log > lockedCheckpointFrames {
				unlock := s.lockIngestWrites()
				log, done, err = s.checkpoint()
				unlock()
			}
			if err != nil {
				slog.Warn("store: checkpoint", "err", err)
				continue
			}
			// Frames a long-running reader still needs stay in the WAL; say so once if it keeps growing.
			if grown := log-done > 250_000; grown && !warned {
				slog.Warn("store: WAL not checkpointed; a long-running reader may be holding it", "frames", log, "checkpointed", done)
				warned = true
			} else if !grown {
				warned = false
			}
		}
	}()
}

// checkpoint runs one PASSIVE checkpoint and returns the WAL's frames and how many are now copied.
func (s *Store) checkpoint() (log, done int, err error) {
	var busy int
	err = s.DB.Raw("PRAGMA main.wal_checkpoint(PASSIVE)").Row().Scan(&busy, &log, &done)
	return log, done, err
}

// stopCheckpointer stops the goroutine; closing the last connection checkpoints what is left.
func (s *Store) stopCheckpointer() {
	if s.stopCheckpoints != nil {
		close(s.stopCheckpoints)
		<-s.checkpointsDone
		s.stopCheckpoints = nil
	}
}
