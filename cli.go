package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"hooklog/config"
	"hooklog/models"
	"hooklog/webhooks"
)

// bootstrap makes a fresh installation usable at once: with no users at all it creates a merchant,
// an admin with a generated password and a test endpoint, and writes how to log in to a 0600 file in
// the data directory; it prints the same, without the endpoint's signing secret. Every start prints
// where that file is.
func (e *env) bootstrap(cfg config.Config, store *models.Store) error {
	notePath := filepath.Join(cfg.DataDir, "first-login.txt")
	var users int64
	if err := store.DB.Model(&models.User{}).Count(&users).Error; err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if users > 0 {
		if _, err := os.Stat(notePath); err == nil {
			fmt.Fprintf(e.stdout, "Hooklog is running at %s (first login details: %s)\n", cfg.BaseURL, notePath)
		} else {
			fmt.Fprintf(e.stdout, "Hooklog is running at %s\n", cfg.BaseURL)
		}
		return nil
	}
	m, err := store.EnsureMerchant("My shop")
	if err != nil {
		return err
	}
	email, password := "admin@example.com", e.getenv("HOOKLOG_ADMIN_PASSWORD")
	if password == "" {
		password = models.GeneratePassword()
	}
	if _, err := store.CreateUser(m.ID, email, password, models.RoleAdmin); errors.Is(err, models.ErrEmailTaken) {
		// Another instance sharing the database bootstrapped it at the same moment.
		fmt.Fprintf(e.stdout, "Hooklog is running at %s\n", cfg.BaseURL)
		return nil
	} else if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	ep, secret, err := store.CreateEndpoint(m.ID, models.EndpointInput{Name: "Test endpoint", Provider: "generic"}, "")
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	url := ep.IngestURL(cfg.BaseURL)
	note := func(secret string) string {
		return fmt.Sprintf(`Hooklog first login
  Dashboard: %s/login
  Email:     %s
  Password:  %s
Point a provider at an endpoint's URL; a test endpoint (provider "generic") is ready:
  %s
Try it:
  hooklog send --url %s --provider generic --secret %s --type payment.completed --order ord_1001 --amount 25.00 --currency USD
Add your own endpoints on the Endpoints page or with "hooklog endpoint add".
`, cfg.BaseURL, email, password, url, url, secret)
	}
	if err := os.WriteFile(notePath, []byte(note(secret)), 0o600); err != nil {
		return fmt.Errorf("bootstrap: write %s: %w", notePath, err)
	}
	// The endpoint's signing secret stays out of the output, which often ends up in a log; the note
	// holds the command with it, ready to copy.
	fmt.Fprint(e.stdout, note("SECRET"))
	fmt.Fprintf(e.stdout, "(kept in %s, with the test endpoint's secret in place of SECRET)\n", notePath)
	return nil
}

// userAdd handles `hooklog user add`.
func (e *env) userAdd(args []string) error {
	fs := e.flags("user add")
	merchant := fs.String("merchant", "", "merchant name (created if it does not exist)")
	email := fs.String("email", "", "the user's email, used to log in")
	role := fs.String("role", "", "admin, operator or support")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of generating one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *merchant == "" || *email == "" || *role == "" {
		return usageError{"user add needs --merchant, --email and --role"}
	}
	r, err := models.ParseRole(*role)
	if err != nil {
		return usageError{err.Error()}
	}
	password, generated := "", false
	if *fromStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	} else {
		password, generated = models.GeneratePassword(), true
	}
	_, store, err := e.open()
	if err != nil {
		return err
	}
	defer store.Close()
	m, err := store.EnsureMerchant(*merchant)
	if err != nil {
		return err
	}
	u, err := store.CreateUser(m.ID, *email, password, r)
	if err != nil {
		return err
	}
	if err := store.Audit(models.AuditEntry{MerchantID: m.ID, Actor: "cli", Action: models.AuditUserCreate, ObjectType: "user",
		ObjectID: strconv.Itoa(int(u.ID)), Detail: u.Email + " as " + string(r)}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created %s (%s) in merchant %q\n", u.Email, u.Role, m.Name)
	if generated {
		fmt.Fprintf(e.stdout, "password: %s\n", password)
	}
	return nil
}

// hmacFlags registers the configurable-HMAC flags shared by endpoint add and send.
func hmacFlags(fs *flag.FlagSet) *webhooks.HMACConfig {
	var h webhooks.HMACConfig
	fs.StringVar(&h.Header, "header", "", "signature header (configurable-HMAC providers; default X-Signature)")
	fs.StringVar(&h.Algorithm, "algorithm", "", "sha256 or sha512 (default sha256)")
	fs.StringVar(&h.Encoding, "encoding", "", "hex or base64 (default hex)")
	fs.StringVar(&h.Prefix, "prefix", "", "text before the signature, e.g. sha256=")
	return &h
}

// endpointAdd handles `hooklog endpoint add`.
func (e *env) endpointAdd(args []string) error {
	fs := e.flags("endpoint add")
	merchant := fs.String("merchant", "", "merchant name (created if it does not exist)")
	name := fs.String("name", "", "a name people will recognise")
	provider := fs.String("provider", "", strings.Join(webhooks.Providers(), ", "))
	secret := fs.String("secret", "", "the provider's signing secret (generated when empty, where the provider allows)")
	asJSON := fs.Bool("json", false, `print {"id","url","secret"}`)
	h := hmacFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *merchant == "" || *name == "" || *provider == "" {
		return usageError{"endpoint add needs --merchant, --name and --provider"}
	}
	cfg, store, err := e.open()
	if err != nil {
		return err
	}
	defer store.Close()
	m, err := store.EnsureMerchant(*merchant)
	if err != nil {
		return err
	}
	ep, plain, err := store.CreateEndpoint(m.ID, models.EndpointInput{Name: *name, Provider: *provider, Settings: webhooks.Settings{HMAC: *h}}, *secret)
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		return usageError{ve.Error()}
	}
	if err != nil {
		return err
	}
	if err := store.Audit(models.AuditEntry{MerchantID: m.ID, Actor: "cli", Action: models.AuditEndpointCreate, ObjectType: "endpoint",
		ObjectID: strconv.Itoa(int(ep.ID)), Detail: ep.Name + " (" + ep.Provider + ")"}); err != nil {
		return err
	}
	url := ep.IngestURL(cfg.BaseURL)
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"id": ep.ID, "url": url, "secret": plain})
	}
	fmt.Fprintf(e.stdout, "endpoint %d %q (%s)\nurl:    %s\nsecret: %s\n", ep.ID, ep.Name, ep.Provider, url, plain)
	return nil
}

// tokenAdd handles `hooklog token add`: the token alone on stdout, once.
func (e *env) tokenAdd(args []string) error {
	fs := e.flags("token add")
	merchant := fs.String("merchant", "", "merchant name")
	role := fs.String("role", "", "admin, operator or support")
	name := fs.String("name", "", "what the token is for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *merchant == "" || *role == "" {
		return usageError{"token add needs --merchant and --role"}
	}
	r, err := models.ParseRole(*role)
	if err != nil {
		return usageError{err.Error()}
	}
	_, store, err := e.open()
	if err != nil {
		return err
	}
	defer store.Close()
	m, err := store.EnsureMerchant(*merchant)
	if err != nil {
		return err
	}
	t, plain, err := store.CreateToken(m.ID, *name, r)
	if err != nil {
		return err
	}
	if err := store.Audit(models.AuditEntry{MerchantID: m.ID, Actor: "cli", Action: models.AuditTokenCreate, ObjectType: "token",
		ObjectID: strconv.Itoa(int(t.ID)), Detail: t.Name + " (" + string(r) + ")"}); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, plain)
	return nil
}

// send handles `hooklog send`: it signs a realistic sample payload and posts it, like `stripe trigger`.
func (e *env) send(args []string) error {
	fs := e.flags("send")
	url := fs.String("url", "", "the endpoint's ingest URL")
	provider := fs.String("provider", "", strings.Join(webhooks.Providers(), ", "))
	secret := fs.String("secret", "", "the endpoint's signing secret")
	typ := fs.String("type", "", "event type, e.g. payment_intent.succeeded")
	order := fs.String("order", "", "order reference (random when empty)")
	amount := fs.String("amount", "", "amount in major units, e.g. 25.00")
	currency := fs.String("currency", "", "ISO currency, e.g. USD")
	id := fs.String("id", "", "provider event id (random when empty); reuse one to send a duplicate")
	h := hmacFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *provider == "" || *secret == "" || *typ == "" {
		return usageError{"send needs --url, --provider, --secret and --type"}
	}
	p, err := webhooks.New(*provider, webhooks.Settings{HMAC: *h})
	if err != nil {
		return usageError{err.Error()}
	}
	sp := webhooks.SampleParams{ID: *id, OrderRef: *order, Currency: strings.ToUpper(*currency), Now: time.Now()}
	if *amount != "" {
		cur := sp.Currency
		if cur == "" {
			cur = "USD"
		}
		if sp.Amount, err = webhooks.ParseAmount(*amount, cur); err != nil {
			return usageError{fmt.Sprintf("--amount %q: %v", *amount, err)}
		}
	}
	body, err := p.Sample(*typ, sp)
	if err != nil {
		return usageError{err.Error()}
	}
	msgID := *id
	if msgID == "" {
		msgID = "msg_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	hdr, err := p.Sign(*secret, body, time.Now(), msgID)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, *url, bytes.NewReader(body))
	if err != nil {
		return usageError{fmt.Sprintf("--url: %v", err)}
	}
	req.Header = hdr
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hooklog-send/1")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", *url, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(e.stdout, "%s %s %s\n%s\n", resp.Status, *provider, *typ, strings.TrimSpace(string(answer)))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("the endpoint answered %s", resp.Status)
	}
	return nil
}

// replay handles `hooklog replay EVENT_ID` and `hooklog replay --failed`.
func (e *env) replay(args []string) error {
	fs := e.flags("replay")
	failed := fs.Bool("failed", false, "replay every failed and dead event")
	endpoint := fs.Uint("endpoint", 0, "with --failed: only this endpoint's events")
	since := fs.String("since", "", "with --failed: only events received since this time (RFC 3339 or YYYY-MM-DD)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if *failed == (len(rest) == 1) || len(rest) > 1 {
		return usageError{"replay takes one EVENT_ID, or --failed [--endpoint ID] [--since T]"}
	}
	var sinceT time.Time
	if *since != "" {
		var err error
		if sinceT, err = parseTime(*since); err != nil {
			return usageError{err.Error()}
		}
	}
	_, store, err := e.open()
	if err != nil {
		return err
	}
	defer store.Close()
	if *failed {
		n, err := store.ReplayFailed(models.ReplayFilter{EndpointID: *endpoint, Since: sinceT}, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "queued %d failed or dead events for replay; a running server's workers will process them\n", n)
		return nil
	}
	id, err := strconv.ParseUint(rest[0], 10, 64)
	if err != nil {
		return usageError{fmt.Sprintf("EVENT_ID must be a number, not %q", rest[0])}
	}
	ev, err := store.EventByID(uint(id))
	if err != nil {
		return err
	}
	if _, err := store.Replay(ev.MerchantID, ev.ID, "cli"); err != nil {
		return err
	}
	if err := store.Audit(models.AuditEntry{MerchantID: ev.MerchantID, Actor: "cli", Action: models.AuditReplay, ObjectType: "event", ObjectID: rest[0]}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "queued event %d (%s %s) for replay\n", ev.ID, ev.Provider, ev.Type)
	return nil
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time like 2026-01-31T12:00:00Z or a date like 2026-01-31", s)
}
