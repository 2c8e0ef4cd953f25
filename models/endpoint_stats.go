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

// EndpointStats returns the figures of every endpoint of a merchant, keyed by endpoint id, in one
// query. Endpoints without deliveries are present with zero figures.
func (s *Store) EndpointStats(merchantID uint, since time.Time) (map[uint]EndpointStats, error) {
	// The last delivery is found by its id (the endpoint_id index ends in the rowid), so it costs one
	// index probe per endpoint; the counts are one grouped scan of the window.
	var rows []EndpointStats
	err := s.DB.Raw(`
		SELECT e.id AS endpoint_id, last.received_at AS last_delivery_at,
			COALESCE(w.deliveries, 0) AS deliveries, COALESCE(w.rejected, 0) AS rejected
		FROM endpoints e
		LEFT JOIN deliveries last ON last.id = (SELECT MAX(d.id) FROM deliveries d WHERE d.endpoint_id = e.id)
		LEFT JOIN (
			SELECT endpoint_id, COUNT(*) AS deliveries,
				SUM(CASE WHEN outcome = ? THEN 1 ELSE 0 END) AS rejected
			FROM deliveries
			WHERE merchant_id = ? AND received_at >= ?
			GROUP BY endpoint_id
		) w ON w.endpoint_id = e.id
		WHERE e.merchant_id = ?`, OutcomeRejected, merchantID, since, merchantID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: endpoint stats: %w", err)
	}
	out := make(map[uint]EndpointStats, len(rows))
	for _, r := range rows {
		out[r.EndpointID] = r
	}
	return out, nil
}
