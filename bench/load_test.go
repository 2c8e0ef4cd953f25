package main

import (
	"bufio"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	long := strings.Repeat("x", 40<<10)
	tests := []struct {
		name      string
		raw       string
		status    int
		keepAlive bool
		wantErr   bool
		rest      string // what is left for the next response
	}{
		{"content length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}NEXT", 200, true, false, "NEXT"},
		{"lower-case headers", "HTTP/1.1 201 Created\r\ncontent-length: 3\r\n\r\nabcNEXT", 201, true, false, "NEXT"},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\nNEXT", 200, true, false, "NEXT"},
		{"connection close", "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 503, false, false, ""},
		{"no length reads to EOF", "HTTP/1.1 200 OK\r\n\r\nbody until close", 200, false, false, ""},
		{"204 has no body", "HTTP/1.1 204 No Content\r\n\r\nNEXT", 204, true, false, "NEXT"},
		{"HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 200, false, false, ""},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\nNEXT", 200, true, false, "NEXT"},
		{"header longer than the buffer", "HTTP/1.1 200 OK\r\nX-Long: " + long + "\r\nContent-Length: 1\r\n\r\naNEXT", 200, true, false, "NEXT"},
		{"garbage", "SSH-2.0-OpenSSH\r\n\r\n", 0, false, true, ""},
		{"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 200, true, true, ""},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 200, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tt.raw), 4096)
			status, keepAlive, err := readResponse(r)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if status != tt.status {
				t.Errorf("status = %d, want %d", status, tt.status)
			}
			if err == nil && keepAlive != tt.keepAlive {
				t.Errorf("keepAlive = %v, want %v", keepAlive, tt.keepAlive)
			}
			if err != nil {
				return
			}
			rest, _ := io.ReadAll(r)
			if string(rest) != tt.rest {
				t.Errorf("left %q, want %q", rest, tt.rest)
			}
		})
	}
}

func TestReadResponseEOF(t *testing.T) {
	_, _, err := readResponse(bufio.NewReader(strings.NewReader("")))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want unexpected EOF", err)
	}
}

func TestSpread(t *testing.T) {
	tests := []struct {
		name  string
		addrs []string
		conns int
		want  map[string]int
		first []string // the first connections' addresses, in order
	}{
		{"one address", []string{"a"}, 4, map[string]int{"a": 4}, []string{"a", "a", "a", "a"}},
		{"even", []string{"a", "b"}, 4, map[string]int{"a": 2, "b": 2}, []string{"a", "b", "a", "b"}},
		{"uneven: no address more than one ahead", []string{"a", "b", "c"}, 32, map[string]int{"a": 11, "b": 11, "c": 10}, []string{"a", "b", "c", "a"}},
		{"fewer connections than addresses", []string{"a", "b", "c"}, 2, map[string]int{"a": 1, "b": 1}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := spread(tt.addrs, tt.conns)
			if len(got) != tt.conns {
				t.Fatalf("%d connections, want %d", len(got), tt.conns)
			}
			counts := map[string]int{}
			for _, a := range got {
				counts[a]++
			}
			if !maps.Equal(counts, tt.want) {
				t.Errorf("connections per address %v, want %v", counts, tt.want)
			}
			if !slices.Equal(got[:len(tt.first)], tt.first) {
				t.Errorf("first connections go to %v, want %v", got[:len(tt.first)], tt.first)
			}
		})
	}
}
