// Command bench measures hooklog against two yardsticks in one run: a trivial receiver (the ceiling
// of this machine and load generator) and a naive honest receiver (verify, then one INSERT per
// request). It measures ingest throughput and latency, event processing, dashboard pages over a
// seeded database of a million deliveries, peak memory and bytes per delivery, prints a table and
// writes the same figures as JSON.
//
//	go run -tags sqlite_fts5 ./bench [-duration 10s] [-scale 1000000] [-json bench-results.json]
//
// With -postgres it runs hooklog, and the naive receiver's INSERTs, on a fresh PostgreSQL database
// instead, with -instances servers sharing it and the load spread over them (the page timings,
// whose seeder writes SQLite, are skipped):
//
//	eval "$(bench/pg-cluster start)"
//	go run -tags sqlite_fts5 ./bench -postgres "$HOOKLOG_BENCH_POSTGRES" -instances 3 -scale 0
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// options are the command line.
type options struct {
	Duration        time.Duration `json:"duration"`
	LatencyDuration time.Duration `json:"latency_duration"`
	Conns           int           `json:"connections"`
	Rate            int           `json:"latency_rate"`
	Pool            int           `json:"pool"`
	Scale           int           `json:"scale"`
	Orders          int           `json:"scale_orders"`
	Endpoints       int           `json:"scale_endpoints"`
	PageRuns        int           `json:"page_runs"`
	Ingest          bool          `json:"ingest"`
	Wrk             bool          `json:"wrk"`
	DrainTimeout    time.Duration `json:"drain_timeout"`
	Instances       int           `json:"instances"`
	// Postgres is the admin DSN of the PostgreSQL server to run on; it may hold a password.
	Postgres   string `json:"-"`
	JSONPath   string `json:"-"`
	Repo       string `json:"-"`
	Keep       bool   `json:"-"`
	CPUProfile string `json:"-"`
	// ServerProfile is the directory for CPU profiles of the (first) hooklog server; see profileDuring.
	ServerProfile string `json:"-"`
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each throughput run")
	fs.DurationVar(&o.LatencyDuration, "latency-duration", 10*time.Second, "length of each fixed-rate latency run")
	fs.IntVar(&o.Conns, "conns", 32, "connections of the load generator")
	fs.IntVar(&o.Rate, "rate", 2000, "deliveries per second offered in the latency runs")
	fs.IntVar(&o.Pool, "pool", 500000, "most requests pre-built for one throughput run; a run of unique requests ends early if it uses them all")
	fs.IntVar(&o.Scale, "scale", 1000000, "deliveries to seed for the page timings (0 skips them)")
	fs.IntVar(&o.Orders, "scale-orders", 0, "orders the seeded deliveries belong to (default: one for every 10 deliveries)")
	fs.IntVar(&o.Endpoints, "scale-endpoints", 10, "endpoints the seeded deliveries arrive at")
	fs.IntVar(&o.PageRuns, "page-runs", 50, "requests timed per page")
	fs.BoolVar(&o.Ingest, "ingest", true, "run the ingest, latency and processing measurements")
	fs.BoolVar(&o.Wrk, "wrk", true, "also measure the ceiling with wrk, when it is installed")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", 3*time.Minute, "longest wait for the workers to process a run's events")
	fs.StringVar(&o.Postgres, "postgres", "", "run on PostgreSQL: the admin DSN of a server where the bench creates (and at the end drops) a database of its own; bench/pg-cluster starts one")
	fs.IntVar(&o.Instances, "instances", 1, "hooklog servers sharing the database, the load spread over them (more than one needs -postgres)")
	fs.StringVar(&o.JSONPath, "json", "bench-results.json", "where to write the results as JSON")
	fs.StringVar(&o.Repo, "repo", ".", "the hooklog module to build")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary directory (data directories, logs) and the PostgreSQL database")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the bench process itself (generator, receivers, seeding) to this file")
	fs.StringVar(&o.ServerProfile, "server-profile", "", "write CPU profiles of the hooklog server over the unique run and the latency run, taken from its profiler (debug_listen), into this directory")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.Conns < 1 || o.Rate < 1 || o.Pool < 1000 || o.PageRuns < 1 || o.Duration < time.Second || o.LatencyDuration < time.Second {
		return o, fmt.Errorf("-conns, -rate and -page-runs must be positive, -pool at least 1000, durations at least 1s")
	}
	if o.Instances < 1 || o.Instances > o.Conns {
		return o, fmt.Errorf("-instances must be between 1 and -conns")
	}
	if o.Instances > 1 && o.Postgres == "" {
		return o, fmt.Errorf("-instances %d needs -postgres: instances share a PostgreSQL database, never a SQLite file", o.Instances)
	}
	if o.Orders == 0 {
		o.Orders = max(1, o.Scale/10)
	}
	if o.Scale > 0 && (o.Orders < 1 || o.Endpoints < 1 || o.Orders > o.Scale) {
		return o, fmt.Errorf("-scale-orders must be between 1 and -scale, -scale-endpoints at least 1")
	}
	return o, nil
}

// results is everything one run measured; the JSON file holds exactly this.
type results struct {
	Started time.Time `json:"started"`
	CPUs    int       `json:"cpus"`
	Go      string    `json:"go"`
	Options options   `json:"options"`
	Commit  string    `json:"commit,omitempty"`
	// Database is what hooklog ran on, "SQLite" or "PostgreSQL <version>", and Instances how many
	// servers shared it. On PostgreSQL, PostgresDatabase is the run's database and
	// DatabaseSettings the server's durability settings (off would flatter every figure).
	Database         string            `json:"database"`
	Instances        int               `json:"instances"`
	PostgresDatabase string            `json:"postgres_database,omitempty"`
	DatabaseSettings map[string]string `json:"database_settings,omitempty"`
	// LoadAvg is /proc/loadavg at the start and the end: other work on the machine skews every figure.
	LoadAvg  [2]string   `json:"loadavg"`
	Ceiling  *loadResult `json:"ceiling,omitempty"`
	Wrk      *wrkResult  `json:"ceiling_wrk,omitempty"`
	WrkError string      `json:"ceiling_wrk_error,omitempty"`
	// Naive and the ceiling ran inside the bench process, beside the generator; NaiveOwnProcess
	// and LatencyCeilingOwnProcess are the same receivers in a process of their own, as hooklog
	// runs (see yardsticks.go).
	Naive           *loadResult `json:"naive,omitempty"`
	NaiveOwnProcess *loadResult `json:"naive_own_process,omitempty"`
	Ingest          *loadResult `json:"ingest_unique,omitempty"`
	IngestDup       *loadResult `json:"ingest_5pct_duplicates,omitempty"`
	// Ratios of hooklog's acknowledged/s (unique run) to the yardsticks'.
	RatioNaive           float64            `json:"ratio_to_naive,omitempty"`
	RatioNaiveOwnProcess float64            `json:"ratio_to_naive_own_process,omitempty"`
	RatioCeiling         float64            `json:"ratio_to_ceiling,omitempty"`
	Processing           []processingResult `json:"processing,omitempty"`
	LatencyCeiling       *loadResult        `json:"latency_ceiling,omitempty"`
	// LatencyCeilingOwnProcess is the trivial receiver's latency in its own process.
	LatencyCeilingOwnProcess *loadResult `json:"latency_ceiling_own_process,omitempty"`
	LatencyHooklog           *loadResult `json:"latency_hooklog,omitempty"`
	// LatencySearchBehind is how many deliveries SQLite's search indexer had yet to index when the
	// latency run ended: what a search at that moment indexes before it answers.
	LatencySearchBehind *int64 `json:"latency_search_index_behind,omitempty"`
	// LatencyBacklog is how many events were still pending or processing when the latency run
	// ended, and LatencyDrainSeconds how long the workers then took to finish them: whether
	// processing keeps up with a steady rate, not only after a burst.
	LatencyBacklog      *int64  `json:"latency_backlog_at_end,omitempty"`
	LatencyDrainSeconds float64 `json:"latency_drain_seconds,omitempty"`
	// LatencyDrainTimedOut says the backlog was not all processed within -drain-timeout.
	LatencyDrainTimedOut bool `json:"latency_drain_timed_out,omitempty"`
	// IngestPeakRSS is the sum of the instances' peaks (IngestPeakRSSEach); they need not have
	// peaked at the same moment.
	IngestPeakRSS     int64          `json:"ingest_peak_rss_bytes,omitempty"`
	IngestPeakRSSEach []int64        `json:"ingest_peak_rss_per_instance_bytes,omitempty"`
	IngestStorage     *storageResult `json:"ingest_storage,omitempty"`
	Scale             *scaleResult   `json:"scale,omitempty"`
	// ScaleSkipped says why the page timings did not run.
	ScaleSkipped string `json:"scale_skipped,omitempty"`
	// ServerProfiles are the CPU profiles written with -server-profile, by run.
	ServerProfiles map[string]string `json:"server_profiles,omitempty"`
	Targets        []target          `json:"targets"`
}

// target is one figure of the issue, measured against its goal.
type target struct {
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == yardstickCommand {
		if err := serveYardsticks(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench "+yardstickCommand+":", err)
			os.Exit(1)
		}
		return
	}
	o, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// logf reports progress on stderr; the results go to stdout.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run(o options) error {
	res := &results{Started: time.Now().UTC(), CPUs: runtime.NumCPU(), Go: runtime.Version(), Options: o,
		Database: "SQLite", Instances: o.Instances}
	res.LoadAvg[0] = loadAvg()
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	tmp, err := os.MkdirTemp("", "hooklog-bench-")
	if err != nil {
		return err
	}
	if o.Keep {
		logf("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	repo, err := filepath.Abs(o.Repo)
	if err != nil {
		return err
	}
	res.Commit = commitOf(repo)
	logf("building hooklog from %s (%s)", repo, res.Commit)
	bin, err := buildHooklog(repo, tmp)
	if err != nil {
		return err
	}
	var pg *pgDatabase
	if o.Postgres != "" && o.Ingest {
		if pg, err = createPostgres(o.Postgres, benchDatabaseName(res.Started)); err != nil {
			return err
		}
		if o.Keep {
			logf("keeping database %s", pg.Name)
		} else {
			defer func() {
				if err := pg.drop(); err != nil {
					logf("%v", err)
				}
			}()
		}
		res.Database, res.PostgresDatabase, res.DatabaseSettings = "PostgreSQL "+pg.Version, pg.Name, pg.Settings
		logf("database %s on %s (%s)", pg.Name, res.Database, settingsLine(pg.Settings))
		if f := pg.Flattering(); f != "" {
			logf("WARNING: the server runs with %s, so its figures overstate a durable deployment", f)
		}
	}
	if o.Ingest {
		if err := runIngest(o, tmp, bin, pg, res); err != nil {
			return err
		}
	}
	if o.Scale > 0 && o.Postgres != "" {
		res.ScaleSkipped = "the seeder writes a SQLite file directly, so the page timings at scale run only without -postgres"
		logf("scale: skipped on PostgreSQL: %s", res.ScaleSkipped)
	} else if o.Scale > 0 {
		sr, err := runScale(o, tmp, bin)
		if err != nil {
			return err
		}
		res.Scale = sr
	}
	res.LoadAvg[1] = loadAvg()
	res.Targets = checkTargets(res)
	printTable(os.Stdout, res)
	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.JSONPath, append(raw, '\n'), 0o644); err != nil {
		return err
	}
	logf("wrote %s", o.JSONPath)
	return nil
}

// secret is the Stripe signing secret of every benchmark endpoint.
const secret = "whsec_benchmarkbenchmarkbenchmark0123"

// runIngest measures the yardsticks and hooklog's ingest, processing and latency: on SQLite, or with
// pg on PostgreSQL with o.Instances servers sharing it.
func runIngest(o options, tmp, bin string, pg *pgDatabase, res *results) error {
	trivial, err := startTrivial()
	if err != nil {
		return err
	}
	defer trivial.Close()

	// The ceiling: the trivial receiver ignores what it reads, so one pool serves round and round.
	logf("ceiling: building %d requests", min(o.Pool, 100000))
	cp, err := buildPool(poolSpec{Host: trivial.Addr, Path: "/in/ceiling", Secret: secret, N: min(o.Pool, 100000), Tag: "ceiling000"})
	if err != nil {
		return err
	}
	closedLoop("warm-up", trivial.Addr, cp.Reqs, o.Conns, time.Second, true)
	logf("ceiling: %s at c=%d", o.Duration, o.Conns)
	c := closedLoop("ceiling", trivial.Addr, cp.Reqs, o.Conns, o.Duration, true)
	res.Ceiling = &c
	logLoad(c)
	if o.Wrk {
		logf("ceiling: wrk, %s at c=%d", o.Duration, o.Conns)
		w, err := runWrk(tmp, trivial.Addr, cp.Reqs[:min(len(cp.Reqs), 10000)], runtime.NumCPU(), o.Conns, o.Duration)
		if err != nil {
			res.WrkError = err.Error()
			logf("wrk: %v", err)
		} else {
			logf("  wrk: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors", w.Rate, w.P50ms, w.P99ms, w.Errors)
		}
		res.Wrk = w
	}
	cp = nil

	if err := runNaive(o, tmp, pg, c.Rate, res); err != nil {
		return err
	}
	own, err := startOwnYardsticks(o, tmp, pg)
	if err != nil {
		return err
	}
	defer own.Close()
	n, err := measureNaive(o, own.Naive, "naive (own process)", "naivewarm1", "naiveproc0", c.Rate, res.Database)
	if err != nil {
		return err
	}
	res.NaiveOwnProcess = &n
	// The ceiling's latency below saturation, in both places, before hooklog starts, so that nothing
	// of hooklog's runs beside it: an idle server still merges its search index and trims its heap
	// after a burst. (Measured after hooklog's runs instead, the p99s were much the same: 2-7 ms in
	// the bench process, 6-14 ms in its own; alone on a quiet machine the in-process ceiling's p99
	// is about 1.3 ms, so the rest is the bench process itself or the machine.)
	count := o.Rate * int(o.LatencyDuration/time.Second)
	logf("latency: %d/s for %s to the ceiling, in the bench process and in its own", o.Rate, o.LatencyDuration)
	for _, l := range []struct {
		name, addr, tag string
		out             **loadResult
	}{
		{"ceiling", trivial.Addr, "latceiling", &res.LatencyCeiling},
		{"ceiling (own process)", own.Trivial, "latceilown", &res.LatencyCeilingOwnProcess},
	} {
		lp, err := buildPool(poolSpec{Host: l.addr, Path: "/in/ceiling", Secret: secret, N: max(count, 1000), Tag: l.tag})
		if err != nil {
			return err
		}
		lr := openLoop(l.name, []string{l.addr}, lp.Reqs, o.Conns, o.Rate, o.LatencyDuration)
		*l.out = &lr
		logLoad(lr)
	}
	if err := own.Close(); err != nil {
		return fmt.Errorf("yardstick process: %w", err)
	}

	// hooklog itself.
	servers, err := newInstances(bin, tmp, o.Instances, pg)
	if err != nil {
		return err
	}
	h := servers[0]
	ep, err := h.addEndpoint("Stripe", secret)
	if err != nil {
		return err
	}
	token, err := h.addToken()
	if err != nil {
		return err
	}
	if o.ServerProfile != "" {
		if err := h.enableProfiler(); err != nil {
			return err
		}
	}
	addrs, name := servers.addrs(), hooklogName(o.Instances)
	logf("%s: serving on %s, %s, data directories under %s", name, strings.Join(addrs, " "), res.Database, tmp)
	if err := servers.start(); err != nil {
		return err
	}
	defer servers.stop()
	var w *watcher
	if pg != nil {
		w, err = openPostgresWatcher(pg.DSN)
	} else {
		w, err = openWatcher(filepath.Join(h.dataDir, "hooklog.db"))
	}
	if err != nil {
		return err
	}
	defer w.Close()
	if err := warmUp(addrs, ep.Path(), "hookwarm00", o.Conns); err != nil {
		return err
	}
	if _, _, err := h.waitDrained(w, token, o.DrainTimeout); err != nil {
		return err
	}

	runs := []struct {
		name, tag string
		dup       float64
		out       **loadResult
	}{
		{"unique", "unique0000", 0, &res.Ingest},
		{"5% duplicates", "duplicate0", 0.05, &res.IngestDup},
	}
	for _, r := range runs {
		// Three times the naive receiver's rate is room enough; a run that uses it all up says so.
		size := poolSize(o, 3*res.Naive.Rate)
		logf("%s %s: building %d requests", name, r.name, size)
		p, err := buildPool(poolSpec{Host: h.addr, Path: ep.Path(), Secret: secret, N: size, Tag: r.tag, DupShare: r.dup})
		if err != nil {
			return err
		}
		logf("%s %s: %s at c=%d, then waiting for processing", name, r.name, o.Duration, o.Conns)
		lr, pr, err := measureProcessing(h, w, token, r.name, o.DrainTimeout, func() loadResult {
			if r.dup == 0 {
				defer h.profileDuring(o, res, "unique", o.Duration)()
			}
			return closedLoopSpread(name+" "+r.name, addrs, p.Reqs, o.Conns, o.Duration, false)
		})
		if err != nil {
			return err
		}
		*r.out = &lr
		res.Processing = append(res.Processing, pr)
		logLoad(lr)
		logf("  processing: arrival %.0f/s, during the run %.0f/s, backlog %d drained in %.1fs (%.0f/s), overall %.0f/s = %.2fx arrival%s",
			pr.ArrivalRate, pr.DuringRate, pr.BacklogAtEnd, pr.DrainSeconds, pr.DrainRate, pr.OverallRate, pr.Ratio, timedOut(pr))
		if pr.SearchCaughtUpSeconds > 0 {
			logf("  search index: %d deliveries behind when the run ended, all indexed %.1fs later", pr.SearchBehindAtEnd, pr.SearchCaughtUpSeconds)
		}
	}
	if res.Naive.Rate > 0 {
		res.RatioNaive = res.Ingest.Rate / res.Naive.Rate
	}
	if res.NaiveOwnProcess.Rate > 0 {
		res.RatioNaiveOwnProcess = res.Ingest.Rate / res.NaiveOwnProcess.Rate
	}
	if res.Ceiling.Rate > 0 {
		res.RatioCeiling = res.Ingest.Rate / res.Ceiling.Rate
	}

	// Latency below saturation, open loop (the ceilings were measured before hooklog started).
	logf("latency: %d/s for %s to %s", o.Rate, o.LatencyDuration, name)
	lp, err := buildPool(poolSpec{Host: h.addr, Path: ep.Path(), Secret: secret, N: max(count, 1000), Tag: "lathooklog"})
	if err != nil {
		return err
	}
	profiled := h.profileDuring(o, res, "latency", o.LatencyDuration)
	lh := openLoop(name, addrs, lp.Reqs, o.Conns, o.Rate, o.LatencyDuration)
	profiled()
	res.LatencyHooklog = &lh
	logLoad(lh)
	backlog, err := w.backlog()
	if err != nil {
		return err
	}
	res.LatencyBacklog = &backlog
	if n, ok := w.searchBehind(); ok {
		res.LatencySearchBehind = &n
		logf("  search index: %d deliveries behind when the run ended", n)
	}
	took, drained, err := h.waitDrained(w, token, o.DrainTimeout)
	if err != nil {
		return err
	}
	res.LatencyDrainSeconds, res.LatencyDrainTimedOut = took.Seconds(), !drained
	if drained {
		logf("  processing: %d events not yet processed when the run ended, all processed %.1fs later", backlog, took.Seconds())
	} else {
		logf("  processing: %d events not yet processed when the run ended, still not all processed %.0fs later", backlog, took.Seconds())
	}

	w.Close()
	servers.stop()
	res.IngestPeakRSSEach = servers.peakRSS()
	for _, b := range res.IngestPeakRSSEach {
		res.IngestPeakRSS += b
	}
	var st storageResult
	if pg != nil {
		st, err = measurePostgresStorage(pg.DSN)
	} else {
		st, err = measureStorage(filepath.Join(h.dataDir, "hooklog.db"))
	}
	if err != nil {
		return err
	}
	res.IngestStorage = &st
	return nil
}

// runNaive measures the naive receiver, on the database hooklog runs on: a SQLite file of its own,
// or a table in pg's database (dropped afterwards). ceiling is the trivial receiver's rate, which
// the naive receiver cannot beat, to size its pool.
func runNaive(o options, tmp string, pg *pgDatabase, ceiling float64, res *results) error {
	naive, err := openNaive(filepath.Join(tmp, "naive"), pgDSN(pg), o.Conns)
	if err != nil {
		return err
	}
	defer naive.Close()
	n, err := measureNaive(o, naive.Addr, "naive", "naivewarm0", "naive00000", ceiling, res.Database)
	if err != nil {
		return err
	}
	res.Naive = &n
	return naive.Close()
}

// startOwnYardsticks starts the yardsticks' own process (see yardsticks.go), its naive receiver on
// a SQLite file of its own or a table in pg's database.
func startOwnYardsticks(o options, tmp string, pg *pgDatabase) (*yardstickProcess, error) {
	return startYardsticks(filepath.Join(tmp, "naive-own-process"), pgDSN(pg), o.Conns)
}

// pgDSN is pg's DSN, or "" without PostgreSQL.
func pgDSN(pg *pgDatabase) string {
	if pg == nil {
		return ""
	}
	return pg.DSN
}

// measureNaive warms up the naive receiver at addr and measures it at c=o.Conns for o.Duration.
func measureNaive(o options, addr, name, warmTag, tag string, ceiling float64, database string) (loadResult, error) {
	if err := warmUp([]string{addr}, "/in/naive", warmTag, o.Conns); err != nil {
		return loadResult{}, err
	}
	size := poolSize(o, ceiling)
	logf("%s: building %d requests", name, size)
	np, err := buildPool(poolSpec{Host: addr, Path: "/in/naive", Secret: secret, N: size, Tag: tag})
	if err != nil {
		return loadResult{}, err
	}
	logf("%s: %s at c=%d on %s", name, o.Duration, o.Conns, database)
	n := closedLoop(name, addr, np.Reqs, o.Conns, o.Duration, false)
	logLoad(n)
	return n, nil
}

// hooklogName names hooklog in the results: "hooklog", or "hooklog x3" for three instances.
func hooklogName(instances int) string {
	if instances == 1 {
		return "hooklog"
	}
	return fmt.Sprintf("hooklog x%d", instances)
}

// logLoad reports a run's figures as soon as it ends.
func logLoad(l loadResult) {
	logf("  %s: %.0f ack/s, p50 %.2f ms, p99 %.2f ms, %d errors %v", l.Target, l.Rate, l.P50ms, l.P99ms, l.Errors(), l.Statuses)
}

func timedOut(p processingResult) string {
	if p.TimedOut {
		return " (NOT drained within -drain-timeout)"
	}
	return ""
}

// poolSize is how many requests to pre-build for a run expected to go no faster than rate: at most
// -pool, at least 20,000.
func poolSize(o options, rate float64) int {
	return min(o.Pool, max(20000, int(rate*o.Duration.Seconds()*1.2)))
}

// warmUp sends 2,000 unique requests, spread over addrs, so connections, caches and the database
// are warm before a measured run.
func warmUp(addrs []string, path, tag string, conns int) error {
	p, err := buildPool(poolSpec{Host: addrs[0], Path: path, Secret: secret, N: 2000, Tag: tag})
	if err != nil {
		return err
	}
	r := closedLoopSpread("warm-up", addrs, p.Reqs, conns, 30*time.Second, false)
	if r.Errors() > 0 {
		return fmt.Errorf("warm-up of %s: %d of %d requests failed (statuses %v, first error %q)",
			strings.Join(addrs, " "), r.Errors(), r.Sent, r.Statuses, r.FirstErr)
	}
	return nil
}

func checkTargets(r *results) []target {
	var ts []target
	add := func(name, goal, measured string, met bool) {
		ts = append(ts, target{Name: name, Goal: goal, Measured: measured, Met: met})
	}
	if r.Ingest != nil && r.Naive != nil {
		errs := r.Ingest.Errors() + r.IngestDup.Errors()
		add("ingest vs naive", ">= 1.0x, 0 errors", fmt.Sprintf("%.2fx, %d errors", r.RatioNaive, errs), r.RatioNaive >= 1 && errs == 0)
		if r.NaiveOwnProcess != nil {
			add("ingest vs naive (own process)", ">= 1.0x, 0 errors", fmt.Sprintf("%.2fx, %d errors", r.RatioNaiveOwnProcess, errs),
				r.RatioNaiveOwnProcess >= 1 && errs == 0)
		}
	}
	for _, c := range []struct {
		name    string
		ceiling *loadResult
	}{{"", r.LatencyCeiling}, {" (ceiling in own process)", r.LatencyCeilingOwnProcess}} {
		if r.LatencyHooklog == nil || c.ceiling == nil {
			continue
		}
		limit := 2*c.ceiling.P99ms + 5
		add(fmt.Sprintf("p99 at %d/s%s", r.Options.Rate, c.name), fmt.Sprintf("<= 2x ceiling + 5 ms = %.2f ms", limit),
			fmt.Sprintf("%.2f ms", r.LatencyHooklog.P99ms), r.LatencyHooklog.P99ms <= limit && r.LatencyHooklog.Errors() == 0)
	}
	for _, p := range r.Processing {
		add("processing ("+p.Run+")", ">= 0.5x arrival", fmt.Sprintf("%.2fx (%.0f/s vs %.0f/s)", p.Ratio, p.OverallRate, p.ArrivalRate), p.Ratio >= 0.5 && !p.TimedOut)
	}
	if s := r.Scale; s != nil {
		var worstPage, worstSearch pageResult
		for _, p := range s.Pages {
			if p.Search {
				if p.P95ms >= worstSearch.P95ms {
					worstSearch = p
				}
			} else if p.P95ms >= worstPage.P95ms {
				worstPage = p
			}
		}
		pagesOK, searchOK := worstPage.P95ms < 50 && worstPage.Errors == 0, worstSearch.P95ms < 100 && worstSearch.Errors == 0
		for _, p := range s.Pages {
			if p.Errors > 0 {
				if p.Search {
					searchOK = false
				} else {
					pagesOK = false
				}
			}
		}
		n := human(int64(s.Deliveries))
		add("pages p95 at "+n, "< 50 ms", fmt.Sprintf("worst %.1f ms (%s)", worstPage.P95ms, worstPage.Name), pagesOK)
		add("search p95 at "+n, "< 100 ms", fmt.Sprintf("worst %.1f ms (%s)", worstSearch.P95ms, worstSearch.Name), searchOK)
	}
	peak := scaleRSS(r.Scale)
	for _, b := range r.IngestPeakRSSEach {
		peak = max(peak, b)
	}
	if peak > 0 {
		name := "peak RSS"
		if r.Instances > 1 {
			name = "peak RSS per instance"
		}
		add(name, "< 150 MB", fmt.Sprintf("%.1f MB", float64(peak)/(1<<20)), peak < 150<<20)
	}
	for _, st := range []struct {
		name string
		s    *storageResult
	}{{"ingest", r.IngestStorage}, {"scale", scaleStorage(r.Scale)}} {
		if st.s == nil {
			continue
		}
		add("bytes/delivery ("+st.name+")", "< 3072 incl. search index",
			fmt.Sprintf("%.0f (%.0f without index; bodies %.0f)", st.s.PerDelivery, st.s.PerDeliveryNoIndex, st.s.AvgBodyBytes), st.s.PerDelivery < 3072)
	}
	return ts
}

func scaleRSS(s *scaleResult) int64 {
	if s == nil {
		return 0
	}
	return s.PeakRSS
}

func scaleStorage(s *scaleResult) *storageResult {
	if s == nil {
		return nil
	}
	return s.Storage
}

// printTable writes the results for people.
func printTable(out io.Writer, r *results) {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "hooklog bench  %s  commit %s  %d CPUs  %s  load average %s at start, %s at end\n",
		r.Started.Format(time.RFC3339), r.Commit, r.CPUs, r.Go, r.LoadAvg[0], r.LoadAvg[1])
	fmt.Fprintf(tw, "database %s", r.Database)
	if r.PostgresDatabase != "" {
		fmt.Fprintf(tw, " (%s; %s)", r.PostgresDatabase, settingsLine(r.DatabaseSettings))
	}
	if r.Instances > 1 {
		fmt.Fprintf(tw, ", %d hooklog instances, the generator's connections spread round-robin over them\n\n", r.Instances)
	} else {
		fmt.Fprintf(tw, ", 1 hooklog instance\n\n")
	}
	if r.Ceiling != nil {
		fmt.Fprintf(tw, "THROUGHPUT (closed loop)\tconns\tack/s\tp50 ms\tp99 ms\terrors\tnote\n")
		row := func(name string, l *loadResult, note string) {
			if l == nil {
				return
			}
			if l.Exhausted {
				note = strings.TrimSpace(note + " (pool used up: raise -pool)")
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.2f\t%.2f\t%d\t%s\n", name, l.Conns, human(int64(l.Rate)), l.P50ms, l.P99ms, l.Errors(), note)
		}
		row("ceiling: trivial receiver", r.Ceiling, "bench generator")
		if r.Wrk != nil {
			fmt.Fprintf(tw, "ceiling: trivial receiver\t%d\t%s\t%.2f\t%.2f\t%d\twrk -t%d, %d requests replayed\n",
				r.Wrk.Conns, human(int64(r.Wrk.Rate)), r.Wrk.P50ms, r.Wrk.P99ms, r.Wrk.Errors, r.Wrk.Threads, r.Wrk.Requests)
		}
		row("naive: verify + INSERT", r.Naive, "on "+strings.Fields(r.Database)[0]+", in the bench process")
		row("naive: verify + INSERT", r.NaiveOwnProcess, "on "+strings.Fields(r.Database)[0]+", own process (as hooklog)")
		name := hooklogName(r.Instances)
		note := fmt.Sprintf("%.2fx naive, %.2fx ceiling", r.RatioNaive, r.RatioCeiling)
		if r.NaiveOwnProcess != nil {
			note = fmt.Sprintf("%.2fx naive, %.2fx naive (own process), %.2fx ceiling", r.RatioNaive, r.RatioNaiveOwnProcess, r.RatioCeiling)
		}
		row(name+": unique", r.Ingest, note)
		if r.IngestDup != nil && r.Naive != nil && r.Naive.Rate > 0 {
			note := fmt.Sprintf("%.2fx naive", r.IngestDup.Rate/r.Naive.Rate)
			if r.NaiveOwnProcess != nil && r.NaiveOwnProcess.Rate > 0 {
				note += fmt.Sprintf(", %.2fx naive (own process)", r.IngestDup.Rate/r.NaiveOwnProcess.Rate)
			}
			row(name+": 5% duplicates", r.IngestDup, note)
		}
		fmt.Fprintln(tw)
	}
	if r.LatencyCeiling != nil {
		fmt.Fprintf(tw, "LATENCY (open loop, %d/s offered)\tconns\tack/s\tp50 ms\tp99 ms\terrors\tmax ms\n", r.Options.Rate)
		for _, l := range []*loadResult{r.LatencyCeiling, r.LatencyCeilingOwnProcess, r.LatencyHooklog} {
			if l == nil {
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.2f\t%.2f\t%d\t%.2f\n", l.Target, l.Conns, human(int64(l.Rate)), l.P50ms, l.P99ms, l.Errors(), l.Maxms)
		}
		if r.LatencySearchBehind != nil {
			fmt.Fprintf(tw, "(search index %s deliveries behind when the run ended)\n", human(*r.LatencySearchBehind))
		}
		if r.LatencyBacklog != nil {
			drain := fmt.Sprintf("all processed %.1fs later", r.LatencyDrainSeconds)
			if r.LatencyDrainTimedOut {
				drain = fmt.Sprintf("not all processed within -drain-timeout (%.0fs)", r.LatencyDrainSeconds)
			}
			fmt.Fprintf(tw, "(events not yet processed when the run ended: %s, %s)\n", human(*r.LatencyBacklog), drain)
		}
		fmt.Fprintln(tw)
	}
	if len(r.Processing) > 0 {
		fmt.Fprintf(tw, "PROCESSING\tarrival/s\tduring run/s\tbacklog\tdrain s\tdrain/s\toverall/s\tratio\tnote\n")
		for _, p := range r.Processing {
			var notes []string
			if p.TimedOut {
				notes = append(notes, "not drained within -drain-timeout")
			}
			if p.SearchCaughtUpSeconds > 0 {
				notes = append(notes, fmt.Sprintf("search index %d behind at the end, caught up %.1fs later", p.SearchBehindAtEnd, p.SearchCaughtUpSeconds))
			}
			note := strings.Join(notes, "; ")
			fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%d\t%.1f\t%.0f\t%.0f\t%.2f\t%s\n", p.Run, p.ArrivalRate, p.DuringRate, p.BacklogAtEnd,
				p.DrainSeconds, p.DrainRate, p.OverallRate, p.Ratio, note)
		}
		fmt.Fprintln(tw)
	}
	if s := r.Scale; s != nil {
		fmt.Fprintf(tw, "PAGES (%s deliveries, %s orders, seeded in %.0fs)\trequests\tp50 ms\tp95 ms\tmax ms\terrors\tbytes\tnote\n",
			human(int64(s.Deliveries)), human(int64(s.Orders)), s.SeedSeconds)
		for _, p := range s.Pages {
			note := ""
			if p.Empty > 0 {
				note = fmt.Sprintf("%d searches found nothing", p.Empty)
			}
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%d\t%s\t%s\n", p.Name, p.Requests, p.P50ms, p.P95ms, p.Maxms, p.Errors, human(p.Bytes), note)
		}
		fmt.Fprintln(tw)
	}
	if r.ScaleSkipped != "" {
		fmt.Fprintf(tw, "PAGES\tskipped: %s\n\n", r.ScaleSkipped)
	}
	fmt.Fprintf(tw, "MEMORY AND STORAGE\tvalue\n")
	switch {
	case len(r.IngestPeakRSSEach) > 1:
		each := make([]string, len(r.IngestPeakRSSEach))
		for i, b := range r.IngestPeakRSSEach {
			each[i] = fmt.Sprintf("%.1f", float64(b)/(1<<20))
		}
		fmt.Fprintf(tw, "peak RSS, %d ingest servers\t%.1f MB in all (%s MB; each its own peak)\n", len(each),
			float64(r.IngestPeakRSS)/(1<<20), strings.Join(each, " + "))
	case r.IngestPeakRSS > 0:
		fmt.Fprintf(tw, "peak RSS, ingest server\t%.1f MB\n", float64(r.IngestPeakRSS)/(1<<20))
	}
	if s := r.Scale; s != nil {
		fmt.Fprintf(tw, "peak RSS, page server at %s\t%.1f MB\n", human(int64(s.Deliveries)), float64(s.PeakRSS)/(1<<20))
	}
	for _, st := range []struct {
		name string
		s    *storageResult
	}{{"ingest database", r.IngestStorage}, {"seeded database", scaleStorage(r.Scale)}} {
		if st.s == nil {
			continue
		}
		fmt.Fprintf(tw, "%s: %s deliveries, %s\t%.0f B/delivery, %.0f without search index (%s, %s); bodies avg %.0f B\n",
			st.name, human(st.s.Deliveries), humanBytes(st.s.FileBytes), st.s.PerDelivery, st.s.PerDeliveryNoIndex,
			humanBytes(st.s.SearchBytes), st.s.SearchMethod, st.s.AvgBodyBytes)
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "TARGETS\tgoal\tmeasured\tmet\n")
	for _, t := range r.Targets {
		met := "no"
		if t.Met {
			met = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Goal, t.Measured, met)
	}
	tw.Flush()
}

// settingsLine writes the PostgreSQL settings the results report, in a fixed order.
func settingsLine(settings map[string]string) string {
	var parts []string
	for _, name := range durabilitySettings {
		if v, ok := settings[name]; ok {
			parts = append(parts, name+" "+v)
		}
	}
	return strings.Join(parts, ", ")
}

// commitOf names the work tree's commit, with "+dirty" when it has changes.
func commitOf(repo string) string {
	out, err := exec.Command("git", "-C", repo, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", repo, "status", "--porcelain").Output(); err == nil && len(st) > 0 {
		c += "+dirty"
	}
	return c
}

// loadAvg is the first three fields of /proc/loadavg.
func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	return strings.Join(f[:min(3, len(f))], " ")
}

// human writes n with thousands separators.
func human(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
}
