package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/views"
)

// AuditLog serves the admin page of the audit log.
type AuditLog struct {
	Store    *models.Store
	Sessions *Sessions
}

// auditPageSize is how many entries one page of the audit log shows.
const auditPageSize = 50

// List handles GET /audit?action=&actor=&cursor=|newer=: newest first, filtered, keyset-paginated.
func (h *AuditLog) List(c echo.Context) error {
	p := principal(c)
	f := models.AuditFilter{MerchantID: p.MerchantID, Action: strings.TrimSpace(c.QueryParam("action")),
		Actor: strings.TrimSpace(c.QueryParam("actor")), Cursor: models.Cursor(c.QueryParam("cursor")),
		Newer: models.Cursor(c.QueryParam("newer")), Limit: auditPageSize}
	page, err := h.Store.AuditEntries(f)
	if errors.Is(err, models.ErrBadCursor) {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	if err != nil {
		return err
	}
	actions, err := h.Store.AuditActions(p.MerchantID)
	if err != nil {
		return err
	}
	v := views.AuditView{Action: f.Action, Actor: f.Actor, Actions: actions}
	for _, e := range page.Entries {
		v.Rows = append(v.Rows, auditRow(e))
	}
	if page.Newer != "" {
		v.Pager.PrevURL = auditURL(f, "newer", page.Newer)
	}
	if page.Older != "" {
		v.Pager.NextURL = auditURL(f, "cursor", page.Older)
	}
	return h.Sessions.renderPage(c, http.StatusOK, "Audit log", views.NavAudit, views.AuditPage(v))
}

// auditURL links to a neighbouring page, keeping the filters.
func auditURL(f models.AuditFilter, key string, cursor models.Cursor) string {
	q := url.Values{}
	if f.Action != "" {
		q.Set("action", f.Action)
	}
	if f.Actor != "" {
		q.Set("actor", f.Actor)
	}
	q.Set(key, string(cursor))
	return "/audit?" + q.Encode()
}

// auditRow names an entry's object and links it where it has a page.
func auditRow(e models.AuditEntry) views.AuditRow {
	r := views.AuditRow{At: e.At, Actor: e.Actor, Action: e.Action, Detail: e.Detail, RemoteAddr: e.RemoteAddr}
	if e.ObjectType != "" {
		r.Object = strings.TrimSpace(e.ObjectType + " " + e.ObjectID)
	}
	if id, err := strconv.ParseUint(e.ObjectID, 10, 64); err == nil && id > 0 {
		switch e.ObjectType {
		case "event":
			r.ObjectURL = "/events/" + e.ObjectID
		case "endpoint":
			r.ObjectURL = views.EndpointURL(uint(id))
		}
	}
	return r
}
