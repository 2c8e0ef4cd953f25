package webhooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// decodeJSON decodes one JSON value, keeping numbers as json.Number so amounts stay exact. It gives
// the same tree and errors as encoding/json's Decoder with UseNumber, but parses by hand (parseJSON):
// decoding with encoding/json was about 8% of server CPU at saturation, and on a 1.7 KB Stripe event
// the hand-written parser is about three times faster and allocates 40% of the bytes
// (BenchmarkDecodeJSON).
func decodeJSON(body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrNotJSON)
	}
	return parseJSON(body)
}

// lookup follows a dotted path ("data.object.id") through decoded JSON; a numeric segment indexes an
// array ("data.items.0.id"). It reports false when any step is missing or of the wrong kind.
func lookup(doc any, path string) (any, bool) {
	if path == "" {
		return nil, false
	}
	cur := doc
	for seg := range strings.SplitSeq(path, ".") {
		switch node := cur.(type) {
		case map[string]any:
			v, ok := node[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			cur = node[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// scalarString renders a string or a number as text; other kinds (objects, bools, null) give "".
func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	}
	return ""
}

// firstString returns the first non-empty string or number found at paths.
func firstString(doc any, paths ...string) string {
	for _, p := range paths {
		if v, ok := lookup(doc, p); ok {
			if s := scalarString(v); s != "" {
				return s
			}
		}
	}
	return ""
}

// firstAmount returns the first value at paths that parses as a decimal, scaled by 10^shift.
// Numbers and numeric strings are accepted; anything else is skipped.
func firstAmount(doc any, shift int, paths ...string) (int64, bool) {
	for _, p := range paths {
		v, ok := lookup(doc, p)
		if !ok {
			continue
		}
		if s := scalarString(v); s != "" {
			if n, err := parseDecimal(s, shift); err == nil {
				return n, true
			}
		}
	}
	return 0, false
}

// prepend puts path in front of fallbacks unless it is empty.
func prepend(path string, fallbacks []string) []string {
	if path == "" {
		return fallbacks
	}
	return append([]string{path}, fallbacks...)
}
