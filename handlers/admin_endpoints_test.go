package handlers_test

import (
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
	"hooklog/webhooks"
)

// adminSender is an endpoint as a provider holding secret would send to it.
func adminSender(t *testing.T, a *testapp.App, ep *models.Endpoint, secret string) *testapp.Endpoint {
	t.Helper()
	p, err := ep.Profile()
	if err != nil {
		t.Fatal(err)
	}
	return &testapp.Endpoint{Endpoint: ep, URL: ep.IngestURL(a.URL), Secret: secret, Profile: p}
}

// adminSampleType is a sample type every provider's profile offers first.
func adminSampleType(t *testing.T, ep *models.Endpoint) string {
	t.Helper()
	p, err := ep.Profile()
	if err != nil {
		t.Fatal(err)
	}
	return p.SampleTypes()[0]
}

func adminEndpointPath(id uint, rest ...string) string {
	return "/endpoints/" + strconv.FormatUint(uint64(id), 10) + strings.Join(append([]string{""}, rest...), "/")
}

func TestAdminEndpointsList(t *testing.T) {
	t.Parallel()
	a := testapp.New(t)
	a.User("Acme", "admin@acme.test", models.RoleAdmin)
	b := a.Login("admin@acme.test")

	_, doc, _ := adminGet(t, b, "/endpoints", http.StatusOK)
	adminIsPage(t, doc, "/endpoints")
	if got := adminText(doc, ".empty .empty-title"); got != "Register your first endpoint" {
		t.Errorf("empty state title = %q", got)
	}
	if href, _ := doc.Find(".empty .empty-action a.btn").Attr("href"); href != "/endpoints/new" {
		t.Errorf("empty state button links to %q", href)
	}

	busy := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	// A rejection more than 24 hours ago counts for the last delivery but not in the figures.
	if r := a.Post(busy.URL, http.Header{"X-Signature": {strings.Repeat("00", 32)}}, []byte(`{}`)); r.Status != http.StatusUnauthorized {
		t.Fatalf("old rejected delivery: %+v", r)
	}
	a.Advance(25 * time.Hour)
	if r := a.SendSample(busy, "payment.completed", webhooks.SampleParams{}); r.Status != http.StatusOK {
		t.Fatalf("accepted delivery: %+v", r)
	}
	if r := a.Post(busy.URL, http.Header{"X-Signature": {strings.Repeat("00", 32)}}, []byte(`{}`)); r.Status != http.StatusUnauthorized {
		t.Fatalf("rejected delivery: %+v", r)
	}
	quiet, _, err := a.Store.CreateEndpoint(busy.MerchantID, models.EndpointInput{Name: adminHostile, Provider: "stripe"}, adminStripeSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store.SetEndpointEnabled(busy.MerchantID, quiet.ID, false); err != nil {
		t.Fatal(err)
	}
	other := a.Endpoint("Globex", "generic", "", webhooks.Settings{})
	var last models.Delivery
	if err := a.Store.DB.Where("endpoint_id = ?", busy.ID).Order("id DESC").Take(&last).Error; err != nil {
		t.Fatal(err)
	}

	b = a.Login("admin@acme.test") // the clock moved past the first session's idle limit
	_, doc, body := adminGet(t, b, "/endpoints", http.StatusOK)
	if strings.Contains(body, adminHostile) {
		t.Errorf("hostile endpoint name rendered unescaped")
	}
	if doc.Find("#endpoint-"+strconv.FormatUint(uint64(other.ID), 10)).Length() != 0 {
		t.Errorf("another merchant's endpoint is listed")
	}
	cases := []struct {
		id                                 uint
		name, provider, state, ingest      string
		lastAt                             string // datetime attribute, "" for never
		deliveries, rejected, rejectedHint string
	}{
		{busy.ID, "generic endpoint", "generic", "enabled", busy.IngestURL(a.URL), last.ReceivedAt.UTC().Format(time.RFC3339), "2", "50.0%", "1 rejected"},
		{quiet.ID, adminHostile, "stripe", "disabled", quiet.IngestURL(a.URL), "", "0", "—", "0 rejected"},
	}
	rows := doc.Find("#endpoints-table tbody tr")
	if rows.Length() != len(cases) {
		t.Fatalf("%d rows, want %d", rows.Length(), len(cases))
	}
	for _, tc := range cases {
		row := doc.Find("#endpoint-" + strconv.FormatUint(uint64(tc.id), 10))
		cells := row.Find("td")
		if got := strings.TrimSpace(cells.Eq(0).Text()); got != tc.name {
			t.Errorf("endpoint %d name = %q, want %q", tc.id, got, tc.name)
		}
		if href, _ := cells.Eq(0).Find("a").Attr("href"); href != adminEndpointPath(tc.id) {
			t.Errorf("endpoint %d links to %q", tc.id, href)
		}
		if got := strings.TrimSpace(cells.Eq(1).Text()); got != tc.provider {
			t.Errorf("endpoint %d provider = %q, want %q", tc.id, got, tc.provider)
		}
		if got, _ := cells.Eq(2).Find(".badge").Attr("data-state"); got != tc.state {
			t.Errorf("endpoint %d state = %q, want %q", tc.id, got, tc.state)
		}
		if got := strings.TrimSpace(cells.Eq(3).Text()); got != tc.ingest {
			t.Errorf("endpoint %d ingest URL = %q, want %q", tc.id, got, tc.ingest)
		}
		gotLast, hasTime := cells.Eq(4).Find("time").Attr("datetime")
		if tc.lastAt == "" && (hasTime || strings.TrimSpace(cells.Eq(4).Text()) != "never") {
			t.Errorf("endpoint %d last delivery = %q, want never", tc.id, cells.Eq(4).Text())
		}
		if tc.lastAt != "" && gotLast != tc.lastAt {
			t.Errorf("endpoint %d last delivery = %q, want %q", tc.id, gotLast, tc.lastAt)
		}
		if got := strings.TrimSpace(cells.Eq(5).Text()); got != tc.deliveries {
			t.Errorf("endpoint %d deliveries = %q, want %q", tc.id, got, tc.deliveries)
		}
		if got := strings.TrimSpace(cells.Eq(6).Text()); got != tc.rejected {
			t.Errorf("endpoint %d rejection rate = %q, want %q", tc.id, got, tc.rejected)
		}
		if got, _ := cells.Eq(6).Attr("title"); got != tc.rejectedHint {
			t.Errorf("endpoint %d rejection hint = %q, want %q", tc.id, got, tc.rejectedHint)
		}
	}

	_, body = b.Get("/endpoints", "HX-Request", "true")
	frag := adminIsFragment(t, body, "endpoints-table")
	if frag.Find("#endpoints-table tbody tr").Length() != len(cases) {
		t.Errorf("fragment lists %d endpoints", frag.Find("#endpoints-table tbody tr").Length())
	}
}

func TestAdminEndpointNewForm(t *testing.T) {
	t.Parallel()
	_, b, _ := adminSetup(t)
	for _, hx := range []bool{false, true} {
		var headers []string
		if hx {
			headers = []string{"HX-Request", "true"}
		}
		_, doc, body := adminGet(t, b, "/endpoints/new", http.StatusOK, headers...)
		if hx {
			doc = adminIsFragment(t, body, "endpoint-form")
		} else {
			adminIsPage(t, doc, "/endpoints")
		}
		form := doc.Find("form#endpoint-form")
		if got, _ := form.Attr("action"); got != "/endpoints" {
			t.Errorf("form posts to %q", got)
		}
		var providers []string
		form.Find("#ep-provider option").Each(func(_ int, s *goquery.Selection) {
			if v, _ := s.Attr("value"); v != "" {
				providers = append(providers, v)
			}
		})
		if !slices.Equal(providers, webhooks.Providers()) {
			t.Errorf("providers = %v", providers)
		}
		if n := form.Find(".provider-help li[data-provider]").Length(); n != len(webhooks.Providers()) {
			t.Errorf("%d provider help lines", n)
		}
		if !strings.Contains(adminText(doc, "#ep-secret-hint"), "Stripe issues its own secret") {
			t.Errorf("secret hint = %q", adminText(doc, "#ep-secret-hint"))
		}
		for _, name := range []string{"name", "provider", "secret", "hmac_header", "algorithm", "encoding", "prefix", "path_id", "path_type",
			"path_order", "path_payment", "path_amount", "path_currency", "path_email", "path_phone", "type_map"} {
			if form.Find(`[name="`+name+`"]`).Length() != 1 {
				t.Errorf("form has no %s field", name)
			}
		}
		if form.Find(`input[name="csrf_token"]`).Length() != 1 {
			t.Errorf("form has no CSRF field")
		}
	}
}

func TestAdminEndpointCreate(t *testing.T) {
	t.Parallel()
	a, b, admin := adminSetup(t)
	custom := webhooks.Settings{
		HMAC: webhooks.HMACConfig{Header: "X-Custom-Sig", Algorithm: "sha512", Encoding: "base64", Prefix: "v1="},
		Fields: webhooks.FieldMap{ID: "meta.id", Type: "meta.kind", OrderRef: "order.ref", PaymentID: "pay.id", Amount: "pay.amount",
			Currency: "pay.currency", CustomerEmail: "buyer.email", CustomerPhone: "buyer.phone",
			Types: map[string]webhooks.Canonical{"order.paid": webhooks.PaymentSucceeded, "order.cancelled": webhooks.PaymentFailed}},
	}
	cases := []struct {
		name         string
		form         url.Values
		status       int
		wantSettings webhooks.Settings // created endpoints
		wantSecret   string            // "" = generated
		errSel       string            // 422: the element that carries the error
		errText      string
	}{
		{name: "generic with a generated secret", status: http.StatusCreated,
			form:         url.Values{"name": {"Shop"}, "provider": {"generic"}, "algorithm": {"sha256"}, "encoding": {"hex"}, "path_id": {"ignored.for.generic"}},
			wantSettings: webhooks.Settings{HMAC: webhooks.HMACConfig{Algorithm: "sha256", Encoding: "hex"}}},
		{name: "stripe with its pasted secret", status: http.StatusCreated,
			form:       url.Values{"name": {"Stripe live"}, "provider": {"stripe"}, "secret": {"  " + adminStripeSecret + " "}, "hmac_header": {"X-Ignored"}},
			wantSecret: adminStripeSecret},
		{name: "custom with paths and types", status: http.StatusCreated, wantSettings: custom,
			form: url.Values{"name": {"Own shop"}, "provider": {"custom"}, "hmac_header": {"X-Custom-Sig"}, "algorithm": {"sha512"}, "encoding": {"base64"},
				"prefix": {"v1="}, "path_id": {"meta.id"}, "path_type": {"meta.kind"}, "path_order": {"order.ref"}, "path_payment": {"pay.id"},
				"path_amount": {"pay.amount"}, "path_currency": {"pay.currency"}, "path_email": {"buyer.email"}, "path_phone": {"buyer.phone"},
				"type_map": {"order.paid=payment.succeeded\r\n\r\n order.cancelled = payment.failed \n"}}},
		{name: "hostile name", status: http.StatusCreated, form: url.Values{"name": {adminHostile}, "provider": {"standard"}}},
		{name: "stripe without a secret", status: http.StatusUnprocessableEntity, errSel: "#ep-secret-error", errText: "Paste the signing secret stripe shows you",
			form: url.Values{"name": {"Stripe test"}, "provider": {"stripe"}}},
		{name: "no name", status: http.StatusUnprocessableEntity, errSel: "#ep-name-error", errText: "Give the endpoint a name",
			form: url.Values{"name": {"  "}, "provider": {"generic"}}},
		{name: "unknown provider", status: http.StatusUnprocessableEntity, errSel: "#ep-provider-error", errText: "Choose one of",
			form: url.Values{"name": {"Paypal"}, "provider": {"paypal"}}},
		{name: "type mapped to no canonical event", status: http.StatusUnprocessableEntity, errSel: "#ep-type-map-error", errText: `Line 2: "paid" is not a canonical event.`,
			form: url.Values{"name": {"Own shop"}, "provider": {"custom"}, "type_map": {"order.refunded=refund.completed\norder.paid=paid"}}},
		{name: "invalid header name", status: http.StatusUnprocessableEntity, errSel: "#ep-settings-error", errText: "is not a valid header name",
			form: url.Values{"name": {"Generic"}, "provider": {"generic"}, "hmac_header": {"X Bad Header"}}},
		{name: "invalid algorithm", status: http.StatusUnprocessableEntity, errSel: "#ep-algorithm-error", errText: "Algorithm must be sha256 or sha512.",
			form: url.Values{"name": {"Generic"}, "provider": {"careempay"}, "algorithm": {"md5"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := a.Store.Endpoints(admin.MerchantID)
			_, doc, body := adminPost(t, b, "/endpoints", tc.form, tc.status)
			after, _ := a.Store.Endpoints(admin.MerchantID)
			if tc.status != http.StatusCreated {
				if len(after) != len(before) {
					t.Errorf("an endpoint was created")
				}
				if got := adminText(doc, tc.errSel); !strings.Contains(got, tc.errText) {
					t.Errorf("error %s = %q, want %q", tc.errSel, got, tc.errText)
				}
				if got, _ := doc.Find("#ep-name").Attr("value"); got != tc.form.Get("name") {
					t.Errorf("name not kept: %q", got)
				}
				if got, _ := doc.Find("#ep-provider option[selected]").Attr("value"); got != tc.form.Get("provider") && tc.form.Get("provider") != "paypal" {
					t.Errorf("provider not kept: %q", got)
				}
				if got := doc.Find("#ep-type-map").Text(); got != tc.form.Get("type_map") {
					t.Errorf("type map not kept: %q", got)
				}
				if got, _ := doc.Find("#ep-secret").Attr("value"); got != tc.form.Get("secret") {
					t.Errorf("secret not kept: %q", got)
				}
				return
			}
			if len(after) != len(before)+1 {
				t.Fatalf("%d endpoints, want %d", len(after), len(before)+1)
			}
			var ep models.Endpoint
			if err := a.Store.DB.Order("id DESC").Take(&ep).Error; err != nil {
				t.Fatal(err)
			}
			if ep.Name != strings.TrimSpace(tc.form.Get("name")) || ep.Provider != tc.form.Get("provider") || !ep.Enabled || ep.MerchantID != admin.MerchantID {
				t.Errorf("stored endpoint = %+v", ep)
			}
			if fmt.Sprint(ep.Settings) != fmt.Sprint(tc.wantSettings) {
				t.Errorf("settings = %+v, want %+v", ep.Settings, tc.wantSettings)
			}
			if strings.Contains(body, adminHostile) {
				t.Errorf("hostile name rendered unescaped")
			}
			if got := adminText(doc, "#endpoint-header h1"); got != ep.Name {
				t.Errorf("heading = %q, want %q", got, ep.Name)
			}
			if got := adminText(doc, "#ingest-url"); got != ep.IngestURL(a.URL) {
				t.Errorf("ingest URL = %q, want %q", got, ep.IngestURL(a.URL))
			}
			if doc.Find(`button[data-copy="ingest-url"]`).Length() != 1 || doc.Find(`button[data-copy="new-secret"]`).Length() != 1 {
				t.Errorf("copy buttons missing")
			}
			secret := adminText(doc, "#new-secret")
			if tc.wantSecret != "" && secret != tc.wantSecret {
				t.Errorf("shown secret = %q, want %q", secret, tc.wantSecret)
			}
			if tc.wantSecret == "" && len(secret) < 32 {
				t.Errorf("generated secret = %q", secret)
			}
			if note := adminText(doc, "#new-secret-box .once-note"); !strings.Contains(note, "reveal it later, which is audited") {
				t.Errorf("secret note = %q", note)
			}
			if got := adminText(doc, "#flashes"); got != "Endpoint created. Give the provider its ingest URL and secret." {
				t.Errorf("flash = %q", got)
			}
			// The shown secret is the one that verifies deliveries.
			sender := adminSender(t, a, &ep, secret)
			if r := a.SendSample(sender, adminSampleType(t, &ep), webhooks.SampleParams{}); r.Status != http.StatusOK || r.Outcome != models.OutcomeAccepted {
				t.Errorf("delivery signed with the shown secret: %+v", r)
			}
			audits := adminAudits(t, a, admin.MerchantID, models.AuditEndpointCreate)
			got := audits[len(audits)-1]
			if got.Actor != admin.Email || got.ObjectType != "endpoint" || got.ObjectID != strconv.FormatUint(uint64(ep.ID), 10) ||
				got.Detail != ep.Name+" ("+ep.Provider+")" || got.RemoteAddr != "127.0.0.1" {
				t.Errorf("audit = %+v", got)
			}
			// Shown once: the endpoint's page does not show it again.
			_, _, page := adminGet(t, b, adminEndpointPath(ep.ID), http.StatusOK)
			if strings.Contains(page, secret) {
				t.Errorf("the secret is shown again on the endpoint page")
			}
		})
	}
}

func TestAdminEndpointPage(t *testing.T) {
	t.Parallel()
	a, b, admin := adminSetup(t)
	ep := a.Endpoint("Acme", "careempay", "", webhooks.Settings{HMAC: webhooks.HMACConfig{Header: "X-Careem-Sig", Algorithm: "sha512", Encoding: "base64"},
		Tolerance: 10 * time.Minute})
	path := adminEndpointPath(ep.ID)

	for _, hx := range []bool{false, true} {
		var headers []string
		if hx {
			headers = []string{"HX-Request", "true"}
		}
		_, doc, body := adminGet(t, b, path, http.StatusOK, headers...)
		if hx {
			doc = adminIsFragment(t, body, "endpoint-header")
		} else {
			adminIsPage(t, doc, "/endpoints")
		}
		checks := []struct{ what, got, want string }{
			{"heading", adminText(doc, "#endpoint-header h1"), "careempay endpoint"},
			{"state", doc.Find("#endpoint-header .badge").AttrOr("data-state", ""), "enabled"},
			{"ingest URL", adminText(doc, "#ingest-url"), ep.URL},
			{"signature header", adminText(doc, "#endpoint-ingest dd code"), "X-Careem-Sig"},
			{"secret rows", strconv.Itoa(doc.Find("#endpoint-secrets tbody tr").Length()), "1"},
			{"secret hint", adminText(doc, "#endpoint-secrets tbody td code"), "…" + ep.Secret[len(ep.Secret)-4:]},
			{"secret state", doc.Find("#endpoint-secrets tbody .badge").AttrOr("data-state", ""), "valid"},
			{"secret expiry", adminText(doc, "#endpoint-secrets tbody td:nth-child(3)"), "never"},
			{"test types", strings.Join(doc.Find("#test-type option").Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("value", "") }), ","),
				strings.Join(ep.Profile.SampleTypes(), ",")},
			{"form action", doc.Find("#endpoint-form").AttrOr("action", ""), path},
			{"form name", doc.Find("#ep-name").AttrOr("value", ""), "careempay endpoint"},
			{"form provider", doc.Find("#ep-provider option[selected]").AttrOr("value", ""), "careempay"},
			{"form header", doc.Find("#ep-hmac-header").AttrOr("value", ""), "X-Careem-Sig"},
			{"form algorithm", doc.Find("#ep-algorithm option[selected]").AttrOr("value", ""), "sha512"},
			{"form encoding", doc.Find("#ep-encoding option[selected]").AttrOr("value", ""), "base64"},
			{"no secret field when editing", strconv.Itoa(doc.Find("#endpoint-form #ep-secret").Length()), "0"},
			{"disable button", doc.Find(`form[action="`+path+`/disable"]`).AttrOr("data-confirm", ""), "Disable this endpoint? Its deliveries will be rejected with 410 until you enable it again."},
			{"grace default", doc.Find("#rotate-grace option[selected]").AttrOr("value", ""), "24h"},
			{"recent empty", adminText(doc, "#endpoint-recent p"), "No deliveries yet. Send a test event, or point your provider at the ingest URL."},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("hx=%v %s = %q, want %q", hx, c.what, c.got, c.want)
			}
		}
		if strings.Contains(body, ep.Secret) {
			t.Errorf("the page shows the secret unasked")
		}
	}

	t.Run("update", func(t *testing.T) {
		resp, _, _ := adminPost(t, b, path, url.Values{"name": {"Careem renamed"}, "provider": {"custom"}, "hmac_header": {"X-Careem-Sig"},
			"algorithm": {"sha256"}, "encoding": {"hex"}, "path_order": {"order.ref"}, "type_map": {"paid=payment.succeeded"}}, http.StatusSeeOther)
		if got := resp.Header.Get("Location"); got != path {
			t.Errorf("redirect to %q", got)
		}
		if got := adminFlash(t, b, resp); got != "Endpoint saved." {
			t.Errorf("flash = %q", got)
		}
		got, err := a.Store.Endpoint(admin.MerchantID, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := webhooks.Settings{HMAC: webhooks.HMACConfig{Header: "X-Careem-Sig", Algorithm: "sha256", Encoding: "hex"},
			Fields:    webhooks.FieldMap{OrderRef: "order.ref", Types: map[string]webhooks.Canonical{"paid": webhooks.PaymentSucceeded}},
			Tolerance: 10 * time.Minute}
		if got.Name != "Careem renamed" || got.Provider != "custom" || fmt.Sprint(got.Settings) != fmt.Sprint(want) {
			t.Errorf("stored = %+v", got)
		}
		audits := adminAudits(t, a, admin.MerchantID, models.AuditEndpointUpdate)
		if len(audits) != 1 || audits[0].Detail != `name "careempay endpoint" → "Careem renamed"; provider careempay → custom; settings changed` ||
			audits[0].ObjectID != strconv.FormatUint(uint64(ep.ID), 10) || audits[0].Actor != admin.Email {
			t.Errorf("audits = %+v", audits)
		}
		_, doc, _ := adminGet(t, b, path, http.StatusOK)
		if got := doc.Find("#ep-type-map").Text(); got != "paid=payment.succeeded" {
			t.Errorf("type map shown as %q", got)
		}
	})

	t.Run("invalid update keeps the input", func(t *testing.T) {
		before, _ := a.Store.Endpoint(admin.MerchantID, ep.ID)
		_, doc, _ := adminPost(t, b, path, url.Values{"name": {""}, "provider": {"generic"}, "hmac_header": {"X-New"}}, http.StatusUnprocessableEntity)
		if got := adminText(doc, "#ep-name-error"); !strings.HasPrefix(got, "Give the endpoint a name") {
			t.Errorf("name error = %q", got)
		}
		if got := doc.Find("#ep-provider option[selected]").AttrOr("value", ""); got != "generic" {
			t.Errorf("provider not kept: %q", got)
		}
		if got := doc.Find("#ep-hmac-header").AttrOr("value", ""); got != "X-New" {
			t.Errorf("header not kept: %q", got)
		}
		if got := adminText(doc, "#endpoint-header h1"); got != "Careem renamed" {
			t.Errorf("heading = %q, want the stored name", got)
		}
		after, _ := a.Store.Endpoint(admin.MerchantID, ep.ID)
		if fmt.Sprint(*before) != fmt.Sprint(*after) {
			t.Errorf("endpoint changed: %+v", after)
		}
	})
}

func TestAdminSecretReveal(t *testing.T) {
	t.Parallel()
	a, b, admin := adminSetup(t)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	second := a.Endpoint("Acme", "standard", "", webhooks.Settings{})
	secrets, err := a.Store.Secrets(ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	sid := strconv.FormatUint(uint64(secrets[0].ID), 10)
	path := adminEndpointPath(ep.ID, "secrets", sid, "reveal")

	cases := []struct {
		name    string
		headers []string
		sel     string
	}{
		{"plain form: the page with the secret shown", nil, "#secret-" + sid + "-value-plain"},
		{"htmx: the value cell alone", []string{"HX-Request", "true"}, "#secret-" + sid + "-value code"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, doc, body := adminPost(t, b, path, nil, http.StatusOK, tc.headers...)
			if tc.headers == nil {
				adminIsPage(t, doc, "/endpoints")
			} else {
				doc = adminIsFragment(t, body, "secret-"+sid+"-value")
			}
			if got := adminText(doc, tc.sel); got != ep.Secret {
				t.Errorf("revealed %q, want the secret", got)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
			audits := adminAudits(t, a, admin.MerchantID, models.AuditSecretReveal)
			if len(audits) != i+1 {
				t.Fatalf("%d reveal audits, want %d", len(audits), i+1)
			}
			got := audits[i]
			if got.Actor != admin.Email || got.ObjectType != "endpoint" || got.ObjectID != strconv.FormatUint(uint64(ep.ID), 10) ||
				got.Detail != "secret #"+sid || got.RemoteAddr != "127.0.0.1" {
				t.Errorf("audit = %+v", got)
			}
		})
	}

	// The plaintext is nowhere at rest: not in the audit log, not in any table, not in the WAL.
	_, _, auditPage := adminGet(t, b, "/audit", http.StatusOK)
	if strings.Contains(auditPage, ep.Secret) {
		t.Errorf("the audit page shows the secret")
	}
	if adminDatabaseContains(t, a, ep.Secret) {
		t.Errorf("the plaintext secret is stored in the database")
	}

	other := strconv.FormatUint(uint64(adminSecretID(t, a, second.ID)), 10)
	for _, p := range []string{
		adminEndpointPath(ep.ID, "secrets", other, "reveal"), // a secret of another endpoint
		adminEndpointPath(ep.ID, "secrets", "x", "reveal"),
		adminEndpointPath(ep.ID, "secrets", "0", "reveal"),
	} {
		adminPost(t, b, p, nil, http.StatusNotFound)
	}
	if n := len(adminAudits(t, a, admin.MerchantID, models.AuditSecretReveal)); n != len(cases) {
		t.Errorf("%d reveal audits after refused reveals, want %d", n, len(cases))
	}
}

func adminSecretID(t *testing.T, a *testapp.App, endpointID uint) uint {
	t.Helper()
	ss, err := a.Store.Secrets(endpointID)
	if err != nil || len(ss) == 0 {
		t.Fatalf("secrets of %d: %v", endpointID, err)
	}
	return ss[0].ID
}

func TestAdminSecretRotate(t *testing.T) {
	t.Parallel()
	a, b, admin := adminSetup(t)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	path := adminEndpointPath(ep.ID, "rotate")
	send := func(secret string) int {
		t.Helper()
		return a.SendSample(adminSender(t, a, ep.Endpoint, secret), "payment.completed", webhooks.SampleParams{}).Status
	}

	// A generated secret with an hour of grace: both secrets verify.
	resp, doc, _ := adminPost(t, b, path, url.Values{"secret": {""}, "grace": {"1h"}}, http.StatusOK)
	second := adminText(doc, "#new-secret")
	if len(second) != 64 || second == ep.Secret {
		t.Fatalf("new secret = %q", second)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	if got := adminText(doc, "#flashes"); !strings.HasPrefix(got, "Secret rotated. The previous secrets keep working until ") {
		t.Errorf("flash = %q", got)
	}
	if got := send(ep.Secret); got != http.StatusOK {
		t.Errorf("old secret within the grace period: %d, want 200", got)
	}
	if got := send(second); got != http.StatusOK {
		t.Errorf("new secret: %d, want 200", got)
	}

	// A pasted secret with no grace: every earlier secret stops at once.
	const third = "pasted-secret-0123456789abcdef"
	_, doc, _ = adminPost(t, b, path, url.Values{"secret": {third}, "grace": {"0"}}, http.StatusOK)
	if got := adminText(doc, "#new-secret"); got != third {
		t.Errorf("new secret = %q, want the pasted one", got)
	}
	if got := adminText(doc, "#flashes"); got != "Secret rotated. The previous secrets stopped working." {
		t.Errorf("flash = %q", got)
	}
	for _, tc := range []struct {
		secret string
		want   int
	}{{ep.Secret, http.StatusUnauthorized}, {second, http.StatusUnauthorized}, {third, http.StatusOK}} {
		if got := send(tc.secret); got != tc.want {
			t.Errorf("secret …%s: %d, want %d", tc.secret[len(tc.secret)-4:], got, tc.want)
		}
	}
	var states []string
	doc.Find("#endpoint-secrets tbody .badge").Each(func(_ int, s *goquery.Selection) { states = append(states, s.AttrOr("data-state", "")) })
	if strings.Join(states, ",") != "valid,expired,expired" {
		t.Errorf("secret states = %v", states)
	}
	audits := adminAudits(t, a, admin.MerchantID, models.AuditSecretRotate)
	if len(audits) != 2 || !strings.HasPrefix(audits[0].Detail, "old secrets expire at 20") || audits[1].Detail != "old secrets expire at once" ||
		audits[1].ObjectID != strconv.FormatUint(uint64(ep.ID), 10) || audits[1].Actor != admin.Email {
		t.Errorf("audits = %+v", audits)
	}
	for _, e := range audits {
		if strings.Contains(e.Detail, second) || strings.Contains(e.Detail, third) {
			t.Errorf("audit detail holds a secret: %q", e.Detail)
		}
	}

	stripe := a.Endpoint("Acme", "stripe", adminStripeSecret, webhooks.Settings{})
	refused := []struct {
		name, grace, errText string
	}{
		{"stripe issues its own secrets", "24h", "Paste the new signing secret stripe shows you; it issues its own."},
		{"unknown grace period", "5m", "Choose how long the old secrets keep working."},
	}
	errSel := map[string]string{"24h": "#rotate-secret-error", "5m": "#rotate-grace-error"}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, doc, _ := adminPost(t, b, adminEndpointPath(stripe.ID, "rotate"), url.Values{"secret": {""}, "grace": {tc.grace}}, http.StatusUnprocessableEntity)
			if got := adminText(doc, errSel[tc.grace]); got != tc.errText {
				t.Errorf("error = %q, want %q", got, tc.errText)
			}
			if ss, _ := a.Store.Secrets(stripe.ID); len(ss) != 1 || ss[0].ExpiresAt != nil {
				t.Errorf("secrets changed: %+v", ss)
			}
		})
	}
}

func TestAdminEndpointEnableDisable(t *testing.T) {
	t.Parallel()
	a, b, admin := adminSetup(t)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	cases := []struct {
		action, flash, auditAction string
		enabled                    bool
		ingest                     int
		button                     string
	}{
		{"disable", "Endpoint disabled: its deliveries are now rejected with 410.", models.AuditEndpointDisable, false, http.StatusGone, "enable"},
		{"enable", "Endpoint enabled: it accepts deliveries again.", models.AuditEndpointEnable, true, http.StatusOK, "disable"},
	}
	for _, tc := range cases {
		t.Run(tc.action, func(t *testing.T) {
			resp, _, _ := adminPost(t, b, adminEndpointPath(ep.ID, tc.action), nil, http.StatusSeeOther)
			if got := adminFlash(t, b, resp); got != tc.flash {
				t.Errorf("flash = %q", got)
			}
			got, _ := a.Store.Endpoint(admin.MerchantID, ep.ID)
			if got.Enabled != tc.enabled {
				t.Errorf("enabled = %v", got.Enabled)
			}
			if r := a.SendSample(ep, "payment.completed", webhooks.SampleParams{}); r.Status != tc.ingest {
				t.Errorf("ingest answered %d, want %d", r.Status, tc.ingest)
			}
			audits := adminAudits(t, a, admin.MerchantID, tc.auditAction)
			if len(audits) != 1 || audits[0].ObjectID != strconv.FormatUint(uint64(ep.ID), 10) || audits[0].Detail != ep.Name {
				t.Errorf("audits = %+v", audits)
			}
			_, doc, _ := adminGet(t, b, adminEndpointPath(ep.ID), http.StatusOK)
			if doc.Find(`form[action="`+adminEndpointPath(ep.ID, tc.button)+`"]`).Length() != 1 {
				t.Errorf("no %s button", tc.button)
			}
		})
	}
}

func TestAdminEndpointTestEvent(t *testing.T) {
	t.Parallel()
	a, b, admin := adminSetup(t)
	generic := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	stripe := a.Endpoint("Acme", "stripe", adminStripeSecret, webhooks.Settings{})
	cases := []struct {
		name string
		ep   *testapp.Endpoint
		typ  string
		hx   bool
	}{
		{"generic as a fragment", generic, "payment.completed", true},
		{"generic as a page", generic, "refund.completed", false},
		{"stripe as a fragment", stripe, "checkout.session.completed", true},
		{"stripe as a page", stripe, "payment_intent.payment_failed", false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.hx {
				headers = []string{"HX-Request", "true"}
			}
			_, doc, body := adminPost(t, b, adminEndpointPath(tc.ep.ID, "test"), url.Values{"type": {tc.typ}}, http.StatusOK, headers...)
			if tc.hx {
				doc = adminIsFragment(t, body, "endpoint-test-result")
			} else {
				adminIsPage(t, doc, "/endpoints")
				if got := doc.Find("#test-type option[selected]").AttrOr("value", ""); got != tc.typ {
					t.Errorf("chosen type not kept: %q", got)
				}
			}
			out := doc.Find("#test-outcome")
			if got := adminText(out, "strong"); got != tc.typ {
				t.Errorf("type = %q", got)
			}
			if got := adminText(out, "[data-status-code]"); got != "200" {
				t.Errorf("status = %q\n%s", got, adminSnippet(body))
			}
			if got := out.Find(".badge").AttrOr("data-status", ""); got != "accepted" {
				t.Errorf("outcome = %q", got)
			}
			href := out.Find("a").AttrOr("href", "")
			id, err := strconv.ParseUint(strings.TrimPrefix(href, "/events/"), 10, 64)
			if err != nil {
				t.Fatalf("event link %q", href)
			}
			ev := a.WaitStatus(uint(id), models.StatusProcessed)
			if ev.MerchantID != admin.MerchantID || ev.EndpointID != tc.ep.ID || ev.Type != strings.Split(tc.typ, ":")[0] {
				t.Errorf("event = %+v", ev)
			}
			ds, _ := a.Store.EventDeliveries(ev.ID)
			if len(ds) != 1 || ds[0].Outcome != models.OutcomeAccepted || ds[0].Headers.Get("X-Hooklog-Test") != admin.Email ||
				ds[0].Headers.Get(tc.ep.Profile.SignatureHeader()) == "" || ds[0].RemoteAddr != "127.0.0.1" {
				t.Errorf("deliveries = %+v", ds)
			}
			if doc.Find("#endpoint-recent #recent-delivery-"+strconv.FormatUint(uint64(ds[0].ID), 10)).Length() != 1 {
				t.Errorf("the recent list does not show the test delivery")
			}
			audits := adminAudits(t, a, admin.MerchantID, models.AuditEndpointTest)
			if len(audits) != i+1 || audits[i].Detail != fmt.Sprintf("%s: HTTP 200 accepted, event %d", tc.typ, ev.ID) ||
				audits[i].ObjectID != strconv.FormatUint(uint64(tc.ep.ID), 10) {
				t.Errorf("audits = %+v", audits)
			}

			// The polled list shows the event processed, and stops polling.
			_, body = b.Get(adminEndpointPath(tc.ep.ID, "deliveries"), "HX-Request", "true")
			frag := adminIsFragment(t, body, "endpoint-recent")
			row := frag.Find("#recent-delivery-" + strconv.FormatUint(uint64(ds[0].ID), 10))
			if got := row.Find("td").Eq(4).Find(".badge").AttrOr("data-status", ""); got != "processed" {
				t.Errorf("event status in the list = %q", got)
			}
			if _, polls := frag.Find("#endpoint-recent").Attr("hx-trigger"); polls {
				t.Errorf("the list keeps polling after processing")
			}
		})
	}

	t.Run("disabled endpoint", func(t *testing.T) {
		if err := a.Store.SetEndpointEnabled(admin.MerchantID, generic.ID, false); err != nil {
			t.Fatal(err)
		}
		defer a.Store.SetEndpointEnabled(admin.MerchantID, generic.ID, true)
		_, body := b.PostForm(adminEndpointPath(generic.ID, "test"), url.Values{"type": {"payment.completed"}}, "HX-Request", "true")
		doc := adminIsFragment(t, body, "endpoint-test-result")
		if got := adminText(doc, "#test-outcome [data-status-code]"); got != "410" {
			t.Errorf("status = %q", got)
		}
		if got := doc.Find("#test-outcome .badge").AttrOr("data-status", ""); got != "rejected" {
			t.Errorf("outcome = %q", got)
		}
		if !strings.Contains(adminText(doc, "#test-outcome"), "endpoint is disabled") {
			t.Errorf("reason missing: %q", adminText(doc, "#test-outcome"))
		}
	})

	t.Run("unknown type", func(t *testing.T) {
		before := len(adminAudits(t, a, admin.MerchantID, models.AuditEndpointTest))
		resp, body := b.PostForm(adminEndpointPath(generic.ID, "test"), url.Values{"type": {adminHostile}}, "HX-Request", "true")
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status %d", resp.StatusCode)
		}
		doc := adminDoc(t, body)
		if got := adminText(doc, "#flashes .flash-error"); got != "Choose one of the event types in the list." {
			t.Errorf("flash = %q", got)
		}
		if strings.Contains(body, adminHostile) {
			t.Errorf("hostile type rendered unescaped")
		}
		if n := len(adminAudits(t, a, admin.MerchantID, models.AuditEndpointTest)); n != before {
			t.Errorf("a refused test was audited")
		}
	})
}

func TestAdminEndpointRecentPolls(t *testing.T) {
	t.Parallel()
	a, b, admin := adminSetup(t)
	ep := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	// An event due in an hour stays pending while the test looks.
	now := a.Store.Now()
	later := now.Add(time.Hour)
	stored, err := a.Ingester.Store(t.Context(), &models.Incoming{
		Delivery: models.Delivery{MerchantID: admin.MerchantID, EndpointID: ep.ID, ReceivedAt: now, RemoteAddr: "192.0.2.1",
			StatusCode: http.StatusOK, EventType: "payment.completed", Body: []byte(`{}`), BodySize: 2},
		Event: &models.Event{MerchantID: admin.MerchantID, EndpointID: ep.ID, Provider: "generic", ExternalID: "evt_pending",
			Type: "payment.completed", Status: models.StatusPending, NextAttemptAt: &later, ReceivedAt: now, DeliveryCount: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := adminEndpointPath(ep.ID, "deliveries")

	_, body := b.Get(path, "HX-Request", "true")
	frag := adminIsFragment(t, body, "endpoint-recent")
	recent := frag.Find("#endpoint-recent")
	if recent.AttrOr("hx-trigger", "") != "every 2s" || recent.AttrOr("hx-get", "") != path || recent.AttrOr("hx-swap", "") != "outerHTML" {
		t.Errorf("the list does not poll: %s", adminSnippet(body))
	}
	row := frag.Find("#recent-delivery-" + strconv.FormatUint(uint64(stored.DeliveryID), 10))
	checks := []struct{ what, got, want string }{
		{"outcome", row.Find("td").Eq(1).Find(".badge").AttrOr("data-status", ""), "accepted"},
		{"status code", adminText(row, "td:nth-child(3)"), "200"},
		{"type", adminText(row, "td:nth-child(4)"), "payment.completed"},
		{"event link", row.Find("td").Eq(4).Find("a").AttrOr("href", ""), "/events/" + strconv.FormatUint(uint64(stored.EventID), 10)},
		{"event status", row.Find("td").Eq(4).Find(".badge").AttrOr("data-status", ""), "pending"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}

	_, doc, _ := adminGet(t, b, path, http.StatusOK)
	adminIsPage(t, doc, "/endpoints")
	if doc.Find("#endpoint-header").Length() != 1 || doc.Find("#endpoint-recent[hx-trigger]").Length() != 1 {
		t.Errorf("the full page is not the endpoint page with the polling list")
	}
}
