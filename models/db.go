// Package models holds Hooklog's GORM models and their queries, one file per entity.
package models

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
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
	// writeMu makes the busy writers take turns on SQLite; see writeTx. ingestWaiting counts the
	// webhooks queued for the ingest writer or in its current batch; see lockWrites.
	writeMu       sync.Mutex
	ingestWaiting atomic.Int64
	lastIngest    atomic.Int64 // wall clock of the last webhook queued, in Unix nanoseconds
	lastComplete  atomic.Int64 // wall clock of the last batch of events completed, in Unix nanoseconds
	// processingBehind says the workers have fallen more than processingLagLimit behind, so they
	// no longer let waiting webhooks go first; see lockWrites and ClaimEvents.
	processingBehind atomic.Bool
	// stopCheckpoints and checkpointsDone run the SQLite checkpointer; see startCheckpointer.
	stopCheckpoints, checkpointsDone chan struct{}
	// ingestCache keeps endpoints and their opened secrets for the ingest path; see IngestTarget.
	ingestCache ingestCache
	// indexer writes the SQLite search index behind the ingest writer; see search_indexer.go.
	indexer atomic.Pointer[searchIndexer]
	// searchDB is SQLite's search index file (nil on PostgreSQL), whose only writers are the
	// indexer and purges; DB reads it through a read-only attachment. See openSQLite.
	searchDB *gorm.DB
}

// Options configure Open.
type Options struct {
	// DSN is a SQLite file path (or "file:..." URI), or a PostgreSQL DSN (see IsPostgresDSN).
	DSN string
	// Synchronous is SQLite's synchronous pragma: NORMAL survives a process crash, FULL a power loss.
	Synchronous string
	// MaxConns caps the PostgreSQL connection pool; 0 means 20. SQLite ignores it.
	MaxConns int
	// Key encrypts endpoint secrets at rest.
	Key []byte
	// RetiredKeys may still open secrets sealed before a key rotation.
	RetiredKeys [][]byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Open opens (creating if needed) the database and migrates it.
func Open(o Options) (*Store, error) {
	box, err := NewBox(o.Key, o.RetiredKeys...)
	if err != nil {
		return nil, err
	}
	var db, searchDB *gorm.DB
	if IsPostgresDSN(o.DSN) {
		db, err = openPostgres(o)
	} else {
		db, searchDB, err = openSQLite(o)
	}
	if err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	if isPostgres(db) {
		// PostgreSQL keeps microseconds: a time the store hands out is then exactly the time it stores.
		clock := now
		now = func() time.Time { return clock().Truncate(time.Microsecond) }
	}
	s := &Store{DB: db, searchDB: searchDB, box: box, now: now}
	if err := s.migrate(); err != nil {
		s.Close()
		return nil, err
	}
	if !s.Postgres() {
		s.startCheckpointer()
		s.startSearchIndexer()
	}
	return s, nil
}

func gormConfig() *gorm.Config {
	return &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
}

// openSQLite opens the database file and, beside it, the file of its search index (see
// SearchIndexPath). The index has a file of its own so that indexing never holds the main file's
// single write lock: FTS5's work for every body, under that lock, either held up the webhooks and
// the workers or, deferred to them, fell behind without bound under steady traffic. The main pool
// attaches the index read-only, so searches still join it to the deliveries in one query; the
// index's own pool is its only writer.
func openSQLite(o Options) (db, searchDB *gorm.DB, err error) {
	if o.Synchronous == "" {
		o.Synchronous = "NORMAL"
	}
	path := strings.TrimPrefix(o.DSN, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("store: create data directory: %w", err)
		}
	}
	params := "?_journal_mode=WAL&_synchronous=" + o.Synchronous + "&_busy_timeout=10000&_foreign_keys=1&_txlock=immediate"

	// The index goes first: the main pool's connections attach it as they open.
	searchPath := SearchIndexPath(path)
	searchDB, err = gorm.Open(sqlite.New(sqlite.Config{Conn: sqlitePool("file:"+searchPath+params+"&_cache_size=-4000", "")}), gormConfig())
	if err != nil {
		return nil, nil, fmt.Errorf("store: open %s: %w", searchPath, err)
	}
	if err := migrateSearchFile(searchDB); err != nil {
		closeGorm(searchDB)
		return nil, nil, err
	}
	// The indexer and a purge at a time; the main pool reads the index through its attachment.
	setPool(searchDB, 2)

	attach, err := attachSearchSQL(searchPath)
	if err != nil {
		closeGorm(searchDB)
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	// Each connection has its own page cache, of 8 MB: at 20 MB, the eight connections' caches (and
	// the C heap they left behind) took the server past 150 MB resident through a 10 s ingest burst;
	// at 8 MB the pages at 1M deliveries stay well within their targets (the overview, the slowest,
	// at p95 34 ms against 26 ms with 20 MB). Checkpoints are left to the store's checkpointer (see
	// startCheckpointer).
	pool := sqlitePool("file:"+path+params+"&_cache_size=-8000", "PRAGMA wal_autocheckpoint = 0; "+attach)
	db, err = gorm.Open(sqlite.New(sqlite.Config{Conn: pool}), gormConfig())
	if err != nil {
		closeGorm(searchDB)
		return nil, nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// WAL lets readers run beside the one writer; the busy writers take turns in Go (see writeTx).
	setPool(db, 8)
	return db, searchDB, nil
}

// setPool keeps n SQLite connections open for good: a connection's page cache is what it has read.
func setPool(db *gorm.DB, n int) {
	sqlDB, _ := db.DB()
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	sqlDB.SetConnMaxLifetime(0)
}

// closeGorm closes the pool under db.
func closeGorm(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

func openPostgres(o Options) (*gorm.DB, error) {
	connCfg, err := pgx.ParseConfig(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("store: PostgreSQL DSN %s: %w", RedactDSN(o.DSN), err)
	}
	// Times come back in UTC, as from SQLite, whatever the server's or the process's time zone.
	sqlDB := stdlib.OpenDB(*connCfg, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}))
	cfg := gormConfig()
	cfg.NowFunc = func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), cfg)
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: open PostgreSQL %s: %w", RedactDSN(o.DSN), err)
	}
	if err := registerPGText(db); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	conns := o.MaxConns
	if conns <= 0 {
		conns = 20
	}
	// Each instance holds at most conns connections; idle ones are closed after a while so that a
	// quiet instance does not keep its share of the server's max_connections.
	sqlDB.SetMaxOpenConns(conns)
	sqlDB.SetMaxIdleConns(conns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	sqlDB.SetConnMaxLifetime(time.Hour)
	return db, nil
}

// RedactDSN is a configured database with the password of a PostgreSQL DSN hidden, for messages
// and logs.
func RedactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u.Redacted()
	}
	fields := strings.Fields(dsn)
	for i, f := range fields {
		if strings.HasPrefix(f, "password=") {
			fields[i] = "password=xxxxx"
		}
	}
	return strings.Join(fields, " ")
}

// Close closes the database.
func (s *Store) Close() error {
	s.stopSearchIndexer()
	s.stopCheckpointer()
	err := closeGorm(s.DB)
	if s.searchDB != nil {
		err = errors.Join(err, closeGorm(s.searchDB))
	}
	return err
}

// Now is the store's clock, in UTC.
func (s *Store) Now() time.Time { return s.now().UTC() }

// Ping checks that the database answers.
func (s *Store) Ping() error {
	var one int
	return s.DB.Raw("SELECT 1").Scan(&one).Error
}

// migrateLockID is the PostgreSQL advisory lock that migrations hold, so that instances starting
// together migrate one after the other instead of racing to create the same tables.
const migrateLockID = 0x686f6f6b6c6f67 // "hooklog"

func (s *Store) migrate() error {
	if !s.Postgres() {
		return s.migrateTables()
	}
	sqlDB, err := s.DB.DB()
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	// An advisory lock belongs to a session, so it is taken and released on one dedicated connection
	// while the migration itself runs on the pool.
	ctx := context.Background()
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrateLockID); err != nil {
		return fmt.Errorf("store: migrate: lock: %w", err)
	}
	err = s.migrateTables()
	if _, uerr := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", migrateLockID); uerr != nil && err == nil {
		err = fmt.Errorf("store: migrate: unlock: %w", uerr)
	}
	return err
}

func (s *Store) migrateTables() error {
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
	if err := s.migrateBodyCompression(); err != nil {
		return err
	}
	if err := s.migrateDeliveryCounts(); err != nil {
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
