package ansible

import (
	"strings"
)

// word is one word of a line split the way Python's shlex.split(line,
// comments=True) splits it (POSIX mode, as Ansible reads INI host lines and
// ssh arguments), with the byte offset where it starts in the line.
type word struct {
	text string
	off  int
}

// shellError is a line shlex cannot split, and the byte offset to blame.
type shellError struct {
	msg string
	off int
}

// splitShell splits line into words: whitespace separates words; '…' quotes
// everything literally; "…" quotes with \ escaping only " and \; outside
// quotes \ escapes any character; an unquoted # starts a comment that runs to
// the end of the line, even in the middle of a word, as in shlex.
func splitShell(line string) ([]word, *shellError) {
	var words []word
	var b strings.Builder
	inWord, start := false, 0
	emit := func() {
		if inWord {
			words = append(words, word{text: b.String(), off: start})
		}
		b.Reset()
		inWord = false
	}
	begin := func(i int) {
		if !inWord {
			inWord, start = true, i
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			emit()
		case c == '#':
			emit()
			return words, nil
		case c == '\'':
			begin(i)
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, &shellError{msg: "no closing quotation", off: i}
			}
			b.WriteString(line[i+1 : i+1+end])
			i += end + 1
		case c == '"':
			begin(i)
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) && (line[j+1] == '"' || line[j+1] == '\\') {
					j++
				}
				b.WriteByte(line[j])
			}
			if j >= len(line) {
				return nil, &shellError{msg: "no closing quotation", off: i}
			}
			i = j
		case c == '\\':
			begin(i)
			if i+1 >= len(line) {
				return nil, &shellError{msg: "no escaped character after \\", off: i}
			}
			i++
			b.WriteByte(line[i])
		default:
			begin(i)
			b.WriteByte(c)
		}
	}
	emit()
	return words, nil
}

// pyValue reads a value the way Ansible's INI plugin does, through Python's
// ast.literal_eval: a quoted string loses its quotes and escapes, True, False
// and numbers are kept as written, None is null; each may be followed by a
// Python comment. Anything else (a bare word, a list) is the text itself.
func pyValue(s string) (value string, null bool) {
	s = strings.TrimSpace(s)
	lit, rest, ok := pyLiteral(s)
	if !ok {
		return s, false
	}
	if rest = strings.TrimSpace(rest); rest != "" && rest[0] != '#' {
		return s, false
	}
	if lit == nil {
		return "", true
	}
	return *lit, false
}

// pyLiteral reads one literal at the start of s: nil for None.
func pyLiteral(s string) (lit *string, rest string, ok bool) {
	if s == "" {
		return nil, "", false
	}
	if s[0] == '\'' || s[0] == '"' {
		return pyString(s)
	}
	end := 0
	for end < len(s) && (isAlnum(s[end]) || s[end] == '.' || s[end] == '_' || (end == 0 && (s[0] == '-' || s[0] == '+'))) {
		end++
	}
	tok := s[:end]
	switch {
	case tok == "None":
		return nil, s[end:], true
	case tok == "True" || tok == "False" || isNumber(tok):
		return &tok, s[end:], true
	}
	return nil, "", false
}

// pyString reads a single- or double-quoted Python string at the start of s.
func pyString(s string) (lit *string, rest string, ok bool) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			v := b.String()
			return &v, s[i+1:], true
		case c == '\n':
			return nil, "", false
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '\'', '"':
				b.WriteByte(e)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return nil, "", false
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isNumber reports whether s is a decimal integer or float as Python writes
// one ("22", "-1", "1.5", "1_000").
func isNumber(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	dots := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			dots++
		case c == '_' || c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return dots <= 1
}
