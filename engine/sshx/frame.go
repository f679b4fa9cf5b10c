package sshx

import (
	"bytes"
	"io"
	"strconv"
)

// maxFrameTail bounds what may follow a frame's mark on its line: an exit
// status, at most three digits. Anything else there is not a frame.
const maxFrameTail = 3

// frameReader reads one stream of a warm session (wrapperChain) a command
// at a time: Read returns the command's output, then io.EOF at the frame
// the wrapper writes after it (the mark, then digits, then a newline),
// where next starts the next command's. The stream's own end, with no
// frame (the wrapper exited, or was killed), is returned as it comes.
//
// Output is handed on as it arrives, but for a tail that could be the
// start of the mark, held until the bytes after it tell. Memory is bounded
// whatever the remote prints: a fixed buffer of a few KiB.
type frameReader struct {
	r    io.Reader
	mark []byte

	buf        []byte
	start, end int // unread bytes: buf[start:end]
	err        error

	framed bool   // the current command's frame has been read
	tail   []byte // the digits after its mark
}

func newFrameReader(r io.Reader, mark string) *frameReader {
	return &frameReader{r: r, mark: []byte(mark), buf: make([]byte, 4<<10)}
}

// Read implements io.Reader.
func (f *frameReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if f.framed {
			return 0, io.EOF
		}
		pend := f.buf[f.start:f.end]
		safe := len(pend) // bytes that are output whatever follows
		if i := bytes.Index(pend, f.mark); i > 0 {
			safe = i
		} else if i == 0 {
			rest := pend[len(f.mark):]
			j := 0
			for j < len(rest) && j <= maxFrameTail && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			switch {
			case j < len(rest) && j <= maxFrameTail && rest[j] == '\n':
				f.tail = append(f.tail[:0], rest[:j]...)
				f.start += len(f.mark) + j + 1
				f.framed = true
				return 0, io.EOF
			case j == len(rest) && j <= maxFrameTail && f.err == nil:
				safe = 0 // the line goes on: wait for more
			default:
				safe = 1 // not a frame: its first byte is output
			}
		} else if f.err == nil {
			safe -= partialMark(pend, f.mark)
		}
		if safe > 0 {
			n := copy(p, pend[:safe])
			f.start += n
			return n, nil
		}
		if f.err != nil {
			return 0, f.err
		}
		f.fill()
	}
}

// fill reads more of the stream into the buffer, after moving what is left
// unread to its start. It is only called with little left: less than a
// mark and its tail.
func (f *frameReader) fill() {
	if f.start > 0 {
		f.end = copy(f.buf, f.buf[f.start:f.end])
		f.start = 0
	}
	n, err := f.r.Read(f.buf[f.end:])
	f.end += n
	if err != nil {
		f.err = err
	}
}

// partialMark is the length of the longest end of b that is the start of
// mark (shorter than mark): bytes that may yet prove to be a frame.
func partialMark(b, mark []byte) int {
	for k := min(len(b), len(mark)-1); k > 0; k-- {
		if bytes.Equal(b[len(b)-k:], mark[:k]) {
			return k
		}
	}
	return 0
}

// next makes the reader ready for the next command's output, after its
// frame.
func (f *frameReader) next() {
	f.framed = false
	f.tail = f.tail[:0]
}

// status is the exit status in the frame just read, and whether there is
// one.
func (f *frameReader) status() (int, bool) {
	if !f.framed || len(f.tail) == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(string(f.tail))
	return n, err == nil
}
