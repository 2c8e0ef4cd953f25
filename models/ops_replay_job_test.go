package models

import (
	"errors"
	"testing"
	"time"
)

// opsFailedEvents stores n failed events of f, oldest first.
func opsFailedEvents(t *testing.T, f *opsFixture, at time.Time, n int) []*Event {
	t.Helper()
	evs := make([]*Event, n)
	for i := range evs {
		evs[i] = f.event(t, at, StatusFailed, "payment.completed")
	}
	return evs
}

func opsCountStatus(t *testing.T, s *Store, merchantID uint, st Status) int64 {
	t.Helper()
	var n int64
	if err := s.DB.Model(&Event{}).Where("merchant_id = ? AND status = ?", merchantID, st).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpsReplayJobFilterChunks(t *testing.T) {
	s, clock := opsStore(t)
	now := clock.Now()
	f := opsMerchant(t, s, "Acme")
	other := opsMerchant(t, s, "Other")
	opsFailedEvents(t, f, now.Add(-time.Hour), 230)
	f.event(t, now.Add(-time.Hour), StatusDead, "refund.completed")
	f.event(t, now.Add(-time.Hour), StatusProcessed, "payment.completed")
	opsFailedEvents(t, other, now.Add(-time.Hour), 3)

	job, err := s.CreateReplayJob(f.merchant.ID, "op@acme.test", &JobFilter{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if job.Total != 231 || job.Done != 0 || job.Status != JobRunning || job.MaxEventID == 0 || job.CreatedBy != "op@acme.test" {
		t.Fatalf("job = %+v", job)
	}
	// Created after the job: not part of it.
	late := f.event(t, now, StatusFailed, "payment.completed")

	claimed, err := s.ClaimReplayJob(time.Minute)
	if err != nil || claimed == nil || claimed.ID != job.ID || claimed.LeaseToken == "" {
		t.Fatalf("claim = %+v, %v", claimed, err)
	}
	for i, want := range []struct {
		queued   int
		finished bool
		done     int
	}{{100, false, 100}, {100, false, 200}, {31, true, 231}} {
		n, finished, err := s.ReplayJobChunk(claimed, ReplayChunkSize, time.Minute)
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if n != want.queued || finished != want.finished || claimed.Done != want.done {
			t.Errorf("chunk %d = %d %v done %d, want %+v", i, n, finished, claimed.Done, want)
		}
		stored, err := s.ReplayJob(f.merchant.ID, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Done != want.done {
			t.Errorf("chunk %d: stored done %d", i, stored.Done)
		}
	}
	stored, _ := s.ReplayJob(f.merchant.ID, job.ID)
	if stored.Status != JobFinished || stored.FinishedAt == nil || stored.LeaseUntil != nil || stored.Skipped() != 0 {
		t.Errorf("finished job = %+v", stored)
	}
	if n := opsCountStatus(t, s, f.merchant.ID, StatusPending); n != 231 {
		t.Errorf("%d pending, want 231", n)
	}
	if ev := opsReload(t, s, late.ID); ev.Status != StatusFailed {
		t.Errorf("an event newer than the job was replayed: %s", ev.Status)
	}
	if n := opsCountStatus(t, s, other.merchant.ID, StatusFailed); n != 3 {
		t.Errorf("another merchant's events were replayed: %d failed left", n)
	}
	var sample Event
	s.DB.Where("merchant_id = ? AND status = ?", f.merchant.ID, StatusPending).Take(&sample)
	if sample.PendingTrigger != TriggerReplay || sample.PendingActor != "op@acme.test (replay job 1)" {
		t.Errorf("queued event = trigger %q actor %q", sample.PendingTrigger, sample.PendingActor)
	}
	out, err := s.ReplayJobOutcomes(job.ID)
	if err != nil || out != (JobOutcomes{Waiting: 231}) {
		t.Errorf("outcomes = %+v, %v", out, err)
	}
	s.DB.Model(&Event{}).Where("merchant_id = ? AND status = ? AND id % 2 = 0", f.merchant.ID, StatusPending).Update("status", StatusProcessed)
	s.DB.Model(&Event{}).Where("merchant_id = ? AND status = ? AND id % 3 = 0", f.merchant.ID, StatusPending).Update("status", StatusDead)
	out, _ = s.ReplayJobOutcomes(job.ID)
	if out.Waiting+out.Processed+out.Failed != 231 || out.Processed == 0 || out.Failed == 0 || out.Waiting == 0 {
		t.Errorf("outcomes after processing = %+v", out)
	}
	if again, err := s.ClaimReplayJob(time.Minute); err != nil || again != nil {
		t.Errorf("a finished job was claimed: %+v %v", again, err)
	}
}

func TestOpsReplayJobFilterSelects(t *testing.T) {
	s, clock := opsStore(t)
	now := clock.Now()
	f := opsMerchant(t, s, "Acme")
	second, _, err := s.CreateEndpoint(f.merchant.ID, EndpointInput{Name: "Second", Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	f.event(t, now.Add(-48*time.Hour), StatusFailed, "payment.completed")
	f.event(t, now.Add(-time.Hour), StatusDead, "refund.completed")
	marked := f.event(t, now.Add(-time.Hour), StatusFailed, "payment.completed")
	s.MarkEvent(f.merchant.ID, marked.ID, MarkNeedsReview, "", "x")
	dup := f.event(t, now.Add(-time.Hour), StatusFailed, "payment.completed")
	f.delivery(t, now.Add(-30*time.Minute), OutcomeDuplicate, dup, "payment.completed")
	onSecond := f.event(t, now.Add(-time.Hour), StatusFailed, "payment.completed")
	s.DB.Model(&Event{}).Where("id = ?", onSecond.ID).Update("endpoint_id", second.ID)
	s.DB.Model(&Delivery{}).Where("event_id = ?", onSecond.ID).Update("endpoint_id", second.ID)
	f.event(t, now.Add(-time.Hour), StatusProcessed, "payment.completed")

	for _, tc := range []struct {
		name   string
		filter JobFilter
		want   int64
	}{
		{"everything failed or dead", JobFilter{}, 5},
		{"since a day ago", JobFilter{Since: now.Add(-24 * time.Hour)}, 4},
		{"until a day ago", JobFilter{Until: now.Add(-24 * time.Hour)}, 1},
		{"event type", JobFilter{EventType: "refund.completed"}, 1},
		{"status dead", JobFilter{Status: StatusDead}, 1},
		{"status processed matches nothing", JobFilter{Status: StatusProcessed}, 0},
		{"mark", JobFilter{Mark: MarkNeedsReview}, 1},
		{"duplicate deliveries", JobFilter{Outcome: OutcomeDuplicate}, 1},
		{"rejected deliveries have no events", JobFilter{Outcome: OutcomeRejected}, 0},
		{"endpoint", JobFilter{EndpointID: second.ID}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := s.CountReplayable(f.merchant.ID, tc.filter)
			if err != nil || n != tc.want {
				t.Errorf("count = %d, %v; want %d", n, err, tc.want)
			}
			job, err := s.CreateReplayJob(f.merchant.ID, "a", &tc.filter, nil)
			if tc.want == 0 {
				if !errors.Is(err, ErrNothingToReplay) {
					t.Errorf("create = %+v, %v; want ErrNothingToReplay", job, err)
				}
				return
			}
			if err != nil || job.Total != int(tc.want) {
				t.Errorf("create = %+v, %v", job, err)
			}
			if _, err := s.CancelReplayJob(f.merchant.ID, job.ID, "a"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestOpsReplayJobSelectedIDs(t *testing.T) {
	s, clock := opsStore(t)
	now := clock.Now()
	f := opsMerchant(t, s, "Acme")
	other := opsMerchant(t, s, "Other")
	done := f.event(t, now, StatusProcessed, "payment.completed")
	failed := f.event(t, now, StatusFailed, "payment.completed")
	busy := f.event(t, now, StatusProcessing, "payment.completed")
	foreign := other.event(t, now, StatusFailed, "payment.completed")

	ids := []uint{failed.ID, done.ID, foreign.ID, busy.ID, failed.ID, 999999}
	job, err := s.CreateReplayJob(f.merchant.ID, "op@acme.test", nil, ids)
	if err != nil {
		t.Fatal(err)
	}
	if job.Total != 3 || len(job.EventIDs) != 3 || job.EventIDs[0] != done.ID || job.EventIDs[2] != busy.ID || job.Filter != nil {
		t.Fatalf("job = %+v", job)
	}
	claimed, _ := s.ClaimReplayJob(time.Minute)
	n, finished, err := s.ReplayJobChunk(claimed, ReplayChunkSize, time.Minute)
	if err != nil || n != 2 || !finished {
		t.Fatalf("chunk = %d %v %v", n, finished, err)
	}
	stored, _ := s.ReplayJob(f.merchant.ID, job.ID)
	if stored.Status != JobFinished || stored.Done != 2 || stored.Skipped() != 1 {
		t.Errorf("job = %+v", stored)
	}
	for id, want := range map[uint]Status{done.ID: StatusPending, failed.ID: StatusPending, busy.ID: StatusProcessing, foreign.ID: StatusFailed} {
		if got := opsReload(t, s, id).Status; got != want {
			t.Errorf("event %d = %s, want %s", id, got, want)
		}
	}
	if _, err := s.CreateReplayJob(f.merchant.ID, "a", nil, []uint{foreign.ID}); !errors.Is(err, ErrNothingToReplay) {
		t.Errorf("foreign-only selection = %v", err)
	}
	tooMany := make([]uint, MaxSelectedEvents+1)
	for i := range tooMany {
		tooMany[i] = uint(i + 1)
	}
	if _, err := s.CreateReplayJob(f.merchant.ID, "a", nil, tooMany); !errors.Is(err, ErrTooManySelected) {
		t.Errorf("too many = %v", err)
	}
}

func TestOpsReplayJobCancelBetweenChunks(t *testing.T) {
	s, clock := opsStore(t)
	f := opsMerchant(t, s, "Acme")
	opsFailedEvents(t, f, clock.Now(), 250)
	job, err := s.CreateReplayJob(f.merchant.ID, "op", &JobFilter{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	claimed, _ := s.ClaimReplayJob(time.Minute)
	if n, _, err := s.ReplayJobChunk(claimed, ReplayChunkSize, time.Minute); err != nil || n != 100 {
		t.Fatalf("first chunk = %d, %v", n, err)
	}
	other := opsMerchant(t, s, "Other")
	if _, err := s.CancelReplayJob(other.merchant.ID, job.ID, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another merchant cancelled: %v", err)
	}
	cancelled, err := s.CancelReplayJob(f.merchant.ID, job.ID, "boss")
	if err != nil || cancelled.Status != JobCancelled || cancelled.CancelledBy != "boss" || cancelled.Done != 100 || cancelled.FinishedAt == nil {
		t.Fatalf("cancel = %+v, %v", cancelled, err)
	}
	if _, _, err := s.ReplayJobChunk(claimed, ReplayChunkSize, time.Minute); !errors.Is(err, ErrJobStopped) {
		t.Fatalf("chunk after cancel = %v, want ErrJobStopped", err)
	}
	if n := opsCountStatus(t, s, f.merchant.ID, StatusPending); n != 100 {
		t.Errorf("%d pending after cancel, want 100", n)
	}
	if n := opsCountStatus(t, s, f.merchant.ID, StatusFailed); n != 150 {
		t.Errorf("%d still failed, want 150", n)
	}
	if again, err := s.CancelReplayJob(f.merchant.ID, job.ID, "boss"); !errors.Is(err, ErrJobNotRunning) || again.Status != JobCancelled {
		t.Errorf("second cancel = %+v, %v", again, err)
	}
	if c, _ := s.ClaimReplayJob(time.Minute); c != nil {
		t.Errorf("a cancelled job was claimed")
	}
}

func TestOpsReplayJobLease(t *testing.T) {
	s, clock := opsStore(t)
	f := opsMerchant(t, s, "Acme")
	opsFailedEvents(t, f, clock.Now(), 150)
	if _, err := s.CreateReplayJob(f.merchant.ID, "op", &JobFilter{}, nil); err != nil {
		t.Fatal(err)
	}
	first, err := s.ClaimReplayJob(time.Minute)
	if err != nil || first == nil {
		t.Fatalf("first claim = %+v, %v", first, err)
	}
	if second, err := s.ClaimReplayJob(time.Minute); err != nil || second != nil {
		t.Fatalf("a held job was claimed twice: %+v, %v", second, err)
	}
	if n, _, err := s.ReplayJobChunk(first, ReplayChunkSize, time.Minute); err != nil || n != 100 {
		t.Fatalf("chunk = %d, %v", n, err)
	}
	// The holder stalls past its lease: another worker takes over from where it stopped.
	clock.Add(2 * time.Minute)
	second, err := s.ClaimReplayJob(time.Minute)
	if err != nil || second == nil || second.LeaseToken == first.LeaseToken || second.Cursor == 0 || second.Done != 100 {
		t.Fatalf("takeover = %+v, %v", second, err)
	}
	if _, _, err := s.ReplayJobChunk(first, ReplayChunkSize, time.Minute); !errors.Is(err, ErrJobStopped) {
		t.Errorf("the old holder's chunk = %v, want ErrJobStopped", err)
	}
	n, finished, err := s.ReplayJobChunk(second, ReplayChunkSize, time.Minute)
	if err != nil || n != 50 || !finished {
		t.Errorf("takeover chunk = %d %v %v", n, finished, err)
	}
	if got := opsCountStatus(t, s, f.merchant.ID, StatusPending); got != 150 {
		t.Errorf("%d pending, want 150", got)
	}

	// Released jobs are claimable at once.
	opsFailedEvents(t, f, clock.Now(), 1)
	job, _ := s.CreateReplayJob(f.merchant.ID, "op", &JobFilter{}, nil)
	held, _ := s.ClaimReplayJob(time.Hour)
	if err := s.ReleaseReplayJob(held); err != nil {
		t.Fatal(err)
	}
	if again, err := s.ClaimReplayJob(time.Hour); err != nil || again == nil || again.ID != job.ID {
		t.Errorf("released job not claimable: %+v, %v", again, err)
	}
	if err := s.FailReplayJob(held, "stale token"); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.ReplayJob(f.merchant.ID, job.ID); j.Status != JobRunning {
		t.Errorf("a stale holder failed the job: %s", j.Status)
	}
}

func TestOpsReplayJobsList(t *testing.T) {
	s, clock := opsStore(t)
	f := opsMerchant(t, s, "Acme")
	other := opsMerchant(t, s, "Other")
	opsFailedEvents(t, f, clock.Now(), 1)
	opsFailedEvents(t, other, clock.Now(), 1)
	var ids []uint
	for range 3 {
		j, err := s.CreateReplayJob(f.merchant.ID, "op", &JobFilter{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	foreign, _ := s.CreateReplayJob(other.merchant.ID, "x", &JobFilter{}, nil)
	page, next, err := s.ReplayJobs(f.merchant.ID, "", 2)
	if err != nil || len(page) != 2 || page[0].ID != ids[2] || page[1].ID != ids[1] || next == "" {
		t.Fatalf("page 1 = %+v %q %v", page, next, err)
	}
	page, next, err = s.ReplayJobs(f.merchant.ID, next, 2)
	if err != nil || len(page) != 1 || page[0].ID != ids[0] || next != "" {
		t.Fatalf("page 2 = %+v %q %v", page, next, err)
	}
	if _, err := s.ReplayJob(f.merchant.ID, foreign.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another merchant's job = %v", err)
	}
}
