package models

import "fmt"

// Token loads one of a merchant's API tokens; another merchant's token is ErrNotFound.
func (s *Store) Token(merchantID, id uint) (*APIToken, error) {
	var t APIToken
	if err := s.DB.Where("merchant_id = ?", merchantID).Take(&t, id).Error; err != nil {
		return nil, notFound(fmt.Sprintf("token %d", id), err)
	}
	return &t, nil
}
