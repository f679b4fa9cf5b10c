package sshx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// sharedClient is a connection to a jump host, shared by every host reached
// through it: a thousand hosts behind one bastion make one connection to it,
// not a thousand handshakes against its MaxStartups.
type sharedClient struct {
	key    string
	client *client
	parent *sharedClient // the previous hop; this one holds a reference on it
	refs   int           // guarded by jumpPool.mu
	ready  chan struct{} // closed when client or err is set
	err    error
}

// jumpPool holds a transport's jump connections, by chain.
type jumpPool struct {
	mu sync.Mutex
	m  map[string]*sharedClient
}

// acquire returns the connection to the last hop of chain, opening the hops
// that are not open yet, each verified like any host. The caller releases it.
func (p *jumpPool) acquire(ctx context.Context, t *Transport, chain []endpoint) (*sharedClient, error) {
	var parent *sharedClient
	keys := make([]string, 0, len(chain))
	for _, hop := range chain {
		keys = append(keys, hop.key())
		sc, err := p.get(ctx, t, strings.Join(keys, ","), hop, parent)
		if err != nil {
			return nil, err
		}
		parent = sc
	}
	return parent, nil
}

// get returns the shared connection for key with a reference for the
// caller, and consumes the caller's reference on parent.
func (p *jumpPool) get(ctx context.Context, t *Transport, key string, hop endpoint, parent *sharedClient) (*sharedClient, error) {
	for {
		p.mu.Lock()
		sc := p.m[key]
		if sc != nil && sc.client != nil && sc.client.dead() {
			delete(p.m, key) // its users hold on to it until they close
			sc = nil
		}
		if sc == nil {
			sc = &sharedClient{key: key, parent: parent, refs: 1, ready: make(chan struct{})}
			if p.m == nil {
				p.m = make(map[string]*sharedClient)
			}
			p.m[key] = sc
			p.mu.Unlock()
			var via *client
			if parent != nil {
				via = parent.client
			}
			cl, err := t.connect(ctx, hop, via)
			p.mu.Lock()
			if err != nil {
				sc.err = fmt.Errorf("jump %w", err)
				if p.m[key] == sc {
					delete(p.m, key)
				}
			} else {
				sc.client = cl
			}
			close(sc.ready)
			p.mu.Unlock()
			if err != nil {
				if parent != nil {
					p.release(parent)
				}
				return nil, sc.err
			}
			return sc, nil
		}
		p.mu.Unlock()
		select {
		case <-sc.ready:
		case <-ctx.Done():
			if parent != nil {
				p.release(parent)
			}
			return nil, fmt.Errorf("jump %s: %w", hop.name, ctx.Err())
		}
		p.mu.Lock()
		if sc.err != nil {
			p.mu.Unlock()
			// Another dial's context ended its attempt: try again with ours.
			if errors.Is(sc.err, context.Canceled) || errors.Is(sc.err, context.DeadlineExceeded) {
				if ctx.Err() == nil {
					continue
				}
			}
			if parent != nil {
				p.release(parent)
			}
			return nil, sc.err
		}
		if sc.client.dead() {
			p.mu.Unlock()
			continue
		}
		sc.refs++
		p.mu.Unlock()
		if parent != nil {
			p.release(parent) // sc holds its own reference on it
		}
		return sc, nil
	}
}

// release drops a reference; the last one closes the connection and
// releases the hop before it.
func (p *jumpPool) release(sc *sharedClient) {
	for sc != nil {
		p.mu.Lock()
		sc.refs--
		last := sc.refs == 0
		if last && p.m[sc.key] == sc {
			delete(p.m, sc.key)
		}
		p.mu.Unlock()
		if !last {
			return
		}
		if sc.client != nil {
			sc.client.Close()
		}
		sc = sc.parent
	}
}
