package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// errorJSON is the body of every JSON error: a message a person can act on.
type errorJSON struct {
	Error string `json:"error"`
}

// PageRenderer renders the dashboard's error page; nil renders JSON everywhere.
type PageRenderer func(c echo.Context, code int, message string) error

// ErrorHandler is the one place errors become responses. Internal failures are logged once with the
// request and answered with a generic message: a user never sees an internal error's text.
func ErrorHandler(log *slog.Logger, page PageRenderer) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		code, msg := http.StatusInternalServerError, "something went wrong on our side; it has been logged"
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code = he.Code
			if m, ok := he.Message.(string); ok {
				msg = m
			} else {
				msg = http.StatusText(code)
			}
			if he.Internal != nil {
				log.Warn("request failed", "method", c.Request().Method, "path", c.Path(), "status", code, "err", he.Internal)
			}
		}
		if code >= 500 {
			log.Error("request failed", "method", c.Request().Method, "uri", c.Request().URL.Path, "status", code, "err", err)
		}
		var werr error
		if page == nil || wantsJSON(c) {
			if c.Request().Method == http.MethodHead {
				werr = c.NoContent(code)
			} else {
				werr = c.JSON(code, errorJSON{Error: msg})
			}
		} else {
			if msg == http.StatusText(code) {
				msg = "" // the page's own wording says it better
			}
			werr = page(c, code, msg)
		}
		if werr != nil {
			log.Error("writing error response", "err", werr)
		}
	}
}

// wantsJSON is true for the API and ingest paths, which always answer JSON.
func wantsJSON(c echo.Context) bool {
	p := c.Request().URL.Path
	return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/in/")
}
