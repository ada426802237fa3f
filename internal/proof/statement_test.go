package proof

import (
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
)

// The statement is believed only when it is about this instance at this
// prefix, names this prefix's repo-seeds, and lists exactly the secrets of
// the archive it came from; each way it can fail is named on the entry.
func TestStatement(t *testing.T) {
	sum := func(c string) string { return strings.Repeat(c, 64) }
	a := bundle.SecretInfo{Name: "a.age", Size: 1, SHA256: sum("a")}
	b := bundle.SecretInfo{Name: "b.age", Size: 2, SHA256: sum("b")}
	good := manifest.Statement{
		Instance: "clawdinator-1", BootstrapPrefix: "bootstrap/clawdinator-1", Sequence: 1, Secrets: []bundle.SecretInfo{a, b},
		RepoSeeds: manifest.Seeds{Key: "bootstrap/clawdinator-1/repo-seeds.tar.zst", Size: 3, SHA256: sum("c"), TarSHA256: sum("d"), ContentSHA256: sum("e")},
	}
	with := func(f func(*manifest.Statement)) []byte {
		st := good
		f(&st)
		return st.Marshal()
	}
	for _, tc := range []struct {
		name      string
		statement []byte
		secrets   []bundle.SecretInfo
		instance  string
		want      string // "" when proven
	}{
		{"proven", good.Marshal(), []bundle.SecretInfo{a, b}, "clawdinator-1", ""},
		{"a host knows its prefix only", good.Marshal(), []bundle.SecretInfo{b, a}, "", ""},
		{"none", nil, []bundle.SecretInfo{a, b}, "clawdinator-1", bundle.StatementEntry + ": missing: this bundle was made before bundles carried a statement"},
		{"unreadable", []byte(`{"format":"other"}`), []bundle.SecretInfo{a, b}, "clawdinator-1", bundle.StatementEntry + ": "},
		{"another instance", with(func(s *manifest.Statement) { s.Instance = "clawdinator-2" }), []bundle.SecretInfo{a, b}, "clawdinator-1",
			`is the statement of instance "clawdinator-2" at "bootstrap/clawdinator-1", not of "clawdinator-1" at "bootstrap/clawdinator-1"`},
		{"another prefix", with(func(s *manifest.Statement) { s.BootstrapPrefix = "bootstrap/clawdinator-2" }), []bundle.SecretInfo{a, b}, "",
			`not of "clawdinator-1" at "bootstrap/clawdinator-1": a bundle copied from another instance`},
		{"seeds elsewhere", with(func(s *manifest.Statement) { s.RepoSeeds.Key = "bootstrap/clawdinator-2/repo-seeds.tar.zst" }), []bundle.SecretInfo{a, b}, "clawdinator-1",
			"names repo-seeds at bootstrap/clawdinator-2/repo-seeds.tar.zst, not bootstrap/clawdinator-1/repo-seeds.tar.zst"},
		{"secret not listed", good.Marshal(), []bundle.SecretInfo{a, b, {Name: "c.age", Size: 1, SHA256: sum("c")}}, "clawdinator-1",
			"secrets/c.age: is in the archive but not in its statement"},
		{"listed secret missing", good.Marshal(), []bundle.SecretInfo{a}, "clawdinator-1",
			"secrets/b.age: is listed in the statement but missing from the archive"},
		{"secret differs", good.Marshal(), []bundle.SecretInfo{a, {Name: "b.age", Size: 2, SHA256: sum("e")}}, "clawdinator-1",
			"secrets/b.age: differs from what the statement lists (sha256 eeeeeeeeeeee, the statement says bbbbbbbbbbbb)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, probs := statement(&bundle.SecretsContents{Secrets: tc.secrets, Statement: tc.statement}, tc.instance, "bootstrap/clawdinator-1")
			var lines []string
			for _, p := range probs {
				lines = append(lines, p.String())
			}
			got := strings.Join(lines, "\n")
			switch {
			case tc.want == "" && (probs.HasErrors() || st == nil || st.Instance != "clawdinator-1"):
				t.Errorf("not proven: %v\n%s", st, got)
			case tc.want != "" && (!probs.HasErrors() || !strings.Contains(got, tc.want)):
				t.Errorf("problems:\n%s\nwant one holding %q", got, tc.want)
			}
		})
	}
}
