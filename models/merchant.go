package models

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Merchant is a tenant: every other record belongs to exactly one.
type Merchant struct {
	ID        uint   `gorm:"primaryKey"`
	Name      string `gorm:"uniqueIndex;not null"`
	CreatedAt time.Time
}

// MerchantByName finds a merchant by its exact name.
func (s *Store) MerchantByName(name string) (*Merchant, error) {
	var m Merchant
	if err := s.DB.Where("name = ?", name).Take(&m).Error; err != nil {
		return nil, notFound("merchant "+name, err)
	}
	return &m, nil
}

// Merchant loads a merchant by id.
func (s *Store) Merchant(id uint) (*Merchant, error) {
	var m Merchant
	if err := s.DB.Take(&m, id).Error; err != nil {
		return nil, notFound(fmt.Sprintf("merchant %d", id), err)
	}
	return &m, nil
}

// EnsureMerchant returns the merchant with this name, creating it when it does not exist.
func (s *Store) EnsureMerchant(name string) (*Merchant, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, fmt.Errorf("store: merchant name is empty")
	}
	m := Merchant{Name: name, CreatedAt: s.Now()}
	err := s.DB.Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&m).Error; err != nil {
			return err
		}
		return tx.Where("name = ?", name).Take(&m).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: ensure merchant %q: %w", name, err)
	}
	return &m, nil
}
