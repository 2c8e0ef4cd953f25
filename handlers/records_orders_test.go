package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"hooklog/handlers"
	"hooklog/models"
	"hooklog/testapp"
	"hooklog/views"
	"hooklog/webhooks"
)

var recordsRoles = []models.Role{models.RoleAdmin, models.RoleOperator, models.RoleSupport}

// recordsDoc parses an HTML answer.
func recordsDoc(t *testing.T, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// recordsGet fetches path and fails unless it answers want.
func recordsGet(t *testing.T, b *testapp.Browser, path string, want int, headers ...string) (*http.Response, *goquery.Document, string) {
	t.Helper()
	resp, body := b.Get(path, headers...)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d; want %d\n%s", path, resp.StatusCode, want, body)
	}
	return resp, recordsDoc(t, body), body
}

// recordsAssertSafe checks that a page carries no markup an attacker could have planted.
func recordsAssertSafe(t *testing.T, doc *goquery.Document) {
	t.Helper()
	doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		if src, _ := s.Attr("src"); src == "" {
			t.Errorf("inline script in page: %s", s.Text())
		}
	})
	if n := doc.Find("img, [onerror], [onload], [style]").Length(); n > 0 {
		t.Errorf("%d injected elements or attributes", n)
	}
}

// recordsNoWrites asserts that the main content offers nothing that changes state.
func recordsNoWrites(t *testing.T, doc *goquery.Document) {
	t.Helper()
	if n := doc.Find(`main form[method="post"], main [hx-post], main [hx-put], main [hx-delete], main [hx-patch]`).Length(); n > 0 {
		t.Errorf("%d state-changing controls on a read-only page", n)
	}
}

// recordsPaidThenRefunded sends a payment of 100.00 then a partial refund of 25.00 for ref and
// waits until both are processed.
func recordsPaidThenRefunded(t *testing.T, a *testapp.App, ep *testapp.Endpoint, ref string) (pay, refund testapp.Reply) {
	t.Helper()
	pay = a.SendSample(ep, "payment.completed", webhooks.SampleParams{OrderRef: ref, Amount: 10000})
	if pay.Status != http.StatusOK {
		t.Fatalf("payment: %+v", pay)
	}
	a.WaitStatus(pay.EventID, models.StatusProcessed)
	refund = a.SendSample(ep, "refund.completed", webhooks.SampleParams{OrderRef: ref, Amount: 2500})
	if refund.Status != http.StatusOK {
		t.Fatalf("refund: %+v", refund)
	}
	a.WaitStatus(refund.EventID, models.StatusProcessed)
	return pay, refund
}

func recordsText(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

func TestRecordsOrderPartialRefund(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "ada@acme.test", models.RoleSupport)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	pay, refund := recordsPaidThenRefunded(t, a, ep, "ord-1001")
	payEv, _ := a.Store.EventByID(pay.EventID)
	o, err := a.Store.OrderByReference(ep.MerchantID, "ord-1001")
	if err != nil {
		t.Fatal(err)
	}
	b := a.Login("ada@acme.test")

	// The list row.
	_, doc, _ := recordsGet(t, b, "/orders", http.StatusOK)
	row := doc.Find("#orders-table tbody tr")
	if row.Length() != 1 {
		t.Fatalf("%d order rows; want 1", row.Length())
	}
	cells := row.Find("td")
	link, _ := cells.Eq(0).Find("a").Attr("href")
	upd, _ := cells.Eq(6).Find("time").Attr("datetime")
	listWant := map[string]string{
		"reference": "ord-1001", "link": "/orders/ord-1001", "status": "partially_refunded", "amount": "100.00 USD",
		"refunded": "25.00 USD", "provider": "generic", "payment id": payEv.PaymentID, "updated": o.UpdatedAt.UTC().Format(time.RFC3339),
	}
	status, _ := cells.Eq(1).Find(".badge").Attr("data-status")
	listGot := map[string]string{
		"reference": recordsText(cells.Eq(0)), "link": link, "status": status, "amount": recordsText(cells.Eq(2)),
		"refunded": recordsText(cells.Eq(3)), "provider": recordsText(cells.Eq(4)), "payment id": recordsText(cells.Eq(5)), "updated": upd,
	}
	for k, want := range listWant {
		if listGot[k] != want {
			t.Errorf("list %s = %q; want %q", k, listGot[k], want)
		}
	}
	if cur, _ := doc.Find(`nav.nav a[aria-current="page"]`).Attr("href"); cur != "/orders" {
		t.Errorf("current nav = %q", cur)
	}

	// The order's page: fields, history linked to its events, and the events.
	_, doc, _ = recordsGet(t, b, link, http.StatusOK)
	recordsNoWrites(t, doc)
	fields := map[string]string{}
	doc.Find("#order-fields dt").Each(func(_ int, dt *goquery.Selection) {
		fields[recordsText(dt)] = recordsText(dt.Next())
	})
	fieldsWant := map[string]string{"Reference": "ord-1001 Copy", "Status": "partially refunded", "Amount": "100.00 USD",
		"Refunded": "25.00 USD", "Paid": "yes", "Provider": "generic", "Payment id": payEv.PaymentID,
		"First seen": o.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC"), "Updated": o.UpdatedAt.UTC().Format("2006-01-02 15:04:05 UTC")}
	for k, want := range fieldsWant {
		if fields[k] != want {
			t.Errorf("field %s = %q; want %q", k, fields[k], want)
		}
	}
	if len(fields) != len(fieldsWant) {
		t.Errorf("fields %v", fields)
	}
	type step struct{ from, to, reason, event string }
	wantSteps := []step{
		{"new", "paid", "payment succeeded", fmt.Sprintf("/events/%d", pay.EventID)},
		{"paid", "partially refunded", "partial refund: 2500 of 10000 refunded", fmt.Sprintf("/events/%d", refund.EventID)},
	}
	steps := doc.Find("#order-history .order-step")
	if steps.Length() != len(wantSteps) {
		t.Fatalf("%d history steps; want %d", steps.Length(), len(wantSteps))
	}
	steps.Each(func(i int, s *goquery.Selection) {
		change := s.Find(".order-step-change").Children()
		href, _ := s.Find("a.order-step-event").Attr("href")
		got := step{recordsText(change.Eq(0)), recordsText(change.Eq(2)), recordsText(s.Find(".order-step-reason")), href}
		if got != wantSteps[i] {
			t.Errorf("step %d = %+v; want %+v", i+1, got, wantSteps[i])
		}
		if s.Find("time[datetime]").Length() != 1 {
			t.Errorf("step %d has no time", i+1)
		}
	})
	type evRow struct{ link, typ, amount, status string }
	wantEvents := []evRow{
		{fmt.Sprintf("/events/%d", pay.EventID), "payment.completed payment.succeeded", "100.00 USD", "processed"},
		{fmt.Sprintf("/events/%d", refund.EventID), "refund.completed refund.completed", "25.00 USD", "processed"},
	}
	rows := doc.Find("#order-events tbody tr")
	if rows.Length() != len(wantEvents) {
		t.Fatalf("%d event rows; want %d", rows.Length(), len(wantEvents))
	}
	rows.Each(func(i int, r *goquery.Selection) {
		td := r.Find("td")
		href, _ := td.Eq(0).Find("a").Attr("href")
		st, _ := td.Eq(3).Find(".badge").Attr("data-status")
		got := evRow{href, recordsText(td.Eq(1)), recordsText(td.Eq(2)), st}
		if got != wantEvents[i] {
			t.Errorf("event %d = %+v; want %+v", i+1, got, wantEvents[i])
		}
		if td.Eq(4).Find("time[datetime]").Length() != 1 {
			t.Errorf("event %d has no received time", i+1)
		}
	})
	if href, _ := doc.Find(`a[href$="/evidence.json"]`).Attr("href"); href != "/orders/ord-1001/evidence.json" {
		t.Errorf("evidence link %q", href)
	}
}

func TestRecordsOrderEvidence(t *testing.T) {
	a := testapp.New(t)
	ep := a.Endpoint("Acme", "stripe", "whsec_records_test_secret", webhooks.Settings{})
	r := a.SendSample(ep, "payment_intent.succeeded", webhooks.SampleParams{OrderRef: "ord/7 ?x", Amount: 2500})
	a.WaitStatus(r.EventID, models.StatusProcessed)
	ref := url.PathEscape("ord/7 ?x")
	for _, role := range recordsRoles {
		t.Run(string(role), func(t *testing.T) {
			email := string(role) + "@acme.test"
			a.User("Acme", email, role)
			b := a.Login(email)
			resp, body := b.Get("/orders/" + ref + "/evidence.json")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("evidence: %d %s", resp.StatusCode, body)
			}
			if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="order-ord_7__x-evidence.json"` {
				t.Errorf("Content-Disposition %q", cd)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			for _, secret := range []string{ep.Secret, "client_secret", `"body"`, `"headers"`, "Stripe-Signature"} {
				if strings.Contains(body, secret) {
					t.Errorf("evidence holds %q", secret)
				}
			}
			var ev handlers.OrderEvidence
			if err := json.Unmarshal([]byte(body), &ev); err != nil {
				t.Fatal(err)
			}
			o := ev.Order
			if o.Reference != "ord/7 ?x" || o.Status != models.OrderPaid || o.Amount == nil || *o.Amount != 2500 || o.Currency != "USD" ||
				o.Provider != "stripe" || o.PaymentID == "" || len(o.History) != 1 || o.History[0].EventID != r.EventID ||
				o.History[0].To != models.OrderPaid || ev.ExportedBy != email || ev.ExportedAt.IsZero() || ev.EventsTruncated {
				t.Errorf("evidence %+v", ev)
			}
			if len(ev.Events) != 1 || ev.Events[0].ID != r.EventID || ev.Events[0].Type != "payment_intent.succeeded" ||
				ev.Events[0].Status != models.StatusProcessed || ev.Events[0].OrderRef != "ord/7 ?x" {
				t.Errorf("evidence events %+v", ev.Events)
			}
			var audits []models.AuditEntry
			a.Store.DB.Where("action = ? AND actor = ?", models.AuditExport, email).Find(&audits)
			if len(audits) != 1 || audits[0].ObjectType != "order" || audits[0].ObjectID != "ord/7 ?x" || audits[0].MerchantID != ep.MerchantID {
				t.Errorf("audit %+v", audits)
			}
			// Every role reads the list and the page, and neither offers anything to change.
			for _, path := range []string{"/orders", "/orders/" + ref} {
				_, doc, _ := recordsGet(t, b, path, http.StatusOK)
				recordsNoWrites(t, doc)
			}
			// Nothing under /orders accepts a change.
			resp, _ = b.PostForm("/orders/"+ref, url.Values{"status": {"refunded"}})
			if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("POST to an order: %d", resp.StatusCode)
			}
			if o, _ := a.Store.OrderByReference(ep.MerchantID, "ord/7 ?x"); o.Status != models.OrderPaid {
				t.Errorf("order changed to %s", o.Status)
			}
		})
	}
}

// TestRecordsOrderReferences follows the list's links to orders whose references hold characters
// that mean something in a URL or in HTML.
func TestRecordsOrderReferences(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "ada@acme.test", models.RoleAdmin)
	m := a.Merchant("Acme")
	refs := []string{"a/b", "50% off", "ord?x=1#y", "ünï cødé", ".", "..", "%2F", "x/evidence.json", "<script>alert(1)</script>", `"quoted" & 'apos'`, "+8801712345678"}
	for i, ref := range refs {
		o := models.Order{MerchantID: m.ID, Reference: ref, Status: models.OrderPaid, CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC().Add(time.Duration(i) * time.Second)}
		if err := a.Store.DB.Create(&o).Error; err != nil {
			t.Fatal(err)
		}
	}
	b := a.Login("ada@acme.test")
	_, doc, _ := recordsGet(t, b, "/orders", http.StatusOK)
	recordsAssertSafe(t, doc)
	links := map[string]string{}
	doc.Find("#orders-table tbody tr td:first-child a").Each(func(_ int, s *goquery.Selection) {
		href, _ := s.Attr("href")
		links[s.Text()] = href
	})
	for _, ref := range refs {
		href, ok := links[ref]
		if !ok {
			t.Errorf("no link for %q in %v", ref, links)
			continue
		}
		if href != views.OrderURL(ref) {
			t.Errorf("%q links to %q; want %q", ref, href, views.OrderURL(ref))
		}
		_, page, _ := recordsGet(t, b, href, http.StatusOK)
		recordsAssertSafe(t, page)
		if got := page.Find("#order-reference").Text(); got != ref {
			t.Errorf("%s shows %q; want %q", href, got, ref)
		}
		resp, body := b.Get(href + "/evidence.json")
		var ev handlers.OrderEvidence
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &ev) != nil || ev.Order.Reference != ref {
			t.Errorf("%s/evidence.json: %d %q", href, resp.StatusCode, body)
		}
	}
	// The search box takes odd references as plain prefixes.
	for _, q := range []string{"50%", "a/", "<script>", "ord?x=1#"} {
		_, doc, _ := recordsGet(t, b, "/orders?q="+url.QueryEscape(q), http.StatusOK)
		recordsAssertSafe(t, doc)
		if n := doc.Find("#orders-table tbody tr").Length(); n != 1 {
			t.Errorf("q=%q: %d rows; want 1", q, n)
		}
		if v, _ := doc.Find("#orders-q").Attr("value"); v != q {
			t.Errorf("q=%q: box shows %q", q, v)
		}
	}
	for _, path := range []string{"/orders/nope", "/orders/a%2Fc", "/orders/nope/evidence.json", "/orders/" + url.PathEscape("<script>alert(1)</script>") + "x"} {
		recordsGet(t, b, path, http.StatusNotFound)
	}
}

func TestRecordsOrdersOtherMerchant(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "ada@acme.test", models.RoleAdmin)
	a.User("Globex", "hank@globex.test", models.RoleAdmin)
	mine := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	theirs := a.Endpoint("Globex", "generic", "", webhooks.Settings{})
	r1 := a.SendSample(mine, "payment.completed", webhooks.SampleParams{OrderRef: "ord-acme"})
	r2 := a.SendSample(theirs, "payment.completed", webhooks.SampleParams{OrderRef: "ord-globex"})
	a.WaitStatus(r1.EventID, models.StatusProcessed)
	a.WaitStatus(r2.EventID, models.StatusProcessed)
	b := a.Login("ada@acme.test")
	for _, path := range []string{"/orders/ord-globex", "/orders/ord-globex/evidence.json"} {
		recordsGet(t, b, path, http.StatusNotFound)
	}
	for _, path := range []string{"/orders", "/orders?q=ord-", "/orders?q=ord-globex"} {
		_, _, body := recordsGet(t, b, path, http.StatusOK)
		if strings.Contains(body, "ord-globex") && !strings.Contains(path, "ord-globex") {
			t.Errorf("%s shows another merchant's order", path)
		}
		if strings.Count(body, "ord-globex") > 1 {
			t.Errorf("%s lists another merchant's order", path)
		}
	}
	var n int64
	a.Store.DB.Model(&models.AuditEntry{}).Where("action = ?", models.AuditExport).Count(&n)
	if n != 0 {
		t.Errorf("%d exports audited for refused downloads", n)
	}
}

func TestRecordsOrdersPaging(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "ada@acme.test", models.RoleOperator)
	m := a.Merchant("Acme")
	base := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	const n = 123
	for i := range n {
		// Pairs share an update time, so ties must break by id without gaps.
		o := models.Order{MerchantID: m.ID, Reference: fmt.Sprintf("ord-%03d", i), Status: models.OrderPaid,
			CreatedAt: base, UpdatedAt: base.Add(time.Duration(i/2) * time.Minute)}
		if err := a.Store.DB.Create(&o).Error; err != nil {
			t.Fatal(err)
		}
	}
	b := a.Login("ada@acme.test")
	var pages [][]string
	var newer []string
	path := "/orders"
	for path != "" {
		_, doc, _ := recordsGet(t, b, path, http.StatusOK)
		var refs []string
		doc.Find("#orders-table tbody tr td:first-child").Each(func(_ int, s *goquery.Selection) { refs = append(refs, recordsText(s)) })
		pages = append(pages, refs)
		prev, _ := doc.Find("#orders-results a.pager-newer").Attr("href")
		newer = append(newer, prev)
		path, _ = doc.Find("#orders-results a.pager-older").Attr("href")
	}
	var seen []string
	for _, p := range pages {
		seen = append(seen, p...)
	}
	var want []string
	for i := n - 1; i >= 0; i-- {
		want = append(want, fmt.Sprintf("ord-%03d", i))
	}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Fatalf("pages gave %v\nwant %v", seen, want)
	}
	if len(pages) != 3 || newer[0] != "" {
		t.Fatalf("%d pages, first newer link %q", len(pages), newer[0])
	}
	// Newer links lead back to exactly the previous pages.
	for i := len(pages) - 1; i > 0; i-- {
		_, doc, _ := recordsGet(t, b, newer[i], http.StatusOK)
		var refs []string
		doc.Find("#orders-table tbody tr td:first-child").Each(func(_ int, s *goquery.Selection) { refs = append(refs, recordsText(s)) })
		if strings.Join(refs, ",") != strings.Join(pages[i-1], ",") {
			t.Errorf("newer than page %d: %v; want %v", i+1, refs, pages[i-1])
		}
	}
	recordsGet(t, b, "/orders?cursor=not-a-cursor", http.StatusBadRequest)
}

// TestRecordsOrdersFragment checks /orders as a page and as the htmx fragment, for results,
// filters, empty states and an invalid filter.
func TestRecordsOrdersFragment(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "ada@acme.test", models.RoleSupport)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	b := a.Login("ada@acme.test")

	_, doc, _ := recordsGet(t, b, "/orders", http.StatusOK)
	if got := recordsText(doc.Find("#orders-results .empty-title")); got != "No orders yet" {
		t.Errorf("empty state %q", got)
	}
	r := a.SendSample(ep, "payment.completed", webhooks.SampleParams{OrderRef: "ord-frag"})
	a.WaitStatus(r.EventID, models.StatusProcessed)

	cases := []struct {
		name, path string
		status     int
		rows       int
		empty      string
		flash      string
	}{
		{"all", "/orders", 200, 1, "", ""},
		{"prefix", "/orders?q=ord-f", 200, 1, "", ""},
		{"status", "/orders?status=paid", 200, 1, "", ""},
		{"no match", "/orders?status=refunded", 200, 0, "No orders match", ""},
		{"bad status", "/orders?status=bogus", 422, 0, "Check the filters", "Choose one of the listed statuses."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, page, _ := recordsGet(t, b, c.path, c.status)
			if page.Find("html").Length() != 1 || page.Find("nav.nav").Length() != 1 || page.Find("main #orders-results").Length() != 1 ||
				page.Find("main form.filters").Length() != 1 {
				t.Errorf("full page lacks the layout, filters or results")
			}
			resp, _, body := recordsGet(t, b, c.path, c.status, "HX-Request", "true")
			if !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
				t.Errorf("Vary %q", resp.Header.Get("Vary"))
			}
			if strings.Contains(body, "<html") || strings.Contains(body, "<nav") || strings.Contains(body, "<form") {
				t.Errorf("fragment holds more than the results: %s", body)
			}
			frag := recordsDoc(t, body)
			root := frag.Find("body").Children().First()
			if id, _ := root.Attr("id"); id != "orders-results" {
				t.Errorf("fragment root id %q", id)
			}
			for _, d := range []*goquery.Document{page, frag} {
				if n := d.Find("#orders-table tbody tr").Length(); n != c.rows {
					t.Errorf("%d rows; want %d", n, c.rows)
				}
				if got := recordsText(d.Find("#orders-results .empty-title")); got != c.empty {
					t.Errorf("empty state %q; want %q", got, c.empty)
				}
			}
			if got := recordsText(frag.Find(`#flashes[hx-swap-oob] .flash-error`)); got != c.flash {
				t.Errorf("fragment flash %q; want %q", got, c.flash)
			}
			if c.flash != "" {
				if got := recordsText(page.Find("#orders-status-error")); got != c.flash {
					t.Errorf("field error %q", got)
				}
				if v, _ := page.Find(`#orders-status option[selected]`).Attr("value"); v != "" {
					t.Errorf("bad status selected as %q", v)
				}
			}
		})
	}
	if v, _ := recordsDoc(t, func() string { _, s := b.Get("/orders?status=paid&q=ord"); return s }()).Find(`#orders-status option[selected]`).Attr("value"); v != "paid" {
		t.Errorf("status filter not kept: %q", v)
	}
}

// TestRecordsOrdersPastTheEnd follows an older-page link whose orders have gone since.
func TestRecordsOrdersPastTheEnd(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "ada@acme.test", models.RoleSupport)
	m := a.Merchant("Acme")
	base := time.Now().UTC()
	for i := range 51 {
		o := models.Order{MerchantID: m.ID, Reference: fmt.Sprintf("ord-%02d", i), Status: models.OrderPaid, CreatedAt: base,
			UpdatedAt: base.Add(time.Duration(i) * time.Second)}
		if err := a.Store.DB.Create(&o).Error; err != nil {
			t.Fatal(err)
		}
	}
	b := a.Login("ada@acme.test")
	_, doc, _ := recordsGet(t, b, "/orders?status=paid", http.StatusOK)
	older, _ := doc.Find("#orders-results a.pager-older").Attr("href")
	if older == "" {
		t.Fatal("no older page")
	}
	if err := a.Store.DB.Where("reference = ?", "ord-00").Delete(&models.Order{}).Error; err != nil {
		t.Fatal(err)
	}
	_, doc, _ = recordsGet(t, b, older, http.StatusOK)
	if got := recordsText(doc.Find("#orders-results .empty-title")); got != "No more orders here" {
		t.Errorf("empty state %q", got)
	}
	if href, _ := doc.Find("#orders-results .empty-action a").Attr("href"); href != "/orders?status=paid" {
		t.Errorf("first page link %q", href)
	}
}
