package bucket

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// CheckName refuses a bucket name that no S3 request should be sent with,
// naming what to pass instead: a URL (s3://b), a name with a key prefix
// (b/bootstrap, which would put every object one prefix deeper than hosts
// look), whitespace or control characters, or any character outside
// [A-Za-z0-9._-] (names created before 2018 in us-east-1 may hold upper
// case and underscores, so those pass). opt names the option in the error
// (s3-bucket, or BUCKET for install's argument).
func CheckName(opt, name string) error {
	if name == "" {
		return nil // "is required" is said where the option is required
	}
	q := fmt.Sprintf("%q", name)
	if scheme, rest, ok := strings.Cut(name, "://"); ok {
		b, key, _ := strings.Cut(rest, "/")
		hint := "pass " + fmt.Sprintf("%q", b)
		if key != "" {
			hint += " (the key prefix comes from each instance's bootstrapPrefix)"
		}
		return problem.Usagef("%s takes the bucket's name, not a %s:// URL, got %s: %s", opt, scheme, q, hint)
	}
	if b, key, ok := strings.Cut(strings.TrimLeft(name, "/"), "/"); ok || strings.HasPrefix(name, "/") {
		msg := fmt.Sprintf("%s takes the bucket's name only, got %s: pass %q", opt, q, b)
		if key != "" {
			msg += fmt.Sprintf("; the key prefix %q belongs in each instance's bootstrapPrefix in the instances file", key)
		}
		return &problem.UsageError{Msg: msg}
	}
	for _, r := range name {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			return problem.Usagef("%s %s holds whitespace or a control character: remove it (a secret or variable with a trailing newline?)", opt, q)
		case r > unicode.MaxASCII || !(r == '.' || r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
			return problem.Usagef("%s %s holds %q: a bucket name is letters, digits, '.', '-' and '_' (lower case, digits, '.' and '-' for any bucket created since 2018)", opt, q, r)
		}
	}
	return nil
}
