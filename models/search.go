package models

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
	"unsafe"

	"gorm.io/gorm"
)

// migrateSearch creates the full-text index over delivery bodies and headers. It is contentless: the
// text lives once, in deliveries, and the index holds only tokens, so it costs little per delivery.
//
// On SQLite the index is written a moment after the delivery by the search indexer (see
// search_indexer.go). On PostgreSQL it is a table of tsvectors (see search_postgres.go) under a GIN
// index, written in the same transaction as the delivery.
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
	err := s.DB.Exec(`CREATE VIRTUAL TABLE IF NOT EXISTS delivery_search USING fts5(
		body, headers, content='', contentless_delete=1, tokenize="unicode61 tokenchars '_@.+-'")`).Error
	if err != nil {
		return fmt.Errorf("store: create search index (is the binary built with -tags sqlite_fts5?): %w", err)
	}
	return s.migrateSearchProgress()
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
