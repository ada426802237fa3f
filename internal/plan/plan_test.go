package plan_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

func render(probs problem.List) string {
	var b strings.Builder
	for _, p := range probs {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

// find returns the problem whose text holds every want.
func find(probs problem.List, want ...string) (problem.Problem, bool) {
next:
	for _, p := range probs {
		for _, w := range want {
			if !strings.Contains(p.String(), w) {
				continue next
			}
		}
		return p, true
	}
	return problem.Problem{}, false
}

// TestParseFleetFile parses the fleet's real instances.json (testdata is a
// copy): host and instanceType are unknown keys that must be tolerated.
func TestParseFleetFile(t *testing.T) {
	got, probs := plan.LoadInstances(filepath.Join("testdata", "instances.json"))
	if len(probs) > 0 {
		t.Fatalf("problems:\n%s", render(probs))
	}
	want := []plan.Instance{
		{Name: "clawdinator-1", BootstrapPrefix: "bootstrap/clawdinator-1", DiscordTokenSecret: "clawdinator-discord-token-1"},
		{Name: "clawdinator-2", BootstrapPrefix: "bootstrap/clawdinator-2", DiscordTokenSecret: "clawdinator-discord-token-2"},
		{Name: "clawdinator-babelfish", BootstrapPrefix: "bootstrap/clawdinator-babelfish", DiscordTokenSecret: "clawdinator-discord-token-babelfish"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if tf := got[2].TokenFile(); tf != "clawdinator-discord-token-babelfish.age" {
		t.Errorf("TokenFile = %q", tf)
	}
}

func TestParseDefaultsAndNormalization(t *testing.T) {
	got, probs := plan.ParseInstances([]byte(`{
		"zeta": {"discordTokenSecret": "zeta-token.age", "host": "z", "tags": ["a"], "nested": {"x": 1}},
		"alpha": {"bootstrapPrefix": "fleet/alpha/", "discordTokenSecret": "alpha-token"}
	}`), "i.json")
	if len(probs) > 0 {
		t.Fatalf("problems:\n%s", render(probs))
	}
	want := []plan.Instance{
		{Name: "alpha", BootstrapPrefix: "fleet/alpha", DiscordTokenSecret: "alpha-token"},
		{Name: "zeta", BootstrapPrefix: "bootstrap/zeta", DiscordTokenSecret: "zeta-token"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseBad(t *testing.T) {
	tok := func(n string) string { return `"discordTokenSecret": "tok-` + n + `"` }
	cases := []struct {
		name, json string
		want       []string // substrings of one problem
		keep       int      // instances still returned
	}{
		{"empty", "", []string{"i.json", "empty"}, 0},
		{"whitespace", " \n\t", []string{"i.json", "empty"}, 0},
		{"invalid", `{"a": {`, []string{"i.json", "invalid JSON"}, 0},
		{"array", `[{"name": "a"}]`, []string{"i.json", "invalid JSON"}, 0},
		{"empty object", `{}`, []string{"no instances"}, 0},
		{"null", `null`, []string{"no instances"}, 0},
		{"entry not an object", `{"a": "bootstrap/a", "b": {` + tok("b") + `}}`, []string{"instance a", "not an object"}, 1},
		{"field not a string", `{"a": {"discordTokenSecret": 1}}`, []string{"instance a", "not an object with string fields"}, 0},
		{"bad name", `{"a/b": {` + tok("a") + `}}`, []string{"instance a/b", "letters, digits"}, 0},
		{"dotdot name", `{"..": {` + tok("a") + `}}`, []string{"instance ..", "letters, digits"}, 0},
		{"absolute prefix", `{"a": {"bootstrapPrefix": "/bootstrap/a", ` + tok("a") + `}}`, []string{"instance a", "absolute"}, 0},
		{"dotdot prefix", `{"a": {"bootstrapPrefix": "bootstrap/../../b", ` + tok("a") + `}}`, []string{"instance a", "'..'"}, 0},
		{"leading dotdot prefix", `{"a": {"bootstrapPrefix": "../b", ` + tok("a") + `}}`, []string{"instance a", "'..'"}, 0},
		{"dot prefix", `{"a": {"bootstrapPrefix": "bootstrap/./a", ` + tok("a") + `}}`, []string{"instance a", "'.'"}, 0},
		{"empty prefix", `{"a": {"bootstrapPrefix": "", ` + tok("a") + `}}`, []string{"instance a", "is empty"}, 0},
		{"slash prefix", `{"a": {"bootstrapPrefix": "/", ` + tok("a") + `}}`, []string{"instance a", "is empty"}, 0},
		{"double slash", `{"a": {"bootstrapPrefix": "bootstrap//a", ` + tok("a") + `}}`, []string{"instance a", "empty path segment"}, 0},
		{"backslash", `{"a": {"bootstrapPrefix": "bootstrap\\..\\a", ` + tok("a") + `}}`, []string{"instance a", "backslash"}, 0},
		{"missing token", `{"a": {"bootstrapPrefix": "bootstrap/a"}}`, []string{"instance a", "discordTokenSecret is missing"}, 0},
		{"blank token", `{"a": {"discordTokenSecret": "  "}}`, []string{"instance a", "discordTokenSecret is missing"}, 0},
		{"token path", `{"a": {"discordTokenSecret": "../clawdinator.agekey"}}`, []string{"instance a", "plain file name"}, 0},
		{"token only .age", `{"a": {"discordTokenSecret": ".age"}}`, []string{"instance a", "plain file name"}, 0},
		{"duplicate token", `{"a": {` + tok("x") + `}, "b": {` + tok("x") + `}}`, []string{"instance b", "also used by instance a"}, 1},
		{"duplicate token modulo .age", `{"a": {"discordTokenSecret": "t"}, "b": {"discordTokenSecret": "t.age"}}`, []string{"instance b", "also used by instance a"}, 1},
		{"duplicate prefix by trailing slashes", `{"a": {"bootstrapPrefix": "p", ` + tok("a") + `}, "b": {"bootstrapPrefix": "p//", ` + tok("b") + `}}`, []string{"instance b", "also used by instance a"}, 1},
		{"duplicate prefix", `{"a": {"bootstrapPrefix": "p", ` + tok("a") + `}, "b": {"bootstrapPrefix": "p/", ` + tok("b") + `}}`, []string{"instance b", "also used by instance a"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, probs := plan.ParseInstances([]byte(tc.json), "i.json")
			p, ok := find(probs, tc.want...)
			if !ok {
				t.Fatalf("no problem holds %q; got:\n%s", tc.want, render(probs))
			}
			if p.Severity != problem.Error {
				t.Errorf("problem is not an error: %v", p)
			}
			if len(got) != tc.keep {
				t.Errorf("returned %d instances, want %d: %+v", len(got), tc.keep, got)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "instances.json")
	got, probs := plan.LoadInstances(missing)
	if got != nil {
		t.Fatalf("got %v", got)
	}
	if _, ok := find(probs, missing, "cannot read instances file", "no such file"); !ok {
		t.Fatalf("problems:\n%s", render(probs))
	}
}

// secretsDir creates an .age file (contents irrelevant: planning never
// reads them) for each name.
func secretsDir(t *testing.T, names ...string) string {
	t.Helper()
	d := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(d, n), []byte("age-encryption.org/v1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func names(ip plan.InstancePlan) []string {
	var out []string
	for _, s := range ip.Secrets {
		out = append(out, s.Name)
	}
	return out
}

var fleet = []plan.Instance{
	{Name: "clawdinator-1", BootstrapPrefix: "bootstrap/clawdinator-1", DiscordTokenSecret: "clawdinator-discord-token-1"},
	// A token whose name does not follow clawdinator-discord-token-*: it
	// is still a token, and only its owner may receive it.
	{Name: "clawdinator-babelfish", BootstrapPrefix: "bootstrap/clawdinator-babelfish", DiscordTokenSecret: "babelfish-bot-token"},
}

func TestBuildTokens(t *testing.T) {
	dir := secretsDir(t,
		"a.age", "b.age",
		"clawdinator-discord-token-1.age", "babelfish-bot-token.age",
		"clawdinator-discord-token-retired.age", // no owner: nobody gets it
		"clawdinator-image-bucket-name.age",
	)
	p, probs := plan.Build(fleet, dir, plan.Policy{Required: []string{"a", "b.age"}, Exclude: plan.DefaultExclude})
	if len(probs.Errors()) > 0 || p == nil {
		t.Fatalf("problems:\n%s", render(probs))
	}
	if p.SecretsDir != dir || len(p.Instances) != 2 {
		t.Fatalf("plan = %+v", p)
	}
	want := map[string][]string{
		"clawdinator-1":         {"a.age", "b.age", "clawdinator-discord-token-1.age"},
		"clawdinator-babelfish": {"a.age", "b.age", "babelfish-bot-token.age"},
	}
	for _, ip := range p.Instances {
		if got := names(ip); !slices.Equal(got, want[ip.Name]) {
			t.Errorf("%s gets %v, want %v", ip.Name, got, want[ip.Name])
		}
		for _, s := range ip.Secrets {
			if s.Path != filepath.Join(dir, s.Name) {
				t.Errorf("%s: path %q", s.Name, s.Path)
			}
		}
	}
	var files []string
	for _, s := range p.Files() {
		files = append(files, s.Name)
	}
	if w := []string{"a.age", "b.age", "babelfish-bot-token.age", "clawdinator-discord-token-1.age"}; !slices.Equal(files, w) {
		t.Errorf("Files = %v, want %v", files, w)
	}

	// The excluded file is a warning that names it, not an error.
	warns := probs.Warnings()
	if len(warns) != 1 || warns[0].File != filepath.Join(dir, "clawdinator-image-bucket-name.age") || !strings.Contains(warns[0].Message, "excluded") {
		t.Errorf("warnings:\n%s", render(warns))
	}
}

func TestBuildOnly(t *testing.T) {
	dir := secretsDir(t, "a.age", "clawdinator-discord-token-1.age") // babelfish's token is missing
	p, probs := plan.Build(fleet, dir, plan.Policy{Only: []string{" clawdinator-1 ", ""}})
	if len(probs) > 0 {
		t.Fatalf("an unselected instance's missing token was reported:\n%s", render(probs))
	}
	if len(p.Instances) != 1 || p.Instances[0].Name != "clawdinator-1" {
		t.Fatalf("plan = %+v", p.Instances)
	}

	p, probs = plan.Build(fleet, dir, plan.Policy{Only: []string{"clawdinator-1", "clawdinator-3"}})
	pr, ok := find(probs, "instance clawdinator-3", "not in the instances file")
	if !ok || pr.Severity != problem.Error {
		t.Fatalf("problems:\n%s", render(probs))
	}
	// The partial plan is returned so that the gate can check its files.
	if p == nil || len(p.Instances) != 1 {
		t.Fatalf("plan = %+v", p)
	}
}

func TestBuildProblems(t *testing.T) {
	dir := secretsDir(t, "a.age", "clawdinator-discord-token-1.age", "notes.txt")
	if err := os.Mkdir(filepath.Join(dir, "old.age"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.age", filepath.Join(dir, "link.age")); err != nil {
		t.Fatal(err)
	}
	_, probs := plan.Build(fleet, dir, plan.Policy{Required: []string{"a.age", "c", " "}})
	for _, want := range [][]string{
		{filepath.Join(dir, "notes.txt"), "not an .age file"},
		{filepath.Join(dir, "old.age"), "is a directory"},
		{filepath.Join(dir, "link.age"), "is a symlink"},
		{filepath.Join(dir, "c.age"), "required secret is missing"},
		{"instance clawdinator-babelfish", filepath.Join(dir, "babelfish-bot-token.age"), "discord token"},
	} {
		if _, ok := find(probs, want...); !ok {
			t.Errorf("no problem holds %q", want)
		}
	}
	if n := len(probs.Errors()); n != 5 {
		t.Errorf("want 5 problems, got %d:\n%s", n, render(probs))
	}

	p, probs := plan.Build(fleet, filepath.Join(dir, "missing"), plan.Policy{})
	if p != nil {
		t.Fatal("plan for an unreadable directory")
	}
	if _, ok := find(probs, "cannot read secrets directory"); !ok {
		t.Fatalf("problems:\n%s", render(probs))
	}
}

func TestAgeNameAndGlobs(t *testing.T) {
	for in, want := range map[string]string{"a": "a.age", "a.age": "a.age", "a.pem": "a.pem.age"} {
		if got := plan.AgeName(in); got != want {
			t.Errorf("AgeName(%q) = %q, want %q", in, got, want)
		}
	}
	if err := plan.ValidateGlobs(plan.DefaultExclude); err != nil {
		t.Error(err)
	}
	if err := plan.ValidateGlobs([]string{"ok-*.age", "bad-[.age"}); err == nil || !strings.Contains(err.Error(), "bad-[.age") {
		t.Errorf("ValidateGlobs = %v, want an error naming the bad glob", err)
	}
}

// TestBuildTokenIsRequired: an instance whose discordTokenSecret names a
// required secret (a copy-paste slip) would take that secret away from
// every other instance, and publish would verify those bundles against the
// same short plan. Every planned instance must hold every required secret.
func TestBuildTokenIsRequired(t *testing.T) {
	dir := secretsDir(t, "a.age", "clawdinator-control-token.age", "babelfish-bot-token.age")
	instances := []plan.Instance{
		{Name: "clawdinator-1", BootstrapPrefix: "bootstrap/clawdinator-1", DiscordTokenSecret: "clawdinator-control-token"},
		fleet[1],
	}
	_, probs := plan.Build(instances, dir, plan.Policy{Required: []string{"a", "clawdinator-control-token"}})
	if _, ok := find(probs, "clawdinator-control-token.age", "clawdinator-1"); !ok || len(probs.Errors()) == 0 {
		t.Fatalf("a token naming a required secret was planned:\n%s", render(probs))
	}
}

// A required secret that an exclude glob also matches is a contradiction in
// the configuration: say so, rather than call a present file missing.
func TestBuildRequiredExcluded(t *testing.T) {
	dir := secretsDir(t, "clawdinator-image-x.age", "clawdinator-discord-token-1.age", "babelfish-bot-token.age")
	_, probs := plan.Build(fleet, dir, plan.Policy{Required: []string{"clawdinator-image-x"}, Exclude: []string{"clawdinator-image-*.age"}})
	if _, ok := find(probs, "clawdinator-image-x.age", "required secret is excluded by exclude-secrets"); !ok {
		t.Fatalf("problems:\n%s", render(probs))
	}
}

// TestParseNameCharacters: an instance name is letters, digits, '-', '_'
// and '.', the first and last of each range included; the neighbours of
// each range are refused.
func TestParseNameCharacters(t *testing.T) {
	cases := []struct {
		name  string
		valid bool
	}{
		{"a", true}, {"z", true}, {"A", true}, {"Z", true}, {"0", true}, {"9", true},
		{"Host-9_Z.a0", true}, {".hidden", true},
		{"`", false}, {"{", false}, // around a-z
		{"@", false}, {"[", false}, // around A-Z
		{"/", false}, {":", false}, // around 0-9
		{"é", false}, {"a b", false}, {".", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := `{"` + tc.name + `": {"discordTokenSecret": "tok"}}`
			got, probs := plan.ParseInstances([]byte(data), "i.json")
			if tc.valid {
				if len(probs) > 0 || len(got) != 1 || got[0].Name != tc.name {
					t.Fatalf("valid name %q: got %+v, problems:\n%s", tc.name, got, render(probs))
				}
				if got[0].BootstrapPrefix != "bootstrap/"+tc.name {
					t.Errorf("BootstrapPrefix = %q", got[0].BootstrapPrefix)
				}
				return
			}
			if len(got) != 0 {
				t.Errorf("invalid name %q was accepted: %+v", tc.name, got)
			}
			if _, ok := find(probs, "instance "+tc.name, "letters, digits"); !ok {
				t.Errorf("no problem names %q; got:\n%s", tc.name, render(probs))
			}
		})
	}
}
