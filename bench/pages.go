package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// scaleResult is the page timings over a seeded history, and what that history costs.
type scaleResult struct {
	Deliveries  int            `json:"deliveries"`
	Orders      int            `json:"orders"`
	Endpoints   int            `json:"endpoints"`
	SeedSeconds float64        `json:"seed_seconds"`
	Pages       []pageResult   `json:"pages"`
	PeakRSS     int64          `json:"peak_rss_bytes"`
	Storage     *storageResult `json:"storage"`
}

// pageResult is one page shape requested again and again.
type pageResult struct {
	Name     string  `json:"name"`
	Example  string  `json:"example_url"`
	Search   bool    `json:"search"`
	Requests int     `json:"requests"`
	P50ms    float64 `json:"p50_ms"`
	P95ms    float64 `json:"p95_ms"`
	Maxms    float64 `json:"max_ms"`
	Errors   int     `json:"errors"`
	// Bytes is the size of the last answer; Empty counts searches that found nothing.
	Bytes int64 `json:"bytes"`
	Empty int   `json:"searches_without_hits,omitempty"`
}

// runScale seeds a fresh data directory, serves it, times the pages and measures memory and size.
func runScale(o options, tmp, bin string) (*scaleResult, error) {
	dataDir := filepath.Join(tmp, "scale")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	h, err := newHooklog(bin, dataDir)
	if err != nil {
		return nil, err
	}
	logf("scale: seeding %d deliveries, %d orders, %d endpoints into %s", o.Scale, o.Orders, o.Endpoints, dataDir)
	start := time.Now()
	info, err := seedScale(dataDir, h.password, o)
	if err != nil {
		return nil, err
	}
	sr := &scaleResult{Deliveries: o.Scale, Orders: o.Orders, Endpoints: o.Endpoints, SeedSeconds: time.Since(start).Seconds()}
	logf("scale: seeded in %.0fs; serving on %s", sr.SeedSeconds, h.addr)
	if err := h.start(); err != nil {
		return nil, err
	}
	defer h.stop()
	if sr.Pages, err = timePages(h, info, o.PageRuns); err != nil {
		return nil, err
	}
	h.stop()
	sr.PeakRSS = h.PeakRSS()
	st, err := measureStorage(filepath.Join(dataDir, "hooklog.db"))
	if err != nil {
		return nil, err
	}
	sr.Storage = &st
	return sr, nil
}

// browser is a logged-in dashboard session.
type browser struct {
	base   string
	client *http.Client
}

// login signs in through the form, as a person would: GET /login for the CSRF token and cookie,
// then POST /login.
func login(addr, email, password string) (*browser, error) {
	jar, _ := cookiejar.New(nil)
	b := &browser{base: "http://" + addr, client: &http.Client{Jar: jar, Timeout: 5 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	status, body, err := b.get("/login")
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET /login: %d", status)
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	csrf, ok := doc.Find(`input[name="csrf_token"]`).First().Attr("value")
	if !ok {
		return nil, fmt.Errorf("GET /login: no csrf_token field")
	}
	form := url.Values{"email": {email}, "password": {password}, "csrf_token": {csrf}}
	resp, err := b.client.PostForm(b.base+"/login", form)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("POST /login: %s, want 303", resp.Status)
	}
	return b, nil
}

func (b *browser) get(path string) (int, []byte, error) {
	resp, err := b.client.Get(b.base + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// olderLink is the href of the page's "Older" link (rel="next"), "" when there is none.
func olderLink(body []byte) string {
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		return ""
	}
	href, _ := doc.Find(`a[rel="next"]`).First().Attr("href")
	return href
}

// searchHit matches a link to a delivery or an event in a result list.
var searchHit = regexp.MustCompile(`href="/(deliveries|events)/\d+`)

// pageShape is a page to time: the URL of request i.
type pageShape struct {
	name   string
	search bool
	url    func(i int) string
}

// timePages logs in and times every page shape, runs requests each after one untimed warm-up.
func timePages(h *hooklog, info *seedInfo, runs int) ([]pageResult, error) {
	b, err := login(h.addr, adminEmail, h.password)
	if err != nil {
		return nil, err
	}
	if len(info.Events) == 0 || len(info.OrderRefs) == 0 {
		return nil, fmt.Errorf("pages: the seed kept no events or orders to open")
	}
	// The deep page: the deliveries list, 20 "Older" links down.
	deep := "/deliveries"
	for i := range 20 {
		status, body, err := b.get(deep)
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("pages: following Older from %s (step %d): status %d, %v", deep, i, status, err)
		}
		next := olderLink(body)
		if next == "" {
			return nil, fmt.Errorf("pages: %s has no Older link (step %d)", deep, i)
		}
		deep = next
	}
	pick := func(xs []string) func(int) string { return func(i int) string { return xs[i%len(xs)] } }
	q := func(s string) string { return url.QueryEscape(s) }
	events := make([]string, len(info.Events))
	for i, id := range info.Events {
		events[i] = fmt.Sprint(id)
	}
	shapes := []pageShape{
		{name: "overview /", url: func(int) string { return "/" }},
		{name: "deliveries, first page", url: func(int) string { return "/deliveries" }},
		{name: "deliveries, outcome=rejected", url: func(int) string { return "/deliveries?outcome=rejected" }},
		{name: "deliveries, outcome=duplicate", url: func(int) string { return "/deliveries?outcome=duplicate" }},
		{name: "deliveries, by endpoint", url: func(i int) string {
			return fmt.Sprintf("/deliveries?endpoint=%d", info.Endpoints[i%len(info.Endpoints)])
		}},
		{name: "deliveries, 21st page (Older x20)", url: func(int) string { return deep }},
		{name: "event page", url: func(i int) string { return "/events/" + pick(events)(i) }},
		{name: "orders, first page", url: func(int) string { return "/orders" }},
		{name: "order page", url: func(i int) string { return "/orders/" + q(pick(info.OrderRefs)(i)) }},
		{name: "search: transaction id", search: true, url: func(i int) string { return "/search?q=" + q(pick(info.PaymentIDs)(i)) }},
		{name: "search: customer email", search: true, url: func(i int) string { return "/search?q=" + q(pick(info.Emails)(i)) }},
		{name: "search: amount", search: true, url: func(i int) string { return "/search?q=" + q(pick(info.Amounts)(i)) }},
		{name: "search: common word (insufficient_funds)", search: true, url: func(int) string { return "/search?q=insufficient_funds" }},
	}
	var out []pageResult
	for _, s := range shapes {
		logf("pages: %s (%d requests)", s.name, runs)
		out = append(out, timePage(b, s, runs))
	}
	return out, nil
}

// pageBudget bounds the time spent on one page shape: a page that takes seconds is timed fewer
// times (at least minRuns) rather than holding up the whole run.
const (
	pageBudget = 60 * time.Second
	minRuns    = 3
)

func timePage(b *browser, s pageShape, runs int) pageResult {
	r := pageResult{Name: s.name, Search: s.search, Example: s.url(0)}
	_, _, _ = b.get(s.url(0)) // warm-up, untimed
	lat := make([]time.Duration, 0, runs)
	start := time.Now()
	for i := range runs {
		if i >= minRuns && time.Since(start) > pageBudget {
			logf("pages: %s: stopped after %d requests (%s budget)", s.name, i, pageBudget)
			break
		}
		u := s.url(i)
		start := time.Now()
		status, body, err := b.get(u)
		took := time.Since(start)
		r.Requests++
		if err != nil || status != http.StatusOK {
			r.Errors++
			if r.Errors == 1 {
				logf("pages: %s: status %d, %v", u, status, err)
			}
			continue
		}
		lat = append(lat, took)
		r.Bytes = int64(len(body))
		if s.search && !searchHit.Match(body) && !strings.Contains(string(body), "/orders/") {
			r.Empty++
		}
	}
	slices.Sort(lat)
	r.P50ms, r.P95ms = ms(quantile(lat, 0.50)), ms(quantile(lat, 0.95))
	if len(lat) > 0 {
		r.Maxms = ms(lat[len(lat)-1])
	}
	return r
}
