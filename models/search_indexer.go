package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// On SQLite the search index is written behind the ingest writer instead of inside its transaction.
// FTS5 turns every statement's rows into a new index segment at commit and merges segments as they
// pile up, so indexing each small ingest batch made the single writer spend a third of its commit
// writing and merging tiny segments, and doubled the pages each commit wrote to the WAL. The indexer
// instead indexes what has arrived in batches of up to searchIndexBatch deliveries, a moment after
// the ingest writer wakes it, in its own short transactions, in the index's own file (see
// openSQLite): it never holds the main file's write lock, so it keeps up under steady traffic
// without holding up the webhooks or the workers.
//
// delivery_search_progress holds the newest delivery id indexed: every delivery at or below it is in
// the index, none above it. That works because SQLite's single writer hands out delivery ids in
// commit order, so no delivery can later appear below a mark already passed. A search first brings
// the index up to the newest delivery (CatchUpSearch), so it never misses one that has been
// acknowledged; and a crash loses nothing, because the indexer starts from the mark when the store
// opens. PostgreSQL, whose ids are not in commit order and whose GIN index has no such segments,
// indexes each delivery in its ingest transaction as before.

// searchIndexBatch is the most deliveries one indexing transaction reads and indexes.
const searchIndexBatch = 1000

// searchIndexDelay is how long the indexer lets deliveries gather after being woken, so that a
// burst is indexed in large batches. A search never waits for it: it catches up itself.
const searchIndexDelay = 100 * time.Millisecond

// searchPendingMax bounds the search text the ingest writer hands the indexer (about 2 KB each);
// beyond it, deliveries are read back from the database instead. The hand-off saves that read while
// the indexer keeps up; text held through a burst it falls behind in would be 16 MB of heap at
// 8,192 (and twice that in resident memory, with the garbage collector's headroom).
const searchPendingMax = 2048

// searchBatchBytes bounds the text of one batch, and of what is handed in, by size: at most 8 MiB of
// bodies (of up to max_body_bytes each) are held at a time, however large they are.
const searchBatchBytes = 8 << 20

// searchIndexer runs the SQLite indexing goroutine.
type searchIndexer struct {
	// mu lets one batch be indexed at a time: the goroutine's, or a search's catching up.
	mu         sync.Mutex
	wake       chan struct{}
	stop, done chan struct{}

	// pending is the text of deliveries just committed, in id order, as the ingest writer computed
	// it: indexing from it saves reading each body back and decompressing it.
	pendingMu    sync.Mutex
	pending      []searchDoc
	pendingBytes int
}

// searchDoc is one delivery's text for the index (see searchText).
type searchDoc struct {
	id            uint
	body, headers string
}

func (d searchDoc) size() int { return len(d.body) + len(d.headers) }

// startSearchIndexer starts the goroutine, which first indexes whatever an earlier run left behind.
func (s *Store) startSearchIndexer() {
	ix := &searchIndexer{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	s.indexer.Store(ix)
	ix.wake <- struct{}{}
	go func() {
		defer close(ix.done)
		untidy := true // indexed since the last tidySearchIndex (or by an earlier run)
		for {
			var quiet <-chan time.Time
			if untidy {
				quiet = time.After(searchTidyAfter)
			}
			select {
			case <-ix.stop:
				return
			case <-quiet:
				if s.IngestBusy() || time.Since(time.Unix(0, s.lastComplete.Load())) < searchTidyAfter {
					continue // the workers are draining a burst: the CPU is theirs first
				}
				if err := s.tidySearchIndex(ix); err != nil {
					slog.Warn("store: search index merge", "err", err)
				}
				untidy = false
				continue
			case <-ix.wake:
			}
			select {
			case <-ix.stop:
				return
			case <-time.After(searchIndexDelay):
			}
			n, err := s.indexSearchBacklog(ix.stop)
			if err != nil {
				slog.Warn("store: search index", "err", err)
			}
			untidy = untidy || n > 0
		}
	}()
}

// searchAutomerge is how many index segments of one size FTS5 lets pile up before it merges them
// while indexing (its default is 4). Merging is most of what indexing costs: at 16, each delivery's
// entries are rewritten about half as often, and indexing took about a third less time in
// BenchmarkSearchIndexBatch. A search reads every segment, so tidySearchIndex merges them down to SQLite's
// usual few once webhooks stop arriving for a moment.
const searchAutomerge = 16

// searchTidyAfter is how long the indexer waits without new deliveries, and without events
// completed, before it merges segments.
const searchTidyAfter = 5 * time.Second

// tidySearchIndex merges the index's segments down to fewer than four of a size (FTS5's usermerge),
// a few hundred pages at a time, so that a search or a burst of webhooks waits for one step at most.
// It stops when there is nothing left to merge or deliveries arrive again.
func (s *Store) tidySearchIndex(ix *searchIndexer) error {
	for {
		select {
		case <-ix.stop:
			return nil
		case <-ix.wake:
			ix.wake <- struct{}{} // for the indexer's loop
			return nil
		default:
		}
		ix.mu.Lock()
		var before, after int64
		err := s.searchDB.Connection(func(c *gorm.DB) error {
			if err := c.Raw(`SELECT total_changes()`).Scan(&before).Error; err != nil {
				return err
			}
			if err := c.Exec(`INSERT INTO delivery_search(delivery_search, rank) VALUES ('merge', 256)`).Error; err != nil {
				return err
			}
			return c.Raw(`SELECT total_changes()`).Scan(&after).Error
		})
		ix.mu.Unlock()
		// FTS5 counts the pages a merge wrote as changes: fewer than 2 means nothing was left to merge.
		if err != nil || after-before < 2 {
			return err
		}
	}
}

// stopSearchIndexer stops the goroutine; what it had not indexed is indexed at the next start, or by
// the next search.
func (s *Store) stopSearchIndexer() {
	if ix := s.indexer.Swap(nil); ix != nil {
		close(ix.stop)
		<-ix.done
	}
}

// handSearchIndexer gives the indexer the text of deliveries just committed, in id order, and
// wakes it.
func (s *Store) handSearchIndexer(docs []searchDoc) {
	ix := s.indexer.Load()
	if ix == nil {
		return
	}
	size := 0
	for _, d := range docs {
		size += d.size()
	}
	ix.pendingMu.Lock()
	if len(ix.pending)+len(docs) <= searchPendingMax && ix.pendingBytes+size <= searchBatchBytes {
		ix.pending = append(ix.pending, docs...)
		ix.pendingBytes += size
	}
	ix.pendingMu.Unlock()
	select {
	case ix.wake <- struct{}{}:
	default:
	}
}

// takePending returns up to limit handed-in documents above mark, dropping those at or below it.
func (ix *searchIndexer) takePending(mark uint, limit int) []searchDoc {
	ix.pendingMu.Lock()
	defer ix.pendingMu.Unlock()
	i := 0
	for i < len(ix.pending) && ix.pending[i].id <= mark {
		ix.pendingBytes -= ix.pending[i].size()
		i++
	}
	ix.pending = ix.pending[i:]
	if len(ix.pending) == 0 {
		ix.pending = nil // let the backing array go
	}
	return slices.Clone(ix.pending[:min(limit, len(ix.pending))])
}

// dropPending forgets the handed-in documents, when they turn out not to cover the deliveries.
func (ix *searchIndexer) dropPending() {
	ix.pendingMu.Lock()
	ix.pending, ix.pendingBytes = nil, 0
	ix.pendingMu.Unlock()
}

// CatchUpSearch indexes every delivery committed so far, so that a search sees them all. It costs
// one small read when the index is up to date, which it nearly always is.
func (s *Store) CatchUpSearch() error {
	if s.Postgres() {
		return nil
	}
	mark, newest, err := s.searchProgress()
	if err != nil || mark >= newest {
		return err
	}
	_, err = s.indexSearchBacklog(nil)
	return err
}

// searchProgress reads the mark and the newest delivery id.
func (s *Store) searchProgress() (mark, newest uint, err error) {
	err = s.DB.Raw(`SELECT indexed_through, (SELECT COALESCE(MAX(id), 0) FROM deliveries) FROM delivery_search_progress`).
		Row().Scan(&mark, &newest)
	if err != nil {
		return 0, 0, fmt.Errorf("store: search progress: %w", err)
	}
	return mark, newest, nil
}

// searchMarkIn reads the newest delivery id indexed, on db or inside a transaction.
func searchMarkIn(db *gorm.DB) (mark uint, err error) {
	err = db.Raw(`SELECT indexed_through FROM delivery_search_progress`).Row().Scan(&mark)
	return mark, err
}

// errSearchMarkMoved means another process advanced the mark first; the pass starts again from it.
var errSearchMarkMoved = errors.New("search index mark moved")

// indexSearchBacklog indexes the deliveries above the mark, searchIndexBatch at a time, until none
// are left, and returns how many it indexed. The background indexer passes its stop channel, which
// ends the pass between batches; a search catching up passes nil.
func (s *Store) indexSearchBacklog(background <-chan struct{}) (int, error) {
	if s.Postgres() {
		return 0, nil
	}
	ix := s.indexer.Load()
	if ix == nil {
		ix = &searchIndexer{} // a store without the goroutine (closed): index under a private lock
	}
	total := 0
	for {
		if background != nil {
			select {
			case <-background:
				return total, nil
			default:
			}
		}
		ix.mu.Lock()
		n, err := s.indexSearchBatch(ix)
		ix.mu.Unlock()
		if errors.Is(err, errSearchMarkMoved) {
			continue
		}
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// indexSearchBatch indexes up to searchIndexBatch deliveries above the mark. Their text comes from
// what the ingest writer handed in or, when that does not cover them (after a restart, or beyond
// searchPendingMax), from the rows. Only the deliveries still there (a purge may have removed
// some meanwhile) are indexed, and the mark moves past them in the same transaction of the index's
// file. A purge in this process waits for ix.mu before it unindexes (see unindexDeliveries), so
// it never misses a delivery this batch indexes after reading it still there.
func (s *Store) indexSearchBatch(ix *searchIndexer) (int, error) {
	mark, err := searchMarkIn(s.searchDB)
	if err != nil {
		return 0, fmt.Errorf("store: search progress: %w", err)
	}
	docs := ix.takePending(mark, searchIndexBatch)
	handed := len(docs) > 0
	if !handed {
		if docs, err = s.readSearchDocs(mark, searchIndexBatch); err != nil || len(docs) == 0 {
			return 0, err
		}
	}
	last := docs[len(docs)-1].id
	var present []uint
	if err := s.DB.Raw(`SELECT id FROM deliveries WHERE id > ? AND id <= ? ORDER BY id`, mark, last).Scan(&present).Error; err != nil {
		return 0, fmt.Errorf("store: index deliveries for search: %w", err)
	}
	keep := make([]searchDoc, 0, len(present))
	rest := docs
	for _, id := range present {
		for len(rest) > 0 && rest[0].id < id {
			rest = rest[1:] // purged meanwhile
		}
		if len(rest) == 0 || rest[0].id != id {
			if handed {
				ix.dropPending()
				return 0, errSearchMarkMoved // start again, from the rows
			}
			return 0, fmt.Errorf("store: index deliveries for search: delivery %d was not read", id)
		}
		keep = append(keep, rest[0])
	}
	err = s.searchDB.Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE delivery_search_progress SET indexed_through = ? WHERE indexed_through = ?`, last, mark)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return errSearchMarkMoved
		}
		return insertSearchDocs(tx, keep)
	})
	switch {
	case errors.Is(err, errSearchMarkMoved):
		return 0, err
	case err != nil:
		return 0, fmt.Errorf("store: index deliveries for search: %w", err)
	}
	return len(docs), nil
}

// unindexDeliveries removes purged deliveries from the SQLite index, after the purge has deleted
// them from the main file. Only those at or below the mark are in the index, and the indexer skips
// the others, which it will find gone. Holding ix.mu keeps the indexer from indexing, between the
// two, a delivery it read before the purge; a purge from another process (hooklog purge beside a
// running server) can race it and leave an entry for a delivery that is gone, which costs a few
// bytes and nothing else: ids are never reused, and a search joins every entry to its delivery.
func (s *Store) unindexDeliveries(ids []uint) error {
	if s.Postgres() || len(ids) == 0 {
		return nil
	}
	ix := s.indexer.Load()
	if ix == nil {
		ix = &searchIndexer{}
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return s.searchDB.Transaction(func(tx *gorm.DB) error {
		mark, err := searchMarkIn(tx)
		if err != nil {
			return err
		}
		indexed := slices.DeleteFunc(slices.Clone(ids), func(id uint) bool { return id > mark })
		if len(indexed) == 0 {
			return nil
		}
		return tx.Exec("DELETE FROM delivery_search WHERE rowid IN ?", indexed).Error
	})
}

// readSearchDocs reads up to limit deliveries above mark, and at most searchBatchBytes of bodies
// (but at least one delivery), and prepares their text.
func (s *Store) readSearchDocs(mark uint, limit int) ([]searchDoc, error) {
	var sizes []struct {
		ID       uint
		BodySize int
	}
	err := s.DB.Model(&Delivery{}).Select("id", "body_size").Where("id > ?", mark).Order("id").Limit(limit).Scan(&sizes).Error
	if err != nil {
		return nil, fmt.Errorf("store: read deliveries to index: %w", err)
	}
	if len(sizes) == 0 {
		return nil, nil
	}
	through, total := sizes[0].ID, 0
	for _, d := range sizes {
		if total += d.BodySize; total > searchBatchBytes {
			break
		}
		through = d.ID
	}
	var rows []Delivery
	err = s.DB.Select("id", "headers", "body", "body_codec").Where("id > ? AND id <= ?", mark, through).Order("id").
		Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: read deliveries to index: %w", err)
	}
	docs := make([]searchDoc, len(rows))
	for i := range rows {
		body, headers := searchText(&rows[i])
		docs[i] = searchDoc{id: rows[i].ID, body: body, headers: headers}
	}
	return docs, nil
}

// insertSearchDocs adds docs to the index in as few statements as possible: FTS5 writes a segment
// per statement.
func insertSearchDocs(tx *gorm.DB, docs []searchDoc) error {
	const perStatement = 500 // 3 parameters a row, well under SQLite's limit
	for len(docs) > 0 {
		n := min(len(docs), perStatement)
		var q strings.Builder
		q.WriteString("INSERT INTO delivery_search(rowid, body, headers) VALUES ")
		args := make([]any, 0, 3*n)
		for i, d := range docs[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?)")
			args = append(args, d.id, d.body, d.headers)
		}
		if err := tx.Exec(q.String(), args...).Error; err != nil {
			return err
		}
		docs = docs[n:]
	}
	return nil
}

// SearchBacklog is how many committed deliveries the SQLite search index has yet to take in (always
// 0 on PostgreSQL, which indexes each delivery as it is stored).
func (s *Store) SearchBacklog(ctx context.Context) (int64, error) {
	if s.Postgres() {
		return 0, nil
	}
	var n int64
	err := s.DB.WithContext(ctx).Raw(`SELECT COUNT(*) FROM deliveries WHERE id > (SELECT indexed_through FROM delivery_search_progress)`).
		Row().Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: search backlog: %w", err)
	}
	return n, nil
}
