package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"time"

	_ "github.com/mattn/go-sqlite3" // the driver hooklog uses, for the naive receiver and the seed

	"hooklog/webhooks"
)

// receiver is an HTTP server inside the bench process, on a loopback port.
type receiver struct {
	Addr string
	srv  *http.Server
	db   *sql.DB
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

// Close stops the server and closes its database, if any.
func (r *receiver) Close() {
	_ = r.srv.Close()
	if r.db != nil {
		_ = r.db.Close()
	}
}

// startTrivial is the ceiling: it reads the body and answers 200, nothing else.
func startTrivial() (*receiver, error) {
	return serve(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		w.WriteHeader(http.StatusOK)
	}))
}

// startNaive is the honest simple receiver hooklog is measured against: it verifies the Stripe
// signature and inserts the raw request, one transaction per request, before answering.
func startNaive(dir, secret string) (*receiver, error) {
	dsn := "file:" + filepath.Join(dir, "naive.db") + "?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS deliveries (
		id INTEGER PRIMARY KEY, received_at TEXT NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("naive receiver: %w", err)
	}
	profile, err := webhooks.New("stripe", webhooks.Settings{})
	if err != nil {
		db.Close()
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
		if _, err := db.Exec("INSERT INTO deliveries(received_at, headers, body) VALUES (?, ?, ?)", now, string(headers), body); err != nil {
			http.Error(w, "store", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	if err != nil {
		db.Close()
		return nil, err
	}
	r.db = db
	return r, nil
}
