// Package testapp builds the real Hooklog server for tests: a real SQLite file in a temporary
// directory (or, when HOOKLOG_TEST_POSTGRES is set, a fresh PostgreSQL database: see testdb), the
// real worker pool and group-commit ingester, the real router, served over loopback.
package testapp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hooklog/config"
	"hooklog/handlers"
	"hooklog/models"
	"hooklog/testapp/testdb"
	"hooklog/webhooks"
	"hooklog/worker"
)

// App is a running server and handles onto its parts.
type App struct {
	t        testing.TB
	URL      string
	Config   config.Config
	Store    *models.Store
	Worker   *worker.Worker
	Ingester *models.Ingester
	Server   *httptest.Server
	Key      []byte
	stopWork context.CancelFunc
	workDone chan struct{}
	// offset is how far Advance has moved the store's clock ahead of the real time.
	offset atomic.Int64
}

// Option adjusts the configuration before the server starts.
type Option func(*config.Config)

// New starts a server on a fresh database; it stops when the test ends.
func New(t testing.TB, opts ...Option) *App {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	// Tests run side by side; a small pool each keeps them within the server's max_connections.
	cfg.PostgresMaxConns = 8
	cfg.Worker.PollInterval = config.Duration{Duration: 50 * time.Millisecond}
	cfg.Worker.BaseBackoff = config.Duration{Duration: 20 * time.Millisecond}
	cfg.Worker.MaxBackoff = config.Duration{Duration: 100 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.Database == "" {
		cfg.Database = testdb.DSN(t, "hooklog.db")
	}
	key := make([]byte, 32)
	if cfg.SecretKey != "" {
		var err error
		if key, err = config.DecodeKey(cfg.SecretKey); err != nil {
			t.Fatal(err)
		}
	} else if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	a := &App{t: t, Config: cfg, Key: key, workDone: make(chan struct{})}
	store, err := models.Open(models.Options{DSN: cfg.Database, MaxConns: cfg.PostgresMaxConns, Key: key, Now: a.now})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	a.Store = store
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("HOOKLOG_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	a.Worker = worker.New(store, cfg.Worker, log)
	a.Ingester = models.NewIngester(store, cfg.Ingest.MaxBatch, a.Worker.Wake)
	a.Server = httptest.NewUnstartedServer(nil)
	a.URL = "http://" + a.Server.Listener.Addr().String()
	if cfg.BaseURL == "" || cfg.BaseURL == "http://"+cfg.Listen {
		a.Config.BaseURL = a.URL
	}
	a.Server.Config.Handler = handlers.New(handlers.Deps{Config: a.Config, Store: store, Ingester: a.Ingester, Worker: a.Worker, Log: log, MasterKey: key})
	a.Server.Start()
	var ctx context.Context
	ctx, a.stopWork = context.WithCancel(context.Background())
	go func() {
		a.Worker.Run(ctx)
		close(a.workDone)
	}()
	t.Cleanup(a.Close)
	return a
}

// Share makes the new server another instance beside other, as behind a load balancer: the same
// database and the same secret key, its own workers and ingester.
func Share(other *App) Option {
	return func(c *config.Config) {
		c.Database = other.Config.Database
		c.SecretKey = hex.EncodeToString(other.Key)
	}
}

// now is the store's clock: the real time, moved ahead by Advance.
func (a *App) now() time.Time { return time.Now().Add(time.Duration(a.offset.Load())) }

// Advance moves the store's clock (what ingest, the workers and the queries call now) ahead by d,
// so tests can let a grace period or a retry delay pass without waiting.
func (a *App) Advance(d time.Duration) { a.offset.Add(int64(d)) }

// Close stops the server, the ingester and the workers, and closes the database.
func (a *App) Close() {
	if a.stopWork == nil {
		return
	}
	a.Server.Close()
	a.Ingester.Close()
	a.stopWork()
	<-a.workDone
	a.stopWork = nil
	a.Store.Close()
}

// Merchant creates (or finds) a merchant.
func (a *App) Merchant(name string) *models.Merchant {
	a.t.Helper()
	m, err := a.Store.EnsureMerchant(name)
	if err != nil {
		a.t.Fatal(err)
	}
	return m
}

// Password is the password of every user made by User.
const Password = "correct horse battery"

// User creates a user with Password.
func (a *App) User(merchant, email string, role models.Role) *models.User {
	a.t.Helper()
	u, err := a.Store.CreateUser(a.Merchant(merchant).ID, email, Password, role)
	if err != nil {
		a.t.Fatal(err)
	}
	return u
}

// Token creates an API token and returns its plaintext.
func (a *App) Token(merchant string, role models.Role) string {
	a.t.Helper()
	_, plain, err := a.Store.CreateToken(a.Merchant(merchant).ID, "test", role)
	if err != nil {
		a.t.Fatal(err)
	}
	return plain
}

// Endpoint is a registered endpoint with what a sender needs.
type Endpoint struct {
	*models.Endpoint
	URL     string
	Secret  string
	Profile webhooks.Profile
}

// Endpoint registers an endpoint; an empty secret is generated (pass one for stripe).
func (a *App) Endpoint(merchant, provider, secret string, settings webhooks.Settings) *Endpoint {
	a.t.Helper()
	ep, plain, err := a.Store.CreateEndpoint(a.Merchant(merchant).ID, models.EndpointInput{Name: provider + " endpoint", Provider: provider, Settings: settings}, secret)
	if err != nil {
		a.t.Fatal(err)
	}
	p, err := ep.Profile()
	if err != nil {
		a.t.Fatal(err)
	}
	return &Endpoint{Endpoint: ep, URL: ep.IngestURL(a.URL), Secret: plain, Profile: p}
}

// Reply is an ingest answer.
type Reply struct {
	Status     int
	Outcome    models.Outcome `json:"outcome"`
	DeliveryID uint           `json:"delivery_id"`
	EventID    uint           `json:"event_id"`
	Error      string         `json:"error"`
}

// Send signs body with the endpoint's secret as the provider would and posts it.
func (a *App) Send(ep *Endpoint, body []byte) Reply {
	a.t.Helper()
	h, err := ep.Profile.Sign(ep.Secret, body, time.Now(), fmt.Sprintf("msg_%d", time.Now().UnixNano()))
	if err != nil {
		a.t.Fatal(err)
	}
	return a.Post(ep.URL, h, body)
}

// SendSample sends a signed sample event of the endpoint's provider.
func (a *App) SendSample(ep *Endpoint, typ string, p webhooks.SampleParams) Reply {
	a.t.Helper()
	body, err := ep.Profile.Sample(typ, p)
	if err != nil {
		a.t.Fatal(err)
	}
	return a.Send(ep, body)
}

// Post posts body with headers h to url and decodes the ingest answer.
func (a *App) Post(url string, h http.Header, body []byte) Reply {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		a.t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	r := Reply{Status: resp.StatusCode}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &r)
	return r
}

// WaitFor polls until cond is true or fails the test after timeout.
func (a *App) WaitFor(what string, timeout time.Duration, cond func() bool) {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			a.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitStatus waits until an event reaches status.
func (a *App) WaitStatus(eventID uint, status models.Status) *models.Event {
	a.t.Helper()
	var ev *models.Event
	a.WaitFor(fmt.Sprintf("event %d to be %s", eventID, status), 10*time.Second, func() bool {
		var err error
		ev, err = a.Store.EventByID(eventID)
		return err == nil && ev.Status == status
	})
	return ev
}

// API calls the JSON API with a bearer token and decodes the answer into out (may be nil).
func (a *App) API(token, method, path string, body io.Reader, out any) int {
	a.t.Helper()
	req, err := http.NewRequest(method, a.URL+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		raw, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(raw, out); err != nil && resp.StatusCode < 300 {
			a.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// Browser is an HTTP client with a cookie jar, logged in or not, that does not follow redirects.
type Browser struct {
	app    *App
	Client *http.Client
	CSRF   string
}

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// Browser returns a fresh cookie-holding client.
func (a *App) Browser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{app: a, Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// On is the same browser, with its cookies and CSRF token, talking to another server (an instance
// sharing the first one's database and key, say).
func (b *Browser) On(a *App) *Browser { return &Browser{app: a, Client: b.Client, CSRF: b.CSRF} }

// Login signs in through the login form and keeps the session's CSRF token.
func (a *App) Login(email string) *Browser {
	a.t.Helper()
	b := a.Browser()
	resp, body := b.Get("/login")
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("GET /login: %d", resp.StatusCode)
	}
	b.CSRF = csrfFrom(body)
	resp, _ = b.PostForm("/login", url.Values{"email": {email}, "password": {Password}})
	if resp.StatusCode != http.StatusSeeOther {
		a.t.Fatalf("login as %s: status %d", email, resp.StatusCode)
	}
	_, body = b.Get("/")
	b.CSRF = csrfFrom(body)
	return b
}

func csrfFrom(body string) string {
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// Get fetches path and returns the response and its body.
func (b *Browser) Get(path string, headers ...string) (*http.Response, string) {
	b.app.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.app.URL+path, nil)
	if err != nil {
		b.app.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// PostForm posts a form with the session's CSRF token added.
func (b *Browser) PostForm(path string, form url.Values, headers ...string) (*http.Response, string) {
	b.app.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf_token") == "" && b.CSRF != "" {
		form.Set("csrf_token", b.CSRF)
	}
	req, err := http.NewRequest(http.MethodPost, b.app.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.app.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

func (b *Browser) do(req *http.Request) (*http.Response, string) {
	resp, err := b.Client.Do(req)
	if err != nil {
		b.app.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}
