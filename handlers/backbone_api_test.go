package handlers_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"hooklog/handlers"
	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// apiDo calls the API and returns the status, headers and raw answer.
func apiDo(t *testing.T, a *testapp.App, token, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, raw
}

// apiError expects a JSON error answer with the given status and message.
func apiError(t *testing.T, a *testapp.App, token, method, path, body string, code int, msg string) {
	t.Helper()
	got, h, raw := apiDo(t, a, token, method, path, body)
	var e struct{ Error string }
	if err := json.Unmarshal(raw, &e); err != nil || got != code || e.Error != msg || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("%s %s = %d %s (%s), want %d {\"error\":%q}", method, path, got, raw, h.Get("Content-Type"), code, msg)
	}
}

// eventIDs lists the ids of an event list answer.
func eventIDs(t *testing.T, a *testapp.App, token, path string) ([]uint, string) {
	t.Helper()
	var out struct {
		Items      []handlers.EventJSON `json:"items"`
		NextCursor string               `json:"next_cursor"`
	}
	if code := a.API(token, http.MethodGet, path, nil, &out); code != http.StatusOK {
		t.Fatalf("GET %s = %d", path, code)
	}
	ids := make([]uint, 0, len(out.Items))
	for _, e := range out.Items {
		ids = append(ids, e.ID)
	}
	return ids, out.NextCursor
}

// apiWorld is a populated server: two merchants, their endpoints, tokens and events.
type apiWorld struct {
	a                               *testapp.App
	epA, epB, epO                   *testapp.Endpoint
	admin, operator, support, other string
	t0, mid                         time.Time
	// e1 paid ord_a1 (delivered twice), e2 failed ord_a2, e3 customer (epB), then an hour later
	// e4 refunded part of ord_a1 (epB), e5 is not JSON (failed); o1 and o2 are Other's.
	e1, e2, e3, e4, e5, o1, o2 uint
	e1Body                     []byte
}

func newAPIWorld(t *testing.T) *apiWorld {
	t.Helper()
	a := testapp.New(t)
	w := &apiWorld{a: a,
		epA: a.Endpoint("Acme", "generic", "", webhooks.Settings{}), epB: a.Endpoint("Acme", "generic", "", webhooks.Settings{}),
		epO:   a.Endpoint("Other", "generic", "", webhooks.Settings{}),
		admin: a.Token("Acme", models.RoleAdmin), operator: a.Token("Acme", models.RoleOperator),
		support: a.Token("Acme", models.RoleSupport), other: a.Token("Other", models.RoleAdmin),
	}
	sample := func(ep *testapp.Endpoint, typ, id, ref string, amount int64) (uint, []byte) {
		t.Helper()
		body, err := ep.Profile.Sample(typ, webhooks.SampleParams{ID: id, OrderRef: ref, Amount: amount, Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		r := a.Send(ep, body)
		if r.Status != http.StatusOK || r.Outcome != models.OutcomeAccepted {
			t.Fatalf("%s: %+v", id, r)
		}
		return r.EventID, body
	}
	w.t0 = a.Store.Now()
	w.e1, w.e1Body = sample(w.epA, "payment.completed", "evt_a1", "ord_a1", 2000)
	w.e2, _ = sample(w.epA, "payment.failed", "evt_a2", "ord_a2", 1500)
	w.e3, _ = sample(w.epB, "customer.created", "evt_a3", "", 0)
	w.o1, _ = sample(w.epO, "payment.completed", "evt_o1", "ord_o1", 900)
	for _, id := range []uint{w.e1, w.e2, w.e3, w.o1} {
		a.WaitStatus(id, models.StatusProcessed)
	}
	if r := a.Send(w.epA, w.e1Body); r.Outcome != models.OutcomeDuplicate {
		t.Fatalf("redelivery: %+v", r)
	}
	a.Advance(time.Hour)
	w.mid = w.t0.Add(30 * time.Minute)
	w.e4, _ = sample(w.epB, "refund.completed", "evt_a4", "ord_a1", 500)
	r := a.Send(w.epA, []byte("not json"))
	w.e5 = r.EventID
	w.o2, _ = sample(w.epO, "payment.failed", "evt_o2", "ord_a1", 100) // the same reference as Acme's order
	for _, id := range []uint{w.e4, w.o2} {
		a.WaitStatus(id, models.StatusProcessed)
	}
	a.WaitStatus(w.e5, models.StatusFailed)
	return w
}

func tokenActor(token string) string { return "token:" + token[:10] }

func TestBackboneAPIEventFilters(t *testing.T) {
	w := newAPIWorld(t)
	ts := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339Nano)) }
	tests := []struct {
		query string
		want  []uint
	}{
		{"", []uint{w.e5, w.e4, w.e3, w.e2, w.e1}},
		{"status=processed", []uint{w.e4, w.e3, w.e2, w.e1}},
		{"status=failed", []uint{w.e5}},
		{"status=dead", []uint{}},
		{"type=payment.completed", []uint{w.e1}},
		{"type=refund.completed", []uint{w.e4}},
		{fmt.Sprintf("endpoint=%d", w.epB.ID), []uint{w.e4, w.e3}},
		{fmt.Sprintf("endpoint=%d", w.epO.ID), []uint{}},
		{"order=ord_a1", []uint{w.e4, w.e1}},
		{"order=ord_o1", []uint{}},
		{"external_id=evt_a2", []uint{w.e2}},
		{"external_id=evt_o1", []uint{}},
		{"since=" + ts(w.mid), []uint{w.e5, w.e4}},
		{"until=" + ts(w.mid), []uint{w.e3, w.e2, w.e1}},
		{"since=" + ts(w.t0) + "&until=" + ts(w.mid) + "&type=payment.failed", []uint{w.e2}},
		{"since=" + w.t0.Add(-24*time.Hour).Format("2006-01-02"), []uint{w.e5, w.e4, w.e3, w.e2, w.e1}},
		{fmt.Sprintf("status=processed&endpoint=%d&order=ord_a1", w.epA.ID), []uint{w.e1}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			got, next := eventIDs(t, w.a, w.support, "/api/v1/events?"+tc.query)
			if !slices.Equal(got, tc.want) || next != "" {
				t.Errorf("ids = %v (next %q), want %v", got, next, tc.want)
			}
		})
	}
	// The other merchant sees only its own.
	if got, _ := eventIDs(t, w.a, w.other, "/api/v1/events"); !slices.Equal(got, []uint{w.o2, w.o1}) {
		t.Errorf("Other's events = %v, want %v", got, []uint{w.o2, w.o1})
	}
}

func TestBackboneAPIDeliveryFilters(t *testing.T) {
	w := newAPIWorld(t)
	bad := w.a.Post(w.epA.URL, http.Header{"X-Signature": {strings.Repeat("0", 64)}}, []byte(`{"id":"forged"}`))
	if bad.Status != http.StatusUnauthorized {
		t.Fatalf("forged delivery: %+v", bad)
	}
	list := func(query string) []handlers.DeliveryJSON {
		t.Helper()
		var out struct {
			Items      []handlers.DeliveryJSON `json:"items"`
			NextCursor string                  `json:"next_cursor"`
		}
		if code := w.a.API(w.support, http.MethodGet, "/api/v1/deliveries?"+query, nil, &out); code != http.StatusOK {
			t.Fatalf("deliveries?%s = %d", query, code)
		}
		return out.Items
	}
	tests := []struct {
		query string
		want  int
		check func(d handlers.DeliveryJSON) bool
	}{
		{"", 7, func(d handlers.DeliveryJSON) bool { return d.Body == nil && d.Headers == nil }},
		{"outcome=rejected", 1, func(d handlers.DeliveryJSON) bool {
			return d.ID == bad.DeliveryID && d.StatusCode == 401 && d.EventID == nil && d.Reason == noMatchOneSecret
		}},
		{"outcome=duplicate", 1, func(d handlers.DeliveryJSON) bool { return *d.EventID == w.e1 && d.StatusCode == 200 }},
		{"type=payment.completed", 2, func(d handlers.DeliveryJSON) bool { return *d.EventID == w.e1 }},
		{"status=failed", 1, func(d handlers.DeliveryJSON) bool { return *d.EventID == w.e5 }},
		{fmt.Sprintf("endpoint=%d", w.epB.ID), 2, func(d handlers.DeliveryJSON) bool { return d.EndpointID == w.epB.ID }},
		{"since=" + url.QueryEscape(w.mid.Format(time.RFC3339Nano)), 3, func(d handlers.DeliveryJSON) bool { return d.ReceivedAt.After(w.mid) }},
		{"outcome=accepted&limit=2", 2, func(d handlers.DeliveryJSON) bool { return d.Outcome == models.OutcomeAccepted }},
	}
	for _, tc := range tests {
		got := list(tc.query)
		if len(got) != tc.want {
			t.Errorf("deliveries?%s: %d items, want %d: %+v", tc.query, len(got), tc.want, got)
			continue
		}
		for _, d := range got {
			if !tc.check(d) {
				t.Errorf("deliveries?%s: unexpected %+v", tc.query, d)
			}
		}
	}
}

func TestBackboneAPIPagination(t *testing.T) {
	a := testapp.New(t)
	ep := a.Endpoint("Pager", "generic", "", webhooks.Settings{})
	token := a.Token("Pager", models.RoleSupport)
	var all []uint
	for i := range 7 {
		r := a.SendSample(ep, "customer.updated", webhooks.SampleParams{ID: fmt.Sprintf("evt_page_%d", i)})
		a.WaitStatus(r.EventID, models.StatusProcessed)
		all = append(all, r.EventID)
		// Deliveries rejected between events leave gaps in the event ids' neighbours.
		a.Post(ep.URL, http.Header{}, []byte("{}"))
	}
	slices.Reverse(all)

	for _, path := range []string{"/api/v1/events?limit=3", "/api/v1/events?limit=3&status=processed&since=2020-01-01"} {
		var got []uint
		var sizes []int
		next, cursor := path, ""
		for page := 0; ; page++ {
			if page > 5 {
				t.Fatal("pagination does not end")
			}
			ids, c := eventIDs(t, a, token, next)
			got, sizes, cursor = append(got, ids...), append(sizes, len(ids)), c
			if cursor == "" {
				break
			}
			next = path + "&cursor=" + url.QueryEscape(cursor)
		}
		if !slices.Equal(got, all) || !slices.Equal(sizes, []int{3, 3, 1}) {
			t.Errorf("%s: pages %v gave %v, want %v", path, sizes, got, all)
		}
	}
	// Exactly a page's worth: no empty last page.
	ids, cursor := eventIDs(t, a, token, "/api/v1/events?limit=7")
	if len(ids) != 7 || cursor != "" {
		t.Errorf("limit=7: %d items, cursor %q", len(ids), cursor)
	}

	var delivered []uint
	path := "/api/v1/deliveries?limit=4"
	for range 5 {
		var out struct {
			Items      []handlers.DeliveryJSON `json:"items"`
			NextCursor string                  `json:"next_cursor"`
		}
		a.API(token, http.MethodGet, path, nil, &out)
		for _, d := range out.Items {
			delivered = append(delivered, d.ID)
		}
		if out.NextCursor == "" {
			break
		}
		path = "/api/v1/deliveries?limit=4&cursor=" + url.QueryEscape(out.NextCursor)
	}
	if len(delivered) != 14 || !sort.SliceIsSorted(delivered, func(i, j int) bool { return delivered[i] > delivered[j] }) ||
		len(slices.Compact(slices.Clone(delivered))) != 14 {
		t.Errorf("deliveries over pages = %v, want 14 distinct, newest first", delivered)
	}
}

func TestBackboneAPIBadParams(t *testing.T) {
	a := testapp.New(t)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	r := a.SendSample(ep, "payment.completed", webhooks.SampleParams{})
	a.WaitStatus(r.EventID, models.StatusProcessed)
	token := a.Token("Acme", models.RoleOperator)
	tests := []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{"GET", "/api/v1/events?status=bogus", "", 400, `status must be one of pending, processing, processed, failed, dead; not "bogus"`},
		{"GET", "/api/v1/events?endpoint=abc", "", 400, `endpoint must be a number, not "abc"`},
		{"GET", "/api/v1/events?since=yesterday", "", 400, `since must be a time like 2026-01-31T12:00:00Z or a date like 2026-01-31, not "yesterday"`},
		{"GET", "/api/v1/events?until=31%2F01%2F2026", "", 400, `until must be a time like 2026-01-31T12:00:00Z or a date like 2026-01-31, not "31/01/2026"`},
		{"GET", "/api/v1/events?limit=-1", "", 400, `limit must be a number, not "-1"`},
		{"GET", "/api/v1/events?cursor=%21%21", "", 400, "cursor is not valid; start again from the first page"},
		{"GET", "/api/v1/events?cursor=MA", "", 400, "cursor is not valid; start again from the first page"},
		{"GET", "/api/v1/events?mark=done", "", 400, `mark must be resolved, ignored or needs_review, not "done"`},
		{"GET", "/api/v1/deliveries?outcome=ok", "", 400, `outcome must be accepted, rejected or duplicate; not "ok"`},
		{"GET", "/api/v1/deliveries?status=done", "", 400, `status must be one of pending, processing, processed, failed, dead; not "done"`},
		{"GET", "/api/v1/deliveries?endpoint=1.5", "", 400, `endpoint must be a number, not "1.5"`},
		{"GET", "/api/v1/deliveries?cursor=xyz", "", 400, "cursor is not valid; start again from the first page"},
		{"POST", fmt.Sprintf("/api/v1/events/%d/mark", r.EventID), "{not json", 400, `send JSON like {"mark":"resolved","note":"refunded by hand"}`},
		{"POST", fmt.Sprintf("/api/v1/events/%d/mark", r.EventID), `{"mark":"done"}`, 400, `mark must be resolved, ignored or needs_review, not "done"`},
		{"POST", fmt.Sprintf("/api/v1/events/%d/mark", r.EventID), `{"mark":"resolved","note":"` + strings.Repeat("n", 2001) + `"}`, 400, "note must be at most 2000 characters"},
		{"GET", "/api/v1/events/abc", "", 404, "not found"},
		{"GET", "/api/v1/events/0", "", 404, "not found"},
		{"GET", "/api/v1/events/999999", "", 404, "event not found"},
		{"POST", "/api/v1/events/999999/replay", "", 404, "event not found"},
		{"POST", "/api/v1/events/999999/mark", `{"mark":"ignored"}`, 404, "event not found"},
		{"GET", "/api/v1/orders/ord_nope", "", 404, "order not found"},
	}
	for _, tc := range tests {
		apiError(t, a, token, tc.method, tc.path, tc.body, tc.code, tc.msg)
	}
	if ev, _ := a.Store.EventByID(r.EventID); ev.Mark != models.MarkNone {
		t.Errorf("a refused mark changed the event: %+v", ev)
	}
}

func TestBackboneAPIEventDetail(t *testing.T) {
	w := newAPIWorld(t)
	var got handlers.EventDetailJSON
	if code := w.a.API(w.support, http.MethodGet, fmt.Sprintf("/api/v1/events/%d", w.e1), nil, &got); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if got.ID != w.e1 || got.EndpointID != w.epA.ID || got.Provider != "generic" || got.ExternalID != "evt_a1" ||
		got.Type != "payment.completed" || got.Canonical != webhooks.PaymentSucceeded || got.OrderRef != "ord_a1" ||
		got.Amount == nil || *got.Amount != 2000 || got.Currency != "USD" || got.Status != models.StatusProcessed ||
		got.Attempts != 1 || got.NextAttemptAt != nil || got.LastError != "" || got.DeliveryCount != 2 || got.ProcessedAt == nil ||
		!strings.HasPrefix(got.PaymentID, "pay_") || got.CustomerEmail != "jane.doe@example.com" {
		t.Errorf("event = %+v", got.EventJSON)
	}
	if len(got.Deliveries) != 2 {
		t.Fatalf("deliveries = %+v", got.Deliveries)
	}
	for i, outcome := range []models.Outcome{models.OutcomeAccepted, models.OutcomeDuplicate} {
		d := got.Deliveries[i]
		if d.Outcome != outcome || d.StatusCode != 200 || d.EventID == nil || *d.EventID != w.e1 || d.Body == nil ||
			*d.Body != string(w.e1Body) || d.Headers.Get("X-Signature") == "" || d.BodySize != int64(len(w.e1Body)) ||
			d.EventType != "payment.completed" || d.RemoteAddr != "127.0.0.1" {
			t.Errorf("delivery %d = %+v", i, d)
		}
	}
	if len(got.AttemptList) != 1 || got.AttemptList[0].Trigger != models.TriggerAutomatic || got.AttemptList[0].Outcome != models.StatusProcessed ||
		got.AttemptList[0].Result != "order ord_a1: payment succeeded" || got.AttemptList[0].StartedAt.IsZero() || got.AttemptList[0].FinishedAt.IsZero() {
		t.Errorf("attempts = %+v", got.AttemptList)
	}
	if len(got.Transitions) != 1 || got.Transitions[0].To != models.OrderPaid || got.Transitions[0].EventID != w.e1 {
		t.Errorf("transitions = %+v", got.Transitions)
	}

	// A failed event shows why, and that no retry is scheduled.
	var failed handlers.EventDetailJSON
	w.a.API(w.support, http.MethodGet, fmt.Sprintf("/api/v1/events/%d", w.e5), nil, &failed)
	if failed.Status != models.StatusFailed || !strings.HasPrefix(failed.LastError, "body is not valid JSON") || failed.NextAttemptAt != nil ||
		len(failed.AttemptList) != 0 || failed.Amount != nil || len(failed.Deliveries) != 1 || *failed.Deliveries[0].Body != "not json" {
		t.Errorf("failed event = %+v", failed)
	}
}

func TestBackboneAPIReplayAndMarkByRole(t *testing.T) {
	w := newAPIWorld(t)
	a := w.a
	audits := func(action, actor string) int64 {
		return bbCount(t, a, &models.AuditEntry{}, "action = ? AND actor = ?", action, actor)
	}
	replays := 0
	for _, tc := range []struct {
		role  string
		token string
		code  int
	}{
		{"operator", w.operator, http.StatusAccepted},
		{"admin", w.admin, http.StatusAccepted},
		{"support", w.support, http.StatusForbidden},
	} {
		t.Run("replay as "+tc.role, func(t *testing.T) {
			before := len(bbAttempts(t, a, w.e2))
			path := fmt.Sprintf("/api/v1/events/%d/replay", w.e2)
			if tc.code == http.StatusForbidden {
				apiError(t, a, tc.token, http.MethodPost, path, "", tc.code, "your role (support) does not allow this")
				if ev, _ := a.Store.EventByID(w.e2); ev.Status != models.StatusProcessed || ev.PendingTrigger != "" ||
					len(bbAttempts(t, a, w.e2)) != before || audits(models.AuditReplay, tokenActor(tc.token)) != 0 {
					t.Errorf("a forbidden replay changed something: %+v", ev)
				}
				return
			}
			var got handlers.EventJSON
			if code := a.API(tc.token, http.MethodPost, path, nil, &got); code != tc.code {
				t.Fatalf("replay = %d, want %d", code, tc.code)
			}
			if got.ID != w.e2 || (got.Status != models.StatusPending && got.Status != models.StatusProcessing) {
				t.Errorf("replay answer = %+v", got)
			}
			a.WaitFor("the replay to run", 5*time.Second, func() bool { return len(bbAttempts(t, a, w.e2)) == before+1 })
			a.WaitStatus(w.e2, models.StatusProcessed)
			last := bbAttempts(t, a, w.e2)[before]
			if last.Trigger != models.TriggerReplay || last.Actor != tokenActor(tc.token) || last.Outcome != models.StatusProcessed ||
				last.Result != "no change: this event was already applied to its order" {
				t.Errorf("replay attempt = %+v", last)
			}
			replays++
			if n := audits(models.AuditReplay, tokenActor(tc.token)); n != 1 {
				t.Errorf("%d replay audit entries by %s, want 1", n, tokenActor(tc.token))
			}
		})
	}
	if _, hist := bbOrder(t, a, "Acme", "ord_a2"); len(hist) != 1 {
		t.Errorf("replays moved the order again: %+v", hist)
	}

	for _, tc := range []struct {
		role, token string
		event       uint
		body        string
		code        int
		mark        models.Mark
		note        string
	}{
		{"operator", w.operator, w.e5, `{"mark":"resolved","note":"refunded by hand"}`, http.StatusOK, models.MarkResolved, "refunded by hand"},
		{"admin", w.admin, w.e3, `{"mark":"needs_review","note":"<script>alert(1)</script>"}`, http.StatusOK, models.MarkNeedsReview, "<script>alert(1)</script>"},
		{"support", w.support, w.e2, `{"mark":"ignored"}`, http.StatusForbidden, models.MarkNone, ""},
	} {
		t.Run("mark as "+tc.role, func(t *testing.T) {
			path := fmt.Sprintf("/api/v1/events/%d/mark", tc.event)
			if tc.code == http.StatusForbidden {
				apiError(t, a, tc.token, http.MethodPost, path, tc.body, tc.code, "your role (support) does not allow this")
			} else {
				var got handlers.EventJSON
				if code := a.API(tc.token, http.MethodPost, path, strings.NewReader(tc.body), &got); code != tc.code {
					t.Fatalf("mark = %d", code)
				}
				if got.ID != tc.event || got.Mark != tc.mark || got.MarkNote != tc.note || got.MarkedBy != tokenActor(tc.token) {
					t.Errorf("mark answer = %+v", got)
				}
				if n := audits(models.AuditMark, tokenActor(tc.token)); n != 1 {
					t.Errorf("%d mark audit entries, want 1", n)
				}
			}
			ev, _ := a.Store.EventByID(tc.event)
			if ev.Mark != tc.mark || ev.MarkNote != tc.note {
				t.Errorf("stored mark = %q %q, want %q %q", ev.Mark, ev.MarkNote, tc.mark, tc.note)
			}
		})
	}
	if got, _ := eventIDs(t, a, w.support, "/api/v1/events?mark=resolved"); !slices.Equal(got, []uint{w.e5}) {
		t.Errorf("mark=resolved lists %v", got)
	}
	// Clearing a mark.
	var cleared handlers.EventJSON
	if code := a.API(w.operator, http.MethodPost, fmt.Sprintf("/api/v1/events/%d/mark", w.e5), strings.NewReader(`{"mark":""}`), &cleared); code != 200 || cleared.Mark != models.MarkNone {
		t.Errorf("clearing the mark: %d %+v", code, cleared)
	}

	// An event being processed cannot be replayed until the run ends.
	lease := a.Store.Now().Add(time.Hour)
	if err := a.Store.DB.Model(&models.Event{}).Where("id = ?", w.e3).
		Updates(map[string]any{"status": models.StatusProcessing, "next_attempt_at": lease}).Error; err != nil {
		t.Fatal(err)
	}
	apiError(t, a, w.operator, http.MethodPost, fmt.Sprintf("/api/v1/events/%d/replay", w.e3), "", http.StatusConflict, models.ErrBusy.Error())
}

func TestBackboneAPIAuthentication(t *testing.T) {
	a := testapp.New(t)
	token := a.Token("Acme", models.RoleAdmin)
	revoked := a.Token("Acme", models.RoleAdmin)
	toks, _ := a.Store.Tokens(a.Merchant("Acme").ID)
	for _, tk := range toks {
		if strings.HasPrefix(revoked, tk.Prefix) {
			if err := a.Store.RevokeToken(tk.MerchantID, tk.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	const missing = "send an API token as `Authorization: Bearer <token>`; create one with `hooklog token add` or on the API tokens page"
	const unknown = "this API token is unknown or revoked"
	tests := []struct {
		name, header string
		code         int
		msg          string
		challenge    string
	}{
		{"no header", "", 401, missing, `Bearer realm="hooklog"`},
		{"empty bearer", "Bearer ", 401, missing, `Bearer realm="hooklog"`},
		{"basic auth", "Basic YWRtaW46cGFzcw==", 401, missing, `Bearer realm="hooklog"`},
		{"unknown token", "Bearer hkl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 401, unknown, `Bearer realm="hooklog", error="invalid_token"`},
		{"not a token", "Bearer abc", 401, unknown, `Bearer realm="hooklog", error="invalid_token"`},
		{"revoked token", "Bearer " + revoked, 401, unknown, `Bearer realm="hooklog", error="invalid_token"`},
		{"valid token", "Bearer " + token, 200, "", ""},
	}
	for _, tc := range tests {
		for _, path := range []string{"/api/v1/events", "/api/v1/deliveries", "/api/v1/orders/x"} {
			req, _ := http.NewRequest(http.MethodGet, a.URL+path, nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.code == 200 {
				if resp.StatusCode == http.StatusUnauthorized {
					t.Errorf("%s %s: 401 %s", tc.name, path, raw)
				}
				continue
			}
			var e struct{ Error string }
			_ = json.Unmarshal(raw, &e)
			if resp.StatusCode != tc.code || e.Error != tc.msg || resp.Header.Get("WWW-Authenticate") != tc.challenge {
				t.Errorf("%s %s: %d %s (WWW-Authenticate %q), want %d %q", tc.name, path, resp.StatusCode, raw,
					resp.Header.Get("WWW-Authenticate"), tc.code, tc.msg)
			}
		}
	}
}

func TestBackboneAPITenantIsolation(t *testing.T) {
	w := newAPIWorld(t)
	a := w.a
	for _, id := range []uint{w.o1, w.o2} {
		apiError(t, a, w.admin, http.MethodGet, fmt.Sprintf("/api/v1/events/%d", id), "", 404, "event not found")
		apiError(t, a, w.admin, http.MethodPost, fmt.Sprintf("/api/v1/events/%d/replay", id), "", 404, "event not found")
		apiError(t, a, w.admin, http.MethodPost, fmt.Sprintf("/api/v1/events/%d/mark", id), `{"mark":"ignored"}`, 404, "event not found")
		ev, _ := a.Store.EventByID(id)
		if ev.Mark != models.MarkNone || ev.PendingTrigger != "" || ev.Status != models.StatusProcessed {
			t.Errorf("another merchant's request changed event %d: %+v", id, ev)
		}
	}
	apiError(t, a, w.admin, http.MethodGet, "/api/v1/orders/ord_o1", "", 404, "order not found")
	apiError(t, a, w.other, http.MethodGet, fmt.Sprintf("/api/v1/events/%d", w.e1), "", 404, "event not found")
	apiError(t, a, w.other, http.MethodGet, "/api/v1/orders/ord_a2", "", 404, "order not found")

	// The reference both merchants use resolves to each one's own order.
	var acme, other handlers.OrderJSON
	a.API(w.admin, http.MethodGet, "/api/v1/orders/ord_a1", nil, &acme)
	a.API(w.other, http.MethodGet, "/api/v1/orders/ord_a1", nil, &other)
	if acme.Status != models.OrderPartiallyRefunded || len(acme.History) != 2 || other.Status != models.OrderFailed || len(other.History) != 1 ||
		other.History[0].EventID != w.o2 {
		t.Errorf("ord_a1: Acme's %+v, Other's %+v", acme, other)
	}

	foreign := map[uint]bool{w.o1: true, w.o2: true}
	for _, q := range []string{"", "?order=ord_a1", "?type=payment.completed", "?status=processed", fmt.Sprintf("?endpoint=%d", w.epO.ID), "?external_id=evt_o1"} {
		ids, _ := eventIDs(t, a, w.admin, "/api/v1/events"+q)
		for _, id := range ids {
			if foreign[id] {
				t.Errorf("/api/v1/events%s lists Other's event %d", q, id)
			}
		}
	}
	var ds struct {
		Items []handlers.DeliveryJSON `json:"items"`
	}
	a.API(w.admin, http.MethodGet, "/api/v1/deliveries?limit=500", nil, &ds)
	for _, d := range ds.Items {
		if d.EndpointID == w.epO.ID || (d.EventID != nil && foreign[*d.EventID]) {
			t.Errorf("deliveries list Other's delivery %+v", d)
		}
	}
	if len(ds.Items) != 6 {
		t.Errorf("Acme sees %d deliveries, want 6", len(ds.Items))
	}
}

func TestBackboneAPIOrderShape(t *testing.T) {
	w := newAPIWorld(t)
	_, _, raw := apiDo(t, w.a, w.support, http.MethodGet, "/api/v1/orders/ord_a1", "")
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	keys := func(m map[string]json.RawMessage) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	wantKeys := []string{"amount", "created_at", "currency", "history", "payment_id", "provider", "reference", "refunded_amount", "status", "updated_at"}
	if got := keys(doc); !slices.Equal(got, wantKeys) {
		t.Errorf("order keys = %v, want %v", got, wantKeys)
	}
	var o struct {
		Reference      string `json:"reference"`
		Status         string `json:"status"`
		Amount         int64  `json:"amount"`
		Currency       string `json:"currency"`
		RefundedAmount int64  `json:"refunded_amount"`
		Provider       string `json:"provider"`
		History        []map[string]json.RawMessage
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	if o.Reference != "ord_a1" || o.Status != "partially_refunded" || o.Amount != 2000 || o.Currency != "USD" ||
		o.RefundedAmount != 500 || o.Provider != "generic" || len(o.History) != 2 {
		t.Fatalf("order = %s", raw)
	}
	wantSteps := []struct {
		from, to string
		event    uint
		reason   string
	}{
		{"", "paid", w.e1, "payment succeeded"},
		{"paid", "partially_refunded", w.e4, "partial refund: 500 of 2000 refunded"},
	}
	for i, step := range o.History {
		if got := keys(step); !slices.Equal(got, []string{"at", "event_id", "from", "reason", "to"}) {
			t.Errorf("history[%d] keys = %v", i, got)
		}
		var s struct {
			From    string    `json:"from"`
			To      string    `json:"to"`
			EventID uint      `json:"event_id"`
			At      time.Time `json:"at"`
			Reason  string    `json:"reason"`
		}
		b, _ := json.Marshal(step)
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		want := wantSteps[i]
		if s.From != want.from || s.To != want.to || s.EventID != want.event || s.Reason != want.reason || s.At.IsZero() {
			t.Errorf("history[%d] = %+v, want %+v", i, s, want)
		}
	}
	// An order seen only through a refund has no amount yet: null, not 0.
	r := w.a.SendSample(w.epA, "refund.initiated", webhooks.SampleParams{ID: "evt_ri", OrderRef: "ord_unpaid"})
	w.a.WaitStatus(r.EventID, models.StatusProcessed)
	_, _, raw = apiDo(t, w.a, w.support, http.MethodGet, "/api/v1/orders/ord_unpaid", "")
	if err := json.Unmarshal(raw, &doc); err != nil || string(doc["amount"]) != "null" || string(doc["status"]) != `"refund_pending"` {
		t.Errorf("unpaid order = %s", raw)
	}
}
