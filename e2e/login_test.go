package e2e

import (
	"strings"
	"testing"

	"hooklog/models"
	"hooklog/testapp"
)

func TestBrowserLoginLogout(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "admin@acme.test", models.RoleAdmin)
	b := newBrowser(t, a)
	b.login("admin@acme.test")
	b.shot("after-login")
	if got := b.text(".account-email"); !strings.Contains(got, "admin@acme.test") {
		t.Fatalf("account shows %q", got)
	}
}
