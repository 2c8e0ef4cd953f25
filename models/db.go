// Package models holds Hooklog's GORM models and their queries, one file per entity.
package models

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// ErrNotFound is returned when a record does not exist or belongs to another merchant.
var ErrNotFound = errors.New("not found")

// Store is the database with the keys and clock its queries need.
type Store struct {
	DB  *gorm.DB
	box *Box
	now func() time.Time
}

// Options configure Open.
type Options struct {
	// DSN is a SQLite file path (or "file:..." URI).
	DSN string
	// Synchronous is SQLite's synchronous pragma: NORMAL survives a process crash, FULL a power loss.
	Synchronous string
	// Key encrypts endpoint secrets at rest.
	Key []byte
	// RetiredKeys may still open secrets sealed before a key rotation.
	RetiredKeys [][]byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Open opens (creating if needed) the database and migrates it.
func Open(o Options) (*Store, error) {
	if o.Synchronous == "" {
		o.Synchronous = "NORMAL"
	}
	path := strings.TrimPrefix(o.DSN, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create data directory: %w", err)
		}
	}
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=" + o.Synchronous +
		"&_busy_timeout=10000&_foreign_keys=1&_txlock=immediate&_cache_size=-20000"
	db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// WAL lets readers run beside the one writer; writers queue on busy_timeout.
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(8)
	sqlDB.SetConnMaxLifetime(0)
	box, err := NewBox(o.Key, o.RetiredKeys...)
	if err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	s := &Store{DB: db, box: box, now: now}
	if err := s.migrate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Now is the store's clock, in UTC.
func (s *Store) Now() time.Time { return s.now().UTC() }

// Ping checks that the database answers.
func (s *Store) Ping() error {
	var one int
	return s.DB.Raw("SELECT 1").Scan(&one).Error
}

func (s *Store) migrate() error {
	err := s.DB.AutoMigrate(
		&Merchant{},
		&User{},
		&APIToken{},
		&Endpoint{},
		&Secret{},
		&Delivery{},
		&Event{},
		&Attempt{},
		&Order{},
		&OrderTransition{},
		&AuditEntry{},
		&LoginFailure{},
		&ReplayJob{}, &ReplayJobEvent{},
	)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if err := s.migrateStatsIndexes(); err != nil {
		return err
	}
	if err := s.migrateOrderIndexes(); err != nil {
		return err
	}
	return s.migrateSearch()
}

// notFound turns gorm's not-found into ErrNotFound and prefixes other errors.
func notFound(what string, err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}
