package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"hooklog/models"
	"hooklog/testapp"
)

// display is the computed CSS display of the first element matching sel.
func (b *browser) display(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	d, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(`+"`"+sel+"`"+`)).display`))
	if err != nil {
		b.t.Fatalf("display of %s: %v", sel, err)
	}
	return d
}

// TestBrowserAdminEndpoint registers an endpoint through the form, sends it a test event and watches
// it get processed, then reveals the secret: the htmx parts (test, polling, reveal) in a real browser.
func TestBrowserAdminEndpoint(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "admin@acme.test", models.RoleAdmin)
	b := newBrowser(t, a)
	b.login("admin@acme.test")

	b.run("open the endpoints", chromedp.Navigate(a.URL+"/endpoints"), chromedp.WaitVisible(chromedp.CSS(".empty")))
	b.shot("endpoints-empty")
	b.run("open the form", chromedp.Click(chromedp.CSS(".empty-action a")), chromedp.WaitVisible(chromedp.CSS("#endpoint-form")))

	// The form shows only the sections and the help the chosen provider uses.
	sections := []struct {
		provider, hmac, custom, help string
	}{
		{"stripe", "none", "none", "stripe"},
		{"generic", "block", "none", "generic"},
		{"custom", "block", "block", "custom"},
	}
	for _, tc := range sections {
		b.run("choose "+tc.provider, chromedp.SetValue(chromedp.CSS("#ep-provider"), tc.provider))
		if got := b.display(".ep-hmac"); got != tc.hmac {
			t.Errorf("%s: signature settings display %q, want %q", tc.provider, got, tc.hmac)
		}
		if got := b.display(".ep-custom"); got != tc.custom {
			t.Errorf("%s: payload fields display %q, want %q", tc.provider, got, tc.custom)
		}
		for _, other := range []string{"stripe", "generic", "custom"} {
			want := "none"
			if other == tc.help {
				want = "list-item"
			}
			if got := b.display(`.provider-help li[data-provider="` + other + `"]`); got != want {
				t.Errorf("%s: help of %s display %q, want %q", tc.provider, other, got, want)
			}
		}
	}
	b.shot("endpoint-form-custom")

	b.run("create a generic endpoint",
		chromedp.SetValue(chromedp.CSS("#ep-provider"), "generic"),
		chromedp.SendKeys(chromedp.CSS("#ep-name"), "Shop"),
		chromedp.Click(chromedp.CSS(`#endpoint-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#new-secret")),
	)
	secret := b.text("#new-secret")
	if len(secret) != 64 {
		t.Fatalf("new secret = %q", secret)
	}
	b.shot("endpoint-created")

	b.run("send a test event",
		chromedp.Click(chromedp.CSS(`#endpoint-test form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#test-outcome")),
	)
	if got := strings.Join(strings.Fields(b.text("#test-outcome")), " "); !strings.Contains(got, "HTTP 200") {
		t.Errorf("test outcome = %q", got)
	}
	b.run("watch it get processed", chromedp.WaitVisible(chromedp.CSS(`#endpoint-recent .badge[data-status="processed"]`)))
	b.shot("test-event-processed")

	b.run("reveal the secret",
		chromedp.Click(chromedp.CSS(`#endpoint-secrets form button`)),
		chromedp.WaitVisible(chromedp.CSS(`#endpoint-secrets td.secret-cell code`)),
	)
	if got := b.text(`#endpoint-secrets td.secret-cell code`); got != secret {
		t.Errorf("revealed %q, want the new secret", got)
	}
	b.shot("secret-revealed")

	for _, page := range []string{"users", "tokens", "audit", "endpoints"} {
		b.run("open "+page, chromedp.Navigate(a.URL+"/"+page), chromedp.WaitVisible(chromedp.CSS("main h1")))
		b.shot(page)
	}
}
