package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// hooklog runs as a process of its own (hooklog serve), while the trivial and naive receivers run
// inside the bench process, beside the load generator. One Go runtime serving both ends hands each
// request from the generator's goroutine to the receiver's without the kernel switching processes,
// which a separate server cannot; in-process, the same hooklog router acknowledged 5,891/s where
// hooklog serve acknowledged about 3,500/s. So the bench also runs the two yardsticks the way it
// runs hooklog: in a child process (this binary, re-executed with yardstickCommand), and measures
// hooklog against those. The in-process figures stay, so runs stay comparable with earlier ones.

// yardstickCommand is the first argument that makes the bench binary serve the yardsticks.
const yardstickCommand = "serve-yardsticks"

// yardstickAddrs is what the child prints on its first line of output once it listens.
type yardstickAddrs struct {
	Trivial string `json:"trivial"`
	Naive   string `json:"naive"`
}

// serveYardsticks is the child: it serves the trivial and the naive receivers (on a SQLite file in
// -dir, or a table of the -postgres database) until its standard input closes.
func serveYardsticks(args []string) error {
	fs := flag.NewFlagSet(yardstickCommand, flag.ContinueOnError)
	dir := fs.String("dir", "", "directory of the naive receiver's SQLite file")
	pg := fs.String("postgres", "", "DSN of the database where the naive receiver keeps its table instead")
	conns := fs.Int("conns", 32, "the naive receiver's PostgreSQL connections")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pg == "" && *dir == "" {
		return errors.New("-dir or -postgres is required")
	}
	naive, err := openNaive(*dir, *pg, *conns)
	if err != nil {
		return err
	}
	defer naive.Close()
	trivial, err := startTrivial()
	if err != nil {
		return err
	}
	defer trivial.Close()
	if err := json.NewEncoder(os.Stdout).Encode(yardstickAddrs{Trivial: trivial.Addr, Naive: naive.Addr}); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// yardstickProcess is a running child serving the yardsticks.
type yardstickProcess struct {
	yardstickAddrs
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startYardsticks re-executes the bench binary as the yardsticks' server: the naive receiver on a
// SQLite file in dir, or on the PostgreSQL database at dsn when it is set.
func startYardsticks(dir, dsn string, conns int) (*yardstickProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{yardstickCommand, "-dir", dir, "-conns", fmt.Sprint(conns)}
	if dsn != "" {
		args = append(args, "-postgres", dsn)
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	y := &yardstickProcess{cmd: cmd, stdin: stdin}
	line := make(chan error, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if !s.Scan() {
			line <- fmt.Errorf("yardstick process ended before it listened: %v", s.Err())
			return
		}
		line <- json.Unmarshal(s.Bytes(), &y.yardstickAddrs)
	}()
	select {
	case err = <-line:
	case <-time.After(30 * time.Second):
		err = errors.New("yardstick process did not listen within 30s")
	}
	if err != nil {
		y.Close()
		return nil, err
	}
	return y, nil
}

// Close stops the child and waits for it; closing again does nothing.
func (y *yardstickProcess) Close() error {
	if y.cmd == nil {
		return nil
	}
	y.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- y.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = y.cmd.Process.Kill()
		err = <-done
	}
	y.cmd = nil
	return err
}
