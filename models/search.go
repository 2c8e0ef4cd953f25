package models

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
)

// migrateSearch creates the full-text index over delivery bodies and headers. It is contentless: the
// text lives once, in deliveries, and the index holds only tokens, so it costs little per delivery.
func (s *Store) migrateSearch() error {
	err := s.DB.Exec(`CREATE VIRTUAL TABLE IF NOT EXISTS delivery_search USING fts5(
		body, headers, content='', contentless_delete=1, tokenize="unicode61 tokenchars '_@.+-'")`).Error
	if err != nil {
		return fmt.Errorf("store: create search index (is the binary built with -tags sqlite_fts5?): %w", err)
	}
	return nil
}

// searchText is what the index holds for a delivery: its body when it is text, and its header values.
func searchText(d *Delivery) (body, headers string) {
	if utf8.Valid(d.Body) {
		body = string(d.Body)
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

// indexDelivery adds a delivery to the search index inside tx.
func indexDelivery(tx *gorm.DB, d *Delivery) error {
	body, headers := searchText(d)
	return tx.Exec("INSERT INTO delivery_search(rowid, body, headers) VALUES (?, ?, ?)", d.ID, body, headers).Error
}
