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
	sumD = "d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3"
)

func sample() manifest.Statement {
	return manifest.Statement{
		Instance: "clawdinator-1", BootstrapPrefix: "bootstrap/clawdinator-1", Sequence: 1700000000,
		Secrets:   []bundle.SecretInfo{{Name: "z.age", Size: 3, SHA256: sumB}, {Name: "a.age", Size: 2, SHA256: sumA}},
		RepoSeeds: manifest.Seeds{Key: "bootstrap/clawdinator-1/repo-seeds.tar.zst", Size: 535, SHA256: sumC, TarSHA256: sumA, ContentSHA256: sumD},
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
	if got.Format != manifest.StatementFormat || got.Instance != st.Instance || got.Sequence != st.Sequence || got.RepoSeeds != st.RepoSeeds || len(got.Secrets) != 2 || got.Secrets[0].Name != "a.age" {
		t.Errorf("parsed %+v", got)
	}
	if !strings.HasSuffix(string(data), "}\n") || !strings.Contains(string(data), `"format": "clawdinator-bundle statement v2"`) ||
		!strings.Contains(string(data), "\"bootstrapPrefix\": \"bootstrap/clawdinator-1\",\n  \"sequence\": 1700000000,\n  \"secrets\"") ||
		!strings.Contains(string(data), `"contentSha256": "`+sumD+`"`) {
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
		{"sequence 0", strings.Replace(good, `"sequence": 1700000000`, `"sequence": 0`, 1), "sequence must be at least 1"},
		{"negative sequence", strings.Replace(good, `"sequence": 1700000000`, `"sequence": -1`, 1), "invalid statement JSON"},
		{"no content digest", strings.Replace(good, sumD, "", 1), `"" is not a SHA-256 digest`},
		{"short content digest", strings.Replace(good, sumD, "d3d3", 1), "not a SHA-256 digest"},
		{"v1 with a sequence", strings.Replace(v1Statement, `"bootstrapPrefix": "bootstrap/clawdinator-1",`, `"bootstrapPrefix": "bootstrap/clawdinator-1",`+"\n  \"sequence\": 5,", 1), "not in canonical form"},
		{"v1 with a content digest", strings.Replace(v1Statement, `"tarSha256": "`+sumA+`"`, `"tarSha256": "`+sumA+`",`+"\n    \"contentSha256\": \""+sumD+`"`, 1), "not in canonical form"},
		{"v2 without a sequence", strings.Replace(good, "\n  \"sequence\": 1700000000,", "", 1), "sequence must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := manifest.ParseStatement([]byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// v1Statement is a statement as the tool wrote it before version 2, byte
// for byte.
const v1Statement = `{
  "format": "clawdinator-bundle statement v1",
  "instance": "clawdinator-1",
  "bootstrapPrefix": "bootstrap/clawdinator-1",
  "secrets": [
    {
      "name": "a.age",
      "size": 2,
      "sha256": "` + sumA + `"
    },
    {
      "name": "z.age",
      "size": 3,
      "sha256": "` + sumB + `"
    }
  ],
  "repoSeeds": {
    "key": "bootstrap/clawdinator-1/repo-seeds.tar.zst",
    "size": 535,
    "sha256": "` + sumC + `",
    "tarSha256": "` + sumA + `"
  }
}
`

// Readers accept a version 1 statement, in its canonical form only, as
// sequence 0 with no content digest; Marshal writes version 2 again.
func TestParseStatementV1(t *testing.T) {
	got, err := manifest.ParseStatement([]byte(v1Statement))
	if err != nil {
		t.Fatalf("parse v1: %v", err)
	}
	want := sample()
	want.Sequence, want.RepoSeeds.ContentSHA256 = 0, ""
	if got.Format != manifest.StatementFormatV1 || got.Sequence != 0 || got.RepoSeeds != want.RepoSeeds || got.Instance != want.Instance || got.BootstrapPrefix != want.BootstrapPrefix || len(got.Secrets) != 2 {
		t.Errorf("parsed %+v", got)
	}
	if again := got.Marshal(); !strings.Contains(string(again), manifest.StatementFormat) || strings.Contains(string(again), manifest.StatementFormatV1) {
		t.Errorf("Marshal of a v1 statement:\n%s", again)
	}
	if _, err := manifest.ParseStatement([]byte(strings.Replace(v1Statement, "\n  ", "\n ", 1))); err == nil || !strings.Contains(err.Error(), "not in canonical form") {
		t.Errorf("non-canonical v1: err = %v", err)
	}
	// Secrets out of order are not canonical either.
	swapped := strings.Replace(strings.Replace(v1Statement, `"a.age"`, `"tmp.age"`, 1), `"z.age"`, `"a.age"`, 1)
	if _, err := manifest.ParseStatement([]byte(swapped)); err == nil || !strings.Contains(err.Error(), "not in canonical form") {
		t.Errorf("unsorted v1: err = %v", err)
	}
}

func TestWithoutSequence(t *testing.T) {
	a, b := sample(), sample()
	b.Sequence++
	if string(a.Marshal()) == string(b.Marshal()) {
		t.Fatal("the sequence is not in the bytes")
	}
	if string(a.WithoutSequence().Marshal()) != string(b.WithoutSequence().Marshal()) {
		t.Error("WithoutSequence kept the sequence")
	}
	b.RepoSeeds.ContentSHA256 = sumA
	if string(a.WithoutSequence().Marshal()) == string(b.WithoutSequence().Marshal()) {
		t.Error("WithoutSequence dropped the content digest")
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
