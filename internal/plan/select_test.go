package plan_test

import (
	"slices"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/plan"
)

func selectedNames(in []plan.Instance) []string {
	var out []string
	for _, i := range in {
		out = append(out, i.Name)
	}
	return out
}

// Select is what plan mode fans out over and verify checks: the selection
// of Build, and the refusals Build would make that need no secrets
// directory. For every case, Build on a directory holding every file must
// agree: Select never finds no error in an instance set that publish would
// refuse for the same reason, nor an error in one that publish would take.
// A refused selection still names the instances it selects (verify checks
// them).
func TestSelect(t *testing.T) {
	all := []string{"clawdinator-1", "clawdinator-babelfish"}
	for _, tc := range []struct {
		name string
		pol  plan.Policy
		want []string // selected
		msg  string   // an error holds it: refused
	}{
		{name: "all", pol: plan.Policy{}, want: all},
		{name: "one", pol: plan.Policy{Only: []string{"clawdinator-babelfish"}}, want: []string{"clawdinator-babelfish"}},
		{name: "order of the file, not of the selection", pol: plan.Policy{Only: []string{"clawdinator-babelfish", " clawdinator-1"}}, want: all},
		{name: "unknown name", pol: plan.Policy{Only: []string{"clawdinator-1", "clawdinator-9"}}, want: []string{"clawdinator-1"}, msg: "instance clawdinator-9: not in the instances file"},
		{name: "token is a required secret", pol: plan.Policy{Required: []string{"babelfish-bot-token"}, Only: []string{"clawdinator-1"}},
			want: []string{"clawdinator-1"}, msg: `instance clawdinator-babelfish: i.json: discordTokenSecret "babelfish-bot-token" of instance clawdinator-babelfish is also a required secret`},
		{name: "token is excluded", pol: plan.Policy{Exclude: []string{"babelfish-*"}, Only: []string{"clawdinator-1"}},
			want: []string{"clawdinator-1"}, msg: `instance clawdinator-babelfish: i.json: discordTokenSecret "babelfish-bot-token" of instance clawdinator-babelfish matches exclude-secrets "babelfish-*"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, probs := plan.Select(fleet, "i.json", tc.pol)
			if !slices.Equal(selectedNames(got), tc.want) {
				t.Errorf("selected %v, want %v\n%s", selectedNames(got), tc.want, render(probs))
			}
			if tc.msg == "" && len(probs) > 0 || tc.msg != "" && !probs.HasErrors() {
				t.Errorf("problems:\n%s", render(probs))
			}
			if _, ok := find(probs, tc.msg); tc.msg != "" && !ok {
				t.Errorf("no problem holds %q:\n%s", tc.msg, render(probs))
			}

			dir := secretsDir(t, "clawdinator-discord-token-1.age", "babelfish-bot-token.age", "common.age")
			p, bprobs := plan.Build(fleet, dir, tc.pol)
			refused := tc.msg != ""
			if bprobs.HasErrors() != refused {
				t.Errorf("Build disagrees: errors %v, Select refused %v\n%s", bprobs.HasErrors(), refused, render(bprobs))
			}
			if !refused {
				var built []string
				for _, ip := range p.Instances {
					built = append(built, ip.Name)
				}
				if !slices.Equal(built, tc.want) {
					t.Errorf("Build planned %v, Select %v", built, tc.want)
				}
			}
		})
	}
}
