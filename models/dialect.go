package models

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// IsPostgresDSN reports whether a configured database names PostgreSQL: a postgres:// or
// postgresql:// URL, or a keyword DSN such as "host=db user=hooklog dbname=hooklog". Anything else
// is a SQLite file path.
func IsPostgresDSN(dsn string) bool {
	dsn = strings.TrimSpace(dsn)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return true
	}
	fields := strings.Fields(dsn)
	host := false
	for _, f := range fields {
		if !strings.Contains(f, "=") {
			return false
		}
		host = host || strings.HasPrefix(f, "host=")
	}
	return host
}

// Postgres reports whether the store runs on PostgreSQL rather than SQLite.
func (s *Store) Postgres() bool { return isPostgres(s.DB) }

func isPostgres(db *gorm.DB) bool { return db.Dialector.Name() == "postgres" }

// containsFold is the SQL condition that column contains the bound value, ignoring case.
func containsFold(db *gorm.DB, column string) string {
	if isPostgres(db) {
		return "strpos(lower(" + column + "), lower(?)) > 0"
	}
	return "instr(lower(" + column + "), lower(?)) > 0"
}

// skipLocked is what a claiming subquery appends: on PostgreSQL, rows another instance is claiming
// right now are skipped rather than waited for, so every instance claims different work. SQLite
// needs nothing: its write transactions already run one at a time.
func skipLocked(db *gorm.DB) string {
	if isPostgres(db) {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// lockRow makes a query lock the rows it reads until the transaction ends, on PostgreSQL, where two
// instances may otherwise read the same row and each write back its own update. SQLite's write
// transactions are serialised (txlock=immediate), so there it is the query unchanged.
func lockRow(tx *gorm.DB) *gorm.DB {
	if isPostgres(tx) {
		return tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	return tx
}

// migrateBodyCompression has PostgreSQL compress delivery bodies with lz4 where the server offers
// it (14 and later, when built with lz4): for JSON it saves about as much space as the default
// pglz, at a fraction of the CPU, and ingest compresses every body it stores.
func (s *Store) migrateBodyCompression() error {
	if !s.Postgres() {
		return nil
	}
	var offered int64
	err := s.DB.Raw(`SELECT COUNT(*) FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)`).Scan(&offered).Error
	if err != nil {
		return fmt.Errorf("store: body compression: %w", err)
	}
	if offered == 0 {
		return nil
	}
	var current string
	err = s.DB.Raw(`SELECT attcompression::text FROM pg_attribute WHERE attrelid = 'deliveries'::regclass AND attname = 'body'`).Scan(&current).Error
	if err != nil {
		return fmt.Errorf("store: body compression: %w", err)
	}
	if current == "l" {
		return nil
	}
	if err := s.DB.Exec(`ALTER TABLE deliveries ALTER COLUMN body SET COMPRESSION lz4`).Error; err != nil {
		return fmt.Errorf("store: compress delivery bodies with lz4: %w", err)
	}
	return nil
}

// pgText makes s storable as PostgreSQL text, which holds neither NUL nor invalid UTF-8: each such
// byte becomes U+FFFD. SQLite stores any bytes, so it needs no such step.
func pgText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// storableEvent makes an event's normalised text storable on PostgreSQL before queries use it
// (the order it names is looked up by reference and payment id); see pgText.
func storableEvent(db *gorm.DB, e *Event) {
	if isPostgres(db) {
		e.makePGText()
	}
}

// makePGText makes every text field of the event storable on PostgreSQL; see pgText.
func (e *Event) makePGText() {
	for _, f := range []*string{&e.ExternalID, &e.Provider, &e.Type, &e.OrderRef, &e.PaymentID, &e.Currency,
		&e.CustomerEmail, &e.CustomerPhone, &e.LastError, &e.PendingActor, &e.MarkNote, &e.MarkedBy} {
		*f = pgText(*f)
	}
}

// registerPGText makes every string a row is created or updated with storable on PostgreSQL (see
// pgText). Text from a signed payload or a form may hold a NUL, and a provider must not be told to
// retry forever, nor a form fail, over what SQLite would have stored.
func registerPGText(db *gorm.DB) error {
	if err := db.Callback().Create().Before("gorm:create").Register("hooklog:pg_text", pgTextCallback); err != nil {
		return err
	}
	return db.Callback().Update().Before("gorm:update").Register("hooklog:pg_text", pgTextCallback)
}

func pgTextCallback(db *gorm.DB) {
	if dest, ok := db.Statement.Dest.(map[string]any); ok {
		for k, v := range dest {
			if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
				if clean := pgText(rv.String()); clean != rv.String() {
					dest[k] = reflect.ValueOf(clean).Convert(rv.Type()).Interface()
				}
			}
		}
		return
	}
	if db.Statement.Schema == nil {
		return
	}
	rv := db.Statement.ReflectValue
	clean := func(row reflect.Value) {
		for _, f := range db.Statement.Schema.Fields {
			if f.DBName == "" || f.FieldType.Kind() != reflect.String {
				continue
			}
			v := f.ReflectValueOf(db.Statement.Context, row)
			if c := pgText(v.String()); c != v.String() && v.CanSet() {
				v.SetString(c)
			}
		}
	}
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		for i := range rv.Len() {
			row := reflect.Indirect(rv.Index(i))
			if row.Kind() == reflect.Struct {
				clean(row)
			}
		}
	case reflect.Struct:
		clean(rv)
	}
}
