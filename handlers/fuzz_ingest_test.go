package handlers_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"hooklog/config"
	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// FuzzIngest drives POST /in/{token} through the real router with any body and any signature header.
// When sign is true the body is also signed with the endpoint's secret (the header value is then sent
// as a second signature line), so verified bodies reach normalisation and storage too. The handler
// must never panic, must answer one of the statuses providers are told about, and a 200 must mean a
// stored delivery of exactly that body.
//
// Run it longer with: go test -tags sqlite_fts5 ./handlers/ -run '^$' -fuzz FuzzIngest -fuzztime 60s
func FuzzIngest(f *testing.F) {
	a := testapp.New(f, func(c *config.Config) { c.Ingest.MaxBodyBytes = 4096 })
	ep := a.Endpoint("Fuzz", "generic", "", webhooks.Settings{})
	router := a.Server.Config.Handler

	f.Add([]byte(`{"id":"evt_1","event":"payment.completed","data":{"orderId":"o-1","amount":"20.00","currency":"USD"}}`), "", true)
	f.Add([]byte(`{"id":"evt_2","event":"refund.completed","data":{"orderId":"o-1","amount":-5,"currency":"usd"}}`), "sha256=00", true)
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`), "", true)
	f.Add([]byte("{\"id\":\"\xff\xfe\",\"event\":\"payment.completed\"}"), "\xff\xfe", false)
	f.Add([]byte(``), "", false)
	f.Add([]byte(`{}`), "zz", false)
	f.Add([]byte(`{"id":"evt_3"}`), "0000000000000000000000000000000000000000000000000000000000000000", false)
	f.Add([]byte(`{"id":"evt_4","event":"payment.completed","data":{"amount":"1e400","currency":"XXX"}}`), " , ,", true)

	allowed := map[int]bool{200: true, 400: true, 401: true, 404: true, 410: true, 413: true, 429: true, 503: true}
	f.Fuzz(func(t *testing.T, body []byte, sig string, sign bool) {
		req := httptest.NewRequest(http.MethodPost, "/in/"+ep.Token, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Add("X-Signature", sig)
		}
		if sign {
			h, err := ep.Profile.Sign(ep.Secret, body, time.Now(), "")
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Add("X-Signature", h.Get("X-Signature"))
		}
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)

		if !allowed[rec.Code] {
			t.Fatalf("status %d is not one a provider is told about: %s", rec.Code, rec.Body)
		}
		var reply struct {
			Outcome    models.Outcome `json:"outcome"`
			DeliveryID uint           `json:"delivery_id"`
			EventID    uint           `json:"event_id"`
			Error      string         `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
			t.Fatalf("status %d with a body that is not JSON: %q", rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK {
			if reply.Error == "" {
				t.Fatalf("status %d without a reason: %s", rec.Code, rec.Body)
			}
			return
		}
		if reply.DeliveryID == 0 || reply.EventID == 0 {
			t.Fatalf("200 without a delivery and an event: %s", rec.Body)
		}
		var d models.Delivery
		if err := a.Store.DB.Take(&d, reply.DeliveryID).Error; err != nil {
			t.Fatalf("200 for delivery %d, which is not stored: %v", reply.DeliveryID, err)
		}
		if d.Outcome != reply.Outcome || (d.Outcome != models.OutcomeAccepted && d.Outcome != models.OutcomeDuplicate) ||
			d.EventID == nil || *d.EventID != reply.EventID || !bytes.Equal(d.Body, body) || d.BodySize != int64(len(body)) {
			t.Fatalf("200 %s, but stored delivery %d is outcome %q event %v with %d bytes (sent %d)",
				rec.Body, d.ID, d.Outcome, d.EventID, len(d.Body), len(body))
		}
	})
}
