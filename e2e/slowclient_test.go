package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"hooklog/models"
	"hooklog/webhooks"
)

// The real server reads headers for at most 5s (ReadHeaderTimeout in main.go) and a whole request
// for at most ingest.read_timeout, set short here.
const (
	headerTimeout = 5 * time.Second
	readTimeout   = 2 * time.Second
)

// dribble opens a raw connection, writes head at once, then writes drip one byte at a time every
// interval until the server closes the connection. It returns how long the connection lived and
// what the server answered ("" when it just closed).
func dribble(t *testing.T, addr, head, drip string, interval time.Duration) (time.Duration, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Error(err)
		return 0, ""
	}
	answer := make(chan string, 1)
	go func() {
		raw, _ := io.ReadAll(conn) // until the server closes
		answer <- string(raw)
	}()
	for i := 0; ; i = (i + 1) % len(drip) {
		select {
		case a := <-answer:
			return time.Since(start), a
		case <-time.After(interval):
		}
		if _, err := conn.Write([]byte{drip[i]}); err != nil {
			return time.Since(start), <-answer
		}
		if time.Since(start) > 30*time.Second {
			t.Error("the server let a dribbling client hold a connection for 30s")
			return time.Since(start), ""
		}
	}
}

// apiDeliveries lists the merchant's latest deliveries through the API.
func (in *install) apiDeliveries(t *testing.T) []struct {
	ID         uint           `json:"id"`
	Outcome    models.Outcome `json:"outcome"`
	Reason     string         `json:"reason"`
	StatusCode int            `json:"status_code"`
	BodySize   int64          `json:"body_size"`
} {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+in.addr+"/api/v1/deliveries?limit=200", nil)
	req.Header.Set("Authorization", "Bearer "+in.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Items []struct {
			ID         uint           `json:"id"`
			Outcome    models.Outcome `json:"outcome"`
			Reason     string         `json:"reason"`
			StatusCode int            `json:"status_code"`
			BodySize   int64          `json:"body_size"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Items
}

// TestSlowClients: clients that dribble their headers or their body are cut off within the
// configured timeouts, while other requests keep being served promptly.
func TestSlowClients(t *testing.T) {
	in := newInstall(t, fmt.Sprintf("ingest:\n  read_timeout: %s\n", readTimeout))
	p := in.start()
	defer p.kill()
	path := strings.TrimPrefix(in.endpoint.URL, "http://"+in.addr)
	profile, err := webhooks.New("generic", webhooks.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"evt_slow_body","event":"payment.completed","data":{"orderId":"o-slow","amount":"1.00","currency":"USD"}}`)
	sig, err := profile.Sign(in.endpoint.Secret, body, time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}

	type result struct {
		lived  time.Duration
		answer string
	}
	var wg sync.WaitGroup
	const loris = 50
	headerResults := make(chan result, loris)
	for range loris {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lived, answer := dribble(t, in.addr, "POST "+path+" HTTP/1.1\r\nHost: "+in.addr+"\r\nX-Slow: ", "aaaaaaaa", 200*time.Millisecond)
			headerResults <- result{lived, answer}
		}()
	}
	bodyResult := make(chan result, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Signature: %s\r\nContent-Length: %d\r\n\r\n",
			path, in.addr, sig.Get("X-Signature"), len(body))
		lived, answer := dribble(t, in.addr, head+string(body[:10]), string(body[10:]), 300*time.Millisecond)
		bodyResult <- result{lived, answer}
	}()

	// Meanwhile, a provider's normal deliveries are answered at once.
	client := &http.Client{Timeout: 5 * time.Second}
	var slowest time.Duration
	for i := range 20 {
		b := fmt.Appendf(nil, `{"id":"evt_normal_%d","event":"payment.completed","data":{"orderId":"o-n%d","amount":"1.00","currency":"USD"}}`, i, i)
		h, _ := profile.Sign(in.endpoint.Secret, b, time.Now(), "")
		req, _ := http.NewRequest(http.MethodPost, in.endpoint.URL, bytes.NewReader(b))
		req.Header = h
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("normal delivery %d while slow clients hold connections: %v", i, err)
		}
		resp.Body.Close()
		slowest = max(slowest, time.Since(start))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("normal delivery %d: %s", i, resp.Status)
		}
		time.Sleep(150 * time.Millisecond)
	}
	wg.Wait()
	close(headerResults)
	t.Logf("20 normal deliveries answered while %d clients dribbled headers, slowest in %s", loris, slowest.Round(time.Millisecond))
	if slowest > time.Second {
		t.Errorf("a normal delivery took %s while slow clients were connected", slowest)
	}

	// Header dribblers are dropped at the header timeout, without an answer (there is no request yet).
	var longest time.Duration
	for r := range headerResults {
		longest = max(longest, r.lived)
		if r.lived < headerTimeout-time.Second || r.lived > headerTimeout+2*time.Second {
			t.Errorf("a client dribbling headers was cut off after %s, want about %s", r.lived.Round(time.Millisecond), headerTimeout)
		}
	}
	t.Logf("%d header dribblers cut off, the last after %s", loris, longest.Round(time.Millisecond))

	// The body dribbler is stopped at the read timeout and told why; the attempt is recorded.
	br := <-bodyResult
	t.Logf("body dribbler cut off after %s with %q", br.lived.Round(time.Millisecond), firstLine(br.answer))
	if br.lived < readTimeout-500*time.Millisecond || br.lived > readTimeout+2*time.Second {
		t.Errorf("a client dribbling its body was cut off after %s, want about %s", br.lived, readTimeout)
	}
	if !strings.HasPrefix(br.answer, "HTTP/1.1 400 ") {
		t.Errorf("body dribbler answered %q, want 400", firstLine(br.answer))
	}
	var found bool
	for _, d := range in.apiDeliveries(t) {
		if d.StatusCode == http.StatusBadRequest {
			found = true
			const want = "body could not be read: the sender took longer than the server's read timeout"
			// What came before the cut: the first 10 bytes and a byte every 300ms.
			if d.Outcome != models.OutcomeRejected || d.Reason != want || d.BodySize < 10 || d.BodySize >= int64(len(body)) {
				t.Errorf("slow body recorded as %q %q with %d bytes, want rejected %q with the bytes that came", d.Outcome, d.Reason, d.BodySize, want)
			}
		}
	}
	if !found {
		t.Errorf("the cut-off slow body left no record: %+v", in.apiDeliveries(t))
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

// TestServeHeaderLimits: thousands of headers beyond the server's 256 KiB header limit get 431 from
// net/http before any handler runs, and the server goes on serving.
func TestServeHeaderLimits(t *testing.T) {
	in := newInstall(t, "")
	p := in.start()
	defer p.kill()
	path := strings.TrimPrefix(in.endpoint.URL, "http://"+in.addr)

	send := func(headers int) string {
		conn, err := net.Dial("tcp", in.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		var b strings.Builder
		fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 2\r\n", path, in.addr)
		for i := range headers {
			fmt.Fprintf(&b, "X-Filler-%05d: %s\r\n", i, strings.Repeat("v", 24))
		}
		b.WriteString("Connection: close\r\n\r\n{}")
		go io.WriteString(conn, b.String()) // the server may answer before reading it all
		status, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			t.Fatalf("%d headers: no answer: %v", headers, err)
		}
		return strings.TrimSpace(status)
	}
	before := len(in.apiDeliveries(t))
	// 10000 headers of 40 bytes: 400 KB, over the limit.
	if got := send(10000); got != "HTTP/1.1 431 Request Header Fields Too Large" {
		t.Fatalf("10000 headers: %q, want 431", got)
	}
	if after := len(in.apiDeliveries(t)); after != before {
		t.Fatalf("a request refused by net/http left %d records", after-before)
	}
	// 3000 headers (120 KB) fit: the request reaches the handler, which rejects the missing signature
	// and records it.
	if got := send(3000); got != "HTTP/1.1 401 Unauthorized" {
		t.Fatalf("3000 headers: %q, want 401", got)
	}
	ds := in.apiDeliveries(t)
	if len(ds) != before+1 || ds[0].Reason != "no signature header: X-Signature is missing" {
		t.Fatalf("3000 headers: deliveries %+v", ds)
	}
}
