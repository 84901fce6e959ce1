package spawner_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/hubkit/hubkit/spawner"
)

func TestRefValidate(t *testing.T) {
	good := []spawner.Ref{{User: "a"}, {User: "Jörg Müller"}, {User: "x", Server: "my server"}, {User: strings.Repeat("u", 255)}}
	for _, r := range good {
		if err := r.Validate(); err != nil {
			t.Errorf("%q: %v", r.String(), err)
		}
	}
	bad := []spawner.Ref{{}, {User: "a/b"}, {User: "a", Server: "b/c"}, {User: "a\x00"}, {User: " a"}, {User: "a\n"},
		{User: strings.Repeat("u", 256)}, {User: "\xff"}, {User: "a", Server: "\t"}}
	for _, r := range bad {
		if err := r.Validate(); !errors.Is(err, spawner.ErrInvalid) {
			t.Errorf("%q: err = %v, want ErrInvalid", r.String(), err)
		}
	}
}

func TestEventLogEndsAndCancels(t *testing.T) {
	var l spawner.EventLog
	ctx, cancel := context.WithCancel(context.Background())
	ch := l.Subscribe(ctx)
	l.Emit(spawner.Event{Progress: 10})
	cancel()
	n := 0
	for range ch {
		n++
	}
	if n > 1 {
		t.Errorf("got %d events after cancel", n)
	}

	l.Emit(spawner.Event{Progress: 100, Failed: true})
	l.Emit(spawner.Event{Progress: 100, Message: "after the end"})
	evs := l.Events()
	if len(evs) != 2 || !evs[1].Failed {
		t.Errorf("events = %+v, want the log to end at the failure", evs)
	}
	// A subscriber of an ended log gets the replay and a closed channel.
	got := 0
	for range l.Subscribe(context.Background()) {
		got++
	}
	if got != 2 {
		t.Errorf("replay of ended log: %d events", got)
	}
	l.Reset()
	if len(l.Events()) != 0 {
		t.Error("Reset kept events")
	}
}

func TestEventLogConcurrent(t *testing.T) {
	var l spawner.EventLog
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for range l.Subscribe(ctx) {
			}
		})
	}
	for i := range 100 {
		l.Emit(spawner.Event{Progress: i})
	}
	l.Emit(spawner.Event{Progress: 100, Ready: true})
	wg.Wait()
}
