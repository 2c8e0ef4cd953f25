package webhooks

import (
	"errors"
	"math"
	"testing"
)

func TestMinorUnits(t *testing.T) {
	tests := map[string]int{
		"USD": 2, "usd": 2, " eur ": 2, "BDT": 2, "AED": 2, "": 2, "XYZ": 2,
		"JPY": 0, "jpy": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0,
		"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3,
		"CLF": 4,
	}
	for currency, want := range tests {
		if got := MinorUnits(currency); got != want {
			t.Errorf("MinorUnits(%q) = %d, want %d", currency, got, want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in, currency string
		want         int64
		wantErr      bool
	}{
		{"100.00", "USD", 10000, false},
		{"100.5", "USD", 10050, false},
		{"100", "USD", 10000, false},
		{"0.01", "USD", 1, false},
		{"1000", "BDT", 100000, false},
		{"500", "JPY", 500, false},
		{"12.345", "KWD", 12345, false},
		{"12.3", "KWD", 12300, false},
		{" 7.25 ", "EUR", 725, false},
		{"+7.25", "EUR", 725, false},
		{"-3.10", "USD", -310, false},
		{"-0", "USD", 0, false},
		{"0000012.50", "USD", 1250, false},
		{".5", "USD", 50, false},
		{"5.", "USD", 500, false},
		{"1e2", "USD", 10000, false},
		{"1.5E+3", "USD", 150000, false},
		{"12345e-2", "USD", 12345, false},
		{"0e5", "USD", 0, false},
		// Half away from zero beyond the minor unit.
		{"19.999", "USD", 2000, false},
		{"0.125", "USD", 13, false},
		{"0.124", "USD", 12, false},
		{"0.005", "USD", 1, false},
		{"0.0049", "USD", 0, false},
		{"-0.125", "USD", -13, false},
		{"500.5", "JPY", 501, false},
		{"1e-9", "USD", 0, false},
		{"92233720368547758.07", "USD", math.MaxInt64, false},
		{"-92233720368547758.07", "USD", -math.MaxInt64, false},
		{"92233720368547758.08", "USD", 0, true},
		{"1e17", "USD", 0, true},
		{"1e1000", "USD", 0, true},
		{"1e99999", "USD", 0, true},
		{"", "USD", 0, true},
		{"  ", "USD", 0, true},
		{".", "USD", 0, true},
		{"-", "USD", 0, true},
		{"1,000.00", "USD", 0, true},
		{"1.2.3", "USD", 0, true},
		{"12abc", "USD", 0, true},
		{"0x10", "USD", 0, true},
		{"1e", "USD", 0, true},
		{"1e+-2", "USD", 0, true},
		{"NaN", "USD", 0, true},
		{"Infinity", "USD", 0, true},
		{"١٢", "USD", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseAmount(tc.in, tc.currency)
		if tc.wantErr {
			if !errors.Is(err, errAmount) {
				t.Errorf("ParseAmount(%q, %s) = %d, %v, want errAmount", tc.in, tc.currency, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseAmount(%q, %s) = %d, %v, want %d", tc.in, tc.currency, got, err, tc.want)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		want     string
		short    string
	}{
		{10000, "USD", "100.00", "100"},
		{10050, "USD", "100.50", "100.5"},
		{5, "USD", "0.05", "0.05"},
		{0, "USD", "0.00", "0"},
		{-310, "USD", "-3.10", "-3.1"},
		{500, "JPY", "500", "500"},
		{12345, "KWD", "12.345", "12.345"},
		{100000, "BDT", "1000.00", "1000"},
		{math.MinInt64, "USD", "-92233720368547758.08", "-92233720368547758.08"},
	}
	for _, tc := range tests {
		if got := FormatAmount(tc.minor, tc.currency); got != tc.want {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", tc.minor, tc.currency, got, tc.want)
		}
		if got := formatAmountShort(tc.minor, tc.currency); got != tc.short {
			t.Errorf("formatAmountShort(%d, %s) = %q, want %q", tc.minor, tc.currency, got, tc.short)
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	for _, currency := range []string{"USD", "JPY", "KWD", "CLF"} {
		for _, v := range []int64{0, 1, -1, 9, 10, 99, 100, 12345, -98765, 1 << 40, math.MaxInt64, -math.MaxInt64} {
			got, err := ParseAmount(FormatAmount(v, currency), currency)
			if err != nil || got != v {
				t.Errorf("%s %d: round trip gives %d, %v", currency, v, got, err)
			}
			if got, err := ParseAmount(formatAmountShort(v, currency), currency); err != nil || got != v {
				t.Errorf("%s %d: short round trip gives %d, %v", currency, v, got, err)
			}
		}
	}
}
