package models

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Incoming is one received request ready to be stored: its delivery, and for a verified request its
// event (nil when rejected).
type Incoming struct {
	Delivery Delivery
	Event    *Event

	// row is the delivery's column values and search text, computed by Ingester.Store in the
	// caller's goroutine so that the single writer only runs statements.
	row incomingRow
}

// Stored is what storing an Incoming produced.
type Stored struct {
	DeliveryID uint
	EventID    uint
	Outcome    Outcome
}

// ErrIngestClosed means the server is shutting down and stores nothing more.
var ErrIngestClosed = errors.New("ingest is shutting down")

// Ingester stores deliveries with group commit: requests that arrive while a commit runs wait together
// and go into the next transaction, and each is answered only after that transaction commits. One
// fsync then serves many requests, which is what lets ingest outrun one-transaction-per-request.
type Ingester struct {
	store    *Store
	maxBatch int
	queue    chan *ingestJob
	onCommit func()
	stmts    *ingestStatements

	mu     sync.RWMutex
	closed bool
	done   chan struct{}
}

type ingestJob struct {
	in     *Incoming
	result Stored
	err    error
	done   chan struct{}
}

// NewIngester starts the writer goroutine. onCommit (may be nil) runs after each commit that stored
// a new event, to wake the workers.
func NewIngester(s *Store, maxBatch int, onCommit func()) *Ingester {
	if maxBatch < 1 {
		maxBatch = 1
	}
	ing := &Ingester{store: s, maxBatch: maxBatch, queue: make(chan *ingestJob, maxBatch*4), onCommit: onCommit,
		stmts: &ingestStatements{}, done: make(chan struct{})}
	go ing.run()
	return ing
}

// While webhooks arrive steadily (the last commit ended less than lingerAfter ago), the writer waits
// up to lingerFor for a batch of lingerBatch before it commits. Every commit writes each page it
// dirtied, in the 11 indexes of the delivery and event rows, to the WAL, however few rows it holds:
// at 2,000 webhooks/s the writer otherwise committed about 1.9 of them at a time (1,060 commits a
// second; 420 with the wait), so the WAL filled and the checkpointer held the writers back for
// 12-17 ms (see startCheckpointer) twice a second, which made most of the p99. Measured in-process,
// three alternating runs of go test -tags sqlite_fts5 -run '^$' -bench 'ServerIngest|ServerLatency'
// -benchtime 20000x ./bench: at 2,000/s the p99 went from 24.9-26.7 to 21.3-22.9 ms and the median
// from 2.5-2.6 to 3.4-3.6 ms; saturated ingest from 4,929-5,612 to 5,247-5,771 ack/s. A webhook
// that arrives alone is committed at once.
const (
	lingerBatch = 8
	lingerFor   = time.Millisecond
	lingerAfter = 2 * time.Millisecond
)

// Store commits one incoming request durably and returns what was stored. It waits for the commit
// even if ctx ends, because the answer to the provider must not claim more than the database holds.
func (ing *Ingester) Store(ctx context.Context, in *Incoming) (Stored, error) {
	if err := in.prepare(ing.store.Postgres()); err != nil {
		return Stored{}, fmt.Errorf("store: ingest: %w", err)
	}
	j := &ingestJob{in: in, done: make(chan struct{})}
	ing.store.ingestWaiting.Add(1)
	ing.store.lastIngest.Store(time.Now().UnixNano())
	defer ing.store.ingestWaiting.Add(-1)
	ing.mu.RLock()
	if ing.closed {
		ing.mu.RUnlock()
		return Stored{}, ErrIngestClosed
	}
	select {
	case ing.queue <- j:
	case <-ctx.Done():
		ing.mu.RUnlock()
		return Stored{}, ctx.Err()
	}
	ing.mu.RUnlock()
	<-j.done
	return j.result, j.err
}

// Close stops accepting requests, stores everything already queued, and returns when done.
func (ing *Ingester) Close() {
	ing.mu.Lock()
	if !ing.closed {
		ing.closed = true
		close(ing.queue)
	}
	ing.mu.Unlock()
	<-ing.done
	ing.stmts.close()
}

func (ing *Ingester) run() {
	defer close(ing.done)
	batch := make([]*ingestJob, 0, ing.maxBatch)
	var lastCommit time.Time
	linger := time.NewTimer(lingerFor)
	linger.Stop()
	for j := range ing.queue {
		batch = append(batch[:0], j)
		var wait <-chan time.Time // set while lingering for a fuller batch
		if time.Since(lastCommit) < lingerAfter {
			linger.Reset(lingerFor)
			wait = linger.C
		}
	fill:
		for len(batch) < ing.maxBatch {
			var next *ingestJob
			var ok bool
			select {
			case next, ok = <-ing.queue:
			default:
				if wait == nil || len(batch) >= lingerBatch {
					break fill
				}
				select {
				case next, ok = <-ing.queue:
				case <-wait:
					break fill
				}
			}
			if !ok {
				break fill
			}
			batch = append(batch, next)
		}
		linger.Stop() // since Go 1.23 a stopped timer's channel holds nothing stale
		ing.commit(batch)
		lastCommit = time.Now()
		// The reused array would otherwise keep the last batch's request bodies alive until overwritten.
		clear(batch)
	}
}

// commit stores a batch in one transaction. If the batch fails as a whole, each request is retried
// alone so one bad request cannot fail its neighbours.
func (ing *Ingester) commit(batch []*ingestJob) {
	err := ing.store.writeIngest(ing.stmts, batch)
	if err != nil && len(batch) > 1 {
		for _, j := range batch {
			j.err = ing.store.writeIngest(ing.stmts, []*ingestJob{j})
		}
	} else {
		for _, j := range batch {
			j.err = err
		}
	}
	newEvents := false
	for _, j := range batch {
		if j.err != nil {
			j.err = fmt.Errorf("store: ingest: %w", j.err)
		} else if j.result.Outcome == OutcomeAccepted {
			newEvents = true
		}
		close(j.done)
	}
	if newEvents && ing.onCommit != nil {
		ing.onCommit()
	}
}
