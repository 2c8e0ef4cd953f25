package models

import "gorm.io/gorm"

// countDeliveries adds a batch of just-stored deliveries to the maintained per-hour counts. It runs
// inside the ingest transaction, after the deliveries are inserted.
// TODO(helper): maintained counts for the overview.
func countDeliveries(tx *gorm.DB, ds []*Delivery) error { return nil }

// migrateDeliveryCounts creates the maintained counts and fills them from existing deliveries.
func (s *Store) migrateDeliveryCounts() error { return nil }
