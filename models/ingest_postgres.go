package models

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// The ingest writer on PostgreSQL. There every statement is a network round trip, so a batch goes in
// a fixed handful of statements whatever its size: its rows travel as one array per column, which
// unnest turns back into rows. Each statement's text and its number of parameters (one per column,
// far below PostgreSQL's limit of 65535) are then the same for every batch, and pgx prepares each
// once per connection.

// pgTakeIDsSQL draws the ids of a batch's new events ($1 of them) and deliveries ($2) from their
// sequences, as rows (true, event id) and (false, delivery id). Drawn beforehand, each id belongs to
// a known request: PostgreSQL promises no order for the rows of RETURNING.
const pgTakeIDsSQL = `SELECT true, nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, $1::int)
	UNION ALL SELECT false, nextval(pg_get_serial_sequence('deliveries', 'id')) FROM generate_series(1, $2::int)`

// pgInsertEventsSQL inserts events that are not stored yet and returns the ids of those it stored.
const pgInsertEventsSQL = `INSERT INTO events (id, merchant_id, endpoint_id, external_id, provider, type, canonical,
	order_ref, payment_id, amount, has_amount, currency, customer_email, customer_phone, status, attempts,
	next_attempt_at, claim_token, last_error, pending_trigger, pending_actor, applied, mark, mark_note,
	marked_by, marked_at, received_at, processed_at, delivery_count)
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
	$8::text[], $9::text[], $10::bigint[], $11::boolean[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[],
	$17::timestamptz[], $18::text[], $19::text[], $20::text[], $21::text[], $22::boolean[], $23::text[], $24::text[],
	$25::text[], $26::timestamptz[], $27::timestamptz[], $28::timestamptz[], $29::bigint[])
	ON CONFLICT (endpoint_id, external_id) DO NOTHING RETURNING id`

// pgStoredEventsSQL finds the stored events of (endpoint id, external id) pairs and locks them in id
// order, the order the worker locks events in, so that neither waits for the other in a cycle.
const pgStoredEventsSQL = `SELECT id, endpoint_id, external_id FROM events
	WHERE (endpoint_id, external_id) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))
	ORDER BY id FOR UPDATE`

// pgCountDuplicatesSQL adds to each event's delivery_count its number of duplicate deliveries.
const pgCountDuplicatesSQL = `UPDATE events SET delivery_count = events.delivery_count + d.n
	FROM unnest($1::bigint[], $2::bigint[]) AS d(id, n) WHERE events.id = d.id`

const pgInsertDeliveriesSQL = `INSERT INTO deliveries (id, merchant_id, endpoint_id, received_at, remote_addr, headers,
	body, body_codec, body_size, outcome, reason, status_code, event_id, event_type)
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::text[], $6::text[],
	$7::bytea[], $8::text[], $9::bigint[], $10::text[], $11::text[], $12::bigint[], $13::bigint[], $14::text[])`

const pgInsertSearchSQL = `INSERT INTO delivery_search (delivery_id, doc)
	SELECT id, CAST(doc AS tsvector) FROM unnest($1::bigint[], $2::text[]) AS r(id, doc)`

// eventKey identifies an event: its endpoint and the provider's id for it.
type eventKey struct {
	endpointID uint
	externalID string
}

// pgBatchEvent is one event of a batch, however many of its requests the batch holds.
type pgBatchEvent struct {
	row Event
	// first is the batch index of its first request, copies how many requests carry it.
	first, copies int
	// stored is set when the event was stored before this batch: every copy is then a duplicate.
	stored bool
}

// writeIngestPostgres is writeIngestTx on PostgreSQL. It keeps what storing the requests one by one
// in batch order would do: an event's first request is accepted and the later ones are duplicates
// counted in its delivery_count, ids ascend in batch order, and a request whose event was stored
// before is a duplicate of that event.
func (s *Store) writeIngestPostgres(ctx context.Context, tx *sql.Tx, batch []*ingestJob) error {
	var events []*pgBatchEvent
	eventOf := make([]*pgBatchEvent, len(batch))
	byKey := make(map[eventKey]*pgBatchEvent)
	for i, j := range batch {
		ev := j.in.Event
		if ev == nil {
			continue
		}
		k := eventKey{ev.EndpointID, ev.ExternalID}
		e := byKey[k]
		if e == nil {
			e = &pgBatchEvent{row: *ev, first: i}
			byKey[k] = e
			events = append(events, e)
		}
		e.copies++
		eventOf[i] = e
	}
	eventIDs, deliveryIDs, err := pgTakeIDs(ctx, tx, len(events), len(batch))
	if err != nil {
		return err
	}
	for i, e := range events {
		e.row.ID = eventIDs[i]
		// The batch's later copies are counted here rather than by an update of the new row.
		e.row.DeliveryCount += e.copies - 1
	}
	if err := pgInsertEvents(ctx, tx, events); err != nil {
		return err
	}

	stored := make([]*Delivery, len(batch))
	rows := make([]pgDeliveryRow, len(batch))
	for i, j := range batch {
		d := j.in.Delivery
		d.ID = deliveryIDs[i]
		if e := eventOf[i]; e != nil {
			d.Outcome = OutcomeDuplicate
			if e.first == i && !e.stored {
				d.Outcome = OutcomeAccepted
			}
			d.EventID = &e.row.ID
		}
		stored[i], rows[i] = &d, pgDeliveryRow{&d, &j.in.row}
		j.result = Stored{DeliveryID: d.ID, Outcome: d.Outcome}
		if d.EventID != nil {
			j.result.EventID = *d.EventID
		}
	}
	if err := pgInsertDeliveries(ctx, tx, rows); err != nil {
		return err
	}
	return countDeliveries(s.onTx(ctx, tx), stored)
}

// pgTakeIDs draws the given numbers of event and delivery ids, each in ascending order.
func pgTakeIDs(ctx context.Context, tx *sql.Tx, events, deliveries int) (eventIDs, deliveryIDs []uint, err error) {
	rows, err := tx.QueryContext(ctx, pgTakeIDsSQL, events, deliveries)
	if err != nil {
		return nil, nil, fmt.Errorf("take ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var event bool
		var id uint
		if err := rows.Scan(&event, &id); err != nil {
			return nil, nil, fmt.Errorf("take ids: %w", err)
		}
		if event {
			eventIDs = append(eventIDs, id)
		} else {
			deliveryIDs = append(deliveryIDs, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("take ids: %w", err)
	}
	if len(eventIDs) != events || len(deliveryIDs) != deliveries {
		return nil, nil, fmt.Errorf("take ids: got %d event and %d delivery ids, want %d and %d",
			len(eventIDs), len(deliveryIDs), events, deliveries)
	}
	slices.Sort(eventIDs)
	slices.Sort(deliveryIDs)
	return eventIDs, deliveryIDs, nil
}

// pgInsertEvents inserts the batch's events. Those stored before the batch are marked stored and
// take the stored event's id, and their copies are added to its delivery_count.
func pgInsertEvents(ctx context.Context, tx *sql.Tx, events []*pgBatchEvent) error {
	if len(events) == 0 {
		return nil
	}
	// In key order: two instances inserting the same new events then wait for each other's
	// uncommitted rows in the same order, never in a cycle.
	rows := make([]*Event, len(events))
	for i, e := range events {
		rows[i] = &e.row
	}
	slices.SortFunc(rows, func(a, b *Event) int {
		return cmp.Or(cmp.Compare(a.EndpointID, b.EndpointID), cmp.Compare(a.ExternalID, b.ExternalID))
	})
	res, err := tx.QueryContext(ctx, pgInsertEventsSQL,
		pgColumn(rows, func(e *Event) int64 { return int64(e.ID) }),
		pgColumn(rows, func(e *Event) int64 { return int64(e.MerchantID) }),
		pgColumn(rows, func(e *Event) int64 { return int64(e.EndpointID) }),
		pgColumn(rows, func(e *Event) string { return e.ExternalID }),
		pgColumn(rows, func(e *Event) string { return e.Provider }),
		pgColumn(rows, func(e *Event) string { return e.Type }),
		pgColumn(rows, func(e *Event) string { return string(e.Canonical) }),
		pgColumn(rows, func(e *Event) string { return e.OrderRef }),
		pgColumn(rows, func(e *Event) string { return e.PaymentID }),
		pgColumn(rows, func(e *Event) int64 { return e.Amount }),
		pgColumn(rows, func(e *Event) bool { return e.HasAmount }),
		pgColumn(rows, func(e *Event) string { return e.Currency }),
		pgColumn(rows, func(e *Event) string { return e.CustomerEmail }),
		pgColumn(rows, func(e *Event) string { return e.CustomerPhone }),
		pgColumn(rows, func(e *Event) string { return string(e.Status) }),
		pgColumn(rows, func(e *Event) int64 { return int64(e.Attempts) }),
		pgColumn(rows, func(e *Event) *time.Time { return e.NextAttemptAt }),
		pgColumn(rows, func(e *Event) string { return e.ClaimToken }),
		pgColumn(rows, func(e *Event) string { return e.LastError }),
		pgColumn(rows, func(e *Event) string { return string(e.PendingTrigger) }),
		pgColumn(rows, func(e *Event) string { return e.PendingActor }),
		pgColumn(rows, func(e *Event) bool { return e.Applied }),
		pgColumn(rows, func(e *Event) string { return string(e.Mark) }),
		pgColumn(rows, func(e *Event) string { return e.MarkNote }),
		pgColumn(rows, func(e *Event) string { return e.MarkedBy }),
		pgColumn(rows, func(e *Event) *time.Time { return e.MarkedAt }),
		pgColumn(rows, func(e *Event) time.Time { return e.ReceivedAt }),
		pgColumn(rows, func(e *Event) *time.Time { return e.ProcessedAt }),
		pgColumn(rows, func(e *Event) int64 { return int64(e.DeliveryCount) }))
	if err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	defer res.Close()
	inserted := make(map[uint]bool, len(events))
	for res.Next() {
		var id uint
		if err := res.Scan(&id); err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		inserted[id] = true
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	var before []*pgBatchEvent
	for _, e := range events {
		if !inserted[e.row.ID] {
			e.stored = true
			before = append(before, e)
		}
	}
	if len(before) == 0 {
		return nil
	}
	return pgCountStoredEvents(ctx, tx, before)
}

// pgCountStoredEvents gives events stored before the batch their stored id, and adds every copy
// the batch holds to their delivery_count.
func pgCountStoredEvents(ctx context.Context, tx *sql.Tx, events []*pgBatchEvent) error {
	byKey := make(map[eventKey]*pgBatchEvent, len(events))
	for _, e := range events {
		byKey[eventKey{e.row.EndpointID, e.row.ExternalID}] = e
	}
	res, err := tx.QueryContext(ctx, pgStoredEventsSQL,
		pgColumn(events, func(e *pgBatchEvent) int64 { return int64(e.row.EndpointID) }),
		pgColumn(events, func(e *pgBatchEvent) string { return e.row.ExternalID }))
	if err != nil {
		return fmt.Errorf("find stored events: %w", err)
	}
	defer res.Close()
	// In id order, as locked.
	var ids, counts []int64
	for res.Next() {
		var id uint
		var k eventKey
		if err := res.Scan(&id, &k.endpointID, &k.externalID); err != nil {
			return fmt.Errorf("find stored events: %w", err)
		}
		if e := byKey[k]; e != nil {
			e.row.ID = id
			delete(byKey, k)
			ids, counts = append(ids, int64(id)), append(counts, int64(e.copies))
		}
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("find stored events: %w", err)
	}
	for _, e := range byKey {
		return fmt.Errorf("first delivery of event %q: %w", e.row.ExternalID, sql.ErrNoRows)
	}
	if _, err := tx.ExecContext(ctx, pgCountDuplicatesSQL, ids, counts); err != nil {
		return fmt.Errorf("count duplicates: %w", err)
	}
	return nil
}

// pgDeliveryRow is a delivery to insert with its computed values.
type pgDeliveryRow struct {
	d   *Delivery
	row *incomingRow
}

// pgInsertDeliveries inserts deliveries and their search rows.
func pgInsertDeliveries(ctx context.Context, tx *sql.Tx, rows []pgDeliveryRow) error {
	ids := pgColumn(rows, func(r pgDeliveryRow) int64 { return int64(r.d.ID) })
	_, err := tx.ExecContext(ctx, pgInsertDeliveriesSQL,
		ids,
		pgColumn(rows, func(r pgDeliveryRow) int64 { return int64(r.d.MerchantID) }),
		pgColumn(rows, func(r pgDeliveryRow) int64 { return int64(r.d.EndpointID) }),
		pgColumn(rows, func(r pgDeliveryRow) time.Time { return r.d.ReceivedAt }),
		pgColumn(rows, func(r pgDeliveryRow) string { return r.d.RemoteAddr }),
		pgColumn(rows, func(r pgDeliveryRow) *string { return r.row.headers }),
		pgColumn(rows, func(r pgDeliveryRow) []byte { return r.row.body }),
		pgColumn(rows, func(r pgDeliveryRow) string { return string(r.row.codec) }),
		pgColumn(rows, func(r pgDeliveryRow) int64 { return r.d.BodySize }),
		pgColumn(rows, func(r pgDeliveryRow) string { return string(r.d.Outcome) }),
		pgColumn(rows, func(r pgDeliveryRow) string { return r.d.Reason }),
		pgColumn(rows, func(r pgDeliveryRow) int64 { return int64(r.d.StatusCode) }),
		pgColumn(rows, func(r pgDeliveryRow) *int64 {
			if r.d.EventID == nil {
				return nil
			}
			id := int64(*r.d.EventID)
			return &id
		}),
		pgColumn(rows, func(r pgDeliveryRow) string { return r.d.EventType }))
	if err != nil {
		return fmt.Errorf("insert deliveries: %w", err)
	}
	docs := pgColumn(rows, func(r pgDeliveryRow) string { return r.row.searchDoc })
	if _, err := tx.ExecContext(ctx, pgInsertSearchSQL, ids, docs); err != nil {
		return fmt.Errorf("index deliveries: %w", err)
	}
	return nil
}

// pgColumn is one column of rows, as an array for unnest.
func pgColumn[R, T any](rows []R, value func(R) T) []T {
	c := make([]T, len(rows))
	for i, r := range rows {
		c[i] = value(r)
	}
	return c
}
