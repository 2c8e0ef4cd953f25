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
	for j := range ing.queue {
		batch = append(batch[:0], j)
	fill:
		for len(batch) < ing.maxBatch {
			select {
			case next, ok := <-ing.queue:
				if !ok {
					break fill
				}
				batch = append(batch, next)
			default:
				break fill
			}
		}
		ing.commit(batch)
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
