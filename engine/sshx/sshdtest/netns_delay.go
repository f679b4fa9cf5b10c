package sshdtest

import (
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// DelayProxy listens on 127.0.0.1 and forwards every connection to target,
// holding each chunk read in either direction for delay ± jitter before it
// is written on: a slow link in user space, for where tc's netem is not
// available. Chunks keep their order (a chunk is never written before the
// one read ahead of it), as on a TCP stream; an end of input is passed on
// once what came before it was. It returns the address to dial, and closes
// everything when the test ends.
func DelayProxy(t testing.TB, target string, delay, jitter time.Duration) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &delayProxy{delay: delay, jitter: jitter, conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		p.closeAll()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(c, target)
			}()
		}
	}()
	return l.Addr().String()
}

type delayProxy struct {
	delay, jitter time.Duration

	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

func (p *delayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *delayProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
}

func (p *delayProxy) serve(c net.Conn, target string) {
	if !p.track(c) {
		return
	}
	defer c.Close()
	up, err := net.DialTimeout("tcp", target, 10*time.Second)
	if err != nil {
		return
	}
	if !p.track(up) {
		return
	}
	defer up.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(up, c) }()
	go func() { defer wg.Done(); p.pipe(c, up) }()
	wg.Wait()
}

type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies from src to dst, each chunk delayed; on an error either way
// both connections are closed.
func (p *delayProxy) pipe(dst, src net.Conn) {
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		var last time.Time
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				d := p.delay
				if p.jitter > 0 {
					d += time.Duration(rand.Int64N(int64(2*p.jitter+1))) - p.jitter
				}
				due := time.Now().Add(d)
				if due.Before(last) {
					due = last
				}
				last = due
				q <- chunk{buf[:n], due}
			}
			if err != nil {
				return
			}
		}
	}()
	for ch := range q {
		time.Sleep(time.Until(ch.due))
		if _, err := dst.Write(ch.b); err != nil {
			dst.Close()
			src.Close()
			for range q { // let the reader end
			}
			return
		}
	}
	// src ended: pass the end on, once everything before it was.
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		dst.Close()
	}
}
