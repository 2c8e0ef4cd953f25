package models

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

// Role is what a user or API token may do. Stored values: never rename.
type Role string

const (
	// RoleAdmin may do everything, including endpoints, users, tokens and the audit log.
	RoleAdmin Role = "admin"
	// RoleOperator reads everything and replays and marks events.
	RoleOperator Role = "operator"
	// RoleSupport reads and exports; it changes nothing.
	RoleSupport Role = "support"
)

// Roles lists the roles, most powerful first.
var Roles = []Role{RoleAdmin, RoleOperator, RoleSupport}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("role must be admin, operator or support, not %q", s)
}

// CanOperate reports whether the role may replay and mark events.
func (r Role) CanOperate() bool { return r == RoleAdmin || r == RoleOperator }

// IsAdmin reports whether the role may manage endpoints, users and tokens.
func (r Role) IsAdmin() bool { return r == RoleAdmin }

// User is a person who logs in to the dashboard of one merchant.
type User struct {
	ID           uint   `gorm:"primaryKey"`
	MerchantID   uint   `gorm:"index;not null"`
	Email        string `gorm:"uniqueIndex;not null"`
	PasswordHash string `gorm:"not null"`
	Role         Role   `gorm:"not null"`
	Active       bool   `gorm:"not null;default:true"`
	// SessionVersion is bumped to end every session of the user at once (deactivation, password change).
	SessionVersion int `gorm:"not null;default:1"`
	CreatedAt      time.Time
	LastLoginAt    *time.Time
	Merchant       Merchant `gorm:"constraint:OnDelete:CASCADE"`
}

// ErrEmailTaken means another user already has that email.
var ErrEmailTaken = errors.New("a user with that email already exists")

// NormalizeEmail lower-cases and validates an email address.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email {
		return "", fmt.Errorf("%q is not an email address", email)
	}
	return email, nil
}

// GeneratePassword returns a random password of 20 readable characters.
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// bcryptCost is a variable so tests can make hashing cheap.
var bcryptCost = bcrypt.DefaultCost

// CreateUser adds a user to a merchant.
func (s *Store) CreateUser(merchantID uint, email, password string, role Role) (*User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if len(password) < 8 {
		return nil, errors.New("password must be at least 8 characters")
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return nil, fmt.Errorf("store: hash password: %w", err)
	}
	u := User{MerchantID: merchantID, Email: email, PasswordHash: string(hash), Role: role, Active: true, SessionVersion: 1, CreatedAt: s.Now()}
	if err := s.DB.Omit("Merchant").Create(&u).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, ErrEmailTaken
		}
		return nil, fmt.Errorf("store: create user: %w", err)
	}
	return &u, nil
}

// ErrBadCredentials means the email or password is wrong, or the user is deactivated.
var ErrBadCredentials = errors.New("email or password is incorrect")

// dummyHash is compared against when the email is unknown, so both paths cost one bcrypt.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("hooklog-timing-equaliser"), bcrypt.DefaultCost)

// Authenticate checks an email and password.
func (s *Store) Authenticate(email, password string) (*User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var u User
	err := s.DB.Preload("Merchant").Where("email = ?", email).Take(&u).Error
	if err != nil {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, ErrBadCredentials
		}
		return nil, fmt.Errorf("store: authenticate: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil || !u.Active {
		return nil, ErrBadCredentials
	}
	now := s.Now()
	s.DB.Model(&u).Update("last_login_at", now)
	u.LastLoginAt = &now
	return &u, nil
}

// User loads a user with its merchant.
func (s *Store) User(id uint) (*User, error) {
	var u User
	if err := s.DB.Preload("Merchant").Take(&u, id).Error; err != nil {
		return nil, notFound(fmt.Sprintf("user %d", id), err)
	}
	return &u, nil
}

// MerchantUser loads a user of one merchant; another merchant's user is ErrNotFound.
func (s *Store) MerchantUser(merchantID, id uint) (*User, error) {
	var u User
	if err := s.DB.Where("merchant_id = ?", merchantID).Take(&u, id).Error; err != nil {
		return nil, notFound(fmt.Sprintf("user %d", id), err)
	}
	return &u, nil
}

// Users lists a merchant's users by email.
func (s *Store) Users(merchantID uint) ([]User, error) {
	var us []User
	if err := s.DB.Where("merchant_id = ?", merchantID).Order("email").Find(&us).Error; err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return us, nil
}

// SetUserRole changes a user's role.
func (s *Store) SetUserRole(merchantID, id uint, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	res := s.DB.Model(&User{}).Where("merchant_id = ? AND id = ?", merchantID, id).
		Updates(map[string]any{"role": role, "session_version": gorm.Expr("session_version + 1")})
	if res.Error != nil {
		return fmt.Errorf("store: set role: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: user %d: %w", id, ErrNotFound)
	}
	return nil
}

// SetUserActive activates or deactivates a user; deactivation ends the user's sessions at once.
func (s *Store) SetUserActive(merchantID, id uint, active bool) error {
	res := s.DB.Model(&User{}).Where("merchant_id = ? AND id = ?", merchantID, id).
		Updates(map[string]any{"active": active, "session_version": gorm.Expr("session_version + 1")})
	if res.Error != nil {
		return fmt.Errorf("store: set active: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: user %d: %w", id, ErrNotFound)
	}
	return nil
}

// UserByEmail loads a user by email.
func (s *Store) UserByEmail(email string) (*User, error) {
	var u User
	if err := s.DB.Where("email = ?", strings.ToLower(strings.TrimSpace(email))).Take(&u).Error; err != nil {
		return nil, notFound("user "+email, err)
	}
	return &u, nil
}
