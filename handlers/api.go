package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/webhooks"
)

// API serves the JSON API under /api/v1 for scripts and tests, authenticated by bearer tokens.
type API struct {
	Store *models.Store
	// Wake nudges the workers after a replay; may be nil.
	Wake func()
}

// Authenticate is the API's middleware: a valid `Authorization: Bearer <token>` or 401.
func (h *API) Authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(raw) == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="hooklog"`)
			return echo.NewHTTPError(http.StatusUnauthorized, "send an API token as `Authorization: Bearer <token>`; create one with `hooklog token add` or on the API tokens page")
		}
		t, err := h.Store.TokenByPlaintext(strings.TrimSpace(raw))
		if errors.Is(err, models.ErrNotFound) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="hooklog", error="invalid_token"`)
			return echo.NewHTTPError(http.StatusUnauthorized, "this API token is unknown or revoked")
		}
		if err != nil {
			return fmt.Errorf("api: authenticate: %w", err)
		}
		setPrincipal(c, &Principal{MerchantID: t.MerchantID, MerchantName: t.Merchant.Name, Role: t.Role, Actor: "token:" + t.Prefix})
		return next(c)
	}
}

// list is the shape of every list answer.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// EventJSON is an event as the API shows it.
type EventJSON struct {
	ID            uint               `json:"id"`
	EndpointID    uint               `json:"endpoint_id"`
	Provider      string             `json:"provider"`
	ExternalID    string             `json:"external_id"`
	Type          string             `json:"type"`
	Canonical     webhooks.Canonical `json:"canonical"`
	OrderRef      string             `json:"order"`
	PaymentID     string             `json:"payment_id"`
	Amount        *int64             `json:"amount"`
	Currency      string             `json:"currency"`
	CustomerEmail string             `json:"customer_email,omitempty"`
	CustomerPhone string             `json:"customer_phone,omitempty"`
	Status        models.Status      `json:"status"`
	Attempts      int                `json:"attempt_count"`
	NextAttemptAt *time.Time         `json:"next_attempt_at"`
	LastError     string             `json:"last_error"`
	Mark          models.Mark        `json:"mark"`
	MarkNote      string             `json:"mark_note"`
	MarkedBy      string             `json:"marked_by,omitempty"`
	ReceivedAt    time.Time          `json:"received_at"`
	ProcessedAt   *time.Time         `json:"processed_at"`
	DeliveryCount int                `json:"delivery_count"`
}

func eventJSON(e *models.Event) EventJSON {
	j := EventJSON{ID: e.ID, EndpointID: e.EndpointID, Provider: e.Provider, ExternalID: e.ExternalID, Type: e.Type,
		Canonical: e.Canonical, OrderRef: e.OrderRef, PaymentID: e.PaymentID, Currency: e.Currency,
		CustomerEmail: e.CustomerEmail, CustomerPhone: e.CustomerPhone, Status: e.Status, Attempts: e.Attempts,
		LastError: e.LastError, Mark: e.Mark, MarkNote: e.MarkNote, MarkedBy: e.MarkedBy, ReceivedAt: e.ReceivedAt,
		ProcessedAt: e.ProcessedAt, DeliveryCount: e.DeliveryCount}
	if e.HasAmount {
		a := e.Amount
		j.Amount = &a
	}
	if e.Status == models.StatusPending || e.Status == models.StatusFailed {
		j.NextAttemptAt = e.NextAttemptAt
	}
	return j
}

// DeliveryJSON is a delivery as the API shows it; the body comes only with an event's detail.
type DeliveryJSON struct {
	ID         uint           `json:"id"`
	EndpointID uint           `json:"endpoint_id"`
	ReceivedAt time.Time      `json:"received_at"`
	RemoteAddr string         `json:"remote_addr"`
	Outcome    models.Outcome `json:"outcome"`
	Reason     string         `json:"reason"`
	StatusCode int            `json:"status_code"`
	EventID    *uint          `json:"event_id"`
	EventType  string         `json:"event_type"`
	BodySize   int64          `json:"body_size"`
	Headers    http.Header    `json:"headers,omitempty"`
	Body       *string        `json:"body,omitempty"`
}

func deliveryJSON(d *models.Delivery, withContent bool) DeliveryJSON {
	j := DeliveryJSON{ID: d.ID, EndpointID: d.EndpointID, ReceivedAt: d.ReceivedAt, RemoteAddr: d.RemoteAddr, Outcome: d.Outcome,
		Reason: d.Reason, StatusCode: d.StatusCode, EventID: d.EventID, EventType: d.EventType, BodySize: d.BodySize}
	if withContent {
		j.Headers = d.Headers
		b := string(d.Body)
		j.Body = &b
	}
	return j
}

// AttemptJSON is one processing run.
type AttemptJSON struct {
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Outcome    models.Status  `json:"outcome"`
	Result     string         `json:"result"`
	Error      string         `json:"error"`
	Trigger    models.Trigger `json:"trigger"`
	Actor      string         `json:"actor"`
}

// TransitionJSON is one step of an order's history.
type TransitionJSON struct {
	From    models.OrderStatus `json:"from"`
	To      models.OrderStatus `json:"to"`
	EventID uint               `json:"event_id"`
	At      time.Time          `json:"at"`
	Reason  string             `json:"reason"`
}

func transitionsJSON(ts []models.OrderTransition) []TransitionJSON {
	out := make([]TransitionJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, TransitionJSON{From: t.From, To: t.To, EventID: t.EventID, At: t.At, Reason: t.Reason})
	}
	return out
}

// queryUint parses an optional numeric query parameter.
func queryUint(c echo.Context, name string) (uint, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("%s must be a number, not %q", name, v))
	}
	return uint(n), nil
}

// queryTime parses an optional RFC 3339 time (or a date) query parameter.
func queryTime(c echo.Context, name string) (time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("%s must be a time like 2026-01-31T12:00:00Z or a date like 2026-01-31, not %q", name, v))
}

// pathID parses the numeric :id path parameter; anything else is a 404, like an unknown id.
func pathID(c echo.Context) (uint, error) {
	n, err := strconv.ParseUint(c.Param("id"), 10, 64)
	if err != nil || n == 0 {
		return 0, echo.NewHTTPError(http.StatusNotFound, "not found")
	}
	return uint(n), nil
}

// notFoundOr turns models.ErrNotFound into a 404 and wraps other errors.
func notFoundOr(err error, what string) error {
	if errors.Is(err, models.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, what+" not found")
	}
	return err
}
