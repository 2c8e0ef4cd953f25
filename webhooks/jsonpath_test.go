package webhooks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string // "" when the body decodes
	}{
		{"object", `{"a":1}`, ""},
		{"array", `[1,2]`, ""},
		{"string", `"x"`, ""},
		{"null", `null`, ""},
		{"surrounding whitespace", " \n{\"a\":1}\n\t", ""},
		{"empty", ``, "empty body"},
		{"whitespace only", " \n ", "empty body"},
		{"truncated", `{"a":`, "unexpected EOF"},
		{"form encoded", `event=payment.completed&id=1`, "invalid character"},
		{"two values", `{"a":1} {"b":2}`, "data after the JSON value"},
		{"trailing garbage", `{"a":1}}`, "data after the JSON value"},
		{"too deep", strings.Repeat("[", 10001) + strings.Repeat("]", 10001), "depth"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeJSON([]byte(tc.body))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("decodeJSON = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrNotJSON) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("decodeJSON = %v, want ErrNotJSON mentioning %q", err, tc.wantErr)
			}
		})
	}
	v, err := decodeJSON([]byte(`{"amount":100.10,"big":123456789012345678901234567890}`))
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if m["amount"] != json.Number("100.10") || m["big"] != json.Number("123456789012345678901234567890") {
		t.Errorf("numbers are not kept exact: %#v", m)
	}
}

func TestLookup(t *testing.T) {
	doc, err := decodeJSON([]byte(`{
		"id": "evt_1",
		"n": 42,
		"flag": true,
		"nothing": null,
		"data": {"object": {"id": "pi_1", "metadata": {"order_id": "ord_1"}, "items": [{"sku": "A"}, {"sku": "B"}]}},
		"list": ["x", "y"],
		"dotted.key": "unreachable"
	}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path      string
		want      any
		wantFound bool
	}{
		{"id", "evt_1", true},
		{"n", json.Number("42"), true},
		{"data.object.id", "pi_1", true},
		{"data.object.metadata.order_id", "ord_1", true},
		{"data.object.items.1.sku", "B", true},
		{"list.0", "x", true},
		{"nothing", nil, true},
		{"", nil, false},
		{"missing", nil, false},
		{"data.missing.id", nil, false},
		{"id.more", nil, false},
		{"n.0", nil, false},
		{"flag.x", nil, false},
		{"nothing.x", nil, false},
		{"list.2", nil, false},
		{"list.-1", nil, false},
		{"list.x", nil, false},
		{"list.99999999999999999999", nil, false},
		{"data.object.items.sku", nil, false},
		{"dotted.key", nil, false},
		{"data..object", nil, false},
		{"data.", nil, false},
	}
	for _, tc := range tests {
		got, found := lookup(doc, tc.path)
		if found != tc.wantFound || got != tc.want {
			t.Errorf("lookup(%q) = %#v, %v, want %#v, %v", tc.path, got, found, tc.want, tc.wantFound)
		}
	}
}

func TestFirstStringAndAmount(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"a": "", "b": "  spaced  ", "c": 12, "d": {"x": 1}, "e": true,
		"amt": {"bad": "abc", "obj": {}, "str": "12.50", "num": 7.5, "neg": -1}}`))
	if err != nil {
		t.Fatal(err)
	}
	stringTests := []struct {
		paths []string
		want  string
	}{
		{[]string{"a", "b"}, "spaced"},
		{[]string{"missing", "c"}, "12"},
		{[]string{"d", "e", "nothing"}, ""},
		{nil, ""},
	}
	for _, tc := range stringTests {
		if got := firstString(doc, tc.paths...); got != tc.want {
			t.Errorf("firstString(%v) = %q, want %q", tc.paths, got, tc.want)
		}
	}
	amountTests := []struct {
		paths []string
		want  int64
		found bool
	}{
		{[]string{"amt.bad", "amt.obj", "amt.str"}, 1250, true},
		{[]string{"amt.num"}, 750, true},
		{[]string{"amt.neg"}, -100, true},
		{[]string{"amt.bad", "e", "d"}, 0, false},
		{[]string{"missing"}, 0, false},
	}
	for _, tc := range amountTests {
		got, found := firstAmount(doc, 2, tc.paths...)
		if got != tc.want || found != tc.found {
			t.Errorf("firstAmount(%v) = %d, %v, want %d, %v", tc.paths, got, found, tc.want, tc.found)
		}
	}
}
