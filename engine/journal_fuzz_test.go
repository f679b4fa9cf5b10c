package engine

import (
	"bytes"
	"testing"
	"time"
)

// FuzzReadJournal feeds the journal reader any bytes: it never panics; what
// it reads has seq 1, 2, 3…; damage lies inside the file, after the header,
// and everything before it reads back alone, undamaged, as the same records.
func FuzzReadJournal(f *testing.F) {
	h := []byte(`{"format":1,"id":"20260101-000000-web-abcdef","change":"c","digest":"d","service":"web","inventory":"i","change_file":"c","created":"2026-01-01T00:00:00Z","user":"u"}` + "\n")
	var good bytes.Buffer
	good.Write(h)
	for i, ev := range []Event{Note{Msg: "hello"}, HostChanged{Host: "web-1", Phase: PhaseTest, State: StateApplying},
		HostOutput{Host: "web-1", Lines: []string{"\x1b[2Jout"}}, GateReached{Gate: 1, Kind: GateStart}} {
		line, err := Record{Seq: int64(i + 1), Time: time.Unix(0, 0).UTC(), Event: ev}.appendJSON(nil)
		if err != nil {
			f.Fatal(err)
		}
		good.Write(append(line, '\n'))
	}
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:good.Len()-7])
	f.Add(append(append([]byte(nil), h...), "{\"seq\":2}\n"...))
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"format":99,"id":"x"}` + "\n"))
	f.Add(append(append([]byte(nil), h...), "\n\n\xff\n"...))
	f.Fuzz(func(t *testing.T, data []byte) {
		rp, err := readJournal("fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		for i, r := range rp.Records {
			if r.Seq != int64(i+1) {
				t.Fatalf("record %d has seq %d", i, r.Seq)
			}
		}
		d := rp.Damage
		if d == nil {
			return
		}
		if d.Offset <= 0 || d.Offset >= int64(len(data)) || d.Line < 2 {
			t.Fatalf("damage %+v outside a file of %d bytes", d, len(data))
		}
		if d.Torn && bytes.HasSuffix(data, []byte("\n")) {
			t.Fatalf("torn damage on a file ending in a newline: %+v", d)
		}
		if n := bytes.Count(data[:d.Offset], []byte("\n")); n != d.Line-1 {
			t.Fatalf("damage at line %d but %d lines before its offset", d.Line, n)
		}
		again, err := readJournal("fuzz", bytes.NewReader(data[:d.Offset]))
		if err != nil || again.Damage != nil || len(again.Records) != len(rp.Records) {
			t.Fatalf("the good part reads back as %d records, damage %v, err %v; want %d, none", len(again.Records), again.Damage, err, len(rp.Records))
		}
	})
}
