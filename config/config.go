// Package config loads Hooklog's settings: defaults, then config.yaml, then environment variables.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is every setting Hooklog reads. config.yaml documents each one.
type Config struct {
	Listen   string `yaml:"listen"`
	BaseURL  string `yaml:"base_url"`
	DataDir  string `yaml:"data_dir"`
	Database string `yaml:"database"`
	// PostgresMaxConns caps each instance's PostgreSQL connection pool; SQLite ignores it.
	PostgresMaxConns int    `yaml:"postgres_max_conns"`
	SecretKey        string `yaml:"secret_key"`
	LogLevel         string `yaml:"log_level"`
	// Durability is "process" (survives a process crash: synchronous=NORMAL) or "power" (synchronous=FULL).
	Durability    string   `yaml:"durability"`
	ShutdownGrace Duration `yaml:"shutdown_grace"`
	// DebugListen is the loopback address of Go's profiler (net/http/pprof); empty turns it off.
	DebugListen string `yaml:"debug_listen"`

	Ingest    Ingest    `yaml:"ingest"`
	Worker    Worker    `yaml:"worker"`
	Session   Session   `yaml:"session"`
	Retention Retention `yaml:"retention"`
}

// Retention configures the automatic purge of old deliveries and events.
type Retention struct {
	// OlderThan is the age after which deliveries and finished events are purged; 0 keeps everything.
	OlderThan         Duration `yaml:"older_than"`
	IncludeUnfinished bool     `yaml:"include_unfinished"`
	Interval          Duration `yaml:"interval"`
	Batch             int      `yaml:"batch"`
}

// Ingest configures POST /in/{token}.
type Ingest struct {
	MaxBodyBytes int64    `yaml:"max_body_bytes"`
	Tolerance    Duration `yaml:"tolerance"`
	MaxBatch     int      `yaml:"max_batch"`
	ReadTimeout  Duration `yaml:"read_timeout"`
	// RateLimit is the requests a second each endpoint may send on average; 0 means no limit.
	RateLimit float64 `yaml:"rate_limit"`
	// RateBurst is how many requests an endpoint may send at once; 0 means twice RateLimit.
	RateBurst int `yaml:"rate_burst"`
}

// Worker configures event processing.
type Worker struct {
	Concurrency  int      `yaml:"concurrency"`
	MaxAttempts  int      `yaml:"max_attempts"`
	BaseBackoff  Duration `yaml:"base_backoff"`
	MaxBackoff   Duration `yaml:"max_backoff"`
	Lease        Duration `yaml:"lease"`
	PollInterval Duration `yaml:"poll_interval"`
	// Batch is how many events are claimed at once and completed in one write transaction.
	Batch int `yaml:"batch"`
}

// Session configures dashboard logins.
type Session struct {
	IdleTimeout     Duration `yaml:"idle_timeout"`
	AbsoluteTimeout Duration `yaml:"absolute_timeout"`
	MaxFailures     int      `yaml:"max_failures"`
	LockoutWindow   Duration `yaml:"lockout_window"`
}

// Duration is a time.Duration written as "300s" or "5m" in YAML.
type Duration struct{ time.Duration }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 30s or 5m", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

// unknownField matches yaml's wording for a key that Config does not have.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// yamlProblem rewrites yaml's errors into one line in the words of this file: "line 3: unknown
// setting lisen".
func yamlProblem(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		msgs[i] = unknownField.ReplaceAllString(m, "unknown setting $1 (see config.yaml for the settings)")
	}
	return strings.Join(msgs, "; ")
}

// maxWorkerBatch is the largest worker.batch.
const maxWorkerBatch = 1000

// Default is the configuration used when nothing is set.
func Default() Config {
	return Config{
		Listen:           "127.0.0.1:8080",
		BaseURL:          "",
		DataDir:          "data",
		Database:         "",
		PostgresMaxConns: 20,
		LogLevel:         "info",
		Durability:       "process",
		ShutdownGrace:    Duration{15 * time.Second},
		Ingest: Ingest{
			MaxBodyBytes: 1 << 20,
			Tolerance:    Duration{300 * time.Second},
			MaxBatch:     256,
			ReadTimeout:  Duration{10 * time.Second},
		},
		Worker: Worker{
			Concurrency:  4,
			Batch:        64,
			MaxAttempts:  8,
			BaseBackoff:  Duration{5 * time.Second},
			MaxBackoff:   Duration{1 * time.Hour},
			Lease:        Duration{2 * time.Minute},
			PollInterval: Duration{1 * time.Second},
		},
		Retention: Retention{
			Interval: Duration{time.Hour},
			Batch:    500,
		},
		Session: Session{
			IdleTimeout:     Duration{2 * time.Hour},
			AbsoluteTimeout: Duration{24 * time.Hour},
			MaxFailures:     5,
			LockoutWindow:   Duration{15 * time.Minute},
		},
	}
}

// Load reads path (when it is not empty) over the defaults, then applies HOOKLOG_* environment
// variables. A missing file is an error only when required is true.
func Load(path string, required bool, env func(string) string) (Config, error) {
	cfg := Default()
	if path != "" {
		raw, err := os.ReadFile(path)
		switch {
		case err == nil:
			dec := yaml.NewDecoder(strings.NewReader(string(raw)))
			dec.KnownFields(true)
			// io.EOF means an empty file: all defaults.
			if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
				return cfg, fmt.Errorf("config: %s: %s", path, yamlProblem(err))
			}
		case errors.Is(err, os.ErrNotExist) && !required:
		default:
			return cfg, fmt.Errorf("config: %w", err)
		}
	}
	if err := cfg.applyEnv(env); err != nil {
		return cfg, err
	}
	cfg.fill()
	return cfg, cfg.validate()
}

func (c *Config) applyEnv(env func(string) string) error {
	str := map[string]*string{
		"HOOKLOG_LISTEN":       &c.Listen,
		"HOOKLOG_DB":           &c.Database,
		"HOOKLOG_BASE_URL":     &c.BaseURL,
		"HOOKLOG_SECRET_KEY":   &c.SecretKey,
		"HOOKLOG_DATA_DIR":     &c.DataDir,
		"HOOKLOG_LOG_LEVEL":    &c.LogLevel,
		"HOOKLOG_DURABILITY":   &c.Durability,
		"HOOKLOG_DEBUG_LISTEN": &c.DebugListen,
	}
	for name, dst := range str {
		if v := env(name); v != "" {
			*dst = v
		}
	}
	if v := env("HOOKLOG_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("config: HOOKLOG_MAX_BODY_BYTES=%q is not a number of bytes", v)
		}
		c.Ingest.MaxBodyBytes = n
	}
	if v := env("HOOKLOG_POSTGRES_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("config: HOOKLOG_POSTGRES_MAX_CONNS=%q is not a number", v)
		}
		c.PostgresMaxConns = n
	}
	if v := env("HOOKLOG_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("config: HOOKLOG_WORKERS=%q is not a number", v)
		}
		c.Worker.Concurrency = n
	}
	return nil
}

// fill derives the settings whose defaults depend on others.
func (c *Config) fill() {
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Listen
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Database == "" {
		c.Database = strings.TrimRight(c.DataDir, "/") + "/hooklog.db"
	}
	if c.Ingest.RateLimit > 0 && c.Ingest.RateBurst == 0 {
		c.Ingest.RateBurst = max(1, int(math.Ceil(2*c.Ingest.RateLimit)))
	}
}

func (c *Config) validate() error {
	var problems []string
	if c.Ingest.MaxBodyBytes <= 0 {
		problems = append(problems, "ingest.max_body_bytes must be positive")
	}
	if c.Ingest.RateLimit < 0 || math.IsNaN(c.Ingest.RateLimit) || math.IsInf(c.Ingest.RateLimit, 0) {
		problems = append(problems, "ingest.rate_limit must be 0 (no limit) or a positive number of requests a second")
	}
	if c.Ingest.RateBurst < 0 {
		problems = append(problems, "ingest.rate_burst must be 0 (twice rate_limit) or positive")
	}
	if c.DebugListen != "" && !IsLoopback(c.DebugListen) {
		problems = append(problems, fmt.Sprintf("debug_listen %q must be a loopback address such as 127.0.0.1:6060: the profiler has no login", c.DebugListen))
	}
	if c.Worker.Concurrency < 1 {
		problems = append(problems, "worker.concurrency must be at least 1")
	}
	// A batch's event ids and attempt rows each go into one statement, within every database's
	// limit on bound parameters.
	if c.Worker.Batch < 1 || c.Worker.Batch > maxWorkerBatch {
		problems = append(problems, fmt.Sprintf("worker.batch must be between 1 and %d", maxWorkerBatch))
	}
	if c.Worker.MaxAttempts < 1 {
		problems = append(problems, "worker.max_attempts must be at least 1")
	}
	if c.PostgresMaxConns < 1 {
		problems = append(problems, "postgres_max_conns must be at least 1")
	}
	// A lease of zero would make every event being processed due again at once, so the claim loop
	// would take the same events over and over.
	if c.Worker.Lease.Duration <= 0 {
		problems = append(problems, "worker.lease must be positive, like 2m")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"shutdown_grace", c.ShutdownGrace.Duration}, {"ingest.tolerance", c.Ingest.Tolerance.Duration},
		{"ingest.read_timeout", c.Ingest.ReadTimeout.Duration}, {"worker.base_backoff", c.Worker.BaseBackoff.Duration},
		{"worker.max_backoff", c.Worker.MaxBackoff.Duration}, {"worker.poll_interval", c.Worker.PollInterval.Duration},
		{"session.idle_timeout", c.Session.IdleTimeout.Duration}, {"session.absolute_timeout", c.Session.AbsoluteTimeout.Duration},
		{"session.lockout_window", c.Session.LockoutWindow.Duration},
	} {
		if d.v < 0 {
			problems = append(problems, fmt.Sprintf("%s must not be negative, not %s", d.name, d.v))
		}
	}
	if c.Durability != "process" && c.Durability != "power" {
		problems = append(problems, fmt.Sprintf("durability must be process or power, not %q", c.Durability))
	}
	if c.SecretKey != "" {
		if _, err := DecodeKey(c.SecretKey); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("config: %s", strings.Join(problems, "; "))
	}
	return nil
}

// DecodeKey accepts a 32-byte key written as 64 hex characters or as base64.
func DecodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("secret_key must be 32 bytes written as 64 hex characters or base64 (try: openssl rand -hex 32)")
}

// IsLoopback reports whether addr (host:port) names this machine only: localhost or a loopback IP.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
