package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// debugServer serves Go's profiler (net/http/pprof) on debug_listen, apart from the application: CPU
// and heap profiles and execution traces of the running server, for finding where its time goes
// under real load (`go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=10`). The
// profiler has no login, so the setting accepts loopback addresses only (see config.IsLoopback).
func debugServer(addr string, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug_listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go srv.Serve(ln)
	log.Info("profiler listening", "addr", ln.Addr().String(), "see", "http://"+ln.Addr().String()+"/debug/pprof/")
	return srv, nil
}
