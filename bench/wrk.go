package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is wrk's own view of the ceiling, to check the bench's generator against.
type wrkResult struct {
	Threads  int     `json:"threads"`
	Conns    int     `json:"connections"`
	Rate     float64 `json:"requests_per_s"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	Errors   int64   `json:"errors"`
	Requests int     `json:"distinct_requests"`
}

// wrkScript replays pre-signed requests from a file (NUL-separated), round and round.
const wrkScript = `local reqs, n, i = {}, 0, 0
local f = assert(io.open(%q, "rb"))
local data = f:read("*a")
f:close()
for r in string.gmatch(data, "([^%%z]+)") do
  n = n + 1
  reqs[n] = r
end
request = function()
  i = i %% n + 1
  return reqs[i]
end
`

// runWrk drives addr with wrk, replaying reqs, and parses its summary.
func runWrk(dir, addr string, reqs [][]byte, threads, conns int, dur time.Duration) (*wrkResult, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "wrk-requests.bin")
	script := filepath.Join(dir, "wrk-replay.lua")
	if err := os.WriteFile(data, bytes.Join(reqs, []byte{0}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(script, []byte(fmt.Sprintf(wrkScript, data)), 0o600); err != nil {
		return nil, err
	}
	out, err := exec.Command(bin, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", int(dur.Seconds())),
		"--latency", "-s", script, "http://"+addr+"/").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	return parseWrk(string(out), threads, conns, len(reqs))
}

var (
	wrkRate    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func parseWrk(out string, threads, conns, n int) (*wrkResult, error) {
	m := wrkRate.FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("wrk: no Requests/sec in:\n%s", out)
	}
	r := &wrkResult{Threads: threads, Conns: conns, Requests: n}
	r.Rate, _ = strconv.ParseFloat(m[1], 64)
	for _, p := range wrkPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		switch p[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if p[1] == "50" {
			r.P50ms = v
		} else {
			r.P99ms = v
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		k, _ := strconv.ParseInt(m[1], 10, 64)
		r.Errors += k
	}
	if m := wrkSockErr.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			k, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			r.Errors += k
		}
	}
	return r, nil
}
