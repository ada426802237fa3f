package gate_test

import (
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
)

// TestSequenceRule: max(start, proven current + 1), at least 1; the same
// statement but for its sequence keeps the current number; a v1 current
// statement counts as 0 and never as the same.
func TestSequenceRule(t *testing.T) {
	sum := strings.Repeat("a", 64)
	st := manifest.Statement{
		Instance: "i", BootstrapPrefix: "bootstrap/i",
		Secrets:   []bundle.SecretInfo{{Name: "a.age", Size: 1, SHA256: sum}},
		RepoSeeds: manifest.Seeds{Key: "bootstrap/i/repo-seeds.tar.zst", Size: 1, SHA256: sum, TarSHA256: sum, ContentSHA256: sum},
	}
	cur := func(seq uint64, edit func(*manifest.Statement)) *manifest.Statement {
		c := st
		c.Format, c.Sequence = manifest.StatementFormat, seq
		if edit != nil {
			edit(&c)
		}
		return &c
	}
	other := func(c *manifest.Statement) { c.Secrets = []bundle.SecretInfo{{Name: "b.age", Size: 1, SHA256: sum}} }
	v1 := func(c *manifest.Statement) { c.Format = manifest.StatementFormatV1 }
	for _, tc := range []struct {
		name  string
		floor uint64
		cur   *manifest.Statement
		want  uint64
	}{
		{"no current", 500, nil, 500},
		{"no current, no clock", 0, nil, 1},
		{"unchanged keeps its number", 900, cur(700, nil), 700},
		{"unchanged keeps its number, clock behind", 100, cur(700, nil), 700},
		{"changed, clock ahead", 900, cur(700, other), 900},
		{"changed, clock behind", 100, cur(700, other), 701},
		{"changed, clock equal", 700, cur(700, other), 701},
		{"another seeds content", 100, cur(700, func(c *manifest.Statement) { c.RepoSeeds.ContentSHA256 = strings.Repeat("b", 64) }), 701},
		{"a v1 current is 0", 0, cur(0, v1), 1},
		{"a v1 current is never the same", 500, cur(0, v1), 500},
	} {
		if got := gate.Sequence(tc.floor, st, tc.cur); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
