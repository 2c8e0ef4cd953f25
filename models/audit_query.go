package models

import (
	"fmt"
	"slices"
	"strings"
)

// AuditFilter narrows the audit log. Zero fields match everything. Cursor continues to older entries,
// Newer to newer ones; at most one of them is set.
type AuditFilter struct {
	MerchantID uint
	Action     string
	// Actor matches actors containing it, ignoring case ("alice" finds alice@acme.test).
	Actor  string
	Cursor Cursor
	Newer  Cursor
	Limit  int
}

// AuditPage is one page of the audit log, newest first, with the cursors of its neighbours ("" when
// there is nothing that way).
type AuditPage struct {
	Entries []AuditEntry
	Older   Cursor
	Newer   Cursor
}

// AuditEntries lists a merchant's audit entries newest first, by keyset on id.
func (s *Store) AuditEntries(f AuditFilter) (AuditPage, error) {
	before, err := f.Cursor.ID()
	if err != nil {
		return AuditPage{}, err
	}
	after, err := f.Newer.ID()
	if err != nil {
		return AuditPage{}, err
	}
	limit := clampLimit(f.Limit)
	q := s.DB.Where("merchant_id = ?", f.MerchantID)
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if a := strings.TrimSpace(f.Actor); a != "" {
		q = q.Where(containsFold(s.DB, "actor"), a)
	}
	var es []AuditEntry
	if after != 0 {
		// Going back towards the newest: take the entries just above the cursor, then restore the order.
		if err := q.Where("id > ?", after).Order("id ASC").Limit(limit + 1).Find(&es).Error; err != nil {
			return AuditPage{}, fmt.Errorf("store: audit log: %w", err)
		}
		p := AuditPage{Older: EncodeCursor(after + 1)}
		if len(es) > limit {
			es = es[:limit]
			p.Newer = EncodeCursor(es[len(es)-1].ID)
		}
		slices.Reverse(es)
		p.Entries = es
		if len(es) > 0 {
			p.Older = EncodeCursor(es[len(es)-1].ID)
		}
		return p, nil
	}
	if before != 0 {
		q = q.Where("id < ?", before)
	}
	if err := q.Order("id DESC").Limit(limit + 1).Find(&es).Error; err != nil {
		return AuditPage{}, fmt.Errorf("store: audit log: %w", err)
	}
	var p AuditPage
	if len(es) > limit {
		es = es[:limit]
		p.Older = EncodeCursor(es[len(es)-1].ID)
	}
	p.Entries = es
	if before != 0 {
		// Something newer exists: at least the entry the cursor was made from.
		newest := before - 1
		if len(es) > 0 {
			newest = es[0].ID
		}
		p.Newer = EncodeCursor(newest)
	}
	return p, nil
}

// AuditActions lists the actions that appear in a merchant's audit log, for the filter.
func (s *Store) AuditActions(merchantID uint) ([]string, error) {
	var as []string
	if err := s.DB.Model(&AuditEntry{}).Where("merchant_id = ?", merchantID).Distinct().Order("action").Pluck("action", &as).Error; err != nil {
		return nil, fmt.Errorf("store: audit actions: %w", err)
	}
	return as, nil
}
