package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"hooklog/config"
	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// flowWait bounds every wait in these flows. The pages poll every 1 to 3 s, so a change shows
// well within it; a wait that runs out fails the test with what it waited for.
const flowWait = 15 * time.Second

// within runs steps under flowWait.
func (b *browser) within(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, flowWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.shot("failed-" + slug(what))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// follow runs steps that load a new page (a click on a link or a submit button), waits for that
// page, and then for sel on it: querying while the old page is torn down fails at random.
func (b *browser) follow(what, sel string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, flowWait)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err == nil {
		err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel)))
	}
	if err != nil {
		b.shot("failed-" + slug(what))
		b.t.Fatalf("%s: %v", what, err)
	}
	if resp.Status >= 500 {
		b.t.Errorf("%s: the page answered %d", what, resp.Status)
	}
}

// query is the query of the page shown.
func (b *browser) query() url.Values {
	b.t.Helper()
	q, err := url.ParseQuery(jsEval[string](b, `location.search.slice(1)`))
	if err != nil {
		b.t.Fatal(err)
	}
	return q
}

// waitUntil waits, under flowWait, until the JavaScript expression expr is true in the page.
func (b *browser) waitUntil(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, flowWait)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(flowWait))); err != nil {
		b.shot("failed-" + slug(what))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// signIn logs in through the form and screenshots the page it lands on.
func (b *browser) signIn(email string) {
	b.t.Helper()
	b.login(email)
	b.shot("signed-in")
}

// visit opens path and waits until sel is visible.
func (b *browser) visit(path, sel string) {
	b.t.Helper()
	b.run("open "+path, chromedp.Navigate(b.app.URL+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// jsEval evaluates a JavaScript expression in the page and decodes its value into T.
func jsEval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s) // a string always marshals
	return string(q)
}

// countOf is how many elements match the CSS selector sel.
func (b *browser) countOf(sel string) int {
	b.t.Helper()
	return jsEval[int](b, `document.querySelectorAll(`+jsString(sel)+`).length`)
}

// attrOf is the value of the attribute name of the first element matching sel ("" when there is none).
func (b *browser) attrOf(sel, name string) string {
	b.t.Helper()
	return jsEval[string](b, `(document.querySelector(`+jsString(sel)+`)?.getAttribute(`+jsString(name)+`)) ?? ""`)
}

// path is the path and query of the page shown.
func (b *browser) path() string {
	b.t.Helper()
	return jsEval[string](b, `location.pathname + location.search`)
}

// squash collapses runs of white space, as a reader sees text.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// acceptConfirms answers every confirm() the page asks with OK, as a person who means it would, and
// returns what the dialogs asked so far.
func (b *browser) acceptConfirms() func() []string {
	var mu sync.Mutex
	var asked []string
	dialogs := chromedp.Events(b.ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			mu.Lock()
			asked = append(asked, ev.Message)
			mu.Unlock()
			if _, err := chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil {
				return
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
}

// noXSS fails the test if hostile markup ran or became elements on the page shown.
func (b *browser) noXSS(where string) {
	b.t.Helper()
	if ran := jsEval[bool](b, `typeof window.__xss !== "undefined"`); ran {
		b.t.Errorf("%s: the hostile payload ran (window.__xss is set)", where)
	}
	if n := b.countOf(`img[src="x"]`); n != 0 {
		b.t.Errorf("%s: %d <img src=x> elements were injected", where, n)
	}
	if n := jsEval[int](b, `[...document.scripts].filter(s => s.textContent.includes("__xss")).length`); n != 0 {
		b.t.Errorf("%s: %d injected <script> elements", where, n)
	}
}

// noRefBody is a generic payment event that names no order and no payment: processing it fails
// permanently, so the event waits, failed, for a replay.
func noRefBody(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"event":"payment.completed","data":{"status":"completed","amount":"12.00","currency":"USD"}}`, id)
}

// failedEvent sends a noRefBody event and waits until processing has failed it.
func failedEvent(t *testing.T, a *testapp.App, ep *testapp.Endpoint, id string) uint {
	t.Helper()
	r := a.Send(ep, noRefBody(id))
	if r.Status != http.StatusOK || r.EventID == 0 {
		t.Fatalf("send %s: %+v", id, r)
	}
	a.WaitStatus(r.EventID, models.StatusFailed)
	return r.EventID
}

// TestBrowserLogin: a wrong password shows the error and keeps the email; the right one signs in
// and lands on the page that asked for the login.
func TestBrowserLogin(t *testing.T) {
	t.Parallel()
	a := testapp.New(t)
	a.User("Acme", "operator@acme.test", models.RoleOperator)
	b := newBrowser(t, a)

	b.visit("/deliveries", "#login-form")
	if got := b.path(); got != "/login?next=%2Fdeliveries" {
		t.Errorf("a page behind the login sent the browser to %s", got)
	}
	b.shot("login")
	b.follow("submit a wrong password", "#login-error",
		chromedp.SendKeys(chromedp.CSS("#login-email"), "operator@acme.test"),
		chromedp.SendKeys(chromedp.CSS("#login-password"), "not the password"),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
	)
	b.shot("wrong-password")
	if got := b.text("#login-error"); got != "That email and password don't match an active account." {
		t.Errorf("error = %q", got)
	}
	if got := jsEval[string](b, `document.querySelector("#login-email").value`); got != "operator@acme.test" {
		t.Errorf("the email field holds %q after the failure, want the email typed", got)
	}
	if got := jsEval[string](b, `document.querySelector("#login-password").value`); got != "" {
		t.Errorf("the password field kept %q", got)
	}
	if got := jsEval[string](b, `document.activeElement.id`); got != "login-password" {
		t.Errorf("focus is on %q, want the password field", got)
	}

	b.follow("submit the right password", "#deliveries",
		chromedp.SendKeys(chromedp.CSS("#login-password"), testapp.Password),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
	)
	b.shot("signed-in")
	if got := b.path(); got != "/deliveries" {
		t.Errorf("after the login the browser is at %s, want the page it asked for", got)
	}
	if got := b.text(".account-email"); got != "operator@acme.test" {
		t.Errorf("account shows %q", got)
	}
	if got := b.text(".account-role"); got != "operator" {
		t.Errorf("role shows %q", got)
	}
}

// TestBrowserLiveDeliveries: with /deliveries open, a new signed delivery shows up as a row by the
// page's own polling, without a reload; its link opens the event with the body and headers.
func TestBrowserLiveDeliveries(t *testing.T) {
	t.Parallel()
	a := testapp.New(t)
	a.User("Acme", "admin@acme.test", models.RoleAdmin)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	first := a.SendSample(ep, "payment.completed", webhooks.SampleParams{OrderRef: "ord_live_1"})
	a.WaitStatus(first.EventID, models.StatusProcessed)

	b := newBrowser(t, a)
	b.signIn("admin@acme.test")
	b.visit("/deliveries", "#delivery-table")
	b.shot("deliveries-before")
	if n := b.countOf("#delivery-rows tr.delivery-row"); n != 1 {
		t.Fatalf("the list shows %d deliveries, want 1", n)
	}
	// A marker on the document: a reload would lose it.
	jsEval[bool](b, `window.__sameDocument = true`)

	r := a.SendSample(ep, "payment.completed", webhooks.SampleParams{OrderRef: "ord_live_2", ID: "evt_live_2"})
	if r.Status != http.StatusOK {
		t.Fatalf("send: %+v", r)
	}
	row := fmt.Sprintf("#delivery-%d", r.DeliveryID)
	b.within("see the new delivery appear", chromedp.WaitVisible(chromedp.CSS(row)))
	a.WaitStatus(r.EventID, models.StatusProcessed)
	b.shot("deliveries-after")
	if !jsEval[bool](b, `window.__sameDocument === true`) {
		t.Error("the page reloaded to show the new delivery")
	}
	if got := b.attrOf("#delivery-rows tr.delivery-row", "id"); got != row[1:] {
		t.Errorf("the newest row is %s, want %s on top", got, row[1:])
	}
	if n := b.countOf("#delivery-rows tr.delivery-row"); n != 2 {
		t.Errorf("the list shows %d deliveries, want 2", n)
	}
	if got := squash(b.text(row)); !strings.Contains(got, "generic endpoint") || !strings.Contains(got, "accepted") ||
		!strings.Contains(got, "payment.completed") || !strings.Contains(got, "200") {
		t.Errorf("the new row reads %q", got)
	}

	b.follow("open the new delivery's event", "#event-body", chromedp.Click(chromedp.CSS(row+" a")))
	b.shot("event")
	if got := b.path(); got != fmt.Sprintf("/events/%d", r.EventID) {
		t.Errorf("the row link opened %s", got)
	}
	if got := b.text("main h1"); got != "payment.completed" {
		t.Errorf("heading = %q", got)
	}
	body := b.text("#event-body")
	for _, want := range []string{`"id": "evt_live_2"`, `"orderId": "ord_live_2"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the body does not show %s:\n%s", want, body)
		}
	}
	headers := strings.ToLower(b.text("#event-headers"))
	for _, want := range []string{strings.ToLower(ep.Profile.SignatureHeader()), "content-type", "application/json"} {
		if !strings.Contains(headers, want) {
			t.Errorf("the headers do not show %s:\n%s", want, headers)
		}
	}
	if got := b.attrOf("#event-state .badge", "data-status"); got != "processed" {
		t.Errorf("the event's status shows %q, want processed", got)
	}
}

// attempts is the text of each item of the event page's attempt timeline, oldest first.
func (b *browser) attempts() []string {
	b.t.Helper()
	return jsEval[[]string](b, `[...document.querySelectorAll("#event-attempts .timeline-item")].map(li => li.innerText.replace(/\s+/g, " ").trim())`)
}

// waitAttempts waits until the store holds n processing attempts of an event.
func waitAttempts(a *testapp.App, eventID uint, n int) {
	a.WaitFor(fmt.Sprintf("%d attempts of event %d", n, eventID), flowWait, func() bool {
		as, err := a.Store.EventAttempts(eventID)
		return err == nil && len(as) >= n
	})
}

// TestBrowserReplay: an operator replays a failed event from its page and sees the new attempt,
// attributed to them, in the timeline; after the endpoint's settings are fixed, a replay processes it.
func TestBrowserReplay(t *testing.T) {
	t.Parallel()
	a := testapp.New(t)
	a.User("Acme", "operator@acme.test", models.RoleOperator)
	generic := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	failed := failedEvent(t, a, generic, "evt_noref_1")
	// A custom provider whose field map looks for the order reference in the wrong place.
	custom := a.Endpoint("Acme", "custom", "", webhooks.Settings{Fields: webhooks.FieldMap{OrderRef: "data.reference"}})
	r := a.Send(custom, []byte(`{"id":"evt_custom_1","event":"payment.completed","data":{"ref":{"order":"ord_custom_7"},"amount":"15.00","currency":"USD"}}`))
	if r.Status != http.StatusOK {
		t.Fatalf("send to the custom endpoint: %+v", r)
	}
	a.WaitStatus(r.EventID, models.StatusFailed)

	b := newBrowser(t, a)
	b.signIn("operator@acme.test")

	// A failure that a replay cannot fix: it fails again, and the timeline says who replayed it.
	b.visit(fmt.Sprintf("/events/%d", failed), "#event-state")
	b.shot("failed-event")
	if got := b.text("#event-last-error"); !strings.Contains(got, "names no order reference") {
		t.Errorf("last error = %q", got)
	}
	if got := b.attempts(); len(got) != 1 || !strings.Contains(got[0], "failed") || !strings.Contains(got[0], "automatic") {
		t.Fatalf("timeline before the replay = %q", got)
	}
	b.run("replay it",
		chromedp.Click(chromedp.CSS(`.event-replay button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#flashes .flash-success")),
	)
	b.shot("replay-queued")
	if got := b.text("#flashes .flash-success"); got != fmt.Sprintf("Event %d is queued for replay.", failed) {
		t.Errorf("flash = %q", got)
	}
	if got := b.attrOf("#event-state .badge", "data-status"); got != "pending" {
		t.Errorf("right after the replay the status shows %q, want pending", got)
	}
	waitAttempts(a, failed, 2)
	// The timeline is not live: the person reloads to see how the replay went.
	b.run("reload the event", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#event-attempts")))
	b.shot("replayed-failed-again")
	got := b.attempts()
	if len(got) != 2 {
		t.Fatalf("timeline after the replay = %q, want 2 attempts", got)
	}
	if !strings.Contains(got[1], "failed") || !strings.Contains(got[1], "replay") || !strings.Contains(got[1], "by operator@acme.test") ||
		!strings.Contains(got[1], "names no order reference") {
		t.Errorf("the replay's attempt reads %q", got[1])
	}

	// A failure the settings caused: fix the field map, replay, and the event is processed.
	b.visit(fmt.Sprintf("/events/%d", r.EventID), "#event-state")
	b.shot("custom-failed")
	if got := b.attrOf("#event-state .badge", "data-status"); got != "failed" {
		t.Fatalf("custom event status shows %q", got)
	}
	fixed := custom.Settings
	fixed.Fields.OrderRef = "data.ref.order"
	if _, err := a.Store.UpdateEndpoint(custom.MerchantID, custom.ID, models.EndpointInput{Name: custom.Name, Provider: custom.Provider, Settings: fixed}); err != nil {
		t.Fatal(err)
	}
	b.run("replay it after the fix",
		chromedp.Click(chromedp.CSS(`.event-replay button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#flashes .flash-success")),
	)
	a.WaitStatus(r.EventID, models.StatusProcessed)
	b.run("reload the event", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#event-order")))
	b.shot("custom-processed")
	if got := b.attrOf("#event-state .badge", "data-status"); got != "processed" {
		t.Errorf("status after the fixed replay shows %q, want processed", got)
	}
	if got := squash(b.text("#event-order")); !strings.Contains(got, "ord_custom_7 is now paid") {
		t.Errorf("order section reads %q", got)
	}
	got = b.attempts()
	if len(got) != 2 || !strings.Contains(got[1], "processed") || !strings.Contains(got[1], "replay") ||
		!strings.Contains(got[1], "by operator@acme.test") || !strings.Contains(got[1], "order ord_custom_7") {
		t.Errorf("timeline after the fixed replay = %q", got)
	}
}

// TestBrowserMarkEvent: an operator marks an event with a note and sees both; support sees them
// too but has no Replay or Mark controls.
func TestBrowserMarkEvent(t *testing.T) {
	t.Parallel()
	a := testapp.New(t)
	a.User("Acme", "operator@acme.test", models.RoleOperator)
	a.User("Acme", "support@acme.test", models.RoleSupport)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	id := failedEvent(t, a, ep, "evt_mark_1")
	eventPage := fmt.Sprintf("/events/%d", id)
	const note = "Customer paid by bank transfer; order 1042 settled by hand."

	b := newBrowser(t, a)
	b.signIn("operator@acme.test")
	b.visit(eventPage, "#event-state")
	b.shot("unmarked")
	if got := b.text("#event-mark"); got != "none" {
		t.Errorf("mark before = %q", got)
	}
	b.run("mark it with a note",
		chromedp.SetValue(chromedp.CSS("#mark"), "resolved"),
		chromedp.SendKeys(chromedp.CSS("#note"), note),
		chromedp.Click(chromedp.CSS(`.event-mark button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#event-note")),
	)
	b.shot("marked")
	if got := b.text("#flashes .flash-success"); got != fmt.Sprintf("Event %d is marked resolved.", id) {
		t.Errorf("flash = %q", got)
	}
	if got := b.attrOf("#event-mark .badge", "data-status"); got != "resolved" {
		t.Errorf("mark shown = %q, want resolved", got)
	}
	if got := b.text("#event-note"); got != note {
		t.Errorf("note shown = %q", got)
	}
	if got := squash(b.text("#event-state")); !strings.Contains(got, "Marked by operator@acme.test") {
		t.Errorf("state card reads %q, want who marked it", got)
	}
	// The form shows what is saved, so a second edit starts from it.
	if got := jsEval[string](b, `document.querySelector("#mark").value`); got != "resolved" {
		t.Errorf("the mark select holds %q after saving", got)
	}

	// The mark is saved: it is there after a reload, and on the list.
	b.run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#event-note")))
	if got := b.text("#event-note"); got != note {
		t.Errorf("note after a reload = %q", got)
	}
	b.visit("/deliveries", "#delivery-table")
	b.shot("deliveries-with-mark")
	if got := b.attrOf(`#delivery-rows tr.delivery-row .badge[data-status="resolved"]`, "data-status"); got != "resolved" {
		t.Error("the deliveries list does not show the mark")
	}

	b.follow("log out", "#login-form", chromedp.Click(chromedp.CSS("form.logout button")))
	b.signIn("support@acme.test")
	b.visit(eventPage, "#event-state")
	b.shot("support-view")
	if got := b.text("#event-note"); got != note {
		t.Errorf("support sees note %q", got)
	}
	for _, sel := range []string{".event-replay", ".event-mark", "#mark", "#note"} {
		if n := b.countOf(sel); n != 0 {
			t.Errorf("support sees %d %s controls", n, sel)
		}
	}
	if n := b.countOf("#bulk-replay"); n != 0 {
		t.Error("support sees the bulk replay form")
	}
}

// startFilterReplay filters /deliveries to failed events, asks to replay all of them, checks the
// count on the confirmation page and confirms; it returns on the job page.
func startFilterReplay(t *testing.T, b *browser, want int) {
	t.Helper()
	b.visit("/deliveries", "#delivery-table")
	b.shot("deliveries")
	// Choosing an option submits the filter form (data-autosubmit; SetValue fires change as a pick does).
	b.follow("filter to failed events", `#delivery-filters a[href="/deliveries"]`,
		chromedp.SetValue(chromedp.CSS("#f-status"), "failed"))
	b.shot("deliveries-failed")
	if got := b.query().Get("status"); got != "failed" {
		t.Errorf("the filtered list is at %s", b.path())
	}
	if n := b.countOf("#delivery-rows tr.delivery-row"); n != want {
		t.Errorf("the failed filter shows %d rows, want %d", n, want)
	}
	b.follow("replay all failed matching the filter", "#replay-count",
		chromedp.Click(chromedp.CSS(`#bulk-replay button[value="filter"]`)))
	b.shot("confirm")
	if got := b.text("#replay-count"); got != fmt.Sprintf("%d failed or dead events match", want) {
		t.Errorf("confirmation says %q", got)
	}
	if got := squash(b.text("#replay-preview")); !strings.Contains(got, "Filter: status failed.") {
		t.Errorf("confirmation does not describe the filter: %q", got)
	}
	b.follow("confirm", "#replay-job-progress", chromedp.Click(chromedp.CSS(`#replay-preview button[type="submit"]`)))
}

// TestBrowserBulkReplay: several failed events replayed from the filtered list; the job page's
// progress reaches finished by itself and still shows it after a reload.
func TestBrowserBulkReplay(t *testing.T) {
	t.Parallel()
	a := testapp.New(t)
	a.User("Acme", "operator@acme.test", models.RoleOperator)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	var ids []uint
	for i := range 3 {
		ids = append(ids, failedEvent(t, a, ep, fmt.Sprintf("evt_bulk_%d", i)))
	}
	ok := a.SendSample(ep, "payment.completed", webhooks.SampleParams{})
	a.WaitStatus(ok.EventID, models.StatusProcessed)

	b := newBrowser(t, a)
	b.signIn("operator@acme.test")
	startFilterReplay(t, b, 3)
	b.shot("job")
	if got := b.text("#flashes .flash-success"); !strings.Contains(got, "started for 3 events") {
		t.Errorf("flash = %q", got)
	}
	b.within("see the job finish", chromedp.WaitVisible(chromedp.CSS(`#replay-job-progress .badge[data-status="finished"]`)))
	b.shot("job-finished")
	if got := b.attrOf("#replay-job-progress progress", "value"); got != "100" {
		t.Errorf("progress bar at %s, want 100", got)
	}
	if got := b.text("#job-done"); got != "3 of 3" {
		t.Errorf("queued = %q", got)
	}
	if n := b.countOf("#replay-job-progress form"); n != 0 {
		t.Error("a finished job still offers Cancel")
	}
	for _, id := range ids {
		waitAttempts(a, id, 2)
	}
	b.run("reload the job", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#replay-job-progress")))
	b.shot("job-reloaded")
	if got := b.attrOf("#replay-job-progress .badge", "data-status"); got != "finished" {
		t.Errorf("after a reload the job shows %q", got)
	}
	if got := b.attrOf("#replay-job-progress progress", "value"); got != "100" {
		t.Errorf("after a reload the progress bar is at %s", got)
	}
	if got := b.text("#job-failed"); got != "3" {
		t.Errorf("failed again = %q, want 3 (the replays fail for the same reason)", got)
	}
	if got := b.text("#job-waiting"); got != "0" {
		t.Errorf("waiting = %q", got)
	}
	if got := squash(b.text("#replay-job")); !strings.Contains(got, "Started by operator@acme.test") {
		t.Errorf("job page reads %q", got)
	}
	b.visit("/replay-jobs", "#replay-jobs")
	b.shot("jobs")
	if got := b.attrOf("#replay-jobs .badge", "data-status"); got != "finished" {
		t.Errorf("the jobs list shows %q", got)
	}
}

// TestBrowserBulkReplayCancel: a running job can be cancelled from its page. The job worker polls
// once an hour here, so the job stays running until the person cancels it.
func TestBrowserBulkReplayCancel(t *testing.T) {
	t.Parallel()
	a := testapp.New(t, func(c *config.Config) { c.Worker.PollInterval = config.Duration{Duration: time.Hour} })
	a.User("Acme", "operator@acme.test", models.RoleOperator)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	for i := range 2 {
		failedEvent(t, a, ep, fmt.Sprintf("evt_cancel_%d", i))
	}

	b := newBrowser(t, a)
	asked := b.acceptConfirms()
	b.signIn("operator@acme.test")
	startFilterReplay(t, b, 2)
	b.shot("job-running")
	if got := b.attrOf("#replay-job-progress .badge", "data-status"); got != "running" {
		t.Fatalf("the new job shows %q, want running", got)
	}
	if got := b.text("#job-done"); got != "0 of 2" {
		t.Errorf("queued = %q", got)
	}
	b.run("cancel the job",
		chromedp.Click(chromedp.CSS(`#replay-job-progress button.btn-danger`)),
		chromedp.WaitVisible(chromedp.CSS(`#replay-job-progress .badge[data-status="cancelled"]`)),
	)
	b.shot("job-cancelled")
	if got := asked(); len(got) != 1 || got[0] != "Stop this replay? Events already queued still run." {
		t.Errorf("confirmations asked: %q", got)
	}
	if got := b.text("#flashes .flash-success"); !strings.Contains(got, "is cancelled after queueing 0 events") {
		t.Errorf("flash = %q", got)
	}
	if got := squash(b.text("#replay-job-progress")); !strings.Contains(got, "Cancelled by operator@acme.test") {
		t.Errorf("progress reads %q", got)
	}
	b.run("reload the job", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#replay-job-progress")))
	b.shot("job-cancelled-reloaded")
	if got := b.attrOf("#replay-job-progress .badge", "data-status"); got != "cancelled" {
		t.Errorf("after a reload the job shows %q", got)
	}
	if n := b.countOf("#replay-job-progress form"); n != 0 {
		t.Error("a cancelled job still offers Cancel")
	}
}

// TestBrowserRotateSecret: an admin rotates an endpoint's secret with a grace period; the new
// secret is shown once, and both secrets are listed with the old one's expiry.
func TestBrowserRotateSecret(t *testing.T) {
	t.Parallel()
	a := testapp.New(t)
	a.User("Acme", "admin@acme.test", models.RoleAdmin)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	endpointPage := fmt.Sprintf("/endpoints/%d", ep.ID)

	b := newBrowser(t, a)
	asked := b.acceptConfirms()
	b.signIn("admin@acme.test")
	b.visit(endpointPage, "#rotate-form")
	b.shot("endpoint")
	if n := b.countOf("#endpoint-secrets tbody tr"); n != 1 {
		t.Fatalf("%d secrets listed before the rotation", n)
	}
	if n := b.countOf("#new-secret"); n != 0 {
		t.Error("the endpoint page shows a secret before any rotation")
	}
	b.follow("rotate with a grace period of 1 hour", "#new-secret",
		chromedp.SetValue(chromedp.CSS("#rotate-grace"), "1h"),
		chromedp.Click(chromedp.CSS(`#rotate-form button[type="submit"]`)),
	)
	rotatedAt := time.Now()
	b.shot("rotated")
	if got := asked(); len(got) != 1 || !strings.HasPrefix(got[0], "Rotate the signing secret?") {
		t.Errorf("confirmations asked: %q", got)
	}
	secret := b.text("#new-secret")
	if len(secret) != 64 || secret == ep.Secret {
		t.Fatalf("new secret = %q (old %q)", secret, ep.Secret)
	}
	if got := b.text("#flashes .flash-success"); !strings.HasPrefix(got, "Secret rotated. The previous secrets keep working until ") {
		t.Errorf("flash = %q", got)
	}

	type secretRow struct {
		Hint, Expires, ExpiresAt, State string
	}
	rows := jsEval[[]secretRow](b, `[...document.querySelectorAll("#endpoint-secrets tbody tr")].map(tr => ({
		Hint: tr.cells[0].innerText.trim(),
		Expires: tr.cells[2].innerText.trim(),
		ExpiresAt: tr.cells[2].querySelector("time")?.getAttribute("datetime") ?? "",
		State: tr.cells[3].innerText.trim(),
	}))`)
	if len(rows) != 2 {
		t.Fatalf("secrets listed after the rotation: %+v", rows)
	}
	newRow, oldRow := rows[0], rows[1]
	// The table shows the last four characters after an ellipsis.
	newRow.Hint, oldRow.Hint = strings.TrimPrefix(newRow.Hint, "…"), strings.TrimPrefix(oldRow.Hint, "…")
	if len(newRow.Hint) != 4 || len(oldRow.Hint) != 4 {
		t.Errorf("hints %q and %q, want the last four characters", newRow.Hint, oldRow.Hint)
	}
	if !strings.HasSuffix(secret, newRow.Hint) || newRow.Expires != "never" || newRow.State != "valid" {
		t.Errorf("the new secret's row = %+v", newRow)
	}
	if !strings.HasSuffix(ep.Secret, oldRow.Hint) || oldRow.State != "valid" {
		t.Errorf("the old secret's row = %+v", oldRow)
	}
	expires, err := time.Parse(time.RFC3339, oldRow.ExpiresAt)
	if err != nil {
		t.Fatalf("the old secret's expiry %q: %v", oldRow.ExpiresAt, err)
	}
	if d := expires.Sub(rotatedAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("the old secret expires %s after the rotation, want 1 h", d)
	}
	if oldRow.Expires != "in 59 min" && oldRow.Expires != "in 1 h" {
		t.Errorf("the old secret's expiry reads %q", oldRow.Expires)
	}

	// Shown once: opening the page again shows no plaintext.
	b.visit(endpointPage, "#endpoint-secrets")
	b.shot("endpoint-again")
	if n := b.countOf("#new-secret"); n != 0 {
		t.Error("the new secret is shown again")
	}
	if html := jsEval[string](b, `document.documentElement.outerHTML`); strings.Contains(html, secret) {
		t.Error("the page source still holds the new secret")
	}
	if n := b.countOf("#endpoint-secrets tbody tr"); n != 2 {
		t.Errorf("%d secrets listed on the next visit", n)
	}
}

// TestBrowserSearchExport: support finds a delivery by its transaction id, sees the match
// highlighted, and exports the results as CSV.
func TestBrowserSearchExport(t *testing.T) {
	t.Parallel()
	a := testapp.New(t)
	a.User("Acme", "support@acme.test", models.RoleSupport)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	const txn = "TXN88420017"
	hit := a.Send(ep, []byte(`{"id":"evt_search_1","event":"payment.completed","data":{"orderId":"ord_1042","transaction_id":"`+txn+`","amount":"25.00","currency":"USD"}}`))
	other := a.SendSample(ep, "payment.completed", webhooks.SampleParams{})
	a.WaitStatus(hit.EventID, models.StatusProcessed)
	a.WaitStatus(other.EventID, models.StatusProcessed)

	b := newBrowser(t, a)
	b.signIn("support@acme.test")
	b.follow("open search", "#search-q", chromedp.Click(chromedp.CSS(`nav a[href="/search"]`)))
	b.shot("search")
	b.run("search for the transaction id",
		chromedp.SendKeys(chromedp.CSS("#search-q"), txn+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#search-results .search-hit")),
	)
	b.shot("results")
	if got := b.query().Get("q"); got != txn {
		t.Errorf("the results are at %s, want a shareable URL with the search", b.path())
	}
	if n := b.countOf("#search-results .search-hit"); n != 1 {
		t.Errorf("%d hits, want 1", n)
	}
	if got := b.attrOf("#search-results .search-hit", "id"); got != fmt.Sprintf("search-hit-%d", hit.DeliveryID) {
		t.Errorf("the hit is %s", got)
	}
	marks := jsEval[[]string](b, `[...document.querySelectorAll("#search-results mark")].map(m => m.textContent)`)
	if len(marks) == 0 {
		t.Fatal("the match is not highlighted")
	}
	for _, m := range marks {
		if m != txn {
			t.Errorf("highlighted %q, want only %s", m, txn)
		}
	}

	href := b.attrOf(`#search-results a[download]`, "href")
	if href != "/search.csv?q="+txn {
		t.Errorf("Export CSV links to %q", href)
	}
	type download struct {
		Status      int
		Type, Body  string
		Disposition string
	}
	got := jsEval[download](b, `(async () => {
		const r = await fetch(document.querySelector("#search-results a[download]").href);
		return {Status: r.status, Type: r.headers.get("Content-Type") ?? "", Disposition: r.headers.get("Content-Disposition") ?? "", Body: await r.text()};
	})()`)
	if got.Status != http.StatusOK || !strings.HasPrefix(got.Type, "text/csv") || !strings.Contains(got.Disposition, "attachment") {
		t.Errorf("the export answered %d %q %q", got.Status, got.Type, got.Disposition)
	}
	lines := strings.Split(strings.TrimSpace(got.Body), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], txn) {
		t.Errorf("the CSV has a header and one row with %s; got:\n%s", txn, got.Body)
	}
}

// TestBrowserLogout: the logout button ends the session and lands on the login page; Back does not
// show the signed-in page again, and the dashboard sends the browser to the login page.
func TestBrowserLogout(t *testing.T) {
	t.Parallel()
	a := testapp.New(t)
	a.User("Acme", "operator@acme.test", models.RoleOperator)
	b := newBrowser(t, a)
	b.signIn("operator@acme.test")
	// Marks the signed-in document: were Back to restore it from the cache, the marker would be there.
	jsEval[bool](b, `window.__signedIn = true`)

	b.follow("log out", "#login-form", chromedp.Click(chromedp.CSS("form.logout button")))
	b.shot("logged-out")
	if got := b.path(); got != "/login" {
		t.Errorf("after logout the browser is at %s", got)
	}
	if n := b.countOf(".account-email") + b.countOf("nav"); n != 0 {
		t.Error("the login page still shows the account or the navigation")
	}

	jsEval[bool](b, `window.__loginPage = true`)
	b.run("go back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	// Wait for what Back shows: a fresh login page (the dashboard redirected), or the cached dashboard.
	type shown struct {
		Path                     string
		Login, Cached, LoginPage bool
	}
	var s shown
	for deadline := time.Now().Add(flowWait); ; time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(b.ctx, time.Second)
		var err error
		s, err = chromedp.Run(ctx, chromedp.Evaluate[shown](`({Path: location.pathname, Login: !!document.querySelector("#login-form"),
			Cached: window.__signedIn === true, LoginPage: window.__loginPage === true})`))
		cancel()
		if err == nil && (s.Cached || (s.Login && !s.LoginPage)) {
			break
		}
		if time.Now().After(deadline) {
			b.shot("failed-back")
			t.Fatalf("Back after logout shows %+v (last error %v)", s, err)
		}
	}
	b.shot("back")
	if s.Cached {
		t.Errorf("Back after logout shows the signed-in page %s again from the browser's back/forward cache; "+
			"pages for a signed-in user need Cache-Control: no-store", s.Path)
	} else if s.Path != "/login" {
		t.Errorf("Back after logout is at %s, want /login", s.Path)
	}

	for _, path := range []string{"/", "/deliveries"} {
		b.visit(path, "#login-form")
		if got := b.path(); !strings.HasPrefix(got, "/login") {
			t.Errorf("%s after logout is at %s, want /login", path, got)
		}
	}
	b.shot("dashboard-after-logout")
}

// Hostile strings a sender could put in a payload or a header.
const (
	hostileImg    = `<img src=x onerror=window.__xss=1>`
	hostileScript = `<script>window.__xss=1</script>`
)

// TestBrowserHostileContent: markup in a payload, its event type and a header is shown as text on
// the deliveries list, the event page and in search, and never runs.
func TestBrowserHostileContent(t *testing.T) {
	t.Parallel()
	a := testapp.New(t)
	a.User("Acme", "operator@acme.test", models.RoleOperator)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	// Written by hand: encoding/json would escape < and > as \u003c and \u003e.
	doc := []byte(`{"id":"evt_hostile_1","event":"` + hostileScript + `","data":{"orderId":"ord_hostile_1","note":"` + hostileImg +
		`","memo":"` + hostileScript + `"}}`)
	h, err := ep.Profile.Sign(ep.Secret, doc, time.Now(), "msg_hostile")
	if err != nil {
		t.Fatal(err)
	}
	h.Set("X-Merchant-Note", hostileImg)
	r := a.Post(ep.URL, h, doc)
	if r.Status != http.StatusOK {
		t.Fatalf("send: %+v", r)
	}
	a.WaitStatus(r.EventID, models.StatusProcessed)

	b := newBrowser(t, a)
	b.signIn("operator@acme.test")

	b.visit("/deliveries", "#delivery-table")
	b.shot("deliveries")
	b.noXSS("deliveries")
	if got := b.text(fmt.Sprintf("#delivery-%d td.mono", r.DeliveryID)); got != hostileScript {
		t.Errorf("the event type cell shows %q, want the markup as text", got)
	}

	b.visit(fmt.Sprintf("/events/%d", r.EventID), "#event-body")
	b.shot("event")
	b.noXSS("event page")
	if got := b.text("main h1"); got != hostileScript {
		t.Errorf("heading = %q", got)
	}
	body := b.text("#event-body")
	for _, want := range []string{hostileImg, hostileScript} {
		if !strings.Contains(body, want) {
			t.Errorf("the body does not show %s as text:\n%s", want, body)
		}
	}
	if got := b.text("#event-headers"); !strings.Contains(got, hostileImg) {
		t.Errorf("the headers do not show %s as text:\n%s", hostileImg, got)
	}
	if got := jsEval[string](b, `document.title`); got != "Event "+fmt.Sprint(r.EventID)+" · Hooklog" {
		t.Errorf("title = %q", got)
	}

	b.visit("/search?q=onerror", "#search-results")
	b.shot("search")
	b.noXSS("search")
	if n := b.countOf("#search-results .search-hit"); n != 1 {
		t.Fatalf("%d search hits, want 1", n)
	}
	match := b.text("#search-results .search-match")
	if !strings.Contains(match, "onerror") || !strings.Contains(match, "<img") {
		t.Errorf("the search excerpt does not show the markup as text: %q", match)
	}
	if got := jsEval[[]string](b, `[...document.querySelectorAll("#search-results mark")].map(m => m.textContent)`); len(got) == 0 || got[0] != "onerror" {
		t.Errorf("highlighted %q, want onerror", got)
	}
	// Typing the search drives htmx, which swaps the results in: the swap must not run markup either.
	b.run("search again through the form",
		chromedp.Clear(chromedp.CSS("#search-q")),
		chromedp.SendKeys(chromedp.CSS("#search-q"), "ord_hostile_1"+kb.Enter),
	)
	b.waitUntil("see the new results swapped in",
		`[...document.querySelectorAll("#search-results mark")].some(m => m.textContent === "ord_hostile_1")`)
	b.shot("search-swapped")
	b.noXSS("search results swapped in")
}

// darkMode asks the page to render for prefers-color-scheme: dark; false when Chromium refuses.
func (b *browser) darkMode() bool {
	_, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
	if err != nil {
		b.t.Logf("dark mode emulation is not available, screenshots are light: %v", err)
		return false
	}
	return true
}

// TestBrowserPhoneDark: the overview, deliveries and event pages at phone width in dark mode. The
// screenshots are for a person to review; the test checks that no page scrolls sideways as a whole
// (wide tables scroll inside their wrappers).
func TestBrowserPhoneDark(t *testing.T) {
	t.Parallel()
	a := testapp.New(t)
	a.User("Acme", "operator@acme.test", models.RoleOperator)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	ok := a.SendSample(ep, "payment.completed", webhooks.SampleParams{OrderRef: "ord_phone_1"})
	a.SendSample(ep, "refund.completed", webhooks.SampleParams{OrderRef: "ord_phone_1"})
	failedEvent(t, a, ep, "evt_phone_failed")
	if r := a.Post(ep.URL, http.Header{}, []byte(`{"id":"evt_unsigned"}`)); r.Status != http.StatusUnauthorized {
		t.Fatalf("unsigned delivery answered %d", r.Status)
	}
	a.WaitStatus(ok.EventID, models.StatusProcessed)

	b := newBrowser(t, a)
	b.run("emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulatePortrait, chromedp.EmulateMobile))
	dark := b.darkMode()
	b.signIn("operator@acme.test")
	if dark && !jsEval[bool](b, `matchMedia("(prefers-color-scheme: dark)").matches`) {
		t.Error("the page does not see prefers-color-scheme: dark")
	}
	pages := []struct{ name, path, sel string }{
		{"overview", "/", "#overview"},
		{"deliveries", "/deliveries", "#delivery-table"},
		{"event", fmt.Sprintf("/events/%d", ok.EventID), "#event-body"},
	}
	for _, p := range pages {
		b.visit(p.path, p.sel)
		b.shot(p.name)
		if w := jsEval[int](b, `window.innerWidth`); w != 390 {
			t.Errorf("%s: the viewport is %d px wide, want 390", p.name, w)
		}
		if over := jsEval[int](b, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
			wide := jsEval[[]string](b, `[...document.querySelectorAll("body *")].filter(el => el.getBoundingClientRect().right > window.innerWidth + 1 && !el.closest(".table-wrap")).slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : ""))`)
			t.Errorf("%s: the page is %d px wider than the screen; too wide: %q", p.name, over, wide)
		}
	}
}
