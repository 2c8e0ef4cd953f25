package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hooklog/models"
	"hooklog/testapp/testdb"
	"hooklog/webhooks"
)

// multiInstances is how many `hooklog serve` processes share the database.
const multiInstances = 3

// multiAdminPassword is the password of the admin the first instance bootstraps.
const multiAdminPassword = "multi-instance-password"

// TestMultiInstance runs three real servers on one PostgreSQL database behind a round-robin
// "load balancer" of eight senders, kills one with SIGKILL mid-run, keeps sending to the other two,
// and then proves from the database that every acknowledged delivery is stored once, every event
// was processed once, and every order holds exactly its refunds.
func TestMultiInstance(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("multi-instance test: set HOOKLOG_TEST_POSTGRES to a PostgreSQL admin DSN (eval \"$(.ci/pg-start)\") to run it; several instances need PostgreSQL")
	}
	c := newCluster(t, "shutdown_grace: 5s\npostgres_max_conns: 10\n"+
		"worker:\n  lease: 2s\n  poll_interval: 100ms\n  base_backoff: 50ms\n  max_backoff: 1s\n")
	// All at once: their migrations and first-start bootstraps race, as in a rolling deploy.
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Go(func() { n.start(t) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	c.checkSharedSession(t)

	l := &multiLoad{c: c, client: &http.Client{Timeout: 20 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}},
		refunds: map[string]int64{}, acksBy: make([]int, len(c.nodes))}
	l.run(t, 8)

	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 2))
	time.Sleep(time.Duration(1500+rng.IntN(1000)) * time.Millisecond)
	victim := c.nodes[1]
	victim.proc.kill()
	kills := 1
	ackedAtKill := l.ackCount()
	// The survivors take the load, and the victim's claimed events once their leases end.
	time.Sleep(2500 * time.Millisecond)
	l.finish(t, 60*time.Second)
	c.waitDrained(t, 30*time.Second, 5*time.Minute)
	for _, n := range c.nodes {
		if n == victim {
			continue
		}
		if code, _ := n.proc.stop(t, 5*time.Second); code != 0 {
			t.Fatalf("instance %d: exit code %d\n%s", n.index, code, n.log())
		}
	}

	f := l.verify(t)
	t.Logf("%d events into %d orders; acknowledged per instance %v (instance 1 killed after %d acknowledgements in all); %d sends failed and were retried on another instance; %d deliveries stored as duplicates of a retried event; %d events claimed again after an interrupted run",
		f.events, f.orders, l.acksBy, ackedAtKill, l.errors.Load(), f.redelivered, f.retaken)
	line := fmt.Sprintf("multi-instance test: instances %d, kills %d, sent %d, acknowledged %d, stored %d, lost %d (must be 0), duplicates processed %d (must be 0)",
		len(c.nodes), kills, l.sent.Load(), f.acknowledged, f.stored, f.lost, f.duplicates)
	t.Log(line)
	fmt.Printf("%s\n", line)
	if f.lost != 0 || f.duplicates != 0 || f.acknowledged == 0 || f.stored != f.acknowledged {
		t.Fatalf("multi-instance run lost or duplicated work: %s", line)
	}
	for i, n := range l.acksBy {
		if n == 0 {
			t.Errorf("instance %d acknowledged nothing; the load was not spread", i)
		}
	}
}

// cluster is one PostgreSQL database, one secret key and one config file, shared by several
// instances that differ only in their listen address and data directory.
type cluster struct {
	bin, dsn, key, config string
	endpoint              endpointInfo
	nodes                 []*node
}

// node is one instance of the cluster.
type node struct {
	c     *cluster
	index int
	dir   string
	addr  string
	proc  *proc
}

// newCluster creates a fresh database, writes configYAML, and creates the merchant's endpoint and
// a token through the CLI against that database.
func newCluster(t *testing.T, configYAML string) *cluster {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &cluster{bin: hooklogBinary(t), dsn: testdb.CreatePostgres(t), key: hex.EncodeToString(key),
		config: filepath.Join(dir, "hooklog.yaml")}
	if err := os.WriteFile(c.config, []byte(configYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range multiInstances {
		n := &node{c: c, index: i, dir: filepath.Join(dir, fmt.Sprintf("instance-%d", i)), addr: freeAddr(t)}
		if err := os.Mkdir(n.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, n)
	}
	out := c.nodes[0].cli(t, "endpoint", "add", "--merchant", "Shop", "--name", "Provider", "--provider", "generic", "--json")
	if err := json.Unmarshal([]byte(out), &c.endpoint); err != nil {
		t.Fatalf("endpoint add --json printed %q: %v", out, err)
	}
	if _, _, ok := strings.Cut(c.endpoint.URL, "/in/"); !ok {
		t.Fatalf("endpoint URL %q has no /in/{token}", c.endpoint.URL)
	}
	if tok := strings.TrimSpace(c.nodes[0].cli(t, "token", "add", "--merchant", "Shop", "--role", "support", "--name", "e2e")); tok == "" {
		t.Fatal("token add printed nothing")
	}
	return c
}

// ingestURL is the endpoint's ingest URL on instance n.
func (n *node) ingestURL() string {
	_, tok, _ := strings.Cut(n.c.endpoint.URL, "/in/")
	return "http://" + n.addr + "/in/" + tok
}

func (n *node) env() []string {
	return append(os.Environ(), "HOOKLOG_DB="+n.c.dsn, "HOOKLOG_SECRET_KEY="+n.c.key, "HOOKLOG_DATA_DIR="+n.dir,
		"HOOKLOG_LISTEN="+n.addr, "HOOKLOG_LOG_LEVEL=warn", "HOOKLOG_ADMIN_PASSWORD="+multiAdminPassword)
}

// cli runs one hooklog command as this instance and returns its stdout.
func (n *node) cli(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(n.c.bin, append([]string{"-config", n.c.config}, args...)...)
	cmd.Env = n.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hooklog %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// start runs `hooklog serve` and waits until it answers /healthz. It may run on another goroutine
// than the test's, so it reports with t.Errorf.
func (n *node) start(t *testing.T) {
	logf, err := os.OpenFile(filepath.Join(n.dir, "serve.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Error(err)
		return
	}
	defer logf.Close()
	cmd := exec.Command(n.c.bin, "-config", n.c.config, "serve")
	cmd.Env = n.env()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Error(err)
		return
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	n.proc = p
	t.Cleanup(p.kill)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + n.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Errorf("instance %d exited at start: %v\n%s", n.index, p.err, n.log())
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Errorf("instance %d did not answer /healthz within 30s\n%s", n.index, n.log())
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// log returns the end of the instance's log, for failure messages.
func (n *node) log() string {
	raw, _ := os.ReadFile(filepath.Join(n.dir, "serve.log"))
	if len(raw) > 4000 {
		raw = raw[len(raw)-4000:]
	}
	return string(raw)
}

// warnings returns the warning and error lines of every instance's log (the last 40).
func (c *cluster) warnings() string {
	var lines []string
	for _, n := range c.nodes {
		raw, _ := os.ReadFile(filepath.Join(n.dir, "serve.log"))
		for line := range strings.Lines(string(raw)) {
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") || strings.Contains(line, "panic") {
				lines = append(lines, fmt.Sprintf("instance %d: %s", n.index, line))
			}
		}
	}
	return strings.Join(lines[max(0, len(lines)-40):], "")
}

// openStore opens the shared database with the shared key.
func (c *cluster) openStore(t *testing.T) *models.Store {
	t.Helper()
	key, _ := hex.DecodeString(c.key)
	store, err := models.Open(models.Options{DSN: c.dsn, MaxConns: 4, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

var multiCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// checkSharedSession logs in on the first instance (as the admin one of the instances bootstrapped)
// and uses the session cookie on the others: a page and a CSRF-checked form.
func (c *cluster) checkSharedSession(t *testing.T) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(n *node, path string) (int, string) {
		resp, err := client.Get("http://" + n.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	post := func(n *node, path string, form url.Values) int {
		resp, err := client.PostForm("http://"+n.addr+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	first := c.nodes[0]
	_, page := get(first, "/login")
	m := multiCSRF.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page of instance 0")
	}
	if code := post(first, "/login", url.Values{"csrf_token": {m[1]}, "email": {"admin@example.com"}, "password": {multiAdminPassword}}); code != http.StatusSeeOther {
		t.Fatalf("login on instance 0: status %d\n%s", code, first.log())
	}
	_, page = get(first, "/tokens")
	if m = multiCSRF.FindStringSubmatch(page); m == nil {
		t.Fatalf("no CSRF token on /tokens of instance 0")
	}
	for _, n := range c.nodes[1:] {
		if code, page := get(n, "/tokens"); code != http.StatusOK || !strings.Contains(page, "admin@example.com") {
			t.Fatalf("GET /tokens on instance %d with instance 0's session: status %d", n.index, code)
		}
		name := fmt.Sprintf("made on instance %d", n.index)
		if code := post(n, "/tokens", url.Values{"csrf_token": {m[1]}, "name": {name}, "role": {"support"}}); code != http.StatusCreated {
			t.Fatalf("POST /tokens on instance %d with instance 0's session and CSRF token: status %d", n.index, code)
		}
	}
}

// multiLoad is a set of senders posting signed webhooks round-robin over the instances, as a load
// balancer would spread a provider's requests: each event until it is acknowledged with a 2xx,
// moving on to the next instance after a connection error or any other status.
type multiLoad struct {
	c      *cluster
	client *http.Client

	sent, errors atomic.Int64
	mu           sync.Mutex
	acks         []ack
	acksBy       []int
	refunds      map[string]int64 // each paid order, with what it was sent in refunds (minor units)
	events       []string         // external ids sent

	stopping atomic.Bool
	giveUp   atomic.Bool
	wg       sync.WaitGroup
}

// run starts n senders. Sender g sends, for its orders m-g-0, m-g-1, ...: a payment, then one or two
// refunds of the same order, each a distinct event, each only after the previous one was acknowledged.
func (l *multiLoad) run(t *testing.T, n int) {
	profile, err := webhooks.New("generic", webhooks.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	for g := range n {
		l.wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			next := g // the instance this sender posts to next
			send := func(typ, id, order string, amount int64) bool {
				ok := l.send(t, profile, &next, typ, id, order, amount)
				next++
				return ok
			}
			for o := 0; !l.stopping.Load(); o++ {
				order := fmt.Sprintf("m-%d-%d", g, o)
				if !send("payment.completed", fmt.Sprintf("mevt-%d-%d-pay", g, o), order, 2000) {
					return
				}
				l.mu.Lock()
				l.refunds[order] = 0
				l.mu.Unlock()
				for r := range 1 + rng.IntN(2) {
					amount := int64(100 + rng.IntN(400))
					if !send("refund.completed", fmt.Sprintf("mevt-%d-%d-rf%d", g, o, r), order, amount) {
						return
					}
					l.mu.Lock()
					l.refunds[order] += amount
					l.mu.Unlock()
				}
			}
		})
	}
}

// send posts one event until an instance acknowledges it, starting at instance *next and moving on
// after each failure; false when it gave up.
func (l *multiLoad) send(t *testing.T, profile webhooks.Profile, next *int, typ, id, order string, amount int64) bool {
	body, err := profile.Sample(typ, webhooks.SampleParams{ID: id, OrderRef: order, Amount: amount, Currency: "USD"})
	if err != nil {
		t.Error(err)
		return false
	}
	h, err := profile.Sign(l.c.endpoint.Secret, body, time.Now(), id)
	if err != nil {
		t.Error(err)
		return false
	}
	l.mu.Lock()
	l.events = append(l.events, id)
	l.mu.Unlock()
	for ; ; *next++ {
		if l.giveUp.Load() {
			return false
		}
		i := *next % len(l.c.nodes)
		l.sent.Add(1)
		a, res, raw := postOnce(l.client, l.c.nodes[i].ingestURL(), h, body, id)
		switch res {
		case postNoAnswer:
			// Another instance is tried at once.
			l.errors.Add(1)
			continue
		case postRefused:
			l.errors.Add(1)
			time.Sleep(20 * time.Millisecond)
			continue
		case postBadAck:
			t.Errorf("2xx without a delivery and an event: %q", raw)
			return false
		}
		l.mu.Lock()
		l.acks = append(l.acks, a)
		l.acksBy[i]++
		l.mu.Unlock()
		return true
	}
}

func (l *multiLoad) ackCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acks)
}

// finish stops new orders and waits for the senders to deliver what they started.
func (l *multiLoad) finish(t *testing.T, timeout time.Duration) {
	t.Helper()
	l.stopping.Store(true)
	done := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		l.giveUp.Store(true)
		<-done
		t.Fatalf("senders could not deliver their last events within %s; warnings:\n%s", timeout, l.c.warnings())
	}
}

// waitDrained waits until no event is pending, processing, failed or dead. It fails when the
// workers stop making progress for stall, or when everything takes longer than limit.
func (c *cluster) waitDrained(t *testing.T, stall, limit time.Duration) {
	t.Helper()
	db := c.openStore(t).DB
	statuses := []models.Status{models.StatusPending, models.StatusProcessing, models.StatusFailed, models.StatusDead}
	start, lastProgress := time.Now(), time.Now()
	best := int64(-1)
	for {
		var n int64
		if err := db.Model(&models.Event{}).Where("status IN ?", statuses).Count(&n).Error; err != nil {
			t.Fatalf("drain: %v", err)
		}
		if n == 0 {
			t.Logf("workers drained in %s", time.Since(start).Round(time.Millisecond))
			return
		}
		if best < 0 || n < best {
			best, lastProgress = n, time.Now()
		}
		if time.Since(lastProgress) > stall || time.Since(start) > limit {
			t.Fatalf("%d events still unfinished after %s; warnings:\n%s", n, time.Since(start).Round(time.Second), c.warnings())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// verify reads the shared database and checks that every acknowledged delivery is stored once,
// under its event, that every event was processed once, and that every order holds exactly the
// refunds its events carried.
func (l *multiLoad) verify(t *testing.T) figures {
	t.Helper()
	db := l.c.openStore(t).DB
	var f figures

	var ds []models.Delivery
	if err := db.Select("id", "event_id", "outcome").Find(&ds).Error; err != nil {
		t.Fatal(err)
	}
	deliveries := make(map[uint]models.Delivery, len(ds))
	for _, d := range ds {
		deliveries[d.ID] = d
		if d.Outcome == models.OutcomeDuplicate {
			f.redelivered++
		}
	}
	var evs []models.Event
	if err := db.Select("id", "external_id", "status", "attempts", "order_ref", "canonical", "amount", "applied", "last_error").Find(&evs).Error; err != nil {
		t.Fatal(err)
	}
	f.events = len(evs)
	byExternal := map[string]int{}
	byID := map[uint]models.Event{}
	for _, e := range evs {
		byExternal[e.ExternalID]++
		byID[e.ID] = e
	}

	f.acknowledged = len(l.acks)
	seen := map[uint]bool{}
	for _, a := range l.acks {
		d, ok := deliveries[a.deliveryID]
		ev, evOK := byID[a.eventID]
		switch {
		case seen[a.deliveryID]:
			t.Errorf("delivery %d acknowledged twice", a.deliveryID)
			f.lost++
		case !ok:
			t.Errorf("acknowledged delivery %d (%s) is not stored", a.deliveryID, a.externalID)
			f.lost++
		case d.EventID == nil || *d.EventID != a.eventID:
			t.Errorf("acknowledged delivery %d is stored under event %v, want %d", a.deliveryID, d.EventID, a.eventID)
			f.lost++
		case !evOK || ev.ExternalID != a.externalID:
			t.Errorf("acknowledged delivery %d: event %d is %q, want %q", a.deliveryID, a.eventID, ev.ExternalID, a.externalID)
			f.lost++
		case byExternal[a.externalID] != 1:
			t.Errorf("event %s is stored %d times", a.externalID, byExternal[a.externalID])
			f.lost++
		default:
			f.stored++
		}
		seen[a.deliveryID] = true
	}
	for _, id := range l.events {
		if byExternal[id] != 1 {
			t.Errorf("event %s, sent until acknowledged, is stored %d times", id, byExternal[id])
			f.lost++
		}
	}

	// Processed once: one processed attempt per event (others only failed or were cut short by the
	// kill), at most one order transition per event, nothing left processing.
	var attempts []struct {
		EventID uint
		Outcome models.Status
		N       int
	}
	if err := db.Model(&models.Attempt{}).Select("event_id, outcome, count(*) AS n").Group("event_id, outcome").Find(&attempts).Error; err != nil {
		t.Fatal(err)
	}
	processedRuns := map[uint]int{}
	for _, a := range attempts {
		if a.Outcome == models.StatusProcessed {
			processedRuns[a.EventID] += a.N
		}
	}
	var transitions []struct {
		EventID uint
		N       int
	}
	if err := db.Model(&models.OrderTransition{}).Select("event_id, count(*) AS n").Group("event_id").Find(&transitions).Error; err != nil {
		t.Fatal(err)
	}
	for _, tr := range transitions {
		if tr.N > 1 {
			t.Errorf("event %d moved its order %d times", tr.EventID, tr.N)
			f.duplicates++
		}
	}
	for _, e := range evs {
		if e.Attempts > 1 {
			f.retaken++
		}
		if e.Status != models.StatusProcessed || !e.Applied {
			t.Errorf("event %d (%s) is %s (applied %v, error %q), want processed", e.ID, e.ExternalID, e.Status, e.Applied, e.LastError)
		}
		if n := processedRuns[e.ID]; n != 1 {
			t.Errorf("event %d (%s) has %d processed runs, want 1", e.ID, e.ExternalID, n)
			f.duplicates += max(n-1, 0)
		}
	}

	var orders []models.Order
	if err := db.Find(&orders).Error; err != nil {
		t.Fatal(err)
	}
	f.orders = len(orders)
	storedRefunds := map[string]int64{}
	for _, e := range evs {
		if e.Canonical == webhooks.RefundCompleted {
			storedRefunds[e.OrderRef] += e.Amount
		}
	}
	for _, o := range orders {
		sent, paid := l.refunds[o.Reference]
		if !paid {
			t.Errorf("order %s exists, but no sender had its payment acknowledged", o.Reference)
			continue
		}
		if o.RefundedAmount != storedRefunds[o.Reference] || o.RefundedAmount != sent {
			t.Errorf("order %s refunded %d; its refund events add up to %d, the senders refunded %d",
				o.Reference, o.RefundedAmount, storedRefunds[o.Reference], sent)
			f.duplicates++
		}
		if !o.Paid || o.Amount != 2000 {
			t.Errorf("order %s: paid %v amount %d, want paid 2000", o.Reference, o.Paid, o.Amount)
		}
	}
	return f
}
