package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/views"
)

// Users serves the admin page of the merchant's users: list, add, change role, deactivate and
// reactivate. Every change ends the user's sessions at once (the store bumps their session version).
type Users struct {
	Store    *models.Store
	Sessions *Sessions
}

// List handles GET /users.
func (h *Users) List(c echo.Context) error {
	v, err := h.view(c, views.UserFormView{Role: string(models.RoleSupport)})
	if err != nil {
		return err
	}
	return h.renderUsers(c, http.StatusOK, v)
}

// Create handles POST /users (email, role, password). An empty password is generated and shown once.
func (h *Users) Create(c echo.Context) error {
	p := principal(c)
	in := models.UserInput{Email: strings.TrimSpace(c.FormValue("email")), Password: c.FormValue("password"), Role: models.Role(c.FormValue("role"))}
	generated := in.Password == ""
	if generated {
		in.Password = models.GeneratePassword()
	}
	u, err := h.Store.AddUser(p.MerchantID, in)
	if fields, ok := adminFieldErrors(err); ok {
		v, err := h.view(c, views.UserFormView{Email: in.Email, Role: string(in.Role), Errors: fields})
		if err != nil {
			return err
		}
		return h.renderUsers(c, http.StatusUnprocessableEntity, v)
	}
	if err != nil {
		return fmt.Errorf("users: create: %w", err)
	}
	if err := h.Store.Audit(adminAuditEntry(c, models.AuditUserCreate, "user", u.ID, u.Email+" as "+string(u.Role))); err != nil {
		return err
	}
	if !generated {
		h.Sessions.Flash(c, views.FlashSuccess, u.Email+" can now sign in as "+string(u.Role)+".")
		return redirect(c, "/users")
	}
	h.Sessions.Flash(c, views.FlashSuccess, u.Email+" was added as "+string(u.Role)+".")
	v, err := h.view(c, views.UserFormView{Role: string(models.RoleSupport)})
	if err != nil {
		return err
	}
	v.NewPassword, v.NewPasswordEmail = in.Password, u.Email
	adminNoStore(c)
	return h.renderUsers(c, http.StatusCreated, v)
}

// SetRole handles POST /users/{id}/role. An admin cannot change their own role, so a merchant is
// never left without the admin who made the change.
func (h *Users) SetRole(c echo.Context) error {
	u, err := h.user(c)
	if err != nil {
		return err
	}
	if u.ID == principal(c).UserID {
		return h.refuse(c, "You can't change your own role. Ask another admin to do it.")
	}
	role, err := models.ParseRole(c.FormValue("role"))
	if err != nil {
		return h.refuse(c, "Choose admin, operator or support.")
	}
	if err := h.Store.SetUserRole(u.MerchantID, u.ID, role); err != nil {
		return notFoundOr(err, "user")
	}
	if err := h.Store.Audit(adminAuditEntry(c, models.AuditUserRole, "user", u.ID, fmt.Sprintf("%s: %s → %s", u.Email, u.Role, role))); err != nil {
		return err
	}
	h.Sessions.Flash(c, views.FlashSuccess, u.Email+" is now "+string(role)+"; they were signed out and sign in again with the new role.")
	return redirect(c, "/users")
}

// Deactivate handles POST /users/{id}/deactivate: the user's sessions end at once.
func (h *Users) Deactivate(c echo.Context) error { return h.setActive(c, false) }

// Activate handles POST /users/{id}/activate.
func (h *Users) Activate(c echo.Context) error { return h.setActive(c, true) }

func (h *Users) setActive(c echo.Context, active bool) error {
	u, err := h.user(c)
	if err != nil {
		return err
	}
	if !active && u.ID == principal(c).UserID {
		return h.refuse(c, "You can't deactivate your own account. Ask another admin to do it.")
	}
	if err := h.Store.SetUserActive(u.MerchantID, u.ID, active); err != nil {
		return notFoundOr(err, "user")
	}
	action, msg := models.AuditUserActivate, u.Email+" is active again and can sign in."
	if !active {
		action, msg = models.AuditUserDeactivate, u.Email+" was deactivated and signed out everywhere."
	}
	if err := h.Store.Audit(adminAuditEntry(c, action, "user", u.ID, u.Email)); err != nil {
		return err
	}
	h.Sessions.Flash(c, views.FlashSuccess, msg)
	return redirect(c, "/users")
}

// user loads the :id user of the principal's merchant, or answers 404.
func (h *Users) user(c echo.Context) (*models.User, error) {
	id, err := pathID(c)
	if err != nil {
		return nil, err
	}
	u, err := h.Store.MerchantUser(principal(c).MerchantID, id)
	if err != nil {
		return nil, notFoundOr(err, "user")
	}
	return u, nil
}

// refuse shows the users page again with why the action was not done, and changes nothing.
func (h *Users) refuse(c echo.Context, message string) error {
	h.Sessions.Flash(c, views.FlashError, message)
	v, err := h.view(c, views.UserFormView{Role: string(models.RoleSupport)})
	if err != nil {
		return err
	}
	return h.renderUsers(c, http.StatusUnprocessableEntity, v)
}

func (h *Users) view(c echo.Context, form views.UserFormView) (views.UsersView, error) {
	p := principal(c)
	us, err := h.Store.Users(p.MerchantID)
	if err != nil {
		return views.UsersView{}, err
	}
	v := views.UsersView{CSRFToken: h.Sessions.csrfToken(c), Form: form}
	for _, r := range models.Roles {
		v.Roles = append(v.Roles, string(r))
	}
	for _, u := range us {
		row := views.UserRow{ID: u.ID, Email: u.Email, Role: string(u.Role), Active: u.Active, CreatedAt: u.CreatedAt, Self: u.ID == p.UserID}
		if u.LastLoginAt != nil {
			row.LastLoginAt = *u.LastLoginAt
		}
		v.Rows = append(v.Rows, row)
	}
	return v, nil
}

func (h *Users) renderUsers(c echo.Context, status int, v views.UsersView) error {
	return h.Sessions.renderPage(c, status, "Users", views.NavUsers, views.UsersPage(v))
}
