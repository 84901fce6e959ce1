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

func TestDefaultPrefix(t *testing.T) {
	for _, c := range []struct {
		ref  spawner.Ref
		want string
	}{
		{spawner.Ref{User: "alice"}, "/user/alice/"},
		{spawner.Ref{User: "alice", Server: "lab"}, "/user/alice/lab/"},
		// Python: quote("Jörg.Müller@uni.example", safe="@~")
		{spawner.Ref{User: "Jörg.Müller@uni.example"}, "/user/J%C3%B6rg.M%C3%BCller@uni.example/"},
		{spawner.Ref{User: "a b", Server: "My Server"}, "/user/a%20b/My%20Server/"},
		{spawner.Ref{User: "a+b:c,d;e=f&g$h!i*j(k)l'm"}, "/user/a%2Bb%3Ac%2Cd%3Be%3Df%26g%24h%21i%2Aj%28k%29l%27m/"},
		{spawner.Ref{User: "~x_y-z.0"}, "/user/~x_y-z.0/"},
		{spawner.Ref{User: "50%"}, "/user/50%25/"},
	} {
		if got := spawner.DefaultPrefix(c.ref); got != c.want {
			t.Errorf("DefaultPrefix(%q) = %q, want %q", c.ref, got, c.want)
		}
	}
}
