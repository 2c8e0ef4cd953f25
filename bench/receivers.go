package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	_ "github.com/mattn/go-sqlite3" // the driver hooklog uses, for the naive receiver and the seed

	"hooklog/webhooks"
)

// receiver is an HTTP server inside the bench process, on a loopback port.
type receiver struct {
	Addr  string
	srv   *http.Server
	store *naiveDB
}

func serve(h http.Handler) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{Addr: ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// Close stops the server and closes its database, if any; closing again does nothing.
func (r *receiver) Close() error {
	_ = r.srv.Close()
	store := r.store
	r.store = nil
	if store != nil {
		return store.Close()
	}
	return nil
}

// startTrivial is the ceiling: it reads the body and answers 200, nothing else.
func startTrivial() (*receiver, error) {
	return serve(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		w.WriteHeader(http.StatusOK)
	}))
}

// naiveDB is the naive receiver's database and its one INSERT statement.
type naiveDB struct {
	db     *sql.DB
	insert string
	// shared means the table lives in the database hooklog is measured on: Close drops it, so that
	// it does not count in hooklog's storage.
	shared bool
}

// Close closes the database, dropping the receiver's table first when it is shared.
func (n *naiveDB) Close() error {
	if n.shared {
		if _, err := n.db.Exec("DROP TABLE naive_deliveries"); err != nil {
			n.db.Close()
			return fmt.Errorf("naive receiver: drop table: %w", err)
		}
	}
	return n.db.Close()
}

// openNaiveSQLite is a SQLite file of the receiver's own, set up as hooklog sets up its own (WAL,
// synchronous=NORMAL), with its one writer.
func openNaiveSQLite(dir string) (*naiveDB, error) {
	dsn := "file:" + filepath.Join(dir, "naive.db") + "?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS naive_deliveries (
		id INTEGER PRIMARY KEY, received_at TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("naive receiver: %w", err)
	}
	return &naiveDB{db: db, insert: "INSERT INTO naive_deliveries(received_at, headers, body) VALUES (?, ?, ?)"}, nil
}

// openNaivePostgres is a table in the run's PostgreSQL database, with a connection for each of the
// load generator's connections, so that concurrent commits share the server's WAL flushes as they
// would for any receiver with a pool.
func openNaivePostgres(dsn string, conns int) (*naiveDB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS naive_deliveries (
		id bigserial PRIMARY KEY, received_at timestamptz NOT NULL, headers text NOT NULL, body bytea NOT NULL)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("naive receiver: %w", err)
	}
	return &naiveDB{db: db, insert: "INSERT INTO naive_deliveries(received_at, headers, body) VALUES ($1, $2, $3)", shared: true}, nil
}

// openNaive starts the naive receiver on a table in the PostgreSQL database at dsn, with conns
// connections, or, when dsn is empty, on a SQLite file of its own in dir.
func openNaive(dir, dsn string, conns int) (*receiver, error) {
	var store *naiveDB
	var err error
	if dsn != "" {
		store, err = openNaivePostgres(dsn, conns)
	} else if err = os.MkdirAll(dir, 0o700); err == nil {
		store, err = openNaiveSQLite(dir)
	}
	if err != nil {
		return nil, err
	}
	return startNaive(store, secret)
}

// startNaive is the honest simple receiver hooklog is measured against: it verifies the Stripe
// signature and inserts the raw request into store, one transaction per request, before
// answering. The receiver owns store from here on and closes it with itself.
func startNaive(store *naiveDB, secret string) (*receiver, error) {
	db := store.db
	profile, err := webhooks.New("stripe", webhooks.Settings{})
	if err != nil {
		store.Close()
		return nil, err
	}
	secrets := []string{secret}
	r, err := serve(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		now := time.Now().UTC()
		if err := profile.Verify(req.Header, body, secrets, now); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		headers, _ := json.Marshal(req.Header)
		// One statement in autocommit mode: one transaction per request.
		if _, err := db.Exec(store.insert, now, string(headers), body); err != nil {
			http.Error(w, "store", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	if err != nil {
		store.Close()
		return nil, err
	}
	r.store = store
	return r, nil
}
