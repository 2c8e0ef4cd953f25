package handlers_test

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hooklog/config"
	"hooklog/models"
	"hooklog/testapp"
)

// TestMultiSessionAcrossInstances logs in on one instance and carries on with the same cookie on
// another that shares the database and the secret key, as behind a load balancer without sticky
// sessions: pages load, CSRF-checked forms work, and an instance with another key refuses the cookie.
func TestMultiSessionAcrossInstances(t *testing.T) {
	first := testapp.New(t)
	second := testapp.New(t, testapp.Share(first))
	strangerKey := strings.Repeat("ab", 32)
	stranger := testapp.New(t, func(c *config.Config) {
		c.Database, c.SecretKey = first.Config.Database, strangerKey
	})
	if hex.EncodeToString(first.Key) == strangerKey {
		t.Fatal("the stranger instance must have another key")
	}
	admin := first.User("Acme", "ada@acme.test", models.RoleAdmin)

	onFirst := first.Login(admin.Email)
	onSecond := onFirst.On(second)

	resp, body := onSecond.Get("/tokens")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, admin.Email) {
		t.Fatalf("GET /tokens on the second instance: status %d, signed in as %s: %v", resp.StatusCode, admin.Email, strings.Contains(body, admin.Email))
	}

	// A form posted to the second instance with the CSRF token the first one issued.
	resp, _ = onSecond.PostForm("/tokens", url.Values{"name": {"from the second instance"}, "role": {string(models.RoleSupport)}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /tokens on the second instance: status %d, want 201", resp.StatusCode)
	}
	tokens, err := first.Store.Tokens(admin.MerchantID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 1 || tokens[0].Name != "from the second instance" {
		t.Fatalf("tokens seen by the first instance = %+v, want the one created on the second", tokens)
	}

	// Without the CSRF token the second instance refuses the form, as the first would.
	resp, _ = onSecond.PostForm("/tokens", url.Values{"csrf_token": {"forged"}, "name": {"forged"}, "role": {string(models.RoleSupport)}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /tokens with a forged CSRF token: status %d, want 403", resp.StatusCode)
	}

	// An instance with another secret key cannot read the cookie: it sends the browser to log in.
	resp, _ = onFirst.On(stranger).Get("/tokens")
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("GET /tokens on an instance with another key: status %d, want a redirect to /login", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
		t.Errorf("redirected to %q, want /login", loc)
	}

}
