package sshx

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/rolloutconsole/rollout/engine"
)

const testMark = "rollout-T:"

var testFrame = regexp.MustCompile(regexp.QuoteMeta(testMark) + `([0-9]{0,3})\n`)

// chunked hands out its data in pieces of the sizes given, in turn, as
// pipes and SSH channels do.
type chunked struct {
	data  []byte
	sizes []byte
	i     int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)])%17 + 1
		c.i++
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// wantFrames is what a frameReader must make of a stream: the output of
// each command, up to each frame (the mark, up to three digits, a newline),
// with its status (-1 for a frame without digits), then what follows the
// last frame, to the end.
func wantFrames(stream []byte) (outs [][]byte, statuses []int, rest []byte) {
	for {
		m := testFrame.FindSubmatchIndex(stream)
		if m == nil {
			return outs, statuses, stream
		}
		outs = append(outs, stream[:m[0]])
		st := -1
		if m[3] > m[2] {
			st, _ = strconv.Atoi(string(stream[m[2]:m[3]]))
		}
		statuses = append(statuses, st)
		stream = stream[m[1]:]
	}
}

// readFrames reads a stream the way collect does, a command at a time.
func readFrames(t testing.TB, f *frameReader) (outs [][]byte, statuses []int, rest []byte) {
	for {
		f.next()
		b, err := io.ReadAll(iotest.OneByteReader(f))
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if !f.framed {
			return outs, statuses, b
		}
		st, ok := f.status()
		if !ok {
			st = -1
		}
		outs = append(outs, b)
		statuses = append(statuses, st)
	}
}

func checkFrames(t testing.TB, stream, sizes []byte) {
	wo, ws, wr := wantFrames(stream)
	go1, gs, gr := readFrames(t, newFrameReader(&chunked{data: stream, sizes: sizes}, testMark))
	if len(go1) != len(wo) || !bytes.Equal(gr, wr) {
		t.Fatalf("stream %q: got %d commands, rest %q; want %d, rest %q", stream, len(go1), gr, len(wo), wr)
	}
	for i := range wo {
		if !bytes.Equal(go1[i], wo[i]) || gs[i] != ws[i] {
			t.Fatalf("stream %q, command %d: got %q status %d, want %q status %d", stream, i, go1[i], gs[i], wo[i], ws[i])
		}
	}
}

// A command's output reaches the reader byte for byte, whatever it holds
// and however the stream is cut, up to the frame; the status is the
// frame's; what follows is the next command's.
func TestFrameReader(t *testing.T) {
	for _, s := range []string{
		"",
		"hello\n" + testMark + "0\n",
		"no newline" + testMark + "3\n" + "next\n" + testMark + "255\n" + "left over",
		testMark + "\n",                      // stderr's frame: no status
		"rollout-T" + "rollout-T:" + "12\n",  // a mark inside a near one
		testMark + "1234\n" + testMark + "x", // too long a status, a torn mark: output
		testMark + testMark + "7\n",
		"rollout-T",
		"a\r\n\x00\xff" + testMark + "1\n",
	} {
		for _, sizes := range [][]byte{nil, {0}, {1, 5, 16}, {9}} {
			checkFrames(t, []byte(s), sizes)
		}
	}
}

// A stream that ends in an error, with no frame, hands on all of its
// output, then the error.
func TestFrameReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader([]byte("out rollout-")), iotest.ErrReader(boom))
	f := newFrameReader(r, testMark)
	b, err := io.ReadAll(f)
	if string(b) != "out rollout-" || !errors.Is(err, boom) || f.framed {
		t.Fatalf("got %q, %v, framed %v", b, err, f.framed)
	}
}

func FuzzFrameReader(f *testing.F) {
	f.Add([]byte("hello\n"+testMark+"0\nnext"), []byte{3, 1})
	f.Add([]byte("x"+testMark+"12"+testMark+"1\n"), []byte{0})
	f.Add([]byte(testMark+"\n"+testMark), []byte{})
	f.Fuzz(func(t *testing.T, stream, sizes []byte) {
		checkFrames(t, stream, sizes)
	})
}

// BenchmarkFrameReader reads a command's output, 64-byte lines in 32 KiB
// pieces (an SSH channel's packets), through a frame reader into
// ScanLines, as collect does for a kept session, beside ScanLines on the
// bare stream: what framing costs per byte.
func BenchmarkFrameReader(b *testing.B) {
	line := bytes.Repeat([]byte("x"), 63)
	line = append(line, '\n')
	out := bytes.Repeat(line, 1<<14) // 1 MiB
	framed := append(append([]byte(nil), out...), testMark+"0\n"...)
	for _, tc := range []struct {
		name string
		r    func() io.Reader
	}{
		{"bare", func() io.Reader { return &pieces{data: out, n: 32 << 10} }},
		{"framed", func() io.Reader {
			return newFrameReader(&pieces{data: framed, n: 32 << 10}, testMark)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			lines := 0
			for b.Loop() {
				_ = engine.ScanLines(tc.r(), engine.Stdout, func(engine.Stream, []byte) { lines++ })
			}
			if lines == 0 {
				b.Fatal("no lines")
			}
		})
	}
}

// pieces hands out its data n bytes at a time.
type pieces struct {
	data []byte
	n    int
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	k := copy(b, p.data[:min(p.n, len(p.data))])
	p.data = p.data[k:]
	return k, nil
}
