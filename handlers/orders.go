package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/views"
	"hooklog/webhooks"
)

// Orders serves the order list, an order's page and its evidence download.
type Orders struct {
	Store    *models.Store
	Sessions *Sessions
}

const (
	// orderEventsShown bounds the events listed on an order's page.
	orderEventsShown = 200
	// orderEvidenceEvents bounds the events in an evidence download.
	orderEvidenceEvents = 10000
)

// List handles GET /orders: q (reference or payment id, exact or prefix), status, and the keyset
// cursors cursor (older) and newer.
func (h *Orders) List(c echo.Context) error {
	v := views.OrdersView{Query: strings.TrimSpace(c.QueryParam("q")), Status: c.QueryParam("status"),
		Paged: c.QueryParam("cursor") != "" || c.QueryParam("newer") != ""}
	for _, s := range models.OrderStatuses {
		v.Statuses = append(v.Statuses, string(s))
	}
	f := models.OrderFilter{MerchantID: principal(c).MerchantID, Query: v.Query,
		Older: models.Cursor(c.QueryParam("cursor")), Newer: models.Cursor(c.QueryParam("newer"))}
	if v.Status != "" {
		st, ok := orderStatusParam(v.Status)
		if !ok {
			v.StatusError = "Choose one of the listed statuses."
			return h.renderList(c, http.StatusUnprocessableEntity, v)
		}
		f.Status = st
	}
	page, err := h.Store.Orders(f)
	if errors.Is(err, models.ErrBadCursor) {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	if err != nil {
		return fmt.Errorf("orders: list: %w", err)
	}
	for _, o := range page.Orders {
		v.Rows = append(v.Rows, views.OrderRow{Reference: o.Reference, Status: string(o.Status), Amount: orderAmount(&o),
			Refunded: orderRefunded(&o), Provider: o.Provider, PaymentID: o.PaymentID, UpdatedAt: o.UpdatedAt})
	}
	base := url.Values{}
	if v.Query != "" {
		base.Set("q", v.Query)
	}
	if v.Status != "" {
		base.Set("status", v.Status)
	}
	v.Pager = recordsPager("/orders", base, page.Older, page.Newer)
	v.FirstURL = "/orders"
	if len(base) > 0 {
		v.FirstURL += "?" + base.Encode()
	}
	return h.renderList(c, http.StatusOK, v)
}

func (h *Orders) renderList(c echo.Context, status int, v views.OrdersView) error {
	p := h.Sessions.page(c, "Orders", views.NavOrders)
	var fragment templ.Component = views.OrdersResults(v)
	if v.StatusError != "" {
		fragment = templ.Join(fragment, views.FlashesOOB([]views.Flash{{Kind: views.FlashError, Message: v.StatusError}}))
	}
	return render(c, status, views.Layout(p, views.OrdersPage(v)), fragment)
}

// Show handles GET /orders/{reference}.
func (h *Orders) Show(c echo.Context) error {
	p := principal(c)
	o, err := h.order(c)
	if err != nil {
		return err
	}
	history, err := h.Store.OrderHistory(o.ID)
	if err != nil {
		return err
	}
	evs, more, err := h.Store.OrderEvents(p.MerchantID, o, orderEventsShown)
	if err != nil {
		return err
	}
	v := views.OrderView{Reference: o.Reference, Status: string(o.Status), Amount: orderAmount(o), Refunded: orderRefunded(o),
		Currency: o.Currency, Paid: o.Paid, Provider: o.Provider, PaymentID: o.PaymentID, CreatedAt: o.CreatedAt,
		UpdatedAt: o.UpdatedAt, MoreEvents: more}
	for _, t := range history {
		v.History = append(v.History, views.OrderStep{From: string(t.From), To: string(t.To), Reason: t.Reason, At: t.At, EventID: t.EventID})
	}
	for _, e := range evs {
		ev := views.OrderEvent{ID: e.ID, Type: e.Type, Canonical: string(e.Canonical), Status: string(e.Status), Mark: string(e.Mark),
			ReceivedAt: e.ReceivedAt}
		if e.HasAmount {
			ev.Amount = recordsMoney(e.Amount, e.Currency)
		}
		v.Events = append(v.Events, ev)
	}
	return h.Sessions.renderPage(c, http.StatusOK, "Order "+o.Reference, views.NavOrders, views.OrderPage(v))
}

// OrderEvidence is an order's evidence download: the order, every change of its status, and
// every event that names it. It holds no payloads, headers or secrets.
type OrderEvidence struct {
	ExportedAt time.Time   `json:"exported_at"`
	ExportedBy string      `json:"exported_by"`
	Order      OrderJSON   `json:"order"`
	Events     []EventJSON `json:"events"`
	// EventsTruncated says that the order has more events than the download holds.
	EventsTruncated bool `json:"events_truncated"`
}

// Evidence handles GET /orders/{reference}/evidence.json.
func (h *Orders) Evidence(c echo.Context) error {
	p := principal(c)
	o, err := h.order(c)
	if err != nil {
		return err
	}
	history, err := h.Store.OrderHistory(o.ID)
	if err != nil {
		return err
	}
	evs, more, err := h.Store.OrderEvents(p.MerchantID, o, orderEvidenceEvents)
	if err != nil {
		return err
	}
	out := OrderEvidence{ExportedAt: h.Store.Now(), ExportedBy: p.Actor, EventsTruncated: more,
		Order: OrderJSON{Reference: o.Reference, Status: o.Status, Currency: o.Currency, RefundedAmount: o.RefundedAmount,
			PaymentID: o.PaymentID, Provider: o.Provider, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, History: transitionsJSON(history)},
		Events: make([]EventJSON, 0, len(evs))}
	if o.HasAmount {
		a := o.Amount
		out.Order.Amount = &a
	}
	for i := range evs {
		out.Events = append(out.Events, eventJSON(&evs[i]))
	}
	body, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("orders: evidence of %q: %w", o.Reference, err)
	}
	if err := h.Store.Audit(models.AuditEntry{MerchantID: p.MerchantID, Actor: p.Actor, Action: models.AuditExport,
		ObjectType: "order", ObjectID: o.Reference, Detail: "order evidence (JSON)", RemoteAddr: c.RealIP()}); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, recordsAttachment("order-"+o.Reference+"-evidence.json"))
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSONCharsetUTF8, append(body, '\n'))
}

// order loads the merchant's order named by the :reference path parameter. Echo leaves the
// parameter escaped when the path needed escaping (a "/" or "?" inside a reference), so it is
// unescaped here exactly once.
func (h *Orders) order(c echo.Context) (*models.Order, error) {
	ref := c.Param("reference")
	if c.Request().URL.RawPath != "" {
		u, err := url.PathUnescape(ref)
		if err != nil {
			return nil, echo.NewHTTPError(http.StatusNotFound, "order not found")
		}
		ref = u
	}
	o, err := h.Store.OrderByReference(principal(c).MerchantID, ref)
	if err != nil {
		return nil, notFoundOr(err, "order")
	}
	return o, nil
}

func orderStatusParam(s string) (models.OrderStatus, bool) {
	for _, st := range models.OrderStatuses {
		if string(st) == s {
			return st, true
		}
	}
	return "", false
}

// recordsMoney formats minor units with their currency code: "25.00 USD".
func recordsMoney(minor int64, currency string) string {
	return strings.TrimSpace(webhooks.FormatAmount(minor, currency) + " " + currency)
}

func orderAmount(o *models.Order) string {
	if !o.HasAmount {
		return ""
	}
	return recordsMoney(o.Amount, o.Currency)
}

func orderRefunded(o *models.Order) string {
	switch {
	case o.RefundedAmount > 0:
		return recordsMoney(o.RefundedAmount, o.Currency)
	case o.FullRefund:
		return "in full"
	}
	return ""
}

// recordsPager links a newest-first list to its neighbours, keeping the filters in base.
func recordsPager(path string, base url.Values, older, newer models.Cursor) views.Pager {
	link := func(key string, c models.Cursor) string {
		if c == "" {
			return ""
		}
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		v.Set(key, string(c))
		return path + "?" + v.Encode()
	}
	return views.Pager{NextURL: link("cursor", older), PrevURL: link("newer", newer)}
}

// attachment is a Content-Disposition that downloads under name, reduced to safe characters (with
// the full name also given in RFC 5987 form).
func recordsAttachment(name string) string {
	safe := strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '.' || r == '-' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			return r
		}
		return '_'
	}, name)
	return `attachment; filename="` + safe + `"`
}
