package models

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"
)

// recordsOrders creates n orders of merchant m; every third shares its update time with the
// previous one, so the list must break ties by id.
func recordsOrders(t *testing.T, s *Store, merchantID uint, n int) []Order {
	t.Helper()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var out []Order
	at := base
	for i := range n {
		if i%3 != 2 {
			at = at.Add(1500 * time.Millisecond)
		}
		o := Order{MerchantID: merchantID, Reference: fmt.Sprintf("ord-%03d", i), Status: OrderStatuses[i%len(OrderStatuses)],
			PaymentID: fmt.Sprintf("pay_%03d", i), CreatedAt: base, UpdatedAt: at}
		if err := s.DB.Create(&o).Error; err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

func TestRecordsOrdersPaging(t *testing.T) {
	s := recordsStore(t)
	a, _ := s.EnsureMerchant("A")
	b, _ := s.EnsureMerchant("B")
	all := recordsOrders(t, s, a.ID, 47)
	recordsOrders(t, s, b.ID, 5)
	// Newest update first, ties by the higher id.
	want := slices.Clone(all)
	slices.SortStableFunc(want, func(x, y Order) int {
		if c := y.UpdatedAt.Compare(x.UpdatedAt); c != 0 {
			return c
		}
		return int(y.ID) - int(x.ID)
	})
	f := OrderFilter{MerchantID: a.ID, Limit: 10}
	var pages []OrderPage
	var seen []string
	for {
		p, err := s.Orders(f)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
		for _, o := range p.Orders {
			seen = append(seen, o.Reference)
		}
		if (p.Newer == "") != (len(pages) == 1) {
			t.Fatalf("page %d: newer cursor %q", len(pages), p.Newer)
		}
		if p.Older == "" {
			break
		}
		f.Older, f.Newer = p.Older, ""
	}
	var wantRefs []string
	for _, o := range want {
		wantRefs = append(wantRefs, o.Reference)
	}
	if !slices.Equal(seen, wantRefs) {
		t.Fatalf("older pages gave %v\nwant %v", seen, wantRefs)
	}
	if len(pages) != 5 {
		t.Fatalf("%d pages; want 5", len(pages))
	}
	for i := len(pages) - 1; i > 0; i-- {
		f.Older, f.Newer = "", pages[i].Newer
		p, err := s.Orders(f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(p.Orders, pages[i-1].Orders, func(x, y Order) bool { return x.ID == y.ID }) {
			t.Fatalf("newer than page %d differs from page %d", i+1, i)
		}
		if p.Older != pages[i-1].Older || (p.Newer == "") != (i == 1) {
			t.Fatalf("newer than page %d: cursors %q %q", i+1, p.Older, p.Newer)
		}
	}
	if _, err := s.Orders(OrderFilter{MerchantID: a.ID, Older: "bm90LWEtY3Vyc29y"}); err != ErrBadCursor {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestRecordsOrdersFilter(t *testing.T) {
	s := recordsStore(t)
	a, _ := s.EnsureMerchant("A")
	b, _ := s.EnsureMerchant("B")
	recordsOrders(t, s, a.ID, 30)
	recordsOrders(t, s, b.ID, 30)
	cases := []struct {
		name   string
		f      OrderFilter
		refs   int
		prefix string
	}{
		{"exact reference", OrderFilter{Query: "ord-007"}, 1, "ord-007"},
		{"reference prefix", OrderFilter{Query: "ord-01"}, 10, "ord-01"},
		{"payment id prefix", OrderFilter{Query: "pay_02"}, 10, "ord-02"},
		{"payment id exact", OrderFilter{Query: " pay_029 "}, 1, "ord-029"},
		{"status", OrderFilter{Status: OrderPaid}, 5, "ord-"},
		{"status and prefix", OrderFilter{Status: OrderPaid, Query: "ord-0"}, 5, "ord-0"},
		{"case matters", OrderFilter{Query: "ORD-0"}, 0, ""},
		{"like wildcards are literal", OrderFilter{Query: "ord-%"}, 0, ""},
		{"nothing", OrderFilter{Query: "zzz"}, 0, ""},
	}
	for _, c := range cases {
		c.f.MerchantID = a.ID
		p, err := s.Orders(c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(p.Orders) != c.refs || p.Older != "" || p.Newer != "" {
			t.Errorf("%s: %d orders, cursors %q %q; want %d and none", c.name, len(p.Orders), p.Older, p.Newer, c.refs)
		}
		for _, o := range p.Orders {
			if o.MerchantID != a.ID || o.Reference[:len(c.prefix)] != c.prefix || (c.f.Status != "" && o.Status != c.f.Status) {
				t.Errorf("%s: unexpected %+v", c.name, o)
			}
		}
	}
}

func TestRecordsOrderEvents(t *testing.T) {
	s := recordsStore(t)
	a, _ := s.EnsureMerchant("A")
	b, _ := s.EnsureMerchant("B")
	mk := func(m uint, ext, ref, pay string) uint {
		e := Event{MerchantID: m, EndpointID: 1, ExternalID: ext, Provider: "generic", OrderRef: ref, PaymentID: pay, Status: StatusProcessed, ReceivedAt: s.Now()}
		if err := s.DB.Create(&e).Error; err != nil {
			t.Fatal(err)
		}
		return e.ID
	}
	byRef := mk(a.ID, "e1", "ord-1", "pay_1")
	byPay := mk(a.ID, "e2", "", "pay_1")
	mk(a.ID, "e3", "ord-2", "")
	mk(a.ID, "e4", "", "")
	mk(b.ID, "e5", "ord-1", "pay_1")
	last := mk(a.ID, "e6", "ord-1", "pay_other")
	// Names another order by reference: processing applies it there, whatever its payment id.
	mk(a.ID, "e7", "ord-3", "pay_1")
	payOnly := mk(a.ID, "e8", "", "pay_9")
	cases := []struct {
		name  string
		o     Order
		limit int
		want  []uint
		more  bool
	}{
		{"by reference or payment id", Order{Reference: "ord-1", PaymentID: "pay_1"}, 10, []uint{byRef, byPay, last}, false},
		{"limited", Order{Reference: "ord-1", PaymentID: "pay_1"}, 2, []uint{byRef, byPay}, true},
		{"no payment id matches no empty ones", Order{Reference: "ord-1"}, 10, []uint{byRef, last}, false},
		{"an order made by a payment-only event", Order{Reference: "pay_9", PaymentID: "pay_9"}, 10, []uint{payOnly}, false},
	}
	for _, c := range cases {
		evs, more, err := s.OrderEvents(a.ID, &c.o, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint
		for _, e := range evs {
			got = append(got, e.ID)
		}
		if !slices.Equal(got, c.want) || more != c.more {
			t.Errorf("%s: %v more=%v; want %v more=%v", c.name, got, more, c.want, c.more)
		}
	}
}

// recordsPlan explains sql and returns the plan's steps.
func recordsPlan(t *testing.T, s *Store, sql string, args ...any) []string {
	t.Helper()
	var plan []struct {
		ID, Parent, Notused int
		Detail              string
	}
	if err := s.DB.Raw("EXPLAIN QUERY PLAN "+sql, args...).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range plan {
		out = append(out, p.Detail)
	}
	return out
}

// TestRecordsOrdersPlan checks that every order list is an index walk: by update time for the
// plain list, through the reference and payment id indexes for a search, and never a scan.
func TestRecordsOrdersPlan(t *testing.T) {
	s := recordsStore(t)
	if s.Postgres() {
		t.Skip("asserts SQLite's query plans; PostgreSQL searches orders through its own text_pattern_ops indexes")
	}
	// Idempotent: the indexes exist already when the migration is wired in.
	if err := s.migrateOrderIndexes(); err != nil {
		t.Fatal(err)
	}
	cur := orderCursor(Order{ID: 9, UpdatedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
	cases := []struct {
		name string
		f    OrderFilter
		want []string
	}{
		{"first page", OrderFilter{}, []string{"SEARCH orders USING INDEX idx_orders_merchant_updated (merchant_id=?)"}},
		{"older page", OrderFilter{Older: cur}, []string{"SEARCH orders USING INDEX idx_orders_merchant_updated (merchant_id=? AND updated_at<?)"}},
		{"newer page", OrderFilter{Newer: cur}, []string{"SEARCH orders USING INDEX idx_orders_merchant_updated (merchant_id=? AND updated_at>?)"}},
		{"status", OrderFilter{Status: OrderPaid, Older: cur}, []string{"SEARCH orders USING INDEX idx_orders_merchant_status_updated (merchant_id=? AND status=? AND updated_at<?)"}},
		{"search", OrderFilter{Query: "ord-1", Status: OrderPaid, Older: cur}, []string{
			"SEARCH orders USING INTEGER PRIMARY KEY (rowid=?)",
			"LIST SUBQUERY 2",
			"COMPOUND QUERY",
			"LEFT-MOST SUBQUERY",
			"SEARCH orders USING COVERING INDEX idx_orders_ref (merchant_id=? AND reference>? AND reference<?)",
			"UNION USING TEMP B-TREE",
			"SEARCH orders USING INDEX idx_orders_payment_id (payment_id>? AND payment_id<?)",
			"USE TEMP B-TREE FOR ORDER BY",
		}},
	}
	for _, c := range cases {
		c.f.MerchantID = 1
		q, _, err := ordersQuery(s.DB.Session(&gorm.Session{DryRun: true}), c.f)
		if err != nil {
			t.Fatal(err)
		}
		stmt := q.Limit(51).Find(&[]Order{}).Statement
		if got := recordsPlan(t, s, stmt.SQL.String(), stmt.Vars...); !slices.Equal(got, c.want) {
			t.Errorf("%s: plan\n%q\nwant\n%q", c.name, got, c.want)
		}
	}
	// An order's events, and the events list filtered by order reference: the order key index.
	dry := s.DB.Session(&gorm.Session{DryRun: true})
	for _, c := range []struct {
		name string
		q    *gorm.DB
		want []string
	}{
		{"order events", orderEventsQuery(dry, 1, &Order{Reference: "a", PaymentID: "b"}).Limit(5), []string{
			"SEARCH events USING INDEX idx_events_order_key (<expr>=?)", "USE TEMP B-TREE FOR ORDER BY"}},
		{"order events without a payment id", orderEventsQuery(dry, 1, &Order{Reference: "a"}).Limit(5), []string{
			"SEARCH events USING INDEX idx_events_order_key (<expr>=?)"}},
		{"events by order reference", eventsQuery(dry, EventFilter{MerchantID: 1, OrderRef: "a"}, 9).Limit(51), []string{
			"SEARCH events USING INDEX idx_events_order_key (<expr>=? AND rowid<?)"}},
	} {
		stmt := c.q.Find(&[]Event{}).Statement
		if got := recordsPlan(t, s, stmt.SQL.String(), stmt.Vars...); !slices.Equal(got, c.want) {
			t.Errorf("%s: plan\n%q\nwant\n%q", c.name, got, c.want)
		}
	}
}
