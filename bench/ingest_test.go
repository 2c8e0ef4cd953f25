package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"hooklog/models"
	"hooklog/testapp"
	"hooklog/webhooks"
)

// BenchmarkServerIngest drives the real server in-process (testapp: SQLite file, group-commit
// ingester, workers, router) with the bench's load generator, one op per delivery, so that
//
//	go test -tags sqlite_fts5 -run '^$' -bench ServerIngest -benchtime 20000x -cpuprofile cpu.out ./bench
//
// profiles hooklog with its Go stacks (hooklog serve exposes no profiler).
func BenchmarkServerIngest(b *testing.B) {
	a := testapp.New(b)
	ep := a.Endpoint("Bench shop", "stripe", secret, webhooks.Settings{})
	u, err := url.Parse(ep.URL)
	if err != nil {
		b.Fatal(err)
	}
	p, err := buildPool(poolSpec{Host: u.Host, Path: u.Path, Secret: secret, N: max(b.N, 1000), Tag: "benchmark0"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	r := closedLoop("hooklog", u.Host, p.Reqs[:b.N], 32, time.Hour, false)
	b.StopTimer()
	if r.Errors() > 0 {
		b.Fatalf("%d errors, statuses %v, first %q", r.Errors(), r.Statuses, r.FirstErr)
	}
	b.ReportMetric(r.Rate, "ack/s")
	b.ReportMetric(r.P99ms, "p99-ms")
}

// BenchmarkServerLatency offers 2,000 deliveries/s to the real server in-process for each op's
// worth of requests (one op per delivery) and reports the p50 and p99 as the bench's latency run
// measures them, so that
//
//	go test -tags sqlite_fts5 -run '^$' -bench ServerLatency -benchtime 10000x ./bench
//
// can compare changes to the tail without building and starting hooklog serve. It also reports
// the events not yet processed when the stream ended.
func BenchmarkServerLatency(b *testing.B) {
	a := testapp.New(b)
	ep := a.Endpoint("Bench shop", "stripe", secret, webhooks.Settings{})
	u, err := url.Parse(ep.URL)
	if err != nil {
		b.Fatal(err)
	}
	p, err := buildPool(poolSpec{Host: u.Host, Path: u.Path, Secret: secret, N: max(b.N, 1000), Tag: "latency000"})
	if err != nil {
		b.Fatal(err)
	}
	const rate = 2000
	b.ResetTimer()
	r := openLoop("hooklog", []string{u.Host}, p.Reqs[:b.N], 32, rate, time.Duration(b.N)*time.Second/rate)
	b.StopTimer()
	if r.Errors() > 0 {
		b.Fatalf("%d errors, statuses %v, first %q", r.Errors(), r.Statuses, r.FirstErr)
	}
	// What the workers had still to do when the stream ended: whether processing keeps up.
	var backlog int64
	if err := a.Store.DB.Model(&models.Event{}).Where("status IN ?", []models.Status{models.StatusPending, models.StatusProcessing}).
		Count(&backlog).Error; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(backlog), "backlog")
	b.ReportMetric(r.P50ms, "p50-ms")
	b.ReportMetric(r.P99ms, "p99-ms")
}

// BenchmarkIngester stores deliveries through models.Ingester alone, from 32 goroutines, without
// HTTP or workers: the group commit and its inserts (delivery, event, search row).
func BenchmarkIngester(b *testing.B) {
	dir := b.TempDir()
	store, err := models.Open(models.Options{DSN: filepath.Join(dir, "hooklog.db"), Key: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	m, err := store.EnsureMerchant("Bench shop")
	if err != nil {
		b.Fatal(err)
	}
	ep, _, err := store.CreateEndpoint(m.ID, models.EndpointInput{Name: "Stripe", Provider: "stripe"}, secret)
	if err != nil {
		b.Fatal(err)
	}
	ins := incomings(b, m.ID, ep.ID, b.N)
	ing := models.NewIngester(store, 256, nil)
	defer ing.Close()
	b.ResetTimer()
	var wg sync.WaitGroup
	var next sync.Mutex
	i := 0
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= len(ins) {
					return
				}
				if _, err := ing.Store(context.Background(), ins[k]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// incomings builds n verified deliveries with their events, as the ingest handler would.
func incomings(b *testing.B, merchantID, endpointID uint, n int) []*models.Incoming {
	g, err := newGenerator("ingester00")
	if err != nil {
		b.Fatal(err)
	}
	r := newRand(1)
	now := time.Now().UTC()
	out := make([]*models.Incoming, n)
	for i := range out {
		d := g.make(i, pickType(r.IntN(100)), g.orderRef(i), r)
		h, err := g.profile.Sign(secret, d.Body, now, "")
		if err != nil {
			b.Fatal(err)
		}
		h.Set("Host", "127.0.0.1:8080")
		h.Set("Content-Length", fmt.Sprint(len(d.Body)))
		norm, err := g.profile.Normalise(h, d.Body)
		if err != nil {
			b.Fatal(err)
		}
		ev := &models.Event{MerchantID: merchantID, EndpointID: endpointID, Provider: "stripe", Status: models.StatusPending,
			NextAttemptAt: &now, ReceivedAt: now, DeliveryCount: 1}
		ev.SetNormalised(norm)
		out[i] = &models.Incoming{Event: ev, Delivery: models.Delivery{MerchantID: merchantID, EndpointID: endpointID, ReceivedAt: now,
			RemoteAddr: "127.0.0.1", Headers: http.Header(h), Body: d.Body, BodySize: int64(len(d.Body)), EventType: norm.Type, StatusCode: 200}}
	}
	return out
}
