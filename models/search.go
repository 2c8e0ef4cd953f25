package models

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"unicode/utf8"
	"unsafe"

	"gorm.io/gorm"
)

// migrateSearch creates the full-text index over delivery bodies and headers. It is contentless: the
// text lives once, in deliveries, and the index holds only tokens, so it costs little per delivery.
//
// On SQLite the index is a file of its own (see openSQLite, migrateSearchFile), written a moment
// after the delivery by the search indexer (see search_indexer.go). On PostgreSQL it is a table of
// tsvectors (see search_postgres.go) under a GIN index, written in the same transaction as the
// delivery.
func (s *Store) migrateSearch() error {
	if s.Postgres() {
		for _, stmt := range []string{
			`CREATE TABLE IF NOT EXISTS delivery_search (delivery_id bigint PRIMARY KEY, doc tsvector NOT NULL)`,
			`CREATE INDEX IF NOT EXISTS idx_delivery_search_doc ON delivery_search USING GIN (doc)`,
		} {
			if err := s.DB.Exec(stmt).Error; err != nil {
				return fmt.Errorf("store: create search index: %w", err)
			}
		}
		return nil
	}
	if err := s.moveSearchIndexOut(); err != nil {
		return err
	}
	return s.resetSearchIndexAhead()
}

// resetSearchIndexAhead empties an index that has indexed deliveries the database never had, so the
// indexer rebuilds it: the database was restored from a backup without the index file beside it (as
// before the index had a file of its own), and the index left in place belongs to the newer database.
// Kept, it would claim that the deliveries the restored database numbers next are indexed, with the
// text of others. Ids are never reused, so the highest ever handed out is what an index may reach.
func (s *Store) resetSearchIndexAhead() error {
	var mark, newest uint
	err := s.DB.Raw(`SELECT (SELECT indexed_through FROM delivery_search_progress),
		COALESCE((SELECT seq FROM main.sqlite_sequence WHERE name = 'deliveries'), 0)`).Row().Scan(&mark, &newest)
	if err != nil || mark <= newest {
		return err
	}
	path, _ := s.mainFile()
	slog.Warn("store: the search index is ahead of the database, which was restored without it; rebuilding the index",
		"index", SearchIndexPath(path), "indexed_through", mark, "newest_delivery", newest)
	err = s.searchDB.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO delivery_search(delivery_search) VALUES ('delete-all')`).Error; err != nil {
			return err
		}
		return tx.Exec(`UPDATE delivery_search_progress SET indexed_through = 0`).Error
	})
	if err != nil {
		return fmt.Errorf("store: reset the search index: %w", err)
	}
	return nil
}

// migrateSearchFile creates the SQLite index and its progress row (see search_indexer.go) in the
// index's own file. A new file starts at mark 0: the indexer then indexes every delivery the main
// file holds, so a lost or deleted index file rebuilds itself.
func migrateSearchFile(db *gorm.DB) error {
	for _, stmt := range []string{
		`CREATE VIRTUAL TABLE IF NOT EXISTS delivery_search USING fts5(
			body, headers, content='', contentless_delete=1, tokenize="unicode61 tokenchars '_@.+-'")`,
		`CREATE TABLE IF NOT EXISTS delivery_search_progress (id integer PRIMARY KEY CHECK (id = 1), indexed_through integer NOT NULL)`,
		`INSERT OR IGNORE INTO delivery_search_progress (id, indexed_through) VALUES (1, 0)`,
		fmt.Sprintf(`INSERT INTO delivery_search(delivery_search, rank) VALUES ('automerge', %d)`, searchAutomerge),
	} {
		if err := db.Exec(stmt).Error; err != nil {
			return fmt.Errorf("store: create search index (is the binary built with -tags sqlite_fts5?): %w", err)
		}
	}
	return nil
}

// searchShadowTables are the ordinary tables in which FTS5 keeps a contentless_delete index.
var searchShadowTables = []string{"delivery_search_data", "delivery_search_idx", "delivery_search_docsize", "delivery_search_config"}

// moveSearchIndexOut moves an index that an earlier version kept inside the main file into the
// index's own file, so that upgrading does not re-index every delivery: FTS5 keeps an index in
// ordinary shadow tables, which are copied as they are, with the mark (or, from before the indexer
// existed, when every delivery was indexed as it arrived, the newest delivery). The old tables are
// dropped after the copy commits; a crash in between copies again at the next start.
func (s *Store) moveSearchIndexOut() error {
	var old int64
	if err := s.DB.Raw(`SELECT count(*) FROM main.sqlite_master WHERE name = 'delivery_search'`).Scan(&old).Error; err != nil || old == 0 {
		return err
	}
	mainPath, err := s.mainFile()
	if err != nil {
		return err
	}
	err = s.searchDB.Connection(func(c *gorm.DB) error {
		if err := c.Exec(`ATTACH DATABASE ? AS old`, mainPath).Error; err != nil {
			return err
		}
		defer c.Exec(`DETACH DATABASE old`)
		var progress int64
		if err := c.Raw(`SELECT count(*) FROM old.sqlite_master WHERE name = 'delivery_search_progress'`).Scan(&progress).Error; err != nil {
			return err
		}
		mark := `SELECT COALESCE(MAX(id), 0) FROM old.deliveries`
		if progress > 0 {
			mark = `SELECT indexed_through FROM old.delivery_search_progress`
		}
		return c.Transaction(func(tx *gorm.DB) error {
			for _, t := range searchShadowTables {
				if err := tx.Exec(`DELETE FROM main.` + t).Error; err != nil {
					return err
				}
				if err := tx.Exec(`INSERT INTO main.` + t + ` SELECT * FROM old.` + t).Error; err != nil {
					return err
				}
			}
			return tx.Exec(`UPDATE main.delivery_search_progress SET indexed_through = (` + mark + `)`).Error
		})
	})
	if err == nil {
		// The copied configuration is the old index's; the indexer's merge setting goes back on top.
		err = migrateSearchFile(s.searchDB)
	}
	if err != nil {
		return fmt.Errorf("store: move the search index to its own file: %w", err)
	}
	for _, stmt := range []string{`DROP TABLE main.delivery_search`, `DROP TABLE IF EXISTS main.delivery_search_progress`} {
		if err := s.DB.Exec(stmt).Error; err != nil {
			return fmt.Errorf("store: move the search index to its own file: %w", err)
		}
	}
	return nil
}

// mainFile is the path of the main SQLite file.
func (s *Store) mainFile() (string, error) {
	var seq int
	var name, file string
	if err := s.DB.Raw(`PRAGMA database_list`).Row().Scan(&seq, &name, &file); err != nil {
		return "", fmt.Errorf("store: database file: %w", err)
	}
	return file, nil
}

// searchText is what the index holds for a delivery: its body when it is text, and its header values.
func searchText(d *Delivery) (body, headers string) {
	if len(d.Body) > 0 && utf8.Valid(d.Body) {
		// Shares the body's bytes instead of copying them (up to max_body_bytes): a stored body is
		// never modified, and the text lives no longer than the delivery it came from.
		body = unsafe.String(&d.Body[0], len(d.Body))
	}
	names := make([]string, 0, len(d.Headers))
	for k := range d.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		for _, v := range d.Headers[k] {
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	return body, b.String()
}

// pgIndexDelivery adds a delivery to PostgreSQL's search index inside tx. (SQLite's index is
// written by the search indexer; see search_indexer.go.)
func pgIndexDelivery(tx *gorm.DB, d *Delivery) error {
	body, headers := searchText(d)
	return tx.Exec("INSERT INTO delivery_search(delivery_id, doc) VALUES (?, CAST(? AS tsvector))", d.ID, pgSearchDoc(headers, body)).Error
}
