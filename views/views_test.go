package views

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
)

const hostile = `<script>alert(1)</script>`

func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	return buf.String()
}

func parse(t *testing.T, c templ.Component) (*goquery.Document, string) {
	t.Helper()
	out := render(t, c)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(out))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc, out
}

// assertSafe checks the CSP rules: no inline script, no style attribute, no <style>.
func assertSafe(t *testing.T, doc *goquery.Document) {
	t.Helper()
	doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		if src, _ := s.Attr("src"); src == "" || strings.TrimSpace(s.Text()) != "" {
			t.Errorf("inline script: %s", goquery.NodeName(s))
		}
	})
	if n := doc.Find("[style]").Length(); n > 0 {
		t.Errorf("%d elements carry a style attribute", n)
	}
	if n := doc.Find("style").Length(); n > 0 {
		t.Errorf("%d <style> elements", n)
	}
}

func adminPage() Page {
	return Page{
		Title:     "Deliveries",
		Nav:       NavDeliveries,
		CSRFToken: "tok-123",
		User:      &UserView{Email: "ada@example.com", Role: "admin", Merchant: "Acme", IsAdmin: true, CanOperate: true},
	}
}

func navHrefs(doc *goquery.Document) []string {
	var hrefs []string
	doc.Find("nav.nav a").Each(func(_ int, s *goquery.Selection) {
		h, _ := s.Attr("href")
		hrefs = append(hrefs, h)
	})
	return hrefs
}

func TestLayoutLoggedOutHasNoNav(t *testing.T) {
	doc, _ := parse(t, Layout(Page{Title: "Sign in", CSRFToken: "tok"}, nil))
	if n := doc.Find("nav.nav").Length(); n != 0 {
		t.Errorf("nav rendered for a logged-out page")
	}
	if n := doc.Find("form[action='/logout']").Length(); n != 0 {
		t.Errorf("logout form rendered for a logged-out page")
	}
	if n := doc.Find("main#main").Length(); n != 1 {
		t.Errorf("main#main: got %d", n)
	}
	assertSafe(t, doc)
}

func TestLayoutNavByRole(t *testing.T) {
	admin := []string{"/", "/deliveries", "/orders", "/search", "/endpoints", "/audit", "/users", "/tokens"}
	member := admin[:4]
	for _, role := range []string{"operator", "support"} {
		p := adminPage()
		p.User = &UserView{Email: "o@example.com", Role: role, Merchant: "Acme", CanOperate: role == "operator"}
		doc, _ := parse(t, Layout(p, nil))
		if got := navHrefs(doc); strings.Join(got, " ") != strings.Join(member, " ") {
			t.Errorf("%s nav = %v, want %v", role, got, member)
		}
	}
	doc, _ := parse(t, Layout(adminPage(), nil))
	if got := navHrefs(doc); strings.Join(got, " ") != strings.Join(admin, " ") {
		t.Errorf("admin nav = %v, want %v", got, admin)
	}
	current := doc.Find("nav.nav a[aria-current='page']")
	if current.Length() != 1 || current.Text() != "Deliveries" {
		t.Errorf("aria-current on %d links (%q), want Deliveries only", current.Length(), current.Text())
	}
}

func TestLayoutShell(t *testing.T) {
	p := adminPage()
	p.Flashes = []Flash{{FlashSuccess, "Saved"}, {FlashError, "Replay failed"}}
	doc, _ := parse(t, Layout(p, EmptyState("Nothing", "", nil)))

	if got := doc.Find("title").Text(); got != "Deliveries · Hooklog" {
		t.Errorf("title = %q", got)
	}
	if got, _ := doc.Find("body").Attr("hx-headers"); got != `{"X-CSRF-Token":"tok-123"}` {
		t.Errorf("hx-headers = %q", got)
	}
	if got, _ := doc.Find("form[action='/logout'][method='post'] input[name='csrf_token']").Attr("value"); got != "tok-123" {
		t.Errorf("logout csrf_token = %q", got)
	}
	if doc.Find("form[action='/logout'] button[type='submit']").Length() != 1 {
		t.Errorf("logout is not a submit button")
	}
	account := doc.Find(".account").Text()
	for _, want := range []string{"ada@example.com", "Acme", "admin"} {
		if !strings.Contains(account, want) {
			t.Errorf("account block lacks %q: %q", want, account)
		}
	}
	config, _ := doc.Find("meta[name='htmx-config']").Attr("content")
	for _, want := range []string{`"includeIndicatorStyles":false`, `"allowEval":false`, `"historyCacheSize":0`, `"refreshOnHistoryMiss":true`} {
		if !strings.Contains(config, want) {
			t.Errorf("htmx-config lacks %s: %s", want, config)
		}
	}
	var srcs []string
	doc.Find("head script").Each(func(_ int, s *goquery.Selection) {
		src, _ := s.Attr("src")
		if _, deferred := s.Attr("defer"); !deferred {
			t.Errorf("script %s is not deferred", src)
		}
		srcs = append(srcs, src)
	})
	if len(srcs) != 2 || !strings.HasPrefix(srcs[0], "/static/vendor/htmx-2.") || !strings.HasPrefix(srcs[1], "/static/app.js?v=") {
		t.Errorf("scripts = %v, want htmx then app.js", srcs)
	}
	if href, _ := doc.Find("link[rel='stylesheet']").Attr("href"); !strings.HasPrefix(href, "/static/app.css?v=") {
		t.Errorf("stylesheet href = %q", href)
	}
	flashes := doc.Find("#flashes .flash")
	if flashes.Length() != 2 || !flashes.Eq(0).HasClass("flash-success") || !flashes.Eq(1).HasClass("flash-error") {
		t.Errorf("flashes not rendered with their kinds: %d", flashes.Length())
	}
	if doc.Find("#flashes + main#main .empty").Length() != 1 {
		t.Errorf("flashes should sit right above main, which holds the body")
	}
	assertSafe(t, doc)
}

func TestLayoutEscapesHostileText(t *testing.T) {
	p := adminPage()
	p.Title = hostile
	p.CSRFToken = `"}` + hostile
	p.User.Email = hostile
	p.User.Merchant = hostile
	p.Flashes = []Flash{{FlashInfo, hostile}}
	doc, out := parse(t, Layout(p, nil))
	if strings.Contains(out, "<script>alert") {
		t.Fatalf("hostile text rendered raw:\n%s", out)
	}
	if got := doc.Find("#flashes .flash").Text(); got != hostile {
		t.Errorf("flash text = %q, want it shown literally", got)
	}
	if got, _ := doc.Find("body").Attr("hx-headers"); got != `{"X-CSRF-Token":"\"}\u003cscript\u003ealert(1)\u003c/script\u003e"}` {
		t.Errorf("hx-headers = %q", got)
	}
	assertSafe(t, doc)
}

func TestFlashesOOB(t *testing.T) {
	doc, _ := parse(t, FlashesOOB([]Flash{{"weird", "x"}}))
	root := doc.Find("#flashes")
	if v, _ := root.Attr("hx-swap-oob"); v == "" {
		t.Errorf("FlashesOOB lacks hx-swap-oob")
	}
	if !root.Find(".flash").HasClass("flash-info") {
		t.Errorf("unknown kind should render as info")
	}
	doc, _ = parse(t, Flashes(nil))
	if _, ok := doc.Find("#flashes").Attr("hx-swap-oob"); ok {
		t.Errorf("Flashes must not be out-of-band")
	}
}

func TestBadge(t *testing.T) {
	cases := map[string]string{
		"accepted": "badge-green", "processed": "badge-green", "paid": "badge-green", "resolved": "badge-green",
		"rejected": "badge-red", "failed": "badge-red", "dead": "badge-red",
		"duplicate": "badge-grey", "ignored": "badge-grey",
		"pending": "badge-amber", "processing": "badge-amber", "awaiting_payment": "badge-amber",
		"refund_pending": "badge-amber", "needs_review": "badge-amber",
		"refunded": "badge-blue", "partially_refunded": "badge-blue",
		"mystery": "badge-neutral", "": "badge-neutral",
	}
	for status, class := range cases {
		doc, _ := parse(t, Badge(status))
		b := doc.Find("span.badge")
		if !b.HasClass(class) {
			c, _ := b.Attr("class")
			t.Errorf("Badge(%q) class = %q, want %s", status, c, class)
		}
	}
	doc, _ := parse(t, Badge("awaiting_payment"))
	if got := doc.Find(".badge").Text(); got != "awaiting payment" {
		t.Errorf("label = %q", got)
	}
	if got, _ := doc.Find(".badge").Attr("data-status"); got != "awaiting_payment" {
		t.Errorf("data-status = %q", got)
	}
}

func TestRelTime(t *testing.T) {
	at := time.Date(2024, 5, 1, 14, 3, 9, 0, time.FixedZone("CEST", 2*3600))
	doc, _ := parse(t, RelTime(at))
	tm := doc.Find("time")
	if got, _ := tm.Attr("datetime"); got != "2024-05-01T12:03:09Z" {
		t.Errorf("datetime = %q", got)
	}
	if got, _ := tm.Attr("title"); got != "2024-05-01 12:03:09 UTC" {
		t.Errorf("title = %q", got)
	}
	if got := tm.Text(); got != "2024-05-01 12:03:09 UTC" {
		t.Errorf("text = %q", got)
	}

	doc, _ = parse(t, RelTime(time.Time{}))
	if doc.Find("time").Length() != 0 || strings.TrimSpace(doc.Text()) != "—" {
		t.Errorf("zero time rendered %q", doc.Text())
	}
}

func TestEmptyState(t *testing.T) {
	action := templ.Raw(`<a class="btn" href="/endpoints/new">Add endpoint</a>`)
	doc, _ := parse(t, EmptyState("No endpoints", "Add one to start receiving webhooks.", action))
	if doc.Find(".empty .empty-title").Text() != "No endpoints" ||
		doc.Find(".empty .empty-body").Text() != "Add one to start receiving webhooks." ||
		doc.Find(".empty .empty-action a[href='/endpoints/new']").Length() != 1 {
		t.Errorf("empty state incomplete")
	}
	doc, _ = parse(t, EmptyState("Nothing", "", nil))
	if doc.Find(".empty-body, .empty-action").Length() != 0 {
		t.Errorf("empty body and nil action should render nothing")
	}
}

func TestPagerView(t *testing.T) {
	if out := render(t, PagerView(Pager{})); out != "" {
		t.Errorf("empty pager rendered %q", out)
	}
	doc, _ := parse(t, PagerView(Pager{NextURL: "/deliveries?before=42&status=failed"}))
	if doc.Find(".pager-newer").Length() != 0 {
		t.Errorf("newer link without PrevURL")
	}
	if href, _ := doc.Find("a.pager-older[rel='next']").Attr("href"); href != "/deliveries?before=42&status=failed" {
		t.Errorf("older href = %q", href)
	}
	doc, _ = parse(t, PagerView(Pager{PrevURL: "/deliveries?after=7", NextURL: "/deliveries?before=3"}))
	if doc.Find("nav.pager a").Length() != 2 {
		t.Errorf("want both links")
	}
	doc, _ = parse(t, PagerView(Pager{PrevURL: "javascript:alert(1)"}))
	if href, _ := doc.Find("a").Attr("href"); strings.HasPrefix(href, "javascript:") {
		t.Errorf("unsafe URL kept: %q", href)
	}
}

func TestCSRFField(t *testing.T) {
	doc, _ := parse(t, CSRFField(`a"b`))
	in := doc.Find("input[type='hidden'][name='csrf_token']")
	if v, _ := in.Attr("value"); in.Length() != 1 || v != `a"b` {
		t.Errorf("csrf field = %d, %q", in.Length(), v)
	}
}

func TestStatCard(t *testing.T) {
	doc, _ := parse(t, StatCard(Stat{Label: "Failed today", Value: "12", Hint: "of 340"}))
	if doc.Find("div.stat .stat-label").Text() != "Failed today" || doc.Find(".stat-value").Text() != "12" || doc.Find(".stat-hint").Text() != "of 340" {
		t.Errorf("stat card incomplete")
	}
	doc, _ = parse(t, StatCard(Stat{Label: "Failed", Value: "3", URL: "/deliveries?status=failed"}))
	if href, _ := doc.Find("a.stat").Attr("href"); href != "/deliveries?status=failed" {
		t.Errorf("linked stat href = %q", href)
	}
	if doc.Find(".stat-hint").Length() != 0 {
		t.Errorf("empty hint rendered")
	}
	doc, _ = parse(t, StatGrid([]Stat{{Label: "a", Value: "1"}, {Label: "b", Value: "2"}}))
	if doc.Find("#stats.stats .stat").Length() != 2 {
		t.Errorf("stat grid")
	}
}

func TestCopyField(t *testing.T) {
	doc, _ := parse(t, CopyField("endpoint-url", "https://hooks.example.com/in/abc"))
	if doc.Find("code#endpoint-url").Text() != "https://hooks.example.com/in/abc" {
		t.Errorf("copy field value missing")
	}
	btn := doc.Find("button[type='button'][data-copy='endpoint-url']")
	if btn.Length() != 1 {
		t.Errorf("copy button missing")
	}
}

func TestProgress(t *testing.T) {
	for _, c := range []struct {
		in   int
		want string
	}{{-5, "0"}, {42, "42"}, {250, "100"}} {
		doc, _ := parse(t, Progress(c.in, "Replaying"))
		p := doc.Find("progress[max='100']")
		if v, _ := p.Attr("value"); v != c.want {
			t.Errorf("Progress(%d) value = %q, want %s", c.in, v, c.want)
		}
		if l, _ := p.Attr("aria-label"); l != "Replaying" {
			t.Errorf("aria-label = %q", l)
		}
	}
	doc, _ := parse(t, Progress(10, ""))
	if _, ok := doc.Find("progress").Attr("aria-label"); ok || doc.Find(".progress-label").Length() != 0 {
		t.Errorf("empty label should render no label")
	}
	assertSafe(t, doc)
}

func TestErrorPage(t *testing.T) {
	cases := []struct {
		code                 int
		title, message       string
		wantTitle, wantInMsg string
	}{
		{403, "", "", "You don't have access", "permission"},
		{404, "", "", "Page not found", "doesn't exist"},
		{404, "No such order", "Order 7 is not yours.", "No such order", "Order 7 is not yours."},
		{429, "", "", "Too many requests", "Wait a moment"},
		{500, "sql: no rows", "dial tcp 10.0.0.1: refused", "Something went wrong", "on our side"},
		{503, "", "", "Service unavailable", "temporarily"},
		{0, "", "", "Something went wrong", "on our side"},
	}
	for _, c := range cases {
		doc, out := parse(t, ErrorPage(adminPage(), c.code, c.title, c.message))
		if got := doc.Find("#error h1").Text(); got != c.wantTitle {
			t.Errorf("%d: h1 = %q, want %q", c.code, got, c.wantTitle)
		}
		if got := doc.Find("#error p").Eq(1).Text(); !strings.Contains(got, c.wantInMsg) {
			t.Errorf("%d: message = %q, want it to contain %q", c.code, got, c.wantInMsg)
		}
		if got := doc.Find("title").Text(); got != c.wantTitle+" · Hooklog" {
			t.Errorf("%d: title = %q", c.code, got)
		}
		if doc.Find("#error a[href='/']").Length() != 1 {
			t.Errorf("%d: no link back to the overview", c.code)
		}
		if strings.Contains(out, "sql:") || strings.Contains(out, "dial tcp") {
			t.Errorf("%d: internal error text leaked", c.code)
		}
		assertSafe(t, doc)
	}
	doc, _ := parse(t, ErrorBody(401, "", ""))
	if doc.Find("a[href='/login']").Length() != 1 {
		t.Errorf("401 should link to sign in")
	}
	doc, _ = parse(t, ErrorPage(adminPage(), 404, hostile, hostile))
	if doc.Find("#error h1").Text() != hostile {
		t.Errorf("hostile title not shown literally")
	}
	assertSafe(t, doc)
}

func TestLoginPage(t *testing.T) {
	doc, _ := parse(t, LoginPage(Page{CSRFToken: "tok"}, LoginView{Next: "/orders?x=1"}))
	form := doc.Find("form[method='post'][action='/login']")
	if form.Length() != 1 {
		t.Fatal("no POST /login form")
	}
	if doc.Find("nav.nav").Length() != 0 {
		t.Errorf("nav on the login page")
	}
	if got := doc.Find("title").Text(); got != "Sign in · Hooklog" {
		t.Errorf("title = %q", got)
	}
	for _, sel := range []string{
		"input[type='hidden'][name='csrf_token'][value='tok']",
		"input[type='hidden'][name='next'][value='/orders?x=1']",
		"label[for='login-email'] + input#login-email[name='email'][type='email'][required][autofocus]",
		"label[for='login-password'] + input#login-password[name='password'][type='password'][required]",
		"button[type='submit']",
	} {
		if form.Find(sel).Length() != 1 {
			t.Errorf("login form lacks %s", sel)
		}
	}
	if doc.Find("[role='alert']").Length() != 0 {
		t.Errorf("error shown without an error")
	}

	doc, _ = parse(t, LoginPage(Page{CSRFToken: "tok"}, LoginView{Email: hostile, Error: "Email or password is incorrect."}))
	if v, _ := doc.Find("input[name='email']").Attr("value"); v != hostile {
		t.Errorf("typed email not kept: %q", v)
	}
	if doc.Find("#login-error[role='alert']").Text() != "Email or password is incorrect." {
		t.Errorf("error not shown")
	}
	if doc.Find("input[name='password'][autofocus]").Length() != 1 || doc.Find("input[name='email'][autofocus]").Length() != 0 {
		t.Errorf("focus should move to the password after a failed attempt")
	}
	assertSafe(t, doc)
}
