package main

import (
	"testing"
	"time"
)

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
