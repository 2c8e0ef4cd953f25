package views

import (
	"context"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// OrderURL is the dashboard page of an order. References are the merchant's own strings and may
// hold any character, so the reference is path-escaped; "." and ".." are escaped further, because
// a browser would otherwise resolve them as directory steps.
func OrderURL(reference string) string {
	seg := url.PathEscape(reference)
	if seg == "." || seg == ".." {
		seg = strings.ReplaceAll(seg, ".", "%2E")
	}
	return "/orders/" + seg
}

// OrderEvidenceURL is the JSON evidence download of an order.
func OrderEvidenceURL(reference string) string { return OrderURL(reference) + "/evidence.json" }

// recordsEventURL is the dashboard page of an event.
func recordsEventURL(id uint) string { return "/events/" + strconv.FormatUint(uint64(id), 10) }

// RecordsOption is one choice of a filter select.
type RecordsOption struct {
	Value, Label string
}

// OrdersView is the order list: the filters as typed, one page of rows, and the pager.
type OrdersView struct {
	Query, Status string
	// Statuses are the order statuses, for the status filter.
	Statuses []string
	// StatusError explains a status the filter does not know.
	StatusError string
	Rows        []OrderRow
	Pager       Pager
	// Paged is true past the first page (a cursor is in the URL); FirstURL is the first page with
	// the same filters.
	Paged    bool
	FirstURL string
}

// Filtered reports whether any filter narrows the list.
func (v OrdersView) Filtered() bool { return v.Query != "" || v.Status != "" }

// OrderRow is one order in the list.
type OrderRow struct {
	Reference, Status string
	// Amount and Refunded are formatted with their currency, "" when unknown or nothing.
	Amount, Refunded    string
	Provider, PaymentID string
	UpdatedAt           time.Time
}

// OrderView is an order's page: its fields, its history and the events that name it.
type OrderView struct {
	Reference, Status   string
	Amount, Refunded    string
	Currency            string
	Paid                bool
	Provider, PaymentID string
	CreatedAt           time.Time
	UpdatedAt           time.Time
	History             []OrderStep
	Events              []OrderEvent
	// MoreEvents says that only the first events are listed.
	MoreEvents bool
}

// OrderStep is one transition of an order's status.
type OrderStep struct {
	From, To, Reason string
	At               time.Time
	EventID          uint
}

// OrderEvent is one event that names an order.
type OrderEvent struct {
	ID                   uint
	Type, Canonical      string
	Status, Mark, Amount string
	ReceivedAt           time.Time
}

// SearchForm is the search box and its filters, exactly as typed.
type SearchForm struct {
	Q, Endpoint, Outcome, Type, Status, Mark, Since, Until string
}

// SearchView is the search page: the form, its choices and errors, and one page of hits.
type SearchView struct {
	Form      SearchForm
	Endpoints []RecordsOption
	Outcomes  []string
	Statuses  []string
	Marks     []string
	// Errors are field errors keyed by the form field's name.
	Errors map[string]string
	// Searched is true when the query held something to search for.
	Searched bool
	// TermsDropped says that words beyond the limit were ignored.
	TermsDropped bool
	MaxTerms     int
	Hits         []SearchHit
	Pager        Pager
	// CSVURL downloads every hit of the search as CSV.
	CSVURL string
}

// Filtered reports whether a filter besides the query narrows the search.
func (v SearchView) Filtered() bool {
	f := v.Form
	return f.Endpoint != "" || f.Outcome != "" || f.Type != "" || f.Status != "" || f.Mark != "" || f.Since != "" || f.Until != ""
}

// SearchHit is one matching delivery.
type SearchHit struct {
	DeliveryID uint
	// EventID is 0 for a rejected delivery, which has no event.
	EventID    uint
	ReceivedAt time.Time
	Endpoint   string
	Outcome    string
	EventType  string
	// EventStatus and Mark are the event's; "" without an event.
	EventStatus, Mark string
	OrderRef          string
	Body              Excerpt
	// Headers is shown only when a term was found in the headers.
	Headers *Excerpt
}

// URL is where the hit leads: its event, or the delivery itself when it was rejected.
func (h SearchHit) URL() string {
	if h.EventID != 0 {
		return recordsEventURL(h.EventID)
	}
	return "/deliveries/" + strconv.FormatUint(uint64(h.DeliveryID), 10)
}

// Excerpt is a piece of a payload with the matched words marked. Segments are plain text;
// excerptText escapes every one of them.
type Excerpt struct {
	Segments                 []ExcerptSegment
	ClippedStart, ClippedEnd bool
}

// ExcerptSegment is a run of an excerpt, matched or not.
type ExcerptSegment struct {
	Text  string
	Match bool
}

// excerptText writes an excerpt's segments as escaped text, the matched ones inside <mark>, with
// an ellipsis where the text was cut. It writes by hand because a template would put whitespace
// between the segments; every byte of payload text still goes through templ.EscapeString.
func excerptText(e Excerpt) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		var b strings.Builder
		if e.ClippedStart {
			b.WriteString("…")
		}
		for _, s := range e.Segments {
			if s.Match {
				b.WriteString("<mark>" + templ.EscapeString(s.Text) + "</mark>")
			} else {
				b.WriteString(templ.EscapeString(s.Text))
			}
		}
		if e.ClippedEnd {
			b.WriteString("…")
		}
		_, err := io.WriteString(w, b.String())
		return err
	})
}
