package report

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sampleResult() *result.Result {
	r := &result.Result{Mode: "publish", Recipient: "age1examplerecipient"}
	r.Instances = []result.Instance{
		{
			Instance: "clawdinator-1", Prefix: "bootstrap/clawdinator-1", Verified: true,
			Secrets: []bundle.SecretInfo{{Name: "a.age", Size: 200, SHA256: "aa"}, {Name: "b.age", Size: 300, SHA256: "bb"}},
			Objects: []result.Object{
				{Object: manifest.Object{Name: "secrets.tar.zst", Key: "bootstrap/clawdinator-1/secrets.tar.zst", Size: 3100, SHA256: "0123456789abcdef0123", VersionID: "v1"}, Status: "uploaded", Verified: true},
				{Object: manifest.Object{Name: "repo-seeds.tar.zst", Key: "bootstrap/clawdinator-1/repo-seeds.tar.zst", Size: 96 << 20, SHA256: "fedcba9876543210fedc", VersionID: "v2"}, Status: "unchanged", Verified: true},
			},
			Manifest: &manifest.Manifest{FormatVersion: 1, Instance: "clawdinator-1"},
		},
		{
			Instance: "clawdinator-2", Prefix: "bootstrap/clawdinator-2",
			Objects: []result.Object{
				{Object: manifest.Object{Name: "secrets.tar.zst", Key: "bootstrap/clawdinator-2/secrets.tar.zst", Size: 3000, SHA256: "99"}, Status: "uploaded"},
			},
		},
	}
	r.Problems = problem.List{
		{Severity: problem.Warning, File: "nix/age-secrets/clawdinator-image-bucket-name.age", Message: "excluded by exclude-secrets: not shipped to hosts"},
		{Instance: "clawdinator-2", Object: "bootstrap/clawdinator-2/secrets.tar.zst", Message: "secrets/x.age: does not decrypt | with the bundled key"},
	}
	return r
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestText(t *testing.T) {
	var b bytes.Buffer
	Text(&b, sampleResult())
	golden(t, "text.golden", b.String())
}

func TestSummary(t *testing.T) {
	golden(t, "summary.golden.md", Summary(sampleResult()))
	r := sampleResult()
	r.Failure = errors.New("put s3://b/k: access denied")
	s := Summary(r)
	if !strings.Contains(s, "**Could not complete:** put s3&#58;//b/k&#58; access denied") || !strings.HasPrefix(s, "### ❌") {
		t.Errorf("operational failure not shown:\n%s", s)
	}
}

func TestSummaryOK(t *testing.T) {
	r := sampleResult()
	r.Instances, r.Problems = r.Instances[:1], nil
	if s := Summary(r); !strings.HasPrefix(s, "### ✅ clawdinator-bundle publish") {
		t.Errorf("clean run not marked ok:\n%s", s)
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, sampleResult()); err != nil {
		t.Fatal(err)
	}
	golden(t, "result.golden.json", b.String())
}

func TestManifestOutput(t *testing.T) {
	if got := ManifestOutput(&result.Result{}); got != "[]" {
		t.Errorf("empty manifest output = %q, want []", got)
	}
	if got := ManifestOutput(sampleResult()); !strings.HasPrefix(got, `[{"formatVersion":1,"instance":"clawdinator-1"`) {
		t.Errorf("manifest output = %s", got)
	}
}

// A run stopped by the gate has no instances: scripts get [], not null.
func TestJSONNoInstances(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, &result.Result{Mode: "publish"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"instances": []`) {
		t.Errorf("want an empty instances array:\n%s", b.String())
	}
}

// Text from an input, a file name or a bucket listing never starts a line,
// a workflow command or a terminal escape, and never marks up the summary.
func TestHostileText(t *testing.T) {
	hostile := "bootstrap/x\n::warning::owned\r\x1b[31m\u2028<img src=x>|`*_"
	r := &result.Result{Mode: result.Verify, Instances: []result.Instance{{Instance: "evil\n::add-mask::x", Objects: []result.Object{{Object: manifest.Object{Key: hostile}, Status: result.Checked}}}}}
	r.Problems.Add(problem.Problem{Instance: "evil\n::error::x", Object: hostile, Message: "msg\n::debug::x"})
	var b bytes.Buffer
	Text(&b, r)
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, Prefix) || strings.ContainsAny(line, "\r\x1b\u2028") {
			t.Errorf("unsafe text line %q", line)
		}
	}
	if !strings.Contains(b.String(), `bootstrap/x\x0a::warning::owned\x0d\x1b[31m\u2028`) {
		t.Errorf("control characters not escaped visibly:\n%s", b.String())
	}
	s := Summary(r)
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "::") || strings.ContainsAny(line, "\r\x1b<>") {
			t.Errorf("unsafe summary line %q", line)
		}
	}
	if !strings.Contains(s, `&lt;img src=x&gt;\|\`+"`"+`\*\_`) {
		t.Errorf("markup not escaped:\n%s", s)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain ascii/é":  "plain ascii/é",
		"a\tb":           `a\x09b`,
		"\x7f\u0085":     `\x7f\x85`,
		"bad\xffutf8":    `bad\ufffdutf8`,
		"line\u2029para": `line\u2029para`,
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}
