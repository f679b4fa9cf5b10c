package inventory

import (
	"regexp"
	"strings"
	"testing"
)

// The rules validHostName and validUser write out by hand, as regular
// expressions to check them against.
var (
	hostNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,252}$`)
	userRE     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}\$?$`)
)

func TestValidNames(t *testing.T) {
	inputs := []string{
		"", "a", "web-01.example.com", "_x", "-x", ".x", "x-", "x.", "a b", "a;b", "$(x)", "`x`",
		"a$", "$", "a$$", "$a", "ä", "a\n", "\na", "a\x00", "0", "web_1",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("a", 64) + "$",
		strings.Repeat("a", 252), strings.Repeat("a", 253), strings.Repeat("a", 254),
	}
	// Every string of up to two characters over an alphabet of the
	// interesting ones.
	alphabet := []string{"a", "Z", "0", "_", ".", "-", "$", " ", ";", "é"}
	for _, x := range alphabet {
		inputs = append(inputs, x)
		for _, y := range alphabet {
			inputs = append(inputs, x+y)
			for _, z := range alphabet {
				inputs = append(inputs, x+y+z)
			}
		}
	}
	for _, s := range inputs {
		if got, want := validHostName(s), hostNameRE.MatchString(s); got != want {
			t.Errorf("validHostName(%q) = %v, want %v", s, got, want)
		}
		if got, want := validUser(s), userRE.MatchString(s); got != want {
			t.Errorf("validUser(%q) = %v, want %v", s, got, want)
		}
	}
}
