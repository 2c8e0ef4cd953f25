package main

import (
	"strings"
	"testing"
)

func TestParseFlagsInstances(t *testing.T) {
	tests := []struct {
		args          []string
		instances     int
		wantErrSubstr string
	}{
		{nil, 1, ""},
		{[]string{"-postgres", "postgres://localhost/postgres", "-instances", "3"}, 3, ""},
		{[]string{"-instances", "3"}, 0, "needs -postgres"},
		{[]string{"-postgres", "postgres://localhost/postgres", "-instances", "0"}, 0, "between 1 and -conns"},
		{[]string{"-postgres", "postgres://localhost/postgres", "-instances", "4", "-conns", "3"}, 0, "between 1 and -conns"},
	}
	for _, tt := range tests {
		o, err := parseFlags(tt.args)
		if tt.wantErrSubstr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstr) {
				t.Errorf("parseFlags(%q): err = %v, want one saying %q", tt.args, err, tt.wantErrSubstr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseFlags(%q): %v", tt.args, err)
			continue
		}
		if o.Instances != tt.instances {
			t.Errorf("parseFlags(%q): %d instances, want %d", tt.args, o.Instances, tt.instances)
		}
	}
}

func TestHooklogName(t *testing.T) {
	if got := hooklogName(1); got != "hooklog" {
		t.Errorf("hooklogName(1) = %q", got)
	}
	if got := hooklogName(3); got != "hooklog x3" {
		t.Errorf("hooklogName(3) = %q", got)
	}
}
