// Package handlers turns HTTP requests into calls on models and webhooks and renders the answers.
package handlers

import (
	"github.com/labstack/echo/v4"

	"hooklog/models"
)

// Routes holds every handler the server serves.
type Routes struct {
	Ingest *Ingest
	API    *API
	Health *Health
}

// Register lists every route of the server in one place.
func Register(e *echo.Echo, r Routes) {
	e.POST("/in/:token", r.Ingest.Receive)

	e.GET("/healthz", r.Health.Live)
	e.GET("/readyz", r.Health.Ready)

	api := e.Group("/api/v1", r.API.Authenticate)
	api.GET("/events", r.API.ListEvents)
	api.GET("/events/:id", r.API.GetEvent)
	api.POST("/events/:id/replay", r.API.ReplayEvent, requireRole(models.RoleOperator))
	api.POST("/events/:id/mark", r.API.MarkEvent, requireRole(models.RoleOperator))
	api.GET("/deliveries", r.API.ListDeliveries)
	api.GET("/orders/:reference", r.API.GetOrder)
}
