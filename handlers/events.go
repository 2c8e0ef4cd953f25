package handlers

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/views"
	"hooklog/webhooks"
)

// Events serves one event's page, its raw body and evidence bundle, and the replay and mark actions.
type Events struct {
	Store    *models.Store
	Sessions *Sessions
	// Wake nudges the workers after a replay; may be nil.
	Wake func()
}

// maxNoteChars is the longest note a mark may carry.
const maxNoteChars = 2000

// load returns one of the principal's events, or a 404.
func (h *Events) load(c echo.Context) (*models.Event, error) {
	id, err := pathID(c)
	if err != nil {
		return nil, err
	}
	ev, err := h.Store.Event(principal(c).MerchantID, id)
	if err != nil {
		return nil, notFoundOr(err, "event")
	}
	return ev, nil
}

func eventPath(id uint) string { return "/events/" + strconv.FormatUint(uint64(id), 10) }

// Show handles GET /events/{id}.
func (h *Events) Show(c echo.Context) error {
	ev, err := h.load(c)
	if err != nil {
		return err
	}
	v, err := h.view(c, ev, markFormOf(ev))
	if err != nil {
		return err
	}
	return h.Sessions.renderPage(c, http.StatusOK, fmt.Sprintf("Event %d", ev.ID), views.NavDeliveries, views.EventPage(v))
}

func markFormOf(ev *models.Event) views.MarkForm {
	return views.MarkForm{Mark: string(ev.Mark), Note: ev.MarkNote}
}

// view gathers everything the event page shows.
func (h *Events) view(c echo.Context, ev *models.Event, form views.MarkForm) (views.EventView, error) {
	v := views.EventView{ID: ev.ID, Type: ev.Type, Canonical: string(ev.Canonical), Provider: ev.Provider, ExternalID: ev.ExternalID,
		ReceivedAt: ev.ReceivedAt, OrderRef: ev.OrderRef, PaymentID: ev.PaymentID, CustomerEmail: ev.CustomerEmail,
		RawURL: eventPath(ev.ID) + "/raw", EvidenceURL: eventPath(ev.ID) + "/evidence.json",
		EndpointURL: "/deliveries?endpoint=" + strconv.FormatUint(uint64(ev.EndpointID), 10),
		State:       h.state(c, ev, form)}
	if ev.ProcessedAt != nil {
		v.ProcessedAt = *ev.ProcessedAt
	}
	if ev.HasAmount {
		v.Amount = strings.TrimSpace(webhooks.FormatAmount(ev.Amount, ev.Currency) + " " + ev.Currency)
	}
	ep, err := h.Store.Endpoint(ev.MerchantID, ev.EndpointID)
	if err != nil {
		return v, err
	}
	v.Endpoint = ep.Name
	ds, err := h.Store.EventDeliveries(ev.ID)
	if err != nil {
		return v, err
	}
	var first *models.Delivery
	for i := range ds {
		d := &ds[i]
		if first == nil && d.Outcome == models.OutcomeAccepted {
			first = d
		}
		v.Deliveries = append(v.Deliveries, views.EventDeliveryRow{ReceivedAt: d.ReceivedAt, RemoteAddr: d.RemoteAddr,
			Outcome: string(d.Outcome), StatusCode: d.StatusCode, Size: views.FormatBytes(d.BodySize),
			URL: "/deliveries/" + strconv.FormatUint(uint64(d.ID), 10)})
	}
	if first != nil {
		v.Body = storedBody(first.Body, first.BodySize)
		v.Headers = headerLines(first.Headers)
	} else {
		v.Body = views.StoredBody{Empty: true, Size: views.FormatBytes(0)}
	}
	v.Verification = verificationOf(ep, first, len(ds))
	as, err := h.Store.EventAttempts(ev.ID)
	if err != nil {
		return v, err
	}
	for _, a := range as {
		v.Attempts = append(v.Attempts, views.AttemptRow{StartedAt: a.StartedAt,
			Duration: a.FinishedAt.Sub(a.StartedAt).Round(time.Millisecond).String(), Trigger: string(a.Trigger), Actor: a.Actor,
			Outcome: string(a.Outcome), Result: a.Result, Error: a.Error})
	}
	o, err := h.Store.EventOrder(ev)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return v, err
	}
	if o != nil {
		v.Order = &views.OrderLink{Reference: o.Reference, URL: views.OrderURL(o.Reference), Status: string(o.Status)}
		ts, err := h.Store.EventTransitions(ev.ID)
		if err != nil {
			return v, err
		}
		for _, t := range ts {
			v.Transitions = append(v.Transitions, views.TransitionRow{From: string(t.From), To: string(t.To), Reason: t.Reason, At: t.At})
		}
	}
	return v, nil
}

// verificationOf explains how the event's signature was checked. Only verified requests become
// events, so an event always has its accepted delivery; the fallback covers damaged data.
func verificationOf(ep *models.Endpoint, first *models.Delivery, deliveries int) views.Verification {
	header := ""
	if p, err := ep.Profile(); err == nil {
		header = p.SignatureHeader()
	}
	if first == nil {
		return views.Verification{Summary: "No verified delivery of this event is stored.", SignatureHeader: header}
	}
	v := views.Verification{Verified: true, SignatureHeader: header,
		Summary: fmt.Sprintf("The signature in the %s header matched a signing secret of the endpoint %q (%s) when the first delivery arrived, %s.",
			header, ep.Name, ep.Provider, first.ReceivedAt.UTC().Format("2006-01-02 15:04:05 UTC"))}
	if deliveries > 1 {
		v.Detail = fmt.Sprintf("%d later deliveries of the same event were verified too and stored as duplicates.", deliveries-1)
	}
	return v
}

// state is the event's status-and-actions fragment.
func (h *Events) state(c echo.Context, ev *models.Event, form views.MarkForm) views.EventState {
	p := principal(c)
	s := views.EventState{EventID: ev.ID, Status: string(ev.Status), Attempts: ev.Attempts, LastError: ev.LastError,
		Mark: string(ev.Mark), Note: ev.MarkNote, MarkedBy: ev.MarkedBy, CanOperate: p.Role.CanOperate(),
		Processing: ev.Status == models.StatusProcessing, CSRFToken: h.Sessions.csrfToken(c), Form: form}
	if ev.MarkedAt != nil && ev.MarkedBy != "" {
		s.MarkedAt = *ev.MarkedAt
	}
	if (ev.Status == models.StatusPending || ev.Status == models.StatusFailed) && ev.NextAttemptAt != nil {
		s.NextRetry = *ev.NextAttemptAt
	}
	return s
}

// done ends a successful action: for htmx the new state in place with the flash, otherwise a flash
// and a redirect back to the event.
func (h *Events) done(c echo.Context, ev *models.Event, message string) error {
	if isFragmentRequest(c) {
		frag := views.EventStateResponse(h.state(c, ev, markFormOf(ev)), []views.Flash{{Kind: views.FlashSuccess, Message: message}})
		return render(c, http.StatusOK, frag, frag)
	}
	h.Sessions.Flash(c, views.FlashSuccess, message)
	return redirect(c, eventPath(ev.ID))
}

// Replay handles POST /events/{id}/replay (operators): the event runs again at the next worker.
func (h *Events) Replay(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	p := principal(c)
	ev, err := h.Store.Replay(p.MerchantID, id, p.Actor)
	if errors.Is(err, models.ErrBusy) {
		return echo.NewHTTPError(http.StatusConflict, fmt.Sprintf("Event %d is being processed right now. Wait for that run to end, then replay it.", id))
	}
	if err != nil {
		return notFoundOr(err, "event")
	}
	if err := h.Store.Audit(models.AuditEntry{MerchantID: p.MerchantID, Actor: p.Actor, Action: models.AuditReplay,
		ObjectType: "event", ObjectID: strconv.FormatUint(uint64(id), 10), RemoteAddr: c.RealIP()}); err != nil {
		return err
	}
	if h.Wake != nil {
		h.Wake()
	}
	return h.done(c, ev, fmt.Sprintf("Event %d is queued for replay.", id))
}

// Mark handles POST /events/{id}/mark (operators): form fields mark (resolved, ignored,
// needs_review, or empty to clear) and note.
func (h *Events) Mark(c echo.Context) error {
	ev, err := h.load(c)
	if err != nil {
		return err
	}
	p := principal(c)
	form := views.MarkForm{Mark: c.FormValue("mark"), Note: strings.TrimSpace(c.FormValue("note"))}
	mark, err := models.ParseMark(form.Mark)
	if err != nil {
		form.MarkError = "Choose resolved, ignored or needs review, or no mark to clear it."
	}
	if n := utf8.RuneCountInString(form.Note); n > maxNoteChars {
		form.NoteError = fmt.Sprintf("Keep the note to %d characters; this one has %d.", maxNoteChars, n)
	}
	if form.MarkError != "" || form.NoteError != "" {
		return h.invalidMark(c, ev, form)
	}
	ev, err = h.Store.MarkEvent(p.MerchantID, ev.ID, mark, form.Note, p.Actor)
	if err != nil {
		return notFoundOr(err, "event")
	}
	if err := h.Store.Audit(models.AuditEntry{MerchantID: p.MerchantID, Actor: p.Actor, Action: models.AuditMark,
		ObjectType: "event", ObjectID: strconv.FormatUint(uint64(ev.ID), 10), Detail: string(mark) + ": " + form.Note,
		RemoteAddr: c.RealIP()}); err != nil {
		return err
	}
	msg := fmt.Sprintf("Event %d is marked %s.", ev.ID, strings.ReplaceAll(string(mark), "_", " "))
	if mark == models.MarkNone {
		msg = fmt.Sprintf("The mark on event %d is cleared.", ev.ID)
	}
	return h.done(c, ev, msg)
}

// invalidMark answers a mark form that cannot be saved with 422: the whole page with the input and
// its errors, or for htmx the fragment with an error flash (htmx shows the flash and leaves the
// form, with what was typed, in place).
func (h *Events) invalidMark(c echo.Context, ev *models.Event, form views.MarkForm) error {
	if isFragmentRequest(c) {
		msg := strings.TrimSpace(form.MarkError + " " + form.NoteError)
		frag := views.EventStateResponse(h.state(c, ev, form), []views.Flash{{Kind: views.FlashError, Message: msg}})
		return render(c, http.StatusUnprocessableEntity, frag, frag)
	}
	v, err := h.view(c, ev, form)
	if err != nil {
		return err
	}
	return h.Sessions.renderPage(c, http.StatusUnprocessableEntity, fmt.Sprintf("Event %d", ev.ID), views.NavDeliveries, views.EventPage(v))
}

// Raw handles GET /events/{id}/raw: the first delivery's body exactly as received, as a download.
func (h *Events) Raw(c echo.Context) error {
	ev, err := h.load(c)
	if err != nil {
		return err
	}
	src, err := h.Store.EventSource(ev.ID)
	if err != nil {
		return notFoundOr(err, "body")
	}
	ext := ".bin"
	if json.Valid(src.Body) {
		ext = ".json"
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="event-%d-body%s"`, ev.ID, ext))
	return c.Blob(http.StatusOK, echo.MIMEOctetStream, src.Body)
}

// evidenceJSON is the dispute bundle of one event. It carries no signing secret.
type evidenceJSON struct {
	GeneratedAt  time.Time            `json:"generated_at"`
	GeneratedBy  string               `json:"generated_by"`
	Event        EventJSON            `json:"event"`
	Verification evidenceVerification `json:"verification"`
	Deliveries   []evidenceDelivery   `json:"deliveries"`
	Attempts     []AttemptJSON        `json:"attempts"`
	Order        *evidenceOrder       `json:"order"`
}

type evidenceVerification struct {
	Outcome         string           `json:"outcome"`
	Reason          string           `json:"reason"`
	SignatureHeader string           `json:"signature_header"`
	Endpoint        evidenceEndpoint `json:"endpoint"`
}

type evidenceEndpoint struct {
	ID       uint   `json:"id"`
	Name     string `json:"name"`
	Provider string `json:"provider"`
}

type evidenceDelivery struct {
	ID         uint           `json:"id"`
	ReceivedAt time.Time      `json:"received_at"`
	RemoteAddr string         `json:"remote_addr"`
	Outcome    models.Outcome `json:"outcome"`
	Reason     string         `json:"reason"`
	StatusCode int            `json:"status_code"`
	Headers    http.Header    `json:"headers"`
	BodySize   int64          `json:"body_size"`
	// Body is the body as text; BodyBase64 is the exact bytes, which Body cannot hold when they are
	// not UTF-8. BodySHA256 lets a reader check them.
	Body       string `json:"body"`
	BodyBase64 string `json:"body_base64"`
	BodySHA256 string `json:"body_sha256"`
}

type evidenceOrder struct {
	Reference      string             `json:"reference"`
	Status         models.OrderStatus `json:"status"`
	Paid           bool               `json:"paid"`
	Amount         *int64             `json:"amount"`
	Currency       string             `json:"currency"`
	RefundedAmount int64              `json:"refunded_amount"`
	PaymentID      string             `json:"payment_id"`
	Provider       string             `json:"provider"`
	CreatedAt      time.Time          `json:"created_at"`
	UpdatedAt      time.Time          `json:"updated_at"`
	History        []TransitionJSON   `json:"history"`
}

// Evidence handles GET /events/{id}/evidence.json: the event, every delivery with its exact body and
// headers, how it was verified, its attempts, and its order's full history, as one download for a
// payment dispute. Every export is audited.
func (h *Events) Evidence(c echo.Context) error {
	ev, err := h.load(c)
	if err != nil {
		return err
	}
	p := principal(c)
	ep, err := h.Store.Endpoint(ev.MerchantID, ev.EndpointID)
	if err != nil {
		return err
	}
	ds, err := h.Store.EventDeliveries(ev.ID)
	if err != nil {
		return err
	}
	as, err := h.Store.EventAttempts(ev.ID)
	if err != nil {
		return err
	}
	out := evidenceJSON{GeneratedAt: h.Store.Now(), GeneratedBy: p.Actor, Event: eventJSON(ev),
		Deliveries: make([]evidenceDelivery, 0, len(ds)), Attempts: make([]AttemptJSON, 0, len(as))}
	var first *models.Delivery
	for i := range ds {
		d := &ds[i]
		if first == nil && d.Outcome == models.OutcomeAccepted {
			first = d
		}
		sum := sha256.Sum256(d.Body)
		out.Deliveries = append(out.Deliveries, evidenceDelivery{ID: d.ID, ReceivedAt: d.ReceivedAt, RemoteAddr: d.RemoteAddr,
			Outcome: d.Outcome, Reason: d.Reason, StatusCode: d.StatusCode, Headers: d.Headers, BodySize: d.BodySize,
			Body: string(d.Body), BodyBase64: base64.StdEncoding.EncodeToString(d.Body), BodySHA256: hex.EncodeToString(sum[:])})
	}
	ver := verificationOf(ep, first, len(ds))
	out.Verification = evidenceVerification{Outcome: "not verified", Reason: ver.Summary, SignatureHeader: ver.SignatureHeader,
		Endpoint: evidenceEndpoint{ID: ep.ID, Name: ep.Name, Provider: ep.Provider}}
	if ver.Verified {
		out.Verification.Outcome = "verified"
	}
	for _, a := range as {
		out.Attempts = append(out.Attempts, AttemptJSON{StartedAt: a.StartedAt, FinishedAt: a.FinishedAt, Outcome: a.Outcome,
			Result: a.Result, Error: a.Error, Trigger: a.Trigger, Actor: a.Actor})
	}
	o, err := h.Store.EventOrder(ev)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return err
	}
	if o != nil {
		hist, err := h.Store.OrderHistory(o.ID)
		if err != nil {
			return err
		}
		out.Order = &evidenceOrder{Reference: o.Reference, Status: o.Status, Paid: o.Paid, Currency: o.Currency,
			RefundedAmount: o.RefundedAmount, PaymentID: o.PaymentID, Provider: o.Provider, CreatedAt: o.CreatedAt,
			UpdatedAt: o.UpdatedAt, History: transitionsJSON(hist)}
		if o.HasAmount {
			a := o.Amount
			out.Order.Amount = &a
		}
	}
	if err := h.Store.Audit(models.AuditEntry{MerchantID: p.MerchantID, Actor: p.Actor, Action: models.AuditExport,
		ObjectType: "event", ObjectID: strconv.FormatUint(uint64(ev.ID), 10), Detail: "evidence.json", RemoteAddr: c.RealIP()}); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="event-%d-evidence.json"`, ev.ID))
	return c.JSONPretty(http.StatusOK, out, "  ")
}
