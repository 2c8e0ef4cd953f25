package models

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// indexerFixture is a SQLite store (the indexer exists only there) with one merchant and endpoint.
func indexerFixture(t *testing.T, dsn string) (*Store, *Endpoint) {
	t.Helper()
	s, err := Open(Options{DSN: dsn, Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m, err := s.EnsureMerchant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	var ep Endpoint
	if err := s.DB.Where("merchant_id = ?", m.ID).First(&ep).Error; err != nil {
		ep2, _, err := s.CreateEndpoint(m.ID, EndpointInput{Name: "e", Provider: "generic"}, "")
		if err != nil {
			t.Fatal(err)
		}
		ep = *ep2
	}
	return s, &ep
}

// ingestN stores n deliveries with events whose bodies hold word, from 8 goroutines (so that the
// ingester's batches vary), and returns their delivery ids.
func ingestN(t *testing.T, s *Store, ep *Endpoint, n int, word string) []uint {
	t.Helper()
	ing := NewIngester(s, 64, nil)
	defer ing.Close()
	ids := make([]uint, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < n; i += 8 {
				in := countIncoming(ep, s.Now(), fmt.Sprintf("%s-%d", word, i), StatusPending)
				in.Delivery.Body = fmt.Appendf(nil, `{"id":"%s-%d","note":"%s"}`, word, i, word)
				st, err := ing.Store(context.Background(), in)
				if err != nil {
					errs <- err
					return
				}
				ids[i] = st.DeliveryID
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ids
}

// indexed counts the deliveries the full-text index holds for word, and all its rows.
func indexed(t *testing.T, s *Store, word string) (matching, all int64) {
	t.Helper()
	if err := s.DB.Raw("SELECT count(*) FROM delivery_search WHERE delivery_search MATCH ?", `"`+word+`"`).Scan(&matching).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.DB.Raw("SELECT count(*) FROM delivery_search").Scan(&all).Error; err != nil {
		t.Fatal(err)
	}
	return matching, all
}

func searchMark(t *testing.T, s *Store) uint {
	t.Helper()
	mark, _, err := s.searchProgress()
	if err != nil {
		t.Fatal(err)
	}
	return mark
}

// A search right after the acknowledgement finds the delivery although the indexer has not run
// yet, and the indexer then has nothing left to do.
func TestSearchSeesDeliveriesBeforeTheIndexerRuns(t *testing.T) {
	s, ep := indexerFixture(t, filepath.Join(t.TempDir(), "hooklog.db"))
	s.stopSearchIndexer() // the index stays behind unless the search catches it up
	ids := ingestN(t, s, ep, 3, "zanzibar")
	if matching, _ := indexed(t, s, "zanzibar"); matching != 0 {
		t.Fatalf("index holds %d rows before the search, want 0", matching)
	}
	p, err := s.Search(SearchFilter{MerchantID: ep.MerchantID, Terms: []string{"zanzibar"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hits) != 3 {
		t.Fatalf("search found %d deliveries, want 3", len(p.Hits))
	}
	if mark := searchMark(t, s); mark != max(ids[0], ids[1], ids[2]) {
		t.Fatalf("mark = %d, want the newest delivery %v", mark, ids)
	}
	if n, err := s.SearchBacklog(context.Background()); err != nil || n != 0 {
		t.Fatalf("backlog = %d, %v; want 0", n, err)
	}
}

// Without any search, the background indexer takes in a burst larger than one of its batches,
// each delivery exactly once.
func TestSearchIndexerIndexesABurstOnce(t *testing.T) {
	s, ep := indexerFixture(t, filepath.Join(t.TempDir(), "hooklog.db"))
	const n = 2*searchIndexBatch + 345
	ingestN(t, s, ep, n, "burst")
	deadline := time.Now().Add(20 * time.Second)
	for {
		backlog, err := s.SearchBacklog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if backlog == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the indexer left %d deliveries unindexed after 20 s", backlog)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if matching, all := indexed(t, s, "burst"); matching != n || all != n {
		t.Fatalf("index holds %d matching rows and %d in all; want %d of each", matching, all, n)
	}
}

// A purge that removes deliveries the indexer has not reached leaves nothing behind in the index,
// and the survivors are indexed.
func TestPurgeBeforeIndexing(t *testing.T) {
	s, ep := indexerFixture(t, filepath.Join(t.TempDir(), "hooklog.db"))
	s.stopSearchIndexer() // so that nothing is indexed before the purge
	ids := ingestN(t, s, ep, 5, "pelican")
	if err := s.deleteDeliveries(ids[:2]); err != nil {
		t.Fatal(err)
	}
	if err := s.CatchUpSearch(); err != nil {
		t.Fatal(err)
	}
	if matching, all := indexed(t, s, "pelican"); matching != 3 || all != 3 {
		t.Fatalf("index holds %d matching rows and %d in all; want the 3 survivors", matching, all)
	}
	// And one indexed before the purge leaves the index with it.
	if err := s.deleteDeliveries(ids[2:3]); err != nil {
		t.Fatal(err)
	}
	if matching, all := indexed(t, s, "pelican"); matching != 2 || all != 2 {
		t.Fatalf("index holds %d matching rows and %d in all; want 2", matching, all)
	}
}

// Deliveries committed but not indexed when the process stopped are indexed when the store opens
// again, without a search asking; and a database indexed before the mark existed (every delivery
// indexed as it arrived) is not indexed twice.
func TestSearchIndexAfterRestartAndUpgrade(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "hooklog.db")
	s, ep := indexerFixture(t, dsn)
	s.stopSearchIndexer()
	ingestN(t, s, ep, 4, "heron")
	if matching, _ := indexed(t, s, "heron"); matching != 0 {
		t.Fatalf("index holds %d rows before the restart, want 0", matching)
	}
	s.Close()

	s2, _ := indexerFixture(t, dsn)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if matching, _ := indexed(t, s2, "heron"); matching == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("deliveries left by the last run were not indexed at start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// An upgrade: the progress row did not exist, and every delivery was already indexed.
	s2.stopSearchIndexer()
	if err := s2.DB.Exec("DROP TABLE delivery_search_progress").Error; err != nil {
		t.Fatal(err)
	}
	if err := s2.migrateSearchProgress(); err != nil {
		t.Fatal(err)
	}
	if _, newest, _ := s2.searchProgress(); searchMark(t, s2) != newest {
		t.Fatalf("mark after upgrade = %d, want the newest delivery %d", searchMark(t, s2), newest)
	}
	if err := s2.CatchUpSearch(); err != nil {
		t.Fatal(err)
	}
	if matching, all := indexed(t, s2, "heron"); matching != 4 || all != 4 {
		t.Fatalf("index holds %d matching rows and %d in all after the upgrade; want 4 of each", matching, all)
	}
}

// Text handed in by the ingest writer that misses deliveries (as after the handed-in text reached
// searchPendingMax) is not trusted: the indexer reads the batch back from the rows, and every
// delivery is indexed once, with its own text.
func TestSearchIndexerFallsBackWhenHandedTextHasGaps(t *testing.T) {
	s, ep := indexerFixture(t, filepath.Join(t.TempDir(), "hooklog.db"))
	s.stopSearchIndexer() // nothing is handed in while it is stopped
	ids := ingestN(t, s, ep, 6, "osprey")
	s.indexer.Store(&searchIndexer{wake: make(chan struct{}, 1)})
	defer s.indexer.Store(nil)
	// Only the last three are handed in, with text that is not theirs: if it were used, "osprey"
	// would find three deliveries fewer.
	slices.Sort(ids)
	var docs []searchDoc
	for _, id := range ids[3:] {
		docs = append(docs, searchDoc{id: id, body: "wrong text"})
	}
	s.handSearchIndexer(docs)
	if err := s.CatchUpSearch(); err != nil {
		t.Fatal(err)
	}
	if matching, all := indexed(t, s, "osprey"); matching != 6 || all != 6 {
		t.Fatalf("index holds %d matching rows and %d in all; want 6 of each", matching, all)
	}
}
