package publish

import (
	"bytes"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/progress"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// Options tune Publish.
type Options struct {
	Bucket bucket.Bucket
	// DeepVerify downloads and unpacks every repo-seeds archive instead of
	// checking it by SHA-256.
	DeepVerify bool
	// Concurrency bounds how many instances are processed at once, and so
	// how many requests are in flight; 0 means bucket.DefaultConcurrency.
	Concurrency int
	Source      manifest.Source
	Tool        manifest.Tool
	// Events, when set, receives progress. It must be safe for concurrent use.
	Events func(progress.Event)
	// Wrote is the status of an object this run wrote: result.Uploaded
	// (the default) or result.Written (a local directory).
	Wrote result.Status
}

// Assembled reports prepared bundles that are not written anywhere (assemble
// without an output directory): each secrets archive is still read back
// from memory and verified as a host would.
func Assembled(prep *gate.Prepared) *result.Result {
	res := &result.Result{Mode: result.Assemble, Recipient: prep.Key.Recipient(), Problems: append(problem.List(nil), prep.Warnings...)}
	for _, ip := range prep.Plan.Instances {
		sec := prep.Secrets[ip.Name]
		names := make([]string, len(ip.Secrets))
		for i, s := range ip.Secrets {
			names[i] = s.Name
		}
		_, p := bundle.VerifySecrets(bytes.NewReader(sec.Data), bundle.VerifyOptions{
			Expected: names, Forbidden: plan.Forbidden(prep.Instances, ip.Instance, prep.Policy.Exclude),
		})
		p.In(ip.Name, layout.Key(ip.BootstrapPrefix, layout.SecretsObject))
		res.Problems = append(res.Problems, p...)
		ok := len(p.Errors()) == 0
		res.Instances = append(res.Instances, result.Instance{
			Instance: ip.Name, Prefix: ip.BootstrapPrefix, Secrets: prep.SecretInfo[ip.Name], Verified: ok,
			Objects: []result.Object{
				{Object: manifest.Object{Name: layout.SecretsObject, Key: layout.Key(ip.BootstrapPrefix, layout.SecretsObject), Size: sec.Size, SHA256: sec.Hex()}, Status: result.Built, Verified: ok},
				{Object: manifest.Object{Name: layout.SeedsObject, Key: layout.Key(ip.BootstrapPrefix, layout.SeedsObject), Size: prep.Seeds.Size, SHA256: prep.Seeds.Hex()}, Status: result.Built, Verified: true},
			},
		})
	}
	return res
}
