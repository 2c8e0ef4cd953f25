package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one persistent HTTP/1.1 connection that sends pre-built requests and reads the answers.
type conn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
	// deadline is when the connection's I/O deadline runs out; it is moved forward at most once a
	// second, since setting it on every request costs a timer update each time.
	deadline time.Time
}

// timeout bounds one request, so a stalled server shows up as errors rather than a hung run.
const timeout = 30 * time.Second

// do sends one request and reads its response; on any error the connection is dropped and the next
// request dials again.
func (c *conn) do(req []byte) (int, error) {
	if c.c == nil {
		nc, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return 0, err
		}
		c.c = nc
		if c.r == nil {
			c.r = bufio.NewReaderSize(nc, 16<<10)
		} else {
			c.r.Reset(nc)
		}
	}
	if now := time.Now(); c.deadline.Sub(now) < timeout-time.Second {
		c.deadline = now.Add(timeout)
		_ = c.c.SetDeadline(c.deadline)
	}
	if _, err := c.c.Write(req); err != nil {
		c.close()
		return 0, err
	}
	status, keepAlive, err := readResponse(c.r)
	if err != nil || !keepAlive {
		c.close()
	}
	return status, err
}

func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
		c.deadline = time.Time{}
	}
}

var errMalformed = errors.New("malformed HTTP response")

// readResponse reads one HTTP/1.1 response: the status line, the headers it needs (Content-Length,
// Transfer-Encoding, Connection) and the body, which it discards. keepAlive is false when the
// server closes the connection after this response.
func readResponse(r *bufio.Reader) (status int, keepAlive bool, err error) {
	line, err := readLine(r)
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	keepAlive = line[7] == '1'
	length, chunked := int64(-1), false
	for {
		line, err = readLine(r)
		if err != nil {
			return status, false, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return status, false, fmt.Errorf("%w: header %q", errMalformed, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length, err = strconv.ParseInt(string(value), 10, 64)
			if err != nil || length < 0 {
				return status, false, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keepAlive = false
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				keepAlive = true
			}
		}
	}
	switch {
	case status/100 == 1 || status == 204 || status == 304:
		return status, keepAlive, nil
	case chunked:
		return status, keepAlive, discardChunks(r)
	case length >= 0:
		_, err = r.Discard(int(length))
		return status, keepAlive, err
	default:
		// No length: the body runs to the end of the connection.
		_, err = io.Copy(io.Discard, r)
		return status, false, err
	}
}

// readLine returns one line without its CRLF; a line longer than the buffer is cut to what fits.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		line = append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

func discardChunks(r *bufio.Reader) error {
	for {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if n == 0 {
			for { // trailers, up to the blank line
				line, err := readLine(r)
				if err != nil || len(line) == 0 {
					return err
				}
			}
		}
		if _, err := r.Discard(int(n)); err != nil {
			return err
		}
		if line, err := readLine(r); err != nil || len(line) != 0 {
			return fmt.Errorf("%w: chunk not followed by CRLF", errMalformed)
		}
	}
}

// loadResult is what one load run measured.
type loadResult struct {
	Target   string  `json:"target"`
	Mode     string  `json:"mode"` // "closed" (as fast as answered) or "open" (fixed rate)
	Conns    int     `json:"connections"`
	Offered  float64 `json:"offered_per_s,omitempty"`
	Sent     int64   `json:"sent"`
	OK       int64   `json:"acknowledged"`
	Non2xx   int64   `json:"non_2xx"`
	SockErrs int64   `json:"socket_errors"`
	Seconds  float64 `json:"seconds"`
	Rate     float64 `json:"acknowledged_per_s"`
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	Maxms    float64 `json:"max_ms"`
	// Exhausted is true when a run of unique requests used its whole pool before its time was up.
	Exhausted bool           `json:"pool_exhausted,omitempty"`
	Statuses  map[string]int `json:"statuses,omitempty"`
	FirstErr  string         `json:"first_error,omitempty"`
}

// Errors is every request that did not get a 2xx answer.
func (r loadResult) Errors() int64 { return r.Non2xx + r.SockErrs }

// tally is one connection's counts; merged at the end, so the hot path shares nothing.
type tally struct {
	lat      []time.Duration
	statuses map[int]int
	sock     int64
	firstErr error
}

func (t *tally) record(status int, err error, lat time.Duration) {
	if err != nil {
		t.sock++
		if t.firstErr == nil {
			t.firstErr = err
		}
		return
	}
	t.statuses[status]++
	t.lat = append(t.lat, lat)
}

// spread assigns conns connections to addrs round-robin, as a load balancer would: connection w
// goes to addrs[w % len(addrs)], so no address gets more than one connection more than another.
func spread(addrs []string, conns int) []string {
	out := make([]string, conns)
	for w := range out {
		out[w] = addrs[w%len(addrs)]
	}
	return out
}

// closedLoop keeps conns connections to addr busy for dur: each sends the next request as soon as
// the last one is answered. With cycle the pool is reused round and round (for receivers that
// ignore content); without it, the run ends early when the pool is used up.
func closedLoop(target, addr string, reqs [][]byte, conns int, dur time.Duration, cycle bool) loadResult {
	return closedLoopSpread(target, []string{addr}, reqs, conns, dur, cycle)
}

// closedLoopSpread is closedLoop with the connections spread over several servers; they all draw
// from the one pool, so each request is sent once, to whichever server its connection goes to.
func closedLoopSpread(target string, addrs []string, reqs [][]byte, conns int, dur time.Duration, cycle bool) loadResult {
	connAddrs := spread(addrs, conns)
	var next atomic.Int64
	n := int64(len(reqs))
	tallies := make([]*tally, conns)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(dur)
	var exhausted atomic.Bool
	for w := range conns {
		t := &tally{statuses: map[int]int{}, lat: make([]time.Duration, 0, 1<<14)}
		tallies[w] = t
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &conn{addr: connAddrs[w]}
			defer c.close()
			for {
				sent := time.Now()
				if sent.After(deadline) {
					return
				}
				i := next.Add(1) - 1
				if i >= n {
					if !cycle {
						exhausted.Store(true)
						return
					}
					i %= n
				}
				status, err := c.do(reqs[i])
				t.record(status, err, time.Since(sent))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := merge(tallies, elapsed)
	res.Target, res.Mode, res.Conns, res.Exhausted = target, "closed", conns, exhausted.Load()
	return res
}

// openLoop offers rate requests a second for dur, whatever the answers, over conns connections
// spread over addrs: request i is due at start + i/rate and goes out on the first free connection.
// Latency counts from the due time, so a slow answer that holds up later requests is charged to
// them too (no coordinated omission).
func openLoop(target string, addrs []string, reqs [][]byte, conns, rate int, dur time.Duration) loadResult {
	n := min(int64(len(reqs)), int64(rate)*int64(dur/time.Second))
	interval := time.Second / time.Duration(rate)
	var next atomic.Int64
	tallies := make([]*tally, conns)
	var wg sync.WaitGroup
	// Connect first, so dialling is not charged to the first requests.
	cs := make([]*conn, conns)
	for w, addr := range spread(addrs, conns) {
		cs[w] = &conn{addr: addr}
		if nc, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
			cs[w].c, cs[w].r = nc, bufio.NewReaderSize(nc, 16<<10)
		}
	}
	start := time.Now().Add(20 * time.Millisecond)
	for w := range conns {
		t := &tally{statuses: map[int]int{}, lat: make([]time.Duration, 0, int(n)/conns+16)}
		tallies[w] = t
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cs[w]
			defer c.close()
			for {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				due := start.Add(time.Duration(i) * interval)
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
				status, err := c.do(reqs[i])
				t.record(status, err, time.Since(due))
			}
		}()
	}
	wg.Wait()
	res := merge(tallies, time.Since(start))
	res.Target, res.Mode, res.Conns, res.Offered = target, "open", conns, float64(rate)
	return res
}

// merge adds up the connections' tallies.
func merge(ts []*tally, elapsed time.Duration) loadResult {
	var all []time.Duration
	res := loadResult{Seconds: elapsed.Seconds(), Statuses: map[string]int{}}
	for _, t := range ts {
		all = append(all, t.lat...)
		res.SockErrs += t.sock
		if t.firstErr != nil && res.FirstErr == "" {
			res.FirstErr = t.firstErr.Error()
		}
		for s, k := range t.statuses {
			res.Statuses[strconv.Itoa(s)] += k
			if s/100 == 2 {
				res.OK += int64(k)
			} else {
				res.Non2xx += int64(k)
			}
		}
	}
	res.Sent = res.OK + res.Non2xx + res.SockErrs
	res.Rate = float64(res.OK) / elapsed.Seconds()
	slices.Sort(all)
	res.P50ms, res.P90ms, res.P99ms = ms(quantile(all, 0.50)), ms(quantile(all, 0.90)), ms(quantile(all, 0.99))
	if len(all) > 0 {
		res.Maxms = ms(all[len(all)-1])
	}
	return res
}

// quantile of sorted durations, nearest rank.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
