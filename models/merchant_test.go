package models

import (
	"errors"
	"testing"
)

func TestEnsureMerchantIdempotent(t *testing.T) {
	s, _, _ := bbStore(t)
	a, err := s.EnsureMerchant("Acme Ltd")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Acme Ltd", "  Acme Ltd\t"} {
		b, err := s.EnsureMerchant(name)
		if err != nil || b.ID != a.ID || b.Name != "Acme Ltd" {
			t.Errorf("EnsureMerchant(%q) = %+v, %v; want merchant %d", name, b, err, a.ID)
		}
	}
	c, err := s.EnsureMerchant("Other")
	if err != nil || c.ID == a.ID {
		t.Errorf("a second merchant: %+v, %v", c, err)
	}
	var n int64
	s.DB.Model(&Merchant{}).Count(&n)
	if n != 2 {
		t.Errorf("%d merchants, want 2", n)
	}
	if _, err := s.EnsureMerchant("   "); err == nil {
		t.Error("EnsureMerchant accepted an empty name")
	}
	if m, err := s.MerchantByName("Acme Ltd"); err != nil || m.ID != a.ID {
		t.Errorf("MerchantByName = %+v, %v", m, err)
	}
	if _, err := s.MerchantByName("acme ltd"); !errors.Is(err, ErrNotFound) {
		t.Errorf("MerchantByName is not exact: %v", err)
	}
}
