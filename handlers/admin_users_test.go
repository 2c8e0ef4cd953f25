package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"hooklog/models"
	"hooklog/testapp"
)

// adminLoginWith signs in with a password other than testapp.Password and returns the status.
func adminLoginWith(t *testing.T, a *testapp.App, email, password string) (*testapp.Browser, int) {
	t.Helper()
	b := a.Browser()
	_, body := b.Get("/login")
	b.CSRF = adminDoc(t, body).Find(`input[name="csrf_token"]`).AttrOr("value", "")
	resp, _ := b.PostForm("/login", url.Values{"email": {email}, "password": {password}})
	return b, resp.StatusCode
}

func adminUserPath(id uint, action string) string {
	return "/users/" + strconv.FormatUint(uint64(id), 10) + "/" + action
}

func adminUser(t *testing.T, a *testapp.App, id uint) *models.User {
	t.Helper()
	u, err := a.Store.User(id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestAdminUsersList(t *testing.T) {
	t.Parallel()
	a, b, admin := adminSetup(t)
	op := a.User("Acme", "op@acme.test", models.RoleOperator)
	other := a.User("Globex", "other@globex.test", models.RoleAdmin)
	admin = adminUser(t, a, admin.ID)

	for _, hx := range []bool{false, true} {
		var headers []string
		if hx {
			headers = []string{"HX-Request", "true"}
		}
		_, doc, body := adminGet(t, b, "/users", http.StatusOK, headers...)
		if hx {
			doc = adminIsFragment(t, body, "users-table")
		} else {
			adminIsPage(t, doc, "/users")
		}
		if doc.Find("#user-"+strconv.FormatUint(uint64(other.ID), 10)).Length() != 0 {
			t.Errorf("another merchant's user is listed")
		}
		if n := doc.Find("#users-table tbody tr").Length(); n != 2 {
			t.Errorf("%d rows, want 2", n)
		}
		cases := []struct {
			id                         uint
			email, role, state, action string
			self                       bool
			lastLogin                  string // datetime, "" for never
		}{
			{admin.ID, "admin@acme.test you", "admin", "active", "", true, admin.LastLoginAt.UTC().Format("2006-01-02T15:04:05Z07:00")},
			{op.ID, "op@acme.test", "operator", "active", adminUserPath(op.ID, "deactivate"), false, ""},
		}
		for _, tc := range cases {
			row := doc.Find("#user-" + strconv.FormatUint(uint64(tc.id), 10))
			cells := row.Find("td")
			if got := strings.Join(strings.Fields(cells.Eq(0).Text()), " "); got != tc.email {
				t.Errorf("user %d email = %q, want %q", tc.id, got, tc.email)
			}
			role := cells.Eq(1).Find("[data-role]").AttrOr("data-role", "")
			if role != tc.role {
				t.Errorf("user %d role = %q, want %q", tc.id, role, tc.role)
			}
			if hasForm := cells.Eq(1).Find("form").Length() == 1; hasForm == tc.self {
				t.Errorf("user %d role form shown = %v, self = %v", tc.id, hasForm, tc.self)
			}
			if !tc.self {
				if got := cells.Eq(1).Find("option[selected]").AttrOr("value", ""); got != tc.role {
					t.Errorf("user %d role selected = %q", tc.id, got)
				}
			}
			if got := cells.Eq(2).Find(".badge").AttrOr("data-state", ""); got != tc.state {
				t.Errorf("user %d state = %q", tc.id, got)
			}
			got, has := cells.Eq(3).Find("time").Attr("datetime")
			if tc.lastLogin == "" && (has || strings.TrimSpace(cells.Eq(3).Text()) != "never") {
				t.Errorf("user %d last login = %q, want never", tc.id, cells.Eq(3).Text())
			}
			if tc.lastLogin != "" && got != tc.lastLogin {
				t.Errorf("user %d last login = %q, want %q", tc.id, got, tc.lastLogin)
			}
			if got := cells.Eq(5).Find("form").AttrOr("action", ""); got != tc.action {
				t.Errorf("user %d action = %q, want %q", tc.id, got, tc.action)
			}
		}
	}
}

func TestAdminUsersCreate(t *testing.T) {
	t.Parallel()
	a, b, admin := adminSetup(t)
	a.User("Globex", "taken@globex.test", models.RoleSupport)

	t.Run("with a password", func(t *testing.T) {
		resp, _, _ := adminPost(t, b, "/users", url.Values{"email": {" New@Acme.test "}, "role": {"operator"}, "password": {testapp.Password}}, http.StatusSeeOther)
		if got := adminFlash(t, b, resp); got != "new@acme.test can now sign in as operator." {
			t.Errorf("flash = %q", got)
		}
		u, err := a.Store.UserByEmail("new@acme.test")
		if err != nil || u.MerchantID != admin.MerchantID || u.Role != models.RoleOperator || !u.Active {
			t.Fatalf("user = %+v, %v", u, err)
		}
		a.Login("new@acme.test")
		audits := adminAudits(t, a, admin.MerchantID, models.AuditUserCreate)
		if len(audits) != 1 || audits[0].Detail != "new@acme.test as operator" || audits[0].ObjectType != "user" ||
			audits[0].ObjectID != strconv.FormatUint(uint64(u.ID), 10) || audits[0].Actor != admin.Email {
			t.Errorf("audits = %+v", audits)
		}
		if strings.Contains(audits[0].Detail, testapp.Password) {
			t.Errorf("the password is audited")
		}
	})

	t.Run("with a generated password, shown once", func(t *testing.T) {
		resp, doc, _ := adminPost(t, b, "/users", url.Values{"email": {"gen@acme.test"}, "role": {"support"}, "password": {""}}, http.StatusCreated)
		password := adminText(doc, "#new-password")
		if len(password) != 20 {
			t.Fatalf("generated password = %q", password)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q", got)
		}
		if got := adminText(doc, "#new-password-box .once-title"); got != "Password for gen@acme.test" {
			t.Errorf("box title = %q", got)
		}
		if doc.Find(`button[data-copy="new-password"]`).Length() != 1 {
			t.Errorf("no copy button")
		}
		if _, status := adminLoginWith(t, a, "gen@acme.test", password); status != http.StatusSeeOther {
			t.Errorf("login with the generated password: %d", status)
		}
		_, _, body := adminGet(t, b, "/users", http.StatusOK)
		if strings.Contains(body, password) {
			t.Errorf("the password is shown again")
		}
	})

	refused := []struct {
		name, email, role, password string
		errSel, errText             string
	}{
		{"not an email", adminHostile, "operator", testapp.Password, "#user-email-error", "Enter an email address, like ada@example.com."},
		{"short password", "short@acme.test", "operator", "1234567", "#user-password-error", "Use at least 8 characters, or leave it empty to generate a password."},
		{"email of another merchant's user", "taken@globex.test", "support", testapp.Password, "#user-email-error", "This email is already in use."},
		{"unknown role", "role@acme.test", "owner", testapp.Password, "#user-role-error", "Choose admin, operator or support."},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := a.Store.Users(admin.MerchantID)
			_, doc, body := adminPost(t, b, "/users", url.Values{"email": {tc.email}, "role": {tc.role}, "password": {tc.password}}, http.StatusUnprocessableEntity)
			if got := adminText(doc, tc.errSel); got != tc.errText {
				t.Errorf("error = %q, want %q", got, tc.errText)
			}
			if got := doc.Find("#user-email").AttrOr("value", ""); got != tc.email {
				t.Errorf("email not kept: %q", got)
			}
			if got := doc.Find("#user-password").AttrOr("value", ""); got != "" || strings.Contains(body, tc.password) {
				t.Errorf("the password is echoed back")
			}
			if strings.Contains(body, adminHostile) {
				t.Errorf("hostile input rendered unescaped")
			}
			if after, _ := a.Store.Users(admin.MerchantID); len(after) != len(before) {
				t.Errorf("a user was created")
			}
		})
	}
}

func TestAdminUsersChanges(t *testing.T) {
	t.Parallel()
	a, b, admin := adminSetup(t)
	op := a.User("Acme", "op@acme.test", models.RoleOperator)
	peer := a.User("Acme", "peer@acme.test", models.RoleAdmin)

	t.Run("role change signs the user out", func(t *testing.T) {
		opBrowser := a.Login("op@acme.test")
		adminGet(t, opBrowser, "/users", http.StatusForbidden)
		resp, _, _ := adminPost(t, b, adminUserPath(op.ID, "role"), url.Values{"role": {"support"}}, http.StatusSeeOther)
		if got := adminFlash(t, b, resp); got != "op@acme.test is now support; they were signed out and sign in again with the new role." {
			t.Errorf("flash = %q", got)
		}
		if got := adminUser(t, a, op.ID); got.Role != models.RoleSupport || got.SessionVersion != op.SessionVersion+1 {
			t.Errorf("user = %+v", got)
		}
		resp, _ = opBrowser.Get("/users")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("old session after the role change: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		audits := adminAudits(t, a, admin.MerchantID, models.AuditUserRole)
		if len(audits) != 1 || audits[0].Detail != "op@acme.test: operator → support" || audits[0].ObjectID != strconv.FormatUint(uint64(op.ID), 10) {
			t.Errorf("audits = %+v", audits)
		}
	})

	t.Run("deactivation ends the user's session at once", func(t *testing.T) {
		peerBrowser := a.Login("peer@acme.test")
		adminGet(t, peerBrowser, "/users", http.StatusOK)
		resp, _, _ := adminPost(t, b, adminUserPath(peer.ID, "deactivate"), nil, http.StatusSeeOther)
		if got := adminFlash(t, b, resp); got != "peer@acme.test was deactivated and signed out everywhere." {
			t.Errorf("flash = %q", got)
		}
		if got := adminUser(t, a, peer.ID); got.Active {
			t.Errorf("still active")
		}
		resp, _ = peerBrowser.Get("/users")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fusers" {
			t.Errorf("deactivated user's next request: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, status := adminLoginWith(t, a, "peer@acme.test", testapp.Password); status != http.StatusUnauthorized {
			t.Errorf("deactivated user signs in: %d", status)
		}
		_, doc, _ := adminGet(t, b, "/users", http.StatusOK)
		row := doc.Find("#user-" + strconv.FormatUint(uint64(peer.ID), 10))
		if row.Find(".badge").AttrOr("data-state", "") != "deactivated" || row.Find("form[action$=activate]").AttrOr("action", "") != adminUserPath(peer.ID, "activate") {
			t.Errorf("row = %s", row.Text())
		}
		audits := adminAudits(t, a, admin.MerchantID, models.AuditUserDeactivate)
		if len(audits) != 1 || audits[0].Detail != "peer@acme.test" || audits[0].ObjectID != strconv.FormatUint(uint64(peer.ID), 10) {
			t.Errorf("audits = %+v", audits)
		}
	})

	t.Run("reactivation", func(t *testing.T) {
		resp, _, _ := adminPost(t, b, adminUserPath(peer.ID, "activate"), nil, http.StatusSeeOther)
		if got := adminFlash(t, b, resp); got != "peer@acme.test is active again and can sign in." {
			t.Errorf("flash = %q", got)
		}
		if !adminUser(t, a, peer.ID).Active {
			t.Errorf("not active")
		}
		a.Login("peer@acme.test")
		if audits := adminAudits(t, a, admin.MerchantID, models.AuditUserActivate); len(audits) != 1 || audits[0].Detail != "peer@acme.test" {
			t.Errorf("audits = %+v", audits)
		}
	})

	self := []struct {
		name, action string
		form         url.Values
		flash        string
	}{
		{"no self-demotion", "role", url.Values{"role": {"operator"}}, "You can't change your own role. Ask another admin to do it."},
		{"no self-deactivation", "deactivate", nil, "You can't deactivate your own account. Ask another admin to do it."},
	}
	for _, tc := range self {
		t.Run(tc.name, func(t *testing.T) {
			before := adminUser(t, a, admin.ID)
			_, doc, _ := adminPost(t, b, adminUserPath(admin.ID, tc.action), tc.form, http.StatusUnprocessableEntity)
			if got := adminText(doc, "#flashes .flash-error"); got != tc.flash {
				t.Errorf("flash = %q", got)
			}
			adminIsPage(t, doc, "/users")
			after := adminUser(t, a, admin.ID)
			if after.Role != before.Role || !after.Active || after.SessionVersion != before.SessionVersion {
				t.Errorf("admin changed: %+v", after)
			}
			adminGet(t, b, "/users", http.StatusOK) // still signed in
		})
	}
}
