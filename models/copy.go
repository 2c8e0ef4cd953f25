package models

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ErrCopyTargetNotEmpty means the database a copy would write to already holds merchants.
var ErrCopyTargetNotEmpty = errors.New("the destination database already holds data; copy into a new, empty database")

// CopyProgress reports a table copied, with its rows.
type CopyProgress func(table string, rows int64)

// CopyTo copies every table of s into dst, which must be freshly migrated and empty, keeping every
// id, in transactions of at most batch rows, and builds dst's search index as it goes. Stop every
// instance writing to s first: rows written during the copy may be missed. Both stores must use
// the same secret key, since endpoint secrets are copied still encrypted.
func (s *Store) CopyTo(dst *Store, batch int, progress CopyProgress) error {
	if batch <= 0 {
		batch = 500
	}
	var merchants int64
	if err := dst.DB.Model(&Merchant{}).Count(&merchants).Error; err != nil {
		return fmt.Errorf("store: copy: %w", err)
	}
	if merchants > 0 {
		return fmt.Errorf("store: copy: %w", ErrCopyTargetNotEmpty)
	}
	c := copier{src: s.DB, dst: dst.DB, batch: batch, progress: progress}
	for _, step := range copySteps {
		if err := step.copy(c); err != nil {
			return err
		}
	}
	if n, err := dst.indexSearchBacklog(nil); err != nil {
		return fmt.Errorf("store: copy: %w", err)
	} else if !dst.Postgres() && progress != nil {
		progress("delivery_search", int64(n))
	}
	return dst.resetSequences()
}

// copyStep copies one table.
type copyStep struct {
	table string
	copy  func(copier) error
}

// copySteps lists every table, parents before children so the foreign keys hold at every step.
var copySteps = []copyStep{
	{"merchants", func(c copier) error {
		return copyTable(c, "merchants", byID(func(r Merchant) uint { return r.ID }), nil)
	}},
	{"users", func(c copier) error { return copyTable(c, "users", byID(func(r User) uint { return r.ID }), nil) }},
	{"api_tokens", func(c copier) error {
		return copyTable(c, "api_tokens", byID(func(r APIToken) uint { return r.ID }), nil)
	}},
	{"endpoints", func(c copier) error {
		return copyTable(c, "endpoints", byID(func(r Endpoint) uint { return r.ID }), nil)
	}},
	{"secrets", func(c copier) error { return copyTable(c, "secrets", byID(func(r Secret) uint { return r.ID }), nil) }},
	{"deliveries", func(c copier) error {
		// A delivery holds a body of up to max_body_bytes, so fewer go in one transaction.
		c.batch = min(c.batch, 50)
		return copyTable(c, "deliveries", byID(func(r Delivery) uint { return r.ID }), func(tx *gorm.DB, rows []Delivery) error {
			if !isPostgres(tx) {
				return nil // SQLite's index is built after the copy, in larger batches (CopyTo)
			}
			for i := range rows {
				if err := pgIndexDelivery(tx, &rows[i]); err != nil {
					return err
				}
			}
			return nil
		})
	}},
	{"delivery_counts", func(c copier) error {
		// Rebuilt from the copied deliveries rather than copied, so they match what arrived.
		if err := c.dst.Transaction(recountDeliveries); err != nil {
			return fmt.Errorf("store: copy delivery_counts: %w", err)
		}
		if c.progress != nil {
			var n int64
			if err := c.dst.Model(&DeliveryCount{}).Count(&n).Error; err != nil {
				return fmt.Errorf("store: copy delivery_counts: %w", err)
			}
			c.progress("delivery_counts", n)
		}
		return nil
	}},
	{"events", func(c copier) error { return copyTable(c, "events", byID(func(r Event) uint { return r.ID }), nil) }},
	{"attempts", func(c copier) error { return copyTable(c, "attempts", byID(func(r Attempt) uint { return r.ID }), nil) }},
	{"orders", func(c copier) error { return copyTable(c, "orders", byID(func(r Order) uint { return r.ID }), nil) }},
	{"order_transitions", func(c copier) error {
		return copyTable(c, "order_transitions", byID(func(r OrderTransition) uint { return r.ID }), nil)
	}},
	{"audit_entries", func(c copier) error {
		return copyTable(c, "audit_entries", byID(func(r AuditEntry) uint { return r.ID }), nil)
	}},
	{"login_failures", func(c copier) error {
		return copyTable(c, "login_failures", byID(func(r LoginFailure) uint { return r.ID }), nil)
	}},
	{"replay_jobs", func(c copier) error {
		return copyTable(c, "replay_jobs", byID(func(r ReplayJob) uint { return r.ID }), nil)
	}},
	{"replay_job_events", func(c copier) error {
		return copyTable(c, "replay_job_events", tableKey[ReplayJobEvent]{cols: "job_id, event_id",
			of: func(r ReplayJobEvent) []any { return []any{r.JobID, r.EventID} }}, nil)
	}},
}

// copier is where a copy reads and writes, and how much at a time.
type copier struct {
	src, dst *gorm.DB
	batch    int
	progress CopyProgress
}

// tableKey is a table's primary key: its columns, and their values in a row.
type tableKey[T any] struct {
	cols string
	of   func(T) []any
}

func byID[T any](id func(T) uint) tableKey[T] {
	return tableKey[T]{cols: "id", of: func(r T) []any { return []any{id(r)} }}
}

// copyTable copies one table in primary key order, batch by batch; after (may be nil) runs in
// each batch's transaction once its rows are written.
func copyTable[T any](c copier, table string, key tableKey[T], after func(*gorm.DB, []T) error) error {
	var last []any
	var n int64
	for {
		var rows []T
		q := c.src.Order(key.cols).Limit(c.batch)
		if last != nil {
			q = q.Where("("+key.cols+") > ("+placeholders(len(last))+")", last...)
		}
		if err := q.Find(&rows).Error; err != nil {
			return fmt.Errorf("store: copy %s: read: %w", table, err)
		}
		if len(rows) == 0 {
			break
		}
		fixes, err := zeroDefaults(c.dst, rows)
		if err != nil {
			return fmt.Errorf("store: copy %s: %w", table, err)
		}
		err = c.dst.Transaction(func(tx *gorm.DB) error {
			if err := tx.Select("*").Omit(clause.Associations).Create(&rows).Error; err != nil {
				return err
			}
			// GORM writes a column's default in place of a zero value (a disabled endpoint would
			// come out enabled), so those columns are set again as they were.
			for _, f := range fixes {
				err := tx.Table(table).Where("("+key.cols+") = ("+placeholders(len(key.of(rows[f.row])))+")", key.of(rows[f.row])...).
					Update(f.column, f.value).Error
				if err != nil {
					return err
				}
			}
			if after != nil {
				return after(tx, rows)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: copy %s: write: %w", table, err)
		}
		n += int64(len(rows))
		last = key.of(rows[len(rows)-1])
	}
	if c.progress != nil {
		c.progress(table, n)
	}
	return nil
}

// placeholders is n comma-separated "?" (n at least 1).
func placeholders(n int) string { return strings.Repeat("?, ", n-1) + "?" }

// zeroFix is a column of a copied row whose zero value GORM would replace by the column's default.
type zeroFix struct {
	row    int
	column string
	value  any
}

// zeroDefaults finds, before rows are created, the columns that hold their type's zero value but
// have another default.
func zeroDefaults[T any](db *gorm.DB, rows []T) ([]zeroFix, error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(new(T)); err != nil {
		return nil, err
	}
	var fixes []zeroFix
	for _, f := range stmt.Schema.Fields {
		if f.DBName == "" || f.DefaultValueInterface == nil || f.PrimaryKey {
			continue
		}
		zero := reflect.Zero(f.FieldType).Interface()
		if reflect.DeepEqual(zero, f.DefaultValueInterface) {
			continue
		}
		for i := range rows {
			if _, isZero := f.ValueOf(context.Background(), reflect.ValueOf(&rows[i]).Elem()); isZero {
				fixes = append(fixes, zeroFix{row: i, column: f.DBName, value: zero})
			}
		}
	}
	return fixes, nil
}

// resetSequences moves PostgreSQL's id sequences past the copied ids, so new rows do not collide
// with them. SQLite takes the next id from the table itself.
func (s *Store) resetSequences() error {
	if !s.Postgres() {
		return nil
	}
	for _, step := range copySteps {
		table := step.table
		if table == "replay_job_events" || table == "delivery_counts" { // keyed by their columns, without a sequence
			continue
		}
		err := s.DB.Exec(`SELECT setval(pg_get_serial_sequence(?, 'id'), COALESCE((SELECT MAX(id) FROM `+table+`), 0) + 1, false)`, table).Error
		if err != nil {
			return fmt.Errorf("store: copy %s: reset its id sequence: %w", table, err)
		}
	}
	return nil
}
