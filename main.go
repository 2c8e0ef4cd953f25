// Command hooklog receives, verifies, stores and processes payment webhooks, and serves the
// dashboard and API over what it recorded. main.go is the composition root: it loads the config,
// opens the database, builds the handlers with their dependencies and registers every route.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"hooklog/config"
	"hooklog/handlers"
	"hooklog/models"
	"hooklog/worker"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

const usage = `hooklog: a webhook inbox for payment providers

Usage:
  hooklog [-config PATH] serve
  hooklog [-config PATH] user add --merchant NAME --email E --role admin|operator|support [--password-stdin]
  hooklog [-config PATH] endpoint add --merchant NAME --name N --provider P [--secret S]
          [--header H --algorithm sha256|sha512 --encoding hex|base64 --prefix P] [--json]
  hooklog [-config PATH] token add --merchant NAME --role R [--name N]
  hooklog send --url URL --provider P --secret S --type TYPE [--order REF] [--amount N --currency C] [--id ID]
  hooklog [-config PATH] replay EVENT_ID
  hooklog [-config PATH] replay --failed [--endpoint ID] [--since T]
  hooklog [-config PATH] backup PATH
  hooklog [-config PATH] purge --older-than DURATION [--include-unfinished]
  hooklog [-config PATH] rotate-key --old-key OLD_KEY
  hooklog [-config PATH] migrate-to [--batch N] DSN

Settings come from config.yaml (or -config PATH), overridden by HOOKLOG_LISTEN, HOOKLOG_DB,
HOOKLOG_BASE_URL, HOOKLOG_SECRET_KEY, HOOKLOG_DATA_DIR and others listed in config.yaml.
`

// env is everything a command reads from outside its arguments.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	configPath     string
	configRequired bool
	// flagError is set when a subcommand's flags did not parse; the flag package has already said why.
	flagError bool
}

// run executes one command line and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, configPath: "config.yaml"}
	global := flag.NewFlagSet("hooklog", flag.ContinueOnError)
	global.SetOutput(stderr)
	global.Usage = func() { fmt.Fprint(stderr, usage) }
	cfgPath := global.String("config", "", "path to config.yaml")
	if err := global.Parse(args); err != nil {
		return 2
	}
	if *cfgPath != "" {
		e.configPath, e.configRequired = *cfgPath, true
	}
	args = global.Args()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd := strings.Join(args[:min(2, len(args))], " "); {
	case args[0] == "serve":
		err = e.serve(args[1:])
	case cmd == "user add":
		err = e.userAdd(args[2:])
	case cmd == "endpoint add":
		err = e.endpointAdd(args[2:])
	case cmd == "token add":
		err = e.tokenAdd(args[2:])
	case args[0] == "send":
		err = e.send(args[1:])
	case args[0] == "replay":
		err = e.replay(args[1:])
	case args[0] == "backup":
		err = e.backup(args[1:])
	case args[0] == "purge":
		err = e.purge(args[1:])
	case args[0] == "rotate-key":
		err = e.rotateKey(args[1:])
	case args[0] == "migrate-to":
		err = e.migrateTo(args[1:])
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "hooklog: unknown command %q\n\n%s", strings.Join(args, " "), usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if e.flagError {
		return 2
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "hooklog: %s\n", ue.msg)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "hooklog: %v\n", err)
		return 1
	}
	return 0
}

// usageError is a mistake in the command line (exit code 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// flags makes a subcommand's flag set; every subcommand also accepts -config.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	// The flag package calls Usage after printing what was wrong with the flags (and for -h).
	fs.Usage = func() {
		e.flagError = true
		fmt.Fprintf(e.stderr, "Usage of hooklog %s:\n", name)
		fs.PrintDefaults()
	}
	fs.Func("config", "path to config.yaml", func(p string) error {
		e.configPath, e.configRequired = p, true
		return nil
	})
	return fs
}

// load reads the configuration.
func (e *env) load() (config.Config, error) {
	return config.Load(e.configPath, e.configRequired, e.getenv)
}

// open loads the configuration and opens the database with the secret key.
func (e *env) open() (config.Config, *models.Store, error) {
	cfg, _, store, err := e.openWithKey()
	return cfg, store, err
}

// openWithKey is open, also returning the master key.
func (e *env) openWithKey() (config.Config, []byte, *models.Store, error) {
	cfg, err := e.load()
	if err != nil {
		return cfg, nil, nil, err
	}
	key, err := secretKey(cfg)
	if err != nil {
		return cfg, nil, nil, err
	}
	sync := "NORMAL"
	if cfg.Durability == "power" {
		sync = "FULL"
	}
	store, err := models.Open(models.Options{DSN: cfg.Database, Synchronous: sync, MaxConns: cfg.PostgresMaxConns, Key: key})
	return cfg, key, store, err
}

// secretKey returns the configured key, or the one kept in the data directory, creating it (0600)
// on first use.
func secretKey(cfg config.Config) ([]byte, error) {
	if cfg.SecretKey != "" {
		return config.DecodeKey(cfg.SecretKey)
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	raw, err := os.ReadFile(path)
	if err == nil {
		k, err := config.DecodeKey(string(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return secretKey(cfg) // another process created it first
	}
	if err != nil {
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	return k, f.Sync()
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// serve runs the HTTP server and the workers until SIGINT or SIGTERM, then drains both.
func (e *env) serve(args []string) error {
	fs := e.flags("serve")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Signals are caught from the start: a SIGTERM that arrives while the server is still starting
	// (after it has printed where it runs) must stop it gracefully, not kill it.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tuneGC(os.Getenv)
	cfg, key, store, err := e.openWithKey()
	if err != nil {
		return err
	}
	defer store.Close()
	log := newLogger(e.stderr, cfg.LogLevel)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	if cfg.DebugListen != "" {
		dbg, err := debugServer(cfg.DebugListen, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer dbg.Close()
	}
	if cfg.BaseURL == "http://"+cfg.Listen {
		cfg.BaseURL = "http://" + ln.Addr().String()
	}
	if err := e.bootstrap(cfg, store); err != nil {
		return err
	}

	work := worker.New(store, cfg.Worker, log)
	ingester := models.NewIngester(store, cfg.Ingest.MaxBatch, work.Wake)
	ech := handlers.New(handlers.Deps{Config: cfg, Store: store, Ingester: ingester, Worker: work, Log: log, MasterKey: key})

	srv := &http.Server{
		Handler:           ech,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       cfg.Ingest.ReadTimeout.Duration,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    256 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	workCtx, stopWork := context.WithCancel(context.Background())
	workDone := make(chan struct{})
	go func() {
		work.Run(workCtx)
		close(workDone)
	}()
	go runRetention(workCtx, store, cfg.Retention, log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("hooklog listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "database", models.RedactDSN(cfg.Database))

	select {
	case err = <-serveErr:
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight, then queued events", "grace", cfg.ShutdownGrace.Duration)
	graceCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace.Duration)
	defer cancel()
	if serr := srv.Shutdown(graceCtx); serr != nil {
		log.Warn("http shutdown", "err", serr)
	}
	ingester.Close()
	stopWork()
	select {
	case <-workDone:
	case <-graceCtx.Done():
		log.Warn("workers still busy at the end of the grace time; their leases will expire and another run will finish them")
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}
