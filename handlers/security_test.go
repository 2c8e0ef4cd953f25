package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hooklog/config"
	"hooklog/models"
	"hooklog/static"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// secDirective returns a CSP directive's sources, falling back to default-src as browsers do.
func secDirective(csp, name string) (string, bool) {
	var def string
	var hasDef bool
	for d := range strings.SplitSeq(csp, ";") {
		fields := strings.Fields(d)
		if len(fields) == 0 {
			continue
		}
		switch strings.ToLower(fields[0]) {
		case name:
			return strings.Join(fields[1:], " "), true
		case "default-src":
			def, hasDef = strings.Join(fields[1:], " "), true
		}
	}
	return def, hasDef
}

// TestSecurityHeaders: every kind of response carries the headers that stop inline script, framing,
// MIME sniffing and referrer leaks.
func TestSecurityHeaders(t *testing.T) {
	a := testapp.New(t)
	a.User("Shop", "admin@shop.test", models.RoleAdmin)
	token := a.Token("Shop", models.RoleSupport)
	ep := a.Endpoint("Shop", "generic", "", webhooks.Settings{})
	body := hostilePayment(t, "evt_sec", 0)
	b := a.Login("admin@shop.test")
	anon := a.Browser()

	type response struct {
		status int
		header http.Header
	}
	get := func(c *http.Client, path string, headers ...string) response {
		req, err := http.NewRequest(http.MethodGet, a.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return response{resp.StatusCode, resp.Header}
	}
	tests := []struct {
		name   string
		do     func() response
		status int
		// contentType is the start of the Content-Type the response must have.
		contentType string
	}{
		{"dashboard page", func() response { return get(b.Client, "/") }, 200, "text/html"},
		{"htmx fragment", func() response { return get(b.Client, "/deliveries", "HX-Request", "true") }, 200, "text/html"},
		{"login page", func() response { return get(anon.Client, "/login") }, 200, "text/html"},
		{"API JSON", func() response { return get(anon.Client, "/api/v1/events", "Authorization", "Bearer "+token) }, 200, "application/json"},
		{"API error", func() response { return get(anon.Client, "/api/v1/events") }, 401, "application/json"},
		{"ingest answer", func() response {
			status, h, _ := hostilePost(t, ep.URL, hostileSign(t, ep, ep.Secret, body, time.Now()), body)
			return response{status, h}
		}, 200, "application/json"},
		{"ingest rejection", func() response {
			status, h, _ := hostilePost(t, ep.URL, http.Header{}, body)
			return response{status, h}
		}, 401, "application/json"},
		{"static asset", func() response { return get(anon.Client, static.Path("app.css")) }, 200, "text/css"},
		{"404 page", func() response { return get(b.Client, "/no/such/page") }, 404, "text/html"},
		{"redirect to login", func() response { return get(anon.Client, "/deliveries") }, 303, ""},
		{"forbidden page", func() response {
			resp, _ := anon.PostForm("/logout", nil)
			return response{resp.StatusCode, resp.Header}
		}, 403, "text/html"},
		{"health check", func() response { return get(anon.Client, "/healthz") }, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.do()
			if r.status != tt.status {
				t.Fatalf("status %d, want %d", r.status, tt.status)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tt.contentType)
			}
			csp := r.header.Get("Content-Security-Policy")
			scripts, ok := secDirective(csp, "script-src")
			switch {
			case csp == "":
				t.Error("no Content-Security-Policy")
			case !ok:
				t.Errorf("CSP %q restricts no scripts (no script-src or default-src)", csp)
			case strings.Contains(scripts, "'unsafe-inline'") || strings.Contains(scripts, "'unsafe-eval'") || strings.Contains(scripts, "*"):
				t.Errorf("CSP allows inline or foreign scripts: script-src %s", scripts)
			}
			if frames, _ := secDirective(csp, "frame-ancestors"); frames != "'none'" {
				t.Errorf("CSP frame-ancestors %q, want 'none'", frames)
			}
			for name, want := range map[string]string{
				"X-Frame-Options":        "DENY",
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "same-origin",
			} {
				if got := r.header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// secCount counts rows of model matching query.
func secCount(t *testing.T, a *testapp.App, model any, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := a.Store.DB.Model(model).Where(query, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// secLoggedIn reports whether the browser's session opens the dashboard.
func secLoggedIn(t *testing.T, b *testapp.Browser) bool {
	t.Helper()
	resp, _ := b.Get("/")
	switch {
	case resp.StatusCode == http.StatusOK:
		return true
	case resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login"):
		return false
	}
	t.Fatalf("GET /: status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	return false
}

// secSessionCookie returns the browser's session cookie value ("" when none).
func secSessionCookie(t *testing.T, a *testapp.App, b *testapp.Browser) string {
	t.Helper()
	u, _ := url.Parse(a.URL)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == "hooklog_session" {
			return c.Value
		}
	}
	return ""
}

// TestSecurityCSRF: POST /login and POST /logout without the session's CSRF token answer 403 and
// change nothing; with it they work.
func TestSecurityCSRF(t *testing.T) {
	a := testapp.New(t)
	u := a.User("Shop", "admin@shop.test", models.RoleAdmin)
	other := a.Login("admin@shop.test") // a second session, whose token must not work in the first

	tests := []struct {
		name  string
		token func(b *testapp.Browser) (form, header string)
	}{
		{"no token", func(*testapp.Browser) (string, string) { return "", "" }},
		{"wrong token", func(*testapp.Browser) (string, string) { return "not-the-token", "" }},
		{"another session's token", func(*testapp.Browser) (string, string) { return other.CSRF, "" }},
		{"another session's token in the htmx header", func(*testapp.Browser) (string, string) { return "", other.CSRF }},
	}
	for _, tt := range tests {
		t.Run("login with "+tt.name, func(t *testing.T) {
			b := a.Browser()
			resp, page := b.Get("/login")
			if resp.StatusCode != 200 {
				t.Fatalf("GET /login: %d", resp.StatusCode)
			}
			if !strings.Contains(page, `name="csrf_token"`) {
				t.Fatal("the login form carries no CSRF token")
			}
			logins := secCount(t, a, &models.AuditEntry{}, "action = ?", models.AuditLogin)
			failures := secCount(t, a, &models.LoginFailure{}, "1 = 1")
			form, header := tt.token(b)
			var headers []string
			if header != "" {
				headers = []string{"X-CSRF-Token", header}
			}
			resp, _ = b.PostForm("/login", url.Values{"email": {u.Email}, "password": {testapp.Password}, "csrf_token": {form}}, headers...)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("POST /login: status %d, want 403", resp.StatusCode)
			}
			if secLoggedIn(t, b) {
				t.Fatal("logged in without a valid CSRF token")
			}
			if n := secCount(t, a, &models.AuditEntry{}, "action = ?", models.AuditLogin); n != logins {
				t.Fatalf("audit log gained %d logins", n-logins)
			}
			if n := secCount(t, a, &models.LoginFailure{}, "1 = 1"); n != failures {
				t.Fatalf("recorded %d login failures for a request that was refused before any check", n-failures)
			}
		})
		t.Run("logout with "+tt.name, func(t *testing.T) {
			b := a.Login(u.Email)
			logouts := secCount(t, a, &models.AuditEntry{}, "action = ?", models.AuditLogout)
			form, header := tt.token(b)
			var headers []string
			if header != "" {
				headers = []string{"X-CSRF-Token", header}
			}
			own := b.CSRF
			b.CSRF = "" // PostForm would add the session's own token
			resp, _ := b.PostForm("/logout", url.Values{"csrf_token": {form}}, headers...)
			b.CSRF = own
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("POST /logout: status %d, want 403", resp.StatusCode)
			}
			if !secLoggedIn(t, b) {
				t.Fatal("a forged logout ended the session")
			}
			if n := secCount(t, a, &models.AuditEntry{}, "action = ?", models.AuditLogout); n != logouts {
				t.Fatalf("audit log gained %d logouts", n-logouts)
			}
		})
	}

	t.Run("logout with the session's token", func(t *testing.T) {
		b := a.Login(u.Email)
		resp, _ := b.PostForm("/logout", nil, "X-CSRF-Token", b.CSRF)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Fatalf("POST /logout: %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
		}
		if secLoggedIn(t, b) {
			t.Fatal("still logged in after logging out")
		}
	})
}

// TestSecuritySessions: a login issues a new session (a cookie planted before it is worthless), a
// deactivated user is out at once, and sessions end after the idle and the absolute timeouts.
func TestSecuritySessions(t *testing.T) {
	t.Run("fixation", func(t *testing.T) {
		a := testapp.New(t)
		u := a.User("Shop", "admin@shop.test", models.RoleAdmin)
		b := a.Browser()
		resp, page := b.Get("/login")
		if resp.StatusCode != 200 {
			t.Fatalf("GET /login: %d", resp.StatusCode)
		}
		planted := secSessionCookie(t, a, b)
		if planted == "" {
			t.Fatal("the login form set no session cookie (its CSRF token lives there)")
		}
		b.CSRF = page[strings.Index(page, `name="csrf_token" value="`)+len(`name="csrf_token" value="`):]
		b.CSRF = b.CSRF[:strings.IndexByte(b.CSRF, '"')]
		resp, _ = b.PostForm("/login", url.Values{"email": {u.Email}, "password": {testapp.Password}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d", resp.StatusCode)
		}
		after := secSessionCookie(t, a, b)
		if after == "" || after == planted {
			t.Fatal("the session cookie did not change on login")
		}
		if !secLoggedIn(t, b) {
			t.Fatal("not logged in with the new cookie")
		}
		// An attacker who planted (or copied) the pre-login cookie gains nothing.
		attacker := a.Browser()
		u0, _ := url.Parse(a.URL)
		attacker.Client.Jar.SetCookies(u0, []*http.Cookie{{Name: "hooklog_session", Value: planted, Path: "/"}})
		if secLoggedIn(t, attacker) {
			t.Fatal("the pre-login cookie opens the dashboard")
		}
		// The pre-login CSRF token is replaced too.
		resp, _ = b.PostForm("/logout", nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("logout with the pre-login CSRF token: %d, want 403", resp.StatusCode)
		}
	})

	t.Run("deactivation ends sessions at once", func(t *testing.T) {
		a := testapp.New(t)
		u := a.User("Shop", "support@shop.test", models.RoleSupport)
		b := a.Login(u.Email)
		token := a.Token("Shop", models.RoleSupport)
		if !secLoggedIn(t, b) {
			t.Fatal("not logged in")
		}
		old := secSessionCookie(t, a, b)
		if err := a.Store.SetUserActive(u.MerchantID, u.ID, false); err != nil {
			t.Fatal(err)
		}
		if secLoggedIn(t, b) {
			t.Fatal("a deactivated user's session still works")
		}
		if resp, _ := b.Get("/deliveries"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("GET /deliveries after deactivation: %d, want 303 to /login", resp.StatusCode)
		}
		// Reactivating does not bring the old cookie back to life.
		if err := a.Store.SetUserActive(u.MerchantID, u.ID, true); err != nil {
			t.Fatal(err)
		}
		replay := a.Browser()
		u0, _ := url.Parse(a.URL)
		replay.Client.Jar.SetCookies(u0, []*http.Cookie{{Name: "hooklog_session", Value: old, Path: "/"}})
		if secLoggedIn(t, replay) {
			t.Fatal("the cookie from before the deactivation works again after reactivation")
		}
		// API tokens belong to the merchant, not the user: they keep working.
		if status := a.API(token, http.MethodGet, "/api/v1/events", nil, nil); status != 200 {
			t.Fatalf("API with a merchant token: %d", status)
		}
		if !secLoggedIn(t, a.Login(u.Email)) {
			t.Fatal("a reactivated user cannot log in again")
		}
	})

	timeouts := func(c *config.Config) {
		c.Session.IdleTimeout = config.Duration{Duration: 10 * time.Minute}
		c.Session.AbsoluteTimeout = config.Duration{Duration: 30 * time.Minute}
	}
	t.Run("idle timeout", func(t *testing.T) {
		a := testapp.New(t, timeouts)
		a.User("Shop", "admin@shop.test", models.RoleAdmin)
		b := a.Login("admin@shop.test")
		a.Advance(9 * time.Minute)
		if !secLoggedIn(t, b) {
			t.Fatal("logged out after 9 idle minutes of 10")
		}
		a.Advance(10*time.Minute + 2*time.Second)
		if secLoggedIn(t, b) {
			t.Fatal("still logged in after 10 idle minutes")
		}
		a.Advance(-time.Hour) // the cookie is cleared, not just refused: going back in time does not revive it
		if secLoggedIn(t, b) {
			t.Fatal("an expired session came back")
		}
	})
	t.Run("absolute timeout", func(t *testing.T) {
		a := testapp.New(t, timeouts)
		a.User("Shop", "admin@shop.test", models.RoleAdmin)
		b := a.Login("admin@shop.test")
		for i := range 3 {
			a.Advance(9 * time.Minute)
			if !secLoggedIn(t, b) {
				t.Fatalf("an active session ended after %d minutes of 30", 9*(i+1))
			}
		}
		a.Advance(4 * time.Minute)
		if secLoggedIn(t, b) {
			t.Fatal("an active session outlived the 30-minute absolute timeout")
		}
	})
}
