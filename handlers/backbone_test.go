package handlers_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hooklog/models"
	"hooklog/testapp"
)

// Helpers shared by the backbone tests: fixtures, signing at a chosen time, and readers of what the
// server stored.

// stripeSecret is a Stripe-style signing secret (Stripe issues its own, so tests pass one).
const stripeSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// fixture reads a webhook payload from webhooks/testdata.
func bbFixture(t testing.TB, provider, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "webhooks", "testdata", provider, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signAt signs body with secret as the endpoint's provider would at time at, as message id.
func signAt(t testing.TB, ep *testapp.Endpoint, secret string, body []byte, at time.Time, id string) http.Header {
	t.Helper()
	h, err := ep.Profile.Sign(secret, body, at, id)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return h
}

// storedDelivery loads a delivery, body and headers included.
func storedDelivery(t testing.TB, a *testapp.App, id uint) *models.Delivery {
	t.Helper()
	var d models.Delivery
	if err := a.Store.DB.Take(&d, id).Error; err != nil {
		t.Fatalf("delivery %d: %v", id, err)
	}
	return &d
}

// count counts the rows of a model matching a condition.
func bbCount(t testing.TB, a *testapp.App, model any, query string, args ...any) int64 {
	t.Helper()
	var n int64
	q := a.Store.DB.Model(model)
	if query != "" {
		q = q.Where(query, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// attempts lists an event's attempts.
func bbAttempts(t testing.TB, a *testapp.App, eventID uint) []models.Attempt {
	t.Helper()
	as, err := a.Store.EventAttempts(eventID)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// order loads an order of the merchant with its history.
func bbOrder(t testing.TB, a *testapp.App, merchant, ref string) (*models.Order, []models.OrderTransition) {
	t.Helper()
	o, err := a.Store.OrderByReference(a.Merchant(merchant).ID, ref)
	if err != nil {
		t.Fatalf("order %s: %v", ref, err)
	}
	h, err := a.Store.OrderHistory(o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return o, h
}

// step is one expected order transition.
type bbStep struct {
	from, to models.OrderStatus
	eventID  uint
	reason   string
}

// assertHistory compares an order's history with the expected steps.
func assertHistory(t testing.TB, got []models.OrderTransition, want []bbStep) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("history has %d steps, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.From != w.from || g.To != w.to || g.EventID != w.eventID || g.Reason != w.reason {
			t.Errorf("history[%d] = %s -> %s by event %d (%q), want %s -> %s by event %d (%q)",
				i, g.From, g.To, g.EventID, g.Reason, w.from, w.to, w.eventID, w.reason)
		}
		if g.At.IsZero() {
			t.Errorf("history[%d] has no time", i)
		}
	}
}

// rawPost posts body with headers and an explicit Content-Length (-1: chunked, length unknown) and
// returns the status code and the answer; it reports errors instead of failing, so goroutines may use it.
func rawPost(url string, h http.Header, body io.Reader, contentLength int64) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		return 0, nil, err
	}
	req.ContentLength = contentLength
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// onlyReader hides a reader's type so net/http cannot learn the body's length from it.
type onlyReader struct{ io.Reader }

// bigBody is a JSON body of exactly n bytes.
func bigBody(n int) []byte {
	head := []byte(`{"id":"evt_big","event":"payment.completed","pad":"`)
	tail := []byte(`"}`)
	pad := bytes.Repeat([]byte("x"), n-len(head)-len(tail))
	b := append(append(head, pad...), tail...)
	if len(b) != n {
		panic(fmt.Sprintf("bigBody: %d bytes, want %d", len(b), n))
	}
	return b
}
