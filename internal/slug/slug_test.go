package slug

import (
	"strconv"
	"strings"
	"testing"
)

// Expected values in this file come from KubeSpawner itself: the vectors
// of its tests/test_slugs.py, and values computed by running
// kubespawner/slugs.py (with escapism) and a transcription of
// KubeSpawner._expand_user_properties under Python 3.

// TestSafeKubeSpawner holds the safe_slug vectors of KubeSpawner's
// tests/test_slugs.py (default is_valid, no max_length).
func TestSafeKubeSpawner(t *testing.T) {
	tests := []struct{ name, want string }{
		{"jupyter-alex", "jupyter-alex"},
		{"jupyter-Alex", "jupyter-alex---3a1c285c"},
		{"jupyter-üni", "jupyter-ni---a5aaf5dd"},
		{"endswith-", "endswith---165f1166"},
		{"user@email.com", "user-email-com---0925f997"},
		{"user-_@_emailß.com", "user-email-com---7e3a7efd"},
		{"has.dot", "has-dot---03e27fdf"},
		{"z9", "z9"},
		{"9z9", "x-9z9---224de202"},
		{"-start", "start---f587e2dc"},
		{"üser", "ser---73506260"},
		{"username--servername", "username-servername---d957f1de"},
		{"start---f587e2dc", "start-f587e2dc---cc5bb9c9"},
		{strings.Repeat("x", 63), strings.Repeat("x", 63)},
		{strings.Repeat("x", 64), "xxxxxxxxxxxxxxxxxxxxx---7ce10097"},
		{strings.Repeat("x", 65), "xxxxxxxxxxxxxxxxxxxxx---9537c5fd"},
		{"", "x---e3b0c442"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Safe(tt.name, nil, 0); got != tt.want {
				t.Errorf("Safe(%q, nil, 0) = %q, want %q", tt.name, got, tt.want)
			}
			if got := SafeObject(tt.name); got != tt.want {
				t.Errorf("SafeObject(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// TestSafeMaxLengthKubeSpawner holds test_safe_slug_max_length.
func TestSafeMaxLengthKubeSpawner(t *testing.T) {
	tests := []struct {
		maxLength, length int
		want              string // "" means panic (ValueError in Python)
	}{
		{16, 16, strings.Repeat("x", 16)},
		{16, 17, "xxxxx---d04fd59f"},
		{11, 16, ""},
		{12, 16, "x---9c572959"},
	}
	for _, tt := range tests {
		name := strings.Repeat("x", tt.length)
		t.Run(name+"/"+strconv.Itoa(tt.maxLength), func(t *testing.T) {
			if tt.want == "" {
				assertPanics(t, func() { Safe(name, IsValidObjectName, tt.maxLength) })
				return
			}
			if got := Safe(name, IsValidObjectName, tt.maxLength); got != tt.want {
				t.Errorf("Safe(%q, %d) = %q, want %q", name, tt.maxLength, got, tt.want)
			}
		})
	}
}

// TestSafeLabelKubeSpawner holds test_safe_slug_label.
func TestSafeLabelKubeSpawner(t *testing.T) {
	tests := []struct{ name, want string }{
		{"", ""},
		{"x", "x"},
		{"a-b", "a-b"},
		{"9a", "9a"},
		{"9.", "x-9---99a1b84b"},
		{"AbC", "AbC"},
		{"AbC.", "abc---dbe8c5d1"},
		{"ab.c", "ab.c"},
		{"a@b.c", "a-b-c---d648b243"},
		{"-x", "x---a4209624"},
		{"x-", "x---c8b60efc"},
		{strings.Repeat("x", 63), strings.Repeat("x", 63)},
		{strings.Repeat("x", 64), "xxxxxxxxxxxxxxxxxxxxx---7ce10097"},
		{strings.Repeat("x", 65), "xxxxxxxxxxxxxxxxxxxxx---9537c5fd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SafeLabel(tt.name); got != tt.want {
				t.Errorf("SafeLabel(%q) = %q, want %q", tt.name, got, tt.want)
			}
			if got := Safe(tt.name, IsValidLabel, 0); got != tt.want {
				t.Errorf("Safe(%q, IsValidLabel, 0) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// TestSafeObject covers Unicode lowercasing (U+0130 and the Kelvin sign),
// upper case, "--", long names, leading digits and the "----" quirk.
func TestSafeObject(t *testing.T) {
	tests := []struct{ name, want string }{
		{"\u0130stanbul", "i-stanbul---24ec8f72"},
		{"\u0130", "i---a65018cf"},
		{"x\u0130y", "xi-y---192eb7af"},
		{"Kelvin\u212a", "kelvink---f0a60cf1"},
		{"\u212aelvin", "kelvin---4a274a98"},
		{"straße", "stra-e---787f4770"},
		{"ÜBER", "ber---32f25c21"},
		{"\u65e5\u672c\u8a9e", "x---77710aed"},
		{"\u65e5\u672c\u8a9e-name", "name---bf894ada"},
		{"Alex", "alex---db74c940"},
		{"ALEX", "alex---01b7cc72"},
		{"alex--", "alex---1ff25826"},
		{"a--b", "a-b---90827a2e"},
		{"--", "x---d8156bae"},
		{"-", "x---3973e022"},
		{"---", "x---cb3f91d5"},
		{"a---b", "a-b---1acd27f8"},
		{"9", "x-9---19581e27"},
		{"99-bottles", "x-99-bottles---cbeb634d"},
		{"0", "x-0---5feceb66"},
		{strings.Repeat("x", 300), "xxxxxxxxxxxxxxxxxxxxx---0d4e2ca9"},
		{strings.Repeat("Ab-", 100), "ab-ab-ab-ab-ab-ab-ab---6ada9b6a"},
		{"a\nb", "a-b---7e18f737"},
		{"a\x00b", "a-b---59b271ae"},
		{"\U0001f600", "x---f0443a34"},
		{"emoji\U0001f600user", "emoji-user---a01ec6bb"},
		{"a_b", "a-b---648fa9b3"},
		{"a.b", "a-b---2e7336dc"},
		{"UPPER.lower_Mixed", "upper-lower-mixed---d322422f"},
		{"abc\n", "abc---edeaaff3"},
		{"user@EXAMPLE.org", "user-example-org---019c5376"},
		{"é", "x---4a99557e"},
		{"9-9-9-9-9-9-9-9-9-9-9-9-9-9-9-9-9-9-9-9-", "x-9-9-9-9-9-9-9-9-9-9---f47937c8"},
		{strings.Repeat("x", 48), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
		{"xxxxxxxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxxxxxxx"},
		{"xxxxxxxxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxxxxxxxx"},
		{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
		{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
		{strings.Repeat("Ab", 40), "ababababababababababa---dc6e2d25"},
		{"ǅungla", "ungla---3c5966d8"},
		{"\u03a3\u0391\u03a3", "x---7c594b0e"},
		{"a\u0307b", "a-b---7b458f0b"},
		{"A\u212aB", "akb---76d038b1"},
		{"9aaaaaaaaaaaaaaaaa-bbbbbbb", "x-9aaaaaaaaaaaaaaaaa----de9df875"},
		{"9aaaaaaaaaaaaaaaaa@b", "x-9aaaaaaaaaaaaaaaaa----eb4068a4"},
		{"ab-", "ab---2fd1864b"},
		{"a-b-c", "a-b-c"},
		{strings.Repeat("a", 62) + "-", "aaaaaaaaaaaaaaaaaaaaa---118fe5ae"},
		{"abc def", "abc-def---010971ea"},
		{"tab\tname", "tab-name---db31d5fe"},
		{"\u03a9", "x---e3c622e5"},
		{"\ufb00", "x---2740ec4b"},
		{strings.Repeat("x", 63) + "Y", "xxxxxxxxxxxxxxxxxxxxx---80f8e111"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SafeObject(tt.name)
			if got != tt.want {
				t.Errorf("SafeObject(%q) = %q, want %q", tt.name, got, tt.want)
			}
			if !IsValidObjectName(got) {
				t.Errorf("SafeObject(%q) = %q is not a valid object name", tt.name, got)
			}
		})
	}
}

func TestSafeMaxLength(t *testing.T) {
	tests := []struct {
		name      string
		maxLength int
		want      string
	}{
		{"Alex", 16, "alex---db74c940"},
		{"alex", 4, "alex"},
		{"alex", 15, "alex"},
		{"9", 12, "x----19581e27"},
		{"9abc", 12, "x----e7c517d3"},
		{"9abc", 13, "x----e7c517d3"},
		{"9abc", 14, "x-9---e7c517d3"},
		{"9-ab", 15, "x-9----7380473e"},
		{strings.Repeat("a", 47), 48, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{strings.Repeat("a", 48), 48, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		{strings.Repeat("a", 49), 48, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa---8f9bec6a"},
		{strings.Repeat("9", 60), 48, "x-99999999999999999999999999999999999---f038e42c"},
		{"user@email.com", 12, "u---0925f997"},
		{strings.Repeat("x", 100), 63, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx---09ecb6eb"},
		{strings.Repeat("x", 63), 63, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
		{strings.Repeat("x", 64), 63, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx---7ce10097"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+strconv.Itoa(tt.maxLength), func(t *testing.T) {
			if got := Safe(tt.name, IsValidObjectName, tt.maxLength); got != tt.want {
				t.Errorf("Safe(%q, %d) = %q, want %q", tt.name, tt.maxLength, got, tt.want)
			}
		})
	}
}

// TestSafeLabel: where KubeSpawner's case-insensitive regexp accepts
// non-ASCII letters, hubkit hashes instead (the comment gives KubeSpawner's
// output).
func TestSafeLabel(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Alex", "Alex"},
		{"ALEX", "ALEX"},
		{"a_b", "a_b"},
		{"a.b", "a.b"},
		{"_a", "a---34fb7160"},
		{"a_", "a---571fb0e3"},
		{"A--B", "a-b---067f9148"},
		{"a\u212ab", "akb---c7e26025"},  // KubeSpawner: "a\u212ab" (invalid for Kubernetes)
		{"a\u017fb", "a-b---19a815e3"},  // KubeSpawner: "a\u017fb" (invalid for Kubernetes)
		{"a\u0131b", "a-b---9d325f89"},  // KubeSpawner: "a\u0131b" (invalid for Kubernetes)
		{"a\u0130b", "ai-b---14f28c46"}, // KubeSpawner: "a\u0130b" (invalid for Kubernetes)
		{"\u212a", "k---2bc4fb87"},
		{"Ünicode", "nicode---80d2db04"},
		{strings.Repeat("x", 64), "xxxxxxxxxxxxxxxxxxxxx---7ce10097"},
		{strings.Repeat("9", 63), "999999999999999999999999999999999999999999999999999999999999999"},
		{"a b", "a-b---c8687a08"},
		{"a\nb", "a-b---7e18f737"},
		{".", "x---cdb4ee2a"},
		{"A.b-C_d", "A.b-C_d"},
		{strings.Repeat("Z", 63), "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"},
		{strings.Repeat("Z", 64), "zzzzzzzzzzzzzzzzzzzzz---cc7321cc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SafeLabel(tt.name)
			if got != tt.want {
				t.Errorf("SafeLabel(%q) = %q, want %q", tt.name, got, tt.want)
			}
			if !IsValidLabel(got) {
				t.Errorf("SafeLabel(%q) = %q is not a valid label value", tt.name, got)
			}
		})
	}
}

func TestStripAndHash(t *testing.T) {
	tests := []struct {
		name      string
		maxLength int
		want      string
	}{
		{"", 32, "x---e3b0c442"},
		{strings.Repeat("x", 300), 32, "xxxxxxxxxxxxxxxxxxxxx---0d4e2ca9"},
		{"9abc", 12, "x----e7c517d3"},
		{"Alex", 12, "a---db74c940"},
		{"a-b-c", 20, "a-b-c---cbd2be7b"},
		{"\u0130\u0130\u0130", 20, "i-i-i---c3d23e53"},
		{"---a---", 16, "a---0a643c93"},
		{"é9", 16, "x-9---ae31fad5"},
		{"valid", 32, "valid---ec654fac"},
		{strings.Repeat("x", 63), 63, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx---75220b47"},
		{strings.Repeat("x", 100), 100, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx---09ecb6eb"},
		{"user@email.com", 0, "user-email-com---0925f997"}, // 0 = default 32
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+strconv.Itoa(tt.maxLength), func(t *testing.T) {
			if got := StripAndHash(tt.name, tt.maxLength); got != tt.want {
				t.Errorf("StripAndHash(%q, %d) = %q, want %q", tt.name, tt.maxLength, got, tt.want)
			}
		})
	}
	for _, maxLength := range []int{11, 1, -1, -100} {
		t.Run("panic/"+strconv.Itoa(maxLength), func(t *testing.T) {
			assertPanics(t, func() { StripAndHash("x", maxLength) })
		})
	}
}

func TestMulti(t *testing.T) {
	tests := []struct {
		names     []string
		maxLength int
		want      string
	}{
		{[]string{"a", "b"}, 48, "a--b---01ce0241"},
		{[]string{"a", ""}, 48, "a--x---8dd06b5a"},
		{[]string{"", ""}, 48, "x--x---a8100ae6"},
		{[]string{"user@email.com", "Some Name"}, 48, "user-email-com--some-name---0c1fe94b"},
		{[]string{"ab", "c"}, 48, "ab--c---3239f095"},
		{[]string{"a", "bc"}, 48, "a--bc---9dbd772b"},
		{[]string{strings.Repeat("x", 300), strings.Repeat("y", 300)}, 48, "xxxxxxxxxxxxxxxxx--yyyyyyyyyyyyyyyyy---790d7171"},
		{[]string{"\u0130x", "9y", "Z"}, 63, "i-x--x-9y--z---eebfe654"},
		{[]string{"a", "b", "c"}, 27, "a--b--c---f0f5240c"},
		{[]string{"alpha", "beta"}, 17, "al--be---6e384939"},
		{[]string{"solo"}, 13, "so---5364f2f2"},
		{[]string{"a--b", "c--d"}, 0, "a-b--c-d---c268cf94"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.names, "|")+"/"+strconv.Itoa(tt.maxLength), func(t *testing.T) {
			if got := Multi(tt.names, tt.maxLength); got != tt.want {
				t.Errorf("Multi(%q, %d) = %q, want %q", tt.names, tt.maxLength, got, tt.want)
			}
		})
	}
	panics := []struct {
		names     []string
		maxLength int
	}{
		{nil, 48},
		{[]string{}, 48},
		{[]string{"a"}, 12},
		{[]string{"a", "b"}, 16},
		{[]string{"a", "b"}, -48},
	}
	for _, tt := range panics {
		t.Run("panic/"+strings.Join(tt.names, "|")+"/"+strconv.Itoa(tt.maxLength), func(t *testing.T) {
			assertPanics(t, func() { Multi(tt.names, tt.maxLength) })
		})
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ name, want string }{
		{"", ""},
		{"alex", "alex"},
		{"Alex", "-41lex"},
		{"user@email.com", "user-40email-2ecom"},
		{"a\nb", "a-ab"},
		{"\x012", "-12"},
		{"\x12", "-12"},
		{"üni", "-c3-bcni"},
		{"\u0130", "-c4-b0"},
		{"\U0001f600", "-f0-9f-98-80"},
		{"a-b", "a-2db"},
		{"a_b.c", "a-5fb-2ec"},
		{"Some Name", "-53ome-20-4eame"},
		{"\x7f", "-7f"},
		{"9z", "9z"},
		{"\x00", "-0"},
		{"ABC xyz", "-41-42-43-20xyz"},
		// Not representable in Python: invalid UTF-8 is escaped byte by byte.
		{"a\xffb", "a-ffb"},
		{"\xc3", "-c3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Escape(tt.name); got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestIsValidObjectName(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"a", true},
		{"a-b", true},
		{"a--b", true},
		{"z9", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{strings.Repeat("a", 64), false},
		{"9a", false},
		{"-a", false},
		{"a-", false},
		{"A", false},
		{"aB", false},
		{"a.b", false},
		{"a_b", false},
		{"abc\n", false},
		{"a\u212ab", false},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			if got := IsValidObjectName(tt.s); got != tt.want {
				t.Errorf("IsValidObjectName(%q) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}

func TestIsValidLabel(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"", true},
		{"a", true},
		{"9", true},
		{"A.b-C_d", true},
		{"a--b", true},
		{strings.Repeat("Z", 63), true},
		{strings.Repeat("Z", 64), false},
		{".a", false},
		{"a_", false},
		{"-", false},
		{"a b", false},
		{"a@b", false},
		{"ab\n", false},
		// Accepted by KubeSpawner's re.IGNORECASE check, rejected here
		// and by Kubernetes.
		{"a\u212ab", false},
		{"a\u017fb", false},
		{"a\u0130b", false},
		{"a\u0131b", false},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			if got := IsValidLabel(tt.s); got != tt.want {
				t.Errorf("IsValidLabel(%q) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}

func TestFor(t *testing.T) {
	tests := []struct {
		user, server string
		scheme       Scheme
		want         Names
	}{
		{"user@email.com", "Some Name", SchemeSafe, Names{
			Username: "user-email-com---0925f997", Servername: "some-name---3a8b1764", UserServer: "user-email-com---0925f997--some-name---3a8b1764",
			SafeUsername: "user-email-com---0925f997", SafeServername: "some-name---3a8b1764", SafeUserServer: "user-email-com---0925f997--some-name---3a8b1764",
			EscapedUsername: "user-40email-2ecom", EscapedServername: "-53ome-20-4eame", EscapedUserServer: "user-40email-2ecom---53ome-20-4eame",
			UnescapedUsername: "user@email.com", UnescapedServername: "Some Name",
		}},
		{"user@email.com", "Some Name", SchemeEscape, Names{
			Username: "user-40email-2ecom", Servername: "-53ome-20-4eame", UserServer: "user-40email-2ecom---53ome-20-4eame",
			SafeUsername: "user-email-com---0925f997", SafeServername: "some-name---3a8b1764", SafeUserServer: "user-email-com---0925f997--some-name---3a8b1764",
			EscapedUsername: "user-40email-2ecom", EscapedServername: "-53ome-20-4eame", EscapedUserServer: "user-40email-2ecom---53ome-20-4eame",
			UnescapedUsername: "user@email.com", UnescapedServername: "Some Name",
		}},
		{"alex", "", SchemeSafe, Names{
			Username: "alex", Servername: "", UserServer: "alex",
			SafeUsername: "alex", SafeServername: "", SafeUserServer: "alex",
			EscapedUsername: "alex", EscapedServername: "", EscapedUserServer: "alex--",
			UnescapedUsername: "alex", UnescapedServername: "",
		}},
		{"alex", "", SchemeEscape, Names{
			Username: "alex", Servername: "", UserServer: "alex",
			SafeUsername: "alex", SafeServername: "", SafeUserServer: "alex",
			EscapedUsername: "alex", EscapedServername: "", EscapedUserServer: "alex--",
			UnescapedUsername: "alex", UnescapedServername: "",
		}},
		{"alex", "lab", SchemeSafe, Names{
			Username: "alex", Servername: "lab", UserServer: "alex--lab",
			SafeUsername: "alex", SafeServername: "lab", SafeUserServer: "alex--lab",
			EscapedUsername: "alex", EscapedServername: "lab", EscapedUserServer: "alex--lab",
			UnescapedUsername: "alex", UnescapedServername: "lab",
		}},
		{"alex", "lab", SchemeEscape, Names{
			Username: "alex", Servername: "lab", UserServer: "alex--lab",
			SafeUsername: "alex", SafeServername: "lab", SafeUserServer: "alex--lab",
			EscapedUsername: "alex", EscapedServername: "lab", EscapedUserServer: "alex--lab",
			UnescapedUsername: "alex", UnescapedServername: "lab",
		}},
		{"Alex", "Lab", SchemeSafe, Names{
			Username: "alex---db74c940", Servername: "lab---efdcf466", UserServer: "alex---db74c940--lab---efdcf466",
			SafeUsername: "alex---db74c940", SafeServername: "lab---efdcf466", SafeUserServer: "alex---db74c940--lab---efdcf466",
			EscapedUsername: "-41lex", EscapedServername: "-4cab", EscapedUserServer: "-41lex---4cab",
			UnescapedUsername: "Alex", UnescapedServername: "Lab",
		}},
		{"Alex", "Lab", SchemeEscape, Names{
			Username: "-41lex", Servername: "-4cab", UserServer: "-41lex---4cab",
			SafeUsername: "alex---db74c940", SafeServername: "lab---efdcf466", SafeUserServer: "alex---db74c940--lab---efdcf466",
			EscapedUsername: "-41lex", EscapedServername: "-4cab", EscapedUserServer: "-41lex---4cab",
			UnescapedUsername: "Alex", UnescapedServername: "Lab",
		}},
		{strings.Repeat("a", 46), "", SchemeSafe, Names{
			Username: strings.Repeat("a", 46), Servername: "", UserServer: strings.Repeat("a", 46),
			SafeUsername: strings.Repeat("a", 46), SafeServername: "", SafeUserServer: strings.Repeat("a", 46),
			EscapedUsername: strings.Repeat("a", 46), EscapedServername: "", EscapedUserServer: strings.Repeat("a", 46) + "--",
			UnescapedUsername: strings.Repeat("a", 46), UnescapedServername: "",
		}},
		{strings.Repeat("a", 46), "", SchemeEscape, Names{
			Username: strings.Repeat("a", 46), Servername: "", UserServer: strings.Repeat("a", 46),
			SafeUsername: strings.Repeat("a", 46), SafeServername: "", SafeUserServer: strings.Repeat("a", 46),
			EscapedUsername: strings.Repeat("a", 46), EscapedServername: "", EscapedUserServer: strings.Repeat("a", 46) + "--",
			UnescapedUsername: strings.Repeat("a", 46), UnescapedServername: "",
		}},
		{strings.Repeat("a", 47), "", SchemeSafe, Names{
			Username: strings.Repeat("a", 47), Servername: "", UserServer: "aaaaaaaaaaaaaaaaa--x---b191b19d",
			SafeUsername: strings.Repeat("a", 47), SafeServername: "", SafeUserServer: "aaaaaaaaaaaaaaaaa--x---b191b19d",
			EscapedUsername: strings.Repeat("a", 47), EscapedServername: "", EscapedUserServer: strings.Repeat("a", 47) + "--",
			UnescapedUsername: strings.Repeat("a", 47), UnescapedServername: "",
		}},
		{strings.Repeat("a", 47), "", SchemeEscape, Names{
			Username: strings.Repeat("a", 47), Servername: "", UserServer: strings.Repeat("a", 47),
			SafeUsername: strings.Repeat("a", 47), SafeServername: "", SafeUserServer: "aaaaaaaaaaaaaaaaa--x---b191b19d",
			EscapedUsername: strings.Repeat("a", 47), EscapedServername: "", EscapedUserServer: strings.Repeat("a", 47) + "--",
			UnescapedUsername: strings.Repeat("a", 47), UnescapedServername: "",
		}},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", SchemeSafe, Names{
			Username: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Servername: "bbbbbbbbbbbbbbbb", UserServer: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa--bbbbbbbbbbbbbbbb",
			SafeUsername: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", SafeServername: "bbbbbbbbbbbbbbbb", SafeUserServer: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa--bbbbbbbbbbbbbbbb",
			EscapedUsername: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", EscapedServername: "bbbbbbbbbbbbbbbb", EscapedUserServer: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa--bbbbbbbbbbbbbbbb",
			UnescapedUsername: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", UnescapedServername: "bbbbbbbbbbbbbbbb",
		}},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb", SchemeEscape, Names{
			Username: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Servername: "bbbbbbbbbbbbbbbb", UserServer: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa--bbbbbbbbbbbbbbbb",
			SafeUsername: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", SafeServername: "bbbbbbbbbbbbbbbb", SafeUserServer: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa--bbbbbbbbbbbbbbbb",
			EscapedUsername: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", EscapedServername: "bbbbbbbbbbbbbbbb", EscapedUserServer: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa--bbbbbbbbbbbbbbbb",
			UnescapedUsername: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", UnescapedServername: "bbbbbbbbbbbbbbbb",
		}},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbb", SchemeSafe, Names{
			Username: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Servername: "bbbbbbbbbbbbbbbbb", UserServer: "aaaaaaaaaaaaaaaaa--bbbbbbbbbbbbbbbbb---11659598",
			SafeUsername: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", SafeServername: "bbbbbbbbbbbbbbbbb", SafeUserServer: "aaaaaaaaaaaaaaaaa--bbbbbbbbbbbbbbbbb---11659598",
			EscapedUsername: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", EscapedServername: "bbbbbbbbbbbbbbbbb", EscapedUserServer: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa--bbbbbbbbbbbbbbbbb",
			UnescapedUsername: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", UnescapedServername: "bbbbbbbbbbbbbbbbb",
		}},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbb", SchemeEscape, Names{
			Username: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Servername: "bbbbbbbbbbbbbbbbb", UserServer: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa--bbbbbbbbbbbbbbbbb",
			SafeUsername: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", SafeServername: "bbbbbbbbbbbbbbbbb", SafeUserServer: "aaaaaaaaaaaaaaaaa--bbbbbbbbbbbbbbbbb---11659598",
			EscapedUsername: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", EscapedServername: "bbbbbbbbbbbbbbbbb", EscapedUserServer: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa--bbbbbbbbbbbbbbbbb",
			UnescapedUsername: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", UnescapedServername: "bbbbbbbbbbbbbbbbb",
		}},
		{"user@email.com", "a-really-long-server-name-for-testing", SchemeSafe, Names{
			Username: "user-email-com---0925f997", Servername: "a-really-long-server-name-for-testing", UserServer: "user-email-com--a-really-long-ser---52337059",
			SafeUsername: "user-email-com---0925f997", SafeServername: "a-really-long-server-name-for-testing", SafeUserServer: "user-email-com--a-really-long-ser---52337059",
			EscapedUsername: "user-40email-2ecom", EscapedServername: "a-2dreally-2dlong-2dserver-2dname-2dfor-2dtesting", EscapedUserServer: "user-40email-2ecom--a-2dreally-2dlong-2dserver-2dname-2dfor-2dtesting",
			UnescapedUsername: "user@email.com", UnescapedServername: "a-really-long-server-name-for-testing",
		}},
		{"user@email.com", "a-really-long-server-name-for-testing", SchemeEscape, Names{
			Username: "user-40email-2ecom", Servername: "a-2dreally-2dlong-2dserver-2dname-2dfor-2dtesting", UserServer: "user-40email-2ecom--a-2dreally-2dlong-2dserver-2dname-2dfor-2dtesting",
			SafeUsername: "user-email-com---0925f997", SafeServername: "a-really-long-server-name-for-testing", SafeUserServer: "user-email-com--a-really-long-ser---52337059",
			EscapedUsername: "user-40email-2ecom", EscapedServername: "a-2dreally-2dlong-2dserver-2dname-2dfor-2dtesting", EscapedUserServer: "user-40email-2ecom--a-2dreally-2dlong-2dserver-2dname-2dfor-2dtesting",
			UnescapedUsername: "user@email.com", UnescapedServername: "a-really-long-server-name-for-testing",
		}},
		{strings.Repeat("x", 300), strings.Repeat("y", 300), SchemeSafe, Names{
			Username: strings.Repeat("x", 37) + "---0d4e2ca9", Servername: strings.Repeat("y", 37) + "---9637cfea", UserServer: "xxxxxxxxxxxxxxxxx--yyyyyyyyyyyyyyyyy---790d7171",
			SafeUsername: strings.Repeat("x", 37) + "---0d4e2ca9", SafeServername: strings.Repeat("y", 37) + "---9637cfea", SafeUserServer: "xxxxxxxxxxxxxxxxx--yyyyyyyyyyyyyyyyy---790d7171",
			EscapedUsername: strings.Repeat("x", 300), EscapedServername: strings.Repeat("y", 300), EscapedUserServer: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx--yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
			UnescapedUsername: strings.Repeat("x", 300), UnescapedServername: strings.Repeat("y", 300),
		}},
		{strings.Repeat("x", 300), strings.Repeat("y", 300), SchemeEscape, Names{
			Username: strings.Repeat("x", 300), Servername: strings.Repeat("y", 300), UserServer: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx--yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
			SafeUsername: strings.Repeat("x", 37) + "---0d4e2ca9", SafeServername: strings.Repeat("y", 37) + "---9637cfea", SafeUserServer: "xxxxxxxxxxxxxxxxx--yyyyyyyyyyyyyyyyy---790d7171",
			EscapedUsername: strings.Repeat("x", 300), EscapedServername: strings.Repeat("y", 300), EscapedUserServer: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx--yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
			UnescapedUsername: strings.Repeat("x", 300), UnescapedServername: strings.Repeat("y", 300),
		}},
		{"", "", SchemeSafe, Names{
			Username: "x---e3b0c442", Servername: "", UserServer: "x---e3b0c442",
			SafeUsername: "x---e3b0c442", SafeServername: "", SafeUserServer: "x---e3b0c442",
			EscapedUsername: "", EscapedServername: "", EscapedUserServer: "--",
			UnescapedUsername: "", UnescapedServername: "",
		}},
		{"", "", SchemeEscape, Names{
			Username: "", Servername: "", UserServer: "",
			SafeUsername: "x---e3b0c442", SafeServername: "", SafeUserServer: "x---e3b0c442",
			EscapedUsername: "", EscapedServername: "", EscapedUserServer: "--",
			UnescapedUsername: "", UnescapedServername: "",
		}},
		{"", "s", SchemeSafe, Names{
			Username: "x---e3b0c442", Servername: "s", UserServer: "x---e3b0c442--s",
			SafeUsername: "x---e3b0c442", SafeServername: "s", SafeUserServer: "x---e3b0c442--s",
			EscapedUsername: "", EscapedServername: "s", EscapedUserServer: "--s",
			UnescapedUsername: "", UnescapedServername: "s",
		}},
		{"", "s", SchemeEscape, Names{
			Username: "", Servername: "s", UserServer: "--s",
			SafeUsername: "x---e3b0c442", SafeServername: "s", SafeUserServer: "x---e3b0c442--s",
			EscapedUsername: "", EscapedServername: "s", EscapedUserServer: "--s",
			UnescapedUsername: "", UnescapedServername: "s",
		}},
		{"\u0130", "\u212a", SchemeSafe, Names{
			Username: "i---a65018cf", Servername: "k---2bc4fb87", UserServer: "i---a65018cf--k---2bc4fb87",
			SafeUsername: "i---a65018cf", SafeServername: "k---2bc4fb87", SafeUserServer: "i---a65018cf--k---2bc4fb87",
			EscapedUsername: "-c4-b0", EscapedServername: "-e2-84-aa", EscapedUserServer: "-c4-b0---e2-84-aa",
			UnescapedUsername: "\u0130", UnescapedServername: "\u212a",
		}},
		{"\u0130", "\u212a", SchemeEscape, Names{
			Username: "-c4-b0", Servername: "-e2-84-aa", UserServer: "-c4-b0---e2-84-aa",
			SafeUsername: "i---a65018cf", SafeServername: "k---2bc4fb87", SafeUserServer: "i---a65018cf--k---2bc4fb87",
			EscapedUsername: "-c4-b0", EscapedServername: "-e2-84-aa", EscapedUserServer: "-c4-b0---e2-84-aa",
			UnescapedUsername: "\u0130", UnescapedServername: "\u212a",
		}},
		{"a--b", "c", SchemeSafe, Names{
			Username: "a-b---90827a2e", Servername: "c", UserServer: "a-b---90827a2e--c",
			SafeUsername: "a-b---90827a2e", SafeServername: "c", SafeUserServer: "a-b---90827a2e--c",
			EscapedUsername: "a-2d-2db", EscapedServername: "c", EscapedUserServer: "a-2d-2db--c",
			UnescapedUsername: "a--b", UnescapedServername: "c",
		}},
		{"a--b", "c", SchemeEscape, Names{
			Username: "a-2d-2db", Servername: "c", UserServer: "a-2d-2db--c",
			SafeUsername: "a-b---90827a2e", SafeServername: "c", SafeUserServer: "a-b---90827a2e--c",
			EscapedUsername: "a-2d-2db", EscapedServername: "c", EscapedUserServer: "a-2d-2db--c",
			UnescapedUsername: "a--b", UnescapedServername: "c",
		}},
		{"a", "b--c", SchemeSafe, Names{
			Username: "a", Servername: "b-c---8eb88ee4", UserServer: "a--b-c---8eb88ee4",
			SafeUsername: "a", SafeServername: "b-c---8eb88ee4", SafeUserServer: "a--b-c---8eb88ee4",
			EscapedUsername: "a", EscapedServername: "b-2d-2dc", EscapedUserServer: "a--b-2d-2dc",
			UnescapedUsername: "a", UnescapedServername: "b--c",
		}},
		{"a", "b--c", SchemeEscape, Names{
			Username: "a", Servername: "b-2d-2dc", UserServer: "a--b-2d-2dc",
			SafeUsername: "a", SafeServername: "b-c---8eb88ee4", SafeUserServer: "a--b-c---8eb88ee4",
			EscapedUsername: "a", EscapedServername: "b-2d-2dc", EscapedUserServer: "a--b-2d-2dc",
			UnescapedUsername: "a", UnescapedServername: "b--c",
		}},
		{"Jane.Doe@Example.COM", "GPU Notebook #2", SchemeSafe, Names{
			Username: "jane-doe-example-com---3f6be184", Servername: "gpu-notebook-2---046d64c2", UserServer: "jane-doe-example--gpu-notebook-2---fd7ac0de",
			SafeUsername: "jane-doe-example-com---3f6be184", SafeServername: "gpu-notebook-2---046d64c2", SafeUserServer: "jane-doe-example--gpu-notebook-2---fd7ac0de",
			EscapedUsername: "-4aane-2e-44oe-40-45xample-2e-43-4f-4d", EscapedServername: "-47-50-55-20-4eotebook-20-232", EscapedUserServer: "-4aane-2e-44oe-40-45xample-2e-43-4f-4d---47-50-55-20-4eotebook-20-232",
			UnescapedUsername: "Jane.Doe@Example.COM", UnescapedServername: "GPU Notebook #2",
		}},
		{"Jane.Doe@Example.COM", "GPU Notebook #2", SchemeEscape, Names{
			Username: "-4aane-2e-44oe-40-45xample-2e-43-4f-4d", Servername: "-47-50-55-20-4eotebook-20-232", UserServer: "-4aane-2e-44oe-40-45xample-2e-43-4f-4d---47-50-55-20-4eotebook-20-232",
			SafeUsername: "jane-doe-example-com---3f6be184", SafeServername: "gpu-notebook-2---046d64c2", SafeUserServer: "jane-doe-example--gpu-notebook-2---fd7ac0de",
			EscapedUsername: "-4aane-2e-44oe-40-45xample-2e-43-4f-4d", EscapedServername: "-47-50-55-20-4eotebook-20-232", EscapedUserServer: "-4aane-2e-44oe-40-45xample-2e-43-4f-4d---47-50-55-20-4eotebook-20-232",
			UnescapedUsername: "Jane.Doe@Example.COM", UnescapedServername: "GPU Notebook #2",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.user+"|"+tt.server+"|"+string(tt.scheme), func(t *testing.T) {
			if got := For(tt.user, tt.server, tt.scheme); got != tt.want {
				t.Errorf("For(%q, %q, %q) =\n%+v\nwant\n%+v", tt.user, tt.server, tt.scheme, got, tt.want)
			}
		})
	}
}

// TestForUserServer pins the two cases that decide between the joined
// and the multi-slug form of user_server.
func TestForUserServer(t *testing.T) {
	tests := []struct {
		name, user, server, want string
	}{
		{"joined", "user@email.com", "Some Name", "user-email-com---0925f997--some-name---3a8b1764"},
		// 25 + 37 + 2 > 48: one hash over "user@email.com\xffa-really-...".
		{"multi", "user@email.com", "a-really-long-server-name-for-testing", "user-email-com--a-really-long-ser---52337059"},
		// 30 + 16 + 2 = 48 still fits; 30 + 17 + 2 does not.
		{"fits-exactly", strings.Repeat("a", 30), strings.Repeat("b", 16), strings.Repeat("a", 30) + "--" + strings.Repeat("b", 16)},
		{"one-over", strings.Repeat("a", 30), strings.Repeat("b", 17), "aaaaaaaaaaaaaaaaa--bbbbbbbbbbbbbbbbb---11659598"},
		// KubeSpawner quirk: a 47-character user name does not fit with
		// the "--" and gets a multi slug even without a server name.
		{"default-server-multi", strings.Repeat("a", 47), "", "aaaaaaaaaaaaaaaaa--x---b191b19d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := For(tt.user, tt.server, SchemeSafe).UserServer
			if got != tt.want {
				t.Errorf("For(%q, %q).UserServer = %q, want %q", tt.user, tt.server, got, tt.want)
			}
		})
	}
}

func TestForScheme(t *testing.T) {
	if got, want := For("Alex", "", "").UserServer, "alex---db74c940"; got != want {
		t.Errorf("empty scheme: UserServer = %q, want %q (safe)", got, want)
	}
	assertPanics(t, func() { For("alex", "", "Safe") })

	for _, tt := range []struct {
		in      string
		want    Scheme
		wantErr bool
	}{
		{"", SchemeSafe, false},
		{"safe", SchemeSafe, false},
		{"escape", SchemeEscape, false},
		{"Safe", "", true},
		{"legacy", "", true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseScheme(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseScheme(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		template, user, server string
		scheme                 Scheme
		extra                  map[string]string
		want                   string
	}{
		{"jupyter-{user_server}", "user@email.com", "Some Name", SchemeSafe, nil, "jupyter-user-email-com---0925f997--some-name---3a8b1764"},
		{"jupyter-{username}--{servername}", "alex", "", SchemeSafe, nil, "jupyter-alex"},
		{"claim-{username}--{servername}", "alex", "", SchemeEscape, nil, "claim-alex"},
		{"claim-{username}--{servername}", "Alex", "Lab", SchemeEscape, nil, "claim--41lex---4cab"},
		{"claim-{username}--{servername}", "Alex", "Lab", SchemeSafe, nil, "claim-alex---db74c940--lab---efdcf466"},
		{"{hubnamespace}-{username}", "alex", "", SchemeSafe, map[string]string{"hubnamespace": "jhub"}, "jhub-alex"},
		{"user-{userid}-", "alex", "", SchemeSafe, map[string]string{"userid": "7"}, "user-7-"},
		{"x-{servername}-", "alex", "", SchemeSafe, nil, "x--"},
		{"{escaped_user_server}", "alex", "", SchemeSafe, nil, "alex"},
		{"{unescaped_username}/{unescaped_servername}", "Alex@x", "My Lab", SchemeSafe, nil, "Alex@x/My Lab"},
		{"{{literal}}-{safe_username}", "alex", "", SchemeSafe, nil, "{literal}-alex"},
		{"}}{{", "alex", "", SchemeSafe, nil, "}{"},
		{"/home/{unescaped_username}", "a--", "", SchemeSafe, nil, "/home/a"},
		{"{username}---", "alex", "", SchemeSafe, nil, "alex---"},
		{"{escaped_username}", "al-", "", SchemeEscape, nil, "al-2d"},
		{"{safe_user_server}|{escaped_servername}|{safe_servername}", "Alex", "Lab", SchemeEscape, nil, "alex---db74c940--lab---efdcf466|-4cab|lab---efdcf466"},
		{"", "alex", "", SchemeSafe, nil, ""},
		{"plain", "alex", "", SchemeSafe, nil, "plain"},
	}
	for _, tt := range tests {
		t.Run(tt.template+"|"+tt.user+"|"+tt.server+"|"+string(tt.scheme), func(t *testing.T) {
			got, err := Expand(tt.template, For(tt.user, tt.server, tt.scheme), tt.extra)
			if err != nil {
				t.Fatalf("Expand(%q) error: %v", tt.template, err)
			}
			if got != tt.want {
				t.Errorf("Expand(%q) = %q, want %q", tt.template, got, tt.want)
			}
		})
	}
}

func TestExpandErrors(t *testing.T) {
	n := For("alex", "lab", SchemeSafe)
	tests := []struct {
		template string
		extra    map[string]string
		wantIn   string // substring of the error message
	}{
		{"jupyter-{user}", nil, `unknown key "user"`},
		{"{userid}", nil, `unknown key "userid"`},
		{"{hubnamespace}-{nope}", map[string]string{"hubnamespace": "ns"}, `unknown key "nope"`},
		{"jupyter-{username", nil, "unmatched '{'"},
		{"{", nil, "unmatched '{'"},
		{"{a{b}", nil, "unmatched '{'"},
		{"jupyter-}", nil, "single '}'"},
		{"}x", nil, "single '}'"},
		{"{}", nil, "empty field"},
		{"{username!r}", nil, `unsupported field "username!r"`},
		{"{username:>10}", nil, `unsupported field "username:>10"`},
		{"{username.upper}", nil, `unsupported field "username.upper"`},
		{"{username}", map[string]string{"username": "x"}, `extra key "username" shadows`},
	}
	for _, tt := range tests {
		t.Run(tt.template, func(t *testing.T) {
			got, err := Expand(tt.template, n, tt.extra)
			if err == nil {
				t.Fatalf("Expand(%q) = %q, want error", tt.template, got)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("Expand(%q) error %q does not contain %q", tt.template, err, tt.wantIn)
			}
		})
	}
}

// TestLowerAlnumRuns checks the Python str.lower emulation against the
// only two non-ASCII code points whose Python lowercase contains ASCII
// letters or digits: U+0130 and U+212A (exhaustive scan with Python 3.11,
// Unicode 14.0).
func TestLowerAlnumRuns(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ABC-def_GHI", "abc-def-ghi"},
		{"\u0130", "i-"},
		{"\u0130I", "i-i"},
		{"a\u212a", "ak"},
		{"\u0131\u017f", "-"}, // dotless i and long s lowercase to themselves
		{"a\xff\xfeb", "a-b"},
		{"--a--", "-a-"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := lowerAlnumRuns(tt.in); got != tt.want {
				t.Errorf("lowerAlnumRuns(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func assertPanics(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		if recover() == nil {
			t.Errorf("expected a panic")
		}
	}()
	f()
}
