package handlers_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hooklog/models"
	"hooklog/webhooks"
)

func opsEventPath(id uint, rest string) string { return fmt.Sprintf("/events/%d%s", id, rest) }

func TestOpsEventPage(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	ok := opsSendOK(t, a, e.ep, "ord-page-1")
	// The same event again: a duplicate delivery of the same event.
	body := opsDelivery(t, a, ok.DeliveryID).Body
	dup := a.Send(e.ep, body)
	if dup.Outcome != models.OutcomeDuplicate || dup.EventID != ok.EventID {
		t.Fatalf("duplicate: %+v", dup)
	}
	failed := opsSendFailed(t, a, e.ep, "evt-page-failed")
	hostile := a.Send(e.ep, fmt.Appendf(nil, `{"id":"evt-hostile","event":%q,"data":{"orderId":"o-h","email":%q}}`, opsHostile, opsHostile))
	a.WaitStatus(hostile.EventID, models.StatusProcessed)

	t.Run("processed event with its order", func(t *testing.T) {
		_, doc, _ := opsGet(t, e.as(models.RoleSupport), opsEventPath(ok.EventID, ""), http.StatusOK)
		opsAssertPage(t, doc, "/deliveries")
		if got := opsText(doc.Find("h1")); got != "payment.completed" {
			t.Errorf("h1 = %q", got)
		}
		if got, _ := doc.Find("#event-state .badge").First().Attr("data-status"); got != "processed" {
			t.Errorf("status badge = %q", got)
		}
		if got := opsText(doc.Find("#event-body")); !strings.Contains(got, `"orderId": "ord-page-1"`) {
			t.Errorf("body is not pretty JSON: %q", got)
		}
		if !strings.Contains(doc.Find("#event-body").Text(), "\n  ") {
			t.Error("body is not indented")
		}
		if got := opsText(doc.Find("#event-headers")); !strings.Contains(got, "X-Signature") {
			t.Errorf("headers lack the signature header: %q", got)
		}
		if got, _ := doc.Find("#event-verification .badge").Attr("data-status"); got != "verified" {
			t.Errorf("verification = %q", got)
		}
		if got := opsText(doc.Find("#event-verification")); !strings.Contains(got, "X-Signature header matched") ||
			!strings.Contains(got, "1 later deliveries") {
			t.Errorf("verification text = %q", got)
		}
		rows := doc.Find("#event-deliveries tbody tr")
		if rows.Length() != 2 {
			t.Fatalf("%d delivery rows, want 2", rows.Length())
		}
		for i, want := range []string{"accepted", "duplicate"} {
			if got, _ := rows.Eq(i).Find(".badge").Attr("data-status"); got != want {
				t.Errorf("delivery %d outcome = %q, want %q", i, got, want)
			}
			if got := opsText(rows.Eq(i).Find("td.mono")); got != "127.0.0.1" {
				t.Errorf("delivery %d remote = %q", i, got)
			}
		}
		if href, _ := doc.Find("#event-order a").Attr("href"); href != "/orders/ord-page-1" {
			t.Errorf("order link = %q", href)
		}
		if got := doc.Find("#event-order tbody tr").Length(); got != 1 {
			t.Errorf("%d transitions, want 1", got)
		}
		items := doc.Find("#event-attempts li")
		if items.Length() != 1 {
			t.Fatalf("%d attempts, want 1", items.Length())
		}
		if got := opsText(items.Find(".tag")); got != "automatic" {
			t.Errorf("attempt trigger = %q", got)
		}
		if got := opsText(items.Find("p")); !strings.Contains(got, "order ord-page-1") {
			t.Errorf("attempt result = %q", got)
		}
		if href, _ := doc.Find(`a[href$="/raw"]`).First().Attr("href"); href != opsEventPath(ok.EventID, "/raw") {
			t.Errorf("raw link = %q", href)
		}
		if href, _ := doc.Find(`a[href$="/evidence.json"]`).Attr("href"); href != opsEventPath(ok.EventID, "/evidence.json") {
			t.Errorf("evidence link = %q", href)
		}
	})

	t.Run("failed event shows why", func(t *testing.T) {
		_, doc, _ := opsGet(t, e.as(models.RoleOperator), opsEventPath(failed, ""), http.StatusOK)
		if got := opsText(doc.Find("#event-last-error")); !strings.Contains(got, "no order reference") {
			t.Errorf("last error = %q", got)
		}
		if got := opsText(doc.Find("#event-order")); got != "This event is not linked to an order." {
			t.Errorf("order = %q", got)
		}
		if got, _ := doc.Find("#event-attempts .badge").Attr("data-status"); got != "failed" {
			t.Errorf("attempt outcome = %q", got)
		}
	})

	t.Run("actions by role", func(t *testing.T) {
		for _, r := range opsRoles {
			_, doc, _ := opsGet(t, e.as(r), opsEventPath(failed, ""), http.StatusOK)
			want := 0
			if r.CanOperate() {
				want = 1
			}
			if got := doc.Find(`#event-state form[action$="/replay"]`).Length(); got != want {
				t.Errorf("%s: %d replay forms, want %d", r, got, want)
			}
			if got := doc.Find(`#event-state form[action$="/mark"]`).Length(); got != want {
				t.Errorf("%s: %d mark forms, want %d", r, got, want)
			}
		}
	})

	t.Run("fragment", func(t *testing.T) {
		_, doc, _ := opsGet(t, e.as(models.RoleAdmin), opsEventPath(ok.EventID, ""), http.StatusOK, opsHX...)
		opsAssertFragment(t, doc, "event")
	})

	t.Run("hostile content is escaped", func(t *testing.T) {
		_, doc, raw := opsGet(t, e.as(models.RoleAdmin), opsEventPath(hostile.EventID, ""), http.StatusOK)
		opsAssertSafe(t, doc)
		if strings.Contains(raw, opsHostile) {
			t.Error("hostile text rendered unescaped")
		}
		if got := opsText(doc.Find("h1")); got != opsHostile {
			t.Errorf("h1 = %q", got)
		}
	})

	t.Run("another merchant's event is 404", func(t *testing.T) {
		for _, p := range []string{"", "/raw", "/evidence.json"} {
			opsGet(t, e.other(), opsEventPath(ok.EventID, p), http.StatusNotFound)
		}
		opsGet(t, e.as(models.RoleAdmin), "/events/999999", http.StatusNotFound)
		opsGet(t, e.as(models.RoleAdmin), "/events/abc", http.StatusNotFound)
	})
}

func TestOpsEventRaw(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	b := e.as(models.RoleSupport)
	for _, tc := range []struct {
		name     string
		body     []byte
		wantFile string
	}{
		{"json kept byte for byte", []byte("{\"id\":\"evt-raw\",  \"event\":\"payment.completed\",\n\t\"data\":{\"orderId\":\"o-raw\",\"note\":\"h\u00e9llo \\u00e9\"}}  "), ".json"},
		{"non-JSON body", []byte("amount=10&order=o-1\x00\xff"), ".bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.Send(e.ep, tc.body)
			if r.Outcome != models.OutcomeAccepted {
				t.Fatalf("send: %+v", r)
			}
			resp, got := b.Get(opsEventPath(r.EventID, "/raw"))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if !bytes.Equal([]byte(got), tc.body) {
				t.Errorf("raw body = %q, want %q", got, tc.body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
				t.Errorf("Content-Type = %q", ct)
			}
			want := fmt.Sprintf(`attachment; filename="event-%d-body%s"`, r.EventID, tc.wantFile)
			if cd := resp.Header.Get("Content-Disposition"); cd != want {
				t.Errorf("Content-Disposition = %q, want %q", cd, want)
			}
		})
	}
	t.Run("non-JSON body shows as text on the page", func(t *testing.T) {
		r := a.Send(e.ep, []byte("plain text body"))
		a.WaitStatus(r.EventID, models.StatusFailed)
		_, doc, _ := opsGet(t, b, opsEventPath(r.EventID, ""), http.StatusOK)
		if got := opsText(doc.Find("#event-body")); got != "plain text body" {
			t.Errorf("body = %q", got)
		}
		if doc.Find("#event-body.body-json").Length() != 0 {
			t.Error("text body marked as JSON")
		}
		if got := opsText(doc.Find("#event-last-error")); !strings.Contains(got, "body is not valid JSON") {
			t.Errorf("last error = %q", got)
		}
	})
}

// opsEvidence is the evidence bundle as a reader sees it.
type opsEvidence struct {
	GeneratedBy string `json:"generated_by"`
	Event       struct {
		ID     uint   `json:"id"`
		Status string `json:"status"`
		Order  string `json:"order"`
	} `json:"event"`
	Verification struct {
		Outcome         string `json:"outcome"`
		Reason          string `json:"reason"`
		SignatureHeader string `json:"signature_header"`
		Endpoint        struct {
			ID       uint   `json:"id"`
			Name     string `json:"name"`
			Provider string `json:"provider"`
		} `json:"endpoint"`
	} `json:"verification"`
	Deliveries []struct {
		ID         uint                `json:"id"`
		Outcome    string              `json:"outcome"`
		RemoteAddr string              `json:"remote_addr"`
		Headers    map[string][]string `json:"headers"`
		Body       string              `json:"body"`
		BodyBase64 string              `json:"body_base64"`
		BodySHA256 string              `json:"body_sha256"`
	} `json:"deliveries"`
	Attempts []struct {
		Outcome string `json:"outcome"`
		Trigger string `json:"trigger"`
	} `json:"attempts"`
	Order *struct {
		Reference string `json:"reference"`
		Status    string `json:"status"`
		Amount    *int64 `json:"amount"`
		History   []struct {
			From    string `json:"from"`
			To      string `json:"to"`
			EventID uint   `json:"event_id"`
		} `json:"history"`
	} `json:"order"`
}

func TestOpsEventEvidence(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	pay := opsSendOK(t, a, e.ep, "ord-ev-1")
	refund := a.SendSample(e.ep, "refund.completed", webhooks.SampleParams{OrderRef: "ord-ev-1"})
	a.WaitStatus(refund.EventID, models.StatusProcessed)
	body := opsDelivery(t, a, refund.DeliveryID).Body
	a.Send(e.ep, body) // a duplicate

	for _, r := range opsRoles {
		t.Run(string(r), func(t *testing.T) {
			resp, raw := e.as(r).Get(opsEventPath(refund.EventID, "/evidence.json"))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, raw)
			}
			want := fmt.Sprintf(`attachment; filename="event-%d-evidence.json"`, refund.EventID)
			if cd := resp.Header.Get("Content-Disposition"); cd != want {
				t.Errorf("Content-Disposition = %q", cd)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
			}
			if strings.Contains(raw, e.ep.Secret) {
				t.Fatal("the evidence bundle contains the signing secret")
			}
			var ev opsEvidence
			if err := json.Unmarshal([]byte(raw), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.GeneratedBy != opsEmail(r) || ev.Event.ID != refund.EventID || ev.Event.Status != "processed" || ev.Event.Order != "ord-ev-1" {
				t.Errorf("header fields: %+v %+v", ev.GeneratedBy, ev.Event)
			}
			v := ev.Verification
			if v.Outcome != "verified" || v.SignatureHeader != "X-Signature" || !strings.Contains(v.Reason, "matched") ||
				v.Endpoint.ID != e.ep.ID || v.Endpoint.Name != e.ep.Name || v.Endpoint.Provider != "generic" {
				t.Errorf("verification = %+v", v)
			}
			if len(ev.Deliveries) != 2 {
				t.Fatalf("%d deliveries, want 2", len(ev.Deliveries))
			}
			for i, d := range ev.Deliveries {
				wantOutcome := []string{"accepted", "duplicate"}[i]
				raw, err := base64.StdEncoding.DecodeString(d.BodyBase64)
				if err != nil || !bytes.Equal(raw, body) || d.Body != string(body) || d.Outcome != wantOutcome ||
					d.RemoteAddr != "127.0.0.1" || len(d.Headers["X-Signature"]) != 1 || len(d.BodySHA256) != 64 {
					t.Errorf("delivery %d = %+v", i, d)
				}
			}
			if len(ev.Attempts) != 1 || ev.Attempts[0].Outcome != "processed" || ev.Attempts[0].Trigger != "automatic" {
				t.Errorf("attempts = %+v", ev.Attempts)
			}
			o := ev.Order
			if o == nil || o.Reference != "ord-ev-1" || o.Status != "refunded" || o.Amount == nil || *o.Amount != 2000 {
				t.Fatalf("order = %+v", o)
			}
			if len(o.History) != 2 || o.History[0].To != "paid" || o.History[0].EventID != pay.EventID ||
				o.History[1].From != "paid" || o.History[1].To != "refunded" || o.History[1].EventID != refund.EventID {
				t.Errorf("history = %+v", o.History)
			}
		})
	}
	audits := opsAudits(t, a, e.merchant.ID, models.AuditExport)
	if len(audits) != len(opsRoles) {
		t.Fatalf("%d export audits, want %d", len(audits), len(opsRoles))
	}
	for i, r := range opsRoles {
		au := audits[i]
		if au.Actor != opsEmail(r) || au.ObjectType != "event" || au.ObjectID != fmt.Sprint(refund.EventID) || au.Detail != "evidence.json" {
			t.Errorf("audit %d = %+v", i, au)
		}
	}
}

func TestOpsEventReplay(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	cases := []struct {
		role       models.Role
		htmx       bool
		wantStatus int
	}{
		{models.RoleAdmin, false, http.StatusSeeOther},
		{models.RoleOperator, false, http.StatusSeeOther},
		{models.RoleOperator, true, http.StatusOK},
		{models.RoleSupport, false, http.StatusForbidden},
		{models.RoleSupport, true, http.StatusForbidden},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%s htmx=%v", tc.role, tc.htmx), func(t *testing.T) {
			id := opsSendFailed(t, a, e.ep, fmt.Sprintf("evt-replay-%d", i))
			before := opsEvent(t, a, id)
			audits := len(opsAudits(t, a, e.merchant.ID, models.AuditReplay))
			var headers []string
			if tc.htmx {
				headers = opsHX
			}
			resp, doc, _ := opsPost(t, e.as(tc.role), opsEventPath(id, "/replay"), nil, tc.wantStatus, headers...)
			if tc.wantStatus == http.StatusForbidden {
				after := opsEvent(t, a, id)
				if after.Status != before.Status || after.Attempts != before.Attempts || after.PendingTrigger != "" {
					t.Errorf("forbidden replay changed the event: %+v", after)
				}
				if got := len(opsAudits(t, a, e.merchant.ID, models.AuditReplay)); got != audits {
					t.Errorf("forbidden replay audited")
				}
				return
			}
			if tc.htmx {
				opsAssertFragment(t, doc, "event-state")
				if got := opsText(doc.Find(`#flashes[hx-swap-oob] .flash-success`)); got != fmt.Sprintf("Event %d is queued for replay.", id) {
					t.Errorf("oob flash = %q", got)
				}
			} else {
				if loc := resp.Header.Get("Location"); loc != opsEventPath(id, "") {
					t.Errorf("Location = %q", loc)
				}
				if got := opsFlash(t, e.as(tc.role), resp); got != fmt.Sprintf("Event %d is queued for replay.", id) {
					t.Errorf("flash = %q", got)
				}
			}
			opsWait(t, a, "the replay to run", func() bool {
				ev := opsEvent(t, a, id)
				return ev.Status == models.StatusFailed && ev.Attempts == before.Attempts+1
			})
			as := opsAttempts(t, a, id)
			last := as[len(as)-1]
			if last.Trigger != models.TriggerReplay || last.Actor != opsEmail(tc.role) || last.Outcome != models.StatusFailed {
				t.Errorf("last attempt = %+v", last)
			}
			au := opsAudits(t, a, e.merchant.ID, models.AuditReplay)
			if len(au) != audits+1 || au[len(au)-1].Actor != opsEmail(tc.role) || au[len(au)-1].ObjectID != fmt.Sprint(id) {
				t.Errorf("audit = %+v", au)
			}
		})
	}

	t.Run("busy event is 409", func(t *testing.T) {
		id := opsSendFailed(t, a, e.ep, "evt-busy")
		lease := time.Now().Add(time.Hour).UTC()
		if err := a.Store.DB.Model(&models.Event{}).Where("id = ?", id).
			Updates(map[string]any{"status": models.StatusProcessing, "next_attempt_at": lease}).Error; err != nil {
			t.Fatal(err)
		}
		_, doc, _ := opsPost(t, e.as(models.RoleOperator), opsEventPath(id, "/replay"), nil, http.StatusConflict)
		if got := opsText(doc.Find("#error")); !strings.Contains(got, "is being processed right now") {
			t.Errorf("409 page = %q", got)
		}
		_, doc, _ = opsPost(t, e.as(models.RoleOperator), opsEventPath(id, "/replay"), nil, http.StatusConflict, opsHX...)
		if got := opsText(doc.Find("#flashes .flash-error")); !strings.Contains(got, "is being processed right now") {
			t.Errorf("409 fragment = %q", got)
		}
		_, doc, _ = opsGet(t, e.as(models.RoleOperator), opsEventPath(id, ""), http.StatusOK)
		if _, disabled := doc.Find(`form[action$="/replay"] button`).Attr("disabled"); !disabled {
			t.Error("replay button enabled while processing")
		}
	})

	t.Run("another merchant's event is 404", func(t *testing.T) {
		id := opsSendFailed(t, a, e.ep, "evt-foreign")
		opsPost(t, e.other(), opsEventPath(id, "/replay"), nil, http.StatusNotFound)
		if ev := opsEvent(t, a, id); ev.Status != models.StatusFailed || ev.PendingTrigger != "" {
			t.Errorf("foreign replay changed the event: %+v", ev)
		}
	})
}

func TestOpsEventMark(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	id := opsSendFailed(t, a, e.ep, "evt-mark")
	long := strings.Repeat("é", 2001)
	cases := []struct {
		name       string
		role       models.Role
		form       url.Values
		htmx       bool
		wantStatus int
		wantMark   models.Mark // after the request
		wantNote   string
		wantFlash  string
		wantError  string // field error text (422)
	}{
		{"operator marks resolved", models.RoleOperator, url.Values{"mark": {"resolved"}, "note": {" refunded by hand "}}, false,
			http.StatusSeeOther, models.MarkResolved, "refunded by hand", "Event %d is marked resolved.", ""},
		{"admin marks needs review with htmx", models.RoleAdmin, url.Values{"mark": {"needs_review"}, "note": {opsHostile}}, true,
			http.StatusOK, models.MarkNeedsReview, opsHostile, "Event %d is marked needs review.", ""},
		{"unknown mark", models.RoleOperator, url.Values{"mark": {"bogus"}, "note": {"kept"}}, false,
			http.StatusUnprocessableEntity, models.MarkNeedsReview, opsHostile, "", "Choose resolved, ignored or needs review"},
		{"note too long", models.RoleOperator, url.Values{"mark": {"ignored"}, "note": {long}}, false,
			http.StatusUnprocessableEntity, models.MarkNeedsReview, opsHostile, "", "Keep the note to 2000 characters; this one has 2001."},
		{"note too long with htmx", models.RoleOperator, url.Values{"mark": {"ignored"}, "note": {long}}, true,
			http.StatusUnprocessableEntity, models.MarkNeedsReview, opsHostile, "", "Keep the note to 2000 characters; this one has 2001."},
		{"support may not mark", models.RoleSupport, url.Values{"mark": {"ignored"}, "note": {"x"}}, false,
			http.StatusForbidden, models.MarkNeedsReview, opsHostile, "", ""},
		{"support may not mark with htmx", models.RoleSupport, url.Values{"mark": {"ignored"}, "note": {"x"}}, true,
			http.StatusForbidden, models.MarkNeedsReview, opsHostile, "", ""},
		{"operator clears the mark", models.RoleOperator, url.Values{"mark": {""}, "note": {""}}, false,
			http.StatusSeeOther, models.MarkNone, "", "The mark on event %d is cleared.", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			audits := len(opsAudits(t, a, e.merchant.ID, models.AuditMark))
			var headers []string
			if tc.htmx {
				headers = opsHX
			}
			resp, doc, raw := opsPost(t, e.as(tc.role), opsEventPath(id, "/mark"), tc.form, tc.wantStatus, headers...)
			ev := opsEvent(t, a, id)
			if ev.Mark != tc.wantMark || ev.MarkNote != tc.wantNote {
				t.Errorf("mark = %q %q, want %q %q", ev.Mark, ev.MarkNote, tc.wantMark, tc.wantNote)
			}
			gotAudits := opsAudits(t, a, e.merchant.ID, models.AuditMark)
			changed := tc.wantStatus == http.StatusSeeOther || tc.wantStatus == http.StatusOK
			if changed {
				if len(gotAudits) != audits+1 {
					t.Fatalf("%d mark audits, want %d", len(gotAudits), audits+1)
				}
				au := gotAudits[len(gotAudits)-1]
				if au.Actor != opsEmail(tc.role) || au.ObjectID != fmt.Sprint(id) || au.Detail != string(tc.wantMark)+": "+tc.wantNote {
					t.Errorf("audit = %+v", au)
				}
				if ev.MarkedBy != opsEmail(tc.role) {
					t.Errorf("marked by %q", ev.MarkedBy)
				}
			} else if len(gotAudits) != audits {
				t.Error("a refused mark was audited")
			}
			switch {
			case tc.wantStatus == http.StatusSeeOther:
				if got := opsFlash(t, e.as(tc.role), resp); got != fmt.Sprintf(tc.wantFlash, id) {
					t.Errorf("flash = %q", got)
				}
			case tc.wantStatus == http.StatusOK:
				opsAssertFragment(t, doc, "event-state")
				if got := opsText(doc.Find("#flashes .flash-success")); got != fmt.Sprintf(tc.wantFlash, id) {
					t.Errorf("flash = %q", got)
				}
				if got := doc.Find("#event-note").Text(); got != tc.wantNote {
					t.Errorf("note shown = %q", got)
				}
				if strings.Contains(raw, opsHostile) {
					t.Error("hostile note rendered unescaped")
				}
			case tc.wantStatus == http.StatusUnprocessableEntity && tc.htmx:
				opsAssertFragment(t, doc, "event-state")
				if got := opsText(doc.Find("#flashes .flash-error")); got != tc.wantError {
					t.Errorf("error flash = %q", got)
				}
			case tc.wantStatus == http.StatusUnprocessableEntity:
				opsAssertPage(t, doc, "/deliveries")
				if got := opsText(doc.Find(".field-error")); !strings.Contains(got, tc.wantError) {
					t.Errorf("field error = %q, want %q", got, tc.wantError)
				}
				if got := doc.Find("textarea#note").Text(); got != strings.TrimSpace(tc.form.Get("note")) {
					t.Errorf("note input not kept: %d chars", len(got))
				}
			}
		})
	}
	t.Run("another merchant's event is 404", func(t *testing.T) {
		opsPost(t, e.other(), opsEventPath(id, "/mark"), url.Values{"mark": {"ignored"}}, http.StatusNotFound)
		if ev := opsEvent(t, a, id); ev.Mark != models.MarkNone {
			t.Errorf("foreign mark changed the event: %q", ev.Mark)
		}
	})
	t.Run("the page shows the mark escaped", func(t *testing.T) {
		if _, err := a.Store.MarkEvent(e.merchant.ID, id, models.MarkIgnored, opsHostile, "someone@acme.test"); err != nil {
			t.Fatal(err)
		}
		_, doc, raw := opsGet(t, e.as(models.RoleSupport), opsEventPath(id, ""), http.StatusOK)
		if strings.Contains(raw, opsHostile) || doc.Find("#event-note").Text() != opsHostile {
			t.Error("note not shown escaped")
		}
		if got, _ := doc.Find("#event-mark .badge").Attr("data-status"); got != "ignored" {
			t.Errorf("mark badge = %q", got)
		}
	})
}
