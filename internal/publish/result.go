package publish

import (
	"bytes"
	"fmt"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// Event reports progress of a long step. Only cmd/ decides how to draw it.
type Event struct {
	Instance string
	// Step is "upload", "verify", "manifest", ...
	Step   string
	Object string
	// Done and Total are byte counts for transfers (Total 0 if unknown).
	Done, Total int64
}

// Options tune Publish and Verify.
type Options struct {
	Bucket Bucket
	// DeepVerify downloads and unpacks every repo-seeds archive instead of
	// checking it by SHA-256.
	DeepVerify bool
	// Concurrency bounds how many instances are processed at once.
	Concurrency int
	// ExpectedRecipient, when set, must match every bundled key.
	ExpectedRecipient string
	Source            Source
	Tool              Tool
	// Events, when set, receives progress. It must be safe for concurrent use.
	Events func(Event)
}

// ObjectResult is one object of one instance after a run.
type ObjectResult struct {
	Name      string `json:"name"`
	Key       string `json:"key"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	VersionID string `json:"versionId,omitempty"`
	TarSHA256 string `json:"tarSha256,omitempty"`
	// Status is "uploaded", "unchanged" (already in place, not uploaded
	// again), "checked" (verify mode), "written" (assemble --out), "missing", "failed" or "rolled back"
	// (uploaded, then removed because the run failed before its manifest).
	Status   string `json:"status"`
	Verified bool   `json:"verified"`
}

// InstanceResult is what happened to one instance.
type InstanceResult struct {
	Instance string              `json:"instance"`
	Prefix   string              `json:"prefix"`
	Objects  []ObjectResult      `json:"objects"`
	Secrets  []bundle.SecretInfo `json:"secrets"`
	// Manifest is the manifest written (publish) or read (verify), if any.
	Manifest *Manifest `json:"manifest,omitempty"`
	Verified bool      `json:"verified"`
	// Err is an operational failure (S3 unreachable, denied): exit status 3.
	Err error `json:"-"`
}

// Result is the outcome of a run, for every instance processed.
type Result struct {
	Mode      string           `json:"mode"`
	Recipient string           `json:"recipient,omitempty"`
	Instances []InstanceResult `json:"instances"`
	// Problems holds every finding, warnings included.
	Problems problem.List `json:"-"`
}

// Err returns the first operational failure, if any.
func (r *Result) Err() error {
	for _, in := range r.Instances {
		if in.Err != nil {
			return fmt.Errorf("instance %s: %w", in.Instance, in.Err)
		}
	}
	return nil
}

// Manifests returns the manifests written or read, in instance order.
func (r *Result) Manifests() []*Manifest {
	var out []*Manifest
	for _, in := range r.Instances {
		if in.Manifest != nil {
			out = append(out, in.Manifest)
		}
	}
	return out
}

// Assembled reports prepared bundles that are not written anywhere (assemble
// without an output directory): each secrets archive is still read back
// from memory and verified as a host would.
func Assembled(prep *Prepared) *Result {
	res := &Result{Mode: "assemble", Recipient: prep.Key.Recipient(), Problems: append(problem.List(nil), prep.Warnings...)}
	for _, ip := range prep.Plan.Instances {
		sec := prep.Secrets[ip.Name]
		names := make([]string, len(ip.Secrets))
		for i, s := range ip.Secrets {
			names[i] = s.Name
		}
		_, p := bundle.VerifySecrets(bytes.NewReader(sec.Data), bundle.VerifyOptions{
			Expected: names, Forbidden: forbidden(prep.Instances, ip.Instance, prep.Policy.Exclude),
		})
		tag(p, ip.Name, key(ip.BootstrapPrefix, bundle.SecretsObject))
		res.Problems = append(res.Problems, p...)
		ok := len(p.Errors()) == 0
		res.Instances = append(res.Instances, InstanceResult{
			Instance: ip.Name, Prefix: ip.BootstrapPrefix, Secrets: prep.SecretInfo[ip.Name], Verified: ok,
			Objects: []ObjectResult{
				{Name: bundle.SecretsObject, Key: key(ip.BootstrapPrefix, bundle.SecretsObject), Size: sec.Size, SHA256: sec.Hex(), Status: "built", Verified: ok},
				{Name: bundle.SeedsObject, Key: key(ip.BootstrapPrefix, bundle.SeedsObject), Size: prep.Seeds.Size, SHA256: prep.Seeds.Hex(), Status: "built", Verified: true},
			},
		})
	}
	return res
}
