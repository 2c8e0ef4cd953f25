package handlers_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// hostileReply is an ingest answer with its raw text.
type hostileReply struct {
	Outcome    models.Outcome `json:"outcome"`
	DeliveryID uint           `json:"delivery_id"`
	EventID    uint           `json:"event_id"`
	Error      string         `json:"error"`
	raw        string
}

// hostileClient gives up after a while, so a server that hangs fails the test instead of stalling it.
var hostileClient = &http.Client{Timeout: 30 * time.Second}

// hostileDo sends req and decodes the ingest answer.
func hostileDo(t testing.TB, req *http.Request) (int, http.Header, hostileReply) {
	t.Helper()
	resp, err := hostileClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	r := hostileReply{raw: string(raw)}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, resp.Header, r
}

// hostilePost posts body with exactly the headers h (no Content-Type is added).
func hostilePost(t testing.TB, url string, h http.Header, body []byte) (int, http.Header, hostileReply) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	return hostileDo(t, req)
}

// hostileDelivery loads a stored delivery whoever owns it.
func hostileDelivery(t testing.TB, a *testapp.App, id uint) *models.Delivery {
	t.Helper()
	var d models.Delivery
	if err := a.Store.DB.Take(&d, id).Error; err != nil {
		t.Fatalf("delivery %d: %v", id, err)
	}
	return &d
}

// hostileSign returns ep's signature headers for body, signed now.
func hostileSign(t testing.TB, ep *testapp.Endpoint, secret string, body []byte, at time.Time) http.Header {
	t.Helper()
	h, err := ep.Profile.Sign(secret, body, at, fmt.Sprintf("msg_%d", time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// hostilePayment is a generic payment.completed payload padded with filler to exactly size bytes
// (no padding when size is 0).
func hostilePayment(t testing.TB, id string, size int) []byte {
	t.Helper()
	base := fmt.Sprintf(`{"id":%q,"event":"payment.completed","data":{"orderId":"o-%s","amount":"20.00","currency":"USD","status":"completed","filler":""}}`, id, id)
	if size == 0 {
		return []byte(base)
	}
	pad := size - len(base)
	if pad < 0 {
		t.Fatalf("size %d is smaller than the payload", size)
	}
	return []byte(strings.Replace(base, `"filler":""`, `"filler":"`+strings.Repeat("x", pad)+`"`, 1))
}

// hostileUnsized hides a body's length, so the request goes out chunked with no Content-Length.
type hostileUnsized struct{ r io.Reader }

func (u hostileUnsized) Read(p []byte) (int, error) { return u.r.Read(p) }

// TestHostileIngest sends what a careless or malicious sender might and checks that each answer is
// a clear status, that a record a person can read is kept, and that the server stays up.
func TestHostileIngest(t *testing.T) {
	a := testapp.New(t)
	limit := a.Config.Ingest.MaxBodyBytes
	ep := a.Endpoint("Shop", "generic", "", webhooks.Settings{})
	const stripeSecret = "whsec_hostileTestSecret0123456789"
	stripe := a.Endpoint("Shop", "stripe", stripeSecret, webhooks.Settings{})
	expired := a.Endpoint("Shop", "generic", "", webhooks.Settings{})
	past := time.Now().Add(-time.Hour)
	if err := a.Store.DB.Model(&models.Secret{}).Where("endpoint_id = ?", expired.ID).Update("expires_at", past).Error; err != nil {
		t.Fatal(err)
	}

	nested := []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))
	badUTF8 := []byte("{\"id\":\"evt_utf8\",\"event\":\"payment.completed\",\"data\":{\"orderId\":\"o-\xff\xfe\",\"amount\":\"1.00\",\"currency\":\"USD\"}}")
	binary := []byte("\xff\xfe\x00\x01binary\x80\x81")
	huge := hostilePayment(t, "evt_huge", int(limit)-1)
	exact := hostilePayment(t, "evt_exact", int(limit))
	manyHeaders := http.Header{}
	for i := range 2000 {
		manyHeaders.Set(fmt.Sprintf("X-Filler-%04d", i), strings.Repeat("v", 20))
	}
	stripeBody := func(id string) []byte {
		b, err := stripe.Profile.Sample("payment_intent.succeeded", webhooks.SampleParams{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	type request struct {
		url     string
		header  http.Header
		body    []byte
		chunked bool // send without Content-Length
	}
	tests := []struct {
		name string
		req  func() request
		// status, outcome and reason of the answer and of the stored delivery ("" outcome: nothing stored).
		status  int
		outcome models.Outcome
		reason  string
		// reasonRE, when set, matches the reason instead (times in it vary by a second).
		reasonRE *regexp.Regexp
		// storedBody is the body the delivery must keep, byte for byte (nil: none kept).
		storedBody []byte
		bodySize   int64
		// eventStatus is the status the delivery's event reaches ("" when there is none): processed by
		// the worker, or failed at once with eventError.
		eventStatus models.Status
		eventError  string
		// check inspects the stored delivery further.
		check func(t *testing.T, d *models.Delivery)
	}{
		{
			name: "body over the limit with Content-Length",
			req: func() request {
				b := bytes.Repeat([]byte("a"), int(limit)+1)
				return request{url: ep.URL, header: hostileSign(t, ep, ep.Secret, b, time.Now()), body: b}
			},
			status: 413, outcome: models.OutcomeRejected, reason: fmt.Sprintf("body larger than the %d-byte limit", limit),
			bodySize: limit + 1,
		},
		{
			name: "body over the limit, chunked without Content-Length",
			req: func() request {
				b := bytes.Repeat([]byte("a"), 3*int(limit))
				return request{url: ep.URL, header: hostileSign(t, ep, ep.Secret, b, time.Now()), body: b, chunked: true}
			},
			status: 413, outcome: models.OutcomeRejected, reason: fmt.Sprintf("body larger than the %d-byte limit", limit),
			bodySize: limit + 1,
		},
		{
			name: "JSON one byte under the limit",
			req: func() request {
				return request{url: ep.URL, header: hostileSign(t, ep, ep.Secret, huge, time.Now()), body: huge}
			},
			status: 200, outcome: models.OutcomeAccepted, storedBody: huge, bodySize: limit - 1, eventStatus: models.StatusProcessed,
		},
		{
			name: "JSON exactly at the limit",
			req: func() request {
				return request{url: ep.URL, header: hostileSign(t, ep, ep.Secret, exact, time.Now()), body: exact}
			},
			status: 200, outcome: models.OutcomeAccepted, storedBody: exact, bodySize: limit, eventStatus: models.StatusProcessed,
		},
		{
			name: "JSON nested 100000 levels deep, signed",
			req: func() request {
				return request{url: ep.URL, header: hostileSign(t, ep, ep.Secret, nested, time.Now()), body: nested}
			},
			status: 200, outcome: models.OutcomeAccepted, storedBody: nested, bodySize: int64(len(nested)),
			eventStatus: models.StatusFailed, eventError: "body is not valid JSON: invalid character '[' exceeded max depth",
		},
		{
			name:   "JSON nested 100000 levels deep, unsigned",
			req:    func() request { return request{url: ep.URL, header: http.Header{}, body: nested} },
			status: 401, outcome: models.OutcomeRejected, reason: "no signature header: X-Signature is missing",
			storedBody: nested, bodySize: int64(len(nested)),
		},
		{
			name: "invalid UTF-8 inside JSON strings",
			req: func() request {
				return request{url: ep.URL, header: hostileSign(t, ep, ep.Secret, badUTF8, time.Now()), body: badUTF8}
			},
			status: 200, outcome: models.OutcomeAccepted, storedBody: badUTF8, bodySize: int64(len(badUTF8)),
			eventStatus: models.StatusProcessed,
		},
		{
			name: "binary body that is not JSON",
			req: func() request {
				return request{url: ep.URL, header: hostileSign(t, ep, ep.Secret, binary, time.Now()), body: binary}
			},
			status: 200, outcome: models.OutcomeAccepted, storedBody: binary, bodySize: int64(len(binary)),
			eventStatus: models.StatusFailed, eventError: "body is not valid JSON: invalid character 'ÿ' looking for beginning of value",
		},
		{
			name: "invalid UTF-8 in a header",
			req: func() request {
				b := hostilePayment(t, "evt_hdr_utf8", 0)
				h := hostileSign(t, ep, ep.Secret, b, time.Now())
				h.Set("X-Note", "caf\xe9 \xff")
				return request{url: ep.URL, header: h, body: b}
			},
			status: 200, outcome: models.OutcomeAccepted, eventStatus: models.StatusProcessed,
			check: func(t *testing.T, d *models.Delivery) {
				if got := d.Headers.Get("X-Note"); got != "caf\uFFFD \uFFFD" {
					t.Errorf("stored X-Note = %q, want the invalid bytes shown as U+FFFD", got)
				}
			},
		},
		{
			name: "invalid UTF-8 in the signature header",
			req: func() request {
				return request{url: ep.URL, header: http.Header{"X-Signature": {"\xff\xfe"}}, body: []byte(`{}`)}
			},
			status: 400, outcome: models.OutcomeRejected, reason: `malformed signature header: X-Signature: value "\xff\xfe" is not hex`,
			storedBody: []byte(`{}`), bodySize: 2,
		},
		{
			name: "two thousand headers",
			req: func() request {
				b := hostilePayment(t, "evt_headers", 0)
				h := manyHeaders.Clone()
				for k, v := range hostileSign(t, ep, ep.Secret, b, time.Now()) {
					h[k] = v
				}
				return request{url: ep.URL, header: h, body: b}
			},
			status: 200, outcome: models.OutcomeAccepted, eventStatus: models.StatusProcessed,
			check: func(t *testing.T, d *models.Delivery) {
				if n := len(d.Headers); n < 2000 {
					t.Errorf("stored %d headers, want every one of the 2000 sent", n)
				}
				if d.Headers.Get("X-Filler-1999") != strings.Repeat("v", 20) {
					t.Errorf("header X-Filler-1999 not stored")
				}
			},
		},
		{
			name: "repeated signature headers, the right one last",
			req: func() request {
				b := hostilePayment(t, "evt_repeated", 0)
				good := hostileSign(t, ep, ep.Secret, b, time.Now()).Get("X-Signature")
				return request{url: ep.URL, header: http.Header{"X-Signature": {strings.Repeat("0", 64), good}}, body: b}
			},
			status: 200, outcome: models.OutcomeAccepted, eventStatus: models.StatusProcessed,
		},
		{
			name: "repeated signature headers, all wrong",
			req: func() request {
				return request{url: ep.URL, header: http.Header{"X-Signature": {strings.Repeat("0", 64), strings.Repeat("1", 64)}},
					body: []byte(`{"id":"evt_x"}`)}
			},
			status: 401, outcome: models.OutcomeRejected,
			reason:     "no signature matched: 2 signatures checked against 1 secret (wrong secret or modified body)",
			storedBody: []byte(`{"id":"evt_x"}`), bodySize: 14,
		},
		{
			name: "Content-Type text/plain",
			req: func() request {
				b := hostilePayment(t, "evt_textplain", 0)
				h := hostileSign(t, ep, ep.Secret, b, time.Now())
				h.Set("Content-Type", "text/plain; charset=latin1")
				return request{url: ep.URL, header: h, body: b}
			},
			status: 200, outcome: models.OutcomeAccepted, eventStatus: models.StatusProcessed,
			check: func(t *testing.T, d *models.Delivery) {
				if got := d.Headers.Get("Content-Type"); got != "text/plain; charset=latin1" {
					t.Errorf("stored Content-Type %q", got)
				}
			},
		},
		{
			name: "no Content-Type",
			req: func() request {
				b := hostilePayment(t, "evt_notype", 0)
				h := hostileSign(t, ep, ep.Secret, b, time.Now())
				h.Del("Content-Type")
				return request{url: ep.URL, header: h, body: b}
			},
			status: 200, outcome: models.OutcomeAccepted, eventStatus: models.StatusProcessed,
			check: func(t *testing.T, d *models.Delivery) {
				if _, ok := d.Headers["Content-Type"]; ok {
					t.Errorf("stored a Content-Type that was not sent: %q", d.Headers.Get("Content-Type"))
				}
			},
		},
		{
			name: "timestamp ten minutes in the past",
			req: func() request {
				b := stripeBody("evt_hostile_past")
				return request{url: stripe.URL, header: hostileSign(t, stripe, stripeSecret, b, time.Now().Add(-10*time.Minute)), body: b}
			},
			status: 401, outcome: models.OutcomeRejected,
			reasonRE: regexp.MustCompile(`^timestamp outside tolerance: signed (9m59|10m0|10m1)s in the past, tolerance 5m0s$`),
		},
		{
			name: "timestamp ten minutes in the future",
			req: func() request {
				b := stripeBody("evt_hostile_future")
				return request{url: stripe.URL, header: hostileSign(t, stripe, stripeSecret, b, time.Now().Add(10*time.Minute)), body: b}
			},
			status: 401, outcome: models.OutcomeRejected,
			reasonRE: regexp.MustCompile(`^timestamp outside tolerance: signed (9m59|10m0|10m1)s in the future, tolerance 5m0s$`),
		},
		{
			name: "stripe signature with odd spacing and upper case",
			req: func() request {
				b := stripeBody("evt_hostile_spacing")
				h := hostileSign(t, stripe, stripeSecret, b, time.Now())
				var ts, v1 string
				for item := range strings.SplitSeq(h.Get("Stripe-Signature"), ",") {
					k, v, _ := strings.Cut(item, "=")
					switch k {
					case "t":
						ts = v
					case "v1":
						v1 = v
					}
				}
				h.Set("Stripe-Signature", "T = "+ts+" ,   V1="+strings.ToUpper(v1)+" ,")
				return request{url: stripe.URL, header: h, body: b}
			},
			status: 200, outcome: models.OutcomeAccepted, eventStatus: models.StatusProcessed,
		},
		{
			name: "HMAC signature in upper-case hex among blank folded values",
			req: func() request {
				b := hostilePayment(t, "evt_upper", 0)
				sig := strings.ToUpper(hostileSign(t, ep, ep.Secret, b, time.Now()).Get("X-Signature"))
				return request{url: ep.URL, header: http.Header{"X-Signature": {" , " + sig + " ,  "}}, body: b}
			},
			status: 200, outcome: models.OutcomeAccepted, eventStatus: models.StatusProcessed,
		},
		{
			name: "endpoint whose secrets have all expired",
			req: func() request {
				b := hostilePayment(t, "evt_expired", 0)
				return request{url: expired.URL, header: hostileSign(t, expired, expired.Secret, b, time.Now()), body: b}
			},
			status: 401, outcome: models.OutcomeRejected,
			reason: "endpoint has no valid secret: every secret of this endpoint has expired; rotate in a new one on the endpoint's page",
		},
		{
			name: "signed with a secret the endpoint does not know",
			req: func() request {
				b := hostilePayment(t, "evt_unknown_secret", 0)
				return request{url: ep.URL, header: hostileSign(t, ep, hex.EncodeToString(make([]byte, 32)), b, time.Now()), body: b}
			},
			status: 401, outcome: models.OutcomeRejected,
			reason: "no signature matched: 1 signature checked against 1 secret (wrong secret or modified body)",
		},
		{
			name: "unknown endpoint token",
			req: func() request {
				return request{url: a.URL + "/in/" + strings.Repeat("z", 43), header: http.Header{}, body: []byte(`{}`)}
			},
			status: 404,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before int64
			a.Store.DB.Model(&models.Delivery{}).Count(&before)
			rq := tt.req()
			var body io.Reader = bytes.NewReader(rq.body)
			if rq.chunked {
				body = hostileUnsized{bytes.NewReader(rq.body)}
			}
			req, err := http.NewRequest(http.MethodPost, rq.url, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range rq.header {
				req.Header[k] = vs
			}
			status, _, reply := hostileDo(t, req)
			if status != tt.status {
				t.Fatalf("status %d, want %d (%s)", status, tt.status, reply.raw)
			}
			var after int64
			a.Store.DB.Model(&models.Delivery{}).Count(&after)
			if tt.outcome == "" {
				if after != before || reply.DeliveryID != 0 {
					t.Fatalf("stored %d deliveries (reply id %d), want none", after-before, reply.DeliveryID)
				}
				if reply.Error == "" {
					t.Fatalf("answer %s says nothing", reply.raw)
				}
				return
			}
			if after != before+1 {
				t.Fatalf("stored %d deliveries, want exactly 1", after-before)
			}
			reason := tt.reason
			if tt.reasonRE != nil && tt.reasonRE.MatchString(reply.Error) {
				reason = reply.Error
			}
			if reply.Outcome != tt.outcome || reply.Error != reason {
				t.Fatalf("answer outcome %q error %q, want %q %q%v", reply.Outcome, reply.Error, tt.outcome, reason, tt.reasonRE)
			}
			d := hostileDelivery(t, a, reply.DeliveryID)
			if d.Outcome != tt.outcome || d.Reason != reason || d.StatusCode != tt.status || d.EndpointID == 0 {
				t.Fatalf("stored outcome %q reason %q status %d endpoint %d, want %q %q %d",
					d.Outcome, d.Reason, d.StatusCode, d.EndpointID, tt.outcome, reason, tt.status)
			}
			if tt.storedBody != nil && !bytes.Equal(d.Body, tt.storedBody) {
				t.Fatalf("stored body differs from the one sent (%d bytes, want %d)", len(d.Body), len(tt.storedBody))
			}
			if tt.storedBody == nil && tt.outcome == models.OutcomeRejected && tt.bodySize != 0 && len(d.Body) != 0 {
				t.Fatalf("kept %d bytes of a body over the limit", len(d.Body))
			}
			if tt.bodySize != 0 && d.BodySize != tt.bodySize {
				t.Fatalf("stored body size %d, want %d", d.BodySize, tt.bodySize)
			}
			if tt.outcome == models.OutcomeAccepted && tt.storedBody == nil && !bytes.Equal(d.Body, rq.body) {
				t.Fatalf("stored body differs from the one sent")
			}
			switch {
			case tt.eventStatus == "" && (d.EventID != nil || reply.EventID != 0):
				t.Fatalf("a rejected delivery has event %v / %d", d.EventID, reply.EventID)
			case tt.eventStatus != "":
				if d.EventID == nil || *d.EventID != reply.EventID {
					t.Fatalf("delivery event %v, answer event %d", d.EventID, reply.EventID)
				}
				ev, err := a.Store.EventByID(reply.EventID)
				if err != nil {
					t.Fatal(err)
				}
				if tt.eventStatus == models.StatusProcessed {
					ev = a.WaitStatus(ev.ID, models.StatusProcessed)
				}
				if ev.Status != tt.eventStatus || ev.LastError != tt.eventError {
					t.Fatalf("event status %q error %q, want %q %q", ev.Status, ev.LastError, tt.eventStatus, tt.eventError)
				}
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
	if resp, err := hostileClient.Get(a.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("server unhealthy after the hostile requests: %v", err)
	}
}

// TestHostileTruncatedBody: a sender that closes its connection before the body it announced is
// complete gets a 400 and leaves a record saying so, every time (the failed read cancels the request's
// context, which must not stop the record from being stored).
func TestHostileTruncatedBody(t *testing.T) {
	a := testapp.New(t)
	ep := a.Endpoint("Shop", "generic", "", webhooks.Settings{})
	addr := strings.TrimPrefix(a.URL, "http://")
	const want = "body could not be read: the connection closed before the whole body arrived"
	for i := range 8 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "POST /in/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":\"ev", ep.Token, addr)
		conn.(*net.TCPConn).CloseWrite()
		raw, _ := io.ReadAll(conn)
		conn.Close()
		if !strings.HasPrefix(string(raw), "HTTP/1.1 400 ") {
			t.Fatalf("try %d: answer %q, want 400", i, hostileFirstLine(string(raw)))
		}
		// The answer comes after the record is stored.
		var d models.Delivery
		var n int64
		a.Store.DB.Model(&models.Delivery{}).Where("endpoint_id = ?", ep.ID).Count(&n)
		a.Store.DB.Where("endpoint_id = ?", ep.ID).Order("id DESC").Limit(1).Find(&d)
		if n != int64(i+1) {
			t.Fatalf("try %d: %d records, want %d: the truncated delivery was not recorded", i, n, i+1)
		}
		if d.Outcome != models.OutcomeRejected || d.Reason != want || string(d.Body) != `{"id":"ev` || d.BodySize != 9 {
			t.Fatalf("try %d: recorded %q %q body %q (%d bytes)", i, d.Outcome, d.Reason, d.Body, d.BodySize)
		}
	}
}

func hostileFirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

// TestHostileMemory sends 200 bodies of the maximum size at once. The heap must stay bounded while
// they are received (what the server holds per request is about the body, not a multiple of it) and
// come back down once they are stored: nothing keeps request bodies alive.
func TestHostileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 200 MiB")
	}
	a := testapp.New(t)
	ep := a.Endpoint("Shop", "generic", "", webhooks.Settings{})
	limit := int(a.Config.Ingest.MaxBodyBytes)

	// The senders' bodies are built first, so the heap measured during the load is the server's.
	const senders = 200
	reqs := make([]*http.Request, senders)
	for i := range reqs {
		body := hostilePayment(t, fmt.Sprintf("evt_mem_%03d", i), limit)
		reqs[i], _ = http.NewRequest(http.MethodPost, ep.URL, bytes.NewReader(body))
		reqs[i].Header = hostileSign(t, ep, ep.Secret, body, time.Now())
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()

	var wg sync.WaitGroup
	var ok atomic.Int64
	errs := make(chan string, senders)
	for i, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hostileClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Sprintf("sender %d: status %d", i, resp.StatusCode)
				return
			}
			ok.Add(1)
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if ok.Load() != senders {
		t.Fatalf("%d of %d maximum-size deliveries accepted", ok.Load(), senders)
	}
	var stored int64
	a.Store.DB.Model(&models.Delivery{}).Where("body_size = ?", limit).Count(&stored)
	if stored != senders {
		t.Fatalf("stored %d maximum-size deliveries, want %d", stored, senders)
	}

	// The workers then process the events, a few bodies at a time; what they hold while they run is
	// theirs, not a leak, so the heap is measured once they are done.
	a.WaitFor("every maximum-size event processed", 30*time.Second, func() bool {
		var waiting int64
		a.Store.DB.Model(&models.Event{}).Where("status IN ?", []models.Status{models.StatusPending, models.StatusProcessing}).Count(&waiting)
		return waiting == 0
	})
	reqs = nil
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap in use: %d MiB with the senders' bodies built, +%d MiB at peak while receiving %d × %d KiB at once, %d MiB after GC",
		base.HeapInuse>>20, grew>>20, senders, limit>>10, after.HeapInuse>>20)
	// 64 MiB, well under the 200 MiB that was sent: a batch of kept bodies (the group-commit writer once
	// held its last batch's) shows as 100 MiB or more.
	const bound = 64 << 20
	if after.HeapInuse > bound {
		t.Fatalf("heap in use after GC is %d MiB, over %d MiB: request bodies are being kept alive", after.HeapInuse>>20, bound>>20)
	}
	// Receiving, verifying, storing and indexing a body costs a few copies of it (and garbage waiting
	// for the collector), not more.
	if perRequest := grew / senders; perRequest > int64(6*limit) {
		t.Fatalf("the heap grew by %d MiB, %d KiB per request of %d KiB", grew>>20, perRequest>>10, limit>>10)
	}
}
