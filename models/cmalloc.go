package models

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
static void hooklog_trim(void) { malloc_trim(0); }
#else
static void hooklog_trim(void) {}
#endif

// The SQLite that github.com/mattn/go-sqlite3 compiles into the binary; sqlite3_config is variadic,
// which cgo cannot call, hence the wrapper.
extern int sqlite3_config(int, ...);
static int hooklog_sqlite_no_memstatus(void) { return sqlite3_config(9, 0); } // 9: SQLITE_CONFIG_MEMSTATUS
extern long long sqlite3_memory_used(void);
*/
import "C"

// trimCHeap returns the C heap's free pages to the OS. SQLite allocates with the C library's malloc,
// from whichever OS thread the Go runtime ran the cgo call on, and glibc keeps what is freed in each
// thread's arena for reuse: through a burst of webhooks the server held 50-70 MB of C heap with
// under 20 MB of it in use. The checkpointer trims once a burst has passed, because a trim takes the
// allocator's locks for up to tens of milliseconds. (Capping the arenas instead, at one or two,
// cost a fifth of ingest throughput in allocation waits.) Elsewhere than glibc it does nothing.
func trimCHeap() { C.hooklog_trim() }

// SQLite keeps memory statistics by default (SQLITE_DEFAULT_MEMSTATUS=1, which go-sqlite3 leaves
// on): every allocation and free then takes one process-wide mutex, which the ingest writer, the
// search indexer and the readers all contend for. Hooklog reads none of those statistics, so they
// are turned off before SQLite initializes, on the first connection. (A setting made after that is
// refused with SQLITE_MISUSE and changes nothing, so an error here is harmless.)
func init() { sqliteStatsOff = C.hooklog_sqlite_no_memstatus() == 0 }

// sqliteStatsOff says SQLite accepted the setting above.
var sqliteStatsOff bool

// sqliteMemoryUsed is SQLite's count of the memory it holds: 0 while its statistics are off.
func sqliteMemoryUsed() int64 { return int64(C.sqlite3_memory_used()) }
