package plan

import (
	"strings"

	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// Select returns the instances pol selects (all when pol.Only is empty),
// in the order of the instances file, with every problem of the instance
// list and the policy that can be found without the secrets directory: a
// name in pol.Only that is not an instance, a required secret that is an
// instance's token, and a token that an exclude glob matches. Build
// reports the same problems about the files of a secrets directory; here
// file, the instances file, is what they are about.
//
// When any problem is an error the plan is wrong, and what the caller may
// do with the instances it still selects depends on the caller: plan mode
// lists none and publish builds none (Build refuses), while verify checks
// them all the same, to report everything it can in one run.
func Select(instances []Instance, file string, pol Policy) ([]Instance, problem.List) {
	selected, probs := filter(instances, pol.Only)
	required := map[string]bool{}
	for _, r := range pol.Required {
		required[AgeName(strings.TrimSpace(r))] = true
	}
	// Every instance, selected or not, as Build does: the instances file is
	// wrong either way.
	for _, in := range instances {
		if required[in.TokenFile()] {
			probs.Errorf(in.Name, file, "discordTokenSecret %q of instance %s is also a required secret: a token goes to its own instance only, so the others would miss it", in.DiscordTokenSecret, in.Name)
		}
		if g := matchingGlob(in.TokenFile(), pol.Exclude); g != "" {
			probs.Errorf(in.Name, file, "discordTokenSecret %q of instance %s matches exclude-secrets %q: excluded secrets are CI-only and never ship to a host; name the instance's own token or narrow the glob", in.DiscordTokenSecret, in.Name, g)
		}
	}
	return selected, probs
}
