package diag

import (
	"encoding/json"
	"testing"
)

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "inv.yaml", Line: 3, Col: 5, Msg: "unknown key", Hint: "did you mean?"}, "inv.yaml:3:5: unknown key\n\thint: did you mean?"},
		{Error{File: "inv.yaml", Line: 3, Col: 5, Msg: "bad"}, "inv.yaml:3:5: bad"},
		{Error{File: "inv.yaml", Msg: "no such file"}, "inv.yaml: no such file"},
		{Error{Msg: "bare"}, "bare"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestListSortAndErr(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatal("an empty List is an error")
	}
	l.Add("b.yaml", Pos{Line: 1, Col: 1}, "", "b first")
	l.Add("a.yaml", Pos{Line: 9, Col: 1}, "", "a nine")
	l.Add("a.yaml", Pos{Line: 2, Col: 7}, "hint", "a two %s", "seven")
	l.Add("a.yaml", Pos{Line: 2, Col: 3}, "", "a two three")
	l.Add("a.yaml", Pos{Line: 9, Col: 1}, "", "a nine")          // an exact duplicate
	l.Add("a.yaml", Pos{Line: 9, Col: 1}, "", "a nine, another") // same place, other problem
	err := l.Err()
	want := "a.yaml:2:3: a two three\n" +
		"a.yaml:2:7: a two seven\n\thint: hint\n" +
		"a.yaml:9:1: a nine\n" +
		"a.yaml:9:1: a nine, another\n" +
		"b.yaml:1:1: b first"
	if err == nil || err.Error() != want {
		t.Errorf("Err() =\n%v\nwant\n%s", err, want)
	}
	data, jerr := json.Marshal(List{{File: "f", Line: 1, Col: 2, Msg: "m", Hint: "h"}, {File: "f", Msg: "whole file"}})
	if jerr != nil || string(data) != `[{"file":"f","line":1,"col":2,"message":"m","hint":"h"},{"file":"f","message":"whole file"}]` {
		t.Errorf("JSON %s, %v", data, jerr)
	}
	if got := (Pos{Line: 4, Col: 2}).String(); got != "4:2" {
		t.Errorf("Pos.String() = %q", got)
	}
}
