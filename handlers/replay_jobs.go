package handlers

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/views"
)

// ReplayJobs serves bulk replays: the confirmation step, starting and cancelling a job, its live
// progress, and the list of recent jobs. The work itself happens in the worker (worker/jobs.go).
type ReplayJobs struct {
	Store    *models.Store
	Sessions *Sessions
}

// Selection modes of a bulk replay form (the submit button's value).
const (
	replaySelected = "selected"
	replayFilter   = "filter"
)

// replaySelection is what a bulk replay form asks for: explicit event ids, or the deliveries filter.
type replaySelection struct {
	Mode  string
	IDs   []uint
	Query deliveryQuery
}

// parseSelection reads the bulk replay form: mode, the event_id checkboxes, and the filter fields.
func parseSelection(c echo.Context) (replaySelection, error) {
	p := principal(c)
	s := replaySelection{Mode: c.FormValue("mode")}
	if s.Mode != replaySelected && s.Mode != replayFilter {
		return s, echo.NewHTTPError(http.StatusBadRequest, "choose Replay selected or Replay all failed matching this filter")
	}
	q, err := parseDeliveryQuery(p.MerchantID, c.FormValue)
	if err != nil {
		return s, err
	}
	if !q.valid() {
		return s, echo.NewHTTPError(http.StatusBadRequest, strings.TrimSpace(q.SinceError+" "+q.UntilError))
	}
	s.Query = q
	if s.Mode == replaySelected {
		form, err := c.FormParams()
		if err != nil {
			return s, echo.NewHTTPError(http.StatusBadRequest, "the form could not be read")
		}
		for _, raw := range form["event_id"] {
			n, err := strconv.ParseUint(raw, 10, 64)
			if err != nil || n == 0 {
				return s, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("event_id must be an event id, not %q", raw))
			}
			s.IDs = append(s.IDs, uint(n))
		}
	}
	return s, nil
}

// hidden carries the selection from the confirmation page to the confirm post.
func (s replaySelection) hidden() []views.HeaderLine {
	out := []views.HeaderLine{{Name: "mode", Value: s.Mode}}
	values := s.Query.Form.Values()
	for _, k := range slices.Sorted(maps.Keys(values)) {
		out = append(out, views.HeaderLine{Name: k, Value: values.Get(k)})
	}
	if s.Mode == replaySelected {
		for _, id := range s.IDs {
			out = append(out, views.HeaderLine{Name: "event_id", Value: strconv.FormatUint(uint64(id), 10)})
		}
	}
	return out
}

// Preview handles POST /replay-jobs/preview (operators): how many events the bulk replay would run,
// with Confirm and Cancel.
func (h *ReplayJobs) Preview(c echo.Context) error {
	p := principal(c)
	s, err := parseSelection(c)
	if err != nil {
		return err
	}
	v := views.ReplayPreviewView{CSRFToken: h.Sessions.csrfToken(c),
		CancelURL: deliveriesURL("/deliveries", s.Query.Form.Values(), "", "")}
	status := http.StatusOK
	if s.Mode == replaySelected {
		own, err := h.Store.OwnEventIDs(p.MerchantID, s.IDs)
		if errors.Is(err, models.ErrTooManySelected) {
			return echo.NewHTTPError(http.StatusUnprocessableEntity, err.Error())
		}
		if err != nil {
			return err
		}
		s.IDs, v.Count = own, int64(len(own))
		if v.Count == 0 {
			status = http.StatusUnprocessableEntity
			v.Headline = "No events selected"
			v.Detail = "Tick the events to replay on the deliveries list, or replay every failed event matching the filter."
		} else {
			v.Headline = countPhrase(v.Count, "selected event") + " will be replayed"
			v.Detail = "Each runs again with its endpoint's current settings; an order is never moved twice by the same event. Events being processed at that moment are skipped."
		}
	} else {
		f := models.JobFilterOf(s.Query.Filter)
		n, err := h.Store.CountReplayable(p.MerchantID, f)
		if err != nil {
			return err
		}
		v.Count = n
		desc := h.describeFilter(p.MerchantID, f)
		if n == 0 {
			v.Headline = "No failed or dead events match this filter"
			v.Detail = "Only failed and dead events are replayed in bulk. " + desc
		} else {
			v.Headline = countPhrase(n, "failed or dead event") + " match"
			if n == 1 {
				v.Headline += "es"
			}
			v.Detail = desc + " They run again with their endpoint's current settings; an order is never moved twice by the same event."
		}
	}
	v.Hidden = s.hidden()
	return h.Sessions.renderPage(c, status, "Replay events", views.NavDeliveries, views.ReplayPreviewPage(v))
}

// countPhrase renders "1 failed event" or "12 failed events".
func countPhrase(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return views.FormatCount(n) + " " + noun + "s"
}

// describeFilter says in words which deliveries a filter keeps.
func (h *ReplayJobs) describeFilter(merchantID uint, f models.JobFilter) string {
	var parts []string
	if f.EndpointID != 0 {
		name := fmt.Sprintf("endpoint %d", f.EndpointID)
		if ep, err := h.Store.Endpoint(merchantID, f.EndpointID); err == nil {
			name = "endpoint " + ep.Name
		}
		parts = append(parts, name)
	}
	if f.Outcome != "" {
		parts = append(parts, "outcome "+string(f.Outcome))
	}
	if f.EventType != "" {
		parts = append(parts, "type "+f.EventType)
	}
	if f.Status != "" {
		parts = append(parts, "status "+string(f.Status))
	}
	if f.Mark != "" {
		parts = append(parts, "mark "+strings.ReplaceAll(string(f.Mark), "_", " "))
	}
	if !f.Since.IsZero() {
		parts = append(parts, "from "+f.Since.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if !f.Until.IsZero() {
		parts = append(parts, "until "+f.Until.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if len(parts) == 0 {
		return "Filter: all deliveries."
	}
	return "Filter: " + strings.Join(parts, ", ") + "."
}

// Create handles POST /replay-jobs (operators): it records the job, which a worker then runs, and
// sends the browser to its progress page.
func (h *ReplayJobs) Create(c echo.Context) error {
	p := principal(c)
	s, err := parseSelection(c)
	if err != nil {
		return err
	}
	var filter *models.JobFilter
	if s.Mode == replayFilter {
		f := models.JobFilterOf(s.Query.Filter)
		filter = &f
	}
	job, err := h.Store.CreateReplayJob(p.MerchantID, p.Actor, filter, s.IDs)
	if errors.Is(err, models.ErrNothingToReplay) {
		h.Sessions.Flash(c, views.FlashError, "Nothing was replayed: no event matches any more.")
		return redirect(c, deliveriesURL("/deliveries", s.Query.Form.Values(), "", ""))
	}
	if errors.Is(err, models.ErrTooManySelected) {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, err.Error())
	}
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("%d selected events", job.Total)
	if filter != nil {
		detail = fmt.Sprintf("%d failed or dead events; %s", job.Total, h.describeFilter(p.MerchantID, *filter))
	}
	if err := h.Store.Audit(models.AuditEntry{MerchantID: p.MerchantID, Actor: p.Actor, Action: models.AuditBulkReplay,
		ObjectType: "replay_job", ObjectID: strconv.FormatUint(uint64(job.ID), 10), Detail: detail, RemoteAddr: c.RealIP()}); err != nil {
		return err
	}
	h.Sessions.Flash(c, views.FlashSuccess, fmt.Sprintf("Replay job %d started for %s.", job.ID, countPhrase(int64(job.Total), "event")))
	return redirect(c, jobPath(job.ID))
}

func jobPath(id uint) string { return "/replay-jobs/" + strconv.FormatUint(uint64(id), 10) }

// load returns one of the principal's jobs, or a 404.
func (h *ReplayJobs) load(c echo.Context) (*models.ReplayJob, error) {
	id, err := pathID(c)
	if err != nil {
		return nil, err
	}
	j, err := h.Store.ReplayJob(principal(c).MerchantID, id)
	if err != nil {
		return nil, notFoundOr(err, "replay job")
	}
	return j, nil
}

// Show handles GET /replay-jobs/{id}: the job page, or for htmx its progress fragment, which polls
// itself while the job runs.
func (h *ReplayJobs) Show(c echo.Context) error {
	j, err := h.load(c)
	if err != nil {
		return err
	}
	v, err := h.view(c, j, true)
	if err != nil {
		return err
	}
	frag := views.ReplayJobProgress(v)
	if isFragmentRequest(c) {
		// The poll does not build the layout, which would take the session's pending flashes.
		return render(c, http.StatusOK, frag, frag)
	}
	page := views.Layout(h.Sessions.page(c, fmt.Sprintf("Replay job %d", j.ID), views.NavDeliveries), views.ReplayJobPage(v))
	return render(c, http.StatusOK, page, frag)
}

// Cancel handles POST /replay-jobs/{id}/cancel (operators). Events already queued still run.
func (h *ReplayJobs) Cancel(c echo.Context) error {
	p := principal(c)
	id, err := pathID(c)
	if err != nil {
		return err
	}
	j, err := h.Store.CancelReplayJob(p.MerchantID, id, p.Actor)
	if errors.Is(err, models.ErrJobNotRunning) {
		return echo.NewHTTPError(http.StatusConflict, fmt.Sprintf("Replay job %d has already %s; there is nothing to cancel.", id, j.Status))
	}
	if err != nil {
		return notFoundOr(err, "replay job")
	}
	if err := h.Store.Audit(models.AuditEntry{MerchantID: p.MerchantID, Actor: p.Actor, Action: models.AuditBulkReplayCancel,
		ObjectType: "replay_job", ObjectID: strconv.FormatUint(uint64(id), 10),
		Detail: fmt.Sprintf("cancelled after %d of %d events", j.Done, j.Total), RemoteAddr: c.RealIP()}); err != nil {
		return err
	}
	msg := fmt.Sprintf("Replay job %d is cancelled after queueing %s.", id, countPhrase(int64(j.Done), "event"))
	if isFragmentRequest(c) {
		v, err := h.view(c, j, true)
		if err != nil {
			return err
		}
		frag := views.ReplayJobCancelled(v, []views.Flash{{Kind: views.FlashSuccess, Message: msg}})
		return render(c, http.StatusOK, frag, frag)
	}
	h.Sessions.Flash(c, views.FlashSuccess, msg)
	return redirect(c, jobPath(id))
}

// List handles GET /replay-jobs: recent jobs, newest first.
func (h *ReplayJobs) List(c echo.Context) error {
	p := principal(c)
	cursor := c.QueryParam("cursor")
	js, next, err := h.Store.ReplayJobs(p.MerchantID, models.Cursor(cursor), 50)
	if errors.Is(err, models.ErrBadCursor) {
		return echo.NewHTTPError(http.StatusBadRequest, "This page link is no longer valid; start again from the newest jobs.")
	}
	if err != nil {
		return err
	}
	var v views.ReplayJobsView
	for i := range js {
		jv, err := h.view(c, &js[i], false)
		if err != nil {
			return err
		}
		v.Jobs = append(v.Jobs, jv)
	}
	if next != "" {
		v.Pager.NextURL = "/replay-jobs?cursor=" + string(next)
	}
	if cursor != "" {
		v.Pager.PrevURL = "/replay-jobs"
	}
	return h.Sessions.renderPage(c, http.StatusOK, "Replay jobs", views.NavDeliveries, views.ReplayJobsPage(v))
}

// view describes a job; withOutcomes adds how its queued events have fared (one more query).
func (h *ReplayJobs) view(c echo.Context, j *models.ReplayJob, withOutcomes bool) (views.ReplayJobView, error) {
	p := principal(c)
	v := views.ReplayJobView{ID: j.ID, URL: jobPath(j.ID), Status: string(j.Status), Running: j.Status == models.JobRunning,
		Total: j.Total, Done: j.Done, Skipped: j.Skipped(), CreatedBy: j.CreatedBy, CreatedAt: j.CreatedAt,
		CancelledBy: j.CancelledBy, Error: j.Error, CanOperate: p.Role.CanOperate(), CSRFToken: h.Sessions.csrfToken(c)}
	if j.FinishedAt != nil {
		v.FinishedAt = *j.FinishedAt
	}
	switch {
	case j.Status == models.JobFinished || j.Total == 0:
		v.Percent = 100
	default:
		v.Percent = j.Done * 100 / j.Total
	}
	v.Label = fmt.Sprintf("%s of %s queued", views.FormatCount(int64(j.Done)), countPhrase(int64(j.Total), "event"))
	if j.Filter == nil {
		v.Scope = countPhrase(int64(len(j.EventIDs)), "selected event")
	} else {
		v.Scope = "Failed and dead events. " + h.describeFilter(j.MerchantID, *j.Filter)
		form := views.DeliveryFilterForm{Outcome: string(j.Filter.Outcome), Type: j.Filter.EventType, Status: string(j.Filter.Status),
			Mark: string(j.Filter.Mark), Since: formatFilterTime(j.Filter.Since), Until: formatFilterTime(j.Filter.Until)}
		if j.Filter.EndpointID != 0 {
			form.Endpoint = strconv.FormatUint(uint64(j.Filter.EndpointID), 10)
		}
		v.ScopeURL = deliveriesURL("/deliveries", form.Values(), "", "")
	}
	if withOutcomes {
		o, err := h.Store.ReplayJobOutcomes(j.ID)
		if err != nil {
			return v, err
		}
		v.Waiting, v.Processed, v.Failed = o.Waiting, o.Processed, o.Failed
	}
	return v, nil
}
