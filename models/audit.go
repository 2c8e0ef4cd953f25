package models

import (
	"fmt"
	"time"
)

// AuditEntry records who did what to which object.
type AuditEntry struct {
	ID         uint      `gorm:"primaryKey"`
	MerchantID uint      `gorm:"not null;index:idx_audit_merchant,priority:1"`
	At         time.Time `gorm:"not null"`
	// Actor is a user's email, "token:<prefix>" for the API, or "cli".
	Actor      string `gorm:"not null"`
	Action     string `gorm:"not null"`
	ObjectType string `gorm:"not null;default:''"`
	ObjectID   string `gorm:"not null;default:''"`
	Detail     string `gorm:"not null;default:''"`
	RemoteAddr string `gorm:"not null;default:''"`
}

// Audit actions. Stored values: never rename.
const (
	AuditLogin           = "login"
	AuditLoginFailed     = "login.failed"
	AuditLogout          = "logout"
	AuditReplay          = "event.replay"
	AuditBulkReplay      = "event.bulk_replay"
	AuditMark            = "event.mark"
	AuditSecretReveal    = "secret.reveal"
	AuditSecretRotate    = "secret.rotate"
	AuditEndpointCreate  = "endpoint.create"
	AuditEndpointUpdate  = "endpoint.update"
	AuditEndpointEnable  = "endpoint.enable"
	AuditEndpointDisable = "endpoint.disable"
	AuditEndpointTest    = "endpoint.test_event"
	AuditUserCreate      = "user.create"
	AuditUserRole        = "user.role"
	AuditUserDeactivate  = "user.deactivate"
	AuditUserActivate    = "user.activate"
	AuditTokenCreate     = "token.create"
	AuditTokenRevoke     = "token.revoke"
	AuditExport          = "export"
)

// Audit appends an audit entry. A failure to audit is returned: actions that must be audited fail too.
func (s *Store) Audit(e AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.Now()
	}
	if err := s.DB.Create(&e).Error; err != nil {
		return fmt.Errorf("store: audit %s: %w", e.Action, err)
	}
	return nil
}
