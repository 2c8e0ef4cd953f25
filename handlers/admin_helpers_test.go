package handlers_test

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"hooklog/models"
	"hooklog/testapp"
)

// Helpers of the admin tests (endpoints, users, tokens, audit).

// adminHostile is markup that must come back escaped wherever it is shown.
const adminHostile = `<script>alert("pwned")</script>`

// adminStripeSecret is a Stripe-style secret; Stripe issues its own, so tests paste one.
const adminStripeSecret = "whsec_adminTestSecret0123456789abcdef"

// adminSetup starts an app with an admin of Acme signed in.
func adminSetup(t *testing.T) (*testapp.App, *testapp.Browser, *models.User) {
	t.Helper()
	a := testapp.New(t)
	u := a.User("Acme", "admin@acme.test", models.RoleAdmin)
	return a, a.Login("admin@acme.test"), u
}

// adminDoc parses an HTML body.
func adminDoc(t *testing.T, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse html: %v", err)
	}
	return doc
}

// adminFinder is a document or a selection.
type adminFinder interface {
	Find(selector string) *goquery.Selection
}

// adminText is the text of the first element matching sel, its white space collapsed.
func adminText(in adminFinder, sel string) string {
	return strings.Join(strings.Fields(in.Find(sel).First().Text()), " ")
}

// adminGet fetches a page and fails unless it answers want.
func adminGet(t *testing.T, b *testapp.Browser, path string, want int, headers ...string) (*http.Response, *goquery.Document, string) {
	t.Helper()
	resp, body := b.Get(path, headers...)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d\n%s", path, resp.StatusCode, want, adminSnippet(body))
	}
	return resp, adminDoc(t, body), body
}

// adminPost posts a form and fails unless it answers want.
func adminPost(t *testing.T, b *testapp.Browser, path string, form url.Values, want int, headers ...string) (*http.Response, *goquery.Document, string) {
	t.Helper()
	resp, body := b.PostForm(path, form, headers...)
	if resp.StatusCode != want {
		t.Fatalf("POST %s: status %d, want %d\n%s", path, resp.StatusCode, want, adminSnippet(body))
	}
	return resp, adminDoc(t, body), body
}

func adminSnippet(body string) string {
	if len(body) > 2000 {
		return body[:2000] + "…"
	}
	return body
}

// adminFlash follows a redirect and returns the flash messages the next page shows.
func adminFlash(t *testing.T, b *testapp.Browser, resp *http.Response) string {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want a 303 redirect", resp.StatusCode)
	}
	_, body := b.Get(resp.Header.Get("Location"))
	return adminText(adminDoc(t, body), "#flashes")
}

// adminIsFragment checks that an htmx answer is the fragment alone: no layout around it.
func adminIsFragment(t *testing.T, body, rootID string) *goquery.Document {
	t.Helper()
	doc := adminDoc(t, body)
	if strings.Contains(body, "<html") || doc.Find("nav.nav").Length() != 0 {
		t.Errorf("fragment carries the layout:\n%s", adminSnippet(body))
	}
	if doc.Find("#"+rootID).Length() != 1 {
		t.Errorf("fragment has no #%s:\n%s", rootID, adminSnippet(body))
	}
	return doc
}

// adminIsPage checks that an answer is a full page of the dashboard with the given nav item current.
func adminIsPage(t *testing.T, doc *goquery.Document, navHref string) {
	t.Helper()
	if doc.Find("html").Length() == 0 || doc.Find("main#main").Length() != 1 {
		t.Errorf("not a full page")
	}
	if got, _ := doc.Find(`nav.nav a[aria-current="page"]`).Attr("href"); got != navHref {
		t.Errorf("current nav = %q, want %q", got, navHref)
	}
}

// adminAudits lists a merchant's audit entries of one action, oldest first.
func adminAudits(t *testing.T, a *testapp.App, merchantID uint, action string) []models.AuditEntry {
	t.Helper()
	var es []models.AuditEntry
	if err := a.Store.DB.Where("merchant_id = ? AND action = ?", merchantID, action).Order("id").Find(&es).Error; err != nil {
		t.Fatal(err)
	}
	return es
}

// adminDatabaseContains reports whether the database files hold s anywhere, in any table or the WAL.
func adminDatabaseContains(t *testing.T, a *testapp.App, s string) bool {
	t.Helper()
	if a.Store.Postgres() {
		// PostgreSQL's files belong to its server: look through every row of every table as text
		// instead (bytea shows as hex there).
		var tables []string
		if err := a.Store.DB.Raw("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").Scan(&tables).Error; err != nil {
			t.Fatal(err)
		}
		for _, table := range tables {
			var n int64
			err := a.Store.DB.Raw(`SELECT COUNT(*) FROM "`+table+`" r WHERE strpos(r::text, ?) > 0 OR strpos(r::text, ?) > 0`,
				s, hex.EncodeToString([]byte(s))).Scan(&n).Error
			if err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				return true
			}
		}
		return false
	}
	if err := a.Store.DB.Exec("PRAGMA main.wal_checkpoint(FULL)").Error; err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(a.Config.Database + "*")
	index, _ := filepath.Glob(models.SearchIndexPath(a.Config.Database) + "*")
	files = append(files, index...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}
