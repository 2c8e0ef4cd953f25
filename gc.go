package main

import (
	"runtime/debug"
)

// The server's live Go heap is small (2–5 MB while webhooks pour in: request buffers, batches in
// flight; SQLite's pages live in the C heap), and Go's default GOGC=100 then collects every few
// megabytes of allocation: about a hundred cycles a second during an ingest burst, each with its
// fixed costs. Letting the heap grow to five times the live data before a cycle raised ingest in
// the bench by about a sixth and the workers' drain by about a quarter, for some 25 MB more peak
// RSS (see README, Performance). The memory limit keeps the heap bounded whatever the live data:
// near it, the collector runs as often as it must.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 64 << 20
)

// tuneGC sets the collector for hooklog serve, leaving alone what the operator set with Go's own
// GOGC and GOMEMLIMIT environment variables.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}
