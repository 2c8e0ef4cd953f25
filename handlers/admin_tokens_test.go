package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"hooklog/models"
)

func TestAdminTokens(t *testing.T) {
	t.Parallel()
	a, b, admin := adminSetup(t)
	otherToken, _, err := a.Store.CreateToken(a.Merchant("Globex").ID, "globex script", models.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}

	for _, hx := range []bool{false, true} {
		var headers []string
		if hx {
			headers = []string{"HX-Request", "true"}
		}
		_, doc, body := adminGet(t, b, "/tokens", http.StatusOK, headers...)
		if hx {
			doc = adminIsFragment(t, body, "token-form")
		} else {
			adminIsPage(t, doc, "/tokens")
		}
		if got := adminText(doc, ".empty .empty-title"); got != "No API tokens yet" {
			t.Errorf("empty state = %q", got)
		}
		if strings.Contains(body, "globex script") {
			t.Errorf("another merchant's token is listed")
		}
	}

	var plain string
	var created models.APIToken
	t.Run("create shows the token once", func(t *testing.T) {
		resp, doc, body := adminPost(t, b, "/tokens", url.Values{"name": {adminHostile}, "role": {"operator"}}, http.StatusCreated)
		plain = adminText(doc, "#new-token")
		if !strings.HasPrefix(plain, "hkl_") {
			t.Fatalf("token = %q", plain)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q", got)
		}
		if strings.Contains(body, adminHostile) {
			t.Errorf("hostile name rendered unescaped")
		}
		if got, want := adminText(doc, "#new-token-curl"), "curl -H 'Authorization: Bearer "+plain+"' "+a.URL+"/api/v1/events"; got != want {
			t.Errorf("curl example = %q, want %q", got, want)
		}
		if doc.Find(`button[data-copy="new-token"]`).Length() != 1 || doc.Find(`button[data-copy="new-token-curl"]`).Length() != 1 {
			t.Errorf("copy buttons missing")
		}
		if got := adminText(doc, "#flashes"); got != "Token “"+adminHostile+"” created." {
			t.Errorf("flash = %q", got)
		}
		if err := a.Store.DB.Where("merchant_id = ?", admin.MerchantID).Take(&created).Error; err != nil {
			t.Fatal(err)
		}
		if created.Name != adminHostile || created.Role != models.RoleOperator || created.Prefix != plain[:10] || created.RevokedAt != nil {
			t.Errorf("stored = %+v", created)
		}
		audits := adminAudits(t, a, admin.MerchantID, models.AuditTokenCreate)
		if len(audits) != 1 || audits[0].Detail != adminHostile+" (operator, "+created.Prefix+")" || audits[0].ObjectType != "token" ||
			audits[0].ObjectID != strconv.FormatUint(uint64(created.ID), 10) || strings.Contains(audits[0].Detail, plain) {
			t.Errorf("audits = %+v", audits)
		}

		// It authenticates the API as the merchant, and the list never shows it again.
		var page struct {
			Items []struct{ ID uint } `json:"items"`
		}
		if status := a.API(plain, http.MethodGet, "/api/v1/events", nil, &page); status != http.StatusOK {
			t.Fatalf("API with the new token: %d", status)
		}
		_, doc, body = adminGet(t, b, "/tokens", http.StatusOK)
		if strings.Contains(body, plain) {
			t.Errorf("the token is shown again")
		}
		row := doc.Find("#token-" + strconv.FormatUint(uint64(created.ID), 10))
		cells := row.Find("td")
		checks := []struct{ what, got, want string }{
			{"name", strings.TrimSpace(cells.Eq(0).Text()), adminHostile},
			{"role", strings.TrimSpace(cells.Eq(1).Text()), "operator"},
			{"prefix", strings.TrimSpace(cells.Eq(2).Text()), created.Prefix + "…"},
			{"created", cells.Eq(3).Find("time").AttrOr("datetime", ""), created.CreatedAt.UTC().Format(time.RFC3339)},
			{"last used", strconv.FormatBool(cells.Eq(4).Find("time").Length() == 1), "true"},
			{"state", cells.Eq(5).Find(".badge").AttrOr("data-state", ""), "active"},
			{"revoke", cells.Eq(6).Find("form").AttrOr("action", ""), "/tokens/" + strconv.FormatUint(uint64(created.ID), 10) + "/revoke"},
			{"confirm", cells.Eq(6).Find("form").AttrOr("data-confirm", ""), "Revoke the token “" + adminHostile + "”? Scripts using it stop working at once."},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
			}
		}
	})

	t.Run("a token without a name is named after its role", func(t *testing.T) {
		adminPost(t, b, "/tokens", url.Values{"name": {"  "}, "role": {"support"}}, http.StatusCreated)
		var tok models.APIToken
		if err := a.Store.DB.Where("merchant_id = ?", admin.MerchantID).Order("id DESC").Take(&tok).Error; err != nil {
			t.Fatal(err)
		}
		if tok.Name != "support token" || tok.Role != models.RoleSupport {
			t.Errorf("token = %+v", tok)
		}
	})

	t.Run("unknown role", func(t *testing.T) {
		before, _ := a.Store.Tokens(admin.MerchantID)
		_, doc, _ := adminPost(t, b, "/tokens", url.Values{"name": {"ci"}, "role": {"root"}}, http.StatusUnprocessableEntity)
		if got := adminText(doc, "#token-role-error"); got != "Choose admin, operator or support." {
			t.Errorf("error = %q", got)
		}
		if got := doc.Find("#token-name").AttrOr("value", ""); got != "ci" {
			t.Errorf("name not kept: %q", got)
		}
		if after, _ := a.Store.Tokens(admin.MerchantID); len(after) != len(before) {
			t.Errorf("a token was created")
		}
	})

	t.Run("revoke", func(t *testing.T) {
		path := "/tokens/" + strconv.FormatUint(uint64(created.ID), 10) + "/revoke"
		resp, _, _ := adminPost(t, b, path, nil, http.StatusSeeOther)
		if got := adminFlash(t, b, resp); got != "Token “"+adminHostile+"” revoked. Scripts using it now get 401." {
			t.Errorf("flash = %q", got)
		}
		if status := a.API(plain, http.MethodGet, "/api/v1/events", nil, nil); status != http.StatusUnauthorized {
			t.Errorf("API with the revoked token: %d, want 401", status)
		}
		_, doc, _ := adminGet(t, b, "/tokens", http.StatusOK)
		row := doc.Find("#token-" + strconv.FormatUint(uint64(created.ID), 10))
		if row.Find(".badge").AttrOr("data-state", "") != "revoked" || row.Find("form").Length() != 0 {
			t.Errorf("revoked row = %s", row.Text())
		}
		audits := adminAudits(t, a, admin.MerchantID, models.AuditTokenRevoke)
		if len(audits) != 1 || audits[0].Detail != adminHostile+" ("+created.Prefix+")" || audits[0].ObjectID != strconv.FormatUint(uint64(created.ID), 10) {
			t.Errorf("audits = %+v", audits)
		}
		// Revoking again changes nothing and says so.
		resp, _, _ = adminPost(t, b, path, nil, http.StatusSeeOther)
		if got := adminFlash(t, b, resp); got != "Token “"+adminHostile+"” was already revoked." {
			t.Errorf("flash = %q", got)
		}
		if n := len(adminAudits(t, a, admin.MerchantID, models.AuditTokenRevoke)); n != 1 {
			t.Errorf("%d revoke audits", n)
		}
	})

	t.Run("another merchant's token", func(t *testing.T) {
		adminPost(t, b, "/tokens/"+strconv.FormatUint(uint64(otherToken.ID), 10)+"/revoke", nil, http.StatusNotFound)
		var tok models.APIToken
		a.Store.DB.Take(&tok, otherToken.ID)
		if tok.RevokedAt != nil {
			t.Errorf("another merchant's token was revoked")
		}
	})
}
