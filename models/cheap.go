package models

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
static void hooklog_limit_arenas(int n) { mallopt(M_ARENA_MAX, n); }
static void hooklog_trim(void) { malloc_trim(0); }
#else
static void hooklog_limit_arenas(int n) { (void)n; }
static void hooklog_trim(void) {}
#endif
*/
import "C"

// SQLite allocates with the C library's malloc, from whichever OS thread the Go runtime ran the cgo
// call on. glibc gives each such thread an arena of its own (up to eight per core) and keeps what
// is freed in each for reuse, so under ingest the server held 40-60 MB of C heap with under 20 MB
// of it in use, and its peak resident memory passed 150 MB. The store caps the arenas and hands
// freed C memory back to the OS once a burst of webhooks has passed. Elsewhere than glibc both are
// no-ops.

// cArenas is how many malloc arenas SQLite's allocations share: two, so that the ingest writer and
// one other connection do not wait on each other's malloc lock.
const cArenas = 2

// limitCArenas caps the C library's malloc arenas (see cArenas) for threads that have none yet.
func limitCArenas() { C.hooklog_limit_arenas(cArenas) }

// trimCHeap returns the C heap's free pages to the OS.
func trimCHeap() { C.hooklog_trim() }
