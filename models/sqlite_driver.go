package models

import (
	"database/sql"
	"sync"

	"github.com/mattn/go-sqlite3"
)

var registerDriver sync.Once

// sqliteDriver registers (once) and names a SQLite driver whose connections keep temporary data in
// memory (the statement journals of the ingest transaction would otherwise go to temporary files),
// leave checkpoints to the store's checkpointer (see startCheckpointer), and truncate a WAL that a
// burst grew back to 64 MiB once it is checkpointed. The DSN has no parameters for these pragmas, so
// they run as each connection opens.
func sqliteDriver() string {
	const name = "sqlite3_hooklog"
	registerDriver.Do(func() {
		sql.Register(name, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864", nil)
			return err
		}})
	})
	return name
}
