package models

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// OrderFilter narrows the order list. Zero fields match everything.
type OrderFilter struct {
	MerchantID uint
	Status     OrderStatus
	// Query matches a reference or a payment id, exactly or by prefix.
	Query string
	// Older continues below a cursor (the next page); Newer goes back above one (the previous page).
	Older, Newer Cursor
	Limit        int
}

// OrderPage is one page of orders, most recently updated first, with the cursors of its neighbours
// ("" when there is no such page).
type OrderPage struct {
	Orders       []Order
	Older, Newer Cursor
}

// orderCursor is the keyset position of an order in the list: its update time, then its id.
func orderCursor(o Order) Cursor {
	raw := strconv.FormatInt(o.UpdatedAt.UnixNano(), 10) + "." + strconv.FormatUint(uint64(o.ID), 10)
	return Cursor(base64.RawURLEncoding.EncodeToString([]byte(raw)))
}

func decodeOrderCursor(c Cursor) (time.Time, uint, error) {
	b, err := base64.RawURLEncoding.DecodeString(string(c))
	if err != nil {
		return time.Time{}, 0, ErrBadCursor
	}
	ns, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return time.Time{}, 0, ErrBadCursor
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return time.Time{}, 0, ErrBadCursor
	}
	i, err := strconv.ParseUint(id, 10, 64)
	if err != nil || i == 0 {
		return time.Time{}, 0, ErrBadCursor
	}
	return time.Unix(0, n).UTC(), uint(i), nil
}

// prefixRange returns the bounds of every string that starts with p: p <= s < p+"\xff". The byte
// 0xff never occurs in UTF-8, so the range is exact, and a plain comparison lets SQLite use an index
// where LIKE would not.
func prefixRange(p string) (lo, hi string) { return p, p + "\xff" }

// likePrefix is a LIKE pattern (with escape character \) for every string that starts with p.
// PostgreSQL needs it: its text cannot hold the byte 0xff, and its range comparisons follow the
// collation, where LIKE on a text_pattern_ops index compares characters exactly.
func likePrefix(p string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(p) + "%"
}

// migrateOrderIndexes adds the indexes the order list walks: a merchant's orders by update time,
// overall and within one status, so that every page is an index range scan.
func (s *Store) migrateOrderIndexes() error {
	stmts := []string{
		`CREATE INDEX IF NOT EXISTS idx_orders_merchant_updated ON orders(merchant_id, updated_at, id)`,
		`CREATE INDEX IF NOT EXISTS idx_orders_merchant_status_updated ON orders(merchant_id, status, updated_at, id)`,
		// An order's events, by the key processing finds their order with (eventOrderKey). It
		// replaces an index on each of order_ref and payment_id: every ingest commit writes each
		// index's entry for its events, and payment ids are random, so that second index cost a
		// page of WAL per webhook for events that name their order by reference anyway.
		`CREATE INDEX IF NOT EXISTS idx_events_order_key ON events((` + eventOrderKey + `))`,
		`DROP INDEX IF EXISTS idx_events_order_ref`,
		`DROP INDEX IF EXISTS idx_events_payment_id`,
	}
	if s.Postgres() {
		// Prefix searches by LIKE, which only a text_pattern_ops index serves whatever the collation.
		stmts = append(stmts,
			`CREATE INDEX IF NOT EXISTS idx_orders_merchant_reference_prefix ON orders(merchant_id, reference text_pattern_ops)`,
			`CREATE INDEX IF NOT EXISTS idx_orders_payment_prefix ON orders(payment_id text_pattern_ops)`)
	}
	for _, stmt := range stmts {
		if err := s.DB.Exec(stmt).Error; err != nil {
			return fmt.Errorf("store: create order index: %w", err)
		}
	}
	return nil
}

// Orders lists a merchant's orders, most recently updated first, one page at a time.
func (s *Store) Orders(f OrderFilter) (OrderPage, error) {
	limit := clampLimit(f.Limit)
	q, newer, err := ordersQuery(s.DB, f)
	if err != nil {
		return OrderPage{}, err
	}
	var list []Order
	if err := q.Limit(limit + 1).Find(&list).Error; err != nil {
		return OrderPage{}, fmt.Errorf("store: list orders: %w", err)
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	if newer {
		slices.Reverse(list)
	}
	p := OrderPage{Orders: list}
	if len(list) == 0 {
		return p, nil
	}
	p.Newer, p.Older = pageLinks(newer, f.Older != "", more, orderCursor(list[0]), orderCursor(list[len(list)-1]))
	return p, nil
}

// ordersQuery builds the order list's query on db, in the order the page walks; newer is true when
// it walks up from a cursor (oldest first), so the page must be reversed.
func ordersQuery(db *gorm.DB, f OrderFilter) (q *gorm.DB, newer bool, err error) {
	q = db.Model(&Order{})
	if term := strings.TrimSpace(f.Query); term != "" && isPostgres(db) {
		like := likePrefix(term)
		q = q.Where(`merchant_id = ? AND (reference LIKE ? ESCAPE '\' OR payment_id LIKE ? ESCAPE '\')`, f.MerchantID, like, like)
		if f.Status != "" {
			q = q.Where("status = ?", f.Status)
		}
	} else if term != "" {
		// The matches come from two index range scans, references within the merchant and payment
		// ids, and only they are checked and sorted. Each unary + makes a condition a check, so
		// SQLite never trades those ranges for a walk over the merchant's orders.
		lo, hi := prefixRange(term)
		q = q.Where(`id IN (SELECT id FROM orders WHERE merchant_id = ? AND reference >= ? AND reference < ?
			UNION SELECT id FROM orders WHERE payment_id >= ? AND payment_id < ? AND +merchant_id = ?)`,
			f.MerchantID, lo, hi, lo, hi, f.MerchantID)
		if f.Status != "" {
			q = q.Where("+status = ?", f.Status)
		}
	} else {
		q = q.Where("merchant_id = ?", f.MerchantID)
		if f.Status != "" {
			q = q.Where("status = ?", f.Status)
		}
	}
	newer = f.Newer != "" && f.Older == ""
	switch {
	case newer:
		at, id, err := decodeOrderCursor(f.Newer)
		if err != nil {
			return nil, false, err
		}
		q = q.Where("(updated_at, id) > (?, ?)", at, id).Order("updated_at, id")
	case f.Older != "":
		at, id, err := decodeOrderCursor(f.Older)
		if err != nil {
			return nil, false, err
		}
		q = q.Where("(updated_at, id) < (?, ?)", at, id).Order("updated_at DESC, id DESC")
	default:
		q = q.Order("updated_at DESC, id DESC")
	}
	return q, newer, nil
}

// eventOrderKey is what an event names its order by, as processing reads it (applyToOrder): its
// order reference, or its payment id when it has none. idx_events_order_key indexes it, and a query
// uses the index only when it spells the expression exactly so.
const eventOrderKey = `CASE WHEN order_ref <> '' THEN order_ref ELSE payment_id END`

// OrderEvents lists the events that lead to an order, oldest first: those naming its reference, and
// those naming no reference but its payment id (an event naming another reference goes to that
// order, whatever its payment id). It returns at most limit events and whether there were more.
func (s *Store) OrderEvents(merchantID uint, o *Order, limit int) ([]Event, bool, error) {
	var evs []Event
	if err := orderEventsQuery(s.DB, merchantID, o).Limit(limit + 1).Find(&evs).Error; err != nil {
		return nil, false, fmt.Errorf("store: events of order %s: %w", o.Reference, err)
	}
	if len(evs) > limit {
		return evs[:limit], true, nil
	}
	return evs, false, nil
}

// orderEventsQuery selects the events of OrderEvents, oldest first.
func orderEventsQuery(db *gorm.DB, merchantID uint, o *Order) *gorm.DB {
	keys := []string{o.Reference}
	if o.PaymentID != "" && o.PaymentID != o.Reference {
		keys = append(keys, o.PaymentID)
	}
	// The unary + leaves the merchant as a check: SQLite, which keeps no statistics here, would
	// otherwise walk the merchant's every event in id order rather than sort the order's few.
	return db.Where("+merchant_id = ? AND "+eventOrderKey+" IN ?", merchantID, keys).Order("id")
}
