package slug

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

var (
	dnsLabelRE   = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	labelValueRE = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
)

func isDNSLabel(s string) bool   { return len(s) <= 63 && dnsLabelRE.MatchString(s) }
func isLabelValue(s string) bool { return len(s) <= 63 && labelValueRE.MatchString(s) }

type userServer struct{ user, server string }

// collisionTracker remembers which (user, server) pair produced each
// UserServer value and reports distinct pairs that share one.
//
// The hash in a slug is 8 hex digits (32 bits), so two hashed names with
// the same readable prefix collide with probability 2^-32; that is a
// property of KubeSpawner's scheme, not a bug here. To tell it apart from
// a structural collision (two inputs mapped to the same slug regardless of
// the hash), a collision is recomputed with the full 64-digit hash: if the
// wide slugs still agree, the construction itself is at fault.
type collisionTracker struct {
	mu   sync.Mutex
	seen map[string]userServer
	max  int // 0 = unbounded
}

func newCollisionTracker(max int) *collisionTracker {
	return &collisionTracker{seen: make(map[string]userServer), max: max}
}

// check records p with its slug and returns a non-empty description if a
// different pair already produced the same slug. structural reports
// whether the collision survives the full-width hash.
func (c *collisionTracker) check(p userServer, slug string) (msg string, structural bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev, ok := c.seen[slug]
	if !ok {
		if c.max == 0 || len(c.seen) < c.max {
			c.seen[slug] = p
		}
		return "", false
	}
	if prev == p {
		return "", false
	}
	wideA := forNames(prev.user, prev.server, SchemeSafe, 64).UserServer
	wideB := forNames(p.user, p.server, SchemeSafe, 64).UserServer
	structural = wideA == wideB
	return fmt.Sprintf("UserServer %q for both (%q, %q) and (%q, %q); full-hash forms %q and %q",
		slug, prev.user, prev.server, p.user, p.server, wideA, wideB), structural
}

// fuzzSeen is shared by all FuzzNames inputs run by one process. It is
// bounded to keep memory flat during long runs; inputs beyond the bound
// are still checked against the stored ones.
var fuzzSeen = newCollisionTracker(1 << 17)

func FuzzNames(f *testing.F) {
	seeds := []userServer{
		{"alex", ""},
		{"alex", "lab"},
		{"Alex", "Lab"},
		{"user@email.com", "Some Name"},
		{"user@email.com", "a-really-long-server-name-for-testing"},
		{strings.Repeat("a", 47), ""},
		{strings.Repeat("a", 30), strings.Repeat("b", 17)},
		{strings.Repeat("x", 300), strings.Repeat("y", 300)},
		{"a--b", "c"},
		{"a", "b--c"},
		{"a-b---90827a2e", ""},
		{"\u0130stanbul", "\u212a"},
		{"9aaaaaaaaaaaaaaaaa@b", "9-ab"},
		{"jupyter-üni", "ß"},
		{"", ""},
		{"", "s"},
		{"\xff", "\x00"},
		{"a\xffb", ""},
		{"Ab-" + strings.Repeat("Z", 60), "---"},
		{strings.Repeat("0", 35), "\xff"}, // found by the fuzzer, see TestInvalidUTF8Collision
		{strings.Repeat("0", 35) + "\xff", ""},
	}
	for _, s := range seeds {
		f.Add(s.user, s.server)
	}
	f.Fuzz(func(t *testing.T, user, server string) {
		for _, name := range []string{user, server} {
			obj := SafeObject(name)
			if !isDNSLabel(obj) {
				t.Errorf("SafeObject(%q) = %q: not a DNS-1123 label", name, obj)
			}
			if again := SafeObject(name); again != obj {
				t.Errorf("SafeObject(%q) unstable: %q then %q", name, obj, again)
			}
			if IsValidObjectName(name) && !strings.Contains(name, "--") && obj != name {
				t.Errorf("SafeObject(%q) = %q: valid name was changed", name, obj)
			}
			label := SafeLabel(name)
			if !isLabelValue(label) {
				t.Errorf("SafeLabel(%q) = %q: not a valid label value", name, label)
			}
			if again := SafeLabel(name); again != label {
				t.Errorf("SafeLabel(%q) unstable: %q then %q", name, label, again)
			}
		}

		n := For(user, server, SchemeSafe)
		if again := For(user, server, SchemeSafe); again != n {
			t.Errorf("For(%q, %q) unstable:\n%+v\n%+v", user, server, n, again)
		}
		if pod := "jupyter-" + n.UserServer; !isDNSLabel(pod) {
			t.Errorf("For(%q, %q): pod name %q (%d chars) is not a DNS-1123 label of at most 63 characters",
				user, server, pod, len(pod))
		}
		if len(n.SafeUsername) > fieldMaxLength || !isDNSLabel(n.SafeUsername) {
			t.Errorf("For(%q, %q): SafeUsername %q invalid", user, server, n.SafeUsername)
		}
		if (server == "") != (n.SafeServername == "") {
			t.Errorf("For(%q, %q): SafeServername %q", user, server, n.SafeServername)
		}
		if server != "" && (len(n.SafeServername) > fieldMaxLength || !isDNSLabel(n.SafeServername)) {
			t.Errorf("For(%q, %q): SafeServername %q invalid", user, server, n.SafeServername)
		}
		if !utf8.ValidString(user) || !utf8.ValidString(server) {
			// Uniqueness is only promised for valid UTF-8; see
			// TestInvalidUTF8Collision.
			return
		}
		if msg, structural := fuzzSeen.check(userServer{user, server}, n.UserServer); msg != "" {
			if structural {
				t.Errorf("structural collision: %s", msg)
			} else {
				// Only the 32-bit hash prefix agrees; inherent in the scheme.
				t.Logf("32-bit hash collision (inherent in the scheme): %s", msg)
			}
		}
	})
}

// TestUserServerNoCollisions derives UserServer for 100,000 distinct
// (user, server) pairs of varied shapes (valid, upper case, e-mail
// addresses, Unicode, "--", leading digits, 47 and 300 characters, named
// and default servers) and checks that no two of them agree.
func TestUserServerNoCollisions(t *testing.T) {
	const total = 100_000
	pairs := collisionPairs(total)
	if len(pairs) != total {
		t.Fatalf("generated %d pairs, want %d", len(pairs), total)
	}
	tracker := newCollisionTracker(0)
	users := newCollisionTracker(0)
	collisions := 0
	for _, p := range pairs {
		n := For(p.user, p.server, SchemeSafe)
		if pod := "jupyter-" + n.UserServer; !isDNSLabel(pod) {
			t.Errorf("For(%q, %q): %q is not a DNS label", p.user, p.server, pod)
		}
		if msg, structural := tracker.check(p, n.UserServer); msg != "" {
			collisions++
			if structural {
				t.Errorf("structural collision: %s", msg)
			} else {
				t.Errorf("32-bit hash collision: %s", msg)
			}
		}
		if msg, _ := users.check(userServer{user: p.user}, n.SafeUsername); msg != "" {
			t.Errorf("SafeUsername collision: %s", msg)
		}
	}
	t.Logf("%d pairs, %d distinct UserServer values, %d collisions", len(pairs), len(tracker.seen), collisions)
}

// collisionPairs returns total distinct (user, server) pairs.
func collisionPairs(total int) []userServer {
	userShapes := []func(i int) string{
		func(i int) string { return fmt.Sprintf("user%d", i) },
		func(i int) string { return fmt.Sprintf("User%d", i) },
		func(i int) string { return fmt.Sprintf("user%d@example.com", i) },
		func(i int) string { return fmt.Sprintf("üser-%d", i) },
		func(i int) string { return fmt.Sprintf("\u0130%d\u212a", i) },
		func(i int) string { return fmt.Sprintf("a--%d", i) },
		func(i int) string { return fmt.Sprintf("%d", i) },
		func(i int) string { return fmt.Sprintf("%d-", i) },
		func(i int) string { s := fmt.Sprintf("u%d", i); return s + strings.Repeat("a", 47-len(s)) },
		func(i int) string { return fmt.Sprintf("%06d", i) + strings.Repeat("x", 294) },
		// Same readable prefix for the whole group: only the hash differs.
		func(i int) string { return strings.Repeat("x", 300) + fmt.Sprint(i) },
		func(i int) string { return fmt.Sprintf("user.%d", i) },
		func(i int) string { return fmt.Sprintf("user-%d-", i) },
		func(i int) string { return fmt.Sprintf("user-%d", i) },
	}
	serverShapes := []func(i int) string{
		func(int) string { return "" },
		func(int) string { return "lab" },
		func(i int) string { return fmt.Sprintf("Lab %d", i%97) },
		func(i int) string { return fmt.Sprintf("server--%d", i%89) },
		func(i int) string { return fmt.Sprintf("a-really-long-server-name-number-%d", i%83) },
		func(int) string { return strings.Repeat("y", 300) },
		func(i int) string { return fmt.Sprintf("%d", i%79) },
	}
	// Pairs built to probe the "--" join and the 0xFF hash delimiter.
	tricky := []userServer{
		{"a", "b--c"}, {"a--b", "c"}, {"a-b", "c"}, {"a", "b-c"},
		{"a", "b"}, {"a--b", ""}, {"a-b---90827a2e", ""}, {"a", ""},
		{strings.Repeat("a", 47), ""}, {strings.Repeat("a", 47), "x"},
		{strings.Repeat("a", 46), ""}, {"\xff", ""}, {"", "\xff"}, {"", ""},
		{"ab", "c"}, {"a", "bc"}, {"a\xffb", ""}, {"a", "\xffb"},
	}
	seen := make(map[userServer]bool, total)
	pairs := make([]userServer, 0, total)
	add := func(p userServer) {
		if !seen[p] {
			seen[p] = true
			pairs = append(pairs, p)
		}
	}
	for _, p := range tricky {
		add(p)
	}
	for i := 0; len(pairs) < total; i++ {
		u := userShapes[i%len(userShapes)](i / len(userShapes))
		add(userServer{u, serverShapes[(i/len(userShapes))%len(serverShapes)](i)})
	}
	return pairs
}

// TestHashCollisionIsNotStructural pins two real collisions of the 8-digit
// hash (found by brute force with KubeSpawner's Python code) to document
// the limit of the scheme, and checks that collisionTracker classifies
// them as hash collisions rather than structural ones.
func TestHashCollisionIsNotStructural(t *testing.T) {
	x40 := strings.Repeat("X", 40)

	// sha256 of both names starts with 08e0d608.
	a, b := x40+"23123", x40+"57039"
	if got, want := SafeObject(a), "xxxxxxxxxxxxxxxxxxxxx---08e0d608"; got != want {
		t.Errorf("SafeObject(%q) = %q, want %q", a, got, want)
	}
	if SafeObject(a) != SafeObject(b) {
		t.Errorf("SafeObject(%q) != SafeObject(%q); expected the known 32-bit collision", a, b)
	}

	// sha256(name + "\xff") of both starts with d3fcbd21 (Multi over
	// [name, ""], used because the 48-character user slug leaves no room).
	c, d := x40+"85155", x40+"86944"
	want := "xxxxxxxxxxxxxxxxx--x---d3fcbd21"
	if got := For(c, "", SchemeSafe).UserServer; got != want {
		t.Errorf("For(%q).UserServer = %q, want %q", c, got, want)
	}
	tr := newCollisionTracker(0)
	for _, p := range []userServer{{c, ""}, {d, ""}} {
		msg, structural := tr.check(p, For(p.user, p.server, SchemeSafe).UserServer)
		if p.user == d {
			if msg == "" || structural {
				t.Errorf("tracker: msg %q, structural %v; want a non-structural collision", msg, structural)
			}
		} else if msg != "" {
			t.Errorf("tracker: unexpected collision %s", msg)
		}
	}
}

// TestInvalidUTF8Collision documents the limit of the 0xFF delimiter of
// Multi, found by FuzzNames: it cannot occur in UTF-8, but a Go string
// may hold it, and then the boundary between user and server name is lost.
// JupyterHub names are always valid UTF-8 (Python str).
func TestInvalidUTF8Collision(t *testing.T) {
	zeros := strings.Repeat("0", 35)
	a := For(zeros, "\xff", SchemeSafe).UserServer
	b := For(zeros+"\xff", "", SchemeSafe).UserServer
	if want := "x-000000000000000--x---7f2d2956"; a != want || b != want {
		t.Errorf("UserServer = %q and %q, want both %q", a, b, want)
	}
	if x, y := Multi([]string{"a", "\xffb"}, 0), Multi([]string{"a\xff", "b"}, 0); x != y {
		t.Errorf("Multi: %q != %q; expected the documented collision", x, y)
	}
}
