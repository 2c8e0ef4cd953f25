package models

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Incoming is one received request ready to be stored: its delivery, and for a verified request its
// event (nil when rejected).
type Incoming struct {
	Delivery Delivery
	Event    *Event
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
	ing := &Ingester{store: s, maxBatch: maxBatch, queue: make(chan *ingestJob, maxBatch*4), onCommit: onCommit, done: make(chan struct{})}
	go ing.run()
	return ing
}

// Store commits one incoming request durably and returns what was stored. It waits for the commit
// even if ctx ends, because the answer to the provider must not claim more than the database holds.
func (ing *Ingester) Store(ctx context.Context, in *Incoming) (Stored, error) {
	j := &ingestJob{in: in, done: make(chan struct{})}
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
	err := ing.store.writeTx(func(tx *gorm.DB) error {
		stored := make([]*Delivery, 0, len(batch))
		for _, j := range batch {
			r, d, err := storeIncoming(tx, j.in)
			if err != nil {
				return err
			}
			j.result = r
			stored = append(stored, d)
		}
		// One statement for the batch's search rows: FTS5 flushes its pending terms at every
		// statement, so indexing row by row would write a tiny index segment per delivery.
		if err := indexDeliveries(tx, stored); err != nil {
			return err
		}
		return countDeliveries(tx, stored)
	})
	if err != nil && len(batch) > 1 {
		for _, j := range batch {
			j.err = ing.store.writeTx(func(tx *gorm.DB) error {
				r, d, err := storeIncoming(tx, j.in)
				if err != nil {
					return err
				}
				j.result = r
				if err := indexDeliveries(tx, []*Delivery{d}); err != nil {
					return err
				}
				return countDeliveries(tx, []*Delivery{d})
			})
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

// storeIncoming writes one delivery (and its event unless it is a duplicate) inside tx and returns
// the stored delivery for the search index.
func storeIncoming(tx *gorm.DB, in *Incoming) (Stored, *Delivery, error) {
	d := in.Delivery
	d.ID = 0
	if in.Event != nil {
		ev := *in.Event
		ev.ID = 0
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ev).Error; err != nil {
			return Stored{}, nil, err
		}
		if ev.ID != 0 {
			d.Outcome = OutcomeAccepted
		} else {
			// Already stored: this delivery is a duplicate of the first event.
			var first Event
			if err := tx.Select("id").Where("endpoint_id = ? AND external_id = ?", ev.EndpointID, ev.ExternalID).Take(&first).Error; err != nil {
				return Stored{}, nil, err
			}
			if err := tx.Model(&Event{}).Where("id = ?", first.ID).Update("delivery_count", gorm.Expr("delivery_count + 1")).Error; err != nil {
				return Stored{}, nil, err
			}
			ev.ID = first.ID
			d.Outcome = OutcomeDuplicate
		}
		d.EventID = &ev.ID
	}
	if err := tx.Create(&d).Error; err != nil {
		return Stored{}, nil, err
	}
	r := Stored{DeliveryID: d.ID, Outcome: d.Outcome}
	if d.EventID != nil {
		r.EventID = *d.EventID
	}
	return r, &d, nil
}
