package plan_test

import (
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/plan"
)

// A bundle may hold its own token even where a glob would match it; never
// another instance's token, a name shaped like one, or an excluded secret.
func TestForbidden(t *testing.T) {
	one := plan.Instance{Name: "clawdinator-1", DiscordTokenSecret: "clawdinator-discord-token-1"}
	two := plan.Instance{Name: "clawdinator-2", DiscordTokenSecret: "other-token"}
	rule := plan.Forbidden([]plan.Instance{one, two}, one, []string{"ci-*.age"})
	for _, tc := range []struct{ name, want string }{
		{"clawdinator-discord-token-1.age", ""},
		{"common.age", ""},
		{"other-token.age", "it is the discord token of instance clawdinator-2"},
		{"clawdinator-discord-token-9.age", "it is another instance's discord token"},
		{"ci-deploy.age", "it matches exclude-secrets ci-*.age"},
	} {
		if got := rule(tc.name); got != tc.want {
			t.Errorf("Forbidden(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
	// The token of the instance whose bundle it is, though excluded, is
	// not this rule's to refuse.
	if got := plan.Forbidden([]plan.Instance{one}, one, []string{"clawdinator-*"})(one.TokenFile()); got != "" {
		t.Errorf("own token forbidden: %q", got)
	}
}
