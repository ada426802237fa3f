package verify

import (
	"slices"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// These run before the package's other tests: a limit of 0 would make
// every Verify wait for ever, and this fails first.
func TestLimit(t *testing.T) {
	for c, want := range map[int]int{-1: bucket.DefaultConcurrency, 0: bucket.DefaultConcurrency, 1: 1, 7: 7} {
		if got := (Options{Concurrency: c}).limit(); got != want {
			t.Errorf("Concurrency %d: limit %d, want %d", c, got, want)
		}
	}
}

// foldInto makes the replacement one problem with what was found about the
// archive as a whole; entries, files and warnings stay problems of their
// own, in order.
func TestFoldInto(t *testing.T) {
	var in problem.List
	in.Add(problem.Problem{Message: "unreadable archive"})
	in.Add(problem.Problem{Entry: "secrets/a.age", Message: "does not decrypt"})
	in.Warn(problem.Problem{Message: "a warning"})
	in.Add(problem.Problem{File: "local", Message: "a file"})
	in.Add(problem.Problem{Message: "too large"})
	got := foldInto("replaced", in)
	want := problem.List{
		{Severity: problem.Error, Message: "replaced; unreadable archive; too large"},
		in[1], in[2], in[3],
	}
	if !slices.Equal(got, want) {
		t.Errorf("foldInto:\n%v\nwant\n%v", got, want)
	}
	if got := foldInto("replaced", nil); !slices.Equal(got, problem.List{{Message: "replaced"}}) {
		t.Errorf("nothing else found: %v", got)
	}
}

func TestSameSecrets(t *testing.T) {
	a := bundle.SecretInfo{Name: "a.age", Size: 1, SHA256: "aa"}
	b := bundle.SecretInfo{Name: "b.age", Size: 2, SHA256: "bb"}
	b2 := b
	b2.SHA256 = "cc"
	for _, tc := range []struct {
		x, y []bundle.SecretInfo
		want bool
	}{
		{[]bundle.SecretInfo{a, b}, []bundle.SecretInfo{b, a}, true},
		{nil, nil, true},
		{[]bundle.SecretInfo{a, b}, []bundle.SecretInfo{a}, false},
		{[]bundle.SecretInfo{a}, []bundle.SecretInfo{a, b}, false},
		{[]bundle.SecretInfo{a, b}, []bundle.SecretInfo{a, b2}, false},
		{[]bundle.SecretInfo{a, a}, []bundle.SecretInfo{a, b}, false},
	} {
		if got := sameSecrets(tc.x, tc.y); got != tc.want {
			t.Errorf("sameSecrets(%v, %v) = %v", tc.x, tc.y, got)
		}
	}
}

func TestOrNone(t *testing.T) {
	if orNone("") != "(none)" || orNone("v1") != "v1" {
		t.Errorf("orNone: %q %q", orNone(""), orNone("v1"))
	}
}

// checkRequired names each required secret and the instance's token that
// the bundle lacks; names are trimmed, ".age" is optional, and an empty
// name requires nothing.
func TestCheckRequired(t *testing.T) {
	inst := plan.Instance{Name: "clawdinator-1", DiscordTokenSecret: "clawdinator-discord-token-1"}
	c := &bundle.SecretsContents{Secrets: []bundle.SecretInfo{{Name: "a.age"}, {Name: "clawdinator-discord-token-1.age"}}}
	if probs := checkRequired(c, inst, plan.Policy{Required: []string{" a ", "a.age", "", "  "}}); len(probs) > 0 {
		t.Errorf("all there: %v", probs)
	}
	probs := checkRequired(c, inst, plan.Policy{Required: []string{"a", "b"}})
	if len(probs) != 1 || probs[0].Entry != "secrets/b.age" || probs[0].Message != "required secret is missing from the bundle" {
		t.Errorf("b missing: %v", probs)
	}
	probs = checkRequired(&bundle.SecretsContents{}, inst, plan.Policy{})
	if len(probs) != 1 || probs[0].Entry != "secrets/clawdinator-discord-token-1.age" {
		t.Errorf("token missing: %v", probs)
	}
}
