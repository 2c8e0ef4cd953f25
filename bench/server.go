package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildHooklog compiles the server from the module at repo into dir.
func buildHooklog(repo, dir string) (string, error) {
	bin := filepath.Join(dir, "hooklog")
	cmd := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", bin, ".")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// hooklog is one data directory and the hooklog binary that runs commands and the server on it.
type hooklog struct {
	bin, dataDir, addr, password string
	logPath                      string
	// debugAddr, when set, is where the server's profiler listens (debug_listen).
	debugAddr string
	// database and secretKey, when set, are the PostgreSQL DSN and secret key that several
	// instances share; otherwise the database and key live in the data directory.
	database, secretKey string

	cmd     *exec.Cmd
	logFile *os.File
	stopRSS chan struct{}
	rssDone chan struct{}
	mu      sync.Mutex
	peakRSS int64 // bytes: the largest VmHWM read
}

// merchant is the merchant the bench works in: the one `serve` bootstraps its admin into.
const merchant = "My shop"

// adminEmail is the admin `serve` creates on a database without users.
const adminEmail = "admin@example.com"

func newHooklog(bin, dataDir string) (*hooklog, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return &hooklog{bin: bin, dataDir: dataDir, addr: "127.0.0.1:" + strconv.Itoa(port), password: "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		logPath: filepath.Join(dataDir, "server.log")}, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// env is the environment of every command: the data directory, the address, the admin password,
// and the shared database and key when there are. Commands run in the data directory, so no
// config.yaml of the work tree applies.
func (h *hooklog) env() []string {
	env := append(os.Environ(), "HOOKLOG_DATA_DIR="+h.dataDir, "HOOKLOG_LISTEN="+h.addr,
		"HOOKLOG_ADMIN_PASSWORD="+h.password, "HOOKLOG_LOG_LEVEL=warn")
	if h.database != "" {
		env = append(env, "HOOKLOG_DB="+h.database, "HOOKLOG_SECRET_KEY="+h.secretKey)
	}
	if h.debugAddr != "" {
		env = append(env, "HOOKLOG_DEBUG_LISTEN="+h.debugAddr)
	}
	return env
}

// run runs one CLI command and returns its standard output.
func (h *hooklog) run(args ...string) (string, error) {
	cmd := exec.Command(h.bin, args...)
	cmd.Dir, cmd.Env = h.dataDir, h.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hooklog %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// endpoint is an endpoint added with `hooklog endpoint add --json`.
type endpoint struct {
	ID     uint   `json:"id"`
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// Path is the endpoint's ingest path, /in/{token}.
func (e endpoint) Path() string {
	i := strings.Index(e.URL, "/in/")
	if i < 0 {
		return e.URL
	}
	return e.URL[i:]
}

func (h *hooklog) addEndpoint(name, secret string) (endpoint, error) {
	out, err := h.run("endpoint", "add", "--merchant", merchant, "--name", name, "--provider", "stripe", "--secret", secret, "--json")
	if err != nil {
		return endpoint{}, err
	}
	var e endpoint
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		return endpoint{}, fmt.Errorf("endpoint add: %q: %w", out, err)
	}
	return e, nil
}

func (h *hooklog) addToken() (string, error) {
	out, err := h.run("token", "add", "--merchant", merchant, "--role", "support", "--name", "bench")
	return strings.TrimSpace(out), err
}

// start runs `hooklog serve`, waits until /healthz answers, and samples its memory until stop.
func (h *hooklog) start() error {
	f, err := os.OpenFile(h.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	h.logFile = f
	h.cmd = exec.Command(h.bin, "serve")
	h.cmd.Dir, h.cmd.Env = h.dataDir, h.env()
	h.cmd.Stdout, h.cmd.Stderr = f, f
	if err := h.cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("hooklog serve: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- h.cmd.Wait() }()
	h.stopRSS, h.rssDone = make(chan struct{}), make(chan struct{})
	go h.sampleRSS(exited)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + h.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-h.rssDone:
			return fmt.Errorf("hooklog serve exited at start; see %s", h.logPath)
		case <-time.After(50 * time.Millisecond):
		}
	}
	h.stop()
	return fmt.Errorf("hooklog serve did not answer /healthz within 60s; see %s", h.logPath)
}

// sampleRSS reads the server's peak resident set (VmHWM) every 100 ms until it stops.
func (h *hooklog) sampleRSS(exited <-chan error) {
	defer close(h.rssDone)
	status := fmt.Sprintf("/proc/%d/status", h.cmd.Process.Pid)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if hwm, err := readVmHWM(status); err == nil {
			h.mu.Lock()
			h.peakRSS = max(h.peakRSS, hwm)
			h.mu.Unlock()
		}
		select {
		case <-h.stopRSS:
			<-exited
			return
		case <-exited:
			return
		case <-t.C:
		}
	}
}

// readVmHWM returns the VmHWM line of /proc/<pid>/status in bytes.
func readVmHWM(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM")
}

// PeakRSS is the largest resident set the server has had so far, in bytes.
func (h *hooklog) PeakRSS() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peakRSS
}

// stop asks the server to shut down (SIGTERM) and waits for it; after 60 s it is killed.
func (h *hooklog) stop() {
	if h.cmd == nil || h.cmd.Process == nil {
		return
	}
	if hwm, err := readVmHWM(fmt.Sprintf("/proc/%d/status", h.cmd.Process.Pid)); err == nil {
		h.mu.Lock()
		h.peakRSS = max(h.peakRSS, hwm)
		h.mu.Unlock()
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.rssDone:
	case <-time.After(60 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.rssDone
	}
	close(h.stopRSS)
	h.logFile.Close()
	h.cmd = nil
}

// api calls the JSON API with the bench's token.
func (h *hooklog) api(ctx context.Context, token, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.addr+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// instances are the hooklog servers of one run, sharing one database: one on SQLite, any number
// on PostgreSQL. The first runs the CLI commands and answers the bench's API calls.
type instances []*hooklog

// newInstances prepares n servers under tmp: on SQLite one data directory holds the database; on
// PostgreSQL every instance gets pg's database, one secret key and one admin password, as
// instances behind a load balancer would.
func newInstances(bin, tmp string, n int, pg *pgDatabase) (instances, error) {
	if n > 1 && pg == nil {
		return nil, errors.New("several instances need PostgreSQL")
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	var in instances
	for i := range n {
		dir := filepath.Join(tmp, "ingest")
		if n > 1 {
			dir = filepath.Join(tmp, fmt.Sprintf("ingest-%d", i+1))
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		h, err := newHooklog(bin, dir)
		if err != nil {
			return nil, err
		}
		if pg != nil {
			h.database, h.secretKey = pg.DSN, hex.EncodeToString(key)
		}
		if i > 0 {
			h.password = in[0].password
		}
		in = append(in, h)
	}
	return in, nil
}

// addrs are the servers' listen addresses, in order.
func (in instances) addrs() []string {
	out := make([]string, len(in))
	for i, h := range in {
		out[i] = h.addr
	}
	return out
}

// start starts the servers one after another, so the first alone migrates the database and
// bootstraps the admin; if one fails, those already started are stopped.
func (in instances) start() error {
	for i, h := range in {
		if err := h.start(); err != nil {
			in[:i].stop()
			return err
		}
	}
	return nil
}

// stop stops every server that runs, all at once.
func (in instances) stop() {
	var wg sync.WaitGroup
	for _, h := range in {
		wg.Go(h.stop)
	}
	wg.Wait()
}

// peakRSS is each server's largest resident set so far, in bytes.
func (in instances) peakRSS() []int64 {
	out := make([]int64, len(in))
	for i, h := range in {
		out[i] = h.PeakRSS()
	}
	return out
}
