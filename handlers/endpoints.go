package handlers

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/views"
	"hooklog/webhooks"
)

// Endpoints serves the admin pages of endpoints: the list, registration, details and settings,
// secrets (reveal and rotate), enable and disable, and test events.
type Endpoints struct {
	Store    *models.Store
	Sessions *Sessions
	// Ingest is the real ingest handler; test events pass through it in-process.
	Ingest  *Ingest
	BaseURL string
}

// endpointRecentLimit is how many deliveries the endpoint page lists.
const endpointRecentLimit = 5

// rotateGraces are the choices of how long rotated-out secrets keep working.
var rotateGraces = []struct {
	value, label string
	d            time.Duration
}{
	{"0", "No grace: stop at once", 0},
	{"1h", "1 hour", time.Hour},
	{"24h", "24 hours", 24 * time.Hour},
	{"168h", "7 days", 7 * 24 * time.Hour},
}

const defaultRotateGrace = "24h"

// List handles GET /endpoints.
func (h *Endpoints) List(c echo.Context) error {
	p := principal(c)
	eps, err := h.Store.Endpoints(p.MerchantID)
	if err != nil {
		return err
	}
	stats, err := h.Store.EndpointStats(p.MerchantID, h.Store.Now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	v := views.EndpointsView{Rows: make([]views.EndpointListRow, 0, len(eps))}
	for _, ep := range eps {
		st := stats[ep.ID]
		row := views.EndpointListRow{ID: ep.ID, Name: ep.Name, Provider: ep.Provider, Enabled: ep.Enabled,
			IngestURL: ep.IngestURL(h.BaseURL), Deliveries: st.Deliveries, Rejected: st.Rejected, RejectionRate: st.RejectionRate()}
		if st.LastDeliveryAt != nil {
			row.LastDeliveryAt = *st.LastDeliveryAt
		}
		v.Rows = append(v.Rows, row)
	}
	return h.Sessions.renderPage(c, http.StatusOK, "Endpoints", views.NavEndpoints, views.EndpointsPage(v))
}

// New handles GET /endpoints/new.
func (h *Endpoints) New(c echo.Context) error {
	f := views.EndpointFormView{Provider: c.QueryParam("provider"), Algorithm: webhooks.DefaultHMACAlgorithm, Encoding: webhooks.DefaultHMACEncoding}
	return h.renderNew(c, http.StatusOK, f)
}

func (h *Endpoints) renderNew(c echo.Context, status int, f views.EndpointFormView) error {
	f.New, f.Action = true, "/endpoints"
	fillFormChoices(&f)
	v := views.EndpointNewView{CSRFToken: h.Sessions.csrfToken(c), Form: f}
	return h.Sessions.renderPage(c, status, "New endpoint", views.NavEndpoints, views.EndpointNewPage(v))
}

// Create handles POST /endpoints, then shows the new endpoint with its secret, this once.
func (h *Endpoints) Create(c echo.Context) error {
	p := principal(c)
	f := readEndpointForm(c)
	in, errs := endpointInput(f)
	if len(errs) > 0 {
		f.Errors = errs
		return h.renderNew(c, http.StatusUnprocessableEntity, f)
	}
	ep, secret, err := h.Store.CreateEndpoint(p.MerchantID, in, f.Secret)
	if fields, ok := adminFieldErrors(err); ok {
		f.Errors = fields
		return h.renderNew(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return fmt.Errorf("endpoints: create: %w", err)
	}
	if err := h.audit(c, models.AuditEndpointCreate, ep.ID, fmt.Sprintf("%s (%s)", ep.Name, ep.Provider)); err != nil {
		return err
	}
	h.Sessions.Flash(c, views.FlashSuccess, "Endpoint created. Give the provider its ingest URL and secret.")
	v, err := h.detail(c, ep)
	if err != nil {
		return err
	}
	v.NewSecret = secret
	adminNoStore(c)
	if c.Request().Header.Get(HeaderHXRequest) == "true" {
		c.Response().Header().Set(HeaderHXReplaceURL, views.EndpointURL(ep.ID))
	}
	return h.renderDetail(c, http.StatusCreated, v, nil)
}

// Show handles GET /endpoints/{id}.
func (h *Endpoints) Show(c echo.Context) error {
	ep, err := h.endpoint(c)
	if err != nil {
		return err
	}
	v, err := h.detail(c, ep)
	if err != nil {
		return err
	}
	return h.renderDetail(c, http.StatusOK, v, nil)
}

// Update handles POST /endpoints/{id}: name, provider and settings.
func (h *Endpoints) Update(c echo.Context) error {
	p := principal(c)
	ep, err := h.endpoint(c)
	if err != nil {
		return err
	}
	f := readEndpointForm(c)
	in, errs := endpointInput(f)
	in.Settings.Tolerance = ep.Settings.Tolerance
	var updated *models.Endpoint
	if len(errs) == 0 {
		updated, err = h.Store.UpdateEndpoint(p.MerchantID, ep.ID, in)
		if fields, ok := adminFieldErrors(err); ok {
			errs = fields
		} else if err != nil {
			return fmt.Errorf("endpoints: update %d: %w", ep.ID, err)
		}
	}
	if len(errs) > 0 {
		v, err := h.detail(c, ep)
		if err != nil {
			return err
		}
		f.Errors = errs
		v.Form = h.editForm(ep.ID, f)
		return h.renderDetail(c, http.StatusUnprocessableEntity, v, nil)
	}
	if err := h.audit(c, models.AuditEndpointUpdate, ep.ID, endpointChanges(ep, updated)); err != nil {
		return err
	}
	h.Sessions.Flash(c, views.FlashSuccess, "Endpoint saved.")
	return redirect(c, views.EndpointURL(ep.ID))
}

// Enable handles POST /endpoints/{id}/enable.
func (h *Endpoints) Enable(c echo.Context) error { return h.setEnabled(c, true) }

// Disable handles POST /endpoints/{id}/disable.
func (h *Endpoints) Disable(c echo.Context) error { return h.setEnabled(c, false) }

func (h *Endpoints) setEnabled(c echo.Context, enabled bool) error {
	ep, err := h.endpoint(c)
	if err != nil {
		return err
	}
	if err := h.Store.SetEndpointEnabled(ep.MerchantID, ep.ID, enabled); err != nil {
		return notFoundOr(err, "endpoint")
	}
	action, msg := models.AuditEndpointEnable, "Endpoint enabled: it accepts deliveries again."
	if !enabled {
		action, msg = models.AuditEndpointDisable, "Endpoint disabled: its deliveries are now rejected with 410."
	}
	if err := h.audit(c, action, ep.ID, ep.Name); err != nil {
		return err
	}
	h.Sessions.Flash(c, views.FlashSuccess, msg)
	return redirect(c, views.EndpointURL(ep.ID))
}

// Reveal handles POST /endpoints/{id}/secrets/{sid}/reveal. It audits before it answers, and the
// answer is never cached; the plaintext goes only into the response body.
func (h *Endpoints) Reveal(c echo.Context) error {
	ep, err := h.endpoint(c)
	if err != nil {
		return err
	}
	sid, err := strconv.ParseUint(c.Param("sid"), 10, 64)
	if err != nil || sid == 0 {
		return echo.NewHTTPError(http.StatusNotFound, "secret not found")
	}
	plain, err := h.Store.RevealSecret(ep.MerchantID, ep.ID, uint(sid))
	if err != nil {
		return notFoundOr(err, "secret")
	}
	if err := h.audit(c, models.AuditSecretReveal, ep.ID, fmt.Sprintf("secret #%d", sid)); err != nil {
		return err
	}
	adminNoStore(c)
	v, err := h.detail(c, ep)
	if err != nil {
		return err
	}
	row := views.SecretRow{ID: uint(sid), EndpointID: ep.ID, Revealed: plain}
	for i := range v.Secrets {
		if v.Secrets[i].ID == row.ID {
			v.Secrets[i].Revealed = plain
		}
	}
	return h.renderDetail(c, http.StatusOK, v, views.EndpointSecretValue(v.CSRFToken, row))
}

// Rotate handles POST /endpoints/{id}/rotate: a new secret (pasted or generated), and the old ones
// expire after the chosen grace period. The new secret is shown this once.
func (h *Endpoints) Rotate(c echo.Context) error {
	ep, err := h.endpoint(c)
	if err != nil {
		return err
	}
	pasted, graceValue := c.FormValue("secret"), c.FormValue("grace")
	grace, graceOK := time.Duration(0), false
	for _, g := range rotateGraces {
		if g.value == graceValue {
			grace, graceOK = g.d, true
		}
	}
	var secret, secretErr, graceErr string
	if graceOK {
		secret, err = h.Store.RotateSecret(ep.MerchantID, ep.ID, pasted, grace)
		if fields, invalid := adminFieldErrors(err); invalid {
			secretErr = cmp.Or(fields["secret"], "This secret cannot be used.")
		} else if err != nil {
			return notFoundOr(err, "endpoint")
		}
	} else {
		graceErr = "Choose how long the old secrets keep working."
	}
	if secretErr != "" || graceErr != "" {
		v, err := h.detail(c, ep)
		if err != nil {
			return err
		}
		v.Rotate.Secret, v.Rotate.Grace, v.Rotate.Error, v.Rotate.GraceError = pasted, graceValue, secretErr, graceErr
		adminNoStore(c)
		return h.renderDetail(c, http.StatusUnprocessableEntity, v, nil)
	}
	until := h.Store.Now().Add(grace)
	detail := "old secrets expire at once"
	msg := "Secret rotated. The previous secrets stopped working."
	if grace > 0 {
		detail = "old secrets expire at " + until.Format(time.RFC3339)
		msg = "Secret rotated. The previous secrets keep working until " + until.Format("2006-01-02 15:04 UTC") + "."
	}
	if err := h.audit(c, models.AuditSecretRotate, ep.ID, detail); err != nil {
		return err
	}
	h.Sessions.Flash(c, views.FlashSuccess, msg)
	v, err := h.detail(c, ep)
	if err != nil {
		return err
	}
	v.NewSecret = secret
	adminNoStore(c)
	return h.renderDetail(c, http.StatusOK, v, nil)
}

// Test handles POST /endpoints/{id}/test: a sample of the provider, signed with the newest valid
// secret, goes through the real ingest handler in-process, so it is verified, stored and processed
// exactly like a delivery from outside.
func (h *Endpoints) Test(c echo.Context) error {
	ep, err := h.endpoint(c)
	if err != nil {
		return err
	}
	profile, err := ep.Profile()
	if err != nil {
		return fmt.Errorf("endpoints: test %d: %w", ep.ID, err)
	}
	typ := c.FormValue("type")
	v, err := h.detail(c, ep)
	if err != nil {
		return err
	}
	v.Test.Type = typ
	secrets, err := h.Store.ValidSecrets(ep.ID)
	if err != nil {
		return err
	}
	switch {
	case !slices.Contains(profile.SampleTypes(), typ):
		v.Test.Error = "Choose one of the event types in the list."
	case len(secrets) == 0:
		v.Test.Error = "This endpoint has no valid secret. Rotate the secret to add one, then send the test again."
	}
	if v.Test.Error != "" {
		return h.renderDetail(c, http.StatusUnprocessableEntity, v,
			templ.Join(views.EndpointTestResultView(v.Test), views.FlashesOOB([]views.Flash{{Kind: views.FlashError, Message: v.Test.Error}})))
	}
	result, err := h.sendTest(c, ep, profile, typ, secrets[0])
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("%s: HTTP %d %s", typ, result.StatusCode, result.Outcome)
	if result.EventID != 0 {
		detail += fmt.Sprintf(", event %d", result.EventID)
	}
	if err := h.audit(c, models.AuditEndpointTest, ep.ID, detail); err != nil {
		return err
	}
	if v.Test.Recent, err = h.recent(ep); err != nil {
		return err
	}
	v.Test.Result = &result
	return h.renderDetail(c, http.StatusOK, v, views.EndpointTestResultView(v.Test))
}

// sendTest signs a sample and hands it to Ingest.Receive as if it came over the network.
func (h *Endpoints) sendTest(c echo.Context, ep *models.Endpoint, profile webhooks.Profile, typ, secret string) (views.EndpointTestResult, error) {
	now := h.Store.Now()
	body, err := profile.Sample(typ, webhooks.SampleParams{Now: now})
	if err != nil {
		return views.EndpointTestResult{}, fmt.Errorf("endpoints: test sample %q: %w", typ, err)
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	signed, err := profile.Sign(secret, body, now, "msg_test_"+hex.EncodeToString(id))
	if err != nil {
		return views.EndpointTestResult{}, fmt.Errorf("endpoints: test sign: %w", err)
	}
	target := "/in/" + ep.Token
	req, err := http.NewRequestWithContext(c.Request().Context(), http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return views.EndpointTestResult{}, fmt.Errorf("endpoints: test request: %w", err)
	}
	for k, vs := range signed {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Hooklog test event")
	// Marks the stored delivery as a test and names who sent it.
	req.Header.Set("X-Hooklog-Test", principal(c).Actor)
	req.RemoteAddr = c.Request().RemoteAddr
	if u, err := url.Parse(h.BaseURL); err == nil && u.Host != "" {
		req.Host = u.Host
	}
	rec := httptest.NewRecorder()
	ic := c.Echo().NewContext(req, rec)
	ic.SetPath("/in/:token")
	ic.SetParamNames("token")
	ic.SetParamValues(ep.Token)
	if err := h.Ingest.Receive(ic); err != nil {
		return views.EndpointTestResult{}, fmt.Errorf("endpoints: test ingest: %w", err)
	}
	var reply ingestReply
	if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
		return views.EndpointTestResult{}, fmt.Errorf("endpoints: test reply: %w", err)
	}
	return views.EndpointTestResult{Type: typ, StatusCode: rec.Code, Outcome: string(reply.Outcome), Error: reply.Error,
		DeliveryID: reply.DeliveryID, EventID: reply.EventID}, nil
}

// Deliveries handles GET /endpoints/{id}/deliveries: the recent deliveries fragment htmx polls, or the
// endpoint page for a full request.
func (h *Endpoints) Deliveries(c echo.Context) error {
	ep, err := h.endpoint(c)
	if err != nil {
		return err
	}
	v, err := h.detail(c, ep)
	if err != nil {
		return err
	}
	return h.renderDetail(c, http.StatusOK, v, views.EndpointRecent(v.Test.Recent))
}

// endpoint loads the :id endpoint of the principal's merchant, or answers 404.
func (h *Endpoints) endpoint(c echo.Context) (*models.Endpoint, error) {
	id, err := pathID(c)
	if err != nil {
		return nil, err
	}
	ep, err := h.Store.Endpoint(principal(c).MerchantID, id)
	if err != nil {
		return nil, notFoundOr(err, "endpoint")
	}
	return ep, nil
}

// detail builds the endpoint page's view from the stored endpoint.
func (h *Endpoints) detail(c echo.Context, ep *models.Endpoint) (views.EndpointDetailView, error) {
	profile, err := ep.Profile()
	if err != nil {
		return views.EndpointDetailView{}, fmt.Errorf("endpoints: profile of %d: %w", ep.ID, err)
	}
	secrets, err := h.Store.Secrets(ep.ID)
	if err != nil {
		return views.EndpointDetailView{}, err
	}
	recent, err := h.recent(ep)
	if err != nil {
		return views.EndpointDetailView{}, err
	}
	csrf := h.Sessions.csrfToken(c)
	now := h.Store.Now()
	_, canGenerate := profile.GenerateSecret()
	v := views.EndpointDetailView{
		CSRFToken: csrf, ID: ep.ID, Name: ep.Name, Provider: ep.Provider, Enabled: ep.Enabled,
		IngestURL: ep.IngestURL(h.BaseURL), SignatureHeader: profile.SignatureHeader(), CreatedAt: ep.CreatedAt,
		Rotate: views.RotateFormView{Grace: defaultRotateGrace, CanGenerate: canGenerate, Provider: ep.Provider},
		Test:   views.EndpointTestView{EndpointID: ep.ID, CSRFToken: csrf, Types: profile.SampleTypes(), Recent: recent},
		Form:   h.editForm(ep.ID, formFromEndpoint(ep)),
	}
	for _, g := range rotateGraces {
		v.Rotate.Graces = append(v.Rotate.Graces, views.GraceOption{Value: g.value, Label: g.label})
	}
	for _, s := range secrets {
		row := views.SecretRow{ID: s.ID, EndpointID: ep.ID, Hint: s.Hint, CreatedAt: s.CreatedAt, Valid: s.Valid(now)}
		if s.ExpiresAt != nil {
			row.ExpiresAt = *s.ExpiresAt
		}
		v.Secrets = append(v.Secrets, row)
	}
	return v, nil
}

// recent lists the endpoint's newest deliveries; the list keeps polling while an event waits.
func (h *Endpoints) recent(ep *models.Endpoint) (views.EndpointRecentView, error) {
	ds, err := h.Store.RecentEndpointDeliveries(ep.MerchantID, ep.ID, endpointRecentLimit)
	if err != nil {
		return views.EndpointRecentView{}, err
	}
	v := views.EndpointRecentView{EndpointID: ep.ID}
	for _, d := range ds {
		row := views.EndpointDeliveryRow{ID: d.ID, ReceivedAt: d.ReceivedAt, Outcome: string(d.Outcome), StatusCode: d.StatusCode,
			Reason: d.Reason, EventType: d.EventType, EventStatus: string(d.EventStatus)}
		if d.EventID != nil {
			row.EventID = *d.EventID
		}
		if d.EventStatus == models.StatusPending || d.EventStatus == models.StatusProcessing {
			v.Poll = true
		}
		v.Rows = append(v.Rows, row)
	}
	return v, nil
}

func (h *Endpoints) editForm(id uint, f views.EndpointFormView) views.EndpointFormView {
	f.New, f.Action, f.Secret = false, views.EndpointURL(id), ""
	fillFormChoices(&f)
	return f
}

// renderDetail renders the endpoint page, or fragment alone for an htmx request (nil: the page body).
func (h *Endpoints) renderDetail(c echo.Context, status int, v views.EndpointDetailView, fragment templ.Component) error {
	body := views.EndpointPage(v)
	if fragment == nil {
		fragment = body
	}
	return render(c, status, views.Layout(h.Sessions.page(c, v.Name, views.NavEndpoints), body), fragment)
}

func (h *Endpoints) audit(c echo.Context, action string, endpointID uint, detail string) error {
	return h.Store.Audit(adminAuditEntry(c, action, "endpoint", endpointID, detail))
}

// fillFormChoices adds the providers and canonical meanings the form offers.
func fillFormChoices(f *views.EndpointFormView) {
	f.Providers = f.Providers[:0]
	for _, name := range webhooks.Providers() {
		f.Providers = append(f.Providers, views.ProviderOption{Name: name, Help: views.ProviderHelp(name)})
	}
	f.Canonicals = f.Canonicals[:0]
	for _, c := range webhooks.Canonicals() {
		f.Canonicals = append(f.Canonicals, string(c))
	}
}

// readEndpointForm reads the endpoint form exactly as typed, to show it again on errors.
func readEndpointForm(c echo.Context) views.EndpointFormView {
	return views.EndpointFormView{
		Name: c.FormValue("name"), Provider: strings.ToLower(strings.TrimSpace(c.FormValue("provider"))), Secret: c.FormValue("secret"),
		HMACHeader: c.FormValue("hmac_header"), Algorithm: c.FormValue("algorithm"), Encoding: c.FormValue("encoding"), Prefix: c.FormValue("prefix"),
		PathID: c.FormValue("path_id"), PathType: c.FormValue("path_type"), PathOrderRef: c.FormValue("path_order"),
		PathPaymentID: c.FormValue("path_payment"), PathAmount: c.FormValue("path_amount"), PathCurrency: c.FormValue("path_currency"),
		PathEmail: c.FormValue("path_email"), PathPhone: c.FormValue("path_phone"), TypeMap: c.FormValue("type_map"),
	}
}

// hmacProviders use the endpoint's configurable HMAC settings; custom also uses the field map.
var hmacProviders = []string{"careempay", "generic", "custom"}

// endpointInput turns the form into the model's input. Settings that the chosen provider ignores are
// dropped. The returned errors cover the whole form, the model's own validation included.
func endpointInput(f views.EndpointFormView) (models.EndpointInput, map[string]string) {
	in := models.EndpointInput{Name: f.Name, Provider: f.Provider}
	errs := map[string]string{}
	if slices.Contains(hmacProviders, f.Provider) {
		in.Settings.HMAC = webhooks.HMACConfig{Header: strings.TrimSpace(f.HMACHeader), Algorithm: f.Algorithm, Encoding: f.Encoding, Prefix: f.Prefix}
	}
	if f.Provider == "custom" {
		types, err := parseTypeMap(f.TypeMap)
		if err != "" {
			errs["type_map"] = err
		}
		in.Settings.Fields = webhooks.FieldMap{ID: f.PathID, Type: f.PathType, OrderRef: f.PathOrderRef, PaymentID: f.PathPaymentID,
			Amount: f.PathAmount, Currency: f.PathCurrency, CustomerEmail: f.PathEmail, CustomerPhone: f.PathPhone, Types: types}
	}
	for k, v := range in.Validate() {
		if _, ok := errs[k]; !ok {
			errs[k] = v
		}
	}
	return in, errs
}

// parseTypeMap reads "provider.type=canonical" lines; blank lines are skipped. It returns the map
// and, when a line does not parse, what is wrong with it.
func parseTypeMap(text string) (map[string]webhooks.Canonical, string) {
	types := map[string]webhooks.Canonical{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		eq := strings.LastIndex(line, "=")
		if eq < 0 {
			return nil, fmt.Sprintf("Line %d: write provider.type=canonical, e.g. order.paid=payment.succeeded.", i+1)
		}
		typ, canon := strings.TrimSpace(line[:eq]), webhooks.Canonical(strings.TrimSpace(line[eq+1:]))
		switch {
		case typ == "":
			return nil, fmt.Sprintf("Line %d: the provider's type before = is empty.", i+1)
		case !canon.Valid():
			return nil, fmt.Sprintf("Line %d: %q is not a canonical event.", i+1, canon)
		}
		if _, dup := types[typ]; dup {
			return nil, fmt.Sprintf("Line %d: %q is mapped twice.", i+1, typ)
		}
		types[typ] = canon
	}
	if len(types) == 0 {
		return nil, ""
	}
	return types, ""
}

// formFromEndpoint fills the edit form from the stored endpoint.
func formFromEndpoint(ep *models.Endpoint) views.EndpointFormView {
	s := ep.Settings
	f := views.EndpointFormView{Name: ep.Name, Provider: ep.Provider,
		HMACHeader: s.HMAC.Header, Algorithm: s.HMAC.Algorithm, Encoding: s.HMAC.Encoding, Prefix: s.HMAC.Prefix,
		PathID: s.Fields.ID, PathType: s.Fields.Type, PathOrderRef: s.Fields.OrderRef, PathPaymentID: s.Fields.PaymentID,
		PathAmount: s.Fields.Amount, PathCurrency: s.Fields.Currency, PathEmail: s.Fields.CustomerEmail, PathPhone: s.Fields.CustomerPhone}
	var lines []string
	for _, t := range slices.Sorted(maps.Keys(s.Fields.Types)) {
		lines = append(lines, t+"="+string(s.Fields.Types[t]))
	}
	f.TypeMap = strings.Join(lines, "\n")
	return f
}

// endpointChanges describes an update for the audit log.
func endpointChanges(before, after *models.Endpoint) string {
	var parts []string
	if before.Name != after.Name {
		parts = append(parts, fmt.Sprintf("name %q → %q", before.Name, after.Name))
	}
	if before.Provider != after.Provider {
		parts = append(parts, fmt.Sprintf("provider %s → %s", before.Provider, after.Provider))
	}
	if !settingsEqual(before.Settings, after.Settings) {
		parts = append(parts, "settings changed")
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, "; ")
}

func settingsEqual(a, b webhooks.Settings) bool {
	return a.HMAC == b.HMAC && a.Tolerance == b.Tolerance && maps.Equal(a.Fields.Types, b.Fields.Types) &&
		fieldPaths(a.Fields) == fieldPaths(b.Fields)
}

// fieldPaths are the JSON paths of a field map, comparable.
func fieldPaths(f webhooks.FieldMap) [8]string {
	return [8]string{f.ID, f.Type, f.OrderRef, f.PaymentID, f.Amount, f.Currency, f.CustomerEmail, f.CustomerPhone}
}
