package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// sqliteConnector opens connections to one SQLite file and runs pragmas (and, for the main
// database, the search index's ATTACH) as each connection opens; the DSN has no parameters for
// them.
type sqliteConnector struct {
	driver *sqlite3.SQLiteDriver
	dsn    string
}

func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) { return c.driver.Open(c.dsn) }
func (c sqliteConnector) Driver() driver.Driver                        { return c.driver }

// sqlitePool opens a pool of connections to dsn that keep temporary data in memory (the statement
// journals of the ingest transaction would otherwise go to temporary files) and truncate a WAL that
// a burst grew past 64 MiB once it is checkpointed, and that then run onConnect.
func sqlitePool(dsn, onConnect string) *sql.DB {
	return sql.OpenDB(sqliteConnector{dsn: dsn, driver: &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = 67108864; "+onConnect, nil)
		return err
	}}})
}

// SearchIndexPath is the file that holds the SQLite search index of the database at path, beside
// it: data/hooklog.db has its index in data/hooklog-search.db.
func SearchIndexPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-search" + ext
}

// attachSearchSQL attaches the search index file read-only, as the schema "search". Read-only
// matters: SQLite's BEGIN IMMEDIATE takes the write lock of every attached database it may write,
// so a writable attachment would make every write to the main database wait for the indexer.
func attachSearchSQL(searchPath string) (string, error) {
	abs, err := filepath.Abs(searchPath)
	if err != nil {
		return "", err
	}
	uri := (&url.URL{Scheme: "file", Path: abs, RawQuery: "mode=ro"}).String()
	return "ATTACH DATABASE '" + strings.ReplaceAll(uri, "'", "''") + "' AS search", nil
}
