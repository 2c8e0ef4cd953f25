package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Health answers the load balancer's liveness and readiness checks.
type Health struct {
	Ping           func() error
	WorkersRunning func() bool
}

// Live handles GET /healthz: the process is up.
func (h *Health) Live(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// Ready handles GET /readyz: the database answers and the workers run.
func (h *Health) Ready(c echo.Context) error {
	if err := h.Ping(); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
	}
	if !h.WorkersRunning() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "workers not running"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
