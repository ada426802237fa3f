package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// RequireVersioning refuses a bucket that keeps no versions (a
// *problem.UsageError): publish proves the versions it wrote, rolls back by
// version and reuses by version. A bucket that cannot tell (a directory)
// passes; S3 failing to answer is returned as it is.
func RequireVersioning(ctx context.Context, b bucket.Bucket, name string) error {
	v, ok := b.(interface {
		Versioning(ctx context.Context) (bool, error)
	})
	if !ok {
		return nil
	}
	on, err := v.Versioning(ctx)
	if err != nil {
		return err
	}
	if !on {
		return problem.Usagef("bucket %s does not have versioning enabled: publish needs it to prove, roll back and reuse versions "+
			"(enable it: aws s3api put-bucket-versioning --bucket %s --versioning-configuration Status=Enabled)", name, name)
	}
	return nil
}

// SymlinksUnder finds symlinks on the paths assemble --out would write
// below dir, before anything is built: a symlink there would lead the
// key elsewhere (bucket.Dir refuses them too, write by write).
func SymlinksUnder(dir string, instances []plan.Instance) problem.List {
	var probs problem.List
	seen := map[string]bool{}
	for _, in := range instances {
		parts := strings.Split(in.BootstrapPrefix, "/")
		for _, name := range []string{layout.SecretsObject, layout.SeedsObject, layout.ManifestName} {
			p := dir
			for _, part := range append(append([]string(nil), parts...), name) {
				p = filepath.Join(p, part)
				if seen[p] {
					continue
				}
				seen[p] = true
				if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeSymlink != 0 {
					probs.Add(problem.Problem{File: p, Message: "is a symlink under the output directory: refused, not followed (remove it, or choose another --out)"})
				}
			}
		}
	}
	return probs
}
