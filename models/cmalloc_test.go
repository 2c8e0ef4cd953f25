package models

import (
	"path/filepath"
	"testing"
)

// TestSQLiteMemoryStatisticsOff checks that SQLite took the setting before its first connection:
// with statistics on, every allocation takes a process-wide mutex and the count below is not 0.
func TestSQLiteMemoryStatisticsOff(t *testing.T) {
	s, err := Open(Options{DSN: filepath.Join(t.TempDir(), "hooklog.db"), Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.EnsureMerchant("Stats shop"); err != nil {
		t.Fatal(err)
	}
	if !sqliteStatsOff {
		t.Error("sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) was refused: SQLite initialized before the models package")
	}
	if n := sqliteMemoryUsed(); n != 0 {
		t.Errorf("SQLite counts %d bytes in use: its memory statistics are on", n)
	}
}
