// Package worker processes stored events into order status in the background: it claims due events
// in batches, normalises their raw body again, runs the order state machine, and retries failures
// with backoff.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"hooklog/config"
	"hooklog/models"
	"hooklog/webhooks"
)

// Worker processes events in batches: one loop claims due events and runs each batch's events in
// parallel, and a second loop commits each batch in one transaction while the next one runs.
type Worker struct {
	store *models.Store
	cfg   config.Worker
	log   *slog.Logger
	wake  chan struct{}

	// beforeApply, when set (by tests), runs before an event is applied and may fail the run.
	beforeApply func(*models.Claim) error

	mu      sync.Mutex
	running bool
}

// New builds a worker pool; Run starts it.
func New(store *models.Store, cfg config.Worker, log *slog.Logger) *Worker {
	return &Worker{store: store, cfg: cfg, log: log, wake: make(chan struct{}, 1)}
}

// Wake tells the pool that new events are waiting, so it claims them now rather than at the next poll.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Running reports whether the pool is processing (for readiness checks).
func (w *Worker) Running() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running
}

// Run processes events until ctx ends, then finishes every event it has claimed and returns.
func (w *Worker) Run(ctx context.Context) {
	w.setRunning(true)
	defer w.setRunning(false)
	ran := make(chan []run)
	var wg sync.WaitGroup
	wg.Go(func() {
		for runs := range ran {
			w.finish(runs)
		}
	})
	wg.Go(func() { w.jobLoop(ctx) })
	w.claimLoop(ctx, ran)
	close(ran)
	wg.Wait()
}

func (w *Worker) setRunning(v bool) {
	w.mu.Lock()
	w.running = v
	w.mu.Unlock()
}

// batch is how many events a claim takes; 0 in the config means the default. While webhooks are
// arriving it takes at most busyBatch: a batch holds SQLite's single writer for its whole commit,
// and the webhooks waiting behind it wait that long for their acknowledgement.
func (w *Worker) batch() int {
	n := w.cfg.Batch
	if n <= 0 {
		n = config.Default().Worker.Batch
	}
	if w.store.IngestBusy() {
		n = min(n, busyBatch)
	}
	return n
}

// busyBatch is the largest batch claimed while webhooks are being stored. Measured with
// BenchmarkServerLatency (2,000 deliveries/s in-process): batches of 16 instead of 64 halved the
// median acknowledgement time and cut the p99 by a third.
const busyBatch = 16

// claimLoop claims due events a batch at a time, runs them, and hands them on to be committed.
// Claimed events are always run and handed on, even when ctx ends meanwhile, so a claim is never
// abandoned by a graceful stop.
func (w *Worker) claimLoop(ctx context.Context, ran chan<- []run) {
	w.poll(ctx, w.wake, func() bool {
		claims, err := w.store.ClaimEvents(w.batch(), w.cfg.Lease.Duration)
		if err != nil {
			w.log.Error("worker: claim events", "err", err)
			return false
		}
		if len(claims) == 0 {
			return false
		}
		ran <- w.runBatch(claims)
		return true
	})
}

// poll runs step until it reports that nothing more is waiting, each time wake fires (nil: never)
// or the poll interval has passed, until ctx ends.
func (w *Worker) poll(ctx context.Context, wake <-chan struct{}, step func() bool) {
	interval := w.cfg.PollInterval.Duration
	if interval <= 0 {
		interval = time.Second
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer.C:
		}
		for ctx.Err() == nil && step() {
		}
		timer.Reset(interval)
	}
}

// run is one claimed event's run, waiting to be committed or recorded as failed.
type run struct {
	claim  models.Claim
	result models.RunResult
	err    error
}

// processBatch runs claimed events and commits them, as the pool does.
func (w *Worker) processBatch(claims []models.Claim) {
	w.finish(w.runBatch(claims))
}

// runBatch runs claimed events, cfg.Concurrency at a time. What runs share is read once: each
// endpoint for the batch, and the first deliveries of sourceChunk events per query. Reading the
// sources a chunk at a time bounds the bodies held at once (a body may be a megabyte); each body is
// dropped as soon as its run has normalised it.
func (w *Worker) runBatch(claims []models.Claim) []run {
	runs := make([]run, len(claims))
	endpoints := map[uint]endpointRun{}
	for i, c := range claims {
		runs[i].claim = c
		if _, ok := endpoints[c.EndpointID]; !ok {
			endpoints[c.EndpointID] = w.endpoint(c.EndpointID)
		}
	}
	workers := max(w.cfg.Concurrency, 1)
	for start := 0; start < len(runs); start += sourceChunk {
		chunk := runs[start:min(start+sourceChunk, len(runs))]
		ids := make([]uint, len(chunk))
		for i := range chunk {
			ids[i] = chunk[i].claim.ID
		}
		srcs, srcErr := w.store.EventSources(ids)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range min(workers, len(chunk)) {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < len(chunk); i = int(next.Add(1) - 1) {
					r := &chunk[i]
					if r.err = srcErr; r.err == nil {
						src := srcs[r.claim.ID]
						r.result, r.err = w.run(&r.claim, endpoints[r.claim.EndpointID], src)
						if src != nil {
							src.Body = nil
						}
					}
				}
			})
		}
		wg.Wait()
	}
	return runs
}

// sourceChunk is how many events' first deliveries one query reads.
const sourceChunk = 8

// endpointRun is what the runs of one endpoint's events share: its profile as now configured.
type endpointRun struct {
	profile    webhooks.Profile
	cumulative bool
	err        error
}

func (w *Worker) endpoint(id uint) endpointRun {
	ep, err := w.store.EndpointByID(id)
	if err != nil {
		return endpointRun{err: err}
	}
	profile, err := ep.Profile()
	if err != nil {
		return endpointRun{err: models.Permanent(err)}
	}
	// Stripe's refund amounts are running totals.
	return endpointRun{profile: profile, cumulative: ep.Provider == "stripe"}
}

// run normalises the event's first delivery with the endpoint's current settings.
func (w *Worker) run(c *models.Claim, ep endpointRun, src *models.Delivery) (models.RunResult, error) {
	if ep.err != nil {
		return models.RunResult{}, ep.err
	}
	if src == nil {
		return models.RunResult{}, fmt.Errorf("worker: first delivery of event %d: %w", c.ID, models.ErrNotFound)
	}
	n, err := ep.profile.Normalise(src.Headers, src.Body)
	if err != nil {
		return models.RunResult{}, models.Permanent(err)
	}
	if w.beforeApply != nil {
		if err := w.beforeApply(c); err != nil {
			return models.RunResult{}, err
		}
	}
	return models.RunResult{Normalised: n, Cumulative: ep.cumulative}, nil
}

// finish commits a batch's successful runs together, then records each failure on its own.
func (w *Worker) finish(runs []run) {
	items := make([]models.Completion, 0, len(runs))
	at := make([]int, 0, len(runs))
	for i := range runs {
		if runs[i].err == nil {
			items = append(items, models.Completion{Claim: &runs[i].claim, Run: runs[i].result})
			at = append(at, i)
		}
	}
	for j, done := range w.store.CompleteEvents(items) {
		runs[at[j]].err = done.Err
	}
	for i := range runs {
		if runs[i].err != nil {
			w.fail(&runs[i].claim, runs[i].err)
		}
	}
}

// fail records a failed run: a retry after a backoff, or dead, or (permanent) failed until a replay.
func (w *Worker) fail(c *models.Claim, err error) {
	if errors.Is(err, models.ErrLostClaim) {
		w.log.Warn("worker: event taken over by another worker", "event", c.ID)
		return
	}
	retryAt := w.store.Now().Add(Backoff(c.Attempts, w.cfg.BaseBackoff.Duration, w.cfg.MaxBackoff.Duration))
	status, ferr := w.store.FailEvent(c, err, &retryAt, w.cfg.MaxAttempts)
	if ferr != nil {
		w.log.Error("worker: record failure", "event", c.ID, "err", ferr, "cause", err)
		return
	}
	w.log.Warn("worker: event failed", "event", c.ID, "status", status, "attempt", c.Attempts, "err", err)
}

// Backoff is the wait before retry number attempt: exponential from base, capped at max, with jitter
// over the upper half so that failures spread out instead of retrying in lockstep.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	if base <= 0 {
		base = time.Second
	}
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	if max > 0 && d > max {
		d = max
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}
