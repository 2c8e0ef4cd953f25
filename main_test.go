package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hooklog/config"
	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// TestMain lets the serve test run this test binary as the hooklog command itself.
func TestMain(m *testing.M) {
	if os.Getenv("HOOKLOG_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// cliHarness runs commands in-process against a temporary data directory and an empty config file.
type cliHarness struct {
	t    *testing.T
	dir  string
	cfg  string
	vars map[string]string
}

func newCLI(t *testing.T) *cliHarness {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	return &cliHarness{t: t, dir: data, cfg: cfg, vars: map[string]string{
		"HOOKLOG_DATA_DIR": data,
		"HOOKLOG_DB":       filepath.Join(data, "hooklog.db"),
		"HOOKLOG_BASE_URL": "https://hooks.example.com/",
	}}
}

// run runs one command line with stdin and returns the exit code and what it printed.
func (h *cliHarness) run(stdin string, args ...string) (int, string, string) {
	h.t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"-config", h.cfg}, args...), strings.NewReader(stdin), &out, &errb, func(k string) string { return h.vars[k] })
	return code, out.String(), errb.String()
}

// mustRun runs a command that must succeed.
func (h *cliHarness) mustRun(stdin string, args ...string) string {
	h.t.Helper()
	code, out, errs := h.run(stdin, args...)
	if code != 0 {
		h.t.Fatalf("hooklog %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// store opens the database the commands use, with the key they generated.
func (h *cliHarness) store() *models.Store {
	h.t.Helper()
	raw, err := os.ReadFile(filepath.Join(h.dir, "secret.key"))
	if err != nil {
		h.t.Fatal(err)
	}
	key, err := config.DecodeKey(string(raw))
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := models.Open(models.Options{DSN: h.vars["HOOKLOG_DB"], Key: key})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { s.Close() })
	return s
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", path, got, want)
	}
}

func TestCLIUserAdd(t *testing.T) {
	h := newCLI(t)
	out := h.mustRun("", "user", "add", "--merchant", "Acme", "--email", "Ann@Acme.test", "--role", "operator")
	m := regexp.MustCompile(`^created ann@acme\.test \(operator\) in merchant "Acme"\npassword: ([A-Za-z0-9]{20})\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output = %q", out)
	}
	assertMode(t, filepath.Join(h.dir, "secret.key"), 0o600)
	assertMode(t, h.dir, 0o700)

	out = h.mustRun("s3cret-passw0rd\n", "user", "add", "--merchant", "Acme", "--email", "bob@acme.test", "--role", "admin", "--password-stdin")
	if out != "created bob@acme.test (admin) in merchant \"Acme\"\n" {
		t.Errorf("--password-stdin output = %q, want no password", out)
	}

	s := h.store()
	for _, c := range []struct{ email, password string }{{"ann@acme.test", m[1]}, {"bob@acme.test", "s3cret-passw0rd"}} {
		if u, err := s.Authenticate(c.email, c.password); err != nil || u.Merchant.Name != "Acme" {
			t.Errorf("log in as %s: %+v, %v", c.email, u, err)
		}
	}
	var audits int64
	s.DB.Model(&models.AuditEntry{}).Where("actor = ? AND action = ?", "cli", models.AuditUserCreate).Count(&audits)
	if audits != 2 {
		t.Errorf("%d user.create audit entries, want 2", audits)
	}

	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		err   string
	}{
		{"missing flags", "", []string{"--merchant", "Acme"}, 2, "hooklog: user add needs --merchant, --email and --role\n"},
		{"bad role", "", []string{"--merchant", "Acme", "--email", "c@acme.test", "--role", "owner"}, 2, "hooklog: role must be admin, operator or support, not \"owner\"\n"},
		{"taken email", "", []string{"--merchant", "Acme", "--email", "ANN@acme.test", "--role", "support"}, 1, "hooklog: a user with that email already exists\n"},
		{"short password", "short\n", []string{"--merchant", "Acme", "--email", "d@acme.test", "--role", "support", "--password-stdin"}, 1, "hooklog: password must be at least 8 characters\n"},
		{"bad email", "", []string{"--merchant", "Acme", "--email", "not-an-email", "--role", "support"}, 1, "hooklog: \"not-an-email\" is not an email address\n"},
	}
	for _, tc := range tests {
		code, out, errs := h.run(tc.stdin, append([]string{"user", "add"}, tc.args...)...)
		if code != tc.code || errs != tc.err || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d and %q", tc.name, code, out, errs, tc.code, tc.err)
		}
	}
}

func TestCLIEndpointAdd(t *testing.T) {
	h := newCLI(t)
	out := h.mustRun("", "endpoint", "add", "--merchant", "Acme", "--name", "Shop", "--provider", "generic")
	m := regexp.MustCompile(`^endpoint (\d+) "Shop" \(generic\)\nurl:    (https://hooks\.example\.com/in/ep_[A-Za-z0-9_-]{24})\nsecret: ([0-9a-f]{64})\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("text output = %q", out)
	}

	out = h.mustRun("", "endpoint", "add", "--merchant", "Acme", "--name", "Stripe live", "--provider", "stripe", "--secret", "whsec_test123", "--json")
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var j struct {
		ID     uint   `json:"id"`
		URL    string `json:"url"`
		Secret string `json:"secret"`
	}
	json.Unmarshal([]byte(out), &j)
	if !slices.Equal(keys, []string{"id", "secret", "url"}) || j.ID == 0 || !strings.HasPrefix(j.URL, "https://hooks.example.com/in/ep_") || j.Secret != "whsec_test123" {
		t.Errorf("--json output = %s", out)
	}

	out = h.mustRun("", "endpoint", "add", "--merchant", "Acme", "--name", "Acme pay", "--provider", "custom",
		"--header", "X-Acme-Signature", "--algorithm", "sha512", "--encoding", "base64", "--prefix", "sha512=", "--json")
	var custom struct{ ID uint }
	json.Unmarshal([]byte(out), &custom)

	code, out, errs := h.run("", "endpoint", "add", "--merchant", "Acme", "--name", "Stripe test", "--provider", "stripe")
	if code != 2 || out != "" || errs != "hooklog: invalid input: secret: Paste the signing secret stripe shows you; it issues its own.\n" {
		t.Errorf("stripe without --secret: exit %d, %q %q", code, out, errs)
	}
	code, _, errs = h.run("", "endpoint", "add", "--merchant", "Acme", "--name", "x", "--provider", "paypal")
	if code != 2 || !strings.Contains(errs, "provider: Choose one of: careempay, custom, generic, shadhinpay, standard, stripe.") {
		t.Errorf("unknown provider: exit %d, %q", code, errs)
	}
	code, _, errs = h.run("", "endpoint", "add", "--merchant", "Acme", "--name", "x", "--provider", "generic", "--algorithm", "md5")
	if code != 2 || !strings.Contains(errs, "md5") {
		t.Errorf("bad algorithm: exit %d, %q", code, errs)
	}
	code, _, errs = h.run("", "endpoint", "add", "--name", "x")
	if code != 2 || errs != "hooklog: endpoint add needs --merchant, --name and --provider\n" {
		t.Errorf("missing flags: exit %d, %q", code, errs)
	}

	s := h.store()
	merchant, _ := s.MerchantByName("Acme")
	eps, _ := s.Endpoints(merchant.ID)
	if len(eps) != 3 {
		t.Fatalf("%d endpoints, want 3 (failed commands must create none)", len(eps))
	}
	var id uint
	fmt.Sscan(m[1], &id)
	ep, err := s.Endpoint(merchant.ID, id)
	if err != nil || ep.IngestURL("https://hooks.example.com") != m[2] || !ep.Enabled {
		t.Errorf("endpoint = %+v, %v", ep, err)
	}
	if secrets, _ := s.ValidSecrets(id); !slices.Equal(secrets, []string{m[3]}) {
		t.Errorf("stored secrets = %q, want the printed one", secrets)
	}
	cep, _ := s.Endpoint(merchant.ID, custom.ID)
	want := webhooks.HMACConfig{Header: "X-Acme-Signature", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512="}
	if cep == nil || cep.Provider != "custom" || cep.Settings.HMAC != want {
		t.Errorf("custom endpoint = %+v, want HMAC %+v", cep, want)
	}
}

func TestCLITokenAdd(t *testing.T) {
	h := newCLI(t)
	code, out, errs := h.run("", "token", "add", "--merchant", "Acme", "--role", "support", "--name", "ci")
	if code != 0 || errs != "" || !regexp.MustCompile(`^hkl_[A-Za-z0-9_-]{32}\n$`).MatchString(out) {
		t.Fatalf("exit %d, stdout %q, stderr %q; want the token alone", code, out, errs)
	}
	tok, err := h.store().TokenByPlaintext(strings.TrimSpace(out))
	if err != nil || tok.Role != models.RoleSupport || tok.Name != "ci" || tok.Merchant.Name != "Acme" {
		t.Errorf("token = %+v, %v", tok, err)
	}
	for _, args := range [][]string{{"--merchant", "Acme"}, {"--merchant", "Acme", "--role", "root"}} {
		if code, out, _ := h.run("", append([]string{"token", "add"}, args...)...); code != 2 || out != "" {
			t.Errorf("token add %v: exit %d, stdout %q", args, code, out)
		}
	}
}

func TestCLISend(t *testing.T) {
	a := testapp.New(t)
	h := newCLI(t)
	generic := a.Endpoint("Acme", "generic", "", webhooks.Settings{})
	stripe := a.Endpoint("Acme", "stripe", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", webhooks.Settings{})
	custom := a.Endpoint("Acme", "custom", "", webhooks.Settings{HMAC: webhooks.HMACConfig{Header: "X-Acme-Signature", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512="}})

	send := func(ep *testapp.Endpoint, extra ...string) (int, string, string) {
		return h.run("", append([]string{"send", "--url", ep.URL, "--provider", ep.Provider, "--secret", ep.Secret}, extra...)...)
	}
	code, out, errs := send(generic, "--type", "payment.completed", "--order", "ord_cli", "--amount", "25.00", "--currency", "usd", "--id", "evt_cli_1")
	lines := strings.SplitN(out, "\n", 2)
	if code != 0 || errs != "" || lines[0] != "200 OK generic payment.completed" {
		t.Fatalf("send: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	var reply testapp.Reply
	if err := json.Unmarshal([]byte(lines[1]), &reply); err != nil || reply.Outcome != models.OutcomeAccepted {
		t.Fatalf("answer %q: %v", lines[1], err)
	}
	ev := a.WaitStatus(reply.EventID, models.StatusProcessed)
	if ev.ExternalID != "evt_cli_1" || ev.OrderRef != "ord_cli" || ev.Amount != 2500 || ev.Currency != "USD" || ev.Canonical != webhooks.PaymentSucceeded {
		t.Errorf("stored event = %+v", ev)
	}
	if o, err := a.Store.OrderByReference(ev.MerchantID, "ord_cli"); err != nil || o.Status != models.OrderPaid {
		t.Errorf("order = %+v, %v", o, err)
	}
	// The same --id again is a duplicate.
	_, out, _ = send(generic, "--type", "payment.completed", "--order", "ord_cli", "--id", "evt_cli_1")
	if !strings.Contains(out, `"outcome":"duplicate"`) {
		t.Errorf("resend: %q", out)
	}

	if code, out, errs := send(stripe, "--type", "payment_intent.succeeded", "--amount", "500", "--currency", "JPY"); code != 0 || !strings.HasPrefix(out, "200 OK stripe payment_intent.succeeded\n") {
		t.Errorf("stripe: exit %d, %q %q", code, out, errs)
	}
	if code, out, errs := send(custom, "--type", "payment.completed", "--header", "X-Acme-Signature", "--algorithm", "sha512", "--encoding", "base64", "--prefix", "sha512="); code != 0 || !strings.HasPrefix(out, "200 OK custom") {
		t.Errorf("custom with its HMAC flags: exit %d, %q %q", code, out, errs)
	}
	code, out, errs = send(custom, "--type", "payment.completed")
	if code != 1 || !strings.HasPrefix(out, "401 Unauthorized custom payment.completed\n") || errs != "hooklog: the endpoint answered 401 Unauthorized\n" {
		t.Errorf("custom without its HMAC flags: exit %d, %q %q", code, out, errs)
	}

	usage := []struct {
		args []string
		err  string
	}{
		{[]string{"--type", "no.such.type"}, "unknown sample type"},
		{[]string{"--type", "payment.completed", "--amount", "lots"}, `--amount "lots"`},
	}
	for _, u := range usage {
		if code, _, errs := send(generic, u.args...); code != 2 || !strings.Contains(errs, u.err) {
			t.Errorf("send %v: exit %d, %q", u.args, code, errs)
		}
	}
	if code, _, errs := h.run("", "send", "--url", generic.URL); code != 2 || errs != "hooklog: send needs --url, --provider, --secret and --type\n" {
		t.Errorf("send without flags: exit %d, %q", code, errs)
	}
}

func TestCLIReplay(t *testing.T) {
	h := newCLI(t)
	h.mustRun("", "token", "add", "--merchant", "Acme", "--role", "admin") // creates the database and key
	s := h.store()
	m, _ := s.EnsureMerchant("Acme")
	ep1, _, _ := s.CreateEndpoint(m.ID, models.EndpointInput{Name: "one", Provider: "generic"}, "")
	ep2, _, _ := s.CreateEndpoint(m.ID, models.EndpointInput{Name: "two", Provider: "generic"}, "")
	ing := models.NewIngester(s, 8, nil)
	defer ing.Close()
	add := func(ep *models.Endpoint, id string, status models.Status, age time.Duration) uint {
		now := time.Now().UTC().Add(-age)
		ev := &models.Event{MerchantID: m.ID, EndpointID: ep.ID, Provider: "generic", ExternalID: id, Type: "payment.completed",
			Canonical: webhooks.PaymentSucceeded, Status: status, ReceivedAt: now, DeliveryCount: 1}
		st, err := ing.Store(context.Background(), &models.Incoming{Event: ev, Delivery: models.Delivery{MerchantID: m.ID, EndpointID: ep.ID,
			ReceivedAt: now, Body: []byte(`{}`), BodySize: 2, StatusCode: 200}})
		if err != nil {
			t.Fatal(err)
		}
		return st.EventID
	}
	oldFailed := add(ep1, "old", models.StatusFailed, 72*time.Hour)
	dead := add(ep1, "dead", models.StatusDead, time.Hour)
	otherFailed := add(ep2, "other", models.StatusFailed, time.Hour)
	processed := add(ep1, "done", models.StatusProcessed, time.Hour)
	status := func(id uint) (models.Status, models.Trigger, string) {
		ev, err := s.EventByID(id)
		if err != nil {
			t.Fatal(err)
		}
		return ev.Status, ev.PendingTrigger, ev.PendingActor
	}

	out := h.mustRun("", "replay", fmt.Sprint(processed))
	if out != fmt.Sprintf("queued event %d (generic payment.completed) for replay\n", processed) {
		t.Errorf("replay output = %q", out)
	}
	if st, tr, actor := status(processed); st != models.StatusPending || tr != models.TriggerReplay || actor != "cli" {
		t.Errorf("replayed event: %s %s %s", st, tr, actor)
	}
	var audits int64
	s.DB.Model(&models.AuditEntry{}).Where("action = ? AND object_id = ? AND actor = ?", models.AuditReplay, fmt.Sprint(processed), "cli").Count(&audits)
	if audits != 1 {
		t.Errorf("%d replay audit entries, want 1", audits)
	}

	since := time.Now().UTC().Add(-24 * time.Hour).Format("2006-01-02T15:04")
	out = h.mustRun("", "replay", "--failed", "--endpoint", fmt.Sprint(ep1.ID), "--since", since)
	if out != "queued 1 failed or dead events for replay; a running server's workers will process them\n" {
		t.Errorf("filtered bulk replay output = %q", out)
	}
	if st, _, _ := status(dead); st != models.StatusPending {
		t.Errorf("the dead event on endpoint 1 is %s", st)
	}
	for _, id := range []uint{oldFailed, otherFailed} {
		if st, _, _ := status(id); st != models.StatusFailed {
			t.Errorf("event %d outside the filter is %s", id, st)
		}
	}
	if out := h.mustRun("", "replay", "--failed"); !strings.HasPrefix(out, "queued 2 failed or dead events") {
		t.Errorf("bulk replay output = %q", out)
	}

	tests := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"replay"}, 2, "hooklog: replay takes one EVENT_ID, or --failed [--endpoint ID] [--since T]\n"},
		{[]string{"replay", "1", "2"}, 2, "hooklog: replay takes one EVENT_ID, or --failed [--endpoint ID] [--since T]\n"},
		{[]string{"replay", "--failed", "5"}, 2, "hooklog: replay takes one EVENT_ID, or --failed [--endpoint ID] [--since T]\n"},
		{[]string{"replay", "abc"}, 2, "hooklog: EVENT_ID must be a number, not \"abc\"\n"},
		{[]string{"replay", "--failed", "--since", "tomorrow"}, 2, "hooklog: \"tomorrow\" is not a time like 2026-01-31T12:00:00Z or a date like 2026-01-31\n"},
		{[]string{"replay", "99999"}, 1, "hooklog: store: event 99999: not found\n"},
	}
	for _, tc := range tests {
		if code, out, errs := h.run("", tc.args...); code != tc.code || errs != tc.err || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d %q", tc.args, code, out, errs, tc.code, tc.err)
		}
	}
}

func TestCLIUsage(t *testing.T) {
	h := newCLI(t)
	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    string // prefix
		stderr    string // prefix
		notStderr string
	}{
		{"no command", nil, 2, "", "hooklog: a webhook inbox", ""},
		{"unknown command", []string{"frobnicate", "now"}, 2, "", "hooklog: unknown command \"frobnicate now\"\n\nhooklog: a webhook inbox", ""},
		{"unknown subcommand", []string{"user", "delete"}, 2, "", "hooklog: unknown command \"user delete\"", ""},
		{"help", []string{"help"}, 0, "hooklog: a webhook inbox", "", ""},
		{"subcommand help", []string{"token", "add", "-h"}, 0, "", "Usage of hooklog token add:", ""},
		{"unknown flag", []string{"token", "add", "--merchant", "Acme", "--role", "admin", "--bogus"}, 2, "", "flag provided but not defined: -bogus\nUsage of hooklog token add:", "hooklog: flag"},
		{"bad flag value", []string{"replay", "--failed", "--endpoint", "one"}, 2, "", "invalid value \"one\" for flag -endpoint", ""},
	}
	for _, tc := range tests {
		code, out, errs := h.run("", tc.args...)
		if code != tc.code || !strings.HasPrefix(out, tc.stdout) || !strings.HasPrefix(errs, tc.stderr) ||
			(tc.notStderr != "" && strings.Contains(errs, tc.notStderr)) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d", tc.name, code, out, errs, tc.code)
		}
	}
	if _, err := os.Stat(h.dir); !os.IsNotExist(err) {
		t.Errorf("usage errors created the data directory: %v", err)
	}

	// A -config file that does not exist is an error, not the defaults.
	var out, errb bytes.Buffer
	code := run([]string{"-config", filepath.Join(t.TempDir(), "missing.yaml"), "token", "add", "--merchant", "A", "--role", "admin"},
		strings.NewReader(""), &out, &errb, func(k string) string { return h.vars[k] })
	if code != 1 || !strings.HasPrefix(errb.String(), "hooklog: config: ") || !strings.Contains(errb.String(), "no such file") {
		t.Errorf("missing -config: exit %d, %q", code, errb.String())
	}
	// A broken config file names the line.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("listen: 127.0.0.1:1\nworkers: 3\n"), 0o600)
	errb.Reset()
	code = run([]string{"-config", bad, "serve"}, strings.NewReader(""), &out, &errb, func(k string) string { return h.vars[k] })
	if code != 1 || !strings.Contains(errb.String(), "line 2: unknown setting workers") {
		t.Errorf("bad config: exit %d, %q", code, errb.String())
	}
}

// TestServeListenError: serve reports an address it cannot listen on and exits without serving.
func TestServeListenError(t *testing.T) {
	h := newCLI(t)
	h.vars["HOOKLOG_LISTEN"] = "127.0.0.1:99999"
	code, _, errs := h.run("", "serve")
	if code != 1 || !strings.Contains(errs, "hooklog: listen on 127.0.0.1:99999: ") {
		t.Errorf("exit %d, %q", code, errs)
	}
}

// syncBuffer collects a child process's output for reading while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is `hooklog serve` running as a child process.
type server struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *syncBuffer
	done   chan error
}

func startServe(t *testing.T, dataDir, cfg string) *server {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-config", cfg, "serve")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOOKLOG_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOOKLOG_TEST_RUN_MAIN=1", "HOOKLOG_DATA_DIR="+dataDir, "HOOKLOG_LISTEN=127.0.0.1:0", "HOOKLOG_LOG_LEVEL=debug")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, lines: make(chan string, 100), stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// readUntil collects stdout lines up to and including the first one with prefix.
func (s *server) readUntil(t *testing.T, prefix string) []string {
	t.Helper()
	var got []string
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				t.Fatalf("serve stopped before printing %q:\n%s\nstderr:\n%s", prefix, strings.Join(got, "\n"), s.stderr.String())
			}
			got = append(got, line)
			if strings.HasPrefix(line, prefix) {
				return got
			}
		case <-timeout:
			t.Fatalf("no %q line from serve:\n%s\nstderr:\n%s", prefix, strings.Join(got, "\n"), s.stderr.String())
		}
	}
}

// stop sends SIGTERM and waits for a clean exit within the grace time.
func (s *server) stop(t *testing.T, grace time.Duration) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, s.stderr.String())
		}
	case <-time.After(grace + 5*time.Second):
		t.Fatalf("serve did not stop within the grace time\n%s", s.stderr.String())
	}
	if !strings.Contains(s.stderr.String(), "msg=stopped") {
		t.Errorf("serve did not log its stop:\n%s", s.stderr.String())
	}
}

func getJSON(t *testing.T, url string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]string
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &doc)
	return resp.StatusCode, doc
}

// TestServe starts `hooklog serve` on a fresh data directory as a real process: it prints how to log
// in (and keeps that in a 0600 file), answers its health checks, ingests and processes the sample it
// suggests, and stops cleanly on SIGTERM. A second start finds the installation as it was left.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "config.yaml")
	const grace = 3 * time.Second
	if err := os.WriteFile(cfg, []byte("shutdown_grace: 3s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, data, cfg)
	lines := srv.readUntil(t, "(kept in ")
	out := strings.Join(lines, "\n")
	field := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %s in:\n%s", re, out)
		}
		return m[1]
	}
	base := field(`Dashboard: (http://127\.0\.0\.1:\d+)/login`)
	email := field(`Email: +(\S+)`)
	password := field(`Password: +(\S+)`)
	notePath := field(`(?m)^\(kept in (.*), with the test endpoint's secret in place of SECRET\)$`)
	if email != "admin@example.com" || len(password) != 20 || notePath != filepath.Join(data, "first-login.txt") {
		t.Errorf("login details: %q %q in %q", email, password, notePath)
	}
	assertMode(t, notePath, 0o600)
	assertMode(t, filepath.Join(data, "secret.key"), 0o600)
	note, err := os.ReadFile(notePath)
	if err != nil {
		t.Fatal(err)
	}
	// The note is what was printed, with the test endpoint's signing secret where the output says SECRET.
	sendLine := regexp.MustCompile(`(?m)^\s+hooklog (send .*)$`).FindStringSubmatch(string(note))
	secret := regexp.MustCompile(`--secret (\S+)`).FindStringSubmatch(string(note))
	if sendLine == nil || secret == nil || secret[1] == "SECRET" || strings.Contains(out, secret[1]) ||
		!strings.Contains(out, strings.TrimSpace(strings.ReplaceAll(string(note), secret[1], "SECRET"))) {
		t.Fatalf("the note file and the output do not match, or the output shows the secret:\n%s\n---\n%s", note, out)
	}

	if code, doc := getJSON(t, base+"/healthz"); code != 200 || doc["status"] != "ok" {
		t.Errorf("/healthz = %d %v", code, doc)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, doc := getJSON(t, base+"/readyz")
		if code == 200 && doc["status"] == "ready" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %v", code, doc)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The suggested command delivers a signed sample to the test endpoint.
	var sendOut, sendErr bytes.Buffer
	if code := run(strings.Fields(sendLine[1]), strings.NewReader(""), &sendOut, &sendErr, func(string) string { return "" }); code != 0 ||
		!strings.HasPrefix(sendOut.String(), "200 OK generic payment.completed\n") {
		t.Fatalf("suggested send: exit %d, %q %q", code, sendOut.String(), sendErr.String())
	}
	raw, _ := os.ReadFile(filepath.Join(data, "secret.key"))
	key, _ := config.DecodeKey(string(raw))
	store, err := models.Open(models.Options{DSN: filepath.Join(data, "hooklog.db"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	deadline = time.Now().Add(10 * time.Second)
	for {
		o, err := store.OrderByReference(1, "ord_1001")
		if err == nil && o.Status == models.OrderPaid && o.Amount == 2500 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sample was not processed into a paid order: %+v, %v", o, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if u, err := store.Authenticate(email, password); err != nil || u.Role != models.RoleAdmin {
		t.Errorf("the printed password does not log in: %v", err)
	}
	srv.stop(t, grace)

	// A second start keeps the installation and points at the note instead of making a new admin.
	srv = startServe(t, data, cfg)
	lines = srv.readUntil(t, "Hooklog is running at ")
	if !regexp.MustCompile(`^Hooklog is running at http://127\.0\.0\.1:\d+ \(first login details: ` + regexp.QuoteMeta(notePath) + `\)$`).MatchString(lines[len(lines)-1]) {
		t.Errorf("second start printed %q", lines)
	}
	srv.stop(t, grace)
	var users int64
	store.DB.Model(&models.User{}).Count(&users)
	if users != 1 {
		t.Errorf("%d users after two starts, want 1", users)
	}
}

// TestServeProfiler: with debug_listen set, serve answers Go's profiler on that address, apart from
// the application, which does not serve it; a CPU profile of the running server comes back as a
// gzipped profile.
func TestServeProfiler(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("shutdown_grace: 3s\ndebug_listen: 127.0.0.1:0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, filepath.Join(dir, "data"), cfg)
	lines := srv.readUntil(t, "(kept in ")
	base := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(strings.Join(lines, "\n"))
	m := regexp.MustCompile(`msg="profiler listening" addr=(127\.0\.0\.1:\d+)`).FindStringSubmatch(srv.stderr.String())
	if base == "" || m == nil {
		t.Fatalf("no addresses in the output:\n%s\nstderr:\n%s", strings.Join(lines, "\n"), srv.stderr.String())
	}
	get := func(url string) (int, []byte) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	const index = "Types of profiles available"
	if code, body := get("http://" + m[1] + "/debug/pprof/"); code != 200 || !strings.Contains(string(body), index) {
		t.Errorf("profiler index: %d %.200s", code, body)
	}
	if code, body := get("http://" + m[1] + "/debug/pprof/profile?seconds=1"); code != 200 || len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		t.Errorf("CPU profile: %d, %d bytes starting %x", code, len(body), body[:min(len(body), 2)])
	}
	if _, body := get(base + "/debug/pprof/"); strings.Contains(string(body), index) {
		t.Errorf("the application's address serves the profiler")
	}
	srv.stop(t, 3*time.Second)
}
