package models

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// JobStatus is where a bulk replay job is. Stored values: never rename.
type JobStatus string

const (
	// JobRunning is waiting for, or being worked by, a worker.
	JobRunning JobStatus = "running"
	// JobCancelled was stopped by a person; the events it had queued stay queued.
	JobCancelled JobStatus = "cancelled"
	// JobFinished queued every event it selected.
	JobFinished JobStatus = "finished"
	// JobFailed could not run (its stored selection is unreadable).
	JobFailed JobStatus = "failed"
)

// AuditBulkReplayCancel is the audit action of cancelling a bulk replay. Stored value: never rename.
const AuditBulkReplayCancel = "event.bulk_replay.cancel"

// ReplayChunkSize is how many events one step of a bulk replay queues, in one transaction.
const ReplayChunkSize = 100

// MaxSelectedEvents caps an explicit selection, which travels in one form post.
const MaxSelectedEvents = 1000

// JobFilter is the delivery list filter a bulk replay was started from: it selects the failed and
// dead events that have a delivery matching it.
type JobFilter struct {
	EndpointID uint      `json:"endpoint_id,omitempty"`
	Outcome    Outcome   `json:"outcome,omitempty"`
	EventType  string    `json:"event_type,omitempty"`
	Status     Status    `json:"status,omitempty"`
	Mark       Mark      `json:"mark,omitempty"`
	Since      time.Time `json:"since,omitzero"`
	Until      time.Time `json:"until,omitzero"`
}

// JobFilterOf keeps the selecting part of a delivery list filter.
func JobFilterOf(f DeliveryFilter) JobFilter {
	return JobFilter{EndpointID: f.EndpointID, Outcome: f.Outcome, EventType: f.EventType, Status: f.Status, Mark: f.Mark,
		Since: f.Since, Until: f.Until}
}

// ReplayJob is a bulk replay: a selection of a merchant's events that a worker queues for replay in
// chunks, recording its progress so that it survives restarts and shows live on the dashboard.
type ReplayJob struct {
	ID         uint   `gorm:"primaryKey"`
	MerchantID uint   `gorm:"not null;index:idx_replay_jobs_merchant"`
	CreatedBy  string `gorm:"not null"`
	// Filter selects the events by their deliveries; nil when EventIDs lists them.
	Filter   *JobFilter `gorm:"serializer:json"`
	EventIDs []uint     `gorm:"serializer:json"`
	// MaxEventID bounds a filter job to the events that existed when it was created.
	MaxEventID uint `gorm:"not null;default:0"`
	// Total is how many events the selection matched when the job was created.
	Total int `gorm:"not null;default:0"`
	// Done is how many events the job has queued so far.
	Done   int       `gorm:"not null;default:0"`
	Status JobStatus `gorm:"not null;index:idx_replay_jobs_claim,priority:1"`
	// Cursor is the last event id the job went past; the next chunk continues above it.
	Cursor uint `gorm:"not null;default:0"`
	// LeaseUntil and LeaseToken say which worker holds the job, and until when.
	LeaseUntil  *time.Time `gorm:"index:idx_replay_jobs_claim,priority:2"`
	LeaseToken  string     `gorm:"not null;default:''"`
	Error       string     `gorm:"not null;default:''"`
	CancelledBy string     `gorm:"not null;default:''"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
	FinishedAt  *time.Time
}

// Skipped is how many selected events a finished job did not queue because they changed meanwhile
// (replayed by hand, processed, or being processed).
func (j *ReplayJob) Skipped() int {
	if j.Status != JobFinished {
		return 0
	}
	return max(j.Total-j.Done, 0)
}

// Actor is who the replays of this job are attributed to in the event's attempt timeline.
func (j *ReplayJob) Actor() string { return fmt.Sprintf("%s (replay job %d)", j.CreatedBy, j.ID) }

// ReplayJobEvent records an event a job queued, so the job can report how its events fared.
type ReplayJobEvent struct {
	JobID   uint `gorm:"primaryKey;autoIncrement:false"`
	EventID uint `gorm:"primaryKey;autoIncrement:false"`
}

var (
	// ErrNothingToReplay means a bulk replay's selection matched no event.
	ErrNothingToReplay = errors.New("no event matches; there is nothing to replay")
	// ErrJobNotRunning means the job already ended.
	ErrJobNotRunning = errors.New("the replay job has already ended")
	// ErrJobStopped tells the worker running a job to stop: it was cancelled, or its lease went to
	// another worker. The chunk in hand is rolled back.
	ErrJobStopped = errors.New("replay job stopped: cancelled, or taken over after its lease ended")
	// ErrTooManySelected means an explicit selection is over MaxSelectedEvents.
	ErrTooManySelected = fmt.Errorf("select at most %d events, or replay by filter", MaxSelectedEvents)
)

// replayable selects a merchant's failed and dead events with a delivery matching f.
func replayable(tx *gorm.DB, merchantID uint, f JobFilter) *gorm.DB {
	q := tx.Model(&Event{}).Where("events.merchant_id = ? AND events.status IN ?", merchantID, []Status{StatusFailed, StatusDead})
	if f.Status != "" {
		q = q.Where("events.status = ?", f.Status)
	}
	if f.Mark != "" {
		q = q.Where("events.mark = ?", f.Mark)
	}
	if f.EndpointID != 0 {
		q = q.Where("events.endpoint_id = ?", f.EndpointID)
	}
	sub, args := "", []any{}
	if f.Outcome != "" {
		sub, args = sub+" AND d.outcome = ?", append(args, f.Outcome)
	}
	if f.EventType != "" {
		sub, args = sub+" AND d.event_type = ?", append(args, f.EventType)
	}
	if !f.Since.IsZero() {
		sub, args = sub+" AND d.received_at >= ?", append(args, f.Since)
	}
	if !f.Until.IsZero() {
		sub, args = sub+" AND d.received_at < ?", append(args, f.Until)
	}
	if sub != "" {
		// Every event has its accepted delivery, so without delivery conditions the test is moot.
		q = q.Where("EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id"+sub+")", args...)
	}
	return q
}

// CountReplayable counts a merchant's failed and dead events with a delivery matching f.
func (s *Store) CountReplayable(merchantID uint, f JobFilter) (int64, error) {
	var n int64
	if err := replayable(s.DB, merchantID, f).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: count replayable events: %w", err)
	}
	return n, nil
}

// OwnEventIDs returns which of ids are events of the merchant, sorted and without repeats.
func (s *Store) OwnEventIDs(merchantID uint, ids []uint) ([]uint, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) > MaxSelectedEvents {
		return nil, ErrTooManySelected
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var own []uint
	err := s.DB.Model(&Event{}).Where("merchant_id = ? AND id IN ?", merchantID, ids).Order("id").Pluck("id", &own).Error
	if err != nil {
		return nil, fmt.Errorf("store: select events: %w", err)
	}
	return own, nil
}

// CreateReplayJob records a bulk replay of either the merchant's events among ids (when filter is
// nil) or its failed and dead events matching filter, counting them now. The job waits, running, for
// a worker to pick it up.
func (s *Store) CreateReplayJob(merchantID uint, createdBy string, filter *JobFilter, ids []uint) (*ReplayJob, error) {
	now := s.Now()
	j := ReplayJob{MerchantID: merchantID, CreatedBy: createdBy, Filter: filter, Status: JobRunning, CreatedAt: now, UpdatedAt: now}
	if filter == nil {
		own, err := s.OwnEventIDs(merchantID, ids)
		if err != nil {
			return nil, err
		}
		j.EventIDs, j.Total = own, len(own)
	}
	err := s.writeTx(func(tx *gorm.DB) error {
		if filter != nil {
			var n int64
			if err := replayable(tx, merchantID, *filter).Count(&n).Error; err != nil {
				return err
			}
			var maxID *uint
			if err := tx.Model(&Event{}).Select("MAX(id)").Scan(&maxID).Error; err != nil {
				return err
			}
			if maxID != nil {
				j.MaxEventID = *maxID
			}
			j.Total = int(n)
		}
		if j.Total == 0 {
			return ErrNothingToReplay
		}
		return tx.Create(&j).Error
	})
	if errors.Is(err, ErrNothingToReplay) || errors.Is(err, ErrTooManySelected) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("store: create replay job: %w", err)
	}
	return &j, nil
}

// ReplayJob loads one of a merchant's replay jobs.
func (s *Store) ReplayJob(merchantID, id uint) (*ReplayJob, error) {
	var j ReplayJob
	if err := s.DB.Where("merchant_id = ?", merchantID).Take(&j, id).Error; err != nil {
		return nil, notFound(fmt.Sprintf("replay job %d", id), err)
	}
	return &j, nil
}

// ReplayJobs lists a merchant's replay jobs newest first, a page at a time.
func (s *Store) ReplayJobs(merchantID uint, cursor Cursor, limit int) ([]ReplayJob, Cursor, error) {
	before, err := cursor.ID()
	if err != nil {
		return nil, "", err
	}
	limit = clampLimit(limit)
	q := s.DB.Where("merchant_id = ?", merchantID)
	if before != 0 {
		q = q.Where("id < ?", before)
	}
	var js []ReplayJob
	if err := q.Order("id DESC").Limit(limit + 1).Find(&js).Error; err != nil {
		return nil, "", fmt.Errorf("store: list replay jobs: %w", err)
	}
	return pageOf(js, limit, func(j ReplayJob) uint { return j.ID })
}

// CancelReplayJob stops a running job. Events it already queued stay queued. It returns the job and
// ErrJobNotRunning when the job had already ended.
func (s *Store) CancelReplayJob(merchantID, id uint, by string) (*ReplayJob, error) {
	now := s.Now()
	res := s.DB.Model(&ReplayJob{}).Where("merchant_id = ? AND id = ? AND status = ?", merchantID, id, JobRunning).
		Updates(map[string]any{"status": JobCancelled, "cancelled_by": by, "finished_at": now, "updated_at": now,
			"lease_until": nil, "lease_token": ""})
	if res.Error != nil {
		return nil, fmt.Errorf("store: cancel replay job %d: %w", id, res.Error)
	}
	j, err := s.ReplayJob(merchantID, id)
	if err != nil {
		return nil, err
	}
	if res.RowsAffected == 0 {
		return j, ErrJobNotRunning
	}
	return j, nil
}

// ClaimReplayJob takes the oldest running job that no worker holds (or whose holder's lease ended)
// for lease, with one conditional UPDATE, so two workers, even in two processes, never hold the same
// job. It returns nil when there is none.
func (s *Store) ClaimReplayJob(lease time.Duration) (*ReplayJob, error) {
	now := s.Now()
	// Look first: most polls find nothing, and a read does not take the database's write lock.
	var waiting []uint
	err := s.DB.Model(&ReplayJob{}).Where("status = ? AND (lease_until IS NULL OR lease_until <= ?)", JobRunning, now).
		Limit(1).Pluck("id", &waiting).Error
	if err != nil {
		return nil, fmt.Errorf("store: claim replay job: %w", err)
	}
	if len(waiting) == 0 {
		return nil, nil
	}
	token := newClaimToken()
	var ids []uint
	unlock := s.lockWrites()
	defer unlock()
	err = s.DB.Raw(`UPDATE replay_jobs SET lease_until = ?, lease_token = ?, updated_at = ?
		WHERE id = (SELECT id FROM replay_jobs WHERE status = ? AND (lease_until IS NULL OR lease_until <= ?) ORDER BY id LIMIT 1`+skipLocked(s.DB)+`)
		RETURNING id`, now.Add(lease), token, now, JobRunning, now).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("store: claim replay job: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var j ReplayJob
	if err := s.DB.Take(&j, ids[0]).Error; err != nil {
		return nil, notFound(fmt.Sprintf("replay job %d", ids[0]), err)
	}
	return &j, nil
}

// ReleaseReplayJob gives up a held job so another worker can continue it at once (graceful stop).
func (s *Store) ReleaseReplayJob(j *ReplayJob) error {
	err := s.DB.Model(&ReplayJob{}).Where("id = ? AND lease_token = ?", j.ID, j.LeaseToken).
		Updates(map[string]any{"lease_until": nil, "lease_token": ""}).Error
	if err != nil {
		return fmt.Errorf("store: release replay job %d: %w", j.ID, err)
	}
	return nil
}

// FailReplayJob ends a held job that cannot run, with the reason.
func (s *Store) FailReplayJob(j *ReplayJob, reason string) error {
	now := s.Now()
	err := s.DB.Model(&ReplayJob{}).Where("id = ? AND lease_token = ? AND status = ?", j.ID, j.LeaseToken, JobRunning).
		Updates(map[string]any{"status": JobFailed, "error": reason, "finished_at": now, "updated_at": now,
			"lease_until": nil, "lease_token": ""}).Error
	if err != nil {
		return fmt.Errorf("store: fail replay job %d: %w", j.ID, err)
	}
	return nil
}

// ReplayJobChunk queues the next chunk of a held job's events for replay and records the progress,
// in one transaction that commits only while the job is still running and still this worker's: a
// cancellation between chunks stops the job, and a chunk in flight when it comes is rolled back.
// It returns how many events it queued, and whether the job is now finished.
func (s *Store) ReplayJobChunk(j *ReplayJob, size int, lease time.Duration) (int, bool, error) {
	now := s.Now()
	var queued []uint
	finished := false
	err := s.writeTx(func(tx *gorm.DB) error {
		var cursor uint
		var err error
		queued, cursor, finished, err = nextJobChunk(tx, j, size)
		if err != nil {
			return err
		}
		if len(queued) > 0 {
			err := tx.Model(&Event{}).Where("id IN ?", queued).Updates(map[string]any{"status": StatusPending,
				"next_attempt_at": now, "pending_trigger": TriggerReplay, "pending_actor": j.Actor()}).Error
			if err != nil {
				return err
			}
			rows := make([]ReplayJobEvent, len(queued))
			for i, id := range queued {
				rows[i] = ReplayJobEvent{JobID: j.ID, EventID: id}
			}
			if err := tx.Create(&rows).Error; err != nil {
				return err
			}
		}
		up := map[string]any{"done": gorm.Expr("done + ?", len(queued)), "cursor": cursor, "updated_at": now,
			"lease_until": now.Add(lease)}
		if finished {
			up["status"], up["finished_at"], up["lease_until"], up["lease_token"] = JobFinished, now, nil, ""
		}
		res := tx.Model(&ReplayJob{}).Where("id = ? AND status = ? AND lease_token = ?", j.ID, JobRunning, j.LeaseToken).Updates(up)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrJobStopped
		}
		j.Cursor = cursor
		return nil
	})
	if errors.Is(err, ErrJobStopped) {
		return 0, false, err
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: replay job %d: %w", j.ID, err)
	}
	j.Done += len(queued)
	if finished {
		j.Status = JobFinished
	}
	return len(queued), finished, nil
}

// nextJobChunk picks the events of a job's next chunk: the ones above its cursor that still need
// queueing. It returns them, the new cursor, and whether this is the last chunk.
func nextJobChunk(tx *gorm.DB, j *ReplayJob, size int) (ids []uint, cursor uint, last bool, err error) {
	if j.Filter == nil {
		i, _ := slices.BinarySearch(j.EventIDs, j.Cursor+1)
		batch := j.EventIDs[i:min(i+size, len(j.EventIDs))]
		last = i+len(batch) >= len(j.EventIDs)
		cursor = j.Cursor
		if len(batch) == 0 {
			return nil, cursor, true, nil
		}
		cursor = batch[len(batch)-1]
		err = tx.Model(&Event{}).Where("merchant_id = ? AND id IN ? AND status <> ?", j.MerchantID, batch, StatusProcessing).
			Order("id").Pluck("id", &ids).Error
		return ids, cursor, last, err
	}
	err = replayable(tx, j.MerchantID, *j.Filter).Where("events.id > ? AND events.id <= ?", j.Cursor, j.MaxEventID).
		Order("events.id").Limit(size).Pluck("events.id", &ids).Error
	if err != nil {
		return nil, 0, false, err
	}
	cursor = j.Cursor
	if len(ids) > 0 {
		cursor = ids[len(ids)-1]
	}
	return ids, cursor, len(ids) < size, nil
}

// JobOutcomes counts the events a job queued by their status now.
type JobOutcomes struct {
	Waiting   int64 // pending or processing
	Processed int64
	Failed    int64 // failed or dead
}

// ReplayJobOutcomes reports how the events a job queued have fared since.
func (s *Store) ReplayJobOutcomes(jobID uint) (JobOutcomes, error) {
	var rows []struct {
		Status Status
		N      int64
	}
	err := s.DB.Raw(`SELECT e.status, COUNT(*) AS n FROM replay_job_events r JOIN events e ON e.id = r.event_id
		WHERE r.job_id = ? GROUP BY e.status`, jobID).Scan(&rows).Error
	if err != nil {
		return JobOutcomes{}, fmt.Errorf("store: outcomes of replay job %d: %w", jobID, err)
	}
	var o JobOutcomes
	for _, r := range rows {
		switch r.Status {
		case StatusProcessed:
			o.Processed += r.N
		case StatusFailed, StatusDead:
			o.Failed += r.N
		default:
			o.Waiting += r.N
		}
	}
	return o, nil
}
