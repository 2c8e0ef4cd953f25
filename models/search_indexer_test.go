package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
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

// catchUpIndexed brings the index up to the newest delivery, as a search does, and checks that it
// then holds want deliveries matching word and no others.
func catchUpIndexed(t *testing.T, s *Store, word string, want int64) {
	t.Helper()
	if err := s.CatchUpSearch(); err != nil {
		t.Fatal(err)
	}
	if matching, all := indexed(t, s, word); matching != want || all != want {
		t.Fatalf("index holds %d rows matching %q and %d in all; want %d of each", matching, word, all, want)
	}
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
	catchUpIndexed(t, s, "pelican", 3) // the survivors
	// And one indexed before the purge leaves the index with it.
	if err := s.deleteDeliveries(ids[2:3]); err != nil {
		t.Fatal(err)
	}
	if matching, all := indexed(t, s, "pelican"); matching != 2 || all != 2 {
		t.Fatalf("index holds %d matching rows and %d in all; want 2", matching, all)
	}
}

// Deliveries committed but not indexed when the process stopped are indexed when the store opens
// again, without a search asking.
func TestSearchIndexAfterRestart(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "hooklog.db")
	s, ep := indexerFixture(t, dsn)
	s.stopSearchIndexer()
	ingestN(t, s, ep, 4, "heron")
	if matching, _ := indexed(t, s, "heron"); matching != 0 {
		t.Fatalf("index holds %d rows before the restart, want 0", matching)
	}
	s.Close()

	s2, _ := indexerFixture(t, dsn)
	waitIndexed(t, s2, "heron", 4)
}

// waitIndexed waits for the background indexer to hold want deliveries matching word.
func waitIndexed(t *testing.T, s *Store, word string, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		matching, all := indexed(t, s, word)
		if matching == want && all == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("index holds %d rows matching %q and %d in all, want %d of each", matching, word, all, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A database whose index an earlier version kept inside the main file (with the mark, or from
// before the mark existed, when every delivery was indexed as it arrived) has it moved to the
// index's own file when it opens: nothing is indexed again or lost, and the old tables are gone.
func TestSearchIndexMovesOutOfTheMainFile(t *testing.T) {
	for _, withMark := range []bool{true, false} {
		t.Run(fmt.Sprintf("mark=%v", withMark), func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "hooklog.db")
			s, ep := indexerFixture(t, dsn)
			ids := ingestN(t, s, ep, 5, "egret")
			if err := s.CatchUpSearch(); err != nil {
				t.Fatal(err)
			}
			s.Close()
			oldLayout(t, dsn, withMark)

			s2, _ := indexerFixture(t, dsn)
			s2.stopSearchIndexer() // what the index holds now is what was moved
			if mark := searchMark(t, s2); mark != slices.Max(ids) {
				t.Fatalf("mark after the move = %d, want the newest delivery %d", mark, slices.Max(ids))
			}
			if matching, all := indexed(t, s2, "egret"); matching != 5 || all != 5 {
				t.Fatalf("index holds %d matching rows and %d in all after the move; want 5 of each", matching, all)
			}
			var left int64
			if err := s2.DB.Raw(`SELECT count(*) FROM main.sqlite_master WHERE name LIKE 'delivery_search%'`).Scan(&left).Error; err != nil {
				t.Fatal(err)
			}
			if left != 0 {
				t.Fatalf("main file still holds %d search tables", left)
			}
			var automerge int
			if err := s2.DB.Raw(`SELECT v FROM delivery_search_config WHERE k = 'automerge'`).Scan(&automerge).Error; err != nil || automerge != searchAutomerge {
				t.Fatalf("automerge after the move = %d (%v), want %d", automerge, err, searchAutomerge)
			}
		})
	}
}

// oldLayout rewrites a closed store's files into the layout of the versions that kept the index in
// the main file: the index's tables (and, withMark, the progress row) move into it, and the index
// file is deleted.
func oldLayout(t *testing.T, dsn string, withMark bool) {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts := []string{
		`ATTACH DATABASE '` + SearchIndexPath(dsn) + `' AS ix`,
		`CREATE VIRTUAL TABLE main.delivery_search USING fts5(
			body, headers, content='', contentless_delete=1, tokenize="unicode61 tokenchars '_@.+-'")`,
	}
	for _, tbl := range searchShadowTables {
		stmts = append(stmts, `DELETE FROM main.`+tbl, `INSERT INTO main.`+tbl+` SELECT * FROM ix.`+tbl)
	}
	// Earlier versions left FTS5's merge setting at its default.
	stmts = append(stmts, `DELETE FROM main.delivery_search_config WHERE k = 'automerge'`)
	if withMark {
		stmts = append(stmts, `CREATE TABLE main.delivery_search_progress AS SELECT * FROM ix.delivery_search_progress`)
	}
	stmts = append(stmts, `DETACH DATABASE ix`)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(SearchIndexPath(dsn) + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

// A deleted index file is rebuilt from the deliveries when the store opens.
func TestSearchIndexRebuildsWhenItsFileIsGone(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "hooklog.db")
	s, ep := indexerFixture(t, dsn)
	ingestN(t, s, ep, 7, "plover")
	waitIndexed(t, s, "plover", 7)
	s.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(SearchIndexPath(dsn) + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	s2, _ := indexerFixture(t, dsn)
	waitIndexed(t, s2, "plover", 7)
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
	catchUpIndexed(t, s, "osprey", 6)
}

// Large bodies are indexed a few at a time: a batch, and the text handed in, hold at most
// searchBatchBytes of them (and a batch at least one, however large).
func TestSearchIndexerBoundsBatchesBySize(t *testing.T) {
	s, ep := indexerFixture(t, filepath.Join(t.TempDir(), "hooklog.db"))
	s.stopSearchIndexer()
	const size = 3 << 20 // three fit in searchBatchBytes (8 MiB), not four
	big := strings.Repeat("kittiwake ", size/10)
	ing := NewIngester(s, 64, nil)
	for i := range 4 {
		in := countIncoming(ep, s.Now(), fmt.Sprintf("big-%d", i), StatusPending)
		in.Delivery.Body, in.Delivery.BodySize = []byte(big), int64(len(big))
		if _, err := ing.Store(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	ing.Close()
	docs, err := s.readSearchDocs(0, searchIndexBatch)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("a batch read %d bodies of 3 MiB, want 2", len(docs))
	}
	huge, err := s.readSearchDocs(docs[1].id, searchIndexBatch)
	if err != nil || len(huge) != 2 {
		t.Fatalf("next batch read %d bodies (%v), want 2", len(huge), err)
	}

	ix := &searchIndexer{wake: make(chan struct{}, 1)}
	s.indexer.Store(ix)
	defer s.indexer.Store(nil)
	for i := range 4 {
		s.handSearchIndexer([]searchDoc{{id: uint(i + 1), body: big}})
	}
	if len(ix.pending) != 2 || ix.pendingBytes != 2*len(big) {
		t.Fatalf("handed-in text holds %d bodies of 3 MiB (%d bytes), want 2", len(ix.pending), ix.pendingBytes)
	}
	catchUpIndexed(t, s, "kittiwake", 4)
}

// Once deliveries stop arriving, the indexer merges the segments that indexing left (up to
// searchAutomerge of a size) down to a few, and searches find the same deliveries.
func TestSearchIndexTidiesSegments(t *testing.T) {
	s, ep := indexerFixture(t, filepath.Join(t.TempDir(), "hooklog.db"))
	s.stopSearchIndexer()
	for i := range 30 {
		ingestN(t, s, ep, 3, fmt.Sprintf("grebe%d", i))
		if err := s.CatchUpSearch(); err != nil { // one segment per catch-up
			t.Fatal(err)
		}
	}
	segments := func() (n int64) {
		if err := s.DB.Raw(`SELECT count(DISTINCT segid) FROM delivery_search_idx`).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := segments()
	if before < 10 {
		t.Fatalf("%d segments after 30 catch-ups, want at least 10 (automerge %d)", before, searchAutomerge)
	}
	if err := s.tidySearchIndex(&searchIndexer{wake: make(chan struct{}, 1)}); err != nil {
		t.Fatal(err)
	}
	t.Logf("segments: %d before tidying, %d after", before, segments())
	if after := segments(); after > 4 {
		t.Fatalf("%d segments after tidying (%d before), want at most 4", after, before)
	}
	for i := range 30 {
		if matching, _ := indexed(t, s, fmt.Sprintf("grebe%d", i)); matching != 3 {
			t.Fatalf("grebe%d matches %d deliveries after tidying, want 3", i, matching)
		}
	}
}

// BenchmarkSearchIndexBatch indexes Stripe-like deliveries in batches of 200 into a fresh index file,
// with FTS5's default automerge (4) and with searchAutomerge, and reports deliveries indexed a second:
//
//	go test -tags sqlite_fts5 -run '^$' -bench SearchIndexBatch -benchtime 40000x ./models
func BenchmarkSearchIndexBatch(b *testing.B) {
	for _, automerge := range []int{4, searchAutomerge} {
		b.Run(fmt.Sprintf("automerge=%d", automerge), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "search.db")
			db, err := gorm.Open(sqlite.New(sqlite.Config{Conn: sqlitePool("file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate", "")}), gormConfig())
			if err != nil {
				b.Fatal(err)
			}
			defer closeGorm(db)
			if err := migrateSearchFile(db); err != nil {
				b.Fatal(err)
			}
			if err := db.Exec(`INSERT INTO delivery_search(delivery_search, rank) VALUES ('automerge', ?)`, automerge).Error; err != nil {
				b.Fatal(err)
			}
			docs := make([]searchDoc, b.N)
			for i := range docs {
				docs[i] = stripeLikeDoc(i + 1)
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < len(docs); i += 200 {
				batch := docs[i:min(i+200, len(docs))]
				if err := db.Transaction(func(tx *gorm.DB) error { return insertSearchDocs(tx, batch) }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
		})
	}
}

// stripeLikeDoc is the search text of a Stripe payment_intent.succeeded event of about 1.3 KB with
// its headers, its ids unique to n.
func stripeLikeDoc(n int) searchDoc {
	body := fmt.Sprintf(`{"id": "evt_1P%014d", "object": "event", "api_version": "2024-06-20", "created": 1732330000,
  "data": {"object": {"id": "pi_3P%014d", "object": "payment_intent", "amount": %d, "amount_received": %d,
    "currency": "usd", "customer": "cus_Q%010d", "description": "Order ord_%08d", "latest_charge": "ch_3P%014d",
    "livemode": false, "metadata": {"order_id": "ord_%08d", "customer_email": "customer.%08d@example.com"},
    "payment_method": "pm_1P%014d", "payment_method_types": ["card"], "receipt_email": "customer.%08d@example.com",
    "status": "succeeded", "shipping": {"name": "Jane Doe", "address": {"city": "Dhaka", "country": "BD",
    "line1": "12 Road 5", "postal_code": "1205"}}, "statement_descriptor": "HOOKLOG SHOP",
    "capture_method": "automatic", "confirmation_method": "automatic"}},
  "livemode": false, "pending_webhooks": 1, "request": {"id": "req_%014d", "idempotency_key": "idem-%014d"},
  "type": "payment_intent.succeeded"}`, n, n, 1000+n%9000, 1000+n%9000, n, n, n, n, n, n, n, n, n)
	headers := fmt.Sprintf("Content-Type: application/json; charset=utf-8\nStripe-Signature: t=1732330000,v1=%064x\nUser-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)\n", n)
	return searchDoc{id: uint(n), body: body, headers: headers}
}

// A database restored from a backup without its index file, beside the newer index it replaced,
// gets that index emptied and rebuilt: kept, it would claim the deliveries the restored database
// numbers next, with the text of the ones it lost.
func TestSearchIndexAheadOfARestoredDatabaseIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "hooklog.db")
	s, ep := indexerFixture(t, dsn)
	ingestN(t, s, ep, 3, "avocet")
	backup := filepath.Join(dir, "backup.db")
	if err := s.Backup(backup); err != nil {
		t.Fatal(err)
	}
	ingestN(t, s, ep, 3, "bittern") // after the backup: in the index, not in the restored database
	if err := s.CatchUpSearch(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The restore of old: only the database file goes back.
	raw, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dsn + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(dsn, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	s2, ep2 := indexerFixture(t, dsn)
	s2.stopSearchIndexer()
	ingestN(t, s2, ep2, 2, "curlew") // numbered as the lost "bittern" deliveries were
	if err := s2.CatchUpSearch(); err != nil {
		t.Fatal(err)
	}
	for word, want := range map[string]int64{"avocet": 3, "curlew": 2, "bittern": 0} {
		if matching, _ := indexed(t, s2, word); matching != want {
			t.Errorf("%q matches %d deliveries in the index, want %d", word, matching, want)
		}
	}
	if _, all := indexed(t, s2, "avocet"); all != 5 {
		t.Errorf("index holds %d rows, want the 5 deliveries of the restored database", all)
	}
}
