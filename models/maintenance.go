package models

import (
	"errors"
	"fmt"
	"os"
	"time"

	"gorm.io/gorm"
)

// Backup writes a consistent copy of the database to path, and of its search index beside it (see
// SearchIndexPath), while the server keeps running. SQLite's VACUUM INTO reads one snapshot of a
// WAL-mode database, so writers are not blocked while it runs. The index is copied first: its copy
// then never claims a delivery the database's copy lacks, and the indexer of a restored database
// goes on from the index's mark (a restore without the index file rebuilds it).
func (s *Store) Backup(path string) error {
	if s.Postgres() {
		return ErrBackupPostgres
	}
	searchPath := SearchIndexPath(path)
	for _, p := range []string{path, searchPath} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("store: backup: %s already exists; choose a new file", p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("store: backup: %w", err)
		}
	}
	for _, c := range []struct {
		db   *gorm.DB
		path string
	}{{s.searchDB, searchPath}, {s.DB, path}} {
		if err := c.db.Exec("VACUUM INTO ?", c.path).Error; err != nil {
			return fmt.Errorf("store: backup to %s: %w", c.path, err)
		}
		if err := os.Chmod(c.path, 0o600); err != nil {
			return fmt.Errorf("store: backup: %w", err)
		}
	}
	return nil
}

// ErrBackupPostgres answers a backup of a PostgreSQL database, which PostgreSQL's own tools make.
var ErrBackupPostgres = errors.New("store: backup copies SQLite databases only; back up PostgreSQL with its own tools, e.g. pg_dump --format=custom --file=hooklog.dump DBNAME (restore with pg_restore)")

// RetentionPolicy says what a purge may delete.
type RetentionPolicy struct {
	// OlderThan: deliveries and events received before now minus this are purged.
	OlderThan time.Duration
	// IncludeUnfinished also purges events still pending, failed or dead (and their deliveries).
	IncludeUnfinished bool
	// Batch is how many rows one short transaction deletes, so ingest is never blocked for long.
	Batch int
}

// PurgeResult counts what a purge removed.
type PurgeResult struct {
	Deliveries int64
	Events     int64
}

// Purge deletes old deliveries and events in small batches. By default it never deletes an event
// still pending, processing, failed or dead, nor any delivery of such an event; orders and their
// history are kept (a transition keeps its event id even when the event is gone).
func (s *Store) Purge(p RetentionPolicy) (PurgeResult, error) {
	var res PurgeResult
	if p.OlderThan <= 0 {
		return res, errors.New("store: purge: retention must be a positive duration")
	}
	if p.Batch <= 0 {
		p.Batch = 500
	}
	cutoff := s.Now().Add(-p.OlderThan)
	keep := []Status{StatusPending, StatusProcessing, StatusFailed, StatusDead}
	if p.IncludeUnfinished {
		keep = []Status{StatusProcessing}
	}
	for {
		var ids []uint
		err := s.DB.Raw(`SELECT d.id FROM deliveries d LEFT JOIN events e ON e.id = d.event_id
			WHERE d.received_at < ? AND (e.id IS NULL OR e.status NOT IN ?) ORDER BY d.id LIMIT ?`,
			cutoff, keep, p.Batch).Scan(&ids).Error
		if err != nil {
			return res, fmt.Errorf("store: purge deliveries: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		if err := s.deleteDeliveries(ids); err != nil {
			return res, err
		}
		res.Deliveries += int64(len(ids))
	}
	for {
		var ids []uint
		err := s.DB.Raw(`SELECT e.id FROM events e WHERE e.received_at < ? AND e.status NOT IN ?
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) ORDER BY e.id LIMIT ?`,
			cutoff, keep, p.Batch).Scan(&ids).Error
		if err != nil {
			return res, fmt.Errorf("store: purge events: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		err = s.DB.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("DELETE FROM attempts WHERE event_id IN ?", ids).Error; err != nil {
				return err
			}
			return tx.Exec("DELETE FROM events WHERE id IN ?", ids).Error
		})
		if err != nil {
			return res, fmt.Errorf("store: purge events: %w", err)
		}
		res.Events += int64(len(ids))
	}
	return res, nil
}

// deleteDeliveries removes deliveries and their share of the delivery counts in one short
// transaction, with their search entries (on SQLite, from the index's file right after; see
// unindexDeliveries). The counts subtract what the DELETE itself returns, so a delivery that another
// purge removed first is not subtracted twice.
func (s *Store) deleteDeliveries(ids []uint) error {
	var gone []uint
	err := s.DB.Transaction(func(tx *gorm.DB) error {
		if isPostgres(tx) {
			if err := tx.Exec("DELETE FROM delivery_search WHERE delivery_id IN ?", ids).Error; err != nil {
				return err
			}
		}
		var deleted []struct {
			ID, MerchantID, EndpointID uint
			Hour                       int64
			Outcome                    Outcome
		}
		err := tx.Raw(`DELETE FROM deliveries WHERE id IN ? RETURNING id, merchant_id, endpoint_id, `+
			unixHourSQL(tx, "received_at")+` AS hour, outcome`, ids).Scan(&deleted).Error
		if err != nil {
			return err
		}
		keys := make([]deliveryCountKey, len(deleted))
		gone = make([]uint, len(deleted))
		for i, d := range deleted {
			keys[i] = deliveryCountKey{merchantID: d.MerchantID, endpointID: d.EndpointID, hour: d.Hour, outcome: d.Outcome}
			gone[i] = d.ID
		}
		return uncountDeliveries(tx, keys)
	})
	if err == nil {
		err = s.unindexDeliveries(gone)
	}
	if err != nil {
		return fmt.Errorf("store: delete deliveries: %w", err)
	}
	return nil
}
