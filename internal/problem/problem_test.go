package problem_test

import (
	"slices"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

func TestSeverityString(t *testing.T) {
	for sev, want := range map[problem.Severity]string{problem.Error: "error", problem.Warning: "warning"} {
		if got := sev.String(); got != want {
			t.Errorf("Severity(%d).String() = %q, want %q", sev, got, want)
		}
	}
}

// TestString: String names every set field, from the instance down to the
// entry, then the message.
func TestString(t *testing.T) {
	cases := []struct {
		name     string
		p        problem.Problem
		rendered string
	}{
		{"none", problem.Problem{Message: "m"}, "m"},
		{"instance", problem.Problem{Instance: "i", Message: "m"}, "instance i: m"},
		{"input", problem.Problem{Input: "age-key", Message: "m"}, "age-key: m"},
		{"file", problem.Problem{File: "s/a.age", Message: "m"}, "s/a.age: m"},
		{"object", problem.Problem{Object: "b/x.tar", Message: "m"}, "b/x.tar: m"},
		{"entry", problem.Problem{Entry: "secrets/a.age", Message: "m"}, "secrets/a.age: m"},
		{"instance and input", problem.Problem{Instance: "i", Input: "age-key", Message: "m"}, "instance i: age-key: m"},
		{"instance and file", problem.Problem{Instance: "i", File: "f", Message: "m"}, "instance i: f: m"},
		{"input and file", problem.Problem{Input: "age-key", File: "k.txt", Message: "m"}, "age-key: k.txt: m"},
		{"file and object", problem.Problem{File: "f", Object: "o", Message: "m"}, "f: o: m"},
		{"entry in object of instance", problem.Problem{Instance: "i", Object: "o", Entry: "e", Message: "m"}, "instance i: o: e: m"},
		{"every field", problem.Problem{Instance: "i", Input: "n", File: "f", Object: "o", Entry: "e", Message: "m"}, "instance i: n: f: o: e: m"},
		{"entry only, no message", problem.Problem{Entry: "e"}, "e: "},
		{"severity does not show", problem.Problem{Severity: problem.Warning, File: "f", Message: "m"}, "f: m"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.String(); got != tc.rendered {
				t.Errorf("String() = %q, want %q", got, tc.rendered)
			}
		})
	}
}

func TestListAddWarnErrorfEntryf(t *testing.T) {
	var l problem.List
	l.Add(problem.Problem{Severity: problem.Warning, Input: "age-key", Message: "add"})
	l.Warn(problem.Problem{Severity: problem.Error, File: "w.age", Message: "warn"})
	l.Errorf("i", "f.age", "errorf %d %s", 7, "x")
	l.Errorf("", "g.age", "no instance")
	l.Entryf("secrets/a.age", "entry %q", "q")
	l.Entryf("", "whole archive")
	want := problem.List{
		{Severity: problem.Error, Input: "age-key", Message: "add"},
		{Severity: problem.Warning, File: "w.age", Message: "warn"},
		{Severity: problem.Error, Instance: "i", File: "f.age", Message: "errorf 7 x"},
		{Severity: problem.Error, File: "g.age", Message: "no instance"},
		{Severity: problem.Error, Entry: "secrets/a.age", Message: `entry "q"`},
		{Severity: problem.Error, Message: "whole archive"},
	}
	if !slices.Equal(l, want) {
		t.Fatalf("list:\n got  %+v\n want %+v", l, want)
	}
}

// TestListIn: In fills the instance and the object on problems that lack
// them, and never overrides a subject a check already set. A problem about
// a local file or an input is not about the object.
func TestListIn(t *testing.T) {
	cases := []struct {
		name string
		p    problem.Problem
		want problem.Problem
	}{
		{"bare", problem.Problem{Message: "m"}, problem.Problem{Instance: "i", Object: "o", Message: "m"}},
		{"entry", problem.Problem{Entry: "e"}, problem.Problem{Instance: "i", Object: "o", Entry: "e"}},
		{"own instance kept", problem.Problem{Instance: "j", Entry: "e"}, problem.Problem{Instance: "j", Object: "o", Entry: "e"}},
		{"own object kept", problem.Problem{Object: "p", Entry: "e"}, problem.Problem{Instance: "i", Object: "p", Entry: "e"}},
		{"file: no object", problem.Problem{File: "f"}, problem.Problem{Instance: "i", File: "f"}},
		{"input: no object", problem.Problem{Input: "age-key"}, problem.Problem{Instance: "i", Input: "age-key"}},
		{"warning kept", problem.Problem{Severity: problem.Warning}, problem.Problem{Severity: problem.Warning, Instance: "i", Object: "o"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := problem.List{tc.p}.In("i", "o")
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("In = %+v, want %+v", got, tc.want)
			}
		})
	}

	t.Run("every problem, in place", func(t *testing.T) {
		l := problem.List{{Entry: "a"}, {Entry: "b"}, {File: "c"}}
		got := l.In("i", "o")
		for k, p := range l {
			if p.Instance != "i" {
				t.Errorf("problem %d: instance %q", k, p.Instance)
			}
		}
		if got[1].Object != "o" || l[1].Object != "o" {
			t.Errorf("returned %+v, list %+v", got, l)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if got := problem.List(nil).In("i", "o"); len(got) != 0 {
			t.Errorf("In on an empty list = %+v", got)
		}
	})
}

func TestListFilters(t *testing.T) {
	var l problem.List
	l.Warn(problem.Problem{Message: "w1"})
	l.Add(problem.Problem{Message: "e1"})
	l.Warn(problem.Problem{Message: "w2"})
	l.Add(problem.Problem{Message: "e2"})

	msgs := func(l problem.List) []string {
		var out []string
		for _, p := range l {
			out = append(out, p.Message)
		}
		return out
	}
	if got := msgs(l.Errors()); !slices.Equal(got, []string{"e1", "e2"}) {
		t.Errorf("Errors = %v", got)
	}
	if got := msgs(l.Warnings()); !slices.Equal(got, []string{"w1", "w2"}) {
		t.Errorf("Warnings = %v", got)
	}

	cases := []struct {
		name      string
		l         problem.List
		hasErrors bool
	}{
		{"nil", nil, false},
		{"warnings only", l.Warnings(), false},
		{"one error", problem.List{{Message: "e"}}, true},
		{"mixed", l, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.l.HasErrors(); got != tc.hasErrors {
				t.Errorf("HasErrors = %v, want %v", got, tc.hasErrors)
			}
		})
	}
}

// Digests are cut to 12 characters, version ids over 20 to their first and
// last 8; shorter ones are shown whole, an empty digest as a dash.
func TestShortDigestAndVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "—"},
		{"ab", "ab"},
		{"0123456789ab", "0123456789ab"},
		{"0123456789abc", "0123456789ab"},
	} {
		if got := problem.Short(tc.in); got != tc.want {
			t.Errorf("Short(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"01234567890123456789", "01234567890123456789"},
		{"0123456789012345678X!", "01234567…345678X!"},
		{"AAAAAAAAmiddle-of-the-idZZZZZZZZ", "AAAAAAAA…ZZZZZZZZ"},
	} {
		if got := problem.ShortVersion(tc.in); got != tc.want {
			t.Errorf("ShortVersion(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
