package handlers_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// adminState is everything an admin action can change, as one comparable string.
func adminState(t *testing.T, a *testapp.App) string {
	t.Helper()
	var (
		eps     []models.Endpoint
		secrets []models.Secret
		users   []models.User
		tokens  []models.APIToken
		audits  []models.AuditEntry
		n       [2]int64
	)
	db := a.Store.DB
	for _, err := range []error{
		db.Order("id").Find(&eps).Error,
		db.Order("id").Find(&secrets).Error,
		db.Order("id").Find(&users).Error,
		db.Order("id").Find(&tokens).Error,
		db.Where("action NOT IN ?", []string{models.AuditLogin, models.AuditLogout}).Order("id").Find(&audits).Error,
		db.Model(&models.Delivery{}).Count(&n[0]).Error,
		db.Model(&models.Event{}).Count(&n[1]).Error,
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	out := fmt.Sprintf("deliveries %d events %d audits %d\n", n[0], n[1], len(audits))
	for _, e := range eps {
		out += fmt.Sprintf("endpoint %d %q %s %v %+v\n", e.ID, e.Name, e.Provider, e.Enabled, e.Settings)
	}
	for _, s := range secrets {
		out += fmt.Sprintf("secret %d %v\n", s.ID, s.ExpiresAt)
	}
	for _, u := range users {
		out += fmt.Sprintf("user %d %s %s %v %d\n", u.ID, u.Email, u.Role, u.Active, u.SessionVersion)
	}
	for _, tk := range tokens {
		out += fmt.Sprintf("token %d %s %v\n", tk.ID, tk.Name, tk.RevokedAt)
	}
	return out
}

// adminRoute is one admin route with a form that would change something, and what an admin gets.
type adminRoute struct {
	method, path string
	form         url.Values
	admin        int
}

func TestAdminAccessByRole(t *testing.T) {
	t.Parallel()
	a := testapp.New(t)
	a.User("Acme", "admin@acme.test", models.RoleAdmin)
	a.User("Acme", "operator@acme.test", models.RoleOperator)
	a.User("Acme", "support@acme.test", models.RoleSupport)
	target := a.User("Acme", "target@acme.test", models.RoleOperator)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	tok, _, err := a.Store.CreateToken(ep.MerchantID, "script", models.RoleSupport)
	if err != nil {
		t.Fatal(err)
	}
	epPath := adminEndpointPath(ep.ID)
	sid := strconv.FormatUint(uint64(adminSecretID(t, a, ep.ID)), 10)
	userPath := func(action string) string { return adminUserPath(target.ID, action) }
	routes := []adminRoute{
		{http.MethodGet, "/endpoints", nil, http.StatusOK},
		{http.MethodGet, "/endpoints/new", nil, http.StatusOK},
		{http.MethodPost, "/endpoints", url.Values{"name": {"New"}, "provider": {"generic"}}, http.StatusCreated},
		{http.MethodGet, epPath, nil, http.StatusOK},
		{http.MethodPost, epPath, url.Values{"name": {"Renamed"}, "provider": {"generic"}}, http.StatusSeeOther},
		{http.MethodPost, epPath + "/secrets/" + sid + "/reveal", nil, http.StatusOK},
		{http.MethodPost, epPath + "/rotate", url.Values{"grace": {"0"}}, http.StatusOK},
		{http.MethodPost, epPath + "/disable", nil, http.StatusSeeOther},
		{http.MethodPost, epPath + "/enable", nil, http.StatusSeeOther},
		{http.MethodPost, epPath + "/test", url.Values{"type": {"payment.completed"}}, http.StatusOK},
		{http.MethodGet, epPath + "/deliveries", nil, http.StatusOK},
		{http.MethodGet, "/users", nil, http.StatusOK},
		{http.MethodPost, "/users", url.Values{"email": {"new@acme.test"}, "role": {"admin"}, "password": {testapp.Password}}, http.StatusSeeOther},
		{http.MethodPost, userPath("role"), url.Values{"role": {"admin"}}, http.StatusSeeOther},
		{http.MethodPost, userPath("deactivate"), nil, http.StatusSeeOther},
		{http.MethodPost, userPath("activate"), nil, http.StatusSeeOther},
		{http.MethodGet, "/tokens", nil, http.StatusOK},
		{http.MethodPost, "/tokens", url.Values{"name": {"ci"}, "role": {"admin"}}, http.StatusCreated},
		{http.MethodPost, "/tokens/" + strconv.FormatUint(uint64(tok.ID), 10) + "/revoke", nil, http.StatusSeeOther},
		{http.MethodGet, "/audit", nil, http.StatusOK},
	}
	do := func(b *testapp.Browser, r adminRoute, headers ...string) int {
		t.Helper()
		if r.method == http.MethodGet {
			resp, _ := b.Get(r.path, headers...)
			return resp.StatusCode
		}
		// PostForm adds the browser's CSRF token to the form, so each browser gets its own copy.
		resp, _ := b.PostForm(r.path, maps.Clone(r.form), headers...)
		return resp.StatusCode
	}

	for _, role := range []string{"operator", "support"} {
		b := a.Login(role + "@acme.test")
		before := adminState(t, a)
		for _, r := range routes {
			for _, hx := range [][]string{nil, {"HX-Request", "true"}} {
				if got := do(b, r, hx...); got != http.StatusForbidden {
					t.Errorf("%s %s %s (htmx %v): %d, want 403", role, r.method, r.path, hx != nil, got)
				}
				if after := adminState(t, a); after != before {
					t.Fatalf("%s %s %s changed the data:\nbefore %s\nafter %s", role, r.method, r.path, before, after)
				}
			}
		}
	}

	// The same routes work for an admin, and each POST changes something.
	b := a.Login("admin@acme.test")
	for _, r := range routes {
		before := adminState(t, a)
		if got := do(b, r); got != r.admin {
			t.Errorf("admin %s %s: %d, want %d", r.method, r.path, got, r.admin)
		}
		if changed := adminState(t, a) != before; changed != (r.method == http.MethodPost) {
			t.Errorf("admin %s %s: changed = %v", r.method, r.path, changed)
		}
	}
}

func TestAdminOtherMerchantIsNotFound(t *testing.T) {
	t.Parallel()
	a, b, _ := adminSetup(t)
	own := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	foreign := a.Endpoint("Globex", "generic", "", webhooks.Settings{})
	user := a.User("Globex", "user@globex.test", models.RoleOperator)
	tok, _, err := a.Store.CreateToken(foreign.MerchantID, "globex", models.RoleSupport)
	if err != nil {
		t.Fatal(err)
	}
	fp := adminEndpointPath(foreign.ID)
	fsid := strconv.FormatUint(uint64(adminSecretID(t, a, foreign.ID)), 10)
	routes := []adminRoute{
		{http.MethodGet, fp, nil, 0},
		{http.MethodPost, fp, url.Values{"name": {"Mine now"}, "provider": {"generic"}}, 0},
		{http.MethodPost, fp + "/secrets/" + fsid + "/reveal", nil, 0},
		{http.MethodPost, adminEndpointPath(own.ID) + "/secrets/" + fsid + "/reveal", nil, 0},
		{http.MethodPost, fp + "/rotate", url.Values{"grace": {"0"}}, 0},
		{http.MethodPost, fp + "/disable", nil, 0},
		{http.MethodPost, fp + "/enable", nil, 0},
		{http.MethodPost, fp + "/test", url.Values{"type": {"payment.completed"}}, 0},
		{http.MethodGet, fp + "/deliveries", nil, 0},
		{http.MethodPost, adminUserPath(user.ID, "role"), url.Values{"role": {"admin"}}, 0},
		{http.MethodPost, adminUserPath(user.ID, "deactivate"), nil, 0},
		{http.MethodPost, adminUserPath(user.ID, "activate"), nil, 0},
		{http.MethodPost, "/tokens/" + strconv.FormatUint(uint64(tok.ID), 10) + "/revoke", nil, 0},
	}
	before := adminState(t, a)
	for _, r := range routes {
		var status int
		var body string
		if r.method == http.MethodGet {
			resp, got := b.Get(r.path)
			status, body = resp.StatusCode, got
		} else {
			resp, got := b.PostForm(r.path, maps.Clone(r.form))
			status, body = resp.StatusCode, got
		}
		if status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", r.method, r.path, status)
		}
		if doc := adminDoc(t, body); adminText(doc, ".error-code") != "404" {
			t.Errorf("%s %s: not the 404 page", r.method, r.path)
		}
		if after := adminState(t, a); after != before {
			t.Fatalf("%s %s changed the data:\nbefore %s\nafter %s", r.method, r.path, before, after)
		}
	}
}
