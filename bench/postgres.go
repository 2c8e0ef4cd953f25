package main

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"hooklog/testapp/testdb"

	// The pgx driver behind gorm.io/driver/postgres, here through database/sql.
	_ "github.com/jackc/pgx/v5/stdlib"
)

// pgDatabase is the fresh PostgreSQL database of one run, created on the server of an admin DSN.
type pgDatabase struct {
	admin, Name, DSN string
	// Version is the server's version; Settings are the server settings that decide what an
	// acknowledged webhook costs (a cluster without fsync would flatter every figure).
	Version  string
	Settings map[string]string
}

// durabilitySettings are the server settings the results report.
var durabilitySettings = []string{"fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_connections"}

// benchDatabaseName names the database of a run started at t.
func benchDatabaseName(t time.Time) string {
	return "hooklog_bench_" + t.UTC().Format("20060102_150405")
}

// createPostgres creates the database name on the server admin connects to and reads the server's
// version and durability settings.
func createPostgres(admin, name string) (*pgDatabase, error) {
	dsn, err := testdb.WithDatabase(admin, name)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	defer db.Close()
	p := &pgDatabase{admin: admin, Name: name, DSN: dsn, Settings: map[string]string{}}
	if err := db.QueryRow("SHOW server_version").Scan(&p.Version); err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	for _, s := range durabilitySettings {
		var v string
		if err := db.QueryRow("SELECT current_setting($1)", s).Scan(&v); err != nil {
			return nil, fmt.Errorf("postgres: read %s: %w", s, err)
		}
		p.Settings[s] = v
	}
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		return nil, fmt.Errorf("postgres: create database %s: %w", name, err)
	}
	return p, nil
}

// Flattering says which durability settings are off, so that the figures overstate what a real
// deployment would see; empty when none is.
func (p *pgDatabase) Flattering() string {
	var off []string
	for _, s := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		if p.Settings[s] == "off" {
			off = append(off, s+"=off")
		}
	}
	return strings.Join(off, ", ")
}

// drop removes the database, closing any connection still open to it.
func (p *pgDatabase) drop() error {
	db, err := sql.Open("pgx", p.admin)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer db.Close()
	if _, err := db.Exec("DROP DATABASE IF EXISTS " + p.Name + " WITH (FORCE)"); err != nil {
		return fmt.Errorf("postgres: drop database %s: %w", p.Name, err)
	}
	return nil
}

// measurePostgresStorage measures what the database at dsn costs per stored delivery: every table of
// its schema with indexes and TOAST (the write-ahead log is not counted), and the search index
// (delivery_search and its GIN index) within that. No server need be stopped: the figures are
// the files as they stand, dead row versions that vacuum has not reclaimed included.
func measurePostgresStorage(dsn string) (storageResult, error) {
	st := storageResult{SearchMethod: "pg_total_relation_size"}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return st, err
	}
	defer db.Close()
	var bodies sql.NullInt64
	if err := db.QueryRow("SELECT count(*), sum(body_size) FROM deliveries").Scan(&st.Deliveries, &bodies); err != nil {
		return st, fmt.Errorf("count deliveries: %w", err)
	}
	if st.Deliveries > 0 {
		st.AvgBodyBytes = float64(bodies.Int64) / float64(st.Deliveries)
	}
	err = db.QueryRow(`SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'm')`).Scan(&st.FileBytes)
	if err != nil {
		return st, fmt.Errorf("measure tables: %w", err)
	}
	if err := db.QueryRow("SELECT pg_total_relation_size('delivery_search')").Scan(&st.SearchBytes); err != nil {
		return st, fmt.Errorf("measure search index: %w", err)
	}
	if st.Deliveries > 0 {
		st.PerDelivery = float64(st.FileBytes) / float64(st.Deliveries)
		st.PerDeliveryNoIndex = float64(st.FileBytes-st.SearchBytes) / float64(st.Deliveries)
	}
	return st, nil
}
