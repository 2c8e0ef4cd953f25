package handlers_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"hooklog/models"
	"hooklog/testapp"
)

// opsInsertDelivery stores a rejected delivery directly, for tests that need many rows or exact text.
func opsInsertDelivery(t *testing.T, a *testapp.App, ep *testapp.Endpoint, at time.Time, reason, typ string) *models.Delivery {
	t.Helper()
	d := models.Delivery{MerchantID: ep.MerchantID, EndpointID: ep.ID, ReceivedAt: at, RemoteAddr: "198.51.100.7",
		Outcome: models.OutcomeRejected, Reason: reason, StatusCode: 401, EventType: typ, Body: []byte("x"), BodySize: 1}
	if err := a.Store.DB.Create(&d).Error; err != nil {
		t.Fatal(err)
	}
	return &d
}

// opsRowIDs lists the delivery ids of a deliveries table, top to bottom.
func opsRowIDs(t *testing.T, doc *goquery.Selection) []uint {
	t.Helper()
	var ids []uint
	doc.Find("tr.delivery-row").Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("id")
		n, err := strconv.ParseUint(strings.TrimPrefix(id, "delivery-"), 10, 64)
		if err != nil {
			t.Fatalf("row id %q", id)
		}
		ids = append(ids, uint(n))
	})
	return ids
}

func TestOpsDeliveriesEmpty(t *testing.T) {
	e := opsSetup(t)
	_, doc, _ := opsGet(t, e.as(models.RoleSupport), "/deliveries", http.StatusOK)
	opsAssertPage(t, doc, "/deliveries")
	if got := opsText(doc.Find(".empty-row .empty-title")); got != "No deliveries yet" {
		t.Errorf("empty title = %q", got)
	}
	if n := doc.Find(".empty-row .empty-action a").Length(); n != 0 {
		t.Errorf("support is offered %d links to the admin-only endpoints pages", n)
	}
	_, adminDoc, _ := opsGet(t, e.as(models.RoleAdmin), "/deliveries", http.StatusOK)
	if href, _ := adminDoc.Find(".empty-row .empty-action a").Attr("href"); href != "/endpoints" {
		t.Errorf("admin empty action = %q", href)
	}
	if got, _ := doc.Find("#delivery-poller").Attr("hx-get"); got != "/deliveries?after=0" {
		t.Errorf("poller = %q", got)
	}
	_, doc, _ = opsGet(t, e.as(models.RoleSupport), "/deliveries?outcome=rejected", http.StatusOK)
	if got := opsText(doc.Find(".empty-row .empty-title")); got != "No deliveries match these filters" {
		t.Errorf("filtered empty title = %q", got)
	}
	if href, _ := doc.Find(".empty-row .empty-action a").Attr("href"); href != "/deliveries" {
		t.Errorf("filtered empty action = %q", href)
	}
}

func TestOpsDeliveriesList(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	ok := opsSendOK(t, a, e.ep, "ord-list-1")
	dup := a.Send(e.ep, opsDelivery(t, a, ok.DeliveryID).Body)
	rej := opsSendRejected(t, a, e.ep, `{"id":"evt-unsigned"}`)
	failed := opsSendFailed(t, a, e.ep, "evt-list-failed")
	if _, err := a.Store.MarkEvent(e.merchant.ID, failed, models.MarkNeedsReview, "", "x"); err != nil {
		t.Fatal(err)
	}
	hostile := opsInsertDelivery(t, a, e.ep, time.Now().UTC(), opsHostile, opsHostile)
	foreign := opsSendRejected(t, a, e.otherEP, `{}`)
	failedDelivery := opsAttemptsDelivery(t, a, failed)

	_, doc, raw := opsGet(t, e.as(models.RoleOperator), "/deliveries", http.StatusOK)
	opsAssertPage(t, doc, "/deliveries")
	if strings.Contains(raw, opsHostile) {
		t.Error("hostile text rendered unescaped")
	}
	rows := doc.Find("#delivery-rows tr.delivery-row")
	if got, want := opsRowIDs(t, doc.Selection), []uint{hostile.ID, failedDelivery, rej.DeliveryID, dup.DeliveryID, ok.DeliveryID}; !slices.Equal(got, want) {
		t.Fatalf("rows = %v, want %v (another merchant's %d must not appear)", got, want, foreign.DeliveryID)
	}
	type cell struct {
		href, endpoint, outcome, typ, status, mark, code, reason, size, checkbox string
	}
	want := []cell{
		{fmt.Sprintf("/deliveries/%d", hostile.ID), e.ep.Name, "rejected", opsHostile, "", "", "401", opsHostile, "1 B", ""},
		{fmt.Sprintf("/events/%d", failed), e.ep.Name, "accepted", "payment.completed", "failed", "needs_review", "200", "", "", fmt.Sprint(failed)},
		{fmt.Sprintf("/deliveries/%d", rej.DeliveryID), e.ep.Name, "rejected", "", "", "", "401", "no signature header: X-Signature is missing", "21 B", ""},
		{fmt.Sprintf("/events/%d", dup.EventID), e.ep.Name, "duplicate", "payment.completed", "processed", "", "200", "", "", fmt.Sprint(ok.EventID)},
		{fmt.Sprintf("/events/%d", ok.EventID), e.ep.Name, "accepted", "payment.completed", "processed", "", "200", "", "", fmt.Sprint(ok.EventID)},
	}
	rows.Each(func(i int, r *goquery.Selection) {
		td := r.Find("td")
		got := cell{}
		got.href, _ = td.Eq(1).Find("a").Attr("href")
		got.endpoint = opsText(td.Eq(2))
		got.outcome, _ = td.Eq(3).Find(".badge").Attr("data-status")
		got.typ = opsText(td.Eq(4))
		got.status, _ = td.Eq(5).Find(".badge").Attr("data-status")
		got.mark, _ = td.Eq(6).Find(".badge").Attr("data-status")
		got.code = opsText(td.Eq(7))
		got.reason = opsText(td.Eq(8))
		got.size = opsText(td.Eq(9))
		got.checkbox, _ = td.Eq(0).Find(`input[name="event_id"]`).Attr("value")
		w := want[i]
		if w.size == "" {
			w.size = got.size // bodies of samples vary in size; checked below
		}
		if !strings.HasSuffix(got.size, " B") && !strings.HasSuffix(got.size, " KB") {
			t.Errorf("row %d size = %q", i, got.size)
		}
		if got != w {
			t.Errorf("row %d =\n %+v\nwant\n %+v", i, got, w)
		}
		if td.Eq(1).Find("time[datetime]").Length() != 1 {
			t.Errorf("row %d has no <time>", i)
		}
	})

	t.Run("bulk controls by role", func(t *testing.T) {
		for _, r := range opsRoles {
			_, doc, _ := opsGet(t, e.as(r), "/deliveries", http.StatusOK)
			want := 0
			if r.CanOperate() {
				want = 1
			}
			if got := doc.Find(`form#bulk-replay[action="/replay-jobs/preview"]`).Length(); got != want {
				t.Errorf("%s: %d bulk forms", r, got)
			}
			if got := doc.Find(`input[data-select-all="event_id"]`).Length(); got != want {
				t.Errorf("%s: %d select-all boxes", r, got)
			}
			if got := doc.Find(`input[name="event_id"]`).Length(); got != 3*want {
				t.Errorf("%s: %d row checkboxes, want %d", r, got, 3*want)
			}
			if got := doc.Find(`button[name="mode"][value="selected"][data-requires-selection="event_id"]`).Length(); got != want {
				t.Errorf("%s: replay selected button %d", r, got)
			}
			if got := doc.Find(`button[name="mode"][value="filter"]`).Length(); got != want {
				t.Errorf("%s: replay filter button %d", r, got)
			}
		}
	})

	t.Run("filters", func(t *testing.T) {
		since := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")
		until := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04")
		for _, tc := range []struct {
			query string
			want  []uint
		}{
			{"outcome=rejected", []uint{hostile.ID, rej.DeliveryID}},
			{"outcome=duplicate", []uint{dup.DeliveryID}},
			{"status=failed", []uint{failedDelivery}},
			{"status=processed&outcome=accepted", []uint{ok.DeliveryID}},
			{"mark=needs_review", []uint{failedDelivery}},
			{"type=payment.completed", []uint{failedDelivery, dup.DeliveryID, ok.DeliveryID}},
			{fmt.Sprintf("endpoint=%d", e.otherEP.ID), nil},
			{fmt.Sprintf("endpoint=%d&outcome=accepted", e.ep.ID), []uint{failedDelivery, ok.DeliveryID}},
			{"since=" + url.QueryEscape(since) + "&until=" + url.QueryEscape(until) + "&outcome=rejected", []uint{hostile.ID, rej.DeliveryID}},
			{"until=" + url.QueryEscape(since), nil},
		} {
			t.Run(tc.query, func(t *testing.T) {
				_, doc, _ := opsGet(t, e.as(models.RoleSupport), "/deliveries?"+tc.query, http.StatusOK)
				if got := opsRowIDs(t, doc.Selection); !slices.Equal(got, tc.want) {
					t.Errorf("rows = %v, want %v", got, tc.want)
				}
				q, _ := url.ParseQuery(tc.query)
				for k := range q {
					sel := doc.Find(fmt.Sprintf(`#delivery-filters [name=%q]`, k))
					val, _ := sel.Attr("value")
					if goquery.NodeName(sel) == "select" {
						val, _ = sel.Find("option[selected]").Attr("value")
					}
					if val != q.Get(k) {
						t.Errorf("filter %s shows %q, want %q", k, val, q.Get(k))
					}
				}
				if href, _ := doc.Find(`a[href^="/deliveries.csv"]`).Attr("href"); href != "/deliveries.csv?"+q.Encode() {
					t.Errorf("csv link = %q", href)
				}
				if len(tc.want) == 0 && opsText(doc.Find(".empty-title")) != "No deliveries match these filters" {
					t.Errorf("empty state = %q", opsText(doc.Find(".empty-title")))
				}
			})
		}
	})

	t.Run("bad filters", func(t *testing.T) {
		_, doc, _ := opsGet(t, e.as(models.RoleSupport), "/deliveries?since=yesterday&type=x", http.StatusBadRequest)
		opsAssertPage(t, doc, "/deliveries")
		if got := opsText(doc.Find("#f-since-error")); got != "Enter a time like 2026-01-31 12:00, in UTC." {
			t.Errorf("since error = %q", got)
		}
		if v, _ := doc.Find("#f-type").Attr("value"); v != "x" {
			t.Errorf("type not kept: %q", v)
		}
		_, doc, _ = opsGet(t, e.as(models.RoleSupport), "/deliveries?since=2026-01-02&until=2026-01-01", http.StatusBadRequest)
		if got := opsText(doc.Find("#f-until-error")); got != "Until must be later than From." {
			t.Errorf("until error = %q", got)
		}
		for _, q := range []string{"outcome=nope", "status=nope", "mark=nope", "endpoint=abc", "cursor=%21%21"} {
			opsGet(t, e.as(models.RoleSupport), "/deliveries?"+q, http.StatusBadRequest)
		}
	})

	t.Run("fragment", func(t *testing.T) {
		_, doc, _ := opsGet(t, e.as(models.RoleAdmin), "/deliveries?outcome=rejected", http.StatusOK, opsHX...)
		opsAssertFragment(t, doc, "delivery-results")
		if got := opsRowIDs(t, doc.Selection); !slices.Equal(got, []uint{hostile.ID, rej.DeliveryID}) {
			t.Errorf("fragment rows = %v", got)
		}
		if doc.Find("#delivery-filters").Length() != 0 {
			t.Error("fragment carries the filter form")
		}
	})
}

// opsAttemptsDelivery returns the accepted delivery of an event.
func opsAttemptsDelivery(t *testing.T, a *testapp.App, eventID uint) uint {
	t.Helper()
	src, err := a.Store.EventSource(eventID)
	if err != nil {
		t.Fatal(err)
	}
	return src.ID
}

func TestOpsDeliveriesPoll(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	b := e.as(models.RoleOperator)
	first := opsSendRejected(t, a, e.ep, `{"n":1}`)

	_, doc, _ := opsGet(t, b, "/deliveries?outcome=rejected", http.StatusOK)
	poller := doc.Find("#delivery-poller")
	pollURL, _ := poller.Attr("hx-get")
	if want := fmt.Sprintf("/deliveries?after=%d&outcome=rejected", first.DeliveryID); pollURL != want {
		t.Fatalf("poller url = %q, want %q", pollURL, want)
	}
	for attr, want := range map[string]string{"hx-trigger": "every 3s", "hx-target": "#delivery-rows", "hx-swap": "afterbegin"} {
		if got, _ := poller.Attr(attr); got != want {
			t.Errorf("poller %s = %q, want %q", attr, got, want)
		}
	}

	t.Run("nothing new", func(t *testing.T) {
		_, doc, _ := opsGet(t, b, pollURL, http.StatusOK, opsHX...)
		if n := doc.Find("tr").Length(); n != 0 {
			t.Errorf("%d rows, want none", n)
		}
		if got, _ := doc.Find(`#delivery-poller[hx-swap-oob="true"]`).Attr("hx-get"); got != pollURL {
			t.Errorf("oob poller = %q, want %q", got, pollURL)
		}
		if doc.Find("main#main").Length() != 0 {
			t.Error("poll answer carries the layout")
		}
	})

	ok := opsSendOK(t, a, e.ep, "ord-poll")
	second := opsSendRejected(t, a, e.ep, `{"n":2}`)
	third := opsSendRejected(t, a, e.ep, `{"n":3}`)
	opsSendRejected(t, a, e.otherEP, `{"n":4}`)

	t.Run("new rows matching the filter, newest first", func(t *testing.T) {
		resp, body := b.Get(pollURL, opsHX...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if resp.Header.Get("HX-Refresh") != "" {
			t.Error("a small poll asked for a refresh")
		}
		// Rows parse only inside a table; wrap the fragment as htmx does.
		doc := opsDoc(t, "<table><tbody>"+body+"</tbody></table>")
		if got := opsRowIDs(t, doc.Selection); !slices.Equal(got, []uint{third.DeliveryID, second.DeliveryID}) {
			t.Errorf("new rows = %v, want %v (the accepted %d is filtered out)", got, []uint{third.DeliveryID, second.DeliveryID}, ok.DeliveryID)
		}
		next, _ := doc.Find(`#delivery-poller[hx-swap-oob="true"]`).Attr("hx-get")
		if want := fmt.Sprintf("/deliveries?after=%d&outcome=rejected", third.DeliveryID); next != want {
			t.Errorf("next poller = %q, want %q", next, want)
		}
		if doc.Find(`tr input[name="event_id"]`).Length() != 0 {
			t.Error("rejected rows have checkboxes")
		}
		if doc.Find("tr.delivery-row td.col-check").Length() != 2 {
			t.Error("operator rows lack the checkbox column")
		}
	})

	t.Run("without a filter the accepted row comes too", func(t *testing.T) {
		_, body := b.Get(fmt.Sprintf("/deliveries?after=%d", first.DeliveryID), opsHX...)
		doc := opsDoc(t, "<table><tbody>"+body+"</tbody></table>")
		if got := opsRowIDs(t, doc.Selection); !slices.Equal(got, []uint{third.DeliveryID, second.DeliveryID, ok.DeliveryID}) {
			t.Errorf("rows = %v", got)
		}
	})

	t.Run("support rows have no checkbox column", func(t *testing.T) {
		_, body := e.as(models.RoleSupport).Get(pollURL, opsHX...)
		doc := opsDoc(t, "<table><tbody>"+body+"</tbody></table>")
		if doc.Find("td.col-check").Length() != 0 {
			t.Error("support rows carry checkboxes")
		}
	})

	t.Run("the poll URL as a page is the first page", func(t *testing.T) {
		_, doc, _ := opsGet(t, b, pollURL, http.StatusOK)
		opsAssertPage(t, doc, "/deliveries")
		if got := opsRowIDs(t, doc.Selection); !slices.Equal(got, []uint{third.DeliveryID, second.DeliveryID, first.DeliveryID}) {
			t.Errorf("rows = %v", got)
		}
	})
}

func TestOpsDeliveriesPagination(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	start := time.Now().UTC().Add(-2 * time.Hour)
	ds := make([]models.Delivery, 123)
	for i := range ds {
		typ := "odd"
		if i%2 == 0 {
			typ = "even"
		}
		ds[i] = models.Delivery{MerchantID: e.ep.MerchantID, EndpointID: e.ep.ID, ReceivedAt: start.Add(time.Duration(i) * time.Second),
			RemoteAddr: "198.51.100.7", Outcome: models.OutcomeRejected, Reason: "r", StatusCode: 401, EventType: typ}
	}
	if err := a.Store.DB.CreateInBatches(&ds, 100).Error; err != nil {
		t.Fatal(err)
	}
	var all []uint
	for i := len(ds) - 1; i >= 0; i-- {
		all = append(all, ds[i].ID)
	}

	walk := func(t *testing.T, path string) (ids []uint, pages int) {
		t.Helper()
		first := path
		for path != "" {
			_, doc, _ := opsGet(t, e.as(models.RoleSupport), path, http.StatusOK)
			pages++
			ids = append(ids, opsRowIDs(t, doc.Selection)...)
			newest, _ := doc.Find(".pager .pager-newer").Attr("href")
			hasPoller := doc.Find("#delivery-poller").Length() == 1
			if pages == 1 && (newest != "" || !hasPoller) {
				t.Errorf("first page: newest link %q, poller %v", newest, hasPoller)
			}
			if pages > 1 && (newest != first || hasPoller) {
				t.Errorf("page %d: newest link %q (want %q), poller %v", pages, newest, first, hasPoller)
			}
			path, _ = doc.Find(".pager .pager-older").Attr("href")
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
		}
		return ids, pages
	}

	t.Run("all", func(t *testing.T) {
		ids, pages := walk(t, "/deliveries")
		if pages != 3 || !slices.Equal(ids, all) {
			t.Errorf("%d pages, %d ids; want 3 pages and every id once, newest first", pages, len(ids))
		}
	})
	t.Run("filtered", func(t *testing.T) {
		var even []uint
		for i, id := range all {
			if (122-i)%2 == 0 {
				even = append(even, id)
			}
		}
		ids, pages := walk(t, "/deliveries?type=even")
		if pages != 2 || !slices.Equal(ids, even) {
			t.Errorf("%d pages, ids %v; want 2 pages of %d", pages, len(ids), len(even))
		}
	})
}

func TestOpsDeliveriesCSV(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	at := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	tricky := opsInsertDelivery(t, a, e.ep, at, "bad \"quoted\", value\nsecond line", "=HYPERLINK(\"x\")")
	plain := opsInsertDelivery(t, a, e.ep, at.Add(time.Second), "no signature header", "")
	ok := opsSendOK(t, a, e.ep, "ord-csv")
	opsSendRejected(t, a, e.otherEP, `{}`)

	for _, r := range opsRoles {
		t.Run(string(r), func(t *testing.T) {
			resp, body := e.as(r).Get("/deliveries.csv?outcome=rejected")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="deliveries-`) {
				t.Errorf("Content-Disposition = %q", cd)
			}
			if !strings.Contains(body, `"bad ""quoted"", value`+"\nsecond line\"") {
				t.Errorf("reason not quoted per RFC 4180:\n%s", body)
			}
			recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			want := [][]string{
				{"id", "received_at", "endpoint_id", "endpoint", "outcome", "status_code", "reason", "event_id", "event_type", "event_status", "mark", "remote_addr", "body_size"},
				{fmt.Sprint(plain.ID), "2026-01-31T12:00:01Z", fmt.Sprint(e.ep.ID), e.ep.Name, "rejected", "401", "no signature header", "", "", "", "", "198.51.100.7", "1"},
				{fmt.Sprint(tricky.ID), "2026-01-31T12:00:00Z", fmt.Sprint(e.ep.ID), e.ep.Name, "rejected", "401", "bad \"quoted\", value\nsecond line", "", "'=HYPERLINK(\"x\")", "", "", "198.51.100.7", "1"},
			}
			if !slices.EqualFunc(recs, want, slices.Equal) {
				t.Errorf("csv =\n%q\nwant\n%q", recs, want)
			}
		})
	}
	t.Run("events carry status and mark", func(t *testing.T) {
		if _, err := a.Store.MarkEvent(e.merchant.ID, ok.EventID, models.MarkResolved, "", "x"); err != nil {
			t.Fatal(err)
		}
		_, body := e.as(models.RoleSupport).Get("/deliveries.csv?outcome=accepted")
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(recs) != 2 {
			t.Fatalf("csv = %q, %v", recs, err)
		}
		if r := recs[1]; r[0] != fmt.Sprint(ok.DeliveryID) || r[7] != fmt.Sprint(ok.EventID) || r[8] != "payment.completed" ||
			r[9] != "processed" || r[10] != "resolved" || r[11] != "127.0.0.1" {
			t.Errorf("row = %q", r)
		}
	})
	audits := opsAudits(t, a, e.merchant.ID, models.AuditExport)
	if len(audits) != len(opsRoles)+1 {
		t.Fatalf("%d export audits", len(audits))
	}
	if au := audits[0]; au.Actor != opsEmail(models.RoleAdmin) || au.ObjectType != "deliveries" || au.Detail != "deliveries.csv outcome=rejected" {
		t.Errorf("audit = %+v", au)
	}
	opsGet(t, e.as(models.RoleSupport), "/deliveries.csv?since=never", http.StatusBadRequest)
}

func TestOpsDeliveryDetail(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	rej := a.Post(e.ep.URL, map[string][]string{"X-Signature": {strings.Repeat("00", 32)}, "X-Hostile": {opsHostile}}, []byte(`{"note":"`+strings.ReplaceAll(opsHostile, `"`, `\"`)+`"}`))
	ok := opsSendOK(t, a, e.ep, "ord-detail")

	t.Run("rejected", func(t *testing.T) {
		_, doc, raw := opsGet(t, e.as(models.RoleSupport), fmt.Sprintf("/deliveries/%d", rej.DeliveryID), http.StatusOK)
		opsAssertPage(t, doc, "/deliveries")
		if strings.Contains(raw, opsHostile) {
			t.Error("hostile content unescaped")
		}
		if got := opsText(doc.Find("#delivery-reason")); !strings.HasPrefix(got, "no signature matched") {
			t.Errorf("reason = %q", got)
		}
		if got, _ := doc.Find(".subtitle .badge").Attr("data-status"); got != "rejected" {
			t.Errorf("outcome = %q", got)
		}
		if got := opsText(doc.Find(".subtitle span:not(.badge)")); got != "HTTP 401" {
			t.Errorf("status = %q", got)
		}
		headers := map[string]string{}
		doc.Find("#delivery-headers dt").Each(func(_ int, dt *goquery.Selection) {
			headers[dt.Text()] = dt.Next().Text()
		})
		if headers["X-Hostile"] != opsHostile || headers["X-Signature"] != strings.Repeat("00", 32) || headers["Content-Type"] != "application/json" {
			t.Errorf("headers = %q", headers)
		}
		if got := doc.Find("#delivery-body").Text(); !strings.Contains(got, "{\n  \"note\": \"<script>alert(") {
			t.Errorf("body = %q", got)
		}
		if doc.Find(`a[href^="/events/"]`).Length() != 0 {
			t.Error("a rejected delivery links to an event")
		}
	})
	t.Run("accepted links to its event", func(t *testing.T) {
		_, doc, _ := opsGet(t, e.as(models.RoleSupport), fmt.Sprintf("/deliveries/%d", ok.DeliveryID), http.StatusOK)
		if href, _ := doc.Find(".page-header .actions a").Attr("href"); href != fmt.Sprintf("/events/%d", ok.EventID) {
			t.Errorf("event link = %q", href)
		}
	})
	t.Run("fragment", func(t *testing.T) {
		_, doc, _ := opsGet(t, e.as(models.RoleSupport), fmt.Sprintf("/deliveries/%d", rej.DeliveryID), http.StatusOK, opsHX...)
		opsAssertFragment(t, doc, "delivery")
	})
	t.Run("another merchant's delivery is 404", func(t *testing.T) {
		opsGet(t, e.other(), fmt.Sprintf("/deliveries/%d", rej.DeliveryID), http.StatusNotFound)
		opsGet(t, e.as(models.RoleAdmin), "/deliveries/0", http.StatusNotFound)
	})
}
