package main

import (
	"strings"
	"testing"

	"hooklog/models"
	"hooklog/testapp/testdb"
)

// TestMultiMigrateTo copies an installation's database into a new one with `hooklog migrate-to`
// (into PostgreSQL when HOOKLOG_TEST_POSTGRES is set) and then runs the CLI against the copy.
func TestMultiMigrateTo(t *testing.T) {
	h := newCLI(t)
	h.mustRun("", "endpoint", "add", "--merchant", "Acme", "--name", "Shop", "--provider", "generic")
	h.mustRun("", "token", "add", "--merchant", "Acme", "--role", "support")
	src := h.vars["HOOKLOG_DB"]

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate-to"}, "migrate-to takes one DSN"},
		{[]string{"migrate-to", "a", "b"}, "migrate-to takes one DSN"},
		{[]string{"migrate-to", "--batch", "0", "x.db"}, "--batch must be at least 1"},
		{[]string{"migrate-to", src}, "the destination is the configured database itself"},
	} {
		if code, _, errs := h.run("", c.args...); code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("hooklog %s: exit %d, %q; want 2 and %q", strings.Join(c.args, " "), code, errs, c.want)
		}
	}

	dst := testdb.DSN(t, "copy.db")
	out := h.mustRun("", "migrate-to", "--batch", "1", dst)
	for _, want := range []string{"copied merchants         1 rows", "copied endpoints         1 rows", "copied api_tokens        1 rows",
		"next: set database (or HOOKLOG_DB) to the new DSN"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate-to printed %q; want %q", out, want)
		}
	}
	if code, _, errs := h.run("", "migrate-to", dst); code != 1 || !strings.Contains(errs, models.ErrCopyTargetNotEmpty.Error()) {
		t.Errorf("second migrate-to: exit %d, %q; want 1 and the destination is not empty", code, errs)
	}

	// The installation now runs on the copy: its endpoint and merchant are there.
	h.vars["HOOKLOG_DB"] = dst
	s := h.store()
	eps, err := s.Endpoints(1)
	if err != nil || len(eps) != 1 || eps[0].Name != "Shop" {
		t.Fatalf("endpoints in the copy: %+v, %v", eps, err)
	}
	h.mustRun("", "token", "add", "--merchant", "Acme", "--role", "admin")
	if ts, err := s.Tokens(1); err != nil || len(ts) != 2 {
		t.Errorf("tokens after adding one on the copy: %d, %v; want 2", len(ts), err)
	}
}
