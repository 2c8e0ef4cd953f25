package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"hooklog/models"
)

// ListDeliveries handles GET /api/v1/deliveries.
func (h *API) ListDeliveries(c echo.Context) error {
	f := models.DeliveryFilter{MerchantID: principal(c).MerchantID, EventType: c.QueryParam("type"), Cursor: models.Cursor(c.QueryParam("cursor"))}
	var err error
	if f.Outcome, err = parseOutcome(c.QueryParam("outcome")); err != nil {
		return err
	}
	if f.Status, err = parseStatus(c.QueryParam("status")); err != nil {
		return err
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
	ds, next, err := h.Store.Deliveries(f)
	if errors.Is(err, models.ErrBadCursor) {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	if err != nil {
		return err
	}
	out := list[DeliveryJSON]{Items: make([]DeliveryJSON, 0, len(ds)), NextCursor: string(next)}
	for i := range ds {
		out.Items = append(out.Items, deliveryJSON(&ds[i], false))
	}
	return c.JSON(http.StatusOK, out)
}

func parseOutcome(s string) (models.Outcome, error) {
	if s == "" {
		return "", nil
	}
	for _, o := range models.Outcomes {
		if string(o) == s {
			return o, nil
		}
	}
	return "", echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("outcome must be accepted, rejected or duplicate; not %q", s))
}
