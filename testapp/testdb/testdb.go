// Package testdb gives a test a fresh, empty database: a SQLite file in the test's temporary
// directory, or, when HOOKLOG_TEST_POSTGRES holds the DSN of a PostgreSQL server (`eval
// "$(.ci/pg-start)"` starts one), a new database on that server, dropped when the test ends. It
// imports nothing of Hooklog, so every package's tests may use it.
package testdb

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	// The pgx driver behind gorm.io/driver/postgres, here through database/sql.
	_ "github.com/jackc/pgx/v5/stdlib"
)

// EnvPostgres names the environment variable holding the admin DSN of the PostgreSQL server to
// test on.
const EnvPostgres = "HOOKLOG_TEST_POSTGRES"

// Postgres reports whether tests run on PostgreSQL.
func Postgres() bool { return os.Getenv(EnvPostgres) != "" }

// DSN returns the DSN of a fresh database for t: on PostgreSQL when HOOKLOG_TEST_POSTGRES is set,
// else a SQLite file named name in t's temporary directory.
func DSN(t testing.TB, name string) string {
	t.Helper()
	if !Postgres() {
		return filepath.Join(t.TempDir(), name)
	}
	return CreatePostgres(t)
}

// CreatePostgres creates a database named hooklog_t_<random> on the server HOOKLOG_TEST_POSTGRES
// names and returns its DSN; the database is dropped, with any connections still open to it, when
// the test ends. It fails the test when HOOKLOG_TEST_POSTGRES is not set.
func CreatePostgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		t.Fatalf("testdb: %s is not set", EnvPostgres)
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "hooklog_t_" + hex.EncodeToString(b)
	dsn, err := WithDatabase(admin, name)
	if err != nil {
		t.Fatalf("testdb: %s: %v", EnvPostgres, err)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("testdb: connect to %s: %v", EnvPostgres, err)
	}
	defer db.Close()
	// Copying the template's files is quicker than writing them through the WAL (PostgreSQL 15's
	// default); older servers know only the copy and refuse the option.
	if _, err := db.Exec("CREATE DATABASE " + name + " STRATEGY FILE_COPY"); err != nil {
		if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatalf("testdb: create database %s: %v", name, err)
		}
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			t.Errorf("testdb: connect to %s: %v", EnvPostgres, err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("testdb: drop database %s: %v", name, err)
		}
	})
	return dsn
}

// WithDatabase returns the DSN dsn with its database replaced by name, for a URL
// (postgres://user@host/db?opts) or a keyword DSN (host=... dbname=...). The bench uses it too.
func WithDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	var kept []string
	for _, f := range strings.Fields(dsn) {
		if !strings.HasPrefix(f, "dbname=") {
			kept = append(kept, f)
		}
	}
	if len(kept) == 0 || !strings.Contains(dsn, "=") {
		return "", fmt.Errorf("%q is neither a postgres:// URL nor a keyword DSN", dsn)
	}
	return strings.Join(append(kept, "dbname="+name), " "), nil
}
