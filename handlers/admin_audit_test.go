package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"hooklog/models"
)

// adminAuditDetails lists the Detail column of an audit page, top to bottom.
func adminAuditDetails(doc *goquery.Document) []string {
	return doc.Find("#audit-table tbody tr").Map(func(_ int, s *goquery.Selection) string {
		return strings.TrimSpace(s.Find("td").Eq(4).Text())
	})
}

func TestAdminAuditLog(t *testing.T) {
	t.Parallel()
	a, b, admin := adminSetup(t)
	globex := a.Merchant("Globex")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	seed := []models.AuditEntry{
		{MerchantID: admin.MerchantID, At: at, Actor: "alice@acme.test", Action: models.AuditEndpointCreate, ObjectType: "endpoint", ObjectID: "7", Detail: "Shop (generic)", RemoteAddr: "192.0.2.7"},
		{MerchantID: admin.MerchantID, At: at, Actor: "token:hkl_abcdef", Action: models.AuditReplay, ObjectType: "event", ObjectID: "42", Detail: adminHostile, RemoteAddr: "192.0.2.8"},
		{MerchantID: admin.MerchantID, At: at, Actor: "cli", Action: models.AuditUserCreate, ObjectType: "user", ObjectID: "3", Detail: "bob@acme.test as support"},
		{MerchantID: globex.ID, At: at, Actor: "eve@globex.test", Action: models.AuditEndpointCreate, ObjectType: "endpoint", ObjectID: "9", Detail: "globex secret business"},
	}
	for _, e := range seed {
		if err := a.Store.Audit(e); err != nil {
			t.Fatal(err)
		}
	}

	for _, hx := range []bool{false, true} {
		var headers []string
		if hx {
			headers = []string{"HX-Request", "true"}
		}
		_, doc, body := adminGet(t, b, "/audit", http.StatusOK, headers...)
		if hx {
			doc = adminIsFragment(t, body, "audit-table")
		} else {
			adminIsPage(t, doc, "/audit")
		}
		if strings.Contains(body, adminHostile) || strings.Contains(body, "globex secret business") {
			t.Errorf("hostile detail unescaped or another merchant's entry shown")
		}
		// Newest first: the three seeded entries, then the admin's login from adminSetup.
		want := []struct {
			actor, action, object, objectURL, detail, addr, at string
		}{
			{"cli", "user.create", "user 3", "", "bob@acme.test as support", "", "2026-01-02T03:04:05Z"},
			{"token:hkl_abcdef", "event.replay", "event 42", "/events/42", adminHostile, "192.0.2.8", "2026-01-02T03:04:05Z"},
			{"alice@acme.test", "endpoint.create", "endpoint 7", "/endpoints/7", "Shop (generic)", "192.0.2.7", "2026-01-02T03:04:05Z"},
			{admin.Email, "login", "user " + strconv.FormatUint(uint64(admin.ID), 10), "", "", "127.0.0.1", ""},
		}
		rows := doc.Find("#audit-table tbody tr")
		if rows.Length() != len(want) {
			t.Fatalf("%d rows, want %d", rows.Length(), len(want))
		}
		for i, w := range want {
			cells := rows.Eq(i).Find("td")
			got := []string{strings.TrimSpace(cells.Eq(1).Text()), strings.TrimSpace(cells.Eq(2).Text()), strings.TrimSpace(cells.Eq(3).Text()),
				cells.Eq(3).Find("a").AttrOr("href", ""), strings.TrimSpace(cells.Eq(4).Text()), strings.TrimSpace(cells.Eq(5).Text())}
			wantCells := []string{w.actor, w.action, w.object, w.objectURL, w.detail, w.addr}
			if fmt.Sprint(got) != fmt.Sprint(wantCells) {
				t.Errorf("row %d = %q, want %q", i, got, wantCells)
			}
			if w.at != "" && cells.Eq(0).Find("time").AttrOr("datetime", "") != w.at {
				t.Errorf("row %d time = %q", i, cells.Eq(0).Find("time").AttrOr("datetime", ""))
			}
		}
		if doc.Find(".pager").Length() != 0 {
			t.Errorf("a single page has a pager")
		}
	}

	filters := []struct {
		name, query string
		details     []string
		action      string
	}{
		{"by action", "action=endpoint.create", []string{"Shop (generic)"}, "endpoint.create"},
		{"by part of the actor, any case", "actor=ALICE", []string{"Shop (generic)"}, ""},
		{"by actor prefix", "actor=token%3A", []string{adminHostile}, ""},
		{"both", "action=event.replay&actor=cli", nil, "event.replay"},
	}
	for _, tc := range filters {
		t.Run(tc.name, func(t *testing.T) {
			_, doc, _ := adminGet(t, b, "/audit?"+tc.query, http.StatusOK)
			if got := adminAuditDetails(doc); fmt.Sprint(got) != fmt.Sprint(tc.details) {
				t.Errorf("details = %q, want %q", got, tc.details)
			}
			q, _ := url.ParseQuery(tc.query)
			if got := doc.Find("#audit-action option[selected]").AttrOr("value", ""); got != tc.action {
				t.Errorf("action kept as %q", got)
			}
			if got := doc.Find("#audit-actor").AttrOr("value", ""); got != q.Get("actor") {
				t.Errorf("actor kept as %q", got)
			}
			if doc.Find(`#audit-filters a[href="/audit"]`).Length() != 1 {
				t.Errorf("no way to clear the filters")
			}
			if len(tc.details) == 0 && adminText(doc, ".empty .empty-title") != "No entries match these filters" {
				t.Errorf("empty state = %q", adminText(doc, ".empty .empty-title"))
			}
		})
	}

	var actions []string
	_, doc, _ := adminGet(t, b, "/audit", http.StatusOK)
	doc.Find("#audit-action option").Each(func(_ int, s *goquery.Selection) { actions = append(actions, s.AttrOr("value", "")) })
	if got := strings.Join(actions, ","); got != ",endpoint.create,event.replay,login,user.create" {
		t.Errorf("action choices = %q", got)
	}

	adminGet(t, b, "/audit?cursor=not-a-cursor", http.StatusBadRequest)
}

func TestAdminAuditPagination(t *testing.T) {
	t.Parallel()
	a, b, admin := adminSetup(t)
	const total = 57
	for i := 1; i <= total; i++ {
		if err := a.Store.Audit(models.AuditEntry{MerchantID: admin.MerchantID, Actor: "cli", Action: models.AuditReplay,
			ObjectType: "event", ObjectID: strconv.Itoa(i), Detail: fmt.Sprintf("replay %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	details := func(from, to int) []string { // newest first, inclusive
		var out []string
		for i := from; i >= to; i-- {
			out = append(out, fmt.Sprintf("replay %d", i))
		}
		return out
	}
	pages := []struct {
		name         string
		details      []string
		newer, older bool
		follow       string // which link leads to the next step
	}{
		{name: "first page", details: details(57, 8), older: true, follow: "older"},
		{name: "second page", details: details(7, 1), newer: true, follow: "newer"},
		{name: "back to the first page", details: details(57, 8), older: true},
	}
	path := "/audit?action=event.replay&actor=cli"
	for _, p := range pages {
		_, doc, _ := adminGet(t, b, path, http.StatusOK)
		if got := adminAuditDetails(doc); fmt.Sprint(got) != fmt.Sprint(p.details) {
			t.Fatalf("%s: details = %q, want %q", p.name, got, p.details)
		}
		newer := doc.Find(".pager a.pager-newer").AttrOr("href", "")
		older := doc.Find(".pager a.pager-older").AttrOr("href", "")
		if (newer != "") != p.newer || (older != "") != p.older {
			t.Fatalf("%s: newer %q, older %q", p.name, newer, older)
		}
		for _, link := range []string{newer, older} {
			if link != "" && (!strings.Contains(link, "action=event.replay") || !strings.Contains(link, "actor=cli")) {
				t.Errorf("%s: link %q drops the filters", p.name, link)
			}
		}
		switch p.follow {
		case "older":
			path = older
		case "newer":
			path = newer
		}
	}
}
