package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary serve the yardsticks when re-executed, as the bench binary does, so
// that TestYardstickProcess runs the real child process.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == yardstickCommand {
		if err := serveYardsticks(os.Args[2:]); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestYardstickProcess starts the yardsticks' own process and sends it requests over loopback: the
// naive receiver answers 200 only for a valid signature and stores what it acknowledged in its
// SQLite file; the trivial receiver answers 200 to anything; Close ends the process.
func TestYardstickProcess(t *testing.T) {
	dir := t.TempDir()
	y, err := startYardsticks(dir, "", 4)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if y.Naive == "" || y.Trivial == "" || y.Naive == y.Trivial {
		t.Fatalf("addresses %+v", y.yardstickAddrs)
	}
	signed, err := buildPool(poolSpec{Host: y.Naive, Path: "/in/naive", Secret: secret, N: 3, Tag: "yardtest00"})
	if err != nil {
		t.Fatal(err)
	}
	forged, err := buildPool(poolSpec{Host: y.Naive, Path: "/in/naive", Secret: "whsec_not_the_secret", N: 1, Tag: "yardtest01"})
	if err != nil {
		t.Fatal(err)
	}
	naive := &conn{addr: y.Naive}
	defer naive.close()
	for i, req := range signed.Reqs {
		if status, err := naive.do(req); err != nil || status != 200 {
			t.Fatalf("signed request %d: status %d, err %v", i, status, err)
		}
	}
	if status, err := naive.do(forged.Reqs[0]); err != nil || status != 401 {
		t.Fatalf("request signed with another secret: status %d, err %v, want 401", status, err)
	}
	trivial := &conn{addr: y.Trivial}
	defer trivial.close()
	if status, err := trivial.do(forged.Reqs[0]); err != nil || status != 200 {
		t.Fatalf("trivial receiver: status %d, err %v", status, err)
	}
	if err := y.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := y.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	db, err := sql.Open("sqlite3", filepath.Join(dir, "naive.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows int
	var body string
	if err := db.QueryRow("SELECT count(*), max(body) FROM naive_deliveries").Scan(&rows, &body); err != nil {
		t.Fatal(err)
	}
	if rows != len(signed.Reqs) || !strings.Contains(body, "yardtest00") {
		t.Errorf("naive receiver stored %d rows (one holding %.40q), want the %d signed ones", rows, body, len(signed.Reqs))
	}
}

// TestTargetsAgainstOwnProcessYardsticks checks that the targets compare hooklog with the
// yardsticks in their own process as well as with those in the bench process, each on its figure.
func TestTargetsAgainstOwnProcessYardsticks(t *testing.T) {
	r := &results{Options: options{Rate: 2000},
		Naive: &loadResult{Rate: 10000}, NaiveOwnProcess: &loadResult{Rate: 5000},
		Ingest: &loadResult{Rate: 6000}, IngestDup: &loadResult{Rate: 5500},
		LatencyCeiling: &loadResult{P99ms: 2}, LatencyCeilingOwnProcess: &loadResult{P99ms: 10},
		LatencyHooklog: &loadResult{P99ms: 20}}
	r.RatioNaive, r.RatioNaiveOwnProcess = 0.6, 1.2
	met := map[string]bool{}
	goals := map[string]string{}
	for _, tg := range checkTargets(r) {
		met[tg.Name], goals[tg.Name] = tg.Met, tg.Goal
	}
	want := map[string]bool{
		"ingest vs naive": false, "ingest vs naive (own process)": true,
		"p99 at 2000/s": false, "p99 at 2000/s (ceiling in own process)": true,
	}
	for name, w := range want {
		got, ok := met[name]
		if !ok {
			t.Errorf("no target %q in %v", name, met)
			continue
		}
		if got != w {
			t.Errorf("target %q met = %v, want %v", name, got, w)
		}
	}
	if g := goals["p99 at 2000/s (ceiling in own process)"]; !strings.Contains(g, "25.00 ms") {
		t.Errorf("own-process p99 goal %q, want 2 x 10 + 5 = 25.00 ms", g)
	}
}
