package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProfileDuring fetches a CPU profile from Go's profiler handler (this test process's own, as
// hooklog's debug_listen serves it) over a run, writes it where -server-profile says, and records it;
// without the flag it does nothing.
func TestProfileDuring(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	h := &hooklog{debugAddr: strings.TrimPrefix(srv.URL, "http://")}
	res := &results{}

	h.profileDuring(options{}, res, "unique", time.Second)()
	if res.ServerProfiles != nil {
		t.Fatalf("profiled without -server-profile: %v", res.ServerProfiles)
	}

	dir := filepath.Join(t.TempDir(), "profiles")
	wait := h.profileDuring(options{ServerProfile: dir}, res, "latency", 1500*time.Millisecond)
	wait()
	path := filepath.Join(dir, "hooklog-latency.cpu.pprof")
	if res.ServerProfiles["latency"] != path {
		t.Fatalf("recorded profiles %v; want latency at %s", res.ServerProfiles, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Errorf("%s is not a gzipped profile: %d bytes starting %x", path, len(b), b[:min(len(b), 4)])
	}

	// A profiler that is not there is reported, not recorded.
	srv.Close()
	delete(res.ServerProfiles, "latency")
	h.profileDuring(options{ServerProfile: dir}, res, "unique", time.Second)()
	if _, ok := res.ServerProfiles["unique"]; ok {
		t.Errorf("recorded a profile the server never gave: %v", res.ServerProfiles)
	}
}
