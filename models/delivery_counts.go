package models

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// DeliveryCount is how many deliveries one endpoint received in one UTC hour with one outcome. The
// overview and the endpoints page add these up instead of counting deliveries, so their cost
// depends on the hours shown, not on how many deliveries the table holds. Every write that adds
// or removes deliveries keeps them in step, in the same transaction.
type DeliveryCount struct {
	MerchantID uint `gorm:"primaryKey;autoIncrement:false;not null"`
	// Hour is the start of the UTC hour in seconds since the Unix epoch. An integer compares, groups
	// and round-trips the same on SQLite and PostgreSQL; a stored time would be text on one and
	// timestamptz on the other, and rows written from Go and from SQL would not meet on conflict.
	Hour       int64   `gorm:"primaryKey;autoIncrement:false;not null"`
	EndpointID uint    `gorm:"primaryKey;autoIncrement:false;not null"`
	Outcome    Outcome `gorm:"primaryKey;not null"`
	N          int64   `gorm:"not null"`
}

// unixHour is the Hour of t.
func unixHour(t time.Time) int64 { return t.Truncate(time.Hour).Unix() }

// unixHourSQL is the SQL for the Hour of a timestamp column, as unixHour computes it in Go.
func unixHourSQL(db *gorm.DB, column string) string {
	if isPostgres(db) {
		return "CAST(floor(extract(epoch FROM " + column + ") / 3600) * 3600 AS BIGINT)"
	}
	return "(CAST(strftime('%s', " + column + ") AS INTEGER) / 3600 * 3600)"
}

// deliveryCountKey is one row of delivery_counts without its count.
type deliveryCountKey struct {
	merchantID, endpointID uint
	hour                   int64
	outcome                Outcome
}

// countDeliveries adds a batch of just-stored deliveries to the maintained per-hour counts. It runs
// inside the ingest transaction, after the deliveries are inserted.
func countDeliveries(tx *gorm.DB, ds []*Delivery) error {
	if err := addDeliveryCounts(tx, deliveryCountDeltas(ds)); err != nil {
		return fmt.Errorf("store: count deliveries: %w", err)
	}
	return nil
}

// deliveryCountDeltas is how much each row of delivery_counts grows by ds.
func deliveryCountDeltas(ds []*Delivery) map[deliveryCountKey]int64 {
	deltas := make(map[deliveryCountKey]int64)
	for _, d := range ds {
		deltas[deliveryCountKey{merchantID: d.MerchantID, endpointID: d.EndpointID, hour: unixHour(d.ReceivedAt), outcome: d.Outcome}]++
	}
	return deltas
}

// deliveryCountRows are the rows of deltas in key order: two PostgreSQL transactions counting the
// same hours then lock those rows in the same order and cannot deadlock.
func deliveryCountRows(deltas map[deliveryCountKey]int64) []DeliveryCount {
	rows := make([]DeliveryCount, 0, len(deltas))
	for k, n := range deltas {
		rows = append(rows, DeliveryCount{MerchantID: k.merchantID, Hour: k.hour, EndpointID: k.endpointID, Outcome: k.outcome, N: n})
	}
	slices.SortFunc(rows, func(a, b DeliveryCount) int {
		return cmp.Or(cmp.Compare(a.MerchantID, b.MerchantID), cmp.Compare(a.Hour, b.Hour),
			cmp.Compare(a.EndpointID, b.EndpointID), cmp.Compare(a.Outcome, b.Outcome))
	})
	return rows
}

// addDeliveryCounts adds each delta (negative to subtract) to its row, creating missing rows, in one
// statement, the rows in key order (deliveryCountRows).
func addDeliveryCounts(tx *gorm.DB, deltas map[deliveryCountKey]int64) error {
	if len(deltas) == 0 {
		return nil
	}
	rows := deliveryCountRows(deltas)
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "merchant_id"}, {Name: "hour"}, {Name: "endpoint_id"}, {Name: "outcome"}},
		DoUpdates: clause.Assignments(map[string]any{"n": gorm.Expr("delivery_counts.n + excluded.n")}),
	}).Create(&rows).Error
}

// uncountDeliveries subtracts deleted deliveries, given by their keys, from the counts inside the
// deleting transaction, and drops the rows that reach zero.
func uncountDeliveries(tx *gorm.DB, deleted []deliveryCountKey) error {
	deltas := make(map[deliveryCountKey]int64)
	var merchants []uint
	var hours []int64
	for _, k := range deleted {
		deltas[k]--
		merchants = append(merchants, k.merchantID)
		hours = append(hours, k.hour)
	}
	if len(deltas) == 0 {
		return nil
	}
	if err := addDeliveryCounts(tx, deltas); err != nil {
		return fmt.Errorf("store: uncount deliveries: %w", err)
	}
	slices.Sort(merchants)
	slices.Sort(hours)
	err := tx.Exec(`DELETE FROM delivery_counts WHERE merchant_id IN ? AND hour IN ? AND n <= 0`,
		slices.Compact(merchants), slices.Compact(hours)).Error
	if err != nil {
		return fmt.Errorf("store: uncount deliveries: %w", err)
	}
	return nil
}

// migrateDeliveryCounts creates the maintained counts and fills them from existing deliveries.
// Counts that are empty while deliveries exist come from an install upgraded from before the
// counts were kept: they are filled once, here.
func (s *Store) migrateDeliveryCounts() error {
	if err := s.DB.AutoMigrate(&DeliveryCount{}); err != nil {
		return fmt.Errorf("store: migrate delivery counts: %w", err)
	}
	var counted, delivered []int
	if err := s.DB.Raw(`SELECT 1 FROM delivery_counts LIMIT 1`).Scan(&counted).Error; err != nil {
		return fmt.Errorf("store: migrate delivery counts: %w", err)
	}
	if err := s.DB.Raw(`SELECT 1 FROM deliveries LIMIT 1`).Scan(&delivered).Error; err != nil {
		return fmt.Errorf("store: migrate delivery counts: %w", err)
	}
	if len(counted) > 0 || len(delivered) == 0 {
		return nil
	}
	return s.RecountDeliveries()
}

// RecountDeliveries rebuilds the maintained delivery counts from the deliveries table, in one
// transaction: for a database whose deliveries were written around the store (a bulk load).
func (s *Store) RecountDeliveries() error {
	if err := s.writeTx(recountDeliveries); err != nil {
		return fmt.Errorf("store: recount deliveries: %w", err)
	}
	return nil
}

// recountDeliveries replaces every count by one grouped pass over the deliveries inside tx. On
// PostgreSQL the deliveries are locked against writers first, so that a delivery stored meanwhile
// is neither missed nor counted twice; SQLite's write transaction already excludes other writers.
func recountDeliveries(tx *gorm.DB) error {
	if isPostgres(tx) {
		if err := tx.Exec(`LOCK TABLE deliveries IN SHARE MODE`).Error; err != nil {
			return err
		}
	}
	if err := tx.Exec(`DELETE FROM delivery_counts`).Error; err != nil {
		return err
	}
	return tx.Exec(`INSERT INTO delivery_counts (merchant_id, hour, endpoint_id, outcome, n)
		SELECT merchant_id, ` + unixHourSQL(tx, "received_at") + `, endpoint_id, outcome, COUNT(*)
		FROM deliveries GROUP BY 1, 2, 3, 4`).Error
}
