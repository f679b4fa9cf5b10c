package engine

import "sync"

// fanout delivers records to one subscriber through an unbounded queue, so a
// slow console can never block the engine or the journal. The subscriber must
// read until the channel closes.
type fanout struct {
	mu     sync.Mutex
	buf    []Record
	closed bool
	wake   chan struct{}
	out    chan Record
}

func newFanout() *fanout {
	f := &fanout{wake: make(chan struct{}, 1), out: make(chan Record, 256)}
	go f.loop()
	return f
}

// push queues records without blocking.
func (f *fanout) push(recs []Record) {
	f.mu.Lock()
	f.buf = append(f.buf, recs...)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// close delivers what is queued, then closes the channel.
func (f *fanout) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fanout) loop() {
	var batch []Record
	for {
		f.mu.Lock()
		batch, f.buf = f.buf, batch[:0]
		closed := f.closed
		f.mu.Unlock()
		for _, r := range batch {
			f.out <- r
		}
		if len(batch) == 0 {
			if closed {
				close(f.out)
				return
			}
			<-f.wake
		}
		clear(batch)
	}
}
