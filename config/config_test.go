package config

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env makes a getenv from a map.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func noEnv(string) string { return "" }

// writeFile writes a config file into a temporary directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// filledDefault is Default with the derived settings filled in.
func filledDefault() Config {
	c := Default()
	c.BaseURL = "http://127.0.0.1:8080"
	c.Database = "data/hooklog.db"
	return c
}

func TestDefaults(t *testing.T) {
	cfg, err := Load("", false, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, filledDefault()) {
		t.Errorf("Load with nothing set = %+v\nwant the defaults %+v", cfg, filledDefault())
	}
	// The defaults config.yaml and the README promise.
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", cfg.Listen, "127.0.0.1:8080"},
		{"base_url", cfg.BaseURL, "http://127.0.0.1:8080"},
		{"data_dir", cfg.DataDir, "data"},
		{"database", cfg.Database, "data/hooklog.db"},
		{"secret_key", cfg.SecretKey, ""},
		{"log_level", cfg.LogLevel, "info"},
		{"durability", cfg.Durability, "process"},
		{"shutdown_grace", cfg.ShutdownGrace.Duration, 15 * time.Second},
		{"ingest.max_body_bytes", cfg.Ingest.MaxBodyBytes, int64(1 << 20)},
		{"ingest.tolerance", cfg.Ingest.Tolerance.Duration, 300 * time.Second},
		{"ingest.max_batch", cfg.Ingest.MaxBatch, 256},
		{"ingest.read_timeout", cfg.Ingest.ReadTimeout.Duration, 10 * time.Second},
		{"worker.concurrency", cfg.Worker.Concurrency, 4},
		{"worker.batch", cfg.Worker.Batch, 64},
		{"worker.max_attempts", cfg.Worker.MaxAttempts, 8},
		{"worker.base_backoff", cfg.Worker.BaseBackoff.Duration, 5 * time.Second},
		{"worker.max_backoff", cfg.Worker.MaxBackoff.Duration, time.Hour},
		{"worker.lease", cfg.Worker.Lease.Duration, 2 * time.Minute},
		{"worker.poll_interval", cfg.Worker.PollInterval.Duration, time.Second},
		{"session.idle_timeout", cfg.Session.IdleTimeout.Duration, 2 * time.Hour},
		{"session.absolute_timeout", cfg.Session.AbsoluteTimeout.Duration, 24 * time.Hour},
		{"session.max_failures", cfg.Session.MaxFailures, 5},
		{"session.lockout_window", cfg.Session.LockoutWindow.Duration, 15 * time.Minute},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// A missing config.yaml that nobody asked for is fine.
	cfg, err = Load(filepath.Join(t.TempDir(), "config.yaml"), false, noEnv)
	if err != nil || !reflect.DeepEqual(cfg, filledDefault()) {
		t.Errorf("missing optional file: %+v, %v", cfg, err)
	}
}

// TestShippedConfigIsTheDefaults: the config.yaml in the repository documents every setting with its
// default value.
func TestShippedConfigIsTheDefaults(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "config.yaml"), true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := filledDefault(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("config.yaml = %+v\nwant the defaults %+v", cfg, want)
	}
}

func TestEmptyFiles(t *testing.T) {
	for _, content := range []string{"", "\n\n", "# nothing set\n", "---\n"} {
		cfg, err := Load(writeFile(t, content), true, noEnv)
		if err != nil || !reflect.DeepEqual(cfg, filledDefault()) {
			t.Errorf("%q: %+v, %v; want the defaults", content, cfg, err)
		}
	}
}

func TestFileOverrides(t *testing.T) {
	p := writeFile(t, `
listen: 0.0.0.0:9000
base_url: https://hooks.example.com/
data_dir: /var/lib/hooklog
log_level: debug
durability: power
shutdown_grace: 3s
ingest:
  max_body_bytes: 2048
  tolerance: 1m
  max_batch: 8
worker:
  concurrency: 2
  max_attempts: 3
  base_backoff: 250ms
  lease: 45s
session:
  max_failures: 9
`)
	cfg, err := Load(p, true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := filledDefault()
	want.Listen, want.BaseURL, want.DataDir, want.Database = "0.0.0.0:9000", "https://hooks.example.com", "/var/lib/hooklog", "/var/lib/hooklog/hooklog.db"
	want.LogLevel, want.Durability, want.ShutdownGrace = "debug", "power", Duration{3 * time.Second}
	want.Ingest.MaxBodyBytes, want.Ingest.Tolerance, want.Ingest.MaxBatch = 2048, Duration{time.Minute}, 8
	want.Worker.Concurrency, want.Worker.MaxAttempts, want.Worker.BaseBackoff, want.Worker.Lease = 2, 3, Duration{250 * time.Millisecond}, Duration{45 * time.Second}
	want.Session.MaxFailures = 9
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config = %+v\nwant     %+v", cfg, want)
	}
}

func TestEnvOverrides(t *testing.T) {
	key := strings.Repeat("ab", 32)
	p := writeFile(t, "listen: 0.0.0.0:9000\ndatabase: /from/file.db\nworker:\n  concurrency: 2\n")
	cfg, err := Load(p, true, env(map[string]string{
		"HOOKLOG_LISTEN":         "127.0.0.1:7000",
		"HOOKLOG_DB":             "/from/env.db",
		"HOOKLOG_BASE_URL":       "https://in.example.com/",
		"HOOKLOG_SECRET_KEY":     key,
		"HOOKLOG_DATA_DIR":       "/srv/hooklog",
		"HOOKLOG_LOG_LEVEL":      "warn",
		"HOOKLOG_DURABILITY":     "power",
		"HOOKLOG_MAX_BODY_BYTES": "4096",
		"HOOKLOG_WORKERS":        "16",
		"HOOKLOG_DEBUG_LISTEN":   "127.0.0.1:6060",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:7000" || cfg.Database != "/from/env.db" || cfg.BaseURL != "https://in.example.com" ||
		cfg.SecretKey != key || cfg.DataDir != "/srv/hooklog" || cfg.LogLevel != "warn" || cfg.Durability != "power" ||
		cfg.Ingest.MaxBodyBytes != 4096 || cfg.Worker.Concurrency != 16 || cfg.DebugListen != "127.0.0.1:6060" {
		t.Errorf("config = %+v", cfg)
	}
	// Without HOOKLOG_DB and base_url, both follow the environment's data dir and listen address.
	cfg, err = Load("", false, env(map[string]string{"HOOKLOG_LISTEN": "127.0.0.1:0", "HOOKLOG_DATA_DIR": "/tmp/h/"}))
	if err != nil || cfg.BaseURL != "http://127.0.0.1:0" || cfg.Database != "/tmp/h/hooklog.db" {
		t.Errorf("derived settings: %+v, %v", cfg, err)
	}
}

func TestLoadErrors(t *testing.T) {
	badKey := "secret_key must be 32 bytes written as 64 hex characters or base64 (try: openssl rand -hex 32)"
	tests := []struct {
		name    string
		file    string // "" means no file
		env     map[string]string
		missing bool
		want    []string
	}{
		{name: "unknown key", file: "listen: 127.0.0.1:1\nlisten_addr: x\n", want: []string{"line 2: unknown setting listen_addr"}},
		{name: "unknown nested key", file: "worker:\n  concurrency: 2\n  threads: 4\n", want: []string{"line 3: unknown setting threads"}},
		{name: "bad duration", file: "worker:\n  lease: 5 minutes\n", want: []string{`line 2: "5 minutes" is not a duration like 30s or 5m`}},
		{name: "bare number as duration", file: "shutdown_grace: 15\n", want: []string{`line 1: "15" is not a duration like 30s or 5m`}},
		{name: "not a number", file: "worker:\n  concurrency: many\n", want: []string{"line 2", "many"}},
		{name: "broken YAML", file: "listen: [\n", want: []string{"line 1"}},
		{name: "bad key in file", file: "secret_key: abc\n", want: []string{badKey}},
		{name: "bad key in env", env: map[string]string{"HOOKLOG_SECRET_KEY": strings.Repeat("ab", 16)}, want: []string{badKey}},
		{name: "bad body limit in env", env: map[string]string{"HOOKLOG_MAX_BODY_BYTES": "1MB"}, want: []string{`HOOKLOG_MAX_BODY_BYTES="1MB" is not a number of bytes`}},
		{name: "bad workers in env", env: map[string]string{"HOOKLOG_WORKERS": "four"}, want: []string{`HOOKLOG_WORKERS="four" is not a number`}},
		{name: "invalid values", file: "durability: disk\ningest:\n  max_body_bytes: 0\nworker:\n  concurrency: 0\n  batch: 0\n  max_attempts: 0\n  lease: 0s\n  base_backoff: -1s\n",
			want: []string{`durability must be process or power, not "disk"`, "ingest.max_body_bytes must be positive",
				"worker.concurrency must be at least 1", "worker.batch must be between 1 and 1000", "worker.max_attempts must be at least 1", "worker.lease must be positive",
				"worker.base_backoff must not be negative, not -1s"}},
		{name: "profiler on every interface", file: "debug_listen: 0.0.0.0:6060\n",
			want: []string{`debug_listen "0.0.0.0:6060" must be a loopback address such as 127.0.0.1:6060: the profiler has no login`}},
		{name: "profiler without a port", env: map[string]string{"HOOKLOG_DEBUG_LISTEN": "127.0.0.1"}, want: []string{`debug_listen "127.0.0.1" must be a loopback address`}},
		{name: "missing file asked for", missing: true, want: []string{"no such file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			switch {
			case tc.missing:
				path = filepath.Join(t.TempDir(), "nope.yaml")
			case tc.file != "":
				path = writeFile(t, tc.file)
			}
			_, err := Load(path, true, env(tc.env))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !strings.HasPrefix(err.Error(), "config: ") {
				t.Errorf("error %q does not start with config:", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestDecodeKey(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	for _, s := range []string{
		hex.EncodeToString(raw), strings.ToUpper(hex.EncodeToString(raw)), " " + hex.EncodeToString(raw) + "\n",
		base64.StdEncoding.EncodeToString(raw), base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw),
	} {
		k, err := DecodeKey(s)
		if err != nil || string(k) != string(raw) {
			t.Errorf("DecodeKey(%q) = %x, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "abc", hex.EncodeToString(raw[:31]), hex.EncodeToString(append(raw, 1)), base64.StdEncoding.EncodeToString(raw[:16])} {
		if _, err := DecodeKey(s); err == nil {
			t.Errorf("DecodeKey(%q) accepted", s)
		}
	}
}

// TestIsLoopback: the profiler may listen on this machine's loopback addresses only.
func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:6060": true, "localhost:6060": true, "[::1]:6060": true, "127.0.0.2:0": true,
		"0.0.0.0:6060": false, ":6060": false, "[::]:6060": false, "10.0.0.5:6060": false, "example.com:6060": false, "127.0.0.1": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v; want %v", addr, got, want)
		}
	}
}
