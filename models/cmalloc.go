package models

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
static void hooklog_trim(void) { malloc_trim(0); }
#else
static void hooklog_trim(void) {}
#endif
*/
import "C"

// trimCHeap returns the C heap's free pages to the OS. SQLite allocates with the C library's malloc,
// from whichever OS thread the Go runtime ran the cgo call on, and glibc keeps what is freed in each
// thread's arena for reuse: through a burst of webhooks the server held 50-70 MB of C heap with
// under 20 MB of it in use. The checkpointer trims once a burst has passed, because a trim takes the
// allocator's locks for up to tens of milliseconds. (Capping the arenas instead, at one or two,
// cost a fifth of ingest throughput in allocation waits.) Elsewhere than glibc it does nothing.
func trimCHeap() { C.hooklog_trim() }
