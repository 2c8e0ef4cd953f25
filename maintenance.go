package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"hooklog/config"
	"hooklog/models"
)

// backup handles `hooklog backup PATH`: a consistent copy while the server keeps running.
func (e *env) backup(args []string) error {
	fs := e.flags("backup")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"backup takes one PATH, the file to write (it must not exist)"}
	}
	_, store, err := e.open()
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	if err := store.Backup(fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up to %s (search index: %s) in %s\n"+
		"restore: stop hooklog, replace the database file and its search index file with these copies (and remove their -wal and -shm files), start hooklog\n",
		fs.Arg(0), models.SearchIndexPath(fs.Arg(0)), time.Since(start).Round(time.Millisecond))
	return nil
}

// purge handles `hooklog purge --older-than D [--include-unfinished]`.
func (e *env) purge(args []string) error {
	fs := e.flags("purge")
	older := fs.Duration("older-than", 0, "purge deliveries and finished events older than this (e.g. 2160h for 90 days)")
	all := fs.Bool("include-unfinished", false, "also purge events still pending, failed or dead")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *older <= 0 {
		return usageError{"purge needs --older-than, a positive duration such as 2160h"}
	}
	cfg, store, err := e.open()
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := store.Purge(models.RetentionPolicy{OlderThan: *older, IncludeUnfinished: *all, Batch: cfg.Retention.Batch})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "purged %d deliveries and %d events older than %s\n", res.Deliveries, res.Events, *older)
	return nil
}

// rotateKey handles `hooklog rotate-key --old-key OLD`: with the new key configured, it re-encrypts
// every endpoint secret that is still under the old key.
func (e *env) rotateKey(args []string) error {
	fs := e.flags("rotate-key")
	old := fs.String("old-key", "", "the previous secret key (64 hex characters or base64)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *old == "" {
		return usageError{"rotate-key needs --old-key; configure the new key first (secret_key or HOOKLOG_SECRET_KEY)"}
	}
	oldKey, err := config.DecodeKey(*old)
	if err != nil {
		return usageError{"--old-key: " + err.Error()}
	}
	cfg, err := e.load()
	if err != nil {
		return err
	}
	key, err := secretKey(cfg)
	if err != nil {
		return err
	}
	store, err := models.Open(models.Options{DSN: cfg.Database, MaxConns: cfg.PostgresMaxConns, Key: key, RetiredKeys: [][]byte{oldKey}})
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.ReencryptSecrets()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "re-encrypted %d secrets under the new key; the old key is no longer needed\n", n)
	return nil
}

// migrateTo handles `hooklog migrate-to [--batch N] DSN`: it copies the configured database, every
// table with its ids, into another one, typically an SQLite installation into PostgreSQL.
func (e *env) migrateTo(args []string) error {
	fs := e.flags("migrate-to")
	batch := fs.Int("batch", 500, "rows copied per transaction (deliveries: at most 50)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"migrate-to takes one DSN, the empty database to copy into (e.g. postgres://hooklog@db/hooklog)"}
	}
	if *batch < 1 {
		return usageError{"--batch must be at least 1"}
	}
	cfg, key, src, err := e.openWithKey()
	if err != nil {
		return err
	}
	defer src.Close()
	to := fs.Arg(0)
	if to == cfg.Database {
		return usageError{"migrate-to: the destination is the configured database itself"}
	}
	dst, err := models.Open(models.Options{DSN: to, MaxConns: cfg.PostgresMaxConns, Key: key})
	if err != nil {
		return err
	}
	defer dst.Close()
	start := time.Now()
	err = src.CopyTo(dst, *batch, func(table string, rows int64) {
		fmt.Fprintf(e.stdout, "copied %-17s %d rows\n", table, rows)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "copied %s to %s in %s\nnext: set database (or HOOKLOG_DB) to the new DSN, with the same secret_key, on every instance, then start them\n",
		models.RedactDSN(cfg.Database), models.RedactDSN(to), time.Since(start).Round(time.Millisecond))
	return nil
}

// runRetention purges on the configured schedule until ctx ends.
func runRetention(ctx context.Context, store *models.Store, r config.Retention, log *slog.Logger) {
	if r.OlderThan.Duration <= 0 {
		return
	}
	t := time.NewTicker(r.Interval.Duration)
	defer t.Stop()
	for {
		res, err := store.Purge(models.RetentionPolicy{OlderThan: r.OlderThan.Duration, IncludeUnfinished: r.IncludeUnfinished, Batch: r.Batch})
		if err != nil {
			log.Error("retention purge", "err", err)
		} else if res.Deliveries+res.Events > 0 {
			log.Info("retention purge", "deliveries", res.Deliveries, "events", res.Events)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
