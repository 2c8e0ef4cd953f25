package main

import (
	"testing"
	"time"
)

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		dsn, want string
		wantErr   bool
	}{
		{"postgres://postgres@127.0.0.1:54330/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:54330/hooklog_bench_x?sslmode=disable", false},
		{"postgresql://u:p%40ss@db:5432?sslmode=require", "postgresql://u:p%40ss@db:5432/hooklog_bench_x?sslmode=require", false},
		{"host=127.0.0.1 port=54330 user=postgres dbname=postgres sslmode=disable", "host=127.0.0.1 port=54330 user=postgres sslmode=disable dbname=hooklog_bench_x", false},
		{"host=/tmp user=postgres", "host=/tmp user=postgres dbname=hooklog_bench_x", false},
		{"hooklog.db", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := withDatabase(tt.dsn, "hooklog_bench_x")
		if (err != nil) != tt.wantErr {
			t.Errorf("withDatabase(%q): err = %v, want error %v", tt.dsn, err, tt.wantErr)
		}
		if got != tt.want {
			t.Errorf("withDatabase(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
	}
}

func TestBenchDatabaseName(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	if got, want := benchDatabaseName(at), "hooklog_bench_20260304_040607"; got != want {
		t.Errorf("benchDatabaseName = %q, want %q (UTC, a valid unquoted identifier)", got, want)
	}
}

func TestFlattering(t *testing.T) {
	tests := []struct {
		settings map[string]string
		want     string
	}{
		{map[string]string{"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}, ""},
		{map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}, "fsync=off, synchronous_commit=off, full_page_writes=off"},
		{map[string]string{"fsync": "on", "synchronous_commit": "off", "full_page_writes": "on"}, "synchronous_commit=off"},
		// local and remote_write still wait for the local flush on a server without replicas.
		{map[string]string{"fsync": "on", "synchronous_commit": "local", "full_page_writes": "on"}, ""},
	}
	for _, tt := range tests {
		p := &pgDatabase{Settings: tt.settings}
		if got := p.Flattering(); got != tt.want {
			t.Errorf("Flattering(%v) = %q, want %q", tt.settings, got, tt.want)
		}
	}
}

func TestSettingsLine(t *testing.T) {
	got := settingsLine(map[string]string{"max_connections": "200", "fsync": "on", "synchronous_commit": "on", "unrelated": "x"})
	if want := "fsync on, synchronous_commit on, max_connections 200"; got != want {
		t.Errorf("settingsLine = %q, want %q", got, want)
	}
}
