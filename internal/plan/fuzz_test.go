package plan_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/openclaw/clawdinator-bundle/internal/plan"
)

// FuzzParseInstances: ParseInstances never panics, and every instance it
// returns is safe to use as a bucket prefix and a file name, however odd the
// input.
func FuzzParseInstances(f *testing.F) {
	fleet, err := os.ReadFile(filepath.Join("testdata", "instances.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(fleet), "", "{}", "null", "[]", `{"a":null}`, `{"a":{}}`,
		`{"a":{"discordTokenSecret":"t"}}`,
		`{"a":{"bootstrapPrefix":"/x","discordTokenSecret":"t"}}`,
		`{"a":{"bootstrapPrefix":"x/../../y","discordTokenSecret":"t"}}`,
		`{"a":{"bootstrapPrefix":"x/..//","discordTokenSecret":"t"}}`,
		`{"a":{"bootstrapPrefix":"..","discordTokenSecret":"t"}}`,
		`{"a":{"bootstrapPrefix":"x\\..","discordTokenSecret":"t"}}`,
		`{"a":{"discordTokenSecret":"t"},"b":{"discordTokenSecret":"t.age"}}`,
		`{"a":{"bootstrapPrefix":"p/","discordTokenSecret":"t"},"b":{"bootstrapPrefix":"p","discordTokenSecret":"u"}}`,
		`{"a":{"bootstrapPrefix":"p","discordTokenSecret":"t"},"b":{"bootstrapPrefix":"p//","discordTokenSecret":"u"}}`,
		`{"..":{"discordTokenSecret":"t"}}`, `{"a":{"discordTokenSecret":"../k"}}`,
		`{"a":{"bootstrapPrefix":"x/...","discordTokenSecret":".."}}`,
		`{"a":{"discordTokenSecret":"x"},"b":{"discordTokenSecret":"X.age"}}`,
		`{"a":{"discordTokenSecret":"x"},"b":{"discordTokenSecret":"x.age.age"}}`,
		`{"a":{"bootstrapPrefix":"p","discordTokenSecret":"t"},"b":{"bootstrapPrefix":"P/manifest.json","discordTokenSecret":"u"}}`,
		`{"a":{"discordTokenSecret":"t"},"a":{"discordTokenSecret":"u"}}`,
		`{"a\n":{"bootstrapPrefix":" p\u0085","discordTokenSecret":"t\u007f"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, probs := plan.ParseInstances(data, "f.json")
		if len(got) == 0 && len(probs) == 0 {
			t.Fatal("no instances and no problem")
		}
		for _, p := range probs {
			if strings.ContainsFunc(p.String(), unicode.IsControl) {
				t.Fatalf("problem holds a raw control character: %q", p.String())
			}
		}
		for i, a := range got {
			for _, b := range got[i+1:] {
				if strings.EqualFold(a.TokenFile(), b.TokenFile()) {
					t.Fatalf("instances %q and %q share a token file ignoring case", a.Name, b.Name)
				}
				pa, pb := strings.ToLower(a.BootstrapPrefix)+"/", strings.ToLower(b.BootstrapPrefix)+"/"
				if strings.HasPrefix(pa, pb) || strings.HasPrefix(pb, pa) {
					t.Fatalf("prefixes %q and %q are equal or nested", a.BootstrapPrefix, b.BootstrapPrefix)
				}
			}
			for _, s := range []string{a.Name, a.BootstrapPrefix, a.TokenFile()} {
				if s != strings.TrimSpace(s) || strings.ContainsFunc(s, unicode.IsControl) {
					t.Fatalf("instance %q: %q has edge whitespace or a control character", a.Name, s)
				}
			}
			if strings.HasSuffix(strings.ToLower(a.DiscordTokenSecret), ".age") {
				t.Fatalf("instance %q: token %q keeps a .age suffix", a.Name, a.DiscordTokenSecret)
			}
		}
		tokens, prefixes := map[string]bool{}, map[string]bool{}
		for _, in := range got {
			p := in.BootstrapPrefix
			if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) {
				t.Fatalf("instance %q: unsafe prefix %q", in.Name, p)
			}
			// No empty segment either: "p/" and "p" would be one S3 prefix,
			// so two instances could overwrite each other's bundles.
			for _, seg := range strings.Split(p, "/") {
				if seg == ".." || seg == "." || seg == "" {
					t.Fatalf("instance %q: prefix %q has segment %q", in.Name, p, seg)
				}
			}
			tok := in.TokenFile()
			if strings.ContainsAny(tok, `/\`) || strings.HasPrefix(tok, ".") || tok == ".age" {
				t.Fatalf("instance %q: token file %q is not a plain file name", in.Name, tok)
			}
			if in.Name == "" || in.Name == "." || in.Name == ".." || strings.ContainsAny(in.Name, `/\`) {
				t.Fatalf("unsafe instance name %q", in.Name)
			}
			if tokens[tok] || prefixes[p] {
				t.Fatalf("instance %q shares a token or prefix with another", in.Name)
			}
			tokens[tok], prefixes[p] = true, true
		}
		if !slices.IsSortedFunc(got, func(a, b plan.Instance) int { return strings.Compare(a.Name, b.Name) }) {
			t.Fatal("instances are not sorted by name")
		}
	})
}
