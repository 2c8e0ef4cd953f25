// Package worker processes stored events into order status in the background: it claims due events,
// normalises their raw body again, runs the order state machine, and retries failures with backoff.
package worker

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"hooklog/config"
	"hooklog/models"
)

// Worker is a pool of processors fed by one claiming loop.
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
	jobs := make(chan models.Claim)
	var wg sync.WaitGroup
	for range w.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				w.processOne(&c)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.jobLoop(ctx)
	}()
	w.claimLoop(ctx, jobs)
	close(jobs)
	wg.Wait()
}

func (w *Worker) setRunning(v bool) {
	w.mu.Lock()
	w.running = v
	w.mu.Unlock()
}

// claimLoop claims due events and hands them out; claimed events are always handed out, even when
// ctx ends meanwhile, so a claim is never abandoned by a graceful stop.
func (w *Worker) claimLoop(ctx context.Context, jobs chan<- models.Claim) {
	poll := w.cfg.PollInterval.Duration
	if poll <= 0 {
		poll = time.Second
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-timer.C:
		}
		for ctx.Err() == nil {
			claims, err := w.store.ClaimEvents(w.cfg.Concurrency*2, w.cfg.Lease.Duration)
			if err != nil {
				w.log.Error("worker: claim events", "err", err)
				break
			}
			for _, c := range claims {
				jobs <- c
			}
			if len(claims) == 0 {
				break
			}
		}
		timer.Reset(poll)
	}
}

// processOne runs one claimed event to processed, failed or dead.
func (w *Worker) processOne(c *models.Claim) {
	res, err := w.run(c)
	if err == nil {
		_, err = w.store.CompleteEvent(c, res)
	}
	if err == nil {
		return
	}
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

// run normalises the event's first delivery with the endpoint's current settings.
func (w *Worker) run(c *models.Claim) (models.RunResult, error) {
	ep, err := w.store.EndpointByID(c.EndpointID)
	if err != nil {
		return models.RunResult{}, err
	}
	profile, err := ep.Profile()
	if err != nil {
		return models.RunResult{}, models.Permanent(err)
	}
	src, err := w.store.EventSource(c.ID)
	if err != nil {
		return models.RunResult{}, err
	}
	n, err := profile.Normalise(src.Headers, src.Body)
	if err != nil {
		return models.RunResult{}, models.Permanent(err)
	}
	if w.beforeApply != nil {
		if err := w.beforeApply(c); err != nil {
			return models.RunResult{}, err
		}
	}
	return models.RunResult{Normalised: n, Cumulative: ep.Provider == "stripe"}, nil
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
