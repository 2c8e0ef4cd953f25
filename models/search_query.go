package models

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxSearchTerms bounds how many words one search uses; the rest are ignored.
const MaxSearchTerms = 12

// SearchTerms splits what a person typed into search terms: whitespace-separated words, without
// control characters, duplicates, or words without a letter or digit (a lone "*", ":" or "-", which
// would find nothing or only stray punctuation), at most MaxSearchTerms of them. dropped reports
// that words beyond the limit were ignored.
func SearchTerms(q string) (terms []string, dropped bool) {
	q = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, q)
	seen := map[string]bool{}
	for _, w := range strings.Fields(q) {
		key := strings.ToLower(w)
		if seen[key] || !strings.ContainsFunc(w, isLetterOrDigit) {
			continue
		}
		if len(terms) == MaxSearchTerms {
			return terms, true
		}
		seen[key] = true
		terms = append(terms, w)
	}
	return terms, false
}

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

// FTSQuery turns terms into an FTS5 query that only ever means "all of these words": each term is
// a double-quoted string (a quote inside is doubled), joined with AND. Nothing a person types can
// become FTS syntax (OR, NEAR, *, ^, column filters) or break the query.
func FTSQuery(terms []string) string {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	return strings.Join(quoted, " AND ")
}

// SearchFilter is a full-text search over a merchant's deliveries, narrowed like the delivery list.
type SearchFilter struct {
	MerchantID uint
	// Terms come from SearchTerms; a search without terms finds nothing.
	Terms      []string
	EndpointID uint
	Outcome    Outcome
	EventType  string
	Status     Status
	Mark       Mark
	Since      time.Time
	Until      time.Time
	// Older continues below a cursor (the next page); Newer goes back above one (the previous page).
	Older, Newer Cursor
	Limit        int
}

// SearchHit is one delivery that matched, with its event's state and the excerpts that matched.
type SearchHit struct {
	Delivery
	EventStatus Status
	EventMark   Mark
	OrderRef    string
	PaymentID   string
	// Body is an excerpt of the body around the first match (or its start when no word is found
	// verbatim, for instance through diacritic folding).
	Body Snippet
	// Headers is an excerpt of the headers when a term is found there; nil otherwise.
	Headers *Snippet
}

// SearchPage is one page of hits, newest first, with the cursors of its neighbours.
type SearchPage struct {
	Hits         []SearchHit
	Older, Newer Cursor
}

// searchRow is what the search query selects.
type searchRow struct {
	Delivery
	EventStatus Status
	EventMark   Mark
	OrderRef    string
	PaymentID   string
}

// Search finds a merchant's deliveries whose body or headers hold every term. The full-text index
// drives the query (CROSS JOIN keeps it the outer loop, walking rowids newest first), and only its
// hits are joined to deliveries for the merchant and the filters: the cost follows the matches,
// never the size of the merchant's history. On SQLite it first indexes any delivery the indexer has
// not reached yet, so every delivery acknowledged before the search can be found.
func (s *Store) Search(f SearchFilter) (SearchPage, error) {
	if len(f.Terms) == 0 {
		return SearchPage{}, nil
	}
	older, err := f.Older.ID()
	if err != nil {
		return SearchPage{}, err
	}
	newerThan, err := f.Newer.ID()
	if err != nil {
		return SearchPage{}, err
	}
	newer := newerThan != 0 && older == 0
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	if err := s.CatchUpSearch(); err != nil {
		return SearchPage{}, err
	}

	sql, args := searchSQL(f, older, newerThan, limit+1)
	if s.Postgres() {
		var ok bool
		if sql, args, ok = pgSearchSQL(f, older, newerThan, limit+1); !ok {
			return SearchPage{}, nil
		}
	}
	var rows []searchRow
	if err := s.DB.Raw(sql, args...).Scan(&rows).Error; err != nil {
		return SearchPage{}, fmt.Errorf("store: search deliveries: %w", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	if newer {
		slices.Reverse(rows)
	}
	p := SearchPage{Hits: make([]SearchHit, 0, len(rows))}
	hl := NewHighlighter(f.Terms)
	for _, r := range rows {
		if err := r.Delivery.openBody(); err != nil { // Scan runs no hooks
			return SearchPage{}, err
		}
		h := SearchHit{Delivery: r.Delivery, EventStatus: r.EventStatus, EventMark: r.EventMark, OrderRef: r.OrderRef, PaymentID: r.PaymentID}
		body, headers := searchText(&r.Delivery)
		h.Body = hl.Snippet(body)
		if hs := hl.Snippet(headers); hs.Matched {
			h.Headers = &hs
		}
		// Only the excerpts leave the store; a page of hits should not hold every body in memory.
		h.Delivery.Body, h.Delivery.Headers = nil, nil
		p.Hits = append(p.Hits, h)
	}
	if len(rows) == 0 {
		return p, nil
	}
	p.Newer, p.Older = pageLinks(newer, older != 0, more, EncodeCursor(rows[0].ID), EncodeCursor(rows[len(rows)-1].ID))
	return p, nil
}

// searchSQL builds the search query: below older or (ascending) above newer when set, at most limit rows.
func searchSQL(f SearchFilter, older, newer uint, limit int) (string, []any) {
	return buildSearchSQL(`FROM delivery_search
		CROSS JOIN deliveries ON deliveries.id = delivery_search.rowid
		LEFT JOIN events ON events.id = deliveries.event_id
		WHERE delivery_search MATCH ?`, "delivery_search.rowid", []any{FTSQuery(f.Terms)}, f, older, newer, limit)
}

// pgSearchSQL is searchSQL on PostgreSQL, where the index is a tsvector of the words SQLite's index
// would hold (see pgSearchQuery). ok is false when the terms can match nothing.
func pgSearchSQL(f SearchFilter, older, newer uint, limit int) (sql string, args []any, ok bool) {
	q, ok := pgSearchQuery(f.Terms)
	if !ok {
		return "", nil, false
	}
	sql, args = buildSearchSQL(`FROM delivery_search
		JOIN deliveries ON deliveries.id = delivery_search.delivery_id
		LEFT JOIN events ON events.id = deliveries.event_id
		WHERE delivery_search.doc @@ CAST(? AS tsquery)`, "delivery_search.delivery_id", []any{q}, f, older, newer, limit)
	return sql, args, true
}

// buildSearchSQL completes a search query whose from clause finds the matches (with matchArgs) and
// whose key column is the delivery id: the merchant, the filters, the page and the order.
func buildSearchSQL(from, key string, matchArgs []any, f SearchFilter, older, newer uint, limit int) (string, []any) {
	var sql strings.Builder
	sql.WriteString(`SELECT deliveries.*, COALESCE(events.status, '') AS event_status, COALESCE(events.mark, '') AS event_mark,
		COALESCE(events.order_ref, '') AS order_ref, COALESCE(events.payment_id, '') AS payment_id
		` + from + ` AND deliveries.merchant_id = ?`)
	args := append(matchArgs, f.MerchantID)
	where := func(cond string, v any) {
		sql.WriteString(" AND " + cond)
		args = append(args, v)
	}
	ascending := newer != 0 && older == 0
	switch {
	case ascending:
		where(key+" > ?", newer)
	case older != 0:
		where(key+" < ?", older)
	}
	if f.EndpointID != 0 {
		where("deliveries.endpoint_id = ?", f.EndpointID)
	}
	if f.Outcome != "" {
		where("deliveries.outcome = ?", f.Outcome)
	}
	if f.EventType != "" {
		where("deliveries.event_type = ?", f.EventType)
	}
	if f.Status != "" {
		where("events.status = ?", f.Status)
	}
	if f.Mark != "" {
		where("events.mark = ?", f.Mark)
	}
	if !f.Since.IsZero() {
		where("deliveries.received_at >= ?", f.Since)
	}
	if !f.Until.IsZero() {
		where("deliveries.received_at < ?", f.Until)
	}
	if ascending {
		sql.WriteString(" ORDER BY " + key + " ASC LIMIT ?")
	} else {
		sql.WriteString(" ORDER BY " + key + " DESC LIMIT ?")
	}
	return sql.String(), append(args, limit)
}

// SnippetWidth is about how many characters of text an excerpt shows.
const SnippetWidth = 160

// snippetLead is how many characters of context come before the first match.
const snippetLead = 50

// Segment is a run of an excerpt's text, matched or not. It is plain text: whoever renders it escapes it.
type Segment struct {
	Text  string
	Match bool
}

// Snippet is an excerpt of a text with the matched parts marked.
type Snippet struct {
	Segments []Segment
	// Matched is true when a term was found in the text.
	Matched bool
	// ClippedStart and ClippedEnd say that text was cut before or after the excerpt.
	ClippedStart, ClippedEnd bool
}

// Text is the excerpt without marks, for exports.
func (s Snippet) Text() string {
	var b strings.Builder
	if s.ClippedStart {
		b.WriteString("…")
	}
	for _, seg := range s.Segments {
		b.WriteString(seg.Text)
	}
	if s.ClippedEnd {
		b.WriteString("…")
	}
	return b.String()
}

// Highlighter finds search terms in text case-insensitively, the way the index matched them.
type Highlighter struct {
	re *regexp.Regexp // nil when there are no terms
}

// NewHighlighter compiles terms into one case-insensitive pattern; the longest term wins when
// several start at the same place.
func NewHighlighter(terms []string) *Highlighter {
	if len(terms) == 0 {
		return &Highlighter{}
	}
	sorted := slices.Clone(terms)
	slices.SortFunc(sorted, func(a, b string) int { return len(b) - len(a) })
	quoted := make([]string, len(sorted))
	for i, t := range sorted {
		quoted[i] = regexp.QuoteMeta(t)
	}
	return &Highlighter{re: regexp.MustCompile("(?i)" + strings.Join(quoted, "|"))}
}

var whitespaceRun = regexp.MustCompile(`\s+`)

// Snippet cuts about SnippetWidth characters of text around the first match (or from the start
// when nothing matches) and splits them into marked and unmarked segments. Runs of whitespace
// become one space, so a pretty-printed payload reads as one line.
func (h *Highlighter) Snippet(text string) Snippet {
	var sn Snippet
	if text == "" {
		return sn
	}
	start := 0
	if h.re != nil {
		if loc := h.re.FindStringIndex(text); loc != nil {
			sn.Matched = true
			start = backRunes(text, loc[0], snippetLead)
		}
	}
	end := forwardRunes(text, start, SnippetWidth)
	if end == len(text) {
		// Near the end: show more of what came before instead of a short excerpt.
		start = backRunes(text, end, SnippetWidth)
	}
	sn.ClippedStart, sn.ClippedEnd = start > 0, end < len(text)
	window := text[start:end]
	var matches [][]int
	if h.re != nil {
		matches = h.re.FindAllStringIndex(window, -1)
	}
	at := 0
	add := func(s string, match bool) {
		s = whitespaceRun.ReplaceAllString(s, " ")
		if s != "" {
			sn.Segments = append(sn.Segments, Segment{Text: s, Match: match})
		}
	}
	for _, m := range matches {
		add(window[at:m[0]], false)
		add(window[m[0]:m[1]], true)
		at = m[1]
	}
	add(window[at:], false)
	return sn
}

// backRunes steps back up to n runes from byte offset i.
func backRunes(s string, i, n int) int {
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return i
}

// forwardRunes steps forward up to n runes from byte offset i.
func forwardRunes(s string, i, n int) int {
	for ; n > 0 && i < len(s); n-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}
