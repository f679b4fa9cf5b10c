package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// JournalFormat is the version written in every journal header. A reader
// refuses a journal with a newer format rather than misreading it.
const JournalFormat = 1

// Header is the first line of a journal: what the rollout is, so history and
// resume need nothing but the journal.
type Header struct {
	Format     int       `json:"format"`
	ID         string    `json:"id"`
	Change     string    `json:"change"`
	Digest     string    `json:"digest"`
	Service    string    `json:"service"`
	Inventory  string    `json:"inventory"`
	ChangeFile string    `json:"change_file"`
	Created    time.Time `json:"created"`
	User       string    `json:"user"`
	Machine    string    `json:"machine,omitempty"`
	// InventoryArgs are the options the inventory was read with beyond its
	// file (--group, --from-ssh-config), so a resume builds the same plan.
	InventoryArgs []string `json:"inventory_args,omitempty"`
}

// Journal is an append-only JSON-lines file, one event a line, written by one
// goroutine that owns the order of events. Appends that arrive together share
// one fsync (group commit); Append returns only once its events are on disk,
// so the engine never acts on an event that a crash could lose.
type Journal struct {
	path  string
	f     *os.File
	reqs  chan commitReq
	done  chan struct{}
	sink  func([]Record)
	now   func() time.Time
	seq   int64
	stats JournalStats
	// scratch is reused to encode records, owned by the committer.
	scratch []byte
}

// JournalStats counts the journal's work, for benchmarks.
type JournalStats struct {
	Events int64
	Syncs  int64
}

type commitReq struct {
	events  []Event
	durable bool
	done    chan error // nil for fire-and-forget posts
}

// CreateJournal creates a new journal file in dir (mode 0600, failing if it
// exists), writes the header and syncs both the file and the directory.
func CreateJournal(dir string, h Header) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	path := filepath.Join(dir, h.ID+".journal")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	h.Format = JournalFormat
	line, err := json.Marshal(h)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("encode journal header: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return nil, fmt.Errorf("write journal %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("sync journal %s: %w", path, err)
	}
	syncDir(dir)
	return &Journal{path: path, f: f}, nil
}

// AppendJournal opens an existing journal to go on writing after its last
// good record (a torn or damaged tail is cut off first; the replay says so).
func AppendJournal(path string) (*Journal, *Replay, error) {
	rp, err := ReadJournal(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open journal: %w", err)
	}
	if rp.Damage != nil {
		if err := f.Truncate(rp.Damage.Offset); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("cut damaged tail of journal %s: %w", path, err)
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("seek journal: %w", err)
	}
	j := &Journal{path: path, f: f}
	if n := len(rp.Records); n > 0 {
		j.seq = rp.Records[n-1].Seq
	}
	return j, rp, nil
}

// Path is where the journal lives.
func (j *Journal) Path() string { return j.path }

// Stats returns the journal's counters; call it after Close.
func (j *Journal) Stats() JournalStats { return j.stats }

// start runs the committer. sink receives every committed batch in order,
// from the committer goroutine.
func (j *Journal) start(now func() time.Time, sink func([]Record)) {
	j.now, j.sink = now, sink
	j.reqs = make(chan commitReq, 1024)
	j.done = make(chan struct{})
	go j.commitLoop()
}

// Append journals events and returns once they are on disk.
func (j *Journal) Append(events ...Event) error {
	done := make(chan error, 1)
	j.reqs <- commitReq{events: events, durable: true, done: done}
	return <-done
}

// Post journals events without waiting (output lines): they reach the disk
// with the next sync and subscribers in order.
func (j *Journal) Post(events ...Event) {
	j.reqs <- commitReq{events: events}
}

// Close stops the committer after every pending append and closes the file.
func (j *Journal) Close() error {
	if j.reqs != nil {
		close(j.reqs)
		<-j.done
	}
	return j.f.Close()
}

func (j *Journal) commitLoop() {
	defer close(j.done)
	var failed error
	var buf bytes.Buffer
	batch := make([]commitReq, 0, 64)
	for req := range j.reqs {
		batch = append(batch[:0], req)
	drain:
		for len(batch) < 4096 {
			select {
			case r, ok := <-j.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if failed == nil {
			failed = j.commit(batch, &buf)
		}
		for _, r := range batch {
			if r.done != nil {
				r.done <- failed
			}
		}
	}
}

// commit writes one batch with at most one fsync, then hands it to the sink.
func (j *Journal) commit(batch []commitReq, buf *bytes.Buffer) error {
	buf.Reset()
	now := j.now()
	durable := false
	n := 0
	for _, r := range batch {
		n += len(r.events)
		durable = durable || r.durable
	}
	recs := make([]Record, 0, n)
	for _, r := range batch {
		for _, ev := range r.events {
			j.seq++
			rec := Record{Seq: j.seq, Time: now, Event: ev}
			line, err := rec.appendJSON(j.scratch[:0])
			if err != nil {
				return fmt.Errorf("journal %s: %w", j.path, err)
			}
			j.scratch = line
			buf.Write(line)
			buf.WriteByte('\n')
			recs = append(recs, rec)
		}
	}
	if _, err := j.f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write journal %s: %w", j.path, err)
	}
	if durable {
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("sync journal %s: %w", j.path, err)
		}
		j.stats.Syncs++
	}
	j.stats.Events += int64(n)
	j.sink(recs)
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Replay is a journal read back.
type Replay struct {
	Path    string
	Header  Header
	Records []Record
	// Damage, when not nil, says where reading stopped and why. A torn last
	// line (a crash mid-write) is damage too, reported as such.
	Damage *Damage
}

// Damage is where a journal stops making sense.
type Damage struct {
	Line   int   // 1-based line number of the first bad line
	Offset int64 // byte offset where that line starts: everything before it is good
	Torn   bool  // the last line has no newline: a write cut short by a crash
	Msg    string
}

func (d *Damage) Error() string {
	if d.Torn {
		return fmt.Sprintf("line %d: the last line was cut short (the console stopped mid-write); read up to line %d", d.Line, d.Line-1)
	}
	return fmt.Sprintf("line %d: %s; read up to line %d", d.Line, d.Msg, d.Line-1)
}

// ErrNotJournal is returned for a file whose first line is not a journal header.
var ErrNotJournal = errors.New("not a rollout journal")

// ReadJournal reads a journal up to its end or its first damaged line.
func ReadJournal(path string) (*Replay, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	defer f.Close()
	return readJournal(path, f)
}

func readJournal(path string, r io.Reader) (*Replay, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	rp := &Replay{Path: path}
	var off int64
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read journal %s: %w", path, err)
		}
		torn := err == io.EOF // no newline at the end
		start := off
		off += int64(len(line))
		if lineNo == 1 {
			if torn || json.Unmarshal(line, &rp.Header) != nil || rp.Header.Format == 0 || rp.Header.ID == "" {
				return nil, fmt.Errorf("%s: %w (its first line is not a journal header)", path, ErrNotJournal)
			}
			if rp.Header.Format > JournalFormat {
				return nil, fmt.Errorf("%s: journal format %d is newer than this rollout reads (%d): upgrade rollout", path, rp.Header.Format, JournalFormat)
			}
			continue
		}
		if torn {
			rp.Damage = &Damage{Line: lineNo, Offset: start, Torn: true, Msg: "cut short"}
			break
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			rp.Damage = &Damage{Line: lineNo, Offset: start, Msg: "cannot read the record: " + err.Error()}
			break
		}
		if want := int64(len(rp.Records) + 1); rec.Seq != want {
			rp.Damage = &Damage{Line: lineNo, Offset: start, Msg: fmt.Sprintf("event %d where event %d was expected (edited by hand?)", rec.Seq, want)}
			break
		}
		rp.Records = append(rp.Records, rec)
	}
	return rp, nil
}
