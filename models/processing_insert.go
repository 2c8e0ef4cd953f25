package models

import (
	"strings"

	"gorm.io/gorm"
)

// Completing a batch of events inserts its attempts and order transitions, and the orders its events
// create, with these hand-written statements instead of GORM's Create: building each INSERT by
// reflection cost about as much as SQLite's own work on the rows, inside the write transaction that
// every webhook waits behind on SQLite. The column lists are the models' columns;
// TestCompletionInsertsMatchGORM checks that rows written here read back as GORM would have written
// them.

// insertAttempts inserts attempts in one statement, in the order given.
func insertAttempts(tx *gorm.DB, as []Attempt) error {
	rows := make([][]any, len(as))
	for i, a := range as {
		rows[i] = []any{a.EventID, a.StartedAt, a.FinishedAt, string(a.Outcome), a.Result, a.Error, string(a.Trigger), a.Actor}
	}
	return insertRows(tx, "attempts", `event_id, started_at, finished_at, outcome, result, error, "trigger", actor`, rows)
}

// insertTransitions inserts order transitions in one statement, in the order given.
func insertTransitions(tx *gorm.DB, ts []OrderTransition) error {
	rows := make([][]any, len(ts))
	for i, t := range ts {
		rows[i] = []any{t.OrderID, string(t.From), string(t.To), t.EventID, t.Reason, t.At}
	}
	return insertRows(tx, "order_transitions", `order_id, "from", "to", event_id, reason, at`, rows)
}

// insertNewOrder inserts o unless its merchant already has an order with that reference, and sets
// o.ID to the new row's id (left 0 when the order already existed). On SQLite the id comes from the
// statement's result: a query (RETURNING) inside a database/sql transaction costs a goroutine and
// its wake-ups for every row, and one new order per event is common.
func insertNewOrder(tx *gorm.DB, o *Order) error {
	row := []any{o.MerchantID, o.Reference, string(o.Status), o.Paid, o.Amount, o.HasAmount, o.Currency,
		o.RefundedAmount, o.FullRefund, o.PaymentID, o.Provider, o.CreatedAt, o.UpdatedAt}
	const insert = `INSERT INTO orders (merchant_id, reference, status, paid, amount, has_amount, currency,
		refunded_amount, full_refund, payment_id, provider, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (merchant_id, reference) DO NOTHING`
	if isPostgres(tx) {
		storableRow(tx, row)
		var ids []uint
		if err := tx.Raw(insert+" RETURNING id", row...).Scan(&ids).Error; err != nil {
			return err
		}
		if len(ids) == 1 {
			o.ID = ids[0]
		}
		return nil
	}
	res, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, insert, row...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	id, err := res.LastInsertId()
	o.ID = uint(id)
	return err
}

// insertRows inserts rows (each the values of columns, in order) into table in one statement.
func insertRows(tx *gorm.DB, table, columns string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + columns + ") VALUES ")
	args := make([]any, 0, len(rows)*len(rows[0]))
	one := "(" + placeholders(len(rows[0])) + ")"
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
		storableRow(tx, r)
		args = append(args, r...)
	}
	return tx.Exec(b.String(), args...).Error
}

// storableRow makes a row's text storable on PostgreSQL (see pgText), as GORM's create callback
// does for the models.
func storableRow(tx *gorm.DB, row []any) {
	if !isPostgres(tx) {
		return
	}
	for i, v := range row {
		if s, ok := v.(string); ok {
			row[i] = pgText(s)
		}
	}
}
