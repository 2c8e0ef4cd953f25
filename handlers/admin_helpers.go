package handlers

import (
	"errors"
	"strconv"

	"github.com/labstack/echo/v4"

	"hooklog/models"
)

// adminAuditEntry is the audit entry of an admin action by the request's principal on one object.
func adminAuditEntry(c echo.Context, action, objectType string, objectID uint, detail string) models.AuditEntry {
	p := principal(c)
	return models.AuditEntry{MerchantID: p.MerchantID, Actor: p.Actor, Action: action, ObjectType: objectType,
		ObjectID: strconv.FormatUint(uint64(objectID), 10), Detail: detail, RemoteAddr: c.RealIP()}
}

// adminFieldErrors returns the field errors of a *models.ValidationError.
func adminFieldErrors(err error) (map[string]string, bool) {
	var verr *models.ValidationError
	if errors.As(err, &verr) {
		return verr.Fields, true
	}
	return nil, false
}

// adminNoStore keeps a response that shows a secret, token or password out of every cache.
func adminNoStore(c echo.Context) {
	c.Response().Header().Set("Cache-Control", "no-store")
}
