package main

// RFC 8785 (JSON Canonicalization Scheme) for the values this agent signs: what
// encoding/json gives for a JSON document (map[string]interface{}, []interface{}, string,
// float64, bool, nil) plus Go ints. Object keys are sorted by UTF-16 code units, there is no
// whitespace, strings use the minimal JSON escapes, and numbers are written as ECMAScript's
// Number.prototype.toString writes them (shortest round-trip digits). It covers the object
// shapes this agent sends (announce, append, their data and JSON Schemas); it is not a
// general-purpose library, and it refuses what it cannot encode rather than guessing.

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Canonical returns the RFC 8785 canonical JSON of v.
func Canonical(v interface{}) (string, error) {
	var b strings.Builder
	if err := writeCanonical(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeCanonical(b *strings.Builder, v interface{}) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		return writeString(b, x)
	case float64:
		s, err := esNumber(x)
		if err != nil {
			return err
		}
		b.WriteString(s)
	case int:
		return writeCanonical(b, float64(x))
	case int64:
		return writeCanonical(b, float64(x))
	case []interface{}:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case []string:
		arr := make([]interface{}, len(x))
		for i, s := range x {
			arr[i] = s
		}
		return writeCanonical(b, arr)
	case map[string]interface{}:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return lessUTF16(keys[i], keys[j]) })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeString(b, k); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := writeCanonical(b, x[k]); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("canonical JSON: unsupported type %T", v)
	}
	return nil
}

// lessUTF16 orders strings by their UTF-16 code units, as RFC 8785 section 3.2.3 requires.
func lessUTF16(a, b string) bool {
	ua := utf16.Encode([]rune(a))
	ub := utf16.Encode([]rune(b))
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return ua[i] < ub[i]
		}
	}
	return len(ua) < len(ub)
}

func writeString(b *strings.Builder, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("canonical JSON: string is not valid UTF-8")
	}
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return nil
}

// esNumber writes a float64 as ECMAScript's Number.prototype.toString does (RFC 8785 3.2.2.3).
func esNumber(v float64) (string, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "", fmt.Errorf("canonical JSON: %v is not a JSON number", v)
	}
	if v == 0 {
		return "0", nil // also -0
	}
	sign := ""
	if v < 0 {
		sign = "-"
		v = -v
	}
	// Shortest digits that round-trip, as d.ddde±x.
	e := strconv.FormatFloat(v, 'e', -1, 64)
	mant, expStr := e[:strings.IndexByte(e, 'e')], e[strings.IndexByte(e, 'e')+1:]
	exp, err := strconv.Atoi(expStr)
	if err != nil {
		return "", err
	}
	digits := strings.Replace(mant, ".", "", 1)
	k := len(digits)
	n := exp + 1 // value = 0.digits × 10^n
	var out string
	switch {
	case k <= n && n <= 21:
		out = digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		out = digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		out = "0." + strings.Repeat("0", -n) + digits
	default:
		es := "+"
		if n-1 < 0 {
			es = "-"
		}
		ab := n - 1
		if ab < 0 {
			ab = -ab
		}
		if k == 1 {
			out = digits + "e" + es + strconv.Itoa(ab)
		} else {
			out = digits[:1] + "." + digits[1:] + "e" + es + strconv.Itoa(ab)
		}
	}
	return sign + out, nil
}
