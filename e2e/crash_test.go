package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"hooklog/config"
	"hooklog/models"
	"hooklog/webhooks"
)

// soak makes TestCrashDurability kill the server 50 times instead of 5.
var soak = flag.Bool("soak", false, "crash test: kill the server 50 times instead of 5")

// binDir holds the hooklog binary built for these tests; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// hooklogBinary builds the real binary once per test run.
func hooklogBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "hooklog-e2e-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "hooklog")
		out, err := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", binPath, "..").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// install is a data directory and config file for the real binary, with the merchant's endpoint and
// API token created through the CLI.
type install struct {
	t        *testing.T
	bin      string
	dir      string
	config   string
	addr     string
	grace    time.Duration
	endpoint endpointInfo
	token    string
}

type endpointInfo struct {
	ID     uint   `json:"id"`
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// newInstall writes configYAML (plus shutdown_grace) and creates a generic endpoint and a token.
func newInstall(t *testing.T, configYAML string) *install {
	t.Helper()
	in := &install{t: t, bin: hooklogBinary(t), dir: t.TempDir(), addr: freeAddr(t), grace: 5 * time.Second}
	in.config = filepath.Join(in.dir, "hooklog.yaml")
	if err := os.WriteFile(in.config, []byte("shutdown_grace: 5s\n"+configYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	out := in.cli("endpoint", "add", "--merchant", "Shop", "--name", "Provider", "--provider", "generic", "--json")
	if err := json.Unmarshal([]byte(out), &in.endpoint); err != nil {
		t.Fatalf("endpoint add --json printed %q: %v", out, err)
	}
	// The CLI printed the URL for the configured listen address; the server listens on in.addr.
	_, tok, ok := strings.Cut(in.endpoint.URL, "/in/")
	if !ok || tok == "" {
		t.Fatalf("endpoint URL %q has no /in/{token}", in.endpoint.URL)
	}
	in.endpoint.URL = "http://" + in.addr + "/in/" + tok
	in.token = strings.TrimSpace(in.cli("token", "add", "--merchant", "Shop", "--role", "support", "--name", "e2e"))
	return in
}

func (in *install) env() []string {
	return append(os.Environ(), "HOOKLOG_DATA_DIR="+in.dir, "HOOKLOG_LISTEN="+in.addr, "HOOKLOG_LOG_LEVEL=warn")
}

// cli runs one hooklog command and returns its stdout.
func (in *install) cli(args ...string) string {
	in.t.Helper()
	cmd := exec.Command(in.bin, append([]string{"-config", in.config}, args...)...)
	cmd.Env = in.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		in.t.Fatalf("hooklog %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// proc is one running `hooklog serve`.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit status, once done is closed
}

// start runs `hooklog serve` and waits until it answers /healthz.
func (in *install) start() *proc {
	in.t.Helper()
	logf, err := os.OpenFile(filepath.Join(in.dir, "serve.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		in.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(in.bin, "-config", in.config, "serve")
	cmd.Env = in.env()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	in.t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + in.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			in.t.Fatalf("hooklog serve exited at start: %v\n%s", p.err, in.log())
		default:
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("hooklog serve did not answer /healthz within 15s\n%s", in.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL (a crash) and waits for it.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and returns the exit code and how long the process took to exit.
func (p *proc) stop(t *testing.T, within time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(within + 10*time.Second):
		p.kill()
		t.Fatalf("hooklog serve still running %s after SIGTERM", within+10*time.Second)
	}
	elapsed := time.Since(start)
	var exit *exec.ExitError
	switch {
	case p.err == nil:
		return 0, elapsed
	case errors.As(p.err, &exit):
		return exit.ExitCode(), elapsed
	}
	t.Fatalf("wait: %v", p.err)
	return -1, elapsed
}

// log returns the end of the server's log, for failure messages.
func (in *install) log() string {
	raw, _ := os.ReadFile(filepath.Join(in.dir, "serve.log"))
	if len(raw) > 4000 {
		raw = raw[len(raw)-4000:]
	}
	return string(raw)
}

// openStore opens the database with the key the server generated in the data directory.
func (in *install) openStore() *models.Store {
	in.t.Helper()
	raw, err := os.ReadFile(filepath.Join(in.dir, "secret.key"))
	if err != nil {
		in.t.Fatal(err)
	}
	key, err := config.DecodeKey(string(raw))
	if err != nil {
		in.t.Fatal(err)
	}
	store, err := models.Open(models.Options{DSN: filepath.Join(in.dir, "hooklog.db"), Key: key})
	if err != nil {
		in.t.Fatal(err)
	}
	in.t.Cleanup(func() { store.Close() })
	return store
}

// unfinished is an event the workers have not finished, as the drain check sees it.
type unfinished struct {
	ID            uint
	ExternalID    string
	Status        models.Status
	Attempts      int
	LastError     string
	NextAttemptAt *time.Time
}

// readOnly opens the database read-only beside the running server (WAL lets it read while the
// server writes).
func (in *install) readOnly() *gorm.DB {
	in.t.Helper()
	db, err := gorm.Open(sqlite.Open("file:"+filepath.Join(in.dir, "hooklog.db")+"?mode=ro&_busy_timeout=10000"),
		&gorm.Config{Logger: logger.Discard})
	if err != nil {
		in.t.Fatal(err)
	}
	in.t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

// waitDrained waits until no event is pending, processing or failed. It fails when the workers
// stop making progress for stall, or when everything takes longer than limit.
func (in *install) waitDrained(stall, limit time.Duration) {
	in.t.Helper()
	db := in.readOnly()
	start, lastProgress := time.Now(), time.Now()
	best := int64(-1)
	for {
		var n int64
		statuses := []models.Status{models.StatusPending, models.StatusProcessing, models.StatusFailed, models.StatusDead}
		if err := db.Model(&models.Event{}).Where("status IN ?", statuses).Count(&n).Error; err != nil {
			in.t.Fatalf("drain: %v", err)
		}
		if n == 0 {
			in.t.Logf("workers drained in %s", time.Since(start).Round(time.Millisecond))
			return
		}
		if best < 0 || n < best {
			best, lastProgress = n, time.Now()
		}
		if time.Since(lastProgress) > stall || time.Since(start) > limit {
			var stuck []unfinished
			db.Model(&models.Event{}).Where("status IN ?", statuses).Order("id").Limit(10).Find(&stuck)
			var b strings.Builder
			for _, e := range stuck {
				fmt.Fprintf(&b, "  event %d %s: %s after %d attempts, next %v, error %q\n", e.ID, e.ExternalID, e.Status, e.Attempts, e.NextAttemptAt, e.LastError)
			}
			in.t.Fatalf("%d events still unfinished after %s (no progress for %s); first ones:\n%sserver warnings:\n%s",
				n, time.Since(start).Round(time.Second), time.Since(lastProgress).Round(time.Second), b.String(), in.warnings())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// warnings returns the server log's warning and error lines (the last 40).
func (in *install) warnings() string {
	raw, _ := os.ReadFile(filepath.Join(in.dir, "serve.log"))
	var lines []string
	for line := range strings.Lines(string(raw)) {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") || strings.Contains(line, "panic") {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines[max(0, len(lines)-40):], "")
}

// ack is a delivery the server answered 2xx to.
type ack struct {
	deliveryID, eventID uint
	externalID          string
}

// load is a set of senders posting signed webhooks the way a provider does: each event until it is
// acknowledged with a 2xx, retrying after connection errors and other statuses.
type load struct {
	in      *install
	profile webhooks.Profile
	client  *http.Client

	sent, errors atomic.Int64
	mu           sync.Mutex
	acks         []ack
	// refunds is what each order was sent in refund.completed events, in minor units.
	refunds map[string]int64
	events  map[string]bool // external ids sent

	stopping atomic.Bool // no new orders
	giveUp   atomic.Bool // abandon an event not yet acknowledged
	wg       sync.WaitGroup
}

func newLoad(t *testing.T, in *install) *load {
	p, err := webhooks.New("generic", webhooks.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}
	return &load{in: in, profile: p, client: &http.Client{Timeout: 20 * time.Second, Transport: tr},
		refunds: map[string]int64{}, events: map[string]bool{}}
}

// run starts n senders. Sender g sends, for its orders o-g-0, o-g-1, ...: a payment, then one or two
// refunds of the same order, each a distinct event, each only after the previous one was acknowledged.
func (l *load) run(t *testing.T, n int) {
	for g := range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for o := 0; !l.stopping.Load(); o++ {
				order := fmt.Sprintf("o-%d-%d", g, o)
				if !l.send(t, "payment.completed", fmt.Sprintf("evt-%d-%d-pay", g, o), order, 2000) {
					return
				}
				for r := range 1 + rng.IntN(2) {
					amount := int64(100 + rng.IntN(400))
					if !l.send(t, "refund.completed", fmt.Sprintf("evt-%d-%d-rf%d", g, o, r), order, amount) {
						return
					}
					l.mu.Lock()
					l.refunds[order] += amount
					l.mu.Unlock()
				}
			}
		}()
	}
}

// send posts one event until it is acknowledged; false when it gave up.
func (l *load) send(t *testing.T, typ, id, order string, amount int64) bool {
	body, err := l.profile.Sample(typ, webhooks.SampleParams{ID: id, OrderRef: order, Amount: amount, Currency: "USD"})
	if err != nil {
		t.Error(err)
		return false
	}
	h, err := l.profile.Sign(l.in.endpoint.Secret, body, time.Now(), id)
	if err != nil {
		t.Error(err)
		return false
	}
	l.mu.Lock()
	l.events[id] = true
	l.mu.Unlock()
	for {
		if l.giveUp.Load() {
			return false
		}
		l.sent.Add(1)
		a, res, raw := postOnce(l.client, l.in.endpoint.URL, h, body, id)
		switch res {
		case postNoAnswer, postRefused:
			l.errors.Add(1)
			time.Sleep(20 * time.Millisecond)
			continue
		case postBadAck:
			t.Errorf("2xx without a delivery and an event: %q", raw)
			return false
		}
		l.mu.Lock()
		l.acks = append(l.acks, a)
		l.mu.Unlock()
		return true
	}
}

// postResult is how one delivery attempt ended.
type postResult int

const (
	postAcked    postResult = iota // a 2xx naming the stored delivery and event
	postNoAnswer                   // no HTTP answer (refused, reset, killed server)
	postRefused                    // a non-2xx answer, or one that could not be read
	postBadAck                     // a 2xx that does not name a delivery and an event: a bug
)

// postOnce sends one signed delivery, as a provider would, and says how it ended; raw is the answer.
func postOnce(client *http.Client, url string, h http.Header, body []byte, externalID string) (ack, postResult, []byte) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header = h.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return ack{}, postNoAnswer, nil
	}
	raw, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 || rerr != nil {
		return ack{}, postRefused, raw
	}
	var reply struct {
		DeliveryID uint `json:"delivery_id"`
		EventID    uint `json:"event_id"`
	}
	if err := json.Unmarshal(raw, &reply); err != nil || reply.DeliveryID == 0 || reply.EventID == 0 {
		return ack{}, postBadAck, raw
	}
	return ack{deliveryID: reply.DeliveryID, eventID: reply.EventID, externalID: externalID}, postAcked, raw
}

// finish stops new orders and waits for the senders to deliver what they started.
func (l *load) finish(t *testing.T, timeout time.Duration) {
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
		t.Fatalf("senders could not deliver their last events within %s; server warnings:\n%s", timeout, l.in.warnings())
	}
}

// figures are what the durability check counted.
type figures struct {
	acknowledged, stored, lost, duplicates int
	events, orders                         int
	// retaken counts events claimed more than once (a crash or an expired lease interrupted a run);
	// redelivered counts deliveries stored as duplicates (a sender retried after a lost answer).
	retaken, redelivered int
}

// verify reads the stopped server's database and checks that every acknowledged delivery is stored
// once, under its event, and that every event was applied to its order exactly once.
func (l *load) verify(t *testing.T, requireAll bool) figures {
	t.Helper()
	store := l.in.openStore()
	db := store.DB
	var f figures

	type deliveryRow struct {
		ID      uint
		EventID *uint
		Outcome models.Outcome
	}
	var ds []deliveryRow
	if err := db.Model(&models.Delivery{}).Select("id", "event_id", "outcome").Find(&ds).Error; err != nil {
		t.Fatal(err)
	}
	deliveries := make(map[uint]deliveryRow, len(ds))
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
	byExternal := map[string][]models.Event{}
	byID := map[uint]models.Event{}
	for _, e := range evs {
		byExternal[e.ExternalID] = append(byExternal[e.ExternalID], e)
		byID[e.ID] = e
	}

	// Every acknowledged delivery is stored, by its id and by its event's external id.
	f.acknowledged = len(l.acks)
	seenDelivery := map[uint]bool{}
	for _, a := range l.acks {
		d, ok := deliveries[a.deliveryID]
		ev, evOK := byID[a.eventID]
		switch {
		case seenDelivery[a.deliveryID]:
			t.Errorf("delivery %d acknowledged twice", a.deliveryID)
			f.lost++
		case !ok:
			t.Errorf("acknowledged delivery %d (%s) is not stored", a.deliveryID, a.externalID)
			f.lost++
		case d.EventID == nil || *d.EventID != a.eventID || (d.Outcome != models.OutcomeAccepted && d.Outcome != models.OutcomeDuplicate):
			t.Errorf("acknowledged delivery %d is stored as %q of event %v, want event %d", a.deliveryID, d.Outcome, d.EventID, a.eventID)
			f.lost++
		case !evOK || ev.ExternalID != a.externalID:
			t.Errorf("acknowledged delivery %d: event %d is %q, want %q", a.deliveryID, a.eventID, ev.ExternalID, a.externalID)
			f.lost++
		case len(byExternal[a.externalID]) != 1:
			t.Errorf("event %s is stored %d times", a.externalID, len(byExternal[a.externalID]))
			f.lost++
		default:
			f.stored++
		}
		seenDelivery[a.deliveryID] = true
	}
	if requireAll {
		// Every event the senders finished was acknowledged, so each must be stored.
		for id := range l.events {
			if len(byExternal[id]) != 1 {
				t.Errorf("event %s sent and acknowledged is stored %d times", id, len(byExternal[id]))
				f.lost++
			}
		}
	}

	// Each event was processed exactly once: one processed attempt (earlier attempts only failed),
	// at most one order transition, and nothing left in flight.
	type countRow struct {
		EventID uint
		Outcome models.Status
		N       int
	}
	var attempts []countRow
	if err := db.Model(&models.Attempt{}).Select("event_id, outcome, count(*) AS n").Group("event_id, outcome").Find(&attempts).Error; err != nil {
		t.Fatal(err)
	}
	processedRuns := map[uint]int{}
	for _, a := range attempts {
		switch a.Outcome {
		case models.StatusProcessed:
			processedRuns[a.EventID] += a.N
		case models.StatusFailed:
		default:
			t.Errorf("event %d has %d attempts ending %q", a.EventID, a.N, a.Outcome)
		}
	}
	var transitions []countRow
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
		switch n := processedRuns[e.ID]; {
		case n > 1:
			t.Errorf("event %d (%s) was processed %d times", e.ID, e.ExternalID, n)
			f.duplicates += n - 1
		case n == 0 && e.Status == models.StatusProcessed:
			t.Errorf("event %d (%s) is processed without a processed attempt", e.ID, e.ExternalID)
		}
	}

	// Each order holds exactly its events: paid once, refunded by the sum of its refund events.
	var orders []models.Order
	if err := db.Find(&orders).Error; err != nil {
		t.Fatal(err)
	}
	f.orders = len(orders)
	storedRefunds := map[string]int64{}
	payments := map[string]int{}
	for _, e := range evs {
		switch e.Canonical {
		case webhooks.RefundCompleted:
			storedRefunds[e.OrderRef] += e.Amount
		case webhooks.PaymentSucceeded:
			payments[e.OrderRef]++
		}
	}
	for _, o := range orders {
		want := storedRefunds[o.Reference]
		if o.RefundedAmount != want {
			t.Errorf("order %s refunded %d, but its refund events add up to %d", o.Reference, o.RefundedAmount, want)
			f.duplicates++
		}
		if sent, ok := l.refunds[o.Reference]; ok && requireAll && sent != o.RefundedAmount {
			t.Errorf("order %s refunded %d, the senders refunded %d", o.Reference, o.RefundedAmount, sent)
		}
		if payments[o.Reference] == 1 && (!o.Paid || o.Amount != 2000) {
			t.Errorf("order %s: paid %v amount %d, want paid 2000", o.Reference, o.Paid, o.Amount)
		}
	}
	return f
}

// TestCrashDurability kills the real server with SIGKILL at random moments under load from concurrent
// senders, restarts it on the same data directory each time, and then proves from the database that
// nothing acknowledged was lost and nothing was processed twice.
func TestCrashDurability(t *testing.T) {
	kills := 5
	if *soak {
		kills = 50
	}
	in := newInstall(t, "worker:\n  lease: 2s\n  poll_interval: 100ms\n  base_backoff: 50ms\n  max_backoff: 1s\n")
	l := newLoad(t, in)
	p := in.start()
	l.run(t, 8)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for range kills {
		// Anywhere from a moment after start (workers taking over expired leases) to a few seconds in.
		time.Sleep(time.Duration(200+rng.IntN(3300)) * time.Millisecond)
		p.kill()
		p = in.start()
	}
	// A final clean run: the senders finish what they started and the workers drain.
	time.Sleep(500 * time.Millisecond)
	l.finish(t, 60*time.Second)
	in.waitDrained(30*time.Second, 10*time.Minute)
	if code, _ := p.stop(t, in.grace); code != 0 {
		t.Fatalf("final stop: exit code %d\n%s", code, in.log())
	}

	f := l.verify(t, true)
	line := fmt.Sprintf("crash test: kills survived %d, deliveries sent %d, acknowledged %d, stored %d, lost %d (must be 0), duplicates processed %d (must be 0)",
		kills, l.sent.Load(), f.acknowledged, f.stored, f.lost, f.duplicates)
	t.Logf("%d events into %d orders; %d sends failed and were retried; %d deliveries stored as duplicates of a retried event; %d events claimed again after an interrupted run",
		f.events, f.orders, l.errors.Load(), f.redelivered, f.retaken)
	t.Log(line)
	fmt.Println(line)
	if f.lost != 0 || f.duplicates != 0 || f.acknowledged == 0 || f.stored != f.acknowledged {
		t.Fatalf("durability broken: %s", line)
	}
}

// TestCrashGracefulStop sends SIGTERM during load: the server finishes what is in flight and exits 0
// within its shutdown_grace, and nothing it acknowledged is lost.
func TestCrashGracefulStop(t *testing.T) {
	in := newInstall(t, "worker:\n  lease: 2s\n  poll_interval: 100ms\n  base_backoff: 50ms\n  max_backoff: 1s\n")
	l := newLoad(t, in)
	p := in.start()
	l.run(t, 8)
	time.Sleep(time.Duration(1000+rand.IntN(1500)) * time.Millisecond)

	code, elapsed := p.stop(t, in.grace)
	// Senders now meet a closed port; they give up on what was not acknowledged.
	l.giveUp.Store(true)
	l.finish(t, 30*time.Second)
	t.Logf("SIGTERM under load: exit code %d after %s (shutdown_grace %s), %d deliveries acknowledged before it",
		code, elapsed.Round(time.Millisecond), in.grace, len(l.acks))
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, in.log())
	}
	if elapsed > in.grace {
		t.Fatalf("exited %s after SIGTERM, over its shutdown_grace of %s", elapsed, in.grace)
	}

	// A clean run lets the workers finish whatever the stop left queued, then the database is checked.
	p = in.start()
	in.waitDrained(30*time.Second, 10*time.Minute)
	if code, _ := p.stop(t, in.grace); code != 0 {
		t.Fatalf("second stop: exit code %d", code)
	}
	f := l.verify(t, false)
	line := fmt.Sprintf("graceful stop: exited %d in %s, deliveries sent %d, acknowledged %d, stored %d, lost %d (must be 0), duplicates processed %d (must be 0)",
		code, elapsed.Round(time.Millisecond), l.sent.Load(), f.acknowledged, f.stored, f.lost, f.duplicates)
	t.Log(line)
	fmt.Println(line)
	if f.lost != 0 || f.duplicates != 0 || f.acknowledged == 0 {
		t.Fatalf("graceful stop lost or duplicated work: %s", line)
	}
}
