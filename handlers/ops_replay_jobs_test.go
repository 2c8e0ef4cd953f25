package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"hooklog/models"
	"hooklog/webhooks"
)

// opsHiddenForm reads the hidden fields of the confirmation form.
func opsHiddenForm(doc *goquery.Document) url.Values {
	v := url.Values{}
	doc.Find(`form[action="/replay-jobs"] input[type="hidden"]`).Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		value, _ := s.Attr("value")
		if name != "csrf_token" {
			v.Add(name, value)
		}
	})
	return v
}

// opsHeldJob stores a running job that another (imaginary) worker holds, so this app's worker leaves
// it alone until the test says otherwise.
func opsHeldJob(t *testing.T, e *opsEnv, ids []uint) *models.ReplayJob {
	t.Helper()
	until := time.Now().UTC().Add(time.Hour)
	now := time.Now().UTC()
	j := models.ReplayJob{MerchantID: e.merchant.ID, CreatedBy: opsEmail(models.RoleOperator), EventIDs: ids, Total: len(ids),
		Status: models.JobRunning, LeaseUntil: &until, LeaseToken: "elsewhere", CreatedAt: now, UpdatedAt: now}
	if err := e.a.Store.DB.Create(&j).Error; err != nil {
		t.Fatal(err)
	}
	return &j
}

func opsJob(t *testing.T, e *opsEnv, id uint) *models.ReplayJob {
	t.Helper()
	j, err := e.a.Store.ReplayJob(e.merchant.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestOpsReplayJobsEndToEnd(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	var failed []uint
	for i := range 3 {
		failed = append(failed, opsSendFailed(t, a, e.ep, fmt.Sprintf("evt-bulk-%d", i)))
	}
	processed := opsSendOK(t, a, e.ep, "ord-bulk-ok")
	foreign := opsSendFailed(t, a, e.otherEP, "evt-bulk-foreign")
	// The fix: read the order reference from the event id, then replay.
	if _, err := a.Store.UpdateEndpoint(e.merchant.ID, e.ep.ID, models.EndpointInput{Name: e.ep.Name, Provider: "custom",
		Settings: webhooks.Settings{Fields: webhooks.FieldMap{OrderRef: "id"}}}); err != nil {
		t.Fatal(err)
	}
	b := e.as(models.RoleOperator)

	_, doc, _ := opsPost(t, b, "/replay-jobs/preview", url.Values{"mode": {"filter"}, "status": {"failed"}}, http.StatusOK)
	opsAssertPage(t, doc, "/deliveries")
	if got := opsText(doc.Find("#replay-count")); got != "3 failed or dead events match" {
		t.Errorf("preview = %q", got)
	}
	if href, _ := doc.Find(`form[action="/replay-jobs"] a`).Attr("href"); href != "/deliveries?status=failed" {
		t.Errorf("cancel link = %q", href)
	}
	form := opsHiddenForm(doc)
	if want := (url.Values{"mode": {"filter"}, "status": {"failed"}}); form.Encode() != want.Encode() {
		t.Errorf("confirm form = %v, want %v", form, want)
	}
	if count := len(opsAudits(t, a, e.merchant.ID, models.AuditBulkReplay)); count != 0 {
		t.Error("a preview was audited")
	}

	resp, _, _ := opsPost(t, b, "/replay-jobs", form, http.StatusSeeOther)
	var jobs []models.ReplayJob
	a.Store.DB.Where("merchant_id = ?", e.merchant.ID).Find(&jobs)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs", len(jobs))
	}
	job := jobs[0]
	if loc := resp.Header.Get("Location"); loc != fmt.Sprintf("/replay-jobs/%d", job.ID) {
		t.Errorf("Location = %q", loc)
	}
	if job.Total != 3 || job.CreatedBy != opsEmail(models.RoleOperator) || job.Filter == nil || job.Filter.Status != models.StatusFailed {
		t.Errorf("job = %+v", job)
	}
	if got := opsFlash(t, b, resp); got != fmt.Sprintf("Replay job %d started for 3 events.", job.ID) {
		t.Errorf("flash = %q", got)
	}
	au := opsAudits(t, a, e.merchant.ID, models.AuditBulkReplay)
	if len(au) != 1 || au[0].Actor != opsEmail(models.RoleOperator) || au[0].ObjectType != "replay_job" || au[0].ObjectID != fmt.Sprint(job.ID) ||
		au[0].Detail != "3 failed or dead events; Filter: status failed." {
		t.Errorf("audit = %+v", au)
	}

	for _, id := range failed {
		a.WaitStatus(id, models.StatusProcessed)
		as := opsAttempts(t, a, id)
		last := as[len(as)-1]
		if last.Trigger != models.TriggerReplay || last.Actor != fmt.Sprintf("%s (replay job %d)", opsEmail(models.RoleOperator), job.ID) {
			t.Errorf("event %d last attempt = %+v", id, last)
		}
	}
	opsWait(t, a, "the job to finish", func() bool { return opsJob(t, e, job.ID).Status == models.JobFinished })
	if ev := opsEvent(t, a, processed.EventID); ev.Attempts != 1 {
		t.Errorf("a processed event was replayed: %d attempts", ev.Attempts)
	}
	if ev := opsEvent(t, a, foreign); ev.Status != models.StatusFailed {
		t.Errorf("another merchant's event was replayed: %s", ev.Status)
	}

	path := fmt.Sprintf("/replay-jobs/%d", job.ID)
	_, doc, _ = opsGet(t, e.as(models.RoleSupport), path, http.StatusOK)
	opsAssertPage(t, doc, "/deliveries")
	prog := doc.Find("#replay-job-progress")
	if _, polling := prog.Attr("hx-trigger"); polling {
		t.Error("a finished job still polls")
	}
	if v, _ := prog.Find("progress").Attr("value"); v != "100" {
		t.Errorf("progress = %q", v)
	}
	for sel, want := range map[string]string{"#job-done": "3 of 3", "#job-processed": "3", "#job-failed": "0", "#job-waiting": "0"} {
		if got := opsText(prog.Find(sel)); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if got, _ := prog.Find(".badge").Attr("data-status"); got != "finished" {
		t.Errorf("status = %q", got)
	}
	if href, _ := doc.Find(".kv a").Attr("href"); href != "/deliveries?status=failed" {
		t.Errorf("selection link = %q", href)
	}
	_, doc, _ = opsGet(t, b, path, http.StatusOK, opsHX...)
	opsAssertFragment(t, doc, "replay-job-progress")
	if _, polling := doc.Find("#replay-job-progress").Attr("hx-trigger"); polling {
		t.Error("the finished fragment still polls")
	}
}

func TestOpsReplayJobsSelected(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	one := opsSendFailed(t, a, e.ep, "evt-sel-1")
	two := opsSendFailed(t, a, e.ep, "evt-sel-2")
	foreign := opsSendFailed(t, a, e.otherEP, "evt-sel-foreign")
	b := e.as(models.RoleAdmin)

	// The list's bulk form carries the filter and the checked boxes.
	_, doc, _ := opsGet(t, b, "/deliveries?status=failed", http.StatusOK)
	if v, _ := doc.Find(`#bulk-replay input[name="status"]`).Attr("value"); v != "failed" {
		t.Errorf("bulk form filter = %q", v)
	}
	post := url.Values{"mode": {"selected"}, "status": {"failed"},
		"event_id": {fmt.Sprint(two), fmt.Sprint(one), fmt.Sprint(foreign), fmt.Sprint(one)}}
	_, doc, _ = opsPost(t, b, "/replay-jobs/preview", post, http.StatusOK)
	if got := opsText(doc.Find("#replay-count")); got != "2 selected events will be replayed" {
		t.Errorf("preview = %q", got)
	}
	form := opsHiddenForm(doc)
	if got := form["event_id"]; !slices.Equal(got, []string{fmt.Sprint(one), fmt.Sprint(two)}) {
		t.Errorf("confirmed ids = %v", got)
	}
	resp, _, _ := opsPost(t, b, "/replay-jobs", form, http.StatusSeeOther)
	var job models.ReplayJob
	a.Store.DB.Where("merchant_id = ?", e.merchant.ID).Take(&job)
	if !slices.Equal(job.EventIDs, []uint{one, two}) || job.Filter != nil || job.Total != 2 {
		t.Errorf("job = %+v", job)
	}
	if got := opsFlash(t, b, resp); got != fmt.Sprintf("Replay job %d started for 2 events.", job.ID) {
		t.Errorf("flash = %q", got)
	}
	opsWait(t, a, "the job to finish", func() bool { return opsJob(t, e, job.ID).Status == models.JobFinished })
	for _, id := range []uint{one, two} {
		opsWait(t, a, "the replays to fail again", func() bool {
			ev := opsEvent(t, a, id)
			return ev.Status == models.StatusFailed && ev.Attempts == 2
		})
	}
	if ev := opsEvent(t, a, foreign); ev.Attempts != 1 {
		t.Errorf("another merchant's event was replayed")
	}
	_, doc, _ = opsGet(t, b, fmt.Sprintf("/replay-jobs/%d", job.ID), http.StatusOK)
	if got := opsText(doc.Find("#job-failed")); got != "2" {
		t.Errorf("failed again = %q", got)
	}

	for _, tc := range []struct {
		name     string
		form     url.Values
		status   int
		headline string
	}{
		{"nothing selected", url.Values{"mode": {"selected"}}, http.StatusUnprocessableEntity, "No events selected"},
		{"only foreign events", url.Values{"mode": {"selected"}, "event_id": {fmt.Sprint(foreign)}}, http.StatusUnprocessableEntity, "No events selected"},
		{"filter matching nothing", url.Values{"mode": {"filter"}, "outcome": {"rejected"}}, http.StatusOK, "No failed or dead events match this filter"},
		{"one match", url.Values{"mode": {"filter"}, "type": {"payment.completed"}, "since": {"2000-01-01"}, "until": {"2100-01-01T00:00"}}, http.StatusOK, "2 failed or dead events match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, doc, _ := opsPost(t, b, "/replay-jobs/preview", tc.form, tc.status)
			if got := opsText(doc.Find("#replay-count")); got != tc.headline {
				t.Errorf("headline = %q, want %q", got, tc.headline)
			}
			hasConfirm := doc.Find(`form[action="/replay-jobs"]`).Length() == 1
			if hasConfirm != (tc.status == http.StatusOK && !strings.HasPrefix(tc.headline, "No ")) {
				t.Errorf("confirm form shown = %v", hasConfirm)
			}
		})
	}
	t.Run("hostile filter text is escaped", func(t *testing.T) {
		_, doc, raw := opsPost(t, b, "/replay-jobs/preview", url.Values{"mode": {"filter"}, "type": {opsHostile}}, http.StatusOK)
		opsAssertSafe(t, doc)
		if strings.Contains(raw, opsHostile) {
			t.Error("hostile type rendered unescaped")
		}
		if got := opsText(doc.Find("#replay-preview .muted")); !strings.Contains(got, "type "+opsHostile) {
			t.Errorf("detail = %q", got)
		}
	})
	for _, form := range []url.Values{{"mode": {"bogus"}}, {"mode": {"selected"}, "event_id": {"x"}}, {"mode": {"filter"}, "since": {"soon"}}} {
		opsPost(t, b, "/replay-jobs/preview", form, http.StatusBadRequest)
	}
	// Confirming a selection that no longer matches sends the user back with a message.
	resp, _, _ = opsPost(t, b, "/replay-jobs", url.Values{"mode": {"filter"}, "outcome": {"rejected"}}, http.StatusSeeOther)
	if got := opsFlash(t, b, resp); got != "Nothing was replayed: no event matches any more." {
		t.Errorf("flash = %q", got)
	}
}

func TestOpsReplayJobsRoles(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	id := opsSendFailed(t, a, e.ep, "evt-roles")
	held := opsHeldJob(t, e, []uint{id})
	path := fmt.Sprintf("/replay-jobs/%d", held.ID)

	for _, r := range opsRoles {
		t.Run(string(r), func(t *testing.T) {
			b := e.as(r)
			_, doc, _ := opsGet(t, b, path, http.StatusOK)
			prog := doc.Find("#replay-job-progress")
			if got, _ := prog.Attr("hx-trigger"); got != "every 1s" {
				t.Errorf("running job hx-trigger = %q", got)
			}
			if got, _ := prog.Attr("hx-get"); got != path {
				t.Errorf("running job hx-get = %q", got)
			}
			wantCancel := 0
			if r.CanOperate() {
				wantCancel = 1
			}
			if got := prog.Find(`form[action="` + path + `/cancel"]`).Length(); got != wantCancel {
				t.Errorf("%d cancel forms, want %d", got, wantCancel)
			}
			_, doc, _ = opsGet(t, b, path, http.StatusOK, opsHX...)
			opsAssertFragment(t, doc, "replay-job-progress")
			if got, _ := doc.Find("#replay-job-progress").Attr("hx-trigger"); got != "every 1s" {
				t.Errorf("running fragment hx-trigger = %q", got)
			}
			_, doc, _ = opsGet(t, b, "/replay-jobs", http.StatusOK)
			opsAssertPage(t, doc, "/deliveries")
			if got := doc.Find("#replay-jobs tbody tr").Length(); got != 1 {
				t.Errorf("%d jobs listed", got)
			}
			if !r.CanOperate() {
				jobs := len(opsAudits(t, a, e.merchant.ID, models.AuditBulkReplay))
				opsPost(t, b, "/replay-jobs/preview", url.Values{"mode": {"filter"}}, http.StatusForbidden)
				opsPost(t, b, "/replay-jobs", url.Values{"mode": {"filter"}}, http.StatusForbidden)
				opsPost(t, b, path+"/cancel", nil, http.StatusForbidden)
				opsPost(t, b, path+"/cancel", nil, http.StatusForbidden, opsHX...)
				var n int64
				a.Store.DB.Model(&models.ReplayJob{}).Count(&n)
				if n != 1 || opsJob(t, e, held.ID).Status != models.JobRunning || len(opsAudits(t, a, e.merchant.ID, models.AuditBulkReplay)) != jobs {
					t.Error("a forbidden request changed something")
				}
			}
		})
	}
	t.Run("another merchant's job is 404", func(t *testing.T) {
		opsGet(t, e.other(), path, http.StatusNotFound)
		opsGet(t, e.other(), path, http.StatusNotFound, opsHX...)
		opsPost(t, e.other(), path+"/cancel", nil, http.StatusNotFound)
		if opsJob(t, e, held.ID).Status != models.JobRunning {
			t.Error("another merchant cancelled the job")
		}
		_, doc, _ := opsGet(t, e.other(), "/replay-jobs", http.StatusOK)
		if got := opsText(doc.Find(".empty-title")); got != "No replay jobs yet" {
			t.Errorf("other merchant's list = %q", got)
		}
	})
}

func TestOpsReplayJobsCancel(t *testing.T) {
	e := opsSetup(t)
	a := e.a
	plainIDs := []uint{opsSendFailed(t, a, e.ep, "evt-c1"), opsSendFailed(t, a, e.ep, "evt-c2")}
	htmxIDs := []uint{opsSendFailed(t, a, e.ep, "evt-c3")}
	plain := opsHeldJob(t, e, plainIDs)
	viaHTMX := opsHeldJob(t, e, htmxIDs)
	b := e.as(models.RoleOperator)

	resp, _, _ := opsPost(t, b, fmt.Sprintf("/replay-jobs/%d/cancel", plain.ID), nil, http.StatusSeeOther)
	if got := opsFlash(t, b, resp); got != fmt.Sprintf("Replay job %d is cancelled after queueing 0 events.", plain.ID) {
		t.Errorf("flash = %q", got)
	}
	j := opsJob(t, e, plain.ID)
	if j.Status != models.JobCancelled || j.CancelledBy != opsEmail(models.RoleOperator) || j.FinishedAt == nil {
		t.Errorf("job = %+v", j)
	}
	_, doc, _ := opsPost(t, e.as(models.RoleAdmin), fmt.Sprintf("/replay-jobs/%d/cancel", viaHTMX.ID), nil, http.StatusOK, opsHX...)
	opsAssertFragment(t, doc, "replay-job-progress")
	if _, polling := doc.Find("#replay-job-progress").Attr("hx-trigger"); polling {
		t.Error("a cancelled job still polls")
	}
	if doc.Find(`#replay-job-progress form`).Length() != 0 {
		t.Error("a cancelled job still offers Cancel")
	}
	if got := opsText(doc.Find(`#flashes[hx-swap-oob] .flash-success`)); got != fmt.Sprintf("Replay job %d is cancelled after queueing 0 events.", viaHTMX.ID) {
		t.Errorf("oob flash = %q", got)
	}
	if got, _ := doc.Find("#replay-job-progress .badge").Attr("data-status"); got != "cancelled" {
		t.Errorf("status = %q", got)
	}
	_, doc, _ = opsPost(t, b, fmt.Sprintf("/replay-jobs/%d/cancel", plain.ID), nil, http.StatusConflict)
	if got := opsText(doc.Find("#error")); !strings.Contains(got, "has already cancelled") {
		t.Errorf("409 = %q", got)
	}
	au := opsAudits(t, a, e.merchant.ID, models.AuditBulkReplayCancel)
	if len(au) != 2 || au[0].ObjectID != fmt.Sprint(plain.ID) || au[0].Actor != opsEmail(models.RoleOperator) ||
		au[0].Detail != "cancelled after 0 of 2 events" || au[1].ObjectID != fmt.Sprint(viaHTMX.ID) {
		t.Errorf("audits = %+v", au)
	}

	// The leases end; a cancelled job is never picked up. A later job runs to completion first-in,
	// first-out, so once it has finished the worker has passed over the cancelled ones.
	a.Store.DB.Model(&models.ReplayJob{}).Where("merchant_id = ?", e.merchant.ID).Update("lease_until", time.Now().UTC().Add(-time.Minute))
	later := opsSendFailed(t, a, e.ep, "evt-c4")
	next, err := a.Store.CreateReplayJob(e.merchant.ID, "op", nil, []uint{later})
	if err != nil {
		t.Fatal(err)
	}
	opsWait(t, a, "the later job to finish", func() bool { return opsJob(t, e, next.ID).Status == models.JobFinished })
	for _, id := range append(plainIDs, htmxIDs...) {
		if ev := opsEvent(t, a, id); ev.Status != models.StatusFailed || ev.Attempts != 1 {
			t.Errorf("event %d of a cancelled job ran: %s, %d attempts", id, ev.Status, ev.Attempts)
		}
	}
	if j := opsJob(t, e, plain.ID); j.Done != 0 || j.Status != models.JobCancelled {
		t.Errorf("cancelled job moved: %+v", j)
	}
}
