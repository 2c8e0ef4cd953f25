package handlers

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/views"
)

// Deliveries serves the deliveries list, its live updates and CSV export, and one delivery's page.
type Deliveries struct {
	Store    *models.Store
	Sessions *Sessions
	Log      *slog.Logger
}

const (
	// pollLimit is the most rows one live update brings; more than that reloads the page instead.
	pollLimit = 200
	// maxCSVRows caps an export.
	maxCSVRows = 100000
	// csvPage is how many rows an export reads per query.
	csvPage = 500
)

// deliveryQuery is the deliveries filter of a request, parsed for the store and kept as typed for
// the form. Times the list cannot use become field errors rather than a failed request.
type deliveryQuery struct {
	Filter                 models.DeliveryFilter
	Form                   views.DeliveryFilterForm
	SinceError, UntilError string
}

func (q deliveryQuery) valid() bool { return q.SinceError == "" && q.UntilError == "" }

// filterTimeLayouts are the times a filter accepts: what datetime-local inputs send, RFC 3339, a date.
var filterTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339Nano, "2006-01-02"}

// parseFilterTime reads a UTC time from a filter field.
func parseFilterTime(v string) (time.Time, bool) {
	for _, layout := range filterTimeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// formatFilterTime writes a time the way a datetime-local input shows it.
func formatFilterTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04")
	}
	return t.Format("2006-01-02T15:04:05")
}

// parseDeliveryQuery reads the filter fields through get (query or form values). Values no form
// offers (an unknown outcome, a non-numeric endpoint) are a 400.
func parseDeliveryQuery(merchantID uint, get func(string) string) (deliveryQuery, error) {
	q := deliveryQuery{Filter: models.DeliveryFilter{MerchantID: merchantID}}
	form := views.DeliveryFilterForm{
		Endpoint: strings.TrimSpace(get("endpoint")), Outcome: get("outcome"), Type: strings.TrimSpace(get("type")),
		Status: get("status"), Mark: get("mark"), Since: strings.TrimSpace(get("since")), Until: strings.TrimSpace(get("until")),
	}
	var err error
	if form.Endpoint != "" {
		n, perr := strconv.ParseUint(form.Endpoint, 10, 64)
		if perr != nil {
			return q, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("endpoint must be an endpoint id, not %q", form.Endpoint))
		}
		q.Filter.EndpointID = uint(n)
	}
	if q.Filter.Outcome, err = parseOutcome(form.Outcome); err != nil {
		return q, err
	}
	if q.Filter.Status, err = parseStatus(form.Status); err != nil {
		return q, err
	}
	if q.Filter.Mark, err = models.ParseMark(form.Mark); err != nil {
		return q, echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	q.Filter.EventType = form.Type
	if form.Since != "" {
		t, ok := parseFilterTime(form.Since)
		if ok {
			q.Filter.Since, form.Since = t, formatFilterTime(t)
		} else {
			q.SinceError = "Enter a time like 2026-01-31 12:00, in UTC."
		}
	}
	if form.Until != "" {
		t, ok := parseFilterTime(form.Until)
		if ok {
			q.Filter.Until, form.Until = t, formatFilterTime(t)
		} else {
			q.UntilError = "Enter a time like 2026-01-31 18:00, in UTC."
		}
	}
	if q.valid() && !q.Filter.Since.IsZero() && !q.Filter.Until.IsZero() && !q.Filter.Until.After(q.Filter.Since) {
		q.UntilError = "Until must be later than From."
	}
	q.Form = form
	return q, nil
}

// deliveriesURL is the list with the filter in values and, optionally, one more parameter.
func deliveriesURL(path string, values url.Values, key, value string) string {
	v := url.Values{}
	for k, vs := range values {
		v[k] = slices.Clone(vs)
	}
	if key != "" {
		v.Set(key, value)
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// List handles GET /deliveries: the filtered list a page at a time (cursor), or, for the poller on
// the first page (htmx with after=<newest id>), only the rows that arrived since.
func (h *Deliveries) List(c echo.Context) error {
	p := principal(c)
	q, err := parseDeliveryQuery(p.MerchantID, c.QueryParam)
	if err != nil {
		return err
	}
	if c.QueryParams().Has("after") && isFragmentRequest(c) {
		return h.poll(c, q)
	}
	eps, err := h.Store.Endpoints(p.MerchantID)
	if err != nil {
		return err
	}
	v := views.DeliveriesView{Filter: q.Form, SinceError: q.SinceError, UntilError: q.UntilError,
		CanOperate: p.Role.CanOperate(), IsAdmin: p.Role.IsAdmin(), CSRFToken: h.Sessions.csrfToken(c),
		CSVURL: deliveriesURL("/deliveries.csv", q.Form.Values(), "", "")}
	names := endpointNames(eps)
	for _, e := range eps {
		v.Endpoints = append(v.Endpoints, views.FilterOption{Value: strconv.FormatUint(uint64(e.ID), 10), Label: e.Name})
	}
	if id := q.Filter.EndpointID; id != 0 && names[id] == "" {
		// Keep a filter on an unknown endpoint visible rather than showing "Any endpoint" over an empty list.
		v.Endpoints = append(v.Endpoints, views.FilterOption{Value: q.Form.Endpoint, Label: fmt.Sprintf("Endpoint %d (not found)", id)})
	}
	status := http.StatusOK
	if !q.valid() {
		status = http.StatusBadRequest
	} else {
		cursor := c.QueryParam("cursor")
		q.Filter.Cursor = models.Cursor(cursor)
		ds, next, err := h.Store.Deliveries(q.Filter)
		if errors.Is(err, models.ErrBadCursor) {
			return echo.NewHTTPError(http.StatusBadRequest, "This page link is no longer valid; start again from the newest deliveries.")
		}
		if err != nil {
			return err
		}
		if v.Rows, err = h.rows(p.MerchantID, ds, names); err != nil {
			return err
		}
		values := q.Form.Values()
		if next != "" {
			v.OlderURL = deliveriesURL("/deliveries", values, "cursor", string(next))
		}
		if cursor != "" {
			v.NewestURL = deliveriesURL("/deliveries", values, "", "")
		} else {
			newest := uint(0)
			if len(ds) > 0 {
				newest = ds[0].ID
			}
			v.Poll = &views.DeliveryPoll{URL: deliveriesURL("/deliveries", values, "after", strconv.FormatUint(uint64(newest), 10))}
			v.NewAccount = len(ds) == 0 && !q.Form.Active()
		}
	}
	frag := views.DeliveryResults(v)
	if isFragmentRequest(c) {
		// A fragment needs no layout; building one would take the session's pending flashes.
		return render(c, status, frag, frag)
	}
	return render(c, status, views.Layout(h.Sessions.page(c, "Deliveries", views.NavDeliveries), views.DeliveriesPage(v)), frag)
}

// poll answers the first page's poller: deliveries newer than after that match the filter, and the
// poller again, moved past them. When more arrived than one answer carries, the page reloads rather
// than leave a gap.
func (h *Deliveries) poll(c echo.Context, q deliveryQuery) error {
	if !q.valid() {
		return echo.NewHTTPError(http.StatusBadRequest, "the filter's times are not valid")
	}
	p := principal(c)
	after, err := queryUint(c, "after")
	if err != nil {
		return err
	}
	q.Filter.After, q.Filter.Limit = after, pollLimit
	ds, next, err := h.Store.Deliveries(q.Filter)
	if err != nil {
		return err
	}
	if next != "" {
		c.Response().Header().Set(HeaderHXRefresh, "true")
	}
	eps, err := h.Store.Endpoints(p.MerchantID)
	if err != nil {
		return err
	}
	rows, err := h.rows(p.MerchantID, ds, endpointNames(eps))
	if err != nil {
		return err
	}
	newest := after
	if len(ds) > 0 {
		newest = ds[0].ID
	}
	poll := views.DeliveryPoll{URL: deliveriesURL("/deliveries", q.Form.Values(), "after", strconv.FormatUint(uint64(newest), 10))}
	frag := views.DeliveryRowsFragment(rows, p.Role.CanOperate(), poll)
	return render(c, http.StatusOK, frag, frag)
}

func endpointNames(eps []models.Endpoint) map[uint]string {
	m := make(map[uint]string, len(eps))
	for _, e := range eps {
		m[e.ID] = e.Name
	}
	return m
}

// rows turns deliveries into table rows with their event's status and mark.
func (h *Deliveries) rows(merchantID uint, ds []models.Delivery, names map[uint]string) ([]views.DeliveryRow, error) {
	states, err := h.Store.EventStates(merchantID, eventIDs(ds))
	if err != nil {
		return nil, err
	}
	out := make([]views.DeliveryRow, 0, len(ds))
	for _, d := range ds {
		r := views.DeliveryRow{ID: d.ID, ReceivedAt: d.ReceivedAt, Endpoint: names[d.EndpointID], Outcome: string(d.Outcome),
			EventType: d.EventType, StatusCode: d.StatusCode, Reason: d.Reason, Size: views.FormatBytes(d.BodySize),
			URL: "/deliveries/" + strconv.FormatUint(uint64(d.ID), 10)}
		if d.EventID != nil {
			r.EventID = *d.EventID
			r.URL = "/events/" + strconv.FormatUint(uint64(r.EventID), 10)
			st := states[r.EventID]
			r.Status, r.Mark = string(st.Status), string(st.Mark)
		}
		out = append(out, r)
	}
	return out, nil
}

func eventIDs(ds []models.Delivery) []uint {
	ids := make([]uint, 0, len(ds))
	for _, d := range ds {
		if d.EventID != nil {
			ids = append(ids, *d.EventID)
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(ids)))
}

// csvHeader names the export's columns.
var csvHeader = []string{"id", "received_at", "endpoint_id", "endpoint", "outcome", "status_code", "reason",
	"event_id", "event_type", "event_status", "mark", "remote_addr", "body_size"}

// csvCell keeps a spreadsheet from reading sender-controlled text (an event type, a reason) as a
// formula: such cells get a leading apostrophe, as OWASP recommends. encoding/csv does the quoting.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Export handles GET /deliveries.csv: the current filter's deliveries as CSV (RFC 4180), newest
// first, streamed a page at a time, at most maxCSVRows rows. Every export is audited.
func (h *Deliveries) Export(c echo.Context) error {
	p := principal(c)
	q, err := parseDeliveryQuery(p.MerchantID, c.QueryParam)
	if err != nil {
		return err
	}
	if !q.valid() {
		return echo.NewHTTPError(http.StatusBadRequest, strings.TrimSpace(q.SinceError+" "+q.UntilError))
	}
	eps, err := h.Store.Endpoints(p.MerchantID)
	if err != nil {
		return err
	}
	names := endpointNames(eps)
	if err := h.Store.Audit(models.AuditEntry{MerchantID: p.MerchantID, Actor: p.Actor, Action: models.AuditExport,
		ObjectType: "deliveries", Detail: "deliveries.csv " + q.Form.Values().Encode(), RemoteAddr: c.RealIP()}); err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition,
		fmt.Sprintf(`attachment; filename="deliveries-%s.csv"`, h.Store.Now().Format("20060102-150405")))
	res.WriteHeader(http.StatusOK)
	w := csv.NewWriter(res)
	if err := w.Write(csvHeader); err != nil {
		return nil // the client went away
	}
	f := q.Filter
	for written := 0; written < maxCSVRows; {
		f.Limit = min(csvPage, maxCSVRows-written)
		ds, next, err := h.Store.Deliveries(f)
		if err != nil {
			// The status line is sent: all that is left is to stop, and log why.
			h.Log.Error("deliveries: export", "merchant", p.MerchantID, "rows", written, "err", err)
			return nil
		}
		states, err := h.Store.EventStates(p.MerchantID, eventIDs(ds))
		if err != nil {
			h.Log.Error("deliveries: export", "merchant", p.MerchantID, "rows", written, "err", err)
			return nil
		}
		for _, d := range ds {
			rec := []string{strconv.FormatUint(uint64(d.ID), 10), d.ReceivedAt.UTC().Format(time.RFC3339Nano),
				strconv.FormatUint(uint64(d.EndpointID), 10), csvCell(names[d.EndpointID]), string(d.Outcome),
				strconv.Itoa(d.StatusCode), csvCell(d.Reason), "", csvCell(d.EventType), "", "", csvCell(d.RemoteAddr),
				strconv.FormatInt(d.BodySize, 10)}
			if d.EventID != nil {
				st := states[*d.EventID]
				rec[7], rec[9], rec[10] = strconv.FormatUint(uint64(*d.EventID), 10), string(st.Status), string(st.Mark)
			}
			if err := w.Write(rec); err != nil {
				return nil
			}
		}
		written += len(ds)
		w.Flush()
		if w.Error() != nil {
			return nil
		}
		// Send each page as it is written; a writer that cannot flush just buffers.
		_ = http.NewResponseController(res.Writer).Flush()
		if next == "" {
			break
		}
		f.Cursor = next
	}
	return nil
}

// Show handles GET /deliveries/{id}: one delivery as received, headers and body, and why it was
// rejected.
func (h *Deliveries) Show(c echo.Context) error {
	p := principal(c)
	id, err := pathID(c)
	if err != nil {
		return err
	}
	d, err := h.Store.Delivery(p.MerchantID, id)
	if err != nil {
		return notFoundOr(err, "delivery")
	}
	v := views.DeliveryView{ID: d.ID, ReceivedAt: d.ReceivedAt, RemoteAddr: d.RemoteAddr,
		Outcome: string(d.Outcome), StatusCode: d.StatusCode, Reason: d.Reason, EventType: d.EventType,
		Headers: headerLines(d.Headers), Body: storedBody(d.Body, d.BodySize)}
	if d.EventID != nil {
		v.EventID = *d.EventID
	}
	ep, err := h.Store.Endpoint(p.MerchantID, d.EndpointID)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if ep != nil {
		v.Endpoint = ep.Name
	}
	return h.Sessions.renderPage(c, http.StatusOK, fmt.Sprintf("Delivery %d", d.ID), views.NavDeliveries, views.DeliveryPage(v))
}

// headerLines lists headers by name, one line per value.
func headerLines(h http.Header) []views.HeaderLine {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	var out []views.HeaderLine
	for _, k := range names {
		for _, v := range h[k] {
			out = append(out, views.HeaderLine{Name: k, Value: v})
		}
	}
	return out
}

// storedBody prepares a body for display: JSON re-indented, other text as is, binary not shown.
func storedBody(b []byte, size int64) views.StoredBody {
	v := views.StoredBody{Size: views.FormatBytes(size)}
	var buf bytes.Buffer
	switch {
	case len(b) == 0:
		v.Empty = true
	case json.Valid(b) && json.Indent(&buf, b, "", "  ") == nil:
		v.Text, v.Pretty = buf.String(), true
	case utf8.Valid(b):
		v.Text = string(b)
	default:
		v.Binary = true
	}
	return v
}
