package spawner

import (
	"context"
	"sync"
)

// EventLog keeps the progress events of one server's starts and fans them
// out to subscribers. It is a building block for ProgressReporter
// implementations. The zero value is ready to use; it is safe for
// concurrent use.
type EventLog struct {
	mu     sync.Mutex
	events []Event
	done   bool
	subs   map[chan Event]func() bool
}

// maxLoggedEvents bounds the memory one server's log can take.
const maxLoggedEvents = 256

// Reset forgets earlier events; it starts the log of a new start. Current
// subscribers are closed without a final event: they followed a start
// that is over, and subscribe again for the new one.
func (l *EventLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = nil
	l.done = false
	l.closeAll()
}

func (l *EventLog) closeAll() {
	for ch, stop := range l.subs {
		stop()
		close(ch)
		delete(l.subs, ch)
	}
}

// Emit appends e and delivers it to every subscriber. An event with Ready
// or Failed set ends the log: subscribers are closed after it and later
// events are dropped until Reset. A subscriber that does not keep up loses
// events rather than blocking the emitter.
func (l *EventLog) Emit(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	if len(l.events) < maxLoggedEvents || e.Ready || e.Failed {
		l.events = append(l.events, e)
	}
	for ch := range l.subs {
		select {
		case ch <- e:
		default:
		}
	}
	if e.Ready || e.Failed {
		l.done = true
		l.closeAll()
	}
}

// Events returns a copy of the events logged so far.
func (l *EventLog) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

// Subscribe returns a channel that receives the events logged so far and
// then each new one, and is closed when the log ends or ctx is done.
func (l *EventLog) Subscribe(ctx context.Context) <-chan Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := make(chan Event, maxLoggedEvents+16)
	for _, e := range l.events {
		ch <- e
	}
	if l.done {
		close(ch)
		return ch
	}
	if l.subs == nil {
		l.subs = make(map[chan Event]func() bool)
	}
	l.subs[ch] = context.AfterFunc(ctx, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.subs[ch]; ok {
			delete(l.subs, ch)
			close(ch)
		}
	})
	return ch
}
