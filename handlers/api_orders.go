package handlers

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"hooklog/models"
)

// OrderJSON is an order with its history.
type OrderJSON struct {
	Reference      string             `json:"reference"`
	Status         models.OrderStatus `json:"status"`
	Amount         *int64             `json:"amount"`
	Currency       string             `json:"currency"`
	RefundedAmount int64              `json:"refunded_amount"`
	PaymentID      string             `json:"payment_id"`
	Provider       string             `json:"provider"`
	CreatedAt      time.Time          `json:"created_at"`
	UpdatedAt      time.Time          `json:"updated_at"`
	History        []TransitionJSON   `json:"history"`
}

// GetOrder handles GET /api/v1/orders/{reference}.
func (h *API) GetOrder(c echo.Context) error {
	ref := c.Param("reference")
	// Echo leaves a path parameter escaped when the path needed escaping (a reference like "a/b").
	if c.Request().URL.RawPath != "" {
		if u, err := url.PathUnescape(ref); err == nil {
			ref = u
		}
	}
	o, err := h.Store.OrderByReference(principal(c).MerchantID, ref)
	if err != nil {
		return notFoundOr(err, "order")
	}
	ts, err := h.Store.OrderHistory(o.ID)
	if err != nil {
		return err
	}
	out := OrderJSON{Reference: o.Reference, Status: o.Status, Currency: o.Currency, RefundedAmount: o.RefundedAmount,
		PaymentID: o.PaymentID, Provider: o.Provider, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, History: transitionsJSON(ts)}
	if o.HasAmount {
		a := o.Amount
		out.Amount = &a
	}
	return c.JSON(http.StatusOK, out)
}
