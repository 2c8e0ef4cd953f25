package testdb

import "testing"

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		dsn, want string
		wantErr   bool
	}{
		{"postgres://postgres@127.0.0.1:54330/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:54330/hooklog_x?sslmode=disable", false},
		{"postgresql://u:p%40ss@db:5432?sslmode=require", "postgresql://u:p%40ss@db:5432/hooklog_x?sslmode=require", false},
		{"host=127.0.0.1 port=54330 user=postgres dbname=postgres sslmode=disable", "host=127.0.0.1 port=54330 user=postgres sslmode=disable dbname=hooklog_x", false},
		{"host=/tmp user=postgres", "host=/tmp user=postgres dbname=hooklog_x", false},
		{"hooklog.db", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := WithDatabase(tt.dsn, "hooklog_x")
		if (err != nil) != tt.wantErr {
			t.Errorf("WithDatabase(%q): err = %v, want error %v", tt.dsn, err, tt.wantErr)
		}
		if got != tt.want {
			t.Errorf("WithDatabase(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
	}
}
