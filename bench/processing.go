package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"hooklog/models"
)

// statusCounts counts events by processing status, read from the server's database.
type statusCounts map[string]int64

// Backlog is what is still to process: pending and processing events.
func (s statusCounts) Backlog() int64 { return s["pending"] + s["processing"] }

// watcher reads the servers' database beside them: the SQLite file read-only (WAL lets it read
// beside the server's writer), with search the search index's file, or the PostgreSQL database.
type watcher struct{ db, search *sql.DB }

func openWatcher(path string) (*watcher, error) {
	db, err := watchDB("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return nil, err
	}
	search, err := watchDB("sqlite3", "file:"+models.SearchIndexPath(path)+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		db.Close()
		return nil, err
	}
	return &watcher{db: db, search: search}, nil
}

func openPostgresWatcher(dsn string) (*watcher, error) {
	db, err := watchDB("pgx", dsn)
	if err != nil {
		return nil, err
	}
	return &watcher{db: db}, nil
}

// watchDB opens one connection to a database the watcher reads.
func watchDB(driver, dsn string) (*sql.DB, error) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("watch database: %w", err)
	}
	return db, nil
}

func (w *watcher) Close() {
	_ = w.db.Close()
	if w.search != nil {
		_ = w.search.Close()
	}
}

func (w *watcher) counts() (statusCounts, error) {
	rows, err := w.db.Query("SELECT status, count(*) FROM events GROUP BY status")
	if err != nil {
		return nil, fmt.Errorf("count events: %w", err)
	}
	defer rows.Close()
	out := statusCounts{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// processingResult is how fast the workers turned one run's acknowledged events into orders.
type processingResult struct {
	Run string `json:"run"`
	// Accepted is the new events the run stored; ArrivalRate is Accepted over the run's seconds.
	Accepted    int64   `json:"accepted_events"`
	ArrivalRate float64 `json:"arrival_per_s"`
	// DuringRate is what the workers processed while ingest ran; BacklogAtEnd is what was left.
	DuringRate   float64 `json:"processed_during_run_per_s"`
	BacklogAtEnd int64   `json:"backlog_at_end"`
	// DrainSeconds is how long the backlog took after the run; DrainRate its events per second.
	DrainSeconds float64 `json:"drain_seconds"`
	DrainRate    float64 `json:"drain_per_s"`
	// OverallRate is every accepted event over the run plus the drain: the sustained processing rate.
	OverallRate float64 `json:"overall_per_s"`
	// Ratio is OverallRate over ArrivalRate (target: at least 0.5).
	Ratio  float64 `json:"overall_to_arrival"`
	Failed int64   `json:"failed_or_dead"`
	// TimedOut means the backlog had not drained by the deadline.
	TimedOut bool `json:"timed_out,omitempty"`
	// SearchBehindAtEnd is how many deliveries SQLite's search indexer had yet to index when the
	// run ended, and SearchCaughtUpSeconds how long after the run's end it had indexed them all
	// (a search catches the index up itself; these say how far behind the background indexer ran).
	SearchBehindAtEnd     int64   `json:"search_index_behind_at_end,omitempty"`
	SearchCaughtUpSeconds float64 `json:"search_index_caught_up_s,omitempty"`
}

// drained asks the API, as a script would, whether any event is pending or processing.
func (h *hooklog) drained(ctx context.Context, token string) (bool, error) {
	for _, st := range []string{"pending", "processing"} {
		var page struct {
			Items []struct {
				ID uint `json:"id"`
			} `json:"items"`
		}
		if err := h.api(ctx, token, "/api/v1/events?status="+st+"&limit=1", &page); err != nil {
			return false, err
		}
		if len(page.Items) > 0 {
			return false, nil
		}
	}
	return true, nil
}

// backlog counts pending and processing events: a range of the claim index (idx_events_due, which
// holds the events with a next_attempt_at, as every pending and processing one has), so it costs
// what is left to do, not the size of the history.
func (w *watcher) backlog() (int64, error) {
	var n int64
	err := w.db.QueryRow("SELECT count(*) FROM events WHERE status IN ('pending', 'processing') AND next_attempt_at IS NOT NULL").Scan(&n)
	return n, err
}

// searchBehind counts the deliveries SQLite's search indexer has not reached; ok is false where
// there is no such indexer (PostgreSQL indexes each delivery as it is stored).
func (w *watcher) searchBehind() (n int64, ok bool) {
	if w.search == nil {
		return 0, false
	}
	var mark int64
	if err := w.search.QueryRow("SELECT indexed_through FROM delivery_search_progress").Scan(&mark); err != nil {
		return 0, false
	}
	err := w.db.QueryRow("SELECT count(*) FROM deliveries WHERE id > ?", mark).Scan(&n)
	return n, err == nil
}

// waitIndexed waits until the search indexer has reached the newest delivery, up to deadline.
func (w *watcher) waitIndexed(deadline time.Time) bool {
	for {
		if n, ok := w.searchBehind(); !ok || n == 0 {
			return ok
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitDrained waits until no event is pending or processing, up to limit. It watches the database
// every 50 ms and then confirms through the API, as a script would. (The API is not polled
// in a loop: its status filter walks every event of the merchant when few match, and polling it
// would slow the workers it is waiting for.)
func (h *hooklog) waitDrained(w *watcher, token string, limit time.Duration) (time.Duration, bool, error) {
	start := time.Now()
	deadline := start.Add(limit)
	for {
		n, err := w.backlog()
		if err != nil {
			return 0, false, err
		}
		if n == 0 {
			took := time.Since(start)
			ok, err := h.drained(context.Background(), token)
			if err != nil {
				return 0, false, err
			}
			if ok {
				return took, true, nil
			}
		}
		if time.Now().After(deadline) {
			return time.Since(start), false, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// measureProcessing runs load (an ingest run) and then waits for its events to be processed.
func measureProcessing(h *hooklog, w *watcher, token, name string, drainLimit time.Duration, load func() loadResult) (loadResult, processingResult, error) {
	before, err := w.counts()
	if err != nil {
		return loadResult{}, processingResult{}, err
	}
	res := load()
	ended := time.Now()
	behind, indexed := w.searchBehind()
	atEnd, err := w.counts()
	if err != nil {
		return res, processingResult{}, err
	}
	took, ok, err := h.waitDrained(w, token, drainLimit)
	if err != nil {
		return res, processingResult{}, err
	}
	var caughtUp time.Duration
	if indexed && w.waitIndexed(ended.Add(drainLimit)) {
		caughtUp = time.Since(ended)
	}
	after, err := w.counts()
	if err != nil {
		return res, processingResult{}, err
	}
	total := func(c statusCounts) (n int64) {
		for _, v := range c {
			n += v
		}
		return n
	}
	finished := func(c statusCounts) int64 { return c["processed"] + c["failed"] + c["dead"] }
	p := processingResult{Run: name, Accepted: total(after) - total(before), BacklogAtEnd: atEnd.Backlog(),
		DrainSeconds: took.Seconds(), TimedOut: !ok, Failed: after["failed"] + after["dead"] - before["failed"] - before["dead"]}
	p.SearchBehindAtEnd, p.SearchCaughtUpSeconds = behind, caughtUp.Seconds()
	p.ArrivalRate = float64(p.Accepted) / res.Seconds
	p.DuringRate = float64(finished(atEnd)-finished(before)) / res.Seconds
	if took > 0 {
		p.DrainRate = float64(finished(after)-finished(atEnd)) / took.Seconds()
	}
	p.OverallRate = float64(finished(after)-finished(before)) / (res.Seconds + took.Seconds())
	if p.ArrivalRate > 0 {
		p.Ratio = p.OverallRate / p.ArrivalRate
	}
	return res, p, nil
}
