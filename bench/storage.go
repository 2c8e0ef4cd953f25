package main

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// storageResult is what the database costs per stored delivery.
type storageResult struct {
	Deliveries   int64   `json:"deliveries"`
	AvgBodyBytes float64 `json:"avg_body_bytes"`
	// FileBytes is, on SQLite, the .db plus its -wal after a checkpoint; on PostgreSQL, every table
	// with its indexes and TOAST.
	FileBytes int64 `json:"file_bytes"`
	// SearchBytes is the full-text index: delivery_search (SQLite: and its shadow tables;
	// PostgreSQL: and its GIN index).
	SearchBytes int64 `json:"search_index_bytes"`
	// SearchMethod says how SearchBytes was found: "dbstat" (exact) or "estimate" (sum of its blobs)
	// on SQLite, "pg_total_relation_size" on PostgreSQL.
	SearchMethod       string  `json:"search_index_method"`
	PerDelivery        float64 `json:"bytes_per_delivery"`
	PerDeliveryNoIndex float64 `json:"bytes_per_delivery_without_search_index"`
}

// measureStorage checkpoints the database at path (no server may be running on it) and measures it.
func measureStorage(path string) (storageResult, error) {
	var st storageResult
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		return st, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return st, fmt.Errorf("checkpoint: %w", err)
	}
	var bodies sql.NullInt64
	if err := db.QueryRow("SELECT count(*), sum(body_size) FROM deliveries").Scan(&st.Deliveries, &bodies); err != nil {
		return st, fmt.Errorf("count deliveries: %w", err)
	}
	if st.Deliveries > 0 {
		st.AvgBodyBytes = float64(bodies.Int64) / float64(st.Deliveries)
	}
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(path + suffix); err == nil {
			st.FileBytes += fi.Size()
		}
	}
	st.SearchBytes, st.SearchMethod, err = searchIndexBytes(db, path)
	if err != nil {
		return st, err
	}
	if st.Deliveries > 0 {
		st.PerDelivery = float64(st.FileBytes) / float64(st.Deliveries)
		st.PerDeliveryNoIndex = float64(st.FileBytes-st.SearchBytes) / float64(st.Deliveries)
	}
	return st, nil
}

// searchIndexBytes sums the pages of the full-text index. The mattn driver is built without the
// dbstat table, so it asks the sqlite3 shell (Debian's has dbstat) when there is one, and otherwise
// estimates from the size of the index's blobs.
func searchIndexBytes(db *sql.DB, path string) (int64, string, error) {
	const q = "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'delivery_search%';"
	var n int64
	if err := db.QueryRow(q).Scan(&n); err == nil {
		return n, "dbstat", nil
	}
	if shell, err := exec.LookPath("sqlite3"); err == nil {
		out, err := exec.Command(shell, "-readonly", path, q).Output()
		if err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil {
				return n, "dbstat", nil
			}
		}
	}
	var data, idx, docsize sql.NullInt64
	err := db.QueryRow(`SELECT (SELECT sum(length(block)) FROM delivery_search_data),
		(SELECT sum(length(term)) + 16 * count(*) FROM delivery_search_idx),
		(SELECT sum(length(sz)) + 16 * count(*) FROM delivery_search_docsize)`).Scan(&data, &idx, &docsize)
	if err != nil {
		return 0, "", fmt.Errorf("estimate search index: %w", err)
	}
	return data.Int64 + idx.Int64 + docsize.Int64, "estimate", nil
}
