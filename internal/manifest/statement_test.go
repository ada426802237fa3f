package manifest_test

import (
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
)

const (
	sumA = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0"
	sumB = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1"
	sumC = "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2"
)

func sample() manifest.Statement {
	return manifest.Statement{
		Instance: "clawdinator-1", BootstrapPrefix: "bootstrap/clawdinator-1",
		Secrets:   []bundle.SecretInfo{{Name: "z.age", Size: 3, SHA256: sumB}, {Name: "a.age", Size: 2, SHA256: sumA}},
		RepoSeeds: manifest.Seeds{Key: "bootstrap/clawdinator-1/repo-seeds.tar.zst", Size: 535, SHA256: sumC, TarSHA256: sumA},
	}
}

// The same statement gives the same bytes, whatever order the secrets came
// in, and parses back to itself.
func TestStatementRoundTrip(t *testing.T) {
	st := sample()
	data := st.Marshal()
	rev := sample()
	rev.Secrets[0], rev.Secrets[1] = rev.Secrets[1], rev.Secrets[0]
	if string(rev.Marshal()) != string(data) {
		t.Fatalf("order changed the bytes:\n%s\n%s", data, rev.Marshal())
	}
	got, err := manifest.ParseStatement(data)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, data)
	}
	if got.Format != manifest.StatementFormat || got.Instance != st.Instance || got.RepoSeeds != st.RepoSeeds || len(got.Secrets) != 2 || got.Secrets[0].Name != "a.age" {
		t.Errorf("parsed %+v", got)
	}
	if !strings.HasSuffix(string(data), "}\n") || !strings.Contains(string(data), `"format": "`+manifest.StatementFormat+`"`) {
		t.Errorf("bytes:\n%s", data)
	}
}

func TestParseStatementRefuses(t *testing.T) {
	good := string(sample().Marshal())
	for _, tc := range []struct {
		name, data, want string
	}{
		{"not JSON", "not json", "invalid statement JSON"},
		{"unknown field", strings.Replace(good, `"instance"`, `"extra": 1, "instance"`, 1), "unknown field"},
		{"other format", strings.Replace(good, manifest.StatementFormat, "v0", 1), "unknown statement format"},
		{"short digest", strings.Replace(good, sumC, "c2c2", 1), "not a SHA-256 digest"},
		{"upper-case digest", strings.Replace(good, sumB, strings.ToUpper(sumB), 1), "not a SHA-256 digest"},
		{"no instance", strings.Replace(good, `"instance": "clawdinator-1"`, `"instance": ""`, 1), "must be set"},
		{"no seeds size", strings.Replace(good, `"size": 535`, `"size": 0`, 1), "must be set"},
		{"not canonical", strings.Replace(good, "\n  ", "\n ", 1), "not in canonical form"},
		{"two documents", good + good, "data after the statement"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := manifest.ParseStatement([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseManifestVersions(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{`{"formatVersion": 1}`, "older clawdinator-bundle, before bundles carried a statement: publish again"},
		{`{"formatVersion": 3}`, "unsupported manifest formatVersion 3"},
		{`{`, "invalid manifest JSON"},
	} {
		if _, err := manifest.Parse([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.data, err, tc.want)
		}
	}
	if m, err := manifest.Parse([]byte(`{"formatVersion": 2, "instance": "i"}`)); err != nil || m.Instance != "i" {
		t.Errorf("format 2: %v %+v", err, m)
	}
}
