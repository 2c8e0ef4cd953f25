package models_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hooklog/models"
	"hooklog/webhooks"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openStore(t *testing.T, c *clock) *models.Store {
	t.Helper()
	key := make([]byte, 32)
	s, err := models.Open(models.Options{DSN: filepath.Join(t.TempDir(), "h.db"), Key: key, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// ingestAt stores one accepted delivery with its event in the given status, received at c's time.
func ingestAt(t *testing.T, s *models.Store, ing *models.Ingester, epID, merchantID uint, id string, status models.Status) models.Stored {
	t.Helper()
	now := s.Now()
	ev := &models.Event{MerchantID: merchantID, EndpointID: epID, ExternalID: id, Provider: "generic", Type: "payment.completed",
		Canonical: webhooks.PaymentSucceeded, Status: status, ReceivedAt: now}
	d := models.Delivery{MerchantID: merchantID, EndpointID: epID, ReceivedAt: now, RemoteAddr: "127.0.0.1",
		Headers: http.Header{"X-Signature": {"abc"}}, Body: []byte(`{"id":"` + id + `","note":"findme"}`), BodySize: 20, StatusCode: 200}
	st, err := ing.Store(t.Context(), &models.Incoming{Delivery: d, Event: ev})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// assertCounted checks that the maintained delivery counts add up to the deliveries stored, in
// total and for the window the overview shows.
func assertCounted(t *testing.T, s *models.Store, merchantID uint) {
	t.Helper()
	var stored, counted int64
	s.DB.Model(&models.Delivery{}).Count(&stored)
	s.DB.Model(&models.DeliveryCount{}).Select("COALESCE(SUM(n), 0)").Scan(&counted)
	if counted != stored {
		t.Errorf("delivery counts add up to %d, want the %d deliveries stored", counted, stored)
	}
	w, err := s.WindowStats(merchantID, time.Time{})
	if err != nil || w.Deliveries != stored {
		t.Errorf("all-time window = %+v, %v; want %d deliveries", w, err, stored)
	}
}

func TestPurgeKeepsUnfinishedAndRecent(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := openStore(t, c)
	m, _ := s.EnsureMerchant("Acme")
	ep, _, err := s.CreateEndpoint(m.ID, models.EndpointInput{Name: "e", Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	ing := models.NewIngester(s, 16, nil)
	defer ing.Close()
	oldDone := ingestAt(t, s, ing, ep.ID, m.ID, "old-processed", models.StatusProcessed)
	oldFailed := ingestAt(t, s, ing, ep.ID, m.ID, "old-failed", models.StatusFailed)
	oldDead := ingestAt(t, s, ing, ep.ID, m.ID, "old-dead", models.StatusDead)
	c.t = c.t.Add(100 * 24 * time.Hour)
	recent := ingestAt(t, s, ing, ep.ID, m.ID, "recent", models.StatusProcessed)
	if err := s.CatchUpSearch(); err != nil { // so that the purge finds the deliveries in the index
		t.Fatal(err)
	}

	res, err := s.Purge(models.RetentionPolicy{OlderThan: 90 * 24 * time.Hour, Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Deliveries != 1 || res.Events != 1 {
		t.Fatalf("purged %+v, want 1 delivery and 1 event", res)
	}
	assertCounted(t, s, m.ID)
	if _, err := s.EventByID(oldDone.EventID); err == nil {
		t.Error("old processed event survived")
	}
	for _, kept := range []models.Stored{oldFailed, oldDead, recent} {
		if _, err := s.EventByID(kept.EventID); err != nil {
			t.Errorf("event %d was purged: %v", kept.EventID, err)
		}
		if _, err := s.Delivery(m.ID, kept.DeliveryID); err != nil {
			t.Errorf("delivery %d was purged: %v", kept.DeliveryID, err)
		}
	}
	var indexed int64
	s.DB.Raw("SELECT count(*) FROM delivery_search WHERE delivery_search MATCH 'findme'").Scan(&indexed)
	if indexed != 3 {
		t.Errorf("search index holds %d deliveries, want 3", indexed)
	}

	res, err = s.Purge(models.RetentionPolicy{OlderThan: 90 * 24 * time.Hour, IncludeUnfinished: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Deliveries != 2 || res.Events != 2 {
		t.Fatalf("purge with unfinished removed %+v, want 2 and 2", res)
	}
	assertCounted(t, s, m.ID)
}

func TestBackupIsAConsistentCopy(t *testing.T) {
	c := &clock{t: time.Now().UTC()}
	s := openStore(t, c)
	m, _ := s.EnsureMerchant("Acme")
	ep, secret, err := s.CreateEndpoint(m.ID, models.EndpointInput{Name: "e", Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	ing := models.NewIngester(s, 16, nil)
	defer ing.Close()
	ingestAt(t, s, ing, ep.ID, m.ID, "evt-1", models.StatusPending)
	if err := s.CatchUpSearch(); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "backup.db")
	if err := s.Backup(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(models.SearchIndexPath(path)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("search index copy: %v, %v; want a file of mode 0600 beside the backup", fi, err)
	}
	if err := s.Backup(path); err == nil {
		t.Fatal("a second backup over an existing file should refuse")
	}
	copyStore, err := models.Open(models.Options{DSN: path, Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer copyStore.Close()
	got, err := copyStore.ValidSecrets(ep.ID)
	if err != nil || len(got) != 1 || got[0] != secret {
		t.Fatalf("secrets in backup = %v, %v", got, err)
	}
	evs, _, err := copyStore.Events(models.EventFilter{MerchantID: m.ID})
	if err != nil || len(evs) != 1 || evs[0].ExternalID != "evt-1" {
		t.Fatalf("events in backup = %v, %v", evs, err)
	}
	hits, err := copyStore.Search(models.SearchFilter{MerchantID: m.ID, Terms: []string{"evt-1"}})
	if err != nil || len(hits.Hits) != 1 {
		t.Fatalf("search in backup found %d deliveries (%v), want 1", len(hits.Hits), err)
	}
}
