package models

import (
	"log/slog"
	"time"
)

// checkpointEvery is how often the background checkpointer copies committed pages from the WAL into
// the database file.
const checkpointEvery = 250 * time.Millisecond

// SQLite's automatic checkpoint runs inside whichever commit crosses the WAL size threshold, and its
// copying and fsyncs then hold up the ingest writer and every request in its batch. Connections turn
// it off (see sqliteDriver), and this goroutine checkpoints beside the writer instead: a PASSIVE
// checkpoint takes no lock a writer or reader needs, so commits go on while it copies.
func (s *Store) startCheckpointer() {
	s.stopCheckpoints = make(chan struct{})
	s.checkpointsDone = make(chan struct{})
	go func() {
		defer close(s.checkpointsDone)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		warned := false
		for {
			select {
			case <-s.stopCheckpoints:
				return
			case <-t.C:
			}
			var busy, log, done int
			if err := s.DB.Raw("PRAGMA wal_checkpoint(PASSIVE)").Row().Scan(&busy, &log, &done); err != nil {
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

// stopCheckpointer stops the goroutine; closing the last connection checkpoints what is left.
func (s *Store) stopCheckpointer() {
	if s.stopCheckpoints != nil {
		close(s.stopCheckpoints)
		<-s.checkpointsDone
		s.stopCheckpoints = nil
	}
}
