// Package handlers turns HTTP requests into calls on models and webhooks and renders the answers.
package handlers

import (
	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/static"
)

// Routes holds every handler the server serves.
type Routes struct {
	Ingest   *Ingest
	API      *API
	Health   *Health
	Sessions *Sessions

	Overview   *Overview
	Deliveries *Deliveries
	Events     *Events
	ReplayJobs *ReplayJobs

	Endpoints *Endpoints
	Users     *Users
	Tokens    *Tokens
	AuditLog  *AuditLog

	Orders *Orders
	Search *Search
}

// Register lists every route of the server in one place.
func Register(e *echo.Echo, r Routes) {
	e.Use(securityHeaders)

	// Providers post here; the endpoint token in the URL is the only credential besides the signature.
	e.POST("/in/:token", r.Ingest.Receive)

	e.GET("/healthz", r.Health.Live)
	e.GET("/readyz", r.Health.Ready)
	e.GET(static.Prefix+"*", echo.WrapHandler(static.Handler()))

	api := e.Group("/api/v1", r.API.Authenticate)
	api.GET("/events", r.API.ListEvents)
	api.GET("/events/:id", r.API.GetEvent)
	api.POST("/events/:id/replay", r.API.ReplayEvent, requireRole(models.RoleOperator))
	api.POST("/events/:id/mark", r.API.MarkEvent, requireRole(models.RoleOperator))
	api.GET("/deliveries", r.API.ListDeliveries)
	api.GET("/orders/:reference", r.API.GetOrder)

	// The dashboard: sessions and CSRF on everything, a login on everything but /login.
	web := e.Group("", r.Sessions.Load, r.Sessions.CSRF)
	web.GET("/login", r.Sessions.LoginForm)
	web.POST("/login", r.Sessions.Login)
	web.POST("/logout", r.Sessions.Logout)

	dash := web.Group("", r.Sessions.RequireLogin)
	operate := requireRole(models.RoleOperator)
	admin := requireRole(models.RoleAdmin)

	// What people watch and act on: everyone reads, operators replay and mark.
	dash.GET("/", r.Overview.Show)
	dash.GET("/deliveries", r.Deliveries.List)
	dash.GET("/deliveries.csv", r.Deliveries.Export)
	dash.GET("/deliveries/:id", r.Deliveries.Show)
	dash.GET("/events/:id", r.Events.Show)
	dash.GET("/events/:id/raw", r.Events.Raw)
	dash.GET("/events/:id/evidence.json", r.Events.Evidence)
	dash.POST("/events/:id/replay", r.Events.Replay, operate)
	dash.POST("/events/:id/mark", r.Events.Mark, operate)
	dash.GET("/replay-jobs", r.ReplayJobs.List)
	dash.POST("/replay-jobs/preview", r.ReplayJobs.Preview, operate)
	dash.POST("/replay-jobs", r.ReplayJobs.Create, operate)
	dash.GET("/replay-jobs/:id", r.ReplayJobs.Show)
	dash.POST("/replay-jobs/:id/cancel", r.ReplayJobs.Cancel, operate)

	// Administration of the merchant: admins only.
	dash.GET("/endpoints", r.Endpoints.List, admin)
	dash.GET("/endpoints/new", r.Endpoints.New, admin)
	dash.POST("/endpoints", r.Endpoints.Create, admin)
	dash.GET("/endpoints/:id", r.Endpoints.Show, admin)
	dash.POST("/endpoints/:id", r.Endpoints.Update, admin)
	dash.POST("/endpoints/:id/secrets/:sid/reveal", r.Endpoints.Reveal, admin)
	dash.POST("/endpoints/:id/rotate", r.Endpoints.Rotate, admin)
	dash.POST("/endpoints/:id/enable", r.Endpoints.Enable, admin)
	dash.POST("/endpoints/:id/disable", r.Endpoints.Disable, admin)
	dash.POST("/endpoints/:id/test", r.Endpoints.Test, admin)
	dash.GET("/endpoints/:id/deliveries", r.Endpoints.Deliveries, admin)
	dash.GET("/users", r.Users.List, admin)
	dash.POST("/users", r.Users.Create, admin)
	dash.POST("/users/:id/role", r.Users.SetRole, admin)
	dash.POST("/users/:id/deactivate", r.Users.Deactivate, admin)
	dash.POST("/users/:id/activate", r.Users.Activate, admin)
	dash.GET("/tokens", r.Tokens.List, admin)
	dash.POST("/tokens", r.Tokens.Create, admin)
	dash.POST("/tokens/:id/revoke", r.Tokens.Revoke, admin)
	dash.GET("/audit", r.AuditLog.List, admin)

	// Records for support and disputes: everyone reads and exports.
	dash.GET("/orders", r.Orders.List)
	dash.GET("/orders/:reference", r.Orders.Show)
	dash.GET("/orders/:reference/evidence.json", r.Orders.Evidence)
	dash.GET("/search", r.Search.Page)
	dash.GET("/search.csv", r.Search.CSV)
}
