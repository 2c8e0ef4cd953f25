package models

import (
	"database/sql"
	"sync"

	"github.com/mattn/go-sqlite3"
)

var registerDriver sync.Once

// sqliteDriver registers (once) and names a SQLite driver whose connections keep temporary data in
// memory: the statement journals of the ingest transaction would otherwise go to temporary files.
// The DSN has no parameter for this pragma, so it runs as each connection opens.
func sqliteDriver() string {
	const name = "sqlite3_hooklog"
	registerDriver.Do(func() {
		sql.Register(name, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA temp_store = MEMORY", nil)
			return err
		}})
	})
	return name
}
