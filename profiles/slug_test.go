package profiles

import "testing"

func TestSlugify(t *testing.T) {
	cases := []struct{ in, want string }{
		// From KubeSpawner's tests and docs.
		{"Something without a slug", "something-without-a-slug"},
		{"profile 2", "profile-2"},
		{"Training Env - Python", "training-env-python"},
		{"Demo - profile_list entry 1", "demo-profile-list-entry-1"},
		// python-slugify's behaviour.
		{"Default", "default"},
		{"Small (2 CPU, 4 GB)", "small-2-cpu-4-gb"},
		{"  --Spaces & dashes--  ", "spaces-dashes"},
		{"Bob's Lab", "bob-s-lab"},
		{"Bob’s Lab", "bobs-lab"},
		{"1,000 CPUs", "1000-cpus"},
		{"a,b 1, 2", "a-b-1-2"},
		{"Größe L", "grosse-l"},
		{"Jörg Müller's GPU", "jorg-muller-s-gpu"},
		{"Ærø Łódź", "aero-lodz"},
		{"R &amp; D", "r-d"},
		{"caf&eacute;", "cafe"},
		{"x&#8217;y", "x-y"}, // decoded after transliteration, so a separator
		{"GPU – A100", "gpu-a100"},
		{"ﬁle ½", "file-1-2"},
		{"UPPER_case", "upper-case"},
		{"🚀", ""},
		{"", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := Slugify(tc.in); got != tc.want {
				t.Errorf("Slugify(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
