package handlers

import (
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/views"
)

// Search serves full-text search over delivery payloads and headers, and its CSV export.
type Search struct {
	Store    *models.Store
	Sessions *Sessions
	// Log records failures of a CSV export that has already started streaming, which the error
	// handler can no longer answer.
	Log *slog.Logger
}

const (
	searchPageSize = 50
	// searchCSVMaxRows bounds one export.
	searchCSVMaxRows = 100000
	// searchCSVBatch is how many hits (with their bodies) one query of an export loads.
	searchCSVBatch = 100
)

// searchRequest is the query string of /search and /search.csv, parsed.
type searchRequest struct {
	form    views.SearchForm
	filter  models.SearchFilter
	dropped bool
	// errors are field errors keyed by parameter name.
	errors map[string]string
}

// parse reads q and the filters (endpoint, outcome, type, status, mark, since, until) and the
// cursors (cursor for older hits, newer for newer ones).
func (h *Search) parse(c echo.Context) searchRequest {
	r := searchRequest{errors: map[string]string{}}
	q := c.QueryParams()
	r.form = views.SearchForm{Q: q.Get("q"), Endpoint: q.Get("endpoint"), Outcome: q.Get("outcome"), Type: strings.TrimSpace(q.Get("type")),
		Status: q.Get("status"), Mark: q.Get("mark"), Since: q.Get("since"), Until: q.Get("until")}
	f := &r.filter
	f.MerchantID = principal(c).MerchantID
	f.Terms, r.dropped = models.SearchTerms(r.form.Q)
	f.EventType = r.form.Type
	f.Older, f.Newer = models.Cursor(q.Get("cursor")), models.Cursor(q.Get("newer"))
	if r.form.Endpoint != "" {
		id, err := strconv.ParseUint(r.form.Endpoint, 10, 64)
		if err != nil {
			r.errors["endpoint"] = "Choose an endpoint from the list."
		}
		f.EndpointID = uint(id)
	}
	if r.form.Outcome != "" {
		if !slices.Contains(models.Outcomes, models.Outcome(r.form.Outcome)) {
			r.errors["outcome"] = "Choose accepted, duplicate or rejected."
		}
		f.Outcome = models.Outcome(r.form.Outcome)
	}
	if r.form.Status != "" {
		if !slices.Contains(models.Statuses, models.Status(r.form.Status)) {
			r.errors["status"] = "Choose a processing status from the list."
		}
		f.Status = models.Status(r.form.Status)
	}
	if m, err := models.ParseMark(r.form.Mark); err != nil {
		r.errors["mark"] = "Choose resolved, ignored or needs review."
	} else {
		f.Mark = m
	}
	var ok bool
	if f.Since, ok = searchTime(r.form.Since); !ok {
		r.errors["since"] = "Use a date like 2026-01-31 or a time like 2026-01-31T12:00 (UTC)."
	}
	if f.Until, ok = searchTime(r.form.Until); !ok {
		r.errors["until"] = "Use a date like 2026-01-31 or a time like 2026-01-31T12:00 (UTC)."
	}
	return r
}

// searchTime parses an optional time filter: RFC 3339, what a datetime-local input sends (taken
// as UTC, with or without seconds), or a date.
func searchTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// query is the request's search and filters as a query string, without cursors.
func (r searchRequest) query() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": r.form.Q, "endpoint": r.form.Endpoint, "outcome": r.form.Outcome, "type": r.form.Type,
		"status": r.form.Status, "mark": r.form.Mark, "since": r.form.Since, "until": r.form.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// firstError is the first field error in the order of the form, "" when there is none.
func (r searchRequest) firstError() string {
	for _, k := range []string{"endpoint", "outcome", "status", "mark", "since", "until"} {
		if msg := r.errors[k]; msg != "" {
			return msg
		}
	}
	return ""
}

// Page handles GET /search.
func (h *Search) Page(c echo.Context) error {
	r := h.parse(c)
	p := principal(c)
	eps, err := h.Store.Endpoints(p.MerchantID)
	if err != nil {
		return fmt.Errorf("search: endpoints: %w", err)
	}
	names := make(map[uint]string, len(eps))
	v := views.SearchView{Form: r.form, Errors: r.errors, Searched: len(r.filter.Terms) > 0, TermsDropped: r.dropped,
		MaxTerms: models.MaxSearchTerms}
	for _, ep := range eps {
		names[ep.ID] = ep.Name
		v.Endpoints = append(v.Endpoints, views.RecordsOption{Value: strconv.FormatUint(uint64(ep.ID), 10), Label: ep.Name})
	}
	for _, o := range models.Outcomes {
		v.Outcomes = append(v.Outcomes, string(o))
	}
	for _, s := range models.Statuses {
		v.Statuses = append(v.Statuses, string(s))
	}
	for _, m := range models.Marks {
		v.Marks = append(v.Marks, string(m))
	}
	if len(r.errors) > 0 {
		return h.render(c, http.StatusUnprocessableEntity, v)
	}
	if v.Searched {
		r.filter.Limit = searchPageSize
		page, err := h.Store.Search(r.filter)
		if errors.Is(err, models.ErrBadCursor) {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		for _, hit := range page.Hits {
			v.Hits = append(v.Hits, searchHitView(hit, names))
		}
		v.Pager = recordsPager("/search", r.query(), page.Older, page.Newer)
		v.CSVURL = "/search.csv?" + r.query().Encode()
	}
	return h.render(c, http.StatusOK, v)
}

func (h *Search) render(c echo.Context, status int, v views.SearchView) error {
	page := h.Sessions.page(c, "Search", views.NavSearch)
	var fragment templ.Component = views.SearchResults(v)
	if len(v.Errors) > 0 {
		fragment = templ.Join(fragment, views.FlashesOOB([]views.Flash{{Kind: views.FlashError, Message: "Some filters are not valid; check them and search again."}}))
	}
	return render(c, status, views.Layout(page, views.SearchPage(v)), fragment)
}

func searchHitView(hit models.SearchHit, endpoints map[uint]string) views.SearchHit {
	v := views.SearchHit{DeliveryID: hit.ID, ReceivedAt: hit.ReceivedAt, Endpoint: endpoints[hit.EndpointID], Outcome: string(hit.Outcome),
		EventType: hit.EventType, EventStatus: string(hit.EventStatus), Mark: string(hit.EventMark), OrderRef: hit.OrderRef,
		Body: excerptView(hit.Body)}
	if hit.EventID != nil {
		v.EventID = *hit.EventID
	}
	if hit.Headers != nil {
		e := excerptView(*hit.Headers)
		v.Headers = &e
	}
	return v
}

func excerptView(s models.Snippet) views.Excerpt {
	e := views.Excerpt{ClippedStart: s.ClippedStart, ClippedEnd: s.ClippedEnd}
	for _, seg := range s.Segments {
		e.Segments = append(e.Segments, views.ExcerptSegment{Text: seg.Text, Match: seg.Match})
	}
	return e
}

// searchCSVHeader is the header row of the export.
var searchCSVHeader = []string{"delivery_id", "received_at", "endpoint", "outcome", "status_code", "reason", "event_id", "event_type",
	"processing_status", "mark", "order_ref", "payment_id", "body_excerpt", "headers_excerpt"}

// CSV handles GET /search.csv: every hit of the search (newest first, at most searchCSVMaxRows),
// whatever page the person was on.
func (h *Search) CSV(c echo.Context) error {
	r := h.parse(c)
	if msg := r.firstError(); msg != "" {
		return echo.NewHTTPError(http.StatusBadRequest, "Fix the search filters before exporting: "+msg)
	}
	if len(r.filter.Terms) == 0 {
		return echo.NewHTTPError(http.StatusBadRequest, "Search for something before exporting the results.")
	}
	p := principal(c)
	eps, err := h.Store.Endpoints(p.MerchantID)
	if err != nil {
		return fmt.Errorf("search csv: endpoints: %w", err)
	}
	names := make(map[uint]string, len(eps))
	for _, ep := range eps {
		names[ep.ID] = ep.Name
	}
	f := r.filter
	f.Older, f.Newer, f.Limit = "", "", searchCSVBatch
	// The first batch is read before anything is sent, so a failing search is still a clean error page.
	page, err := h.Store.Search(f)
	if err != nil {
		return fmt.Errorf("search csv: %w", err)
	}
	if err := h.Store.Audit(models.AuditEntry{MerchantID: p.MerchantID, Actor: p.Actor, Action: models.AuditExport,
		ObjectType: "search", Detail: "search results (CSV): " + r.query().Encode(), RemoteAddr: c.RealIP()}); err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition, recordsAttachment("hooklog-search-"+h.Store.Now().Format("20060102-150405")+".csv"))
	res.WriteHeader(http.StatusOK)
	w := csv.NewWriter(res)
	if err := w.Write(searchCSVHeader); err != nil {
		return h.streamFailed(err)
	}
	rows := 0
	for {
		for _, hit := range page.Hits {
			if rows == searchCSVMaxRows {
				break
			}
			if err := w.Write(searchCSVRow(hit, names)); err != nil {
				return h.streamFailed(err)
			}
			rows++
		}
		if rows == searchCSVMaxRows || page.Older == "" {
			break
		}
		w.Flush()
		f.Older = page.Older
		if page, err = h.Store.Search(f); err != nil {
			return h.streamFailed(err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return h.streamFailed(err)
	}
	return nil
}

// streamFailed logs an export that broke after its first bytes were sent: the response is
// committed, so the error handler would drop it silently.
func (h *Search) streamFailed(err error) error {
	err = fmt.Errorf("search csv: %w", err)
	if h.Log != nil {
		h.Log.Error("export interrupted", "err", err)
	}
	return err
}

func searchCSVRow(hit models.SearchHit, endpoints map[uint]string) []string {
	eventID := ""
	if hit.EventID != nil {
		eventID = strconv.FormatUint(uint64(*hit.EventID), 10)
	}
	headers := ""
	if hit.Headers != nil {
		headers = hit.Headers.Text()
	}
	return []string{
		strconv.FormatUint(uint64(hit.ID), 10),
		hit.ReceivedAt.UTC().Format(time.RFC3339),
		searchCSVText(endpoints[hit.EndpointID]),
		string(hit.Outcome),
		strconv.Itoa(hit.StatusCode),
		searchCSVText(hit.Reason),
		eventID,
		searchCSVText(hit.EventType),
		string(hit.EventStatus),
		string(hit.EventMark),
		searchCSVText(hit.OrderRef),
		searchCSVText(hit.PaymentID),
		searchCSVText(hit.Body.Text()),
		searchCSVText(headers),
	}
}

// searchCSVText defuses text that a spreadsheet would run as a formula: payloads are written by
// whoever sent them, so a cell starting with = + - @ (or a tab or CR) gets a leading apostrophe.
func searchCSVText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
