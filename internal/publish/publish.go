// Package publish uploads prepared bundles (internal/gate) to a bucket,
// pulls back exactly the versions it wrote and proves them (internal/check),
// and writes each instance's manifest last. A run that fails before an
// instance's manifest removes what it uploaded for that instance.
package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/check"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// Publish uploads every prepared instance's bundle, pulls back what it wrote
// by version id, verifies it, and only then writes the instance's manifest.
// An object whose bytes the previous manifest already names, still current
// at its key, is not uploaded again but is verified.
func Publish(ctx context.Context, prep *gate.Prepared, opt Options) *result.Result {
	res := &result.Result{Mode: result.Publish, Recipient: prep.Key.Recipient(), Problems: append(problem.List(nil), prep.Warnings...)}
	res.Instances = make([]result.Instance, len(prep.Plan.Instances))
	seeds := &sharedUpload{}
	// Problems in instance order, not completion order: reports are stable.
	probs := make([]problem.List, len(prep.Plan.Instances))
	check.ForEach(ctx, len(prep.Plan.Instances), opt.Concurrency, func(i int) {
		res.Instances[i], probs[i] = publishOne(ctx, prep, prep.Plan.Instances[i], opt, seeds)
	})
	for _, p := range probs {
		res.Problems = append(res.Problems, p...)
	}
	return res
}

// sharedUpload uploads the repo-seeds archive once per run: the first
// instance that needs it uploads it to its own key, the others copy that
// version on the server side.
type sharedUpload struct {
	mu   sync.Mutex
	done bool
	obj  bucket.Object
	err  error
}

func (s *sharedUpload) put(ctx context.Context, b bucket.Bucket, k string, prep *gate.Prepared, body io.ReadSeeker) (bucket.Object, error) {
	if src := prep.Seeds.Source; src != nil {
		return b.Copy(ctx, src.Key, src.VersionID, k)
	}
	// The lock is held through the one upload, so the others wait for it,
	// then copy concurrently.
	s.mu.Lock()
	if !s.done {
		s.done = true
		s.obj, s.err = b.Put(ctx, k, body, prep.Seeds.Size, prep.Seeds.SHA256)
		s.mu.Unlock()
		return s.obj, s.err
	}
	src, err := s.obj, s.err
	s.mu.Unlock()
	if err != nil {
		return bucket.Object{}, err
	}
	return b.Copy(ctx, src.Key, src.VersionID, k)
}

func publishOne(ctx context.Context, prep *gate.Prepared, ip plan.InstancePlan, opt Options, seeds *sharedUpload) (ir result.Instance, probs problem.List) {
	ir = result.Instance{Instance: ip.Name, Prefix: ip.BootstrapPrefix, Secrets: prep.SecretInfo[ip.Name]}
	emit := func(step, obj string, done, total int64) {
		if opt.Events != nil {
			opt.Events(check.Event{Instance: ip.Name, Step: step, Object: obj, Done: done, Total: total})
		}
	}

	prev, err := check.ReadManifest(ctx, opt.Bucket, check.Key(ip.BootstrapPrefix, bundle.ManifestName))
	if err != nil && !errors.Is(err, bucket.ErrNotFound) {
		if check.IsOperational(err) {
			ir.Err = err
			return ir, probs
		}
		// A corrupt previous manifest only costs the unchanged shortcut.
		prev = nil
	}
	// Versions this run writes are unproven until the manifest names them:
	// when the run fails before the manifest write, they are removed, so
	// that a host downloads again what the previous manifest names.
	committing := false
	defer func() {
		if !committing {
			sums := map[string]string{bundle.SecretsObject: prep.Secrets[ip.Name].Hex(), bundle.SeedsObject: prep.Seeds.Hex()}
			probs = append(probs, rollback(ctx, opt.Bucket, &ir, prev, sums)...)
		}
	}()

	sec := prep.Secrets[ip.Name]
	objs := []struct {
		name string
		arch *gate.Archive
		body func() io.ReadSeeker
	}{
		{bundle.SecretsObject, sec, func() io.ReadSeeker { return bytes.NewReader(sec.Data) }},
		{bundle.SeedsObject, prep.Seeds, func() io.ReadSeeker { return prep.OpenSeeds() }},
	}
	for _, o := range objs {
		k := check.Key(ip.BootstrapPrefix, o.name)
		or := result.Object{Name: o.name, Key: k, Size: o.arch.Size, SHA256: o.arch.Hex(), TarSHA256: o.arch.TarSHA256}
		if v, ok := unchanged(ctx, opt.Bucket, prev.Object(o.name), o.arch); ok {
			or.VersionID, or.Status = v, result.Unchanged
		} else {
			emit("upload", o.name, 0, o.arch.Size)
			var obj bucket.Object
			var err error
			if o.name == bundle.SeedsObject {
				var body io.ReadSeeker
				if r := o.body(); r != nil {
					body = &check.ProgressReader{ReadSeeker: r, Report: func(n int64) { emit("upload", o.name, n, o.arch.Size) }}
				}
				obj, err = seeds.put(ctx, opt.Bucket, k, prep, body)
			} else {
				obj, err = opt.Bucket.Put(ctx, k, o.body(), o.arch.Size, o.arch.SHA256)
			}
			if err != nil {
				or.Status = result.Failed
				ir.Objects = append(ir.Objects, or)
				ir.Err = err
				return ir, probs
			}
			or.VersionID, or.Status = obj.VersionID, opt.wrote()
		}
		ir.Objects = append(ir.Objects, or)
	}

	// Pull back exactly the versions just written and prove them.
	emit("verify", bundle.SecretsObject, 0, 0)
	want := ip.Secrets
	names := make([]string, len(want))
	for i, s := range want {
		names[i] = s.Name
	}
	for i := range ir.Objects {
		or := &ir.Objects[i]
		var p problem.List
		var err error
		switch or.Name {
		case bundle.SecretsObject:
			_, p, err = check.Secrets(ctx, opt.Bucket, or, bundle.VerifyOptions{
				Expected: names, ExpectedRecipient: opt.ExpectedRecipient,
				Forbidden: check.Forbidden(prep.Instances, ip.Instance, prep.Policy.Exclude),
			})
		case bundle.SeedsObject:
			p, err = check.Seeds(ctx, opt.Bucket, or, opt.DeepVerify)
		}
		if err == nil {
			var cp problem.List
			cp, err = check.Current(ctx, opt.Bucket, or)
			p = append(p, cp...)
		}
		p.In(ip.Name, or.Key)
		probs = append(probs, p...)
		if err != nil {
			ir.Err = err
			return ir, probs
		}
		or.Verified = len(p.Errors()) == 0
	}
	if len(probs.Errors()) > 0 {
		return ir, probs
	}

	m := &manifest.Manifest{
		FormatVersion: manifest.Format, Instance: ip.Name, BootstrapPrefix: ip.BootstrapPrefix,
		Tool: opt.Tool, Source: opt.Source, Recipient: prep.Key.Recipient(), Secrets: ir.Secrets,
	}
	for _, or := range ir.Objects {
		m.Objects = append(m.Objects, manifest.Object{Name: or.Name, Key: or.Key, Size: or.Size, SHA256: or.SHA256, VersionID: or.VersionID, TarSHA256: or.TarSHA256, Unchanged: or.Status == result.Unchanged})
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	data = append(data, '\n')
	emit("manifest", bundle.ManifestName, 0, 0)
	// The objects are proven: a failed manifest write leaves them current
	// (verify reports the mismatch) rather than remove versions that a
	// manifest write which did land despite the error would name.
	committing = true
	if _, err := opt.Bucket.Put(ctx, check.Key(ip.BootstrapPrefix, bundle.ManifestName), bytes.NewReader(data), int64(len(data)), sha256.Sum256(data)); err != nil {
		ir.Err = err
		return ir, probs
	}
	ir.Manifest = m
	ir.Verified = true
	return ir, probs
}

// rollbackTimeout bounds undoing an instance's uploads, which runs even
// when the run was canceled.
const rollbackTimeout = time.Minute

// rollback removes what this run wrote for an instance that failed before
// its manifest: every version on top of each key whose SHA-256 is the one
// uploaded (sums, by object name), down to the previous manifest's
// version. That includes versions the run never learned the id of (a write
// that landed although its response was lost, then retried). A bucket
// without versions (Dir) cannot go back: the file this run wrote is
// removed, so that nothing unproven is left in place.
func rollback(ctx context.Context, b bucket.Bucket, ir *result.Instance, prev *manifest.Manifest, sums map[string]string) problem.List {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	var probs problem.List
	for i := range ir.Objects {
		or := &ir.Objects[i]
		if !or.Status.Wrote() {
			continue
		}
		var keep string
		if po := prev.Object(or.Name); po != nil {
			keep = po.VersionID
		}
		var err error
		removed := false
		// Each attempt of a retried write may have left a version.
		for range 16 {
			var cur bucket.Object
			cur, err = b.Head(ctx, or.Key, "")
			if errors.Is(err, bucket.ErrNotFound) {
				err = nil
				break
			}
			if err != nil || cur.VersionID != "" && (cur.VersionID == keep || cur.SHA256 != sums[or.Name]) {
				break
			}
			if err = b.Delete(ctx, or.Key, cur.VersionID); err != nil {
				break
			}
			removed = true
			if cur.VersionID == "" {
				break
			}
		}
		if err != nil {
			probs.Add(problem.Problem{Instance: ir.Instance, Object: or.Key, Message: fmt.Sprintf("could not remove this run's unverified upload, which a host booting now may download: %v", err)})
			continue
		}
		if removed && or.Status != result.Failed {
			or.Status, or.Verified = result.RolledBack, false
		}
	}
	return probs
}

// unchanged reports whether the previous manifest's object has the same
// bytes as arch and is still the current version at its key.
func unchanged(ctx context.Context, b bucket.Bucket, prev *manifest.Object, arch *gate.Archive) (string, bool) {
	if prev == nil || prev.SHA256 != arch.Hex() || prev.Size != arch.Size || prev.VersionID == "" {
		return "", false
	}
	cur, err := b.Head(ctx, prev.Key, "")
	if err != nil || cur.VersionID != prev.VersionID || cur.Size != arch.Size {
		return "", false
	}
	if cur.SHA256 != "" && cur.SHA256 != arch.Hex() {
		return "", false
	}
	return prev.VersionID, true
}

// FindPublishedSeeds reads the manifests of instances and returns the
// repo-seeds archives they name that are still the current version at their
// key, by the digest of their uncompressed tar stream. Anything unreadable is
// skipped: this only saves work, it never decides what is correct.
func FindPublishedSeeds(ctx context.Context, b bucket.Bucket, instances []plan.Instance) map[string]manifest.Object {
	out := map[string]manifest.Object{}
	var mu sync.Mutex
	check.ForEach(ctx, len(instances), 8, func(i int) {
		m, err := check.ReadManifest(ctx, b, check.Key(instances[i].BootstrapPrefix, bundle.ManifestName))
		if err != nil {
			return
		}
		mo := m.Object(bundle.SeedsObject)
		if mo == nil || mo.TarSHA256 == "" || mo.VersionID == "" || mo.Key != check.Key(instances[i].BootstrapPrefix, bundle.SeedsObject) {
			return
		}
		cur, err := b.Head(ctx, mo.Key, "")
		if err != nil || cur.VersionID != mo.VersionID || cur.Size != mo.Size || (cur.SHA256 != "" && cur.SHA256 != mo.SHA256) {
			return
		}
		mu.Lock()
		out[mo.TarSHA256] = *mo
		mu.Unlock()
	})
	return out
}

func (o Options) wrote() result.Status {
	if o.Wrote == "" {
		return result.Uploaded
	}
	return o.Wrote
}
