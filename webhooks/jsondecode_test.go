package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// stdlibDecodeJSON is decodeJSON as it was before parseJSON: the reference that parseJSON must match
// in tree, in accepting or rejecting, and in error text.
func stdlibDecodeJSON(body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrNotJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrNotJSON)
	}
	return v, nil
}

// sameAsStdlib fails the test unless decodeJSON and stdlibDecodeJSON agree on input: the same error
// text, or equal trees.
func sameAsStdlib(t *testing.T, input []byte) {
	t.Helper()
	got, gotErr := decodeJSON(input)
	want, wantErr := stdlibDecodeJSON(input)
	switch {
	case gotErr != nil && wantErr != nil:
		if gotErr.Error() != wantErr.Error() {
			t.Fatalf("decodeJSON(%q) error %q, encoding/json %q", input, gotErr, wantErr)
		}
		if !errors.Is(gotErr, ErrNotJSON) {
			t.Fatalf("decodeJSON(%q) error %q does not wrap ErrNotJSON", input, gotErr)
		}
	case gotErr != nil || wantErr != nil:
		t.Fatalf("decodeJSON(%q) = %#v, %v; encoding/json %#v, %v", input, got, gotErr, want, wantErr)
	case !reflect.DeepEqual(got, want):
		t.Fatalf("decodeJSON(%q) = %#v, encoding/json %#v", input, got, want)
	}
}

// nested returns depth copies of opening, then inner, then depth copies of closing.
func nested(opening, inner, closing string, depth int) string {
	return strings.Repeat(opening, depth) + inner + strings.Repeat(closing, depth)
}

// decodeJSONCases are inputs where a hand-written parser is most likely to part from encoding/json.
var decodeJSONCases = []struct {
	name    string
	body    string
	want    any
	wantErr string // the error text after "body is not valid JSON: "; "" when the body decodes
}{
	// strings
	{"simple escapes", `"\" \\ \/ \b \f \n \r \t"`, "\" \\ / \b \f \n \r \t", ""},
	{"unicode escapes", `"\u00e9\u20AC\u0000"`, "é€\x00", ""},
	{"surrogate pair", `"\ud83d\ude00"`, "😀", ""},
	{"high surrogate at the end", `"\ud83d"`, "\uFFFD", ""},
	{"high surrogate then a letter", `"\ud83dx"`, "\uFFFDx", ""},
	{"high surrogate then a non-surrogate escape", `"\ud83d\u0041"`, "\uFFFDA", ""},
	{"high surrogate then a pair", `"\ud83d\ud83d\ude00"`, "\uFFFD😀", ""},
	{"high surrogate then another escape", `"\ud83d\n"`, "\uFFFD\n", ""},
	{"high surrogate then an escaped backslash", `"\ud83d\\ude00"`, "\uFFFD\\ude00", ""},
	{"lone low surrogate", `"\ude00"`, "\uFFFD", ""},
	{"surrogates reversed", `"\ude00\ud83d"`, "\uFFFD\uFFFD", ""},
	{"invalid UTF-8 byte", "\"a\xffb\"", "a\uFFFDb", ""},
	{"truncated UTF-8 sequence", "\"\xe2\x82\"", "\uFFFD\uFFFD", ""},
	{"surrogate encoded in UTF-8", "\"\xed\xa0\x80\"", "\uFFFD\uFFFD\uFFFD", ""},
	{"overlong UTF-8", "\"\xc0\xaf\"", "\uFFFD\uFFFD", ""},
	{"invalid UTF-8 after an escape", "\"\\n\xff\"", "\n\uFFFD", ""},
	{"literal replacement character", "\"\uFFFD\"", "\uFFFD", ""},
	{"DEL is allowed", "\"\x7f\"", "\x7f", ""},
	{"escaped key", `{"a\u0062":1}`, map[string]any{"ab": json.Number("1")}, ""},
	{"invalid UTF-8 in a key", "{\"\xff\":1}", map[string]any{"\uFFFD": json.Number("1")}, ""},
	{"unknown escape", `"\x"`, nil, `invalid character 'x' in string escape code`},
	{"escaped single quote", `"\'"`, nil, `invalid character '\'' in string escape code`},
	{"short unicode escape", `"\u12"`, nil, `invalid character '"' in \u hexadecimal character escape`},
	{"non-hex unicode escape", `"\u12g4"`, nil, `invalid character 'g' in \u hexadecimal character escape`},
	{"newline in a string", "\"a\nb\"", nil, `invalid character '\n' in string literal`},
	{"NUL in a string", "\"a\x00b\"", nil, `invalid character '\x00' in string literal`},
	{"newline after invalid UTF-8", "\"\xff\n\"", nil, `invalid character '\n' in string literal`},
	{"NUL outside a string", "[1,\x00]", nil, `invalid character '\x00' looking for beginning of value`},
	{"unterminated string", `"abc`, nil, "unexpected EOF"},
	{"unterminated escape", `"\`, nil, "unexpected EOF"},
	{"unterminated unicode escape", `"\u00`, nil, "unexpected EOF"},

	// numbers
	{"zero", `0`, json.Number("0"), ""},
	{"negative zero", `-0`, json.Number("-0"), ""},
	{"exponent", `1e5`, json.Number("1e5"), ""},
	{"signed capital exponent", `1E+5`, json.Number("1E+5"), ""},
	{"negative exponent", `-0.5e-10`, json.Number("-0.5e-10"), ""},
	{"fraction", `0.5`, json.Number("0.5"), ""},
	{"trailing zeros kept", `100.10`, json.Number("100.10"), ""},
	{"big integer", `123456789012345678901234567890`, json.Number("123456789012345678901234567890"), ""},
	{"number in an array", `[1,-2.5e3]`, []any{json.Number("1"), json.Number("-2.5e3")}, ""},
	{"leading zero", `01`, nil, "data after the JSON value"},
	{"leading zero in an array", `[01]`, nil, `invalid character '1' after array element`},
	{"negative leading zero", `-01`, nil, "data after the JSON value"},
	{"no fraction digits", `1.`, nil, "unexpected EOF"},
	{"no fraction digits in an array", `[1.]`, nil, `invalid character ']' after decimal point in numeric literal`},
	{"no integer part", `.5`, nil, `invalid character '.' looking for beginning of value`},
	{"plus sign", `+1`, nil, `invalid character '+' looking for beginning of value`},
	{"minus alone", `-`, nil, "unexpected EOF"},
	{"minus then a letter", `-a`, nil, `invalid character 'a' in numeric literal`},
	{"no exponent digits", `1e`, nil, "unexpected EOF"},
	{"no exponent digits in an array", `[1e+]`, nil, `invalid character ']' in exponent of numeric literal`},
	{"hex", `0x10`, nil, "data after the JSON value"},
	{"two fractions", `1.5e3.2`, nil, "data after the JSON value"},
	{"NaN", `NaN`, nil, `invalid character 'N' looking for beginning of value`},

	// literals
	{"true", `true`, true, ""},
	{"false", `false`, false, ""},
	{"null", `null`, nil, ""},
	{"truncated true", `tru`, nil, "unexpected EOF"},
	{"misspelt true", `trUe`, nil, `invalid character 'U' in literal true (expecting 'u')`},
	{"misspelt false", `fals0`, nil, `invalid character '0' in literal false (expecting 'e')`},
	{"misspelt null", `nul`, nil, "unexpected EOF"},
	{"capitalised", `True`, nil, `invalid character 'T' looking for beginning of value`},

	// containers
	{"duplicate keys, last wins", `{"a":1,"b":2,"a":{"c":[]}}`,
		map[string]any{"a": map[string]any{"c": []any{}}, "b": json.Number("2")}, ""},
	{"empty object", `{}`, map[string]any{}, ""},
	{"empty array", `[]`, []any{}, ""},
	{"empty containers with space", "[ {\n} , [\t] ]", []any{map[string]any{}, []any{}}, ""},
	{"mixed array", `["a",1,true,null,{}]`, []any{"a", json.Number("1"), true, nil, map[string]any{}}, ""},
	{"trailing comma in an array", `[1,]`, nil, `invalid character ']' looking for beginning of value`},
	{"trailing comma in an object", `{"a":1,}`, nil, `invalid character '}' looking for beginning of object key string`},
	{"bare key", `{a:1}`, nil, `invalid character 'a' looking for beginning of object key string`},
	{"missing colon", `{"a" 1}`, nil, `invalid character '1' after object key`},
	{"missing comma in an object", `{"a":1 "b":2}`, nil, `invalid character '"' after object key:value pair`},
	{"missing comma in an array", `[1 2]`, nil, `invalid character '2' after array element`},
	{"lone comma", `[,]`, nil, `invalid character ',' looking for beginning of value`},
	{"truncated object", `{"a":`, nil, "unexpected EOF"},
	{"truncated key", `{"a"`, nil, "unexpected EOF"},
	{"truncated array", `[1,`, nil, "unexpected EOF"},
	{"open bracket", `[`, nil, "unexpected EOF"},
	{"nested 10000 deep", nested("[", "", "]", 10000), nestedArrays(10000), ""},
	{"nested 10001 deep", nested("[", "", "]", 10001), nil, `invalid character '[' exceeded max depth`},
	{"objects nested 10001 deep", nested(`{"a":`, "1", "}", 10001), nil, `invalid character '{' exceeded max depth`},
	{"error before the depth limit", nested("[", "x", "]", 10001), nil, `invalid character '[' exceeded max depth`},
	{"error inside the depth limit", "[[x" + strings.Repeat("[", 10000), nil, `invalid character 'x' looking for beginning of value`},

	// around the value
	{"all four whitespace bytes", " \t\r\n[ 1 , 2 ]\r\n\t ", []any{json.Number("1"), json.Number("2")}, ""},
	{"form feed is not whitespace", "\f1", nil, `invalid character '\f' looking for beginning of value`},
	{"form feed after the value", "1\f", nil, "data after the JSON value"},
	{"vertical tab only", "\v", nil, "empty body"},
	{"no-break space only", "\u00a0", nil, "empty body"},
	{"empty", "", nil, "empty body"},
	{"byte order mark", "\xef\xbb\xbf{}", nil, `invalid character 'ï' looking for beginning of value`},
	{"binary", "\xff\xfe", nil, `invalid character 'ÿ' looking for beginning of value`},
	{"two objects", `{"a":1}{"b":2}`, nil, "data after the JSON value"},
	{"extra close", `{"a":1}}`, nil, "data after the JSON value"},
	{"two strings", `"a""b"`, nil, "data after the JSON value"},
	{"literal then letters", `truex`, nil, "data after the JSON value"},
	{"NUL after the value", "{}\x00", nil, "data after the JSON value"},
}

// nestedArrays returns depth arrays, each holding the next, the innermost empty.
func nestedArrays(depth int) any {
	v := any([]any{})
	for range depth - 1 {
		v = []any{v}
	}
	return v
}

func TestParseJSONCases(t *testing.T) {
	for _, tc := range decodeJSONCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeJSON([]byte(tc.body))
			if tc.wantErr != "" {
				if want := ErrNotJSON.Error() + ": " + tc.wantErr; err == nil || err.Error() != want {
					t.Fatalf("decodeJSON = %v, want error %q", err, want)
				}
			} else if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("decodeJSON = %#v, %v; want %#v", got, err, tc.want)
			}
			sameAsStdlib(t, []byte(tc.body))
		})
	}
}

// TestParseJSONCopiesStrings checks that no key or value shares memory with the body, which callers
// reuse and which must not be kept alive by what was extracted from it.
func TestParseJSONCopiesStrings(t *testing.T) {
	body := []byte(`{"key":"value","n":12}`)
	doc, err := decodeJSON(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'x'
	}
	want := map[string]any{"key": "value", "n": json.Number("12")}
	if !reflect.DeepEqual(doc, want) {
		t.Fatalf("after overwriting the body the tree is %#v, want %#v", doc, want)
	}
}

// jsonTestdata returns the JSON sample bodies under testdata.
func jsonTestdata(t testing.TB) [][]byte {
	paths, err := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no JSON under testdata: %v", err)
	}
	bodies := make([][]byte, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	return bodies
}

func FuzzDecodeJSON(f *testing.F) {
	for _, tc := range decodeJSONCases {
		f.Add([]byte(tc.body))
	}
	for _, b := range jsonTestdata(f) {
		f.Add(b)
	}
	f.Fuzz(sameAsStdlib)
}

// BenchmarkDecodeJSON compares encoding/json with parseJSON on a 1.7 KB Stripe event.
func BenchmarkDecodeJSON(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "stripe", "checkout.session.completed.json"))
	if err != nil {
		b.Fatal(err)
	}
	for _, impl := range []struct {
		name   string
		decode func([]byte) (any, error)
	}{
		{"stdlib", stdlibDecodeJSON},
		{"parser", decodeJSON},
	} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := impl.decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
