package views

import (
	"net/url"
	"time"
)

// FilterOption is one choice of a <select>.
type FilterOption struct {
	Value, Label string
}

// OverviewView is the overview page.
type OverviewView struct {
	// Empty is true until the merchant's first delivery.
	Empty bool
	// IngestURL is the first endpoint's ingest URL, for the empty state ("" without endpoints).
	IngestURL  string
	CanOperate bool
	// IsAdmin decides whether links to the admin-only endpoints pages are offered.
	IsAdmin   bool
	Stats     []Stat
	Backlog   []Stat
	Chart     Chart
	Failures  []FailureRow
	Endpoints []EndpointHealthRow
}

// FailureRow is a recent rejected delivery or failed event.
type FailureRow struct {
	URL      string
	At       time.Time
	Endpoint string
	Type     string
	Status   string
	Reason   string
}

// EndpointHealthRow is one endpoint on the overview.
type EndpointHealthRow struct {
	Name, URL, Provider string
	Enabled             bool
	LastDelivery        time.Time
	Deliveries          string
	ErrorRate           string
	// Warn flags an endpoint whose deliveries were rejected in the window.
	Warn          bool
	DeliveriesURL string
}

// DeliveryFilterForm is the deliveries filter as the form and the URL carry it.
type DeliveryFilterForm struct {
	Endpoint, Outcome, Type, Status, Mark, Since, Until string
}

// Values encodes the non-empty fields as query parameters.
func (f DeliveryFilterForm) Values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"endpoint", f.Endpoint}, {"outcome", f.Outcome}, {"type", f.Type}, {"status", f.Status},
		{"mark", f.Mark}, {"since", f.Since}, {"until", f.Until}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return v
}

// Active reports whether any filter is set.
func (f DeliveryFilterForm) Active() bool { return len(f.Values()) > 0 }

// DeliveriesView is the deliveries page.
type DeliveriesView struct {
	Filter DeliveryFilterForm
	// SinceError and UntilError explain a time the list could not use.
	SinceError, UntilError string
	Endpoints              []FilterOption
	Rows                   []DeliveryRow
	// NewestURL links back to the first page from a later one; OlderURL to the next page.
	NewestURL, OlderURL string
	// Poll is set on the first page only, where new deliveries appear by themselves.
	Poll       *DeliveryPoll
	CSVURL     string
	CanOperate bool
	// IsAdmin decides whether links to the admin-only endpoints pages are offered.
	IsAdmin   bool
	CSRFToken string
	// NewAccount is true when the merchant never received a delivery.
	NewAccount bool
}

// DeliveryPoll is the element that asks for deliveries newer than the newest shown.
type DeliveryPoll struct {
	URL string
}

// DeliveryRow is one delivery in the list.
type DeliveryRow struct {
	ID         uint
	URL        string
	ReceivedAt time.Time
	Endpoint   string
	Outcome    string
	EventID    uint
	EventType  string
	Status     string
	Mark       string
	StatusCode int
	Reason     string
	Size       string
}

// HeaderLine is one request header.
type HeaderLine struct {
	Name, Value string
}

// StoredBody is a stored request body ready to show.
type StoredBody struct {
	Text string
	// Pretty is true when Text is re-indented JSON.
	Pretty bool
	// Binary is true when the body is not text and Text is empty.
	Binary bool
	Size   string
	Empty  bool
}

// DeliveryView is the detail page of one delivery.
type DeliveryView struct {
	ID         uint
	ReceivedAt time.Time
	Endpoint   string
	RemoteAddr string
	Outcome    string
	StatusCode int
	Reason     string
	EventID    uint
	EventType  string
	Headers    []HeaderLine
	Body       StoredBody
}

// EventView is the detail page of one event.
type EventView struct {
	ID                   uint
	Type, Canonical      string
	Provider, ExternalID string
	Endpoint             string
	EndpointURL          string
	ReceivedAt           time.Time
	ProcessedAt          time.Time
	Amount               string
	OrderRef, PaymentID  string
	CustomerEmail        string
	Body                 StoredBody
	RawURL               string
	EvidenceURL          string
	Headers              []HeaderLine
	Verification         Verification
	Deliveries           []EventDeliveryRow
	Attempts             []AttemptRow
	Order                *OrderLink
	Transitions          []TransitionRow
	State                EventState
}

// Verification says whether and how an event's signature was checked.
type Verification struct {
	Verified        bool
	Summary, Detail string
	SignatureHeader string
}

// EventDeliveryRow is one delivery of an event.
type EventDeliveryRow struct {
	ReceivedAt time.Time
	RemoteAddr string
	Outcome    string
	StatusCode int
	Size       string
	URL        string
}

// AttemptRow is one processing run of an event.
type AttemptRow struct {
	StartedAt      time.Time
	Duration       string
	Trigger, Actor string
	Outcome        string
	Result, Error  string
}

// OrderLink is the order an event belongs to.
type OrderLink struct {
	Reference, URL, Status string
}

// TransitionRow is one step of an order's history that the event caused.
type TransitionRow struct {
	From, To, Reason string
	At               time.Time
}

// EventState is the event's processing state and its actions: the fragment replay and mark swap.
type EventState struct {
	EventID    uint
	Status     string
	Attempts   int
	NextRetry  time.Time
	LastError  string
	Mark       string
	Note       string
	MarkedBy   string
	MarkedAt   time.Time
	CanOperate bool
	Processing bool
	CSRFToken  string
	Form       MarkForm
}

// MarkForm is the mark form's input and its errors.
type MarkForm struct {
	Mark, Note           string
	MarkError, NoteError string
}

// ReplayPreviewView is the confirmation page of a bulk replay.
type ReplayPreviewView struct {
	Count     int64
	Headline  string
	Detail    string
	Hidden    []HeaderLine // the selection, carried to the confirm post as hidden fields
	CancelURL string
	CSRFToken string
}

// ReplayJobView is one bulk replay job.
type ReplayJobView struct {
	ID          uint
	URL         string
	Status      string
	Running     bool
	Scope       string
	ScopeURL    string
	Total, Done int
	Skipped     int
	Percent     int
	Label       string
	CreatedBy   string
	CreatedAt   time.Time
	FinishedAt  time.Time
	CancelledBy string
	Error       string
	Waiting     int64
	Processed   int64
	Failed      int64
	CanOperate  bool
	CSRFToken   string
}

// ReplayJobsView is the list of recent jobs.
type ReplayJobsView struct {
	Jobs  []ReplayJobView
	Pager Pager
}
