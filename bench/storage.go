package main

import (
	"database/sql"
	"fmt"
	"os"
	"strings"

	"hooklog/models"
)

// storageResult is what the database costs per stored delivery.
type storageResult struct {
	Deliveries   int64   `json:"deliveries"`
	AvgBodyBytes float64 `json:"avg_body_bytes"`
	// FileBytes is, on SQLite, the database file and its search index file (with their -wal files,
	// after a checkpoint); on PostgreSQL, every table with its indexes and TOAST.
	FileBytes int64 `json:"file_bytes"`
	// SearchBytes is the full-text index: SQLite's index file; PostgreSQL's delivery_search and its
	// GIN index.
	SearchBytes int64 `json:"search_index_bytes"`
	// SearchMethod says how SearchBytes was found: "file" on SQLite, "pg_total_relation_size" on
	// PostgreSQL.
	SearchMethod       string  `json:"search_index_method"`
	PerDelivery        float64 `json:"bytes_per_delivery"`
	PerDeliveryNoIndex float64 `json:"bytes_per_delivery_without_search_index"`
}

// measureStorage checkpoints the database at path and its search index file (no server may be
// running on them) and measures them.
func measureStorage(path string) (storageResult, error) {
	st := storageResult{SearchMethod: "file"}
	searchPath := models.SearchIndexPath(path)
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		return st, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// Checkpointed, the files are their contents: the WAL is truncated to nothing.
	for _, q := range []string{attachSearchSQL(path), "PRAGMA main.wal_checkpoint(TRUNCATE)", "PRAGMA search.wal_checkpoint(TRUNCATE)"} {
		if _, err := db.Exec(q); err != nil {
			return st, fmt.Errorf("checkpoint: %s: %w", q, err)
		}
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
		if fi, err := os.Stat(searchPath + suffix); err == nil {
			st.SearchBytes += fi.Size()
		}
	}
	st.FileBytes += st.SearchBytes
	if st.Deliveries > 0 {
		st.PerDelivery = float64(st.FileBytes) / float64(st.Deliveries)
		st.PerDeliveryNoIndex = float64(st.FileBytes-st.SearchBytes) / float64(st.Deliveries)
	}
	return st, nil
}

// attachSearchSQL attaches, as "search", the search index file beside the SQLite database at path.
func attachSearchSQL(path string) string {
	return "ATTACH DATABASE '" + strings.ReplaceAll(models.SearchIndexPath(path), "'", "''") + "' AS search"
}
