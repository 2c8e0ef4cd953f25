package models

import (
	"fmt"
	"strings"
	"time"
)

// LoginFailure is one failed login, kept to throttle guessing across every instance.
type LoginFailure struct {
	ID    uint      `gorm:"primaryKey"`
	Email string    `gorm:"not null;index:idx_login_failures,priority:1"`
	At    time.Time `gorm:"not null;index:idx_login_failures,priority:2"`
}

// RecordLoginFailure notes a failed login for email.
func (s *Store) RecordLoginFailure(email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	if err := s.DB.Create(&LoginFailure{Email: email, At: s.Now()}).Error; err != nil {
		return fmt.Errorf("store: record login failure: %w", err)
	}
	return nil
}

// LoginLockedFor reports how long email must wait before trying again, or 0: after max failures within
// window, logins are refused until the oldest of them leaves the window.
func (s *Store) LoginLockedFor(email string, max int, window time.Duration) (time.Duration, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	now := s.Now()
	var fs []LoginFailure
	err := s.DB.Where("email = ? AND at > ?", email, now.Add(-window)).Order("at DESC").Limit(max).Find(&fs).Error
	if err != nil {
		return 0, fmt.Errorf("store: login failures: %w", err)
	}
	if len(fs) < max {
		return 0, nil
	}
	oldest := fs[len(fs)-1].At
	return oldest.Add(window).Sub(now), nil
}

// ClearLoginFailures forgets an email's failures after a successful login.
func (s *Store) ClearLoginFailures(email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	return s.DB.Where("email = ?", email).Delete(&LoginFailure{}).Error
}
