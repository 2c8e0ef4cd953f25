package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/views"
)

// Tokens serves the admin page of API tokens: list, create (shown once) and revoke.
type Tokens struct {
	Store    *models.Store
	Sessions *Sessions
	BaseURL  string
}

// List handles GET /tokens.
func (h *Tokens) List(c echo.Context) error {
	v, err := h.view(c, views.TokenFormView{Role: string(models.RoleSupport)})
	if err != nil {
		return err
	}
	return h.renderTokens(c, http.StatusOK, v)
}

// Create handles POST /tokens (name, role) and shows the token this once, with a curl example.
func (h *Tokens) Create(c echo.Context) error {
	p := principal(c)
	form := views.TokenFormView{Name: strings.TrimSpace(c.FormValue("name")), Role: c.FormValue("role"), Errors: map[string]string{}}
	role, err := models.ParseRole(form.Role)
	if err != nil {
		form.Errors["role"] = "Choose admin, operator or support."
	}
	if utf8.RuneCountInString(form.Name) > 100 {
		form.Errors["name"] = "Keep the name under 100 characters."
	}
	if len(form.Errors) > 0 {
		v, err := h.view(c, form)
		if err != nil {
			return err
		}
		return h.renderTokens(c, http.StatusUnprocessableEntity, v)
	}
	t, plain, err := h.Store.CreateToken(p.MerchantID, form.Name, role)
	if err != nil {
		return fmt.Errorf("tokens: create: %w", err)
	}
	if err := h.Store.Audit(adminAuditEntry(c, models.AuditTokenCreate, "token", t.ID, fmt.Sprintf("%s (%s, %s)", t.Name, t.Role, t.Prefix))); err != nil {
		return err
	}
	h.Sessions.Flash(c, views.FlashSuccess, "Token “"+t.Name+"” created.")
	v, err := h.view(c, views.TokenFormView{Role: string(models.RoleSupport)})
	if err != nil {
		return err
	}
	v.NewToken, v.NewTokenName = plain, t.Name
	v.CurlExample = fmt.Sprintf("curl -H 'Authorization: Bearer %s' %s/api/v1/events", plain, strings.TrimRight(h.BaseURL, "/"))
	adminNoStore(c)
	return h.renderTokens(c, http.StatusCreated, v)
}

// Revoke handles POST /tokens/{id}/revoke; the token stops authenticating at once.
func (h *Tokens) Revoke(c echo.Context) error {
	p := principal(c)
	id, err := pathID(c)
	if err != nil {
		return err
	}
	t, err := h.Store.Token(p.MerchantID, id)
	if err != nil {
		return notFoundOr(err, "token")
	}
	if t.RevokedAt != nil {
		h.Sessions.Flash(c, views.FlashInfo, "Token “"+t.Name+"” was already revoked.")
		return redirect(c, "/tokens")
	}
	if err := h.Store.RevokeToken(p.MerchantID, t.ID); err != nil {
		return notFoundOr(err, "token")
	}
	if err := h.Store.Audit(adminAuditEntry(c, models.AuditTokenRevoke, "token", t.ID, fmt.Sprintf("%s (%s)", t.Name, t.Prefix))); err != nil {
		return err
	}
	h.Sessions.Flash(c, views.FlashSuccess, "Token “"+t.Name+"” revoked. Scripts using it now get 401.")
	return redirect(c, "/tokens")
}

func (h *Tokens) view(c echo.Context, form views.TokenFormView) (views.TokensView, error) {
	ts, err := h.Store.Tokens(principal(c).MerchantID)
	if err != nil {
		return views.TokensView{}, err
	}
	v := views.TokensView{CSRFToken: h.Sessions.csrfToken(c), Form: form}
	for _, r := range models.Roles {
		v.Roles = append(v.Roles, string(r))
	}
	for _, t := range ts {
		row := views.TokenRow{ID: t.ID, Name: t.Name, Role: string(t.Role), Prefix: t.Prefix, CreatedAt: t.CreatedAt}
		if t.LastUsedAt != nil {
			row.LastUsedAt = *t.LastUsedAt
		}
		if t.RevokedAt != nil {
			row.RevokedAt = *t.RevokedAt
		}
		v.Rows = append(v.Rows, row)
	}
	return v, nil
}

func (h *Tokens) renderTokens(c echo.Context, status int, v views.TokensView) error {
	return h.Sessions.renderPage(c, status, "API tokens", views.NavTokens, views.TokensPage(v))
}
