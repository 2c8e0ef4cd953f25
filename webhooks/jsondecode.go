package webhooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth is encoding/json's nesting limit: 10000 open objects and arrays are accepted, one more
// is not.
const maxJSONDepth = 10000

// parseJSON decodes one JSON value as encoding/json's Decoder with UseNumber decodes it into an any,
// followed by a check that nothing but whitespace comes after it. The tree, the choice to accept or
// reject, and the error text are the same as the standard library's: objects are map[string]any
// (the last of duplicate keys wins), arrays are non-nil []any, numbers are json.Number holding the
// literal text, and strings have invalid UTF-8 and lone surrogates replaced by U+FFFD. Errors wrap
// ErrNotJSON. The error text keeps the standard library's wording, without an offset, because it is
// stored as the event's error and must read the same as it did before this parser.
//
// Every string in the tree is a fresh copy: a map key or a value that aliased body would keep the
// whole body alive for as long as anything extracted from it.
func parseJSON(body []byte) (any, error) {
	p := parsers.Get().(*jsonParser)
	defer p.release()
	p.data = body
	p.skipSpace()
	v, err := p.value()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	p.skipSpace()
	if p.pos < len(p.data) {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrNotJSON)
	}
	return v, nil
}

// jsonParser is a recursive-descent parser over one body. The members of open containers wait on
// the keys and values stacks until their container closes, so each map and slice is made once at
// its final size instead of growing. Objects push onto both stacks and arrays onto values only, so
// the two stacks have different heights.
type jsonParser struct {
	data   []byte
	pos    int // the next byte to read
	depth  int // objects and arrays open
	keys   []string
	values []any
	text   []byte // scratch for strings that need unescaping or UTF-8 repair
}

// parsers keeps jsonParsers between bodies, so their scratch has grown already: the pool took a
// fifth off BenchmarkDecodeJSON.
var parsers = sync.Pool{New: func() any { return new(jsonParser) }}

// maxPooledScratch bounds the length of each scratch slice a pooled parser keeps, so one huge body
// does not pin its memory.
const maxPooledScratch = 1024

// release returns p to parsers, dropping every reference into the body and the tree it built.
func (p *jsonParser) release() {
	if cap(p.keys) > maxPooledScratch || cap(p.values) > maxPooledScratch || cap(p.text) > maxPooledScratch {
		return
	}
	clear(p.keys[:cap(p.keys)])
	clear(p.values[:cap(p.values)])
	*p = jsonParser{keys: p.keys[:0], values: p.values[:0], text: p.text[:0]}
	parsers.Put(p)
}

// skipSpace skips JSON whitespace: only space, tab, CR and LF count.
func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
		default:
			return
		}
	}
}

// value parses the value at p.pos, whitespace already skipped.
func (p *jsonParser) value() (any, error) {
	if p.pos >= len(p.data) {
		return nil, io.ErrUnexpectedEOF
	}
	switch c := p.data[p.pos]; c {
	case '{':
		return p.object()
	case '[':
		return p.array()
	case '"':
		s, err := p.string()
		if err != nil {
			return nil, err
		}
		return s, nil
	case 't':
		return p.literal("true", true)
	case 'f':
		return p.literal("false", false)
	case 'n':
		return p.literal("null", nil)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return p.number()
	default:
		return nil, syntaxError(c, "looking for beginning of value")
	}
}

// open counts the object or array starting at p.pos against the depth limit and steps past its
// opening bracket and the whitespace after it. Its closing bracket uncounts it; after an error the
// count no longer matters.
func (p *jsonParser) open() error {
	p.depth++
	if p.depth > maxJSONDepth {
		return syntaxError(p.data[p.pos], "exceeded max depth")
	}
	p.pos++
	p.skipSpace()
	return nil
}

// object parses the object at p.pos into a map made at the size of its members.
func (p *jsonParser) object() (any, error) {
	if err := p.open(); err != nil {
		return nil, err
	}
	keysBase, valuesBase := len(p.keys), len(p.values)
	if p.closes('}') {
		return map[string]any{}, nil
	}
	for {
		if p.pos >= len(p.data) {
			return nil, io.ErrUnexpectedEOF
		}
		if c := p.data[p.pos]; c != '"' {
			return nil, syntaxError(c, "looking for beginning of object key string")
		}
		key, err := p.string()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, io.ErrUnexpectedEOF
		}
		if c := p.data[p.pos]; c != ':' {
			return nil, syntaxError(c, "after object key")
		}
		p.pos++
		p.skipSpace()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.keys = append(p.keys, key)
		p.values = append(p.values, v)
		if closed, err := p.afterMember('}', "after object key:value pair"); err != nil {
			return nil, err
		} else if closed {
			keys, values := p.keys[keysBase:], p.values[valuesBase:]
			m := make(map[string]any, len(keys))
			for i, k := range keys {
				m[k] = values[i]
			}
			p.keys, p.values = p.keys[:keysBase], p.values[:valuesBase]
			return m, nil
		}
	}
}

// array parses the array at p.pos into a slice made at its final length; [] gives an empty, non-nil
// slice, as encoding/json does.
func (p *jsonParser) array() (any, error) {
	if err := p.open(); err != nil {
		return nil, err
	}
	base := len(p.values)
	if p.closes(']') {
		return []any{}, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.values = append(p.values, v)
		if closed, err := p.afterMember(']', "after array element"); err != nil {
			return nil, err
		} else if closed {
			a := make([]any, len(p.values)-base)
			copy(a, p.values[base:])
			p.values = p.values[:base]
			return a, nil
		}
	}
}

// closes steps past closer, ending the object or array just opened, when it comes next: the
// container is empty.
func (p *jsonParser) closes(closer byte) bool {
	if p.pos < len(p.data) && p.data[p.pos] == closer {
		p.pos++
		p.depth--
		return true
	}
	return false
}

// afterMember steps past what follows a member of an object or array: a comma and the whitespace
// after it, or closer, which ends the container (closed). Anything else is an error worded with
// context.
func (p *jsonParser) afterMember(closer byte, context string) (closed bool, err error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return false, io.ErrUnexpectedEOF
	}
	switch c := p.data[p.pos]; c {
	case ',':
		p.pos++
		p.skipSpace()
		return false, nil
	case closer:
		p.pos++
		p.depth--
		return true, nil
	default:
		return false, syntaxError(c, context)
	}
}

// literal matches true, false or null, whose first letter is already seen.
func (p *jsonParser) literal(word string, v any) (any, error) {
	for i := 1; i < len(word); i++ {
		at := p.pos + i
		if at >= len(p.data) {
			return nil, io.ErrUnexpectedEOF
		}
		if c := p.data[at]; c != word[i] {
			return nil, syntaxError(c, "in literal "+word+" (expecting "+quoteChar(word[i])+")")
		}
	}
	p.pos += len(word)
	return v, nil
}

// number matches -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and keeps its text.
func (p *jsonParser) number() (any, error) {
	d := p.data
	start, i := p.pos, p.pos
	if d[i] == '-' {
		i++
		if i >= len(d) {
			return nil, io.ErrUnexpectedEOF
		}
		if !isDigit(d[i]) {
			return nil, syntaxError(d[i], "in numeric literal")
		}
	}
	if d[i] == '0' {
		i++
	} else {
		i = skipDigits(d, i)
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) {
			return nil, io.ErrUnexpectedEOF
		}
		if !isDigit(d[i]) {
			return nil, syntaxError(d[i], "after decimal point in numeric literal")
		}
		i = skipDigits(d, i)
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) {
			return nil, io.ErrUnexpectedEOF
		}
		if !isDigit(d[i]) {
			return nil, syntaxError(d[i], "in exponent of numeric literal")
		}
		i = skipDigits(d, i)
	}
	p.pos = i
	return json.Number(d[start:i]), nil
}

// isDigit reports whether c is an ASCII digit.
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// skipDigits returns the index of the first non-digit at or after i.
func skipDigits(d []byte, i int) int {
	for i < len(d) && isDigit(d[i]) {
		i++
	}
	return i
}

// string parses the string whose opening quote is at p.pos. A string of plain, valid UTF-8 is
// copied straight out of the body; an escape or a byte of invalid UTF-8 hands over to
// unquoteString.
func (p *jsonParser) string() (string, error) {
	d := p.data
	start := p.pos + 1
	for i := start; i < len(d); {
		c := d[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return string(d[start:i]), nil
		case c == '\\':
			return p.unquoteString(start, i)
		case c < 0x20:
			return "", syntaxError(c, "in string literal")
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				return p.unquoteString(start, i)
			}
			i += size
		}
	}
	return "", io.ErrUnexpectedEOF
}

// unquoteString finishes the string that starts at start, from i on, the first byte needing more
// than a copy. It follows encoding/json's unquote: each byte of invalid UTF-8 becomes U+FFFD, and so
// does a \u escape of a surrogate that is not the first half of a pair completed by the next \u
// escape; that next escape is then decoded on its own.
func (p *jsonParser) unquoteString(start, i int) (string, error) {
	d := p.data
	text := append(p.text[:0], d[start:i]...)
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			p.pos = i + 1
			p.text = text
			return string(text), nil
		case c == '\\':
			i++
			if i >= len(d) {
				return "", io.ErrUnexpectedEOF
			}
			switch e := d[i]; e {
			case '"', '\\', '/':
				text = append(text, e)
			case 'b':
				text = append(text, '\b')
			case 'f':
				text = append(text, '\f')
			case 'n':
				text = append(text, '\n')
			case 'r':
				text = append(text, '\r')
			case 't':
				text = append(text, '\t')
			case 'u':
				r, err := hex4(d, i+1)
				if err != nil {
					return "", err
				}
				i += 4
				if utf16.IsSurrogate(r) {
					if pair := utf16.DecodeRune(r, escapeU(d, i+1)); pair != unicode.ReplacementChar {
						r = pair
						i += 6
					} else {
						r = unicode.ReplacementChar
					}
				}
				text = utf8.AppendRune(text, r)
			default:
				return "", syntaxError(e, "in string escape code")
			}
			i++
		case c < 0x20:
			return "", syntaxError(c, "in string literal")
		case c < utf8.RuneSelf:
			text = append(text, c)
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			text = utf8.AppendRune(text, r)
			i += size
		}
	}
	return "", io.ErrUnexpectedEOF
}

// hex4 reads the four hex digits of a \u escape starting at i.
func hex4(d []byte, i int) (rune, error) {
	var r rune
	for j := i; j < i+4; j++ {
		if j >= len(d) {
			return 0, io.ErrUnexpectedEOF
		}
		n, ok := hexValue(d[j])
		if !ok {
			return 0, syntaxError(d[j], "in \\u hexadecimal character escape")
		}
		r = r<<4 | n
	}
	return r, nil
}

// escapeU returns the rune of a complete \uXXXX escape at i, or -1 when there is none there.
func escapeU(d []byte, i int) rune {
	if i+6 > len(d) || d[i] != '\\' || d[i+1] != 'u' {
		return -1
	}
	r, err := hex4(d, i+2)
	if err != nil {
		return -1
	}
	return r
}

// hexValue returns the value of one hex digit.
func hexValue(c byte) (rune, bool) {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0'), true
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10), true
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10), true
	}
	return 0, false
}

// syntaxError words an unexpected byte as encoding/json's scanner does.
func syntaxError(c byte, context string) error {
	return errors.New("invalid character " + quoteChar(c) + " " + context)
}

// quoteChar quotes a byte as encoding/json's error messages do: the byte read as a code point
// (0xFF shows as 'ÿ'), in single quotes.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}
