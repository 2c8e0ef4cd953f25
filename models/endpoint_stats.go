package models

import (
	"fmt"
	"time"
)

// EndpointStats are one endpoint's delivery figures: its last delivery ever, and its deliveries and
// rejections since a moment (the last 24 hours on the endpoints page).
type EndpointStats struct {
	EndpointID     uint
	LastDeliveryAt *time.Time
	Deliveries     int64
	Rejected       int64
}

// RejectionRate is the share of rejected deliveries in percent, 0 when there were none.
func (st EndpointStats) RejectionRate() float64 {
	if st.Deliveries == 0 {
		return 0
	}
	return float64(st.Rejected) * 100 / float64(st.Deliveries)
}

// EndpointStats returns the figures of every endpoint of a merchant, keyed by endpoint id.
// Endpoints without deliveries are present with zero figures.
func (s *Store) EndpointStats(merchantID uint, since time.Time) (map[uint]EndpointStats, error) {
	// The last delivery is found by its id (the endpoint_id index ends in the rowid), so it costs one
	// index probe per endpoint; the window's counts come from the maintained hourly counts.
	var rows []EndpointStats
	err := s.DB.Raw(`
		SELECT e.id AS endpoint_id, last.received_at AS last_delivery_at
		FROM endpoints e
		LEFT JOIN deliveries last ON last.id = (SELECT MAX(d.id) FROM deliveries d WHERE d.endpoint_id = e.id)
		WHERE e.merchant_id = ?`, merchantID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: endpoint stats: %w", err)
	}
	counts, err := s.windowCounts(merchantID, since)
	if err != nil {
		return nil, fmt.Errorf("store: endpoint stats: %w", err)
	}
	out := make(map[uint]EndpointStats, len(rows))
	for _, r := range rows {
		out[r.EndpointID] = r
	}
	for _, c := range counts {
		st, ok := out[c.EndpointID]
		if !ok {
			continue
		}
		st.Deliveries += c.N
		if c.Outcome == OutcomeRejected {
			st.Rejected += c.N
		}
		out[c.EndpointID] = st
	}
	return out, nil
}
