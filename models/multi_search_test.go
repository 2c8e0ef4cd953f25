package models

import (
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hooklog/testapp/testdb"
)

// multiStore opens a fresh store on the database the test run uses: SQLite, or PostgreSQL when
// HOOKLOG_TEST_POSTGRES is set.
func multiStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(Options{DSN: testdb.DSN(t, "multi.db"), MaxConns: 4, Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestMultiSearchContract is the search contract both databases keep: the same terms find the same
// deliveries. Each case says which of the documents below a search finds; the expectations are
// what SQLite's FTS5 index finds, and PostgreSQL's tsvector index must find the same.
func TestMultiSearchContract(t *testing.T) {
	s := multiStore(t)
	m, err := s.EnsureMerchant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	docs := []struct {
		body    string
		headers http.Header
	}{
		0: {body: `{"customer":"Jane@Example.com","order":"ord-123","amount":"1234.56"}`},
		1: {body: `{"note":"<img src=x onerror=alert(1)> <script>alert(1)</script>"}`},
		2: {body: `{"city":"Café crème","trace_id":"abc_def","tag":"x+y"}`},
		3: {body: `{"msg":"Привет мир","jp":"日本語テキスト","mix":"payment COMPLETED"}`},
		4: {body: "not text \xff\xfe ord-123", headers: http.Header{"X-Trace": {"trace-7f3a9 <i>x</i>"}}},
		5: {body: `{"a":"completed payment","b":"-lead +8801712345678 a.b.c"}`},
		6: {body: "{\"nul\":\"before\x00after\",\"escaped\":\"x\\u0000y\",\"tab\":\"one\ttwo\"}", headers: http.Header{"X-Trace": {"ORD-123"}}},
		7: {body: "last words of the headers\n", headers: http.Header{"X-Last": {"headers"}}},
	}
	ids := make([]uint, len(docs))
	for i, d := range docs {
		ids[i] = multiDelivery(t, s, m.ID, d.body, d.headers)
	}
	cases := []struct {
		q    string
		want []int // documents found, by index
	}{
		{"jane@example.com", []int{0}},
		{"JANE@EXAMPLE.COM", []int{0}},
		{"jane", nil}, // part of a word finds nothing
		{"example.com", nil},
		{"ord-123", []int{0, 6}}, // 4's body is not valid UTF-8, so only its headers are indexed
		{"ord", nil},
		{"1234.56", []int{0}},
		{"<script>alert(1)</script>", []int{1}},
		{"alert(1)", []int{1}},
		{"<img", []int{1}},
		{"onerror=alert", []int{1}},
		{"cafe", []int{2}},
		{"CAFÉ", []int{2}},
		{"crème", []int{2}},
		{"trace_id", []int{2}},
		{"abc_def", []int{2}},
		{"abc", nil},
		{"x+y", []int{2}},
		{"привет", []int{3}},
		{"日本語テキスト", []int{3}},
		{"日本語", nil},
		{"payment completed", []int{3, 5}}, // two terms, each anywhere
		{"payment", []int{3, 5}},
		{"trace-7f3a9", []int{4}},
		{"TRACE-7F3A9 ord-123", nil},
		{"TRACE-7F3A9 x", []int{4}},
		{"-lead", []int{5}},
		{"lead", nil},
		{"+8801712345678", []int{5}},
		{"a.b.c", []int{5}},
		{"before", []int{6}},
		{"after", []int{6}},
		{"u0000y", []int{6}},
		{"y", nil},
		{"one two", []int{6}},
		{"headers", []int{7}},
		{"nothing-like-this", nil},
	}
	for _, c := range cases {
		terms, _ := SearchTerms(c.q)
		p, err := s.Search(SearchFilter{MerchantID: m.ID, Terms: terms})
		if err != nil {
			t.Fatalf("%q: %v", c.q, err)
		}
		var got []int
		for _, h := range p.Hits {
			got = append(got, slices.Index(ids, h.ID))
		}
		want := slices.Clone(c.want)
		slices.Reverse(want) // newest first
		if !slices.Equal(got, want) {
			t.Errorf("search %q found documents %v; want %v (postgres %v)", c.q, got, want, s.Postgres())
		}
	}
}

// TestMultiSearchPhrase checks that a term of several words is a phrase: its words next to each
// other, in order, and never across the headers and the body.
func TestMultiSearchPhrase(t *testing.T) {
	s := multiStore(t)
	m, _ := s.EnsureMerchant("Acme")
	inOrder := multiDelivery(t, s, m.ID, `{"e":"alert(1) here"}`, nil)
	multiDelivery(t, s, m.ID, `{"e":"1 alert"}`, nil)
	multiDelivery(t, s, m.ID, `{"e":"alert x 1"}`, nil)
	multiDelivery(t, s, m.ID, `1 and then the body`, http.Header{"X": {"alert"}})
	terms, _ := SearchTerms("alert(1)")
	p, err := s.Search(SearchFilter{MerchantID: m.ID, Terms: terms})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hits) != 1 || p.Hits[0].ID != inOrder {
		var got []uint
		for _, h := range p.Hits {
			got = append(got, h.ID)
		}
		t.Errorf("alert(1) found %v; want only %d", got, inOrder)
	}
}

// TestMultiSearchLimits stores what PostgreSQL's tsvector cannot hold whole (a word over 2 KB, a
// body of a hundred thousand distinct words) and still stores the delivery and finds its other words.
func TestMultiSearchLimits(t *testing.T) {
	s := multiStore(t)
	m, _ := s.EnsureMerchant("Acme")
	long := multiDelivery(t, s, m.ID, "findme "+strings.Repeat("y", 5000), nil)
	var b strings.Builder
	b.WriteString("manywords ")
	for i := range 100_000 {
		b.WriteString("w")
		b.WriteString(strings.Repeat("q", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(string(rune('a' + i/26%26)))
		b.WriteString(string(rune('a' + i/676%26)))
		b.WriteString(string(rune('a' + i/17576%26)))
		b.WriteByte(' ')
	}
	many := multiDelivery(t, s, m.ID, b.String(), nil)
	for q, want := range map[string]uint{"findme": long, "manywords": many} {
		terms, _ := SearchTerms(q)
		p, err := s.Search(SearchFilter{MerchantID: m.ID, Terms: terms})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Hits) != 1 || p.Hits[0].ID != want {
			t.Errorf("%s: %d hits; want delivery %d", q, len(p.Hits), want)
		}
	}
}

// TestMultiConcurrentOpen opens the same fresh database from several stores at once, as instances
// starting together do: every one migrates without error.
func TestMultiConcurrentOpen(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("several instances share a database only on PostgreSQL; set HOOKLOG_TEST_POSTGRES to run this")
	}
	dsn := testdb.DSN(t, "multi.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(Options{DSN: dsn, MaxConns: 2, Key: make([]byte, 32)})
			if err == nil {
				_, err = s.EnsureMerchant("Acme")
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
}

func TestMultiIsPostgresDSN(t *testing.T) {
	cases := []struct {
		dsn  string
		want bool
	}{
		{"postgres://u:p@db:5432/hooklog?sslmode=disable", true},
		{"postgresql://db/hooklog", true},
		{"host=db user=hooklog dbname=hooklog sslmode=disable", true},
		{"  host=/var/run/postgresql dbname=hooklog", true},
		{"data/hooklog.db", false},
		{"file:data/hooklog.db?mode=rwc", false},
		{"/var/lib/hooklog/host=1.db", false},
		{"dbname=hooklog", false},
		{"", false},
	}
	for _, c := range cases {
		if got := IsPostgresDSN(c.dsn); got != c.want {
			t.Errorf("IsPostgresDSN(%q) = %v; want %v", c.dsn, got, c.want)
		}
	}
}

func TestMultiRedactDSN(t *testing.T) {
	cases := []struct{ dsn, want string }{
		{"postgres://hooklog:s3cret@db:5432/hooklog", "postgres://hooklog:xxxxx@db:5432/hooklog"},
		{"host=db password=s3cret dbname=hooklog", "host=db password=xxxxx dbname=hooklog"},
		{"data/hooklog.db", "data/hooklog.db"},
	}
	for _, c := range cases {
		if got := RedactDSN(c.dsn); got != c.want {
			t.Errorf("RedactDSN(%q) = %q; want %q", c.dsn, got, c.want)
		}
	}
}

// multiDelivery stores a rejected delivery with body and headers, indexed for search.
func multiDelivery(t *testing.T, s *Store, merchantID uint, body string, h http.Header) uint {
	t.Helper()
	ing := NewIngester(s, 1, nil)
	defer ing.Close()
	st, err := ing.Store(t.Context(), &Incoming{Delivery: Delivery{MerchantID: merchantID, EndpointID: 1, ReceivedAt: s.Now(),
		RemoteAddr: "127.0.0.1", Headers: h, Body: []byte(body), BodySize: int64(len(body)), Outcome: OutcomeRejected,
		Reason: "no signature matched", StatusCode: 401}})
	if err != nil {
		t.Fatal(err)
	}
	return st.DeliveryID
}

// TestMultiPurgeSearchIndex purges old deliveries and checks that their search entries go with
// them, and that a backup on PostgreSQL answers with the way to back it up instead.
func TestMultiPurgeSearchIndex(t *testing.T) {
	var offset atomic.Int64
	s, err := Open(Options{DSN: testdb.DSN(t, "multi.db"), MaxConns: 4, Key: make([]byte, 32),
		Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m, _ := s.EnsureMerchant("Acme")
	old := []uint{multiDelivery(t, s, m.ID, "purgeme one", nil), multiDelivery(t, s, m.ID, "purgeme two", nil)}
	offset.Store(int64(48 * time.Hour))
	recent := multiDelivery(t, s, m.ID, "purgeme three", nil)
	res, err := s.Purge(RetentionPolicy{OlderThan: 24 * time.Hour, Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Deliveries != int64(len(old)) {
		t.Errorf("purged %d deliveries; want %d", res.Deliveries, len(old))
	}
	p, err := s.Search(SearchFilter{MerchantID: m.ID, Terms: []string{"purgeme"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hits) != 1 || p.Hits[0].ID != recent {
		t.Errorf("after the purge %d hits; want only delivery %d", len(p.Hits), recent)
	}
	var indexed int64
	if err := s.DB.Raw("SELECT COUNT(*) FROM delivery_search").Scan(&indexed).Error; err != nil {
		t.Fatal(err)
	}
	if indexed != 1 {
		t.Errorf("search index holds %d entries after the purge; want 1", indexed)
	}

	err = s.Backup(filepath.Join(t.TempDir(), "backup.db"))
	switch {
	case s.Postgres() && !errors.Is(err, ErrBackupPostgres):
		t.Errorf("backup on PostgreSQL: %v; want ErrBackupPostgres", err)
	case !s.Postgres() && err != nil:
		t.Errorf("backup on SQLite: %v", err)
	}
}

// TestMultiTimesInUTC reads times back in UTC whatever the process's time zone, on both databases.
func TestMultiTimesInUTC(t *testing.T) {
	local := time.Local
	time.Local = time.FixedZone("UTC+9", 9*3600)
	t.Cleanup(func() { time.Local = local })
	s := multiStore(t)
	m, err := s.EnsureMerchant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Merchant(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Location() != time.UTC || got.CreatedAt.Sub(s.Now()).Abs() > time.Minute {
		t.Errorf("created_at read back as %s; want a recent time in UTC", got.CreatedAt)
	}
}

// TestMultiReplayReturnsQueued replays an event and gets it back as the replay left it, whatever a
// worker does next; an event being processed is left alone and reported busy.
func TestMultiReplayReturnsQueued(t *testing.T) {
	s := multiStore(t)
	m, _ := s.EnsureMerchant("Acme")
	now := s.Now()
	ing := NewIngester(s, 1, nil)
	defer ing.Close()
	st, err := ing.Store(t.Context(), &Incoming{
		Delivery: Delivery{MerchantID: m.ID, EndpointID: 1, ReceivedAt: now, Body: []byte(`{}`), StatusCode: 200},
		Event: &Event{MerchantID: m.ID, EndpointID: 1, ExternalID: "evt-replay", Provider: "generic", Status: StatusFailed,
			ReceivedAt: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := s.Replay(m.ID, st.EventID, "ada@acme.test")
	if err != nil || ev.ID != st.EventID || ev.ExternalID != "evt-replay" || ev.Status != StatusPending ||
		ev.PendingTrigger != TriggerReplay || ev.PendingActor != "ada@acme.test" || ev.NextAttemptAt == nil {
		t.Fatalf("Replay = %+v, %v; want the event pending for a replay by ada@acme.test", ev, err)
	}
	claims, err := s.ClaimEvents(1, time.Minute)
	if err != nil || len(claims) != 1 {
		t.Fatalf("claim: %d, %v", len(claims), err)
	}
	ev, err = s.Replay(m.ID, st.EventID, "bob@acme.test")
	if !errors.Is(err, ErrBusy) || ev == nil || ev.Status != StatusProcessing {
		t.Errorf("Replay while processing = %+v, %v; want the processing event and ErrBusy", ev, err)
	}
	if _, err := s.Replay(m.ID+1, st.EventID, "eve@other.test"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Replay of another merchant's event: %v; want ErrNotFound", err)
	}
}
