package webhooks

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// minorUnits lists the ISO 4217 currencies whose minor unit is not two decimal places.
var minorUnits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// MinorUnits returns the ISO 4217 exponent of currency (case-insensitive): 2 unless listed otherwise.
func MinorUnits(currency string) int {
	if n, ok := minorUnits[strings.ToUpper(strings.TrimSpace(currency))]; ok {
		return n
	}
	return 2
}

// errAmount is the cause of every amount that cannot be converted.
var errAmount = errors.New("invalid amount")

// ParseAmount converts a decimal amount in major units ("100.5", "1e2") to minor units of currency,
// exactly (no floating point). Digits beyond the currency's minor unit round half away from zero.
func ParseAmount(s, currency string) (int64, error) {
	return parseDecimal(s, MinorUnits(currency))
}

// FormatAmount renders minor units as a decimal in major units: 10050 USD -> "100.50", 500 JPY -> "500".
func FormatAmount(minor int64, currency string) string {
	scale := MinorUnits(currency)
	digits := strconv.FormatUint(absUint(minor), 10)
	sign := ""
	if minor < 0 {
		sign = "-"
	}
	if scale == 0 {
		return sign + digits
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}

// formatAmountShort renders like FormatAmount without trailing fractional zeros, the way
// JavaScript's JSON.stringify prints a number: 100000 BDT -> "1000", 10050 -> "100.5".
func formatAmountShort(minor int64, currency string) string {
	s := FormatAmount(minor, currency)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func absUint(v int64) uint64 {
	if v < 0 {
		return uint64(-(v + 1)) + 1
	}
	return uint64(v)
}

// parseDecimal parses a JSON-style decimal number and returns it multiplied by 10^shift as an
// integer, rounding half away from zero. It works on the digit string, so it is exact at any size
// that fits an int64, and it refuses the huge inputs and exponents that would make big arithmetic slow.
func parseDecimal(s string, shift int) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return 0, fmt.Errorf("%w %q", errAmount, snippet(orig))
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	mantissa, expText := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mantissa, expText = s[:i], s[i+1:]
		if expText == "" {
			return 0, fmt.Errorf("%w %q: empty exponent", errAmount, snippet(orig))
		}
	}
	intPart, frac, _ := strings.Cut(mantissa, ".")
	if intPart+frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, fmt.Errorf("%w %q", errAmount, snippet(orig))
	}
	exp := 0
	if expText != "" {
		e, err := strconv.Atoi(expText)
		if err != nil || e < -1000 || e > 1000 || !allDigits(strings.TrimLeft(expText, "+-")) {
			return 0, fmt.Errorf("%w %q: bad exponent", errAmount, snippet(orig))
		}
		exp = e
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, nil
	}
	// The value is digits × 10^k in the target unit.
	k := exp - len(frac) + shift
	keep, roundUp := digits, false
	switch {
	case k > 0:
		if len(digits)+k > 19 {
			return 0, fmt.Errorf("%w %q: out of range", errAmount, snippet(orig))
		}
		keep = digits + strings.Repeat("0", k)
	case k < 0:
		drop := -k
		if drop > len(digits) {
			return 0, nil // below half a minor unit
		}
		keep, roundUp = digits[:len(digits)-drop], digits[len(digits)-drop] >= '5'
	}
	var u uint64
	if keep != "" {
		var err error
		if u, err = strconv.ParseUint(keep, 10, 64); err != nil {
			return 0, fmt.Errorf("%w %q: out of range", errAmount, snippet(orig))
		}
	}
	if roundUp {
		u++
	}
	if u > math.MaxInt64 || (roundUp && u == 0) {
		return 0, fmt.Errorf("%w %q: out of range", errAmount, snippet(orig))
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
