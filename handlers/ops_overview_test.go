package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"hooklog/models"
	"hooklog/testapp"
)

func TestOpsOverviewEmpty(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	a.User("Fresh", "ops-fresh@fresh.test", models.RoleSupport)
	fresh := a.Login("ops-fresh@fresh.test")
	a.User("Fresh", "ops-fresh-admin@fresh.test", models.RoleAdmin)
	freshAdmin := a.Login("ops-fresh-admin@fresh.test")

	// Only admins may open /endpoints, so only they are sent there.
	for _, tc := range []struct {
		name       string
		b          *testapp.Browser
		wantBody   string
		wantCopy   string
		wantAction string
	}{
		{"with an endpoint, support", e.as(models.RoleSupport),
			"No deliveries yet: point your provider at " + e.ep.IngestURL(a.URL) + ", or send a test event.", e.ep.IngestURL(a.URL), ""},
		{"with an endpoint, admin", e.as(models.RoleAdmin),
			"No deliveries yet: point your provider at " + e.ep.IngestURL(a.URL) + ", or send a test event.", e.ep.IngestURL(a.URL), "/endpoints"},
		{"without endpoints, support", fresh,
			"No deliveries yet. Ask an admin of your merchant to add an endpoint and point your provider at its ingest URL.", "", ""},
		{"without endpoints, admin", freshAdmin,
			"No deliveries yet: add an endpoint, point your provider at its ingest URL, or send a test event.", "", "/endpoints"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			_, doc, _ := opsGet(t, b, "/", http.StatusOK)
			opsAssertPage(t, doc, "/")
			if got := opsText(doc.Find("#overview .empty-title")); got != "Welcome to Hooklog" {
				t.Errorf("title = %q", got)
			}
			if got := opsText(doc.Find("#overview .empty-body")); got != tc.wantBody {
				t.Errorf("body = %q, want %q", got, tc.wantBody)
			}
			if got := opsText(doc.Find("#overview-ingest-url")); got != tc.wantCopy {
				t.Errorf("copy field = %q, want %q", got, tc.wantCopy)
			}
			if href, _ := doc.Find(`#overview .empty-action a.btn`).Attr("href"); href != tc.wantAction {
				t.Errorf("action = %q, want %q", href, tc.wantAction)
			}
			if doc.Find("#stats, #delivery-chart").Length() != 0 {
				t.Error("an empty overview shows figures")
			}
		})
	}
}

func TestOpsOverview(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	hostileEP, _, err := a.Store.CreateEndpoint(e.merchant.ID, models.EndpointInput{Name: opsHostile, Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	opsSendOK(t, a, e.ep, "ord-ov-1")
	ok2 := opsSendOK(t, a, e.ep, "ord-ov-2")
	a.Send(e.ep, opsDelivery(t, a, ok2.DeliveryID).Body) // duplicate
	rej := opsSendRejected(t, a, e.ep, `{}`)
	failed := opsSendFailed(t, a, e.ep, "evt-ov-failed")
	dead := opsSendFailed(t, a, e.ep, "evt-ov-dead")
	if err := a.Store.DB.Model(&models.Event{}).Where("id = ?", dead).Update("status", models.StatusDead).Error; err != nil {
		t.Fatal(err)
	}
	// Three days ago: in the week only.
	old := opsIngestRejected(t, a, e.ep, time.Now().UTC().Add(-72*time.Hour), "old reason")
	opsSendRejected(t, a, e.otherEP, `{}`)
	// 24 h: 6 deliveries (2 ok, 1 duplicate, 1 rejected, 2 failing), failures 1 rejected + 2 failed/dead.
	// 7 d: one more rejected delivery.

	for _, r := range opsRoles {
		t.Run(string(r), func(t *testing.T) {
			_, doc, raw := opsGet(t, e.as(r), "/", http.StatusOK)
			opsAssertPage(t, doc, "/")
			if strings.Contains(raw, opsHostile) {
				t.Error("hostile endpoint name unescaped")
			}
		})
	}

	_, doc, _ := opsGet(t, e.as(models.RoleOperator), "/", http.StatusOK)

	t.Run("figures", func(t *testing.T) {
		type stat struct{ label, value, hint, href string }
		var got []stat
		doc.Find("#stats .stat").Each(func(_ int, s *goquery.Selection) {
			href, _ := s.Attr("href")
			got = append(got, stat{opsText(s.Find(".stat-label")), opsText(s.Find(".stat-value")), opsText(s.Find(".stat-hint")), href})
		})
		want := []stat{
			{"Deliveries · 24 h", "6", "5 verified", "/deliveries?since="},
			{"Failures · 24 h", "3", "1 rejected, 2 failed events", "/deliveries?outcome=rejected&since="},
			{"Failure rate · 24 h", "50%", "failures per delivery", ""},
			{"Deliveries · 7 d", "7", "5 verified", "/deliveries?since="},
			{"Failures · 7 d", "4", "2 rejected, 2 failed events", "/deliveries?outcome=rejected&since="},
			{"Failure rate · 7 d", "57%", "failures per delivery", ""},
		}
		if len(got) != len(want) {
			t.Fatalf("stats = %+v", got)
		}
		for i := range want {
			w, g := want[i], got[i]
			if g.label != w.label || g.value != w.value || g.hint != w.hint || !strings.HasPrefix(g.href, w.href) || (w.href == "") != (g.href == "") {
				t.Errorf("stat %d = %+v, want %+v", i, g, w)
			}
		}
	})

	t.Run("backlog", func(t *testing.T) {
		type stat struct{ label, value, href string }
		var got []stat
		doc.Find("#backlog .stat").Each(func(_ int, s *goquery.Selection) {
			href, _ := s.Attr("href")
			got = append(got, stat{opsText(s.Find(".stat-label")), opsText(s.Find(".stat-value")), href})
		})
		want := []stat{{"Waiting", "0", "/deliveries?status=pending"}, {"Failed", "1", "/deliveries?status=failed"},
			{"Dead", "1", "/deliveries?status=dead"}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("backlog = %+v, want %+v", got, want)
		}
	})

	t.Run("chart", func(t *testing.T) {
		svg := doc.Find("#delivery-chart svg")
		if role, _ := svg.Attr("role"); role != "img" {
			t.Errorf("svg role = %q", role)
		}
		if got := opsText(svg.Find("title#chart-title")); got != "Deliveries per hour, last 24 hours (UTC)" {
			t.Errorf("title = %q", got)
		}
		if got := opsText(svg.Find("desc")); !strings.HasPrefix(got, "4 accepted, 1 duplicate and 1 rejected deliveries in the last 24 hours; the busiest hour had ") {
			t.Errorf("desc = %q", got)
		}
		bars := svg.Find("g.chart-bar")
		if bars.Length() != 24 {
			t.Fatalf("%d bars, want 24", bars.Length())
		}
		total := 0
		bars.Each(func(_ int, b *goquery.Selection) {
			if b.ChildrenFiltered("title").Length() != 1 {
				t.Error("a bar has no <title>")
			}
			total += b.Find("rect.chart-accepted, rect.chart-duplicate, rect.chart-rejected").Length()
		})
		if total == 0 {
			t.Error("no coloured segments")
		}
		if svg.Find(".chart-axis-y text").Length() < 2 || svg.Find(".chart-axis-x text").Length() != 8 {
			t.Errorf("axis labels: %d y, %d x", svg.Find(".chart-axis-y text").Length(), svg.Find(".chart-axis-x text").Length())
		}
		var legend []string
		doc.Find("#delivery-chart .chart-legend li").Each(func(_ int, li *goquery.Selection) { legend = append(legend, opsText(li)) })
		// The old rejected delivery is outside the chart's 24 hours.
		if fmt.Sprint(legend) != "[Accepted (4) Duplicate (1) Rejected (1)]" {
			t.Errorf("legend = %q", legend)
		}
		if doc.Find("#delivery-chart details tbody tr").Length() != 24 {
			t.Error("the data table does not have 24 hours")
		}
	})

	t.Run("latest failures", func(t *testing.T) {
		var hrefs []string
		doc.Find("#latest-failures tbody tr a").Each(func(_ int, s *goquery.Selection) {
			h, _ := s.Attr("href")
			hrefs = append(hrefs, h)
		})
		want := fmt.Sprint([]string{fmt.Sprintf("/events/%d", dead), fmt.Sprintf("/events/%d", failed),
			fmt.Sprintf("/deliveries/%d", rej.DeliveryID), fmt.Sprintf("/deliveries/%d", old.ID)})
		if fmt.Sprint(hrefs) != want {
			t.Errorf("failure links = %v, want %v", hrefs, want)
		}
		if got, _ := doc.Find("#latest-failures tbody tr").Eq(1).Find(".badge").Attr("data-status"); got != "failed" {
			t.Errorf("second failure status = %q", got)
		}
	})

	t.Run("endpoint health", func(t *testing.T) {
		type row struct{ name, href, count, rate string }
		var got []row
		doc.Find("#endpoint-health tbody tr").Each(func(_ int, s *goquery.Selection) {
			href, _ := s.Find("td a").First().Attr("href")
			got = append(got, row{s.Find("td a").First().Text(), href, opsText(s.Find("td").Eq(2)), opsText(s.Find("td").Eq(3))})
		})
		want := []row{
			{opsHostile, fmt.Sprintf("/deliveries?endpoint=%d", hostileEP.ID), "0", "0%"},
			{e.ep.Name, fmt.Sprintf("/deliveries?endpoint=%d", e.ep.ID), "6", "17%"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("health = %q, want %q", got, want)
		}
	})

	t.Run("fragment", func(t *testing.T) {
		_, doc, _ := opsGet(t, e.as(models.RoleAdmin), "/", http.StatusOK, opsHX...)
		opsAssertFragment(t, doc, "overview")
	})
}
