package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"hooklog/models"
)

// Principal is who is making a request: a dashboard user or an API token, always of one merchant.
type Principal struct {
	MerchantID   uint
	MerchantName string
	UserID       uint // 0 for API tokens
	Email        string
	Role         models.Role
	// Actor names the principal in audit entries and attempt records.
	Actor string
}

const principalKey = "hooklog.principal"

func setPrincipal(c echo.Context, p *Principal) { c.Set(principalKey, p) }

// principal returns the request's principal; routes behind an auth middleware always have one.
func principal(c echo.Context) *Principal {
	p, _ := c.Get(principalKey).(*Principal)
	if p == nil {
		return &Principal{}
	}
	return p
}

// requireRole lets a request through only when its principal's role allows it: operator actions need
// operator or admin, admin actions need admin.
func requireRole(want models.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := principal(c)
			ok := false
			switch want {
			case models.RoleAdmin:
				ok = p.Role.IsAdmin()
			case models.RoleOperator:
				ok = p.Role.CanOperate()
			case models.RoleSupport:
				ok = p.Role != ""
			}
			if !ok {
				return echo.NewHTTPError(http.StatusForbidden, "your role ("+string(p.Role)+") does not allow this")
			}
			return next(c)
		}
	}
}
