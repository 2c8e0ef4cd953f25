package models

import (
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// storeIncoming writes one delivery (and its event unless it is a duplicate) inside tx with GORM, for
// tests that set up rows inside their own transaction. The server stores through Ingester, whose
// writer TestIngestWriterMatchesGORM compares with this.
func storeIncoming(tx *gorm.DB, in *Incoming) (Stored, *Delivery, error) {
	d := in.Delivery
	d.ID = 0
	if in.Event != nil {
		ev := *in.Event
		ev.ID = 0
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ev).Error; err != nil {
			return Stored{}, nil, err
		}
		if ev.ID != 0 {
			d.Outcome = OutcomeAccepted
		} else {
			var first Event
			if err := tx.Select("id").Where("endpoint_id = ? AND external_id = ?", ev.EndpointID, ev.ExternalID).Take(&first).Error; err != nil {
				return Stored{}, nil, err
			}
			if err := tx.Model(&Event{}).Where("id = ?", first.ID).Update("delivery_count", gorm.Expr("delivery_count + 1")).Error; err != nil {
				return Stored{}, nil, err
			}
			ev.ID = first.ID
			d.Outcome = OutcomeDuplicate
		}
		d.EventID = &ev.ID
	}
	if err := tx.Create(&d).Error; err != nil {
		return Stored{}, nil, err
	}
	r := Stored{DeliveryID: d.ID, Outcome: d.Outcome}
	if d.EventID != nil {
		r.EventID = *d.EventID
	}
	return r, &d, nil
}

// indexStored indexes a delivery a test stored with storeIncoming as the server would: inline on
// PostgreSQL; on SQLite the search indexer takes it in (and every search catches it up first).
func indexStored(tx *gorm.DB, d *Delivery) error {
	if isPostgres(tx) {
		return pgIndexDelivery(tx, d)
	}
	return nil
}
