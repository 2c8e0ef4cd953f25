package models

import (
	"errors"
	"fmt"
)

// UserInput is what an admin gives to add a user.
type UserInput struct {
	Email    string
	Password string
	Role     Role
}

// Validate normalises the email and returns field errors keyed by field name (email, role, password).
func (in *UserInput) Validate() map[string]string {
	errs := map[string]string{}
	if email, err := NormalizeEmail(in.Email); err != nil {
		errs["email"] = "Enter an email address, like ada@example.com."
	} else {
		in.Email = email
	}
	if _, err := ParseRole(string(in.Role)); err != nil {
		errs["role"] = "Choose admin, operator or support."
	}
	// The same rule CreateUser enforces, reported here against the field.
	if len(in.Password) < 8 {
		errs["password"] = "Use at least 8 characters, or leave it empty to generate a password."
	}
	return errs
}

// AddUser validates the input and creates the user; problems with the input come back as a
// *ValidationError, a taken email included.
func (s *Store) AddUser(merchantID uint, in UserInput) (*User, error) {
	if errs := in.Validate(); len(errs) > 0 {
		return nil, &ValidationError{Fields: errs}
	}
	u, err := s.CreateUser(merchantID, in.Email, in.Password, in.Role)
	if errors.Is(err, ErrEmailTaken) {
		return nil, &ValidationError{Fields: map[string]string{"email": "This email is already in use."}}
	}
	if err != nil {
		return nil, fmt.Errorf("store: add user: %w", err)
	}
	return u, nil
}
