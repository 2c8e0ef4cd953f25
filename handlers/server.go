package handlers

import (
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"hooklog/config"
	"hooklog/models"
)

// Worker is what handlers need from the worker pool.
type Worker interface {
	Wake()
	Running() bool
}

// Deps are the dependencies the composition root hands to the server.
type Deps struct {
	Config   config.Config
	Store    *models.Store
	Ingester *models.Ingester
	Worker   Worker
	Log      *slog.Logger
	// MasterKey signs and encrypts session cookies (through derived keys).
	MasterKey []byte
}

// New builds the Echo server: every handler with its dependencies, the error handler, and the routes.
func New(d Deps) *echo.Echo {
	cfg := d.Config
	sessions := &Sessions{
		Store: d.Store, Cookies: NewCookieStore(d.MasterKey, cfg.BaseURL, cfg.Session.AbsoluteTimeout.Duration),
		Idle: cfg.Session.IdleTimeout.Duration, Absolute: cfg.Session.AbsoluteTimeout.Duration,
		MaxFailures: cfg.Session.MaxFailures, LockoutWindow: cfg.Session.LockoutWindow.Duration,
		BaseURL: cfg.BaseURL, Log: d.Log,
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Only the connecting address is trusted; X-Forwarded-For is anyone's to send.
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = ErrorHandler(d.Log, sessions.ErrorPage)
	e.RouteNotFound("/*", func(c echo.Context) error { return echo.NewHTTPError(http.StatusNotFound, "") })
	Register(e, Routes{
		Ingest: &Ingest{Store: d.Store, Ingester: d.Ingester, MaxBodyBytes: cfg.Ingest.MaxBodyBytes,
			Tolerance: cfg.Ingest.Tolerance.Duration, Log: d.Log},
		API:      &API{Store: d.Store, Wake: d.Worker.Wake},
		Health:   &Health{Ping: d.Store.Ping, WorkersRunning: d.Worker.Running},
		Sessions: sessions,
		// operations handlers: begin
		// operations handlers: end
		// admin handlers: begin
		// admin handlers: end
		// records handlers: begin
		// records handlers: end
	})
	return e
}
