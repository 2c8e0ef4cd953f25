package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// enableProfiler makes the server, when it starts, serve Go's profiler (debug_listen) on a free
// loopback port.
func (h *hooklog) enableProfiler() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	h.debugAddr = "127.0.0.1:" + strconv.Itoa(port)
	return nil
}

// profileDuring starts a CPU profile of the server over the next d (whole seconds, at least one)
// when -server-profile asks for one, and returns the function that waits for it and records where
// it was written. The profile is the server's own: where hooklog spends its CPU under the run's load,
// without the generator beside it, which a profile of an in-process benchmark mixes in.
func (h *hooklog) profileDuring(o options, res *results, run string, d time.Duration) (wait func()) {
	if o.ServerProfile == "" || h.debugAddr == "" {
		return func() {}
	}
	path := filepath.Join(o.ServerProfile, "hooklog-"+run+".cpu.pprof")
	done := make(chan error, 1)
	go func() { done <- h.fetchProfile(path, max(int(d/time.Second), 1)) }()
	return func() {
		if err := <-done; err != nil {
			logf("  server CPU profile of the %s run: %v", run, err)
			return
		}
		if res.ServerProfiles == nil {
			res.ServerProfiles = map[string]string{}
		}
		res.ServerProfiles[run] = path
		logf("  server CPU profile of the %s run: %s (go tool pprof -top %s)", run, path, path)
	}
}

// fetchProfile writes the server's CPU profile over the next seconds to path.
func (h *hooklog) fetchProfile(path string, seconds int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	client := &http.Client{Timeout: time.Duration(seconds)*time.Second + 30*time.Second}
	resp, err := client.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", h.debugAddr, seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("profiler answered %s: %s", resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
