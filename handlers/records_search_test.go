package handlers_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// recordsPayload reads a stored delivery's JSON body.
func recordsPayload(t *testing.T, a *testapp.App, merchantID, deliveryID uint) map[string]any {
	t.Helper()
	d, err := a.Store.Delivery(merchantID, deliveryID)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(d.Body, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func recordsField(doc map[string]any, path ...string) string {
	var v any = doc
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// recordsHits lists the delivery ids of the search results in page order.
func recordsHits(doc *goquery.Document) []string {
	var ids []string
	doc.Find("#search-table tr.search-hit").Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("id")
		ids = append(ids, strings.TrimPrefix(id, "search-hit-"))
	})
	return ids
}

func recordsSearchURL(q string, extra ...string) string {
	v := url.Values{"q": {q}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return "/search?" + v.Encode()
}

// TestRecordsSearchFindsTerms searches real signed deliveries for what support staff type: ids,
// order ids, emails, phones and amounts, each as the provider wrote it.
func TestRecordsSearchFindsTerms(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "sam@acme.test", models.RoleSupport)
	shadhin := a.Endpoint("Acme", "shadhinpay", "", webhooks.Settings{})
	stripe := a.Endpoint("Acme", "stripe", "whsec_records_search_secret", webhooks.Settings{})
	generic := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	b := a.Login("sam@acme.test")
	cases := []struct {
		name   string
		ep     *testapp.Endpoint
		typ    string
		params webhooks.SampleParams
		term   func(body map[string]any) string
	}{
		{"shadhinpay transaction id", shadhin, "payment.completed", webhooks.SampleParams{Amount: 150050},
			func(b map[string]any) string { return recordsField(b, "data", "transaction_id") }},
		{"shadhinpay phone", shadhin, "payment.completed", webhooks.SampleParams{},
			func(map[string]any) string { return "+8801712345678" }},
		{"shadhinpay amount", shadhin, "payment.completed", webhooks.SampleParams{Amount: 150050},
			func(map[string]any) string { return "1500.5" }},
		{"shadhinpay order id", shadhin, "payment.refunded", webhooks.SampleParams{OrderRef: "INV-2026-0042"},
			func(map[string]any) string { return "INV-2026-0042" }},
		{"stripe payment intent", stripe, "payment_intent.succeeded", webhooks.SampleParams{},
			func(b map[string]any) string { return recordsField(b, "data", "object", "id") }},
		{"stripe email, other case", stripe, "charge.refunded", webhooks.SampleParams{},
			func(map[string]any) string { return "Jenny.Rosen@Example.com" }},
		{"stripe amount in minor units", stripe, "payment_intent.succeeded", webhooks.SampleParams{Amount: 2500},
			func(map[string]any) string { return "2500" }},
		{"generic amount", generic, "payment.completed", webhooks.SampleParams{Amount: 10000},
			func(map[string]any) string { return "100.00" }},
		{"generic email", generic, "payment.completed", webhooks.SampleParams{},
			func(map[string]any) string { return "jane.doe@example.com" }},
		{"generic phone", generic, "payment.failed", webhooks.SampleParams{},
			func(map[string]any) string { return "+15555550123" }},
		{"generic payment id", generic, "refund.completed", webhooks.SampleParams{},
			func(b map[string]any) string { return recordsField(b, "data", "paymentId") }},
		{"two words", generic, "payment.completed", webhooks.SampleParams{OrderRef: "ord_two_words"},
			func(map[string]any) string { return "ord_two_words   JANE.DOE@example.com" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := a.SendSample(c.ep, c.typ, c.params)
			if r.Status != http.StatusOK || r.DeliveryID == 0 {
				t.Fatalf("send: %+v", r)
			}
			term := c.term(recordsPayload(t, a, c.ep.MerchantID, r.DeliveryID))
			if term == "" {
				t.Fatal("no term in the payload")
			}
			_, doc, _ := recordsGet(t, b, recordsSearchURL(term), http.StatusOK)
			row := doc.Find(fmt.Sprintf("#search-hit-%d", r.DeliveryID))
			if row.Length() != 1 {
				t.Fatalf("q=%q: delivery %d not among %v", term, r.DeliveryID, recordsHits(doc))
			}
			if href, _ := row.Find("a.search-hit-link").Attr("href"); href != fmt.Sprintf("/events/%d", r.EventID) {
				t.Errorf("hit links to %q; want event %d", href, r.EventID)
			}
			marks := row.Find(".search-snippet mark")
			if marks.Length() == 0 {
				t.Fatalf("no highlighted match in %q", recordsText(row.Find(".search-match")))
			}
			words := strings.Fields(term)
			marks.Each(func(_ int, m *goquery.Selection) {
				if !slices.ContainsFunc(words, func(w string) bool { return strings.EqualFold(w, m.Text()) }) {
					t.Errorf("marked %q, which is none of %q", m.Text(), words)
				}
			})
			if got := recordsText(row.Find(".search-excerpt-label").First()); got != "Body" {
				t.Errorf("excerpt label %q", got)
			}
			if badge, _ := row.Find(".badge").First().Attr("data-status"); badge != "accepted" {
				t.Errorf("outcome badge %q", badge)
			}
		})
	}
	// Part of a word finds nothing: the index holds whole tokens.
	_, doc, _ := recordsGet(t, b, recordsSearchURL("jane"), http.StatusOK)
	if got := recordsText(doc.Find("#search-results .empty-title")); got != "Nothing matches" {
		t.Errorf("partial word: %q", got)
	}
}

// TestRecordsSearchHeadersAndEscaping finds a word that only the headers hold, and shows a
// payload full of markup as text.
func TestRecordsSearchHeadersAndEscaping(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "sam@acme.test", models.RoleSupport)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	hostile := `<img src=x onerror=alert(1)> <script>alert(1)</script> </td></tr></table><b>bold</b>`
	body := []byte(`{"id":"evt_xss_1","event":"payment.completed","data":{"orderId":"ord-xss","paymentId":"pay_xss",` +
		`"amount":"1.00","currency":"USD","note":"` + hostile + `"}}`)
	h, err := ep.Profile.Sign(ep.Secret, body, time.Now(), "m1")
	if err != nil {
		t.Fatal(err)
	}
	h.Set("X-Request-Trace", "trace-7f3a9 <i>x</i>")
	r := a.Post(ep.URL, h, body)
	if r.Status != http.StatusOK {
		t.Fatalf("send: %+v", r)
	}
	b := a.Login("sam@acme.test")
	cases := []struct {
		q         string
		bodyMarks []string
		headers   []string // marks in the headers excerpt; nil when it must not show
	}{
		{"onerror", []string{"onerror"}, nil},
		{"ord-xss", []string{"ord-xss"}, nil},
		{"<script>alert(1)</script>", []string{"<script>alert(1)</script>"}, nil},
		{"<img", []string{"<img"}, nil},
		{"trace-7f3a9", nil, []string{"trace-7f3a9"}},
		{"ord-xss TRACE-7F3A9", []string{"ord-xss"}, []string{"trace-7f3a9"}},
	}
	for _, c := range cases {
		t.Run(c.q, func(t *testing.T) {
			for _, hx := range []bool{false, true} {
				var headers []string
				if hx {
					headers = []string{"HX-Request", "true"}
				}
				_, doc, raw := recordsGet(t, b, recordsSearchURL(c.q), http.StatusOK, headers...)
				recordsAssertSafe(t, doc)
				if strings.Contains(raw, "<img") || strings.Contains(raw, "<script>alert") || strings.Contains(raw, "<b>bold") || strings.Contains(raw, "<i>x") {
					t.Errorf("payload markup rendered raw")
				}
				row := doc.Find(fmt.Sprintf("#search-hit-%d", r.DeliveryID))
				if row.Length() != 1 {
					t.Fatalf("no hit for %q", c.q)
				}
				excerpts := row.Find(".search-excerpt")
				var gotBody []string
				excerpts.First().Find("mark").Each(func(_ int, m *goquery.Selection) { gotBody = append(gotBody, m.Text()) })
				if !slices.Equal(gotBody, c.bodyMarks) {
					t.Errorf("body marks %q; want %q", gotBody, c.bodyMarks)
				}
				if c.headers == nil {
					if excerpts.Length() != 1 {
						t.Errorf("%d excerpts; want the body only", excerpts.Length())
					}
				} else {
					var got []string
					hdr := excerpts.Eq(1)
					hdr.Find("mark").Each(func(_ int, m *goquery.Selection) { got = append(got, strings.ToLower(m.Text())) })
					if recordsText(hdr.Find(".search-excerpt-label")) != "Headers" || !slices.Equal(got, c.headers) {
						t.Errorf("headers excerpt %q marks %q; want %q", recordsText(hdr), got, c.headers)
					}
					if !strings.Contains(hdr.Text(), "trace-7f3a9 <i>x</i>") {
						t.Errorf("header value not shown as text: %q", hdr.Text())
					}
				}
				if c.bodyMarks != nil && !strings.Contains(excerpts.First().Text(), "<img src=x onerror=alert(1)>") {
					t.Errorf("payload markup not shown as text: %q", excerpts.First().Text())
				}
			}
		})
	}
}

// TestRecordsSearchHostileInput sends FTS syntax, quotes and markup as search text: none of it
// errors, none of it is obeyed, and the box shows it back escaped.
func TestRecordsSearchHostileInput(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "sam@acme.test", models.RoleSupport)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	r := a.SendSample(ep, "payment.completed", webhooks.SampleParams{OrderRef: "ord-hostile"})
	b := a.Login("sam@acme.test")
	inputs := []string{`"`, `""`, `"ord-hostile`, `ord-hostile"`, `*`, `ord*`, `NEAR(`, `NEAR(ord-hostile, 2)`, `OR`, `ord-hostile OR x`,
		`-`, `- ord-hostile`, `:`, `body:ord-hostile`, `{body headers}:x`, `^`, `^ord-hostile`, `AND`, `NOT ord-hostile`, `(`, `)`,
		`<script>alert(1)</script>`, `"><script>alert(1)</script>`, `%00`, "\x00", `\`, `'`, "ord-hostile\x00", strings.Repeat("x ", 500)}
	for _, q := range inputs {
		for _, hx := range []bool{false, true} {
			var headers []string
			if hx {
				headers = []string{"HX-Request", "true"}
			}
			_, doc, raw := recordsGet(t, b, recordsSearchURL(q), http.StatusOK, headers...)
			recordsAssertSafe(t, doc)
			if strings.Contains(raw, "<script>alert") {
				t.Errorf("q=%q: rendered raw", q)
			}
			if !hx {
				// An HTML parser reads NUL as U+FFFD, so compare what any browser would show.
				want := strings.ReplaceAll(q, "\x00", "\uFFFD")
				if v, _ := doc.Find("#search-q").Attr("value"); v != want {
					t.Errorf("q=%q: box shows %q", q, v)
				}
			}
		}
		resp, _ := b.Get("/search.csv?" + url.Values{"q": {q}}.Encode())
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("csv q=%q: %d", q, resp.StatusCode)
		}
	}
	// Operators are words: OR does not widen the search, and a quote does not close the term early.
	for _, c := range []struct {
		q    string
		hits int
	}{{`ord-hostile OR x`, 0}, {`"ord-hostile`, 1}, {`NOT ord-hostile`, 0}, {`^ord-hostile`, 1}, {`- ord-hostile`, 1}} {
		_, doc, _ := recordsGet(t, b, recordsSearchURL(c.q), http.StatusOK)
		if got := recordsHits(doc); len(got) != c.hits || (c.hits == 1 && got[0] != fmt.Sprint(r.DeliveryID)) {
			t.Errorf("q=%q: hits %v; want %d", c.q, got, c.hits)
		}
	}
	_, doc, _ := recordsGet(t, b, recordsSearchURL(strings.Repeat("w", 3)+" a b c d e f g h i j k l m"), http.StatusOK)
	if !strings.Contains(recordsText(doc.Find("#search-results")), "Nothing matches") {
		t.Errorf("many words: %q", recordsText(doc.Find("#search-results")))
	}
}

func TestRecordsSearchOtherMerchant(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "sam@acme.test", models.RoleSupport)
	mine := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	theirs := a.Endpoint("Globex", "generic", "", webhooks.Settings{})
	r1 := a.SendSample(mine, "payment.completed", webhooks.SampleParams{OrderRef: "ord-shared-9"})
	r2 := a.SendSample(theirs, "payment.completed", webhooks.SampleParams{OrderRef: "ord-shared-9"})
	r3 := a.Post(theirs.URL, http.Header{}, []byte(`{"note":"ord-shared-9 unsigned"}`))
	if r3.Outcome != models.OutcomeRejected {
		t.Fatalf("unsigned: %+v", r3)
	}
	b := a.Login("sam@acme.test")
	_, doc, _ := recordsGet(t, b, recordsSearchURL("ord-shared-9"), http.StatusOK)
	if got := recordsHits(doc); !slices.Equal(got, []string{fmt.Sprint(r1.DeliveryID)}) {
		t.Errorf("hits %v; want only %d (not %d or %d)", got, r1.DeliveryID, r2.DeliveryID, r3.DeliveryID)
	}
	// Filtering by the other merchant's endpoint finds nothing either.
	_, doc, _ = recordsGet(t, b, recordsSearchURL("ord-shared-9", "endpoint", fmt.Sprint(theirs.ID)), http.StatusOK)
	if got := recordsHits(doc); len(got) != 0 {
		t.Errorf("other merchant's endpoint: %v", got)
	}
	if doc.Find(fmt.Sprintf(`#search-endpoint option[value="%d"]`, theirs.ID)).Length() != 0 {
		t.Error("the endpoint filter offers another merchant's endpoint")
	}
	_, body := b.Get("/search.csv?q=ord-shared-9")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][0] != fmt.Sprint(r1.DeliveryID) {
		t.Errorf("csv %q %v", rows, err)
	}
}

func TestRecordsSearchRoles(t *testing.T) {
	a := testapp.New(t)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	r := a.SendSample(ep, "payment.completed", webhooks.SampleParams{OrderRef: "ord-roles", Amount: 4200})
	a.WaitStatus(r.EventID, models.StatusProcessed)
	for _, role := range recordsRoles {
		t.Run(string(role), func(t *testing.T) {
			email := string(role) + "@acme.test"
			a.User("Acme", email, role)
			b := a.Login(email)
			_, doc, _ := recordsGet(t, b, recordsSearchURL("ord-roles"), http.StatusOK)
			recordsNoWrites(t, doc)
			if got := recordsHits(doc); !slices.Equal(got, []string{fmt.Sprint(r.DeliveryID)}) {
				t.Errorf("hits %v", got)
			}
			csvURL, _ := doc.Find(`#search-results a[href^="/search.csv"]`).Attr("href")
			if csvURL != "/search.csv?q=ord-roles" {
				t.Errorf("csv link %q", csvURL)
			}
			resp, body := b.Get(csvURL)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("csv: %d", resp.StatusCode)
			}
			rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if err != nil || len(rows) != 2 {
				t.Fatalf("csv rows %q %v", rows, err)
			}
			var audits []models.AuditEntry
			a.Store.DB.Where("action = ? AND actor = ?", models.AuditExport, email).Find(&audits)
			if len(audits) != 1 || audits[0].ObjectType != "search" || audits[0].Detail != "search results (CSV): q=ord-roles" ||
				audits[0].MerchantID != ep.MerchantID || audits[0].RemoteAddr == "" {
				t.Errorf("audit %+v", audits)
			}
			// Searching changes nothing.
			ev, _ := a.Store.EventByID(r.EventID)
			if ev.Status != models.StatusProcessed || ev.Mark != models.MarkNone || ev.Attempts != 1 {
				t.Errorf("event changed: %+v", ev)
			}
			resp, _ = b.PostForm("/search", url.Values{"q": {"ord-roles"}})
			if resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound {
				t.Errorf("POST /search: %d", resp.StatusCode)
			}
		})
	}
}

func TestRecordsSearchCSV(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "sam@acme.test", models.RoleSupport)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	ok := a.SendSample(ep, "payment.completed", webhooks.SampleParams{OrderRef: "ord-csv", Amount: 1234})
	ev := a.WaitStatus(ok.EventID, models.StatusProcessed)
	if _, err := a.Store.MarkEvent(ep.MerchantID, ok.EventID, models.MarkResolved, "done", "x"); err != nil {
		t.Fatal(err)
	}
	bad := a.Post(ep.URL, http.Header{}, []byte(`=HYPERLINK("http://evil.test","ord-csv")`))
	b := a.Login("sam@acme.test")
	resp, body := b.Get("/search.csv?q=ord-csv&outcome=&since=2020-01-01")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("csv: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="hooklog-search-`) || !strings.HasSuffix(cd, `.csv"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := []string{"delivery_id", "received_at", "endpoint", "outcome", "status_code", "reason", "event_id", "event_type",
		"processing_status", "mark", "order_ref", "payment_id", "body_excerpt", "headers_excerpt"}
	if len(rows) != 3 || !slices.Equal(rows[0], header) {
		t.Fatalf("rows %q", rows)
	}
	rejected, _ := a.Store.Delivery(ep.MerchantID, bad.DeliveryID)
	accepted, _ := a.Store.Delivery(ep.MerchantID, ok.DeliveryID)
	want := [][]string{
		{fmt.Sprint(bad.DeliveryID), rejected.ReceivedAt.UTC().Format(time.RFC3339), "generic endpoint", "rejected", "401", rejected.Reason,
			"", "", "", "", "", "", `'=HYPERLINK("http://evil.test","ord-csv")`, ""},
		{fmt.Sprint(ok.DeliveryID), accepted.ReceivedAt.UTC().Format(time.RFC3339), "generic endpoint", "accepted", "200", "",
			fmt.Sprint(ok.EventID), "payment.completed", "processed", "resolved", "ord-csv", ev.PaymentID, "", ""},
	}
	for i, w := range want {
		got := rows[i+1]
		if i == 1 {
			// The excerpt of a JSON body: check that it holds the match and leave its exact cut to the model tests.
			if !strings.Contains(got[12], `"orderId":"ord-csv"`) {
				t.Errorf("excerpt %q", got[12])
			}
			got = slices.Clone(got)
			got[12] = ""
		}
		if !slices.Equal(got, w) {
			t.Errorf("row %d:\n got %q\nwant %q", i+1, got, w)
		}
	}
	for _, c := range []struct{ path, msg string }{
		{"/search.csv", "Search for something before exporting the results."},
		{"/search.csv?q=*", "Search for something before exporting the results."},
		{"/search.csv?q=x&outcome=bogus", "Fix the search filters before exporting: Choose accepted, duplicate or rejected."},
		{"/search.csv?q=x&since=yesterday", "Fix the search filters before exporting: Use a date like 2026-01-31 or a time like 2026-01-31T12:00 (UTC)."},
	} {
		_, doc, _ := recordsGet(t, b, c.path, http.StatusBadRequest)
		if !strings.Contains(recordsText(doc.Find("main")), c.msg) {
			t.Errorf("%s: %q", c.path, recordsText(doc.Find("main")))
		}
	}
	var n int64
	a.Store.DB.Model(&models.AuditEntry{}).Where("action = ?", models.AuditExport).Count(&n)
	if n != 1 {
		t.Errorf("%d exports audited; want 1", n)
	}
}

// TestRecordsSearchFilters combines the search with every filter of the delivery list.
func TestRecordsSearchFilters(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "sam@acme.test", models.RoleSupport)
	epA := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	epB, _, err := a.Store.CreateEndpoint(epA.MerchantID, models.EndpointInput{Name: "Backup", Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := epA.Profile.Sample("payment.completed", webhooks.SampleParams{OrderRef: "ord-filters"})
	paid := a.Send(epA, body)
	dup := a.Send(epA, body)
	a.WaitStatus(paid.EventID, models.StatusProcessed)
	a.Advance(2 * time.Hour)
	cut := a.Store.Now().Add(-time.Hour)
	failed := a.SendSample(epA, "payment.failed", webhooks.SampleParams{OrderRef: "ord-filters"})
	a.WaitStatus(failed.EventID, models.StatusProcessed)
	if _, err := a.Store.MarkEvent(epA.MerchantID, failed.EventID, models.MarkNeedsReview, "", "x"); err != nil {
		t.Fatal(err)
	}
	rejected := a.Post(epB.IngestURL(a.URL), http.Header{}, []byte(`{"orderId":"ord-filters"}`))
	if dup.Outcome != models.OutcomeDuplicate || rejected.Outcome != models.OutcomeRejected {
		t.Fatalf("setup: %+v %+v", dup, rejected)
	}
	ids := func(rs ...testapp.Reply) []string {
		var out []string
		for _, r := range rs {
			out = append(out, fmt.Sprint(r.DeliveryID))
		}
		return out
	}
	at := cut.UTC().Format("2006-01-02T15:04:05")
	cases := []struct {
		name    string
		filters []string
		want    []string
	}{
		{"none", nil, ids(rejected, failed, dup, paid)},
		{"endpoint", []string{"endpoint", fmt.Sprint(epB.ID)}, ids(rejected)},
		{"outcome accepted", []string{"outcome", "accepted"}, ids(failed, paid)},
		{"outcome duplicate", []string{"outcome", "duplicate"}, ids(dup)},
		{"event type", []string{"type", "payment.failed"}, ids(failed)},
		{"processing status", []string{"status", "processed"}, ids(failed, dup, paid)},
		{"mark", []string{"mark", "needs_review"}, ids(failed)},
		{"since", []string{"since", at}, ids(rejected, failed)},
		{"until", []string{"until", at}, ids(dup, paid)},
		{"since as a date in the future", []string{"since", cut.AddDate(0, 0, 2).Format("2006-01-02")}, nil},
		{"combined", []string{"endpoint", fmt.Sprint(epA.ID), "outcome", "accepted", "type", "payment.completed", "until", at}, ids(paid)},
	}
	b := a.Login("sam@acme.test")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := recordsSearchURL("ord-filters", c.filters...)
			_, doc, _ := recordsGet(t, b, path, http.StatusOK)
			if got := recordsHits(doc); !slices.Equal(got, c.want) {
				t.Errorf("hits %v; want %v", got, c.want)
			}
			// The form keeps every filter, and the CSV link carries them.
			for i := 0; i+1 < len(c.filters); i += 2 {
				name, value := c.filters[i], c.filters[i+1]
				sel := doc.Find(fmt.Sprintf(`form.search-form [name="%s"]`, name))
				got, _ := sel.Attr("value")
				if goquery.NodeName(sel) == "select" {
					got, _ = sel.Find("option[selected]").Attr("value")
				}
				if got != value {
					t.Errorf("%s kept as %q; want %q", name, got, value)
				}
			}
			if len(c.want) > 0 {
				csvURL, _ := doc.Find(`#search-results a[href^="/search.csv"]`).Attr("href")
				_, body := b.Get(csvURL)
				rows, _ := csv.NewReader(strings.NewReader(body)).ReadAll()
				var got []string
				for _, r := range rows[1:] {
					got = append(got, r[0])
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("csv %v; want %v", got, c.want)
				}
			}
		})
	}
	// Rejected deliveries lead to the delivery, the others to their event.
	_, doc, _ := recordsGet(t, b, recordsSearchURL("ord-filters"), http.StatusOK)
	for _, c := range []struct {
		r    testapp.Reply
		link string
	}{{rejected, fmt.Sprintf("/deliveries/%d", rejected.DeliveryID)}, {dup, fmt.Sprintf("/events/%d", paid.EventID)}, {failed, fmt.Sprintf("/events/%d", failed.EventID)}} {
		if href, _ := doc.Find(fmt.Sprintf("#search-hit-%d a.search-hit-link", c.r.DeliveryID)).Attr("href"); href != c.link {
			t.Errorf("delivery %d links to %q; want %q", c.r.DeliveryID, href, c.link)
		}
	}
	if href, _ := doc.Find(fmt.Sprintf("#search-hit-%d a[href^='/orders/']", failed.DeliveryID)).Attr("href"); href != "/orders/ord-filters" {
		t.Errorf("order link %q", href)
	}
}

func TestRecordsSearchPaging(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "sam@acme.test", models.RoleSupport)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	noise := a.Endpoint("Globex", "generic", "", webhooks.Settings{})
	var want []string
	for i := range 112 {
		r := a.Post(ep.URL, http.Header{}, fmt.Appendf(nil, `{"note":"page-term","n":%d}`, i))
		want = append(want, fmt.Sprint(r.DeliveryID))
		if i%10 == 0 {
			a.Post(noise.URL, http.Header{}, []byte(`{"note":"page-term"}`))
			a.Post(ep.URL, http.Header{}, []byte(`{"note":"other"}`))
		}
	}
	slices.Reverse(want)
	b := a.Login("sam@acme.test")
	var pages [][]string
	var newer, older []string
	path := recordsSearchURL("page-term", "outcome", "rejected")
	for path != "" {
		_, doc, _ := recordsGet(t, b, path, http.StatusOK)
		pages = append(pages, recordsHits(doc))
		prev, _ := doc.Find("#search-results a.pager-newer").Attr("href")
		newer = append(newer, prev)
		path, _ = doc.Find("#search-results a.pager-older").Attr("href")
		older = append(older, path)
		if path != "" && !strings.Contains(path, "outcome=rejected") {
			t.Fatalf("pager drops the filters: %s", path)
		}
	}
	var seen []string
	for _, p := range pages {
		seen = append(seen, p...)
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("pages gave %v\nwant %v", seen, want)
	}
	if len(pages) != 3 || len(pages[2]) != 12 || newer[0] != "" {
		t.Fatalf("%d pages, last %d hits, first newer link %q", len(pages), len(pages[len(pages)-1]), newer[0])
	}
	for i := len(pages) - 1; i > 0; i-- {
		_, doc, _ := recordsGet(t, b, newer[i], http.StatusOK)
		if got := recordsHits(doc); !slices.Equal(got, pages[i-1]) {
			t.Errorf("newer than page %d: %v; want %v", i+1, got, pages[i-1])
		}
	}
	// The export holds every hit, whichever page it was asked from.
	u, _ := url.Parse(older[0])
	_, body := b.Get("/search.csv?" + u.RawQuery)
	rows, _ := csv.NewReader(strings.NewReader(body)).ReadAll()
	if len(rows) != 113 || rows[1][0] != want[0] || rows[112][0] != want[111] {
		t.Errorf("csv has %d rows; want every hit and a header (113)", len(rows))
	}
	recordsGet(t, b, "/search?q=page-term&cursor=%21%21", http.StatusBadRequest)
}

// TestRecordsSearchFragment checks /search as a page and as the htmx fragment in each state.
func TestRecordsSearchFragment(t *testing.T) {
	a := testapp.New(t)
	a.User("Acme", "sam@acme.test", models.RoleSupport)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	r := a.SendSample(ep, "payment.completed", webhooks.SampleParams{OrderRef: "ord-frag"})
	b := a.Login("sam@acme.test")
	cases := []struct {
		name, path string
		status     int
		hits       int
		empty      string
		flash      string
		fieldError string // id of the field error element
	}{
		{"no query", "/search", 200, 0, "Search every payload and header", "", ""},
		{"only filters", "/search?outcome=accepted", 200, 0, "Search every payload and header", "", ""},
		{"results", "/search?q=ord-frag", 200, 1, "", "", ""},
		{"no results", "/search?q=ord-nothing", 200, 0, "Nothing matches", "", ""},
		{"bad outcome", "/search?q=ord-frag&outcome=bogus", 422, 0, "Check the filters", "Some filters are not valid; check them and search again.", "search-outcome-error"},
		{"bad time", "/search?q=ord-frag&until=soon", 422, 0, "Check the filters", "Some filters are not valid; check them and search again.", "search-until-error"},
		{"bad mark", "/search?q=ord-frag&mark=pinned", 422, 0, "Check the filters", "Some filters are not valid; check them and search again.", "search-mark-error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, page, _ := recordsGet(t, b, c.path, c.status)
			if page.Find("html").Length() != 1 || page.Find("main form.search-form").Length() != 1 || page.Find("main #search-results").Length() != 1 {
				t.Error("full page lacks the layout, form or results")
			}
			if cur, _ := page.Find(`nav.nav a[aria-current="page"]`).Attr("href"); cur != "/search" {
				t.Errorf("current nav %q", cur)
			}
			resp, _, body := recordsGet(t, b, c.path, c.status, "HX-Request", "true")
			if !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
				t.Errorf("Vary %q", resp.Header.Get("Vary"))
			}
			if strings.Contains(body, "<html") || strings.Contains(body, "<form") {
				t.Errorf("fragment holds more than the results")
			}
			frag := recordsDoc(t, body)
			if id, _ := frag.Find("body").Children().First().Attr("id"); id != "search-results" {
				t.Errorf("fragment root %q", id)
			}
			for _, d := range []*goquery.Document{page, frag} {
				if n := len(recordsHits(d)); n != c.hits {
					t.Errorf("%d hits; want %d", n, c.hits)
				}
				if got := recordsText(d.Find("#search-results .empty-title")); got != c.empty {
					t.Errorf("empty state %q; want %q", got, c.empty)
				}
			}
			if got := recordsText(frag.Find("#flashes[hx-swap-oob] .flash-error")); got != c.flash {
				t.Errorf("fragment flash %q; want %q", got, c.flash)
			}
			if c.fieldError != "" && page.Find("#"+c.fieldError).Length() != 1 {
				t.Errorf("no %s on the page", c.fieldError)
			}
			wantQ, _ := url.Parse(c.path)
			if q, _ := page.Find("#search-q").Attr("value"); q != wantQ.Query().Get("q") {
				t.Errorf("box shows %q", q)
			}
			if c.hits == 1 && recordsHits(page)[0] != fmt.Sprint(r.DeliveryID) {
				t.Errorf("hit %v", recordsHits(page))
			}
		})
	}
}
