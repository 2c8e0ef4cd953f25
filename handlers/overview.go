package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/views"
)

// Overview serves the dashboard's home page.
type Overview struct {
	Store    *models.Store
	Sessions *Sessions
	// BaseURL makes the ingest URL shown to a merchant without deliveries.
	BaseURL string
}

// overviewFailures is how many recent failures the overview lists.
const overviewFailures = 10

// Show handles GET /: the last day and week in figures, deliveries per hour, the latest failures,
// each endpoint's health and the events waiting; for a merchant without deliveries, what to do first.
func (h *Overview) Show(c echo.Context) error {
	p := principal(c)
	v := views.OverviewView{IsAdmin: p.Role.IsAdmin()}
	eps, err := h.Store.Endpoints(p.MerchantID)
	if err != nil {
		return err
	}
	has, err := h.Store.HasDeliveries(p.MerchantID)
	if err != nil {
		return err
	}
	if !has {
		v.Empty = true
		if len(eps) > 0 {
			first := eps[0]
			for _, e := range eps[1:] {
				if e.ID < first.ID {
					first = e
				}
			}
			v.IngestURL = first.IngestURL(h.BaseURL)
		}
		return h.Sessions.renderPage(c, http.StatusOK, "Overview", views.NavOverview, views.OverviewPage(v))
	}
	now := h.Store.Now()
	for _, w := range []struct {
		label string
		span  time.Duration
	}{{"24 h", 24 * time.Hour}, {"7 d", 7 * 24 * time.Hour}} {
		since := now.Add(-w.span)
		st, err := h.Store.WindowStats(p.MerchantID, since)
		if err != nil {
			return err
		}
		sinceParam := url.Values{"since": {formatFilterTime(since.Truncate(time.Minute))}}
		rejected := url.Values{"since": sinceParam["since"], "outcome": {string(models.OutcomeRejected)}}
		v.Stats = append(v.Stats,
			views.Stat{Label: "Deliveries · " + w.label, Value: views.FormatCount(st.Deliveries),
				Hint: views.FormatCount(st.Deliveries-st.Rejected) + " verified", URL: "/deliveries?" + sinceParam.Encode()},
			views.Stat{Label: "Failures · " + w.label, Value: views.FormatCount(st.Failures()),
				Hint: fmt.Sprintf("%s rejected, %s", views.FormatCount(st.Rejected), plural(st.FailedEvents, "failed event", "failed events")),
				URL:  "/deliveries?" + rejected.Encode()},
			views.Stat{Label: "Failure rate · " + w.label, Value: views.FormatPercent(st.FailureRate()),
				Hint: "failures per delivery"},
		)
	}
	hours, err := h.Store.HourlyDeliveries(p.MerchantID, 24)
	if err != nil {
		return err
	}
	chart := make([]views.ChartHour, len(hours))
	for i, b := range hours {
		chart[i] = views.ChartHour{Start: b.Hour, Accepted: b.Accepted, Duplicate: b.Duplicate, Rejected: b.Rejected}
	}
	v.Chart = views.NewDeliveryChart(chart)

	bl, err := h.Store.Backlog(p.MerchantID)
	if err != nil {
		return err
	}
	v.Backlog = []views.Stat{
		{Label: "Waiting", Value: views.FormatCount(bl.Waiting()),
			Hint: fmt.Sprintf("%s pending, %s retrying", views.FormatCount(bl.Pending), views.FormatCount(bl.Retrying)),
			URL:  "/deliveries?status=" + string(models.StatusPending)},
		{Label: "Failed", Value: views.FormatCount(bl.Failed), Hint: failedHint(bl),
			URL: "/deliveries?status=" + string(models.StatusFailed)},
		{Label: "Dead", Value: views.FormatCount(bl.Dead), Hint: "out of retries; replay them",
			URL: "/deliveries?status=" + string(models.StatusDead)},
	}

	names := endpointNames(eps)
	fs, err := h.Store.LatestFailures(p.MerchantID, overviewFailures)
	if err != nil {
		return err
	}
	for _, f := range fs {
		row := views.FailureRow{At: f.At, Endpoint: names[f.EndpointID], Type: f.Type, Status: f.Status, Reason: f.Reason,
			URL: "/deliveries/" + strconv.FormatUint(uint64(f.DeliveryID), 10)}
		if f.EventID != 0 {
			row.URL = eventPath(f.EventID)
		}
		v.Failures = append(v.Failures, row)
	}

	health, err := h.Store.EndpointsHealth(p.MerchantID, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	for _, e := range health {
		list := "/deliveries?endpoint=" + strconv.FormatUint(uint64(e.Endpoint.ID), 10)
		v.Endpoints = append(v.Endpoints, views.EndpointHealthRow{Name: e.Endpoint.Name, URL: list, Provider: e.Endpoint.Provider,
			Enabled: e.Endpoint.Enabled, LastDelivery: e.LastDelivery, Deliveries: views.FormatCount(e.Deliveries),
			ErrorRate: views.FormatPercent(e.ErrorRate()), Warn: e.Rejected > 0, DeliveriesURL: list})
	}
	return h.Sessions.renderPage(c, http.StatusOK, "Overview", views.NavOverview, views.OverviewPage(v))
}

func failedHint(b models.Backlog) string {
	if b.Failed == 0 {
		return "none"
	}
	switch b.Retrying {
	case 0:
		return "none will retry on its own; replay them"
	case 1:
		return "1 will retry on its own"
	}
	return fmt.Sprintf("%s will retry on their own", views.FormatCount(b.Retrying))
}

// plural writes a count with the singular or plural noun.
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return views.FormatCount(n) + " " + many
}
