package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// Sizes change unit at exactly 1 KiB, 1 MiB and 1 GiB, and keep one decimal.
func TestSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1 << 10, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{1<<20 - 1, "1024.0 KiB"},
		{1 << 20, "1.0 MiB"},
		{5<<20 + 1<<19, "5.5 MiB"},
		{1<<30 - 1, "1024.0 MiB"},
		{1 << 30, "1.0 GiB"},
		{3<<30 + 1<<29, "3.5 GiB"},
	} {
		if got := Size(tc.n); got != tc.want {
			t.Errorf("Size(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// The text report counts decrypted secrets only for a verified instance
// that has secrets, and shows a long version id shortened.
func TestTextSecretsLine(t *testing.T) {
	obj := result.Object{
		Object: manifest.Object{Name: "secrets.tar.zst", Key: "p/secrets.tar.zst", Size: 10, SHA256: "aa", VersionID: "AAAAAAAAmiddle-of-the-idZZZZZZZZ"},
		Status: result.Checked, Verified: true,
	}
	line := Prefix + "i: p/secrets.tar.zst checked 10 B sha256 aa version AAAAAAAA…ZZZZZZZZ verified\n"
	secrets := []bundle.SecretInfo{{Name: "a.age"}}
	for _, tc := range []struct {
		name     string
		verified bool
		secrets  []bundle.SecretInfo
		want     string
	}{
		{"verified with a secret", true, secrets, line + Prefix + "i: 1 secrets decrypted to EOF with the bundled key\n"},
		{"verified without secrets", true, nil, line},
		{"not verified", false, secrets, line},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &result.Result{Instances: []result.Instance{{Instance: "i", Verified: tc.verified, Secrets: tc.secrets, Objects: []result.Object{obj}}}}
			var b bytes.Buffer
			Text(&b, r)
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

// A summary without instances has no table, one without problems no
// problem list, and a clean run without a recipient is just its title.
func TestSummaryParts(t *testing.T) {
	r := &result.Result{Mode: result.Verify}
	if got, want := Summary(r), "### ✅ clawdinator-bundle verify\n\n"; got != want {
		t.Errorf("empty verify summary = %q, want %q", got, want)
	}
	r = sampleResult()
	r.Problems = nil
	s := Summary(r)
	if strings.Contains(s, "**Problems**") || strings.Contains(s, "Could not complete") {
		t.Errorf("summary without problems lists some:\n%s", s)
	}
	if !strings.Contains(s, "| instance | object |") {
		t.Errorf("summary with instances has no table:\n%s", s)
	}
}
