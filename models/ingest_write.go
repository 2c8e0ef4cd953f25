package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"gorm.io/gorm"
)

// The ingest writer runs hand-written statements, prepared once, instead of GORM's Create: it is the
// single writer every webhook waits for, and building each INSERT by reflection and preparing it
// again cost more than SQLite's own work on the row. On PostgreSQL, where every statement is a
// round trip, it sends a whole batch in a few statements instead (ingest_postgres.go). The columns
// below are the Delivery and Event models' columns; TestIngestWriterMatchesGORM checks that a row
// written here reads back equal.

const insertEventSQL = `INSERT INTO events (merchant_id, endpoint_id, external_id, provider, type, canonical,
	order_ref, payment_id, amount, has_amount, currency, customer_email, customer_phone, status, attempts,
	next_attempt_at, claim_token, last_error, pending_trigger, pending_actor, applied, mark, mark_note,
	marked_by, marked_at, received_at, processed_at, delivery_count)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (endpoint_id, external_id) DO NOTHING RETURNING id`

const firstEventSQL = `SELECT id FROM events WHERE endpoint_id = ? AND external_id = ?`

const countDuplicateSQL = `UPDATE events SET delivery_count = delivery_count + 1 WHERE id = ?`

// addCountSQL adds to one row of delivery_counts (addDeliveryCounts' statement, without GORM).
const addCountSQL = `INSERT INTO delivery_counts (merchant_id, hour, endpoint_id, outcome, n) VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (merchant_id, hour, endpoint_id, outcome) DO UPDATE SET n = delivery_counts.n + excluded.n`

const insertDeliverySQL = `INSERT INTO deliveries (merchant_id, endpoint_id, received_at, remote_addr, headers,
	body, body_codec, body_size, outcome, reason, status_code, event_id, event_type)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// incomingRow is what the writer needs of an Incoming beyond its fields: values that take CPU to
// compute, computed before the request joins the queue.
type incomingRow struct {
	// headers is the JSON of the delivery's headers, or nil for none (as GORM's json serializer).
	headers *string
	// body is the body as stored, compressed as codec says.
	body  []byte
	codec BodyCodec
	// searchDoc is the PostgreSQL tsvector; search the SQLite search text, which the search indexer
	// is handed after the commit.
	searchDoc string
	search    searchDoc
}

// prepare computes the row's derived values, and gives the event the defaults its columns would
// have had from GORM's Create. PostgreSQL text cannot hold NUL or invalid UTF-8, so there the text
// fields are made storable as GORM's create callback would.
func (in *Incoming) prepare(postgres bool) error {
	d := &in.Delivery
	if d.Headers != nil {
		b, err := json.Marshal(d.Headers)
		if err != nil {
			return fmt.Errorf("headers: %w", err)
		}
		h := string(b)
		in.row.headers = &h
	}
	if e := in.Event; e != nil {
		if e.Canonical == "" {
			e.Canonical = "unknown" // the column's default, which GORM's Create leaves to the database
		}
		e.DeliveryCount = max(e.DeliveryCount, 1)
	}
	in.row.body, in.row.codec = SealBody(d.Body)
	body, headers := searchText(d)
	if postgres {
		in.row.searchDoc = pgSearchDoc(headers, body)
		d.RemoteAddr, d.Reason, d.EventType = pgText(d.RemoteAddr), pgText(d.Reason), pgText(d.EventType)
		if in.Event != nil {
			in.Event.makePGText()
		}
	} else {
		in.row.search = searchDoc{body: body, headers: headers}
	}
	return nil
}

// ingestStatements are the writer's statements, prepared on the pool at the first batch. database/sql
// keeps each one prepared per connection, and a transaction on that connection reuses it.
type ingestStatements struct {
	once                                             sync.Once
	err                                              error
	insertEvent, firstEvent, countDup, ins, addCount *sql.Stmt
}

func (st *ingestStatements) prepare(s *Store) error {
	if s.Postgres() {
		return nil // writeIngestPostgres sends its own statements, which pgx prepares on each connection
	}
	st.once.Do(func() {
		db, err := s.DB.DB()
		if err != nil {
			st.err = err
			return
		}
		for _, p := range []struct {
			dst **sql.Stmt
			sql string
		}{
			{&st.insertEvent, insertEventSQL}, {&st.firstEvent, firstEventSQL},
			{&st.countDup, countDuplicateSQL}, {&st.ins, insertDeliverySQL}, {&st.addCount, addCountSQL},
		} {
			if *p.dst, st.err = db.Prepare(p.sql); st.err != nil {
				st.err = fmt.Errorf("prepare ingest statement: %w", st.err)
				return
			}
		}
	})
	return st.err
}

// close releases the prepared statements.
func (st *ingestStatements) close() {
	for _, stmt := range []*sql.Stmt{st.insertEvent, st.firstEvent, st.countDup, st.ins, st.addCount} {
		if stmt != nil {
			stmt.Close()
		}
	}
}

// writeIngest stores a batch of incoming requests in one write transaction: each event (or, for a
// duplicate, one more delivery of the first), each delivery, and the batch's counts; on PostgreSQL
// its search rows too. On SQLite the search indexer is handed the batch's text after the commit.
func (s *Store) writeIngest(st *ingestStatements, batch []*ingestJob) error {
	if err := st.prepare(s); err != nil {
		return err
	}
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	defer s.lockIngestWrites()()
	ctx := context.Background()
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := s.writeIngestTx(ctx, tx, st, batch); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if !s.Postgres() {
		docs := make([]searchDoc, len(batch))
		for i, j := range batch {
			docs[i] = j.in.row.search
			docs[i].id = j.result.DeliveryID
		}
		s.handSearchIndexer(docs)
	}
	return nil
}

func (s *Store) writeIngestTx(ctx context.Context, tx *sql.Tx, st *ingestStatements, batch []*ingestJob) error {
	if s.Postgres() {
		return s.writeIngestPostgres(ctx, tx, batch)
	}
	insertEvent, firstEvent := tx.StmtContext(ctx, st.insertEvent), tx.StmtContext(ctx, st.firstEvent)
	countDup, insertDelivery := tx.StmtContext(ctx, st.countDup), tx.StmtContext(ctx, st.ins)
	stored := make([]*Delivery, len(batch))
	for i, j := range batch {
		in := j.in
		d := in.Delivery
		d.ID = 0
		if ev := in.Event; ev != nil {
			var id uint
			err := insertEvent.QueryRowContext(ctx, ev.MerchantID, ev.EndpointID, ev.ExternalID, ev.Provider, ev.Type,
				string(ev.Canonical), ev.OrderRef, ev.PaymentID, ev.Amount, ev.HasAmount, ev.Currency, ev.CustomerEmail,
				ev.CustomerPhone, string(ev.Status), ev.Attempts, ev.NextAttemptAt, ev.ClaimToken, ev.LastError,
				string(ev.PendingTrigger), ev.PendingActor, ev.Applied, string(ev.Mark), ev.MarkNote, ev.MarkedBy,
				ev.MarkedAt, ev.ReceivedAt, ev.ProcessedAt, ev.DeliveryCount).Scan(&id)
			switch {
			case err == nil:
				d.Outcome = OutcomeAccepted
			case errors.Is(err, sql.ErrNoRows):
				// Already stored: this delivery is a duplicate of the first event.
				if err := firstEvent.QueryRowContext(ctx, ev.EndpointID, ev.ExternalID).Scan(&id); err != nil {
					return fmt.Errorf("first delivery of event %q: %w", ev.ExternalID, err)
				}
				if _, err := countDup.ExecContext(ctx, id); err != nil {
					return err
				}
				d.Outcome = OutcomeDuplicate
			default:
				return err
			}
			d.EventID = &id
		}
		args := []any{d.MerchantID, d.EndpointID, d.ReceivedAt, d.RemoteAddr, in.row.headers, in.row.body, string(in.row.codec), d.BodySize,
			string(d.Outcome), d.Reason, d.StatusCode, d.EventID, d.EventType}
		res, err := insertDelivery.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		d.ID = uint(id)
		j.result = Stored{DeliveryID: d.ID, Outcome: d.Outcome}
		if d.EventID != nil {
			j.result.EventID = *d.EventID
		}
		stored[i] = &d
	}
	// The batch's counts, usually one or two rows (an endpoint's hour and outcome), through the
	// prepared statement: GORM's Create for them cost the writer about 6% of its time.
	addCount := tx.StmtContext(ctx, st.addCount)
	for _, c := range deliveryCountRows(deliveryCountDeltas(stored)) {
		if _, err := addCount.ExecContext(ctx, c.MerchantID, c.Hour, c.EndpointID, string(c.Outcome), c.N); err != nil {
			return fmt.Errorf("store: count deliveries: %w", err)
		}
	}
	return nil
}

// onTx is a GORM handle on an open database/sql transaction. A Context makes Session copy the
// statement, so setting its connection pool leaves s.DB alone.
func (s *Store) onTx(ctx context.Context, tx *sql.Tx) *gorm.DB {
	g := s.DB.Session(&gorm.Session{NewDB: true, Context: ctx})
	g.Statement.ConnPool = tx
	return g
}
