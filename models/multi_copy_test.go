package models

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hooklog/testapp/testdb"
)

// TestMultiCopyTo copies an SQLite database holding a row in every table into a fresh database (on
// PostgreSQL when HOOKLOG_TEST_POSTGRES is set) and checks that every row arrived as it was, that the
// copy is searchable, and that new rows get new ids.
func TestMultiCopyTo(t *testing.T) {
	key := make([]byte, 32)
	key[0] = 7
	src, err := Open(Options{DSN: filepath.Join(t.TempDir(), "src.db"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	m, _ := src.EnsureMerchant("Acme")
	off, err := src.CreateUser(m.ID, "off@acme.test", "a long password", RoleSupport)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.DB.Model(off).Update("active", false).Error; err != nil {
		t.Fatal(err)
	}
	if _, _, err := src.CreateToken(m.ID, "ci", RoleSupport); err != nil {
		t.Fatal(err)
	}
	ep, secret, err := src.CreateEndpoint(m.ID, EndpointInput{Name: "Shop", Provider: "generic"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := src.SetEndpointEnabled(m.ID, ep.ID, false); err != nil {
		t.Fatal(err)
	}
	now := src.Now()
	ing := NewIngester(src, 8, nil)
	var events []uint
	for i, ref := range []string{"ord-copy-1", "ord-copy-2", "ord-copy-3"} {
		st, err := ing.Store(t.Context(), &Incoming{
			Delivery: Delivery{MerchantID: m.ID, EndpointID: ep.ID, ReceivedAt: now, RemoteAddr: "127.0.0.1",
				Body: []byte(`{"order":"` + ref + `","note":"copyme"}`), BodySize: 40, StatusCode: 200, EventType: "payment.completed"},
			Event: &Event{MerchantID: m.ID, EndpointID: ep.ID, ExternalID: "evt-" + ref, Provider: "generic", Type: "payment.completed",
				OrderRef: ref, Status: StatusPending, NextAttemptAt: &now, ReceivedAt: now, HasAmount: i == 0},
		})
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, st.EventID)
	}
	ing.Close()
	o := Order{MerchantID: m.ID, Reference: "ord-copy-1", Status: OrderPaid, Paid: true, Amount: 2000, HasAmount: true, CreatedAt: now, UpdatedAt: now}
	rows := []any{
		&Attempt{EventID: events[0], StartedAt: now, FinishedAt: now, Outcome: StatusProcessed, Trigger: TriggerAutomatic},
		&o,
		&AuditEntry{MerchantID: m.ID, Actor: "ada@acme.test", Action: "endpoint.disable"},
		&LoginFailure{Email: "off@acme.test", At: now},
	}
	for _, r := range rows {
		if err := src.DB.Create(r).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := src.DB.Create(&OrderTransition{OrderID: o.ID, To: OrderPaid, EventID: events[0], Reason: "paid", At: now}).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := src.CreateReplayJob(m.ID, "ada@acme.test", nil, events[1:]); err != nil {
		t.Fatal(err)
	}
	if err := src.DB.Create(&ReplayJobEvent{JobID: 1, EventID: events[1]}).Error; err != nil {
		t.Fatal(err)
	}

	// Every table the migration creates is one the copy knows.
	var tables []string
	if err := src.DB.Raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'delivery_search%'`).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	var known []string
	for _, s := range copySteps {
		known = append(known, s.table)
	}
	slices.Sort(tables)
	slices.Sort(known)
	if !slices.Equal(tables, known) {
		t.Fatalf("tables %q; the copy knows %q", tables, known)
	}

	dst, err := Open(Options{DSN: testdb.DSN(t, "dst.db"), MaxConns: 4, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	var copied []string
	if err := src.CopyTo(dst, 2, func(table string, n int64) { copied = append(copied, table) }); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(known)
	if !dst.Postgres() {
		want = append(want, "delivery_search") // SQLite's index is built after the tables are copied
	}
	slices.Sort(copied)
	slices.Sort(want)
	if !slices.Equal(copied, want) {
		t.Errorf("copied %q; want %q", copied, want)
	}
	for _, table := range known {
		var a, b int64
		src.DB.Table(table).Count(&a)
		dst.DB.Table(table).Count(&b)
		if a == 0 || a != b {
			t.Errorf("%s: %d rows in the source, %d in the copy; want the same, at least one", table, a, b)
		}
	}

	// The copy's delivery counts are its deliveries counted afresh, and its figures are the source's.
	assertDeliveryCounts(t, dst)
	for _, since := range []time.Time{now.Add(-24 * time.Hour), now.Add(-time.Minute), now.Add(time.Second)} {
		a, aerr := src.WindowStats(m.ID, since)
		b, berr := dst.WindowStats(m.ID, since)
		if aerr != nil || berr != nil || a != b {
			t.Errorf("window since %v: source %+v, %v; copy %+v, %v", since, a, aerr, b, berr)
		}
	}

	// Values a careless copy would turn into the column's default, and the sealed secret.
	var u User
	if err := dst.DB.Take(&u, off.ID).Error; err != nil || u.Active || u.Email != off.Email || u.PasswordHash != off.PasswordHash {
		t.Errorf("copied user = %+v, %v; want inactive %s", u, err, off.Email)
	}
	var e Endpoint
	if err := dst.DB.Take(&e, ep.ID).Error; err != nil || e.Enabled || e.Token != ep.Token {
		t.Errorf("copied endpoint = %+v, %v; want disabled with token %s", e, err, ep.Token)
	}
	if got, err := dst.RevealSecret(m.ID, ep.ID, 1); err != nil || got != secret {
		t.Errorf("copied secret reveals %q, %v; want the original", got, err)
	}
	var evs []Event
	dst.DB.Order("id").Find(&evs)
	if len(evs) != 3 || evs[0].ID != events[0] || !evs[0].HasAmount || evs[1].HasAmount || evs[0].NextAttemptAt.Sub(now).Abs() >= time.Microsecond {
		t.Errorf("copied events = %+v", evs)
	}
	job, err := dst.ReplayJob(m.ID, 1)
	if err != nil || !slices.Equal(job.EventIDs, events[1:]) || job.Status != JobRunning {
		t.Errorf("copied replay job = %+v, %v", job, err)
	}

	// The copy is searchable, and new rows take ids after the copied ones.
	p, err := dst.Search(SearchFilter{MerchantID: m.ID, Terms: []string{"copyme"}})
	if err != nil || len(p.Hits) != 3 {
		t.Errorf("search in the copy: %d hits, %v; want 3", len(p.Hits), err)
	}
	m2, err := dst.EnsureMerchant("Globex")
	if err != nil || m2.ID <= m.ID {
		t.Errorf("new merchant in the copy: %+v, %v; want an id after %d", m2, err, m.ID)
	}

	// A second copy into the same database refuses.
	if err := src.CopyTo(dst, 2, nil); !errors.Is(err, ErrCopyTargetNotEmpty) {
		t.Errorf("copy into a database with data: %v; want ErrCopyTargetNotEmpty", err)
	}
	if !strings.Contains(ErrCopyTargetNotEmpty.Error(), "empty database") {
		t.Errorf("error %q does not say what to do", ErrCopyTargetNotEmpty)
	}
}
