package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"hooklog/models"
)

// ListEvents handles GET /api/v1/events.
func (h *API) ListEvents(c echo.Context) error {
	f := models.EventFilter{MerchantID: principal(c).MerchantID, Type: c.QueryParam("type"), OrderRef: c.QueryParam("order"),
		ExternalID: c.QueryParam("external_id"), Cursor: models.Cursor(c.QueryParam("cursor"))}
	var err error
	if f.Status, err = parseStatus(c.QueryParam("status")); err != nil {
		return err
	}
	if f.Mark, err = models.ParseMark(c.QueryParam("mark")); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	if f.EndpointID, err = queryUint(c, "endpoint"); err != nil {
		return err
	}
	if f.Since, err = queryTime(c, "since"); err != nil {
		return err
	}
	if f.Until, err = queryTime(c, "until"); err != nil {
		return err
	}
	limit, err := queryUint(c, "limit")
	if err != nil {
		return err
	}
	f.Limit = int(limit)
	evs, next, err := h.Store.Events(f)
	if errors.Is(err, models.ErrBadCursor) {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	if err != nil {
		return err
	}
	out := list[EventJSON]{Items: make([]EventJSON, 0, len(evs)), NextCursor: string(next)}
	for i := range evs {
		out.Items = append(out.Items, eventJSON(&evs[i]))
	}
	return c.JSON(http.StatusOK, out)
}

func parseStatus(s string) (models.Status, error) {
	if s == "" {
		return "", nil
	}
	for _, st := range models.Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("status must be one of pending, processing, processed, failed, dead; not %q", s))
}

// EventDetailJSON is an event with its deliveries, attempts and the order steps it caused.
type EventDetailJSON struct {
	EventJSON
	Deliveries  []DeliveryJSON   `json:"deliveries"`
	AttemptList []AttemptJSON    `json:"attempts"`
	Transitions []TransitionJSON `json:"order_transitions"`
}

// GetEvent handles GET /api/v1/events/{id}.
func (h *API) GetEvent(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ev, err := h.Store.Event(principal(c).MerchantID, id)
	if err != nil {
		return notFoundOr(err, "event")
	}
	ds, err := h.Store.EventDeliveries(ev.ID)
	if err != nil {
		return err
	}
	as, err := h.Store.EventAttempts(ev.ID)
	if err != nil {
		return err
	}
	ts, err := h.Store.EventTransitions(ev.ID)
	if err != nil {
		return err
	}
	out := EventDetailJSON{EventJSON: eventJSON(ev), Deliveries: make([]DeliveryJSON, 0, len(ds)),
		AttemptList: make([]AttemptJSON, 0, len(as)), Transitions: transitionsJSON(ts)}
	for i := range ds {
		out.Deliveries = append(out.Deliveries, deliveryJSON(&ds[i], true))
	}
	for _, a := range as {
		out.AttemptList = append(out.AttemptList, AttemptJSON{StartedAt: a.StartedAt, FinishedAt: a.FinishedAt, Outcome: a.Outcome,
			Result: a.Result, Error: a.Error, Trigger: a.Trigger, Actor: a.Actor})
	}
	return c.JSON(http.StatusOK, out)
}

// ReplayEvent handles POST /api/v1/events/{id}/replay.
func (h *API) ReplayEvent(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	p := principal(c)
	ev, err := h.Store.Replay(p.MerchantID, id, p.Actor)
	if errors.Is(err, models.ErrBusy) {
		return echo.NewHTTPError(http.StatusConflict, err.Error())
	}
	if err != nil {
		return notFoundOr(err, "event")
	}
	if err := h.Store.Audit(models.AuditEntry{MerchantID: p.MerchantID, Actor: p.Actor, Action: models.AuditReplay,
		ObjectType: "event", ObjectID: fmt.Sprint(id), RemoteAddr: c.RealIP()}); err != nil {
		return err
	}
	if h.Wake != nil {
		h.Wake()
	}
	return c.JSON(http.StatusAccepted, eventJSON(ev))
}

// markRequest is the body of POST /api/v1/events/{id}/mark.
type markRequest struct {
	Mark string `json:"mark"`
	Note string `json:"note"`
}

// MarkEvent handles POST /api/v1/events/{id}/mark.
func (h *API) MarkEvent(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req markRequest
	if err := c.Bind(&req); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, `send JSON like {"mark":"resolved","note":"refunded by hand"}`)
	}
	mark, err := models.ParseMark(req.Mark)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	if len(req.Note) > 2000 {
		return echo.NewHTTPError(http.StatusBadRequest, "note must be at most 2000 characters")
	}
	p := principal(c)
	ev, err := h.Store.MarkEvent(p.MerchantID, id, mark, req.Note, p.Actor)
	if err != nil {
		return notFoundOr(err, "event")
	}
	if err := h.Store.Audit(models.AuditEntry{MerchantID: p.MerchantID, Actor: p.Actor, Action: models.AuditMark,
		ObjectType: "event", ObjectID: fmt.Sprint(id), Detail: string(mark) + ": " + req.Note, RemoteAddr: c.RealIP()}); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, eventJSON(ev))
}
