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
	// operations pages: begin
	// operations pages: end
	// admin pages: begin
	// admin pages: end
	// records pages: begin
	// records pages: end
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
	_, _ = operate, admin
	// operations routes: begin
	// operations routes: end
	// admin routes: begin
	// admin routes: end
	// records routes: begin
	// records routes: end
	_ = dash
}
