package models

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"hooklog/testapp/testdb"
)

func recordsStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(Options{DSN: testdb.DSN(t, "records.db"), MaxConns: 4, Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// recordsDelivery stores a rejected delivery (no event) with body and headers, indexed for search.
func recordsDelivery(t *testing.T, s *Store, merchantID, endpointID uint, body string, h http.Header) uint {
	t.Helper()
	var id uint
	err := s.DB.Transaction(func(tx *gorm.DB) error {
		st, d, err := storeIncoming(tx, &Incoming{Delivery: Delivery{MerchantID: merchantID, EndpointID: endpointID, ReceivedAt: s.Now(),
			RemoteAddr: "127.0.0.1", Headers: h, Body: []byte(body), BodySize: int64(len(body)), Outcome: OutcomeRejected,
			Reason: "no signature matched", StatusCode: 401}})
		if err != nil {
			return err
		}
		id = st.DeliveryID
		return indexStored(tx, d)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRecordsSearchTerms(t *testing.T) {
	cases := []struct {
		in      string
		want    []string
		dropped bool
	}{
		{"", nil, false},
		{"   \t\n ", nil, false},
		{"jane@example.com", []string{"jane@example.com"}, false},
		{"  pi_3Nx  100.00 ", []string{"pi_3Nx", "100.00"}, false},
		{`" * : ^ ( ) "`, nil, false},
		{"- + @ _ . --", nil, false},
		{"-x +1 @a", []string{"-x", "+1", "@a"}, false},
		{"NEAR( OR AND NOT", []string{"NEAR(", "OR", "AND", "NOT"}, false},
		{"Jane jane JANE", []string{"Jane"}, false},
		{"a\x00b c\x1fd", []string{"a", "b", "c", "d"}, false},
		{"\xff\xfe abc", []string{"abc"}, false},
		{"+8801712345678", []string{"+8801712345678"}, false},
		{"১২৩ café", []string{"১২৩", "café"}, false},
		{strings.Repeat("w ", 3) + "1 2 3 4 5 6 7 8 9 10 11 12 13", []string{"w", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}, true},
	}
	for _, c := range cases {
		got, dropped := SearchTerms(c.in)
		if !slices.Equal(got, c.want) || dropped != c.dropped {
			t.Errorf("SearchTerms(%q) = %q, %v; want %q, %v", c.in, got, dropped, c.want, c.dropped)
		}
	}
}

func TestRecordsFTSQuery(t *testing.T) {
	cases := []struct {
		terms []string
		want  string
	}{
		{[]string{"jane@example.com"}, `"jane@example.com"`},
		{[]string{"a", "b"}, `"a" AND "b"`},
		{[]string{`say"hi"`}, `"say""hi"""`},
		{[]string{`"`}, `""""`},
		{[]string{"OR", "NEAR(", "col:val", "^x", "x*"}, `"OR" AND "NEAR(" AND "col:val" AND "^x" AND "x*"`},
	}
	for _, c := range cases {
		if got := FTSQuery(c.terms); got != c.want {
			t.Errorf("FTSQuery(%q) = %s; want %s", c.terms, got, c.want)
		}
	}
}

// TestRecordsSearchHostileInput runs hostile input through the real index: nothing errors, and
// FTS operators are searched as words, never obeyed.
func TestRecordsSearchHostileInput(t *testing.T) {
	s := recordsStore(t)
	m, err := s.EnsureMerchant("Acme")
	if err != nil {
		t.Fatal(err)
	}
	or := recordsDelivery(t, s, m.ID, 1, `{"a":"alpha","b":"beta"}`, nil)
	words := recordsDelivery(t, s, m.ID, 1, `{"note":"this OR that, NEAR the col:val ^x x* -minus \"quoted\""}`, nil)
	cases := []struct {
		q    string
		want []uint
	}{
		{`alpha OR beta`, nil}, // OR is a word to find, and only the other delivery has it
		{`alpha`, []uint{or}},
		{`"alpha`, []uint{or}},
		{`alpha"`, []uint{or}},
		{`"alpha beta"`, []uint{or}},
		{`alpha*`, []uint{or}}, // no prefix query: "*" is only a separator inside the quoted term
		{`NEAR(alpha beta)`, nil},
		{`NEAR(`, []uint{words}},
		{`-minus`, []uint{words}},
		{`col:val`, []uint{words}},
		{`^x`, []uint{words}},
		{`x*`, []uint{words}},
		{`OR`, []uint{words}},
		{`: ^ * ( ) "`, nil},
		{`<script>alert(1)</script>`, nil},
		{`a:b:c "d" 'e' {f} [g] \h`, nil},
	}
	for _, c := range cases {
		terms, _ := SearchTerms(c.q)
		page, err := s.Search(SearchFilter{MerchantID: m.ID, Terms: terms})
		if err != nil {
			t.Errorf("Search(%q): %v", c.q, err)
			continue
		}
		var got []uint
		for _, h := range page.Hits {
			got = append(got, h.ID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Search(%q) = %v; want %v", c.q, got, c.want)
		}
	}
}

// TestRecordsSearchPlan checks that the index drives every search: the FTS table is the outer
// loop, deliveries and events are looked up by primary key, and nothing is sorted afterwards.
func TestRecordsSearchPlan(t *testing.T) {
	s := recordsStore(t)
	if s.Postgres() {
		t.Skip("asserts SQLite's FTS5 query plan; PostgreSQL plans the tsvector search its own way")
	}
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name         string
		f            SearchFilter
		older, newer uint
	}{
		{"first page", SearchFilter{}, 0, 0},
		{"older page", SearchFilter{}, 500, 0},
		{"newer page", SearchFilter{}, 0, 500},
		{"every filter", SearchFilter{EndpointID: 2, Outcome: OutcomeAccepted, EventType: "payment.completed", Status: StatusProcessed,
			Mark: MarkResolved, Since: since, Until: since.Add(time.Hour)}, 500, 0},
	}
	for _, c := range cases {
		c.f.MerchantID, c.f.Terms = 1, []string{"jane@example.com"}
		sql, args := searchSQL(c.f, c.older, c.newer, 51)
		var plan []struct {
			ID, Parent, Notused int
			Detail              string
		}
		if err := s.DB.Raw("EXPLAIN QUERY PLAN "+sql, args...).Scan(&plan).Error; err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var lines []string
		for _, p := range plan {
			lines = append(lines, p.Detail)
		}
		want := []string{"SCAN delivery_search VIRTUAL TABLE", "SEARCH deliveries USING INTEGER PRIMARY KEY (rowid=?)", "SEARCH events USING INTEGER PRIMARY KEY (rowid=?)"}
		if len(lines) != len(want) {
			t.Errorf("%s: plan %q; want %q", c.name, lines, want)
			continue
		}
		for i := range want {
			if !strings.HasPrefix(lines[i], want[i]) {
				t.Errorf("%s: plan step %d is %q; want %q", c.name, i, lines[i], want[i])
			}
		}
	}
}

func TestRecordsSearchScopeAndPaging(t *testing.T) {
	s := recordsStore(t)
	a, _ := s.EnsureMerchant("A")
	b, _ := s.EnsureMerchant("B")
	var mine []uint
	for i := range 23 {
		mine = append(mine, recordsDelivery(t, s, a.ID, 1, `{"token":"shared-term","n":`+strings.Repeat("1", i+1)+`}`, nil))
		recordsDelivery(t, s, b.ID, 2, `{"token":"shared-term"}`, nil)
	}
	slices.Reverse(mine)
	f := SearchFilter{MerchantID: a.ID, Terms: []string{"shared-term"}, Limit: 5}
	var seen []uint
	var pages []SearchPage
	for {
		p, err := s.Search(f)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
		for _, h := range p.Hits {
			seen = append(seen, h.ID)
			if h.MerchantID != a.ID {
				t.Fatalf("hit %d belongs to merchant %d", h.ID, h.MerchantID)
			}
			if h.Delivery.Body != nil || h.Delivery.Headers != nil {
				t.Fatalf("hit %d carries its whole body out of the store", h.ID)
			}
		}
		if len(pages) > 1 && p.Newer == "" {
			t.Fatalf("page %d has no link to newer hits", len(pages))
		}
		if p.Older == "" {
			break
		}
		f.Older, f.Newer = p.Older, ""
	}
	if !slices.Equal(seen, mine) {
		t.Fatalf("walking older pages saw %v; want %v", seen, mine)
	}
	if len(pages) != 5 || len(pages[4].Hits) != 3 {
		t.Fatalf("got %d pages, last with %d hits; want 5 pages, the last with 3", len(pages), len(pages[len(pages)-1].Hits))
	}
	// Back again through the newer links: the same pages, in reverse.
	for i := len(pages) - 1; i > 0; i-- {
		f.Older, f.Newer = "", pages[i].Newer
		p, err := s.Search(f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(p.Hits, pages[i-1].Hits, func(x, y SearchHit) bool { return x.ID == y.ID }) {
			t.Fatalf("newer than page %d: got other hits than page %d", i+1, i)
		}
		if (p.Newer == "") != (i-1 == 0) {
			t.Fatalf("newer than page %d: newer link %q", i+1, p.Newer)
		}
	}
	if _, err := s.Search(SearchFilter{MerchantID: a.ID, Terms: []string{"x"}, Older: "!!"}); err != ErrBadCursor {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestRecordsHighlight(t *testing.T) {
	long := strings.Repeat("a", 300)
	cases := []struct {
		name       string
		terms      []string
		text       string
		want       string // matches in [brackets]
		matched    bool
		start, end bool
	}{
		{"case-insensitive", []string{"jane@example.com"}, `{"email":"Jane@Example.com"}`, `{"email":"[Jane@Example.com]"}`, true, false, false},
		{"every match in the window", []string{"pay", "ord_1"}, `pay ord_1 pay`, `[pay] [ord_1] [pay]`, true, false, false},
		{"longest term first", []string{"100", "100.00"}, `amount 100.00`, `amount [100.00]`, true, false, false},
		{"no match shows the start", []string{"zzz"}, "hello  \n\t world", "hello world", false, false, false},
		{"html stays text", []string{"onerror"}, `<img src=x onerror=alert(1)>`, `<img src=x [onerror]=alert(1)>`, true, false, false},
		{"regexp characters are literal", []string{"a.b", "(x)"}, `axb a.b (x) x`, `axb [a.b] [(x)] x`, true, false, false},
		{"clipped both sides", []string{"needle"}, long + " needle " + long, strings.Repeat("a", 49) + " [needle] " + strings.Repeat("a", 103), true, true, true},
		{"match near the end keeps the width", []string{"needle"}, long + " needle", strings.Repeat("a", 153) + " [needle]", true, true, false},
		{"multibyte text is cut on rune boundaries", []string{"x"}, strings.Repeat("ব", 100) + "x" + strings.Repeat("ব", 200), strings.Repeat("ব", 50) + "[x]" + strings.Repeat("ব", 109), true, true, true},
		{"empty text", []string{"x"}, "", "", false, false, false},
	}
	for _, c := range cases {
		sn := NewHighlighter(c.terms).Snippet(c.text)
		var b strings.Builder
		for _, s := range sn.Segments {
			if s.Match {
				b.WriteString("[" + s.Text + "]")
			} else {
				b.WriteString(s.Text)
			}
		}
		if b.String() != c.want || sn.Matched != c.matched || sn.ClippedStart != c.start || sn.ClippedEnd != c.end {
			t.Errorf("%s: got %q matched=%v clipped=%v,%v; want %q matched=%v clipped=%v,%v", c.name, b.String(), sn.Matched,
				sn.ClippedStart, sn.ClippedEnd, c.want, c.matched, c.start, c.end)
		}
		for _, s := range sn.Segments {
			if s.Text == "" {
				t.Errorf("%s: empty segment", c.name)
			}
		}
	}
	sn := Snippet{Segments: []Segment{{"a ", false}, {"b", true}}, ClippedStart: true, ClippedEnd: true}
	if got := sn.Text(); got != "…a b…" {
		t.Errorf("Text() = %q", got)
	}
}
