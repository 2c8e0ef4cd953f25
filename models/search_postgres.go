package models

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// On PostgreSQL the search index is a tsvector per delivery, but the words in it are cut here, by
// the rules of SQLite's index (the unicode61 tokenizer with tokenchars '_@.+-'), not by
// PostgreSQL's parser: that parser takes everything between "<" and ">" for markup and drops it
// (a payload quoting "<script>" loses its words), and splits what SQLite keeps whole
// ("ord-123", "trace_id"). Cutting the words the same way on both databases makes the same terms
// find the same deliveries.

// searchTokenChars are the punctuation characters that belong to a word, as in the SQLite index.
const searchTokenChars = "_@.+-"

// PostgreSQL's limits on a tsvector: the longest word, the highest position, the most positions a
// word keeps, and the size of the whole value (with some margin).
const (
	pgMaxLexeme    = 2046
	pgMaxPosition  = 16383
	pgMaxPositions = 256
	pgMaxDocBytes  = 1 << 20 * 9 / 10
)

func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.In(r, unicode.Co, unicode.Mn) ||
		strings.ContainsRune(searchTokenChars, r)
}

// asciiToken says which ASCII bytes belong to a word; bytes from 0x80 start a rune that isTokenRune
// decides.
var asciiToken = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = isTokenRune(rune(c))
	}
	return t
}()

// searchTokens splits text into words as the SQLite index does: runs of letters, digits and
// searchTokenChars, lower-cased, with the diacritics of Latin letters removed ("Café" is "cafe").
// A word longer than max bytes is kept as "" (it still takes a position).
func searchTokens(text string, max int) []string {
	var out []string
	start, ascii := -1, true
	end := func(i int) {
		if start < 0 {
			return
		}
		w := text[start:i]
		switch {
		case len(w) > 2*max: // folding cannot bring it under max
			w = ""
		case ascii:
			w = strings.ToLower(w)
		default:
			w = foldToken(w)
		}
		if len(w) > max {
			w = ""
		}
		out = append(out, w)
		start, ascii = -1, true
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if asciiToken[c] {
				if start < 0 {
					start = i
				}
			} else {
				end(i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if r != utf8.RuneError && isTokenRune(r) {
			if start < 0 {
				start = i
			}
			ascii = false
		} else {
			end(i)
		}
		i += size
	}
	end(len(text))
	return out
}

// foldToken lower-cases a word and removes the combining marks that follow a Latin letter.
func foldToken(w string) string {
	var b strings.Builder
	latin := false
	for _, r := range norm.NFD.String(w) {
		if unicode.Is(unicode.Mn, r) {
			if !latin {
				b.WriteRune(r)
			}
			continue
		}
		latin = unicode.Is(unicode.Latin, r)
		b.WriteRune(unicode.ToLower(r))
	}
	return norm.NFC.String(b.String())
}

// pgQuote writes a word as a tsvector or tsquery literal quotes it.
func pgQuote(b *strings.Builder, w string) {
	b.WriteByte('\'')
	for _, r := range w {
		switch r {
		case '\'':
			b.WriteString("''")
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
}

// pgSearchDoc is the tsvector literal of a delivery's headers and body. A gap of one position
// between the two keeps a phrase from running from the headers into the body, as SQLite's two
// columns do. What PostgreSQL cannot hold is left out: words over pgMaxLexeme bytes, positions
// past pgMaxPosition, and words once the value nears its size limit.
func pgSearchDoc(headers, body string) string {
	positions := map[string][]int{}
	var order []string
	size, pos := 0, 0
	for _, text := range []string{headers, body} {
		for _, w := range searchTokens(text, pgMaxLexeme) {
			pos++
			if w == "" {
				continue
			}
			ps, seen := positions[w]
			if !seen {
				if size+len(w)+8 > pgMaxDocBytes {
					continue
				}
				size += len(w) + 8
				order = append(order, w)
			}
			if len(ps) < pgMaxPositions && pos <= pgMaxPosition {
				positions[w] = append(ps, pos)
				size += 2
			} else if !seen {
				positions[w] = ps
			}
		}
		pos++
	}
	var b strings.Builder
	for i, w := range order {
		if i > 0 {
			b.WriteByte(' ')
		}
		pgQuote(&b, w)
		for j, p := range positions[w] {
			if j == 0 {
				b.WriteByte(':')
			} else {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(p))
		}
	}
	return b.String()
}

// pgSearchQuery is the tsquery literal meaning "every term": each term a phrase of its words in
// order (as SQLite reads a quoted string), joined with &. ok is false when a term has no word the
// index can hold, so nothing can match.
func pgSearchQuery(terms []string) (q string, ok bool) {
	var b strings.Builder
	for i, t := range terms {
		words := searchTokens(t, pgMaxLexeme)
		if len(words) == 0 {
			return "", false
		}
		if i > 0 {
			b.WriteString(" & ")
		}
		b.WriteByte('(')
		for j, w := range words {
			if w == "" {
				return "", false
			}
			if j > 0 {
				b.WriteString(" <-> ")
			}
			pgQuote(&b, w)
		}
		b.WriteByte(')')
	}
	return b.String(), len(terms) > 0
}
