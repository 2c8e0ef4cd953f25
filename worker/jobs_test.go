package worker

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"hooklog/config"
	"hooklog/models"
)

func jobsStore(t *testing.T) *models.Store {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	s, err := models.Open(models.Options{DSN: filepath.Join(t.TempDir(), "hooklog.db"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// jobsFailedEvents stores n failed events of a fresh merchant, without deliveries: a replayed one
// fails again at once, which is all these tests need from the event workers.
func jobsFailedEvents(t *testing.T, s *models.Store, n int) *models.Merchant {
	t.Helper()
	m, err := s.EnsureMerchant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	ep, _, err := s.CreateEndpoint(m.ID, models.EndpointInput{Name: "generic", Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]models.Event, n)
	for i := range evs {
		evs[i] = models.Event{MerchantID: m.ID, EndpointID: ep.ID, ExternalID: fmt.Sprintf("evt_%d", i),
			Provider: "generic", Status: models.StatusFailed, ReceivedAt: s.Now(), DeliveryCount: 1}
	}
	if err := s.DB.CreateInBatches(&evs, 100).Error; err != nil {
		t.Fatal(err)
	}
	return m
}

func jobsWorker(s *models.Store) *Worker {
	cfg := config.Worker{Concurrency: 2, MaxAttempts: 1, Lease: config.Duration{Duration: time.Minute},
		PollInterval: config.Duration{Duration: 10 * time.Millisecond}, BaseBackoff: config.Duration{Duration: time.Millisecond},
		MaxBackoff: config.Duration{Duration: time.Millisecond}}
	return New(s, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestJobsRunJobQueuesInChunksAndWakes(t *testing.T) {
	s := jobsStore(t)
	m := jobsFailedEvents(t, s, 250)
	job, err := s.CreateReplayJob(m.ID, "op", &models.JobFilter{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := jobsWorker(s)
	claimed, err := s.ClaimReplayJob(time.Minute)
	if err != nil || claimed == nil {
		t.Fatalf("claim = %+v, %v", claimed, err)
	}
	w.runJob(context.Background(), claimed)
	got, err := s.ReplayJob(m.ID, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != models.JobFinished || got.Done != 250 || got.Total != 250 {
		t.Errorf("job = %+v", got)
	}
	select {
	case <-w.wake:
	default:
		t.Error("the event claimers were not woken")
	}
}

func TestJobsRunJobStopsWhenCancelled(t *testing.T) {
	s := jobsStore(t)
	m := jobsFailedEvents(t, s, 150)
	job, _ := s.CreateReplayJob(m.ID, "op", &models.JobFilter{}, nil)
	claimed, _ := s.ClaimReplayJob(time.Minute)
	if _, err := s.CancelReplayJob(m.ID, job.ID, "boss"); err != nil {
		t.Fatal(err)
	}
	jobsWorker(s).runJob(context.Background(), claimed)
	got, _ := s.ReplayJob(m.ID, job.ID)
	if got.Status != models.JobCancelled || got.Done != 0 {
		t.Errorf("job = %+v", got)
	}
	var pending int64
	s.DB.Model(&models.Event{}).Where("status = ?", models.StatusPending).Count(&pending)
	if pending != 0 {
		t.Errorf("%d events queued after the cancellation", pending)
	}
}

func TestJobsRunJobReleasesOnShutdown(t *testing.T) {
	s := jobsStore(t)
	m := jobsFailedEvents(t, s, 10)
	job, _ := s.CreateReplayJob(m.ID, "op", &models.JobFilter{}, nil)
	claimed, _ := s.ClaimReplayJob(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	jobsWorker(s).runJob(ctx, claimed)
	got, _ := s.ReplayJob(m.ID, job.ID)
	if got.Status != models.JobRunning || got.LeaseUntil != nil || got.Done != 0 {
		t.Errorf("job after shutdown = %+v", got)
	}
}

func TestJobsRunLoopFinishesJobsAndStops(t *testing.T) {
	s := jobsStore(t)
	m := jobsFailedEvents(t, s, 120)
	job, _ := s.CreateReplayJob(m.ID, "op", &models.JobFilter{}, nil)
	w := jobsWorker(s)
	cancel, stopped := runPool(w)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := s.ReplayJob(m.ID, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == models.JobFinished {
			if got.Done != 120 {
				t.Errorf("done = %d, want 120", got.Done)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not finished: %+v", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
