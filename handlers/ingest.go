package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"hooklog/models"
	"hooklog/webhooks"
)

// IngestStore is what the ingest handler needs from the database.
type IngestStore interface {
	IngestTarget(token string) (*models.IngestTarget, error)
	Now() time.Time
}

// Ingest receives webhooks at POST /in/{token}: it verifies, stores durably, and only then answers.
// No business logic runs here; processing happens in the worker.
type Ingest struct {
	Store        IngestStore
	Ingester     *models.Ingester
	MaxBodyBytes int64
	Tolerance    time.Duration
	Log          *slog.Logger
	// Limit caps each endpoint's request rate; nil means no limit.
	Limit *RateLimiter
}

// ingestReply is the JSON body of every ingest answer.
type ingestReply struct {
	Outcome    models.Outcome `json:"outcome,omitempty"`
	DeliveryID uint           `json:"delivery_id,omitempty"`
	EventID    uint           `json:"event_id,omitempty"`
	Error      string         `json:"error,omitempty"`
}

// Receive handles POST /in/{token}.
func (h *Ingest) Receive(c echo.Context) error {
	req := c.Request()
	target, err := h.Store.IngestTarget(c.Param("token"))
	if errors.Is(err, models.ErrNotFound) {
		return c.JSON(http.StatusNotFound, ingestReply{Error: "no endpoint at this URL"})
	}
	if err != nil {
		return fmt.Errorf("ingest: endpoint: %w", err)
	}
	ep := &target.Endpoint
	allowed, wait := h.Limit.Allow(ep.ID)
	now := h.Store.Now()
	d := models.Delivery{
		MerchantID: ep.MerchantID,
		EndpointID: ep.ID,
		ReceivedAt: now,
		RemoteAddr: remoteIP(req),
		Headers:    receivedHeaders(req),
	}

	body, read, tooLarge, err := readLimited(req, h.MaxBodyBytes)
	switch {
	case tooLarge:
		// Without a Content-Length the true size is unknown; what was read shows it passed the limit.
		d.BodySize = max(req.ContentLength, read)
		return h.reject(c, &d, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("body larger than the %d-byte limit", h.MaxBodyBytes))
	case err != nil:
		d.Body, d.BodySize = body, int64(len(body))
		return h.reject(c, &d, http.StatusBadRequest, readFailure(err))
	}
	d.Body, d.BodySize = body, int64(len(body))

	if !allowed {
		c.Response().Header().Set("Retry-After", retryAfter(wait))
		return h.reject(c, &d, http.StatusTooManyRequests, h.Limit.Reason())
	}
	if !ep.Enabled {
		return h.reject(c, &d, http.StatusGone, "endpoint is disabled")
	}
	settings := ep.Settings
	if settings.Tolerance == 0 {
		settings.Tolerance = h.Tolerance
	}
	profile, err := webhooks.New(ep.Provider, settings)
	if err != nil {
		return fmt.Errorf("ingest: endpoint %d profile: %w", ep.ID, err)
	}
	secrets := target.ValidSecrets(now)
	if len(secrets) == 0 {
		// Every endpoint is created with a secret, so none valid means they have all expired.
		return h.reject(c, &d, http.StatusUnauthorized,
			webhooks.ErrNoSecrets.Error()+": every secret of this endpoint has expired; rotate in a new one on the endpoint's page")
	}
	if err := profile.Verify(req.Header, body, secrets, now); err != nil {
		code := http.StatusUnauthorized
		if errors.Is(err, webhooks.ErrMalformedHeader) {
			code = http.StatusBadRequest
		}
		return h.reject(c, &d, code, err.Error())
	}

	ev := &models.Event{
		MerchantID: ep.MerchantID, EndpointID: ep.ID, Provider: ep.Provider,
		Status: models.StatusPending, NextAttemptAt: &now, ReceivedAt: now, DeliveryCount: 1,
	}
	n, err := profile.Normalise(req.Header, body)
	if err != nil {
		// Verified but unreadable: keep it, and tell an operator why it will not process.
		sum := sha256.Sum256(body)
		n = webhooks.Event{ID: "sha256:" + hex.EncodeToString(sum[:]), Canonical: webhooks.Unknown}
		ev.Status, ev.NextAttemptAt, ev.LastError = models.StatusFailed, nil, err.Error()
	}
	ev.SetNormalised(n)
	d.EventType = n.Type
	d.StatusCode = http.StatusOK
	stored, err := h.Ingester.Store(req.Context(), &models.Incoming{Delivery: d, Event: ev})
	if err != nil {
		h.Log.Error("ingest: not stored; asking the provider to retry", "endpoint", ep.ID, "err", err)
		return c.JSON(http.StatusServiceUnavailable, ingestReply{Error: "not stored; please retry"})
	}
	return c.JSONBlob(http.StatusOK, ingestReply{Outcome: stored.Outcome, DeliveryID: stored.DeliveryID, EventID: stored.EventID}.encode())
}

// encode is the reply as c.JSON writes it (encoding/json, then a newline), built by hand for what
// every acknowledgement sends (an outcome and ids): encoding it by reflection cost about 2% of the
// server's CPU under load. Anything else goes through encoding/json. TestIngestReplyEncode checks
// the two agree.
func (r ingestReply) encode() []byte {
	if r.Error != "" || r.Outcome == "" || r.DeliveryID == 0 || !plainJSON(string(r.Outcome)) {
		b, _ := json.Marshal(r)
		return append(b, '\n')
	}
	b := append(make([]byte, 0, 96), `{"outcome":"`...)
	b = append(b, r.Outcome...)
	b = strconv.AppendUint(append(b, `","delivery_id":`...), uint64(r.DeliveryID), 10)
	if r.EventID != 0 {
		b = strconv.AppendUint(append(b, `,"event_id":`...), uint64(r.EventID), 10)
	}
	return append(b, '}', '\n')
}

// plainJSON reports whether s needs no escaping in a JSON string (as encoding/json escapes).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// reject stores a rejected delivery with its reason, then answers with code.
func (h *Ingest) reject(c echo.Context, d *models.Delivery, code int, reason string) error {
	d.Outcome, d.Reason, d.StatusCode = models.OutcomeRejected, reason, code
	// Recorded even when the sender is gone: net/http cancels the request's context on a failed read
	// (a slow or cut-off body), which is exactly when the record matters.
	stored, err := h.Ingester.Store(context.WithoutCancel(c.Request().Context()), &models.Incoming{Delivery: *d})
	if err != nil {
		h.Log.Error("ingest: rejected delivery not stored", "endpoint", d.EndpointID, "reason", reason, "err", err)
	}
	if code == http.StatusRequestEntityTooLarge {
		// The rest of the body is never read; closing stops the client from sending it.
		c.Response().Header().Set("Connection", "close")
	}
	return c.JSON(code, ingestReply{Outcome: models.OutcomeRejected, DeliveryID: stored.DeliveryID, Error: reason})
}

// readLimited reads at most limit+1 bytes of the body and says how many it read. tooLarge is true
// when the body (or its declared Content-Length) is over the limit, whether or not Content-Length was
// sent; the body is then dropped.
func readLimited(req *http.Request, limit int64) (body []byte, read int64, tooLarge bool, err error) {
	if req.ContentLength > limit {
		return nil, 0, true, nil
	}
	// Sized from Content-Length when there is one, so the body is read into one allocation instead
	// of a chain of doubling copies.
	buf := bytes.NewBuffer(make([]byte, 0, max(req.ContentLength, 0)+1))
	_, err = buf.ReadFrom(io.LimitReader(req.Body, limit+1))
	body = buf.Bytes()
	read = int64(len(body))
	if read > limit {
		return nil, read, true, nil
	}
	return body, read, false, err
}

// readFailure says why a body could not be read in words an operator understands; the raw error
// names sockets and addresses.
func readFailure(err error) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "body could not be read: the sender took longer than the server's read timeout"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "body could not be read: the connection closed before the whole body arrived"
	}
	return "body could not be read: " + err.Error()
}

// receivedHeaders copies the request headers, adding Host, which net/http moves out of Header.
func receivedHeaders(req *http.Request) http.Header {
	h := req.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if req.Host != "" {
		h.Set("Host", req.Host)
	}
	return h
}

// remoteIP is the connecting address. Forwarded headers are kept with the other headers but not
// trusted here, since anyone can send them.
func remoteIP(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	return host
}
