package plan_test

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// gateCase is one instances.json that planning must refuse: the problem's
// Instance subject is instance exactly, its File is i.json and its message
// holds msg; keep instances are still returned.
type gateCase struct {
	name, json string
	instance   string
	msg        string
	keep       int
}

func runGate(t *testing.T, cases []gateCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, probs := plan.ParseInstances([]byte(tc.json), "i.json")
			var hit *problem.Problem
			for i, p := range probs {
				if p.Instance == tc.instance && strings.Contains(p.Message, tc.msg) {
					hit = &probs[i]
				}
			}
			if hit == nil {
				t.Fatalf("no problem about instance %q holds %q; got:\n%s", tc.instance, tc.msg, render(probs))
			}
			if hit.Severity != problem.Error || hit.File != "i.json" {
				t.Errorf("problem %+v: want an error about file i.json", *hit)
			}
			for _, p := range probs {
				for _, r := range p.String() {
					if unicode.IsControl(r) {
						t.Errorf("problem holds a raw control character %U: %q", r, p.String())
					}
				}
			}
			if len(got) != tc.keep {
				t.Errorf("returned %d instances, want %d: %+v", len(got), tc.keep, got)
			}
		})
	}
}

func tokens(a, b string) string {
	return `{"a": {"discordTokenSecret": "` + a + `"}, "b": {"discordTokenSecret": "` + b + `"}}`
}

// TestParseTokenSameFile: two instances whose tokens are one file, by any
// spelling, and spellings that are not a plain file name.
func TestParseTokenSameFile(t *testing.T) {
	also := "is also used by instance a"
	space := "holds whitespace or a control character"
	runGate(t, []gateCase{
		{"case", tokens("x", "X"), "b", also, 1},
		{"case with .age", tokens("x.age", "X"), "b", also, 1},
		{"case mixed", tokens("Clawdinator-Discord-Token-1", "clawdinator-discord-token-1.age"), "b", also, 1},
		{"doubled .age", tokens("x", "x.age.age"), "b", "ends in .age twice", 1},
		{"doubled .age alone", `{"a": {"discordTokenSecret": "x.age.age"}}`, "a", "ends in .age twice", 0},
		{"doubled .AGE", `{"a": {"discordTokenSecret": "x.AGE.age"}}`, "a", "ends in .age twice", 0},
		{"upper .AGE", `{"a": {"discordTokenSecret": "x.AGE"}}`, "a", "the suffix is .age, lowercase", 0},
		{"leading space", tokens("x", " x"), "b", space, 1},
		{"trailing space", tokens("x", "x "), "b", space, 1},
		{"inner space", `{"a": {"discordTokenSecret": "x y"}}`, "a", space, 0},
		{"newline", `{"a": {"discordTokenSecret": "x\n"}}`, "a", space, 0},
		{"tab", `{"a": {"discordTokenSecret": "x\ty"}}`, "a", space, 0},
		{"DEL", `{"a": {"discordTokenSecret": "x\u007f"}}`, "a", space, 0},
		{"C1", `{"a": {"discordTokenSecret": "x\u009b"}}`, "a", space, 0},
		{"NBSP", `{"a": {"discordTokenSecret": "x\u00a0"}}`, "a", space, 0},
		{"zero width", `{"a": {"discordTokenSecret": "x\u200b"}}`, "a", space, 0},
	})
}

// TestParseTokenPathTricks: path spellings of a token were refused before
// the gate checks too; this keeps them refused (it does not fail without
// them).
func TestParseTokenPathTricks(t *testing.T) {
	plain := "must be a plain file name"
	runGate(t, []gateCase{
		{"dot slash", tokens("x", "./x"), "b", plain, 1},
		{"dotdot path", tokens("x", "a/../x"), "b", plain, 1},
		{"backslash", tokens("x", `a\\x`), "b", plain, 1},
		{"dot", `{"a": {"discordTokenSecret": "."}}`, "a", plain, 0},
		{"dotdot", `{"a": {"discordTokenSecret": ".."}}`, "a", plain, 0},
		{"dotdot.age", `{"a": {"discordTokenSecret": "...age"}}`, "a", plain, 0},
		{"hidden", `{"a": {"discordTokenSecret": ".x"}}`, "a", plain, 0},
	})
}

func prefixes(a, b string) string {
	return `{"a": {"bootstrapPrefix": "` + a + `", "discordTokenSecret": "ta"}, "b": {"bootstrapPrefix": "` + b + `", "discordTokenSecret": "tb"}}`
}

// TestParsePrefixNested: a prefix equal to another or under it at a "/"
// boundary would put one instance's objects among the other's.
func TestParsePrefixNested(t *testing.T) {
	under := `is nested under the prefix "p" of instance a`
	runGate(t, []gateCase{
		{"manifest", prefixes("p", "p/manifest.json"), "b", under, 1},
		{"secrets", prefixes("p", "p/secrets.tar.zst"), "b", under, 1},
		{"seeds", prefixes("p", "p/repo-seeds.tar.zst"), "b", under, 1},
		{"deeper", prefixes("p", "p/x/y"), "b", under, 1},
		{"case", prefixes("p", "P/x"), "b", under, 1},
		{"holds", prefixes("p/x", "p"), "b", `holds the prefix "p/x" of instance a`, 1},
		{"default under explicit", `{"a": {"bootstrapPrefix": "bootstrap", "discordTokenSecret": "ta"}, "b": {"discordTokenSecret": "tb"}}`, "b", `nested under the prefix "bootstrap" of instance a`, 1},
		{"equal ignoring case", prefixes("fleet/p", "Fleet/P"), "b", "is also used by instance a", 1},
	})
}

// TestParsePrefixSiblings: "p" and "px" share characters, not a boundary
// (a guard against refusing too much; it passed before the gate checks).
func TestParsePrefixSiblings(t *testing.T) {
	got, probs := plan.ParseInstances([]byte(prefixes("p", "px")), "i.json")
	if len(probs) > 0 || len(got) != 2 {
		t.Fatalf("got %+v, problems:\n%s", got, render(probs))
	}
}

// TestParseControlCharacters: names and prefixes with edge whitespace or a
// control character are refused, and the problem quotes them.
func TestParseControlCharacters(t *testing.T) {
	name := func(n string) string { return `{"` + n + `": {"discordTokenSecret": "t"}}` }
	prefix := func(p string) string { return `{"a": {"bootstrapPrefix": "` + p + `", "discordTokenSecret": "t"}}` }
	edge := "has leading or trailing whitespace"
	ctl := "holds a control character"
	runGate(t, []gateCase{
		{"name leading space", name(" a"), `" a"`, edge, 0},
		{"name trailing space", name("a "), `"a "`, edge, 0},
		{"name newline", name(`a\n`), `"a\n"`, edge, 0},
		{"name inner newline", name(`a\nb`), `"a\nb"`, ctl + " (U+000A)", 0},
		{"name carriage return", name(`a\rb`), `"a\rb"`, ctl + " (U+000D)", 0},
		{"name tab", name(`a\tb`), `"a\tb"`, ctl + " (U+0009)", 0},
		{"name NUL", name(`\u0000a`), `"\x00a"`, ctl + " (U+0000)", 0},
		{"name DEL", name("a\u007fb"), `"a\x7fb"`, ctl + " (U+007F)", 0},
		{"name C1", name(`a\u009bb`), `"a\u009bb"`, ctl + " (U+009B)", 0},
		{"name NEL", name(`a\u0085`), `"a\u0085"`, edge, 0},
		{"name ESC", name(`a\u001b[31mb`), `"a\x1b[31mb"`, ctl + " (U+001B)", 0},
		{"prefix leading space", prefix(" p"), "a", `bootstrapPrefix " p" ` + edge, 0},
		{"prefix trailing space", prefix("p "), "a", `bootstrapPrefix "p " ` + edge, 0},
		{"prefix space before slash", prefix("p /"), "a", `bootstrapPrefix "p " ` + edge, 0},
		{"prefix newline", prefix(`p\n`), "a", `bootstrapPrefix "p\n" holds a control or non-printing character (U+000A)`, 0},
		{"prefix tab", prefix(`p\tq`), "a", `"p\tq" holds a control`, 0},
		{"prefix CR", prefix(`p\r/q`), "a", `"p\r/q" holds a control`, 0},
		{"prefix DEL", prefix("p\u007f"), "a", `"p\x7f" holds a control`, 0},
		{"prefix C1", prefix(`p\u0085q`), "a", `"p\u0085q" holds a control`, 0},
	})
}

// TestParseDuplicateKeys: encoding/json keeps the last of repeated keys
// silently; planning refuses them.
func TestParseDuplicateKeys(t *testing.T) {
	runGate(t, []gateCase{
		{"twice", `{"a": {"discordTokenSecret": "t1"}, "a": {"discordTokenSecret": "t2"}}`, "a", "instance is defined 2 times in the instances file", 0},
		{"thrice among others", `{"a": {"discordTokenSecret": "t1"}, "b": {"discordTokenSecret": "tb"}, "a": {}, "a": {"discordTokenSecret": "t2"}}`, "a", "defined 3 times", 1},
		{"escaped spelling", `{"a": {"discordTokenSecret": "t1"}, "\u0061": {"discordTokenSecret": "t2"}}`, "a", "defined 2 times", 0},
		{"field", `{"a": {"bootstrapPrefix": "p", "bootstrapPrefix": "q", "discordTokenSecret": "t"}}`, "a", "field bootstrapPrefix is given 2 times", 0},
		{"field in another case", `{"a": {"discordTokenSecret": "t", "DiscordTokenSecret": "u"}}`, "a", "field discordTokenSecret is given 2 times", 0},
	})
}

// TestBuildExcludedToken: a discordTokenSecret that an exclude glob matches
// names a CI-only secret; it used to ship to its instance silently (however
// broad the glob), and is now refused, for every instance, selected or not.
func TestBuildExcludedToken(t *testing.T) {
	ci := plan.Instance{Name: "clawdinator-1", BootstrapPrefix: "bootstrap/clawdinator-1", DiscordTokenSecret: "clawdinator-image-uploader-secret-access-key"}
	cases := []struct {
		name     string
		fleet    []plan.Instance
		exclude  []string
		only     []string
		instance string
		file     string
		glob     string
		planned  []string
	}{
		{"default glob", []plan.Instance{ci, fleet[1]}, plan.DefaultExclude, nil, "clawdinator-1", "clawdinator-image-uploader-secret-access-key.age", "clawdinator-image-*.age", []string{"clawdinator-babelfish"}},
		{"unselected instance", []plan.Instance{ci, fleet[1]}, plan.DefaultExclude, []string{"clawdinator-babelfish"}, "clawdinator-1", "clawdinator-image-uploader-secret-access-key.age", "clawdinator-image-*.age", []string{"clawdinator-babelfish"}},
		{"broad glob", fleet, []string{" ", "ci-*.age", "*-token*.age"}, nil, "clawdinator-babelfish", "babelfish-bot-token.age", "*-token*.age", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := secretsDir(t, "a.age", "clawdinator-discord-token-1.age", "babelfish-bot-token.age", "clawdinator-image-uploader-secret-access-key.age")
			p, probs := plan.Build(tc.fleet, dir, plan.Policy{Exclude: tc.exclude, Only: tc.only})
			var hit bool
			for _, pr := range probs.Errors() {
				if pr.Instance == tc.instance && pr.File == filepath.Join(dir, tc.file) &&
					strings.Contains(pr.Message, "matches exclude-secrets \""+tc.glob+"\": excluded secrets are CI-only") {
					hit = true
				}
				if strings.Contains(pr.Message, "is missing") {
					t.Errorf("an excluded token is also called missing: %v", pr)
				}
			}
			if !hit {
				t.Fatalf("no refusal of %s's token %s; got:\n%s", tc.instance, tc.file, render(probs))
			}
			var planned []string
			for _, ip := range p.Instances {
				planned = append(planned, ip.Name)
				if slices.Contains(names(ip), tc.file) {
					t.Errorf("%s still gets %s", ip.Name, tc.file)
				}
			}
			if !slices.Equal(planned, tc.planned) {
				t.Errorf("planned %v, want %v", planned, tc.planned)
			}
		})
	}
}

// TestBuildFileNameControl: a file name in the secrets directory with a
// control character (or invalid UTF-8) is refused, quoted, with the
// directory as the subject.
func TestBuildFileNameControl(t *testing.T) {
	for _, name := range []string{"a\n.age", "a\r.age", "a\t.age", "\x1b[2Ja.age", "a\x7f.age", "a\u0085.age", "a\u009b.age", "a\xff.age", "notes\n.txt"} {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			dir := secretsDir(t, "clawdinator-discord-token-1.age", "babelfish-bot-token.age", name)
			p, probs := plan.Build(fleet, dir, plan.Policy{})
			errs := probs.Errors()
			if len(errs) != 1 || errs[0].File != dir || errs[0].Instance != "" ||
				!strings.Contains(errs[0].Message, "file name "+strconv.Quote(name)) {
				t.Fatalf("want one refusal about %s naming %s; got:\n%s", dir, strconv.Quote(name), render(probs))
			}
			if s := errs[0].String(); strings.ContainsFunc(s, unicode.IsControl) || !utf8.ValidString(s) {
				t.Errorf("problem holds the raw name: %q", s)
			}
			for _, ip := range p.Instances {
				if slices.Contains(names(ip), name) {
					t.Errorf("%s gets %q", ip.Name, name)
				}
			}
		})
	}
}

// TestBuildCaseCollision: two secret files whose names differ only in case
// are one file to a case-insensitive tool (an instance's token "x.age"
// beside a common "X.age" would reach every host as x.age there).
func TestBuildCaseCollision(t *testing.T) {
	dir := secretsDir(t, "a.age", "Clawdinator-Discord-Token-1.age", "clawdinator-discord-token-1.age", "babelfish-bot-token.age")
	_, probs := plan.Build(fleet, dir, plan.Policy{})
	errs := probs.Errors()
	if len(errs) != 1 || errs[0].File != filepath.Join(dir, "clawdinator-discord-token-1.age") ||
		!strings.Contains(errs[0].Message, "differs from Clawdinator-Discord-Token-1.age only in case") {
		t.Fatalf("got:\n%s", render(probs))
	}
}

// TestBuildOnlyQuoted: an --instances name with a control character is
// named quoted.
func TestBuildOnlyQuoted(t *testing.T) {
	dir := secretsDir(t, "clawdinator-discord-token-1.age", "babelfish-bot-token.age")
	_, probs := plan.Build(fleet, dir, plan.Policy{Only: []string{"clawdinator-1\x1b[2K"}})
	if len(probs) != 1 || probs[0].Instance != `"clawdinator-1\x1b[2K"` || !strings.Contains(probs[0].Message, "not in the instances file") {
		t.Fatalf("got:\n%s", render(probs))
	}
}
