package models

import (
	"fmt"
	"time"
)

// EndpointDelivery is one recent delivery of an endpoint with the status of its event, for the
// endpoint page's live list.
type EndpointDelivery struct {
	ID          uint
	ReceivedAt  time.Time
	Outcome     Outcome
	StatusCode  int
	Reason      string
	EventID     *uint
	EventType   string
	EventStatus Status
}

// RecentEndpointDeliveries lists an endpoint's newest deliveries (at most limit) with their events'
// statuses, in one query. Another merchant's endpoint yields an empty list.
func (s *Store) RecentEndpointDeliveries(merchantID, endpointID uint, limit int) ([]EndpointDelivery, error) {
	var ds []EndpointDelivery
	err := s.DB.Table("deliveries").
		Select("deliveries.id, deliveries.received_at, deliveries.outcome, deliveries.status_code, deliveries.reason, "+
			"deliveries.event_id, deliveries.event_type, COALESCE(events.status, '') AS event_status").
		Joins("LEFT JOIN events ON events.id = deliveries.event_id").
		Where("deliveries.merchant_id = ? AND deliveries.endpoint_id = ?", merchantID, endpointID).
		Order("deliveries.id DESC").Limit(clampLimit(limit)).
		Scan(&ds).Error
	if err != nil {
		return nil, fmt.Errorf("store: recent deliveries of endpoint %d: %w", endpointID, err)
	}
	return ds, nil
}
