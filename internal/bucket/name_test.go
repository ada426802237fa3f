package bucket_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// A bucket name no request should be sent with is a usage error that says
// what to pass instead; names S3 accepts, legacy us-east-1 ones included,
// pass.
func TestCheckName(t *testing.T) {
	for _, ok := range []string{"", "b", "mybucket", "my.bucket-1", "Legacy_Bucket", "0ab"} {
		if err := bucket.CheckName("s3-bucket", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for name, want := range map[string]string{
		"s3://mybucket":           `s3-bucket takes the bucket's name, not a s3:// URL, got "s3://mybucket": pass "mybucket"`,
		"s3://mybucket/bootstrap": `pass "mybucket" (the key prefix comes from each instance's bootstrapPrefix)`,
		"https://x.example/b":     `not a https:// URL`,
		"mybucket/bootstrap":      `s3-bucket takes the bucket's name only, got "mybucket/bootstrap": pass "mybucket"; the key prefix "bootstrap" belongs in each instance's bootstrapPrefix`,
		"/mybucket":               `got "/mybucket": pass "mybucket"`,
		"mybucket\n":              `s3-bucket "mybucket\n" holds whitespace or a control character`,
		"my bucket":               `holds whitespace`,
		"my\x1b[31mbucket":        `"my\x1b[31mbucket" holds whitespace or a control character`,
		"Bad_Bucket!!":            `s3-bucket "Bad_Bucket!!" holds '!': a bucket name is letters, digits, '.', '-' and '_'`,
		"bücket":                  `holds 'ü'`,
		"a:b":                     `holds ':'`,
	} {
		err := bucket.CheckName("s3-bucket", name)
		if !errors.As(err, new(*problem.UsageError)) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want a usage error containing %q", name, err, want)
		}
	}
}

// bucket.New refuses such a name before building a client.
func TestNewChecksName(t *testing.T) {
	_, err := bucket.New(t.Context(), bucket.Config{Bucket: "s3://mybucket", Region: "us-east-1"})
	if !errors.As(err, new(*problem.UsageError)) || !strings.Contains(err.Error(), `pass "mybucket"`) {
		t.Errorf("New: %v", err)
	}
}
