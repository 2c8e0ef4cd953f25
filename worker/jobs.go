package worker

import (
	"context"
	"errors"
	"time"

	"hooklog/models"
)

// jobLoop runs bulk replay jobs until ctx ends: it claims a running job under a lease, queues its
// events chunk by chunk, and wakes the event claimers after each chunk so replays start at once.
// A job's state lives in the database, so a job left by a stopped or crashed worker is continued by
// whichever worker claims it next.
func (w *Worker) jobLoop(ctx context.Context) {
	w.poll(ctx, nil, func() bool {
		job, err := w.store.ClaimReplayJob(w.jobLease())
		if err != nil {
			w.log.Error("worker: claim replay job", "err", err)
			return false
		}
		if job == nil {
			return false
		}
		w.runJob(ctx, job)
		return true
	})
}

// jobLease is how long a worker holds a job between chunks before another may take it over.
func (w *Worker) jobLease() time.Duration {
	if l := w.cfg.Lease.Duration; l > 0 {
		return l
	}
	return 2 * time.Minute
}

// jobRetries is how many chunks in a row may fail before a job is given up as failed.
const jobRetries = 3

// runJob queues a claimed job's events until it is finished, cancelled, taken over, or ctx ends.
func (w *Worker) runJob(ctx context.Context, job *models.ReplayJob) {
	failures := 0
	for {
		if ctx.Err() != nil {
			// Hand the job back so another worker need not wait for the lease to end.
			if err := w.store.ReleaseReplayJob(job); err != nil {
				w.log.Error("worker: release replay job", "job", job.ID, "err", err)
			}
			return
		}
		n, finished, err := w.store.ReplayJobChunk(job, models.ReplayChunkSize, w.jobLease())
		switch {
		case errors.Is(err, models.ErrJobStopped):
			w.log.Info("worker: replay job stopped", "job", job.ID, "queued", job.Done)
			return
		case err != nil:
			failures++
			w.log.Error("worker: replay job chunk", "job", job.ID, "failures", failures, "err", err)
			if failures >= jobRetries {
				if ferr := w.store.FailReplayJob(job, "The database failed while queueing events; the server log has the details. Start a new replay to continue."); ferr != nil {
					w.log.Error("worker: fail replay job", "job", job.ID, "err", ferr)
				}
				return
			}
			w.pause(ctx)
			continue
		}
		failures = 0
		if n > 0 {
			w.Wake()
		}
		if finished {
			w.log.Info("worker: replay job finished", "job", job.ID, "queued", job.Done, "total", job.Total)
			return
		}
	}
}

// pause waits one poll interval, or less if ctx ends.
func (w *Worker) pause(ctx context.Context) {
	d := w.cfg.PollInterval.Duration
	if d <= 0 {
		d = time.Second
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
