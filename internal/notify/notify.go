// Package notify carries an owner's changes to its one listener (control's
// event stream): the owner marks what changed, under its locks or not, and
// never waits; a goroutine of the notifier's own calls the listener outside
// every lock of the owner, so a listener may call back into the owner. A
// key marked again before it is delivered is delivered once (the listener
// reads the owner's state as it is then); keys go out in the order they
// were first marked.
package notify

import "sync"

// Notifier delivers marked keys to a listener. The zero value is ready; it
// marks nothing until Listen.
type Notifier struct {
	mu      sync.Mutex
	f       func(key string)
	pending []string
	marked  map[string]bool
	wake    chan struct{}
	quit    chan struct{}
	done    chan struct{}
	closed  bool
}

// Listen sets the listener and starts delivering to it. It is called once;
// a second call replaces nothing and returns false.
func (n *Notifier) Listen(f func(key string)) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.f != nil || n.closed || f == nil {
		return false
	}
	n.f = f
	n.marked = map[string]bool{}
	n.wake = make(chan struct{}, 1)
	n.quit = make(chan struct{})
	n.done = make(chan struct{})
	go n.run()
	return true
}

// Changed marks key as changed. It never blocks and calls nothing.
func (n *Notifier) Changed(key string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.f == nil || n.closed {
		return
	}
	if !n.marked[key] {
		n.marked[key] = true
		n.pending = append(n.pending, key)
	}
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Close stops the delivery and waits for a listener call in progress to
// return; what is still marked is not delivered. Safe twice. The owner
// calls it outside its locks (a listener in progress may be waiting for one).
func (n *Notifier) Close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	started := n.f != nil
	n.mu.Unlock()
	if started {
		close(n.quit)
		<-n.done
	}
}

func (n *Notifier) run() {
	defer close(n.done)
	for {
		select {
		case <-n.quit:
			return
		case <-n.wake:
		}
		for {
			n.mu.Lock()
			if len(n.pending) == 0 || n.closed {
				n.mu.Unlock()
				break
			}
			key := n.pending[0]
			n.pending[0] = ""
			n.pending = n.pending[1:]
			if len(n.pending) == 0 {
				n.pending = nil // the array goes; the next mark starts a new one
			}
			delete(n.marked, key)
			n.mu.Unlock()
			n.f(key)
		}
	}
}
