package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// opsHostile is sender- or user-controlled text that must always render escaped.
const opsHostile = `<script>alert("ops")</script>`

var opsRoles = []models.Role{models.RoleAdmin, models.RoleOperator, models.RoleSupport}

// opsEnv is a merchant "Acme" with a generic endpoint and users of every role, and a second merchant
// "Other" with its own endpoint and admin. Users are created and signed in on first use, since each
// costs a bcrypt hash and a comparison.
type opsEnv struct {
	t        *testing.T
	a        *testapp.App
	merchant *models.Merchant
	ep       *testapp.Endpoint
	otherEP  *testapp.Endpoint
	browsers map[models.Role]*testapp.Browser
	otherB   *testapp.Browser
}

func opsEmail(role models.Role) string { return "ops-" + string(role) + "@acme.test" }

func opsSetup(t *testing.T) *opsEnv {
	t.Helper()
	a := testapp.New(t)
	e := &opsEnv{t: t, a: a, merchant: a.Merchant("Acme"), browsers: map[models.Role]*testapp.Browser{}}
	e.ep = a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	e.otherEP = a.Endpoint("Other", "generic", "", webhooks.Settings{})
	return e
}

// as returns a browser signed in as Acme's user of role.
func (e *opsEnv) as(role models.Role) *testapp.Browser {
	e.t.Helper()
	if b, ok := e.browsers[role]; ok {
		return b
	}
	e.a.User("Acme", opsEmail(role), role)
	b := e.a.Login(opsEmail(role))
	e.browsers[role] = b
	return b
}

// other returns a browser signed in as Other's admin.
func (e *opsEnv) other() *testapp.Browser {
	e.t.Helper()
	if e.otherB == nil {
		e.a.User("Other", "ops-admin@other.test", models.RoleAdmin)
		e.otherB = e.a.Login("ops-admin@other.test")
	}
	return e.otherB
}

// opsFailingBody is a generic payment event naming no order and no payment: it fails permanently.
func opsFailingBody(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"event":"payment.completed","data":{"amount":"10.00","currency":"USD"}}`, id)
}

// opsSendFailed sends a failing event and waits until the worker has failed it.
func opsSendFailed(t *testing.T, a *testapp.App, ep *testapp.Endpoint, id string) uint {
	t.Helper()
	r := a.Send(ep, opsFailingBody(id))
	if r.Status != http.StatusOK || r.Outcome != models.OutcomeAccepted {
		t.Fatalf("send %s: %+v", id, r)
	}
	a.WaitStatus(r.EventID, models.StatusFailed)
	return r.EventID
}

// opsSendOK sends a payment for ref and waits until it is processed.
func opsSendOK(t *testing.T, a *testapp.App, ep *testapp.Endpoint, ref string) testapp.Reply {
	t.Helper()
	r := a.SendSample(ep, "payment.completed", webhooks.SampleParams{OrderRef: ref})
	if r.Status != http.StatusOK || r.Outcome != models.OutcomeAccepted {
		t.Fatalf("send %s: %+v", ref, r)
	}
	a.WaitStatus(r.EventID, models.StatusProcessed)
	return r
}

// opsSendRejected posts an unsigned body, which the endpoint rejects.
func opsSendRejected(t *testing.T, a *testapp.App, ep *testapp.Endpoint, body string) testapp.Reply {
	t.Helper()
	r := a.Post(ep.URL, http.Header{}, []byte(body))
	if r.Outcome != models.OutcomeRejected {
		t.Fatalf("unsigned post: %+v", r)
	}
	return r
}

func opsDoc(t *testing.T, body string) *goquery.Document {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse html: %v", err)
	}
	return doc
}

func opsSnippet(body string) string {
	if len(body) > 600 {
		return body[:600] + "…"
	}
	return body
}

func opsGet(t *testing.T, b *testapp.Browser, path string, want int, headers ...string) (*http.Response, *goquery.Document, string) {
	t.Helper()
	resp, body := b.Get(path, headers...)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d: %s", path, resp.StatusCode, want, opsSnippet(body))
	}
	return resp, opsDoc(t, body), body
}

func opsPost(t *testing.T, b *testapp.Browser, path string, form url.Values, want int, headers ...string) (*http.Response, *goquery.Document, string) {
	t.Helper()
	resp, body := b.PostForm(path, form, headers...)
	if resp.StatusCode != want {
		t.Fatalf("POST %s: status %d, want %d: %s", path, resp.StatusCode, want, opsSnippet(body))
	}
	return resp, opsDoc(t, body), body
}

// opsHX are the headers of a plain htmx request.
var opsHX = []string{"HX-Request", "true"}

// opsAssertPage checks a full dashboard page: the layout, the active nav entry, the CSP rules.
func opsAssertPage(t *testing.T, doc *goquery.Document, navHref string) {
	t.Helper()
	if doc.Find("main#main").Length() != 1 {
		t.Fatal("not a full page: no <main id=main>")
	}
	if got, _ := doc.Find(`nav.nav a[aria-current="page"]`).Attr("href"); got != navHref {
		t.Errorf("active nav = %q, want %q", got, navHref)
	}
	opsAssertSafe(t, doc)
}

// opsAssertFragment checks an htmx answer: no layout, and the fragment root with id.
func opsAssertFragment(t *testing.T, doc *goquery.Document, rootID string) {
	t.Helper()
	if doc.Find("main#main").Length() != 0 || doc.Find("nav.nav").Length() != 0 {
		t.Fatal("fragment carries the layout")
	}
	if doc.Find("#"+rootID).Length() != 1 {
		t.Fatalf("fragment has no #%s", rootID)
	}
	opsAssertSafe(t, doc)
}

// opsAssertSafe checks the CSP rules and that hostile text never became markup.
func opsAssertSafe(t *testing.T, doc *goquery.Document) {
	t.Helper()
	doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		if src, _ := s.Attr("src"); src == "" {
			t.Errorf("inline <script>: %q", s.Text())
		}
	})
	if n := doc.Find("[style]").Length(); n > 0 {
		t.Errorf("%d elements carry a style attribute", n)
	}
	doc.Find("*").Each(func(_ int, s *goquery.Selection) {
		for _, a := range s.Nodes[0].Attr {
			if strings.HasPrefix(a.Key, "hx-on") || strings.HasPrefix(a.Key, "on") {
				t.Errorf("inline handler attribute %s on <%s>", a.Key, goquery.NodeName(s))
			}
		}
	})
}

// opsAudits lists a merchant's audit entries of one action, oldest first.
func opsAudits(t *testing.T, a *testapp.App, merchantID uint, action string) []models.AuditEntry {
	t.Helper()
	var es []models.AuditEntry
	if err := a.Store.DB.Where("merchant_id = ? AND action = ?", merchantID, action).Order("id").Find(&es).Error; err != nil {
		t.Fatal(err)
	}
	return es
}

// opsEvent reloads an event.
func opsEvent(t *testing.T, a *testapp.App, id uint) *models.Event {
	t.Helper()
	ev, err := a.Store.EventByID(id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// opsFlash follows a 303 and returns the flash the next page shows.
func opsFlash(t *testing.T, b *testapp.Browser, resp *http.Response) string {
	t.Helper()
	loc := resp.Header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location on %d", resp.StatusCode)
	}
	_, doc, _ := opsGet(t, b, loc, http.StatusOK)
	return strings.TrimSpace(doc.Find("#flashes .flash").Text())
}

func opsText(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

// opsWait polls cond for up to five seconds.
func opsWait(t *testing.T, a *testapp.App, what string, cond func() bool) {
	t.Helper()
	a.WaitFor(what, 5*time.Second, cond)
}

// opsDelivery loads a stored delivery.
func opsDelivery(t *testing.T, a *testapp.App, id uint) *models.Delivery {
	t.Helper()
	var d models.Delivery
	if err := a.Store.DB.Take(&d, id).Error; err != nil {
		t.Fatalf("delivery %d: %v", id, err)
	}
	return &d
}

// opsAttempts lists an event's attempts, oldest first.
func opsAttempts(t *testing.T, a *testapp.App, eventID uint) []models.Attempt {
	t.Helper()
	as, err := a.Store.EventAttempts(eventID)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// opsIngestRejected stores a rejected delivery received at at through the app's ingester, as a
// request would be stored (and counted), for tests that need a delivery in the past.
func opsIngestRejected(t *testing.T, a *testapp.App, ep *testapp.Endpoint, at time.Time, reason string) *models.Delivery {
	t.Helper()
	st, err := a.Ingester.Store(t.Context(), &models.Incoming{Delivery: models.Delivery{MerchantID: ep.MerchantID, EndpointID: ep.ID,
		ReceivedAt: at, RemoteAddr: "198.51.100.7", Outcome: models.OutcomeRejected, Reason: reason, StatusCode: http.StatusUnauthorized,
		Body: []byte("x"), BodySize: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return opsDelivery(t, a, st.DeliveryID)
}
