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
	// One ingest handler serves /in/{token} and the dashboard's test events alike.
	ingest := &Ingest{Store: d.Store, Ingester: d.Ingester, MaxBodyBytes: cfg.Ingest.MaxBodyBytes,
		Tolerance: cfg.Ingest.Tolerance.Duration, Log: d.Log, Limit: NewRateLimiter(cfg.Ingest.RateLimit, cfg.Ingest.RateBurst, d.Store.Now)}
	Register(e, Routes{
		Ingest:     ingest,
		API:        &API{Store: d.Store, Wake: d.Worker.Wake},
		Health:     &Health{Ping: d.Store.Ping, WorkersRunning: d.Worker.Running},
		Sessions:   sessions,
		Overview:   &Overview{Store: d.Store, Sessions: sessions, BaseURL: cfg.BaseURL},
		Deliveries: &Deliveries{Store: d.Store, Sessions: sessions, Log: d.Log},
		Events:     &Events{Store: d.Store, Sessions: sessions, Wake: d.Worker.Wake},
		ReplayJobs: &ReplayJobs{Store: d.Store, Sessions: sessions},
		Endpoints:  &Endpoints{Store: d.Store, Sessions: sessions, BaseURL: cfg.BaseURL, Ingest: ingest},
		Users:      &Users{Store: d.Store, Sessions: sessions},
		Tokens:     &Tokens{Store: d.Store, Sessions: sessions, BaseURL: cfg.BaseURL},
		AuditLog:   &AuditLog{Store: d.Store, Sessions: sessions},
		Orders:     &Orders{Store: d.Store, Sessions: sessions},
		Search:     &Search{Store: d.Store, Sessions: sessions, Log: d.Log},
	})
	return e
}
