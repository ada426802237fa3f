// Package publish uploads prepared bundles (internal/gate) to a bucket,
// pulls back exactly the versions it wrote and proves them (internal/proof),
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
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/progress"
	"github.com/openclaw/clawdinator-bundle/internal/proof"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// Publish uploads every prepared instance's bundle, pulls back what it wrote
// by version id, verifies it, and only then writes the instance's manifest.
// Within an instance the repo-seeds object goes first and the secrets
// archive, whose statement names it, second: the secrets archive is the
// commit point of the pair. An object whose bytes are already current at
// its key (by the store's own checksum) is not uploaded again but is
// verified. Instances that fail are rolled back once every instance is
// done, so that no copy in flight loses its source.
func Publish(ctx context.Context, prep *gate.Prepared, opt Options) *result.Result {
	res := &result.Result{Mode: result.Publish, Recipient: prep.Key.Recipient(), Problems: append(problem.List(nil), prep.Warnings...)}
	n := len(prep.Plan.Instances)
	res.Instances = make([]result.Instance, n)
	seeds := &sharedUpload{}
	// Problems in instance order, not completion order: reports are stable.
	probs := make([]problem.List, n)
	committed := make([]bool, n)
	var g errgroup.Group
	g.SetLimit(opt.limit())
	for i := range n {
		g.Go(func() error {
			res.Instances[i], probs[i], committed[i] = publishOne(ctx, prep, prep.Plan.Instances[i], opt, seeds)
			return nil
		})
	}
	g.Wait()
	for i, ip := range prep.Plan.Instances {
		if !committed[i] {
			sums := map[string]string{layout.SecretsObject: prep.Secrets[ip.Name].Hex(), layout.SeedsObject: prep.Seeds.Hex()}
			probs[i] = append(probs[i], rollback(ctx, opt.Bucket, &res.Instances[i], sums)...)
		}
		res.Problems = append(res.Problems, probs[i]...)
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

func publishOne(ctx context.Context, prep *gate.Prepared, ip plan.InstancePlan, opt Options, seeds *sharedUpload) (ir result.Instance, probs problem.List, committed bool) {
	ir = result.Instance{Instance: ip.Name, Prefix: ip.BootstrapPrefix, Secrets: prep.SecretInfo[ip.Name]}
	// Reported in the order verify and the manifest use: secrets, seeds.
	defer func() {
		if len(ir.Objects) == 2 {
			ir.Objects[0], ir.Objects[1] = ir.Objects[1], ir.Objects[0]
		}
	}()
	emit := func(step, obj string, done, total int64) {
		if opt.Events != nil {
			opt.Events(progress.Event{Instance: ip.Name, Step: step, Object: obj, Done: done, Total: total})
		}
	}

	sec := prep.Secrets[ip.Name]
	// Seeds first: the secrets archive names them, and a host (or verify)
	// that finds the new secrets archive must find its seeds in place.
	objs := []struct {
		name string
		arch *gate.Archive
		body func() io.ReadSeeker
	}{
		{layout.SeedsObject, prep.Seeds, func() io.ReadSeeker { return prep.OpenSeeds() }},
		{layout.SecretsObject, sec, func() io.ReadSeeker { return bytes.NewReader(sec.Data) }},
	}
	for _, o := range objs {
		k := layout.Key(ip.BootstrapPrefix, o.name)
		or := result.Object{Object: manifest.Object{Name: o.name, Key: k, Size: o.arch.Size, SHA256: o.arch.Hex(), TarSHA256: o.arch.TarSHA256}}
		var v string
		var ok bool
		var err error
		if cur, had := prep.Current[ip.Name]; o.name == layout.SecretsObject && had && cur.Settled() && cur.SHA256 == o.arch.Hex() && cur.Size == o.arch.Size {
			// The HEAD at the start found these very bytes current (the
			// gate proved the archive by that checksum): no second one.
			v, ok = cur.VersionID, true
		} else {
			v, ok, err = unchanged(ctx, opt.Bucket, k, o.arch)
		}
		or.Before = v
		if err != nil {
			ir.Objects = append(ir.Objects, or)
			ir.Err = err
			return ir, probs, false
		}
		if ok {
			or.VersionID, or.Status = v, result.Unchanged
		} else {
			emit("upload", o.name, 0, o.arch.Size)
			var obj bucket.Object
			if o.name == layout.SeedsObject {
				var body io.ReadSeeker
				if r := o.body(); r != nil {
					body = &progress.Reader{ReadSeeker: r, Report: func(n int64) { emit("upload", o.name, n, o.arch.Size) }}
				}
				obj, err = seeds.put(ctx, opt.Bucket, k, prep, body)
			} else {
				obj, err = putSecrets(ctx, opt.Bucket, k, o.body(), o.arch, prep, ip.Name)
			}
			if err != nil {
				or.Status = result.Failed
				ir.Objects = append(ir.Objects, or)
				ir.Err = err
				return ir, probs, false
			}
			or.VersionID, or.Status = obj.VersionID, opt.wrote()
		}
		ir.Objects = append(ir.Objects, or)
	}

	// Pull back exactly the versions just written and prove them: the
	// secrets archive with the key inside it, the seeds against the
	// statement that archive carries.
	emit("verify", layout.SecretsObject, 0, 0)
	names := make([]string, len(ip.Secrets))
	for i, s := range ip.Secrets {
		names[i] = s.Name
	}
	seedsObj, secObj := &ir.Objects[0], &ir.Objects[1]
	vo := bundle.VerifyOptions{
		Expected: names, ExpectedRecipient: prep.Key.Recipient(),
		Forbidden: plan.Forbidden(prep.Instances, ip.Instance, prep.Policy.Exclude),
	}
	var st *manifest.Statement
	var p problem.List
	var err error
	if secObj.Status == result.Unchanged {
		// The store's checksum says the current version holds exactly
		// the bytes built here: prove those bytes, without a download,
		// and without decrypting again what the gate decrypted.
		vo.Decrypted = prep.Decrypted
		_, st, p = proof.SecretsData(sec.Data, vo, ip.Name, ip.BootstrapPrefix)
	} else {
		_, st, p, err = proof.Secrets(ctx, opt.Bucket, secObj, vo, ip.Name, ip.BootstrapPrefix)
	}
	// Both objects unchanged: the HEADs that found them so are the proof
	// of the seeds (the store's checksum of the current version is the
	// statement's) and say both are current.
	unchangedPair := secObj.Status == result.Unchanged && seedsObj.Status == result.Unchanged && !opt.DeepVerify && st != nil &&
		st.RepoSeeds.SHA256 == seedsObj.SHA256 && st.RepoSeeds.Size == seedsObj.Size
	if err == nil && st != nil && !unchangedPair {
		var sp problem.List
		sp, err = proof.Seeds(ctx, opt.Bucket, seedsObj, st.RepoSeeds, opt.DeepVerify)
		probs = append(probs, sp.In(ip.Name, seedsObj.Key)...)
	}
	p.In(ip.Name, secObj.Key)
	probs = append(p, probs...)
	for _, or := range []*result.Object{seedsObj, secObj} {
		if err != nil || unchangedPair {
			break
		}
		var cp problem.List
		cp, err = proof.Current(ctx, opt.Bucket, or)
		probs = append(probs, cp.In(ip.Name, or.Key)...)
	}
	if err != nil {
		ir.Err = err
		return ir, probs, false
	}
	for _, or := range []*result.Object{seedsObj, secObj} {
		or.Verified = true
		for _, q := range probs.Errors() {
			if q.Object == or.Key {
				or.Verified = false
			}
		}
	}
	if probs.HasErrors() {
		return ir, probs, false
	}

	m := &manifest.Manifest{
		FormatVersion: manifest.Format, Instance: ip.Name, BootstrapPrefix: ip.BootstrapPrefix,
		Tool: opt.Tool, Source: opt.Source, Recipient: prep.Key.Recipient(), Secrets: ir.Secrets,
		Statement: st,
	}
	for _, or := range []*result.Object{secObj, seedsObj} {
		m.Objects = append(m.Objects, or.Manifested())
	}
	if unchangedPair && sameManifest(prep.Current[ip.Name].Manifest, m) {
		// Nothing changed, and the manifest already names these
		// versions: it stays, with the run that wrote them. What is
		// reported is what this run proved, equal to it in every field
		// compared: the bucket's tool and source are claims anyone who
		// can write the prefix chooses, never output.
		m.Tool, m.Source = manifest.Tool{}, manifest.Source{}
		ir.Manifest = m
		ir.Verified = true
		return ir, probs, true
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	data = append(data, '\n')
	emit("manifest", layout.ManifestName, 0, 0)
	// The objects are proven: a failed manifest write leaves them current
	// (verify reports the mismatch) rather than remove versions that a
	// manifest write which did land despite the error would name.
	if _, err := opt.Bucket.Put(ctx, layout.Key(ip.BootstrapPrefix, layout.ManifestName), bytes.NewReader(data), int64(len(data)), sha256.Sum256(data)); err != nil {
		ir.Err = err
		return ir, probs, true
	}
	ir.Manifest = m
	ir.Verified = true
	return ir, probs, true
}

// sameManifest says whether old, the manifest read at the start, records
// what m would: the same instance, prefix, key, secrets, statement and
// objects (versions and digests), whatever run wrote it.
func sameManifest(old, m *manifest.Manifest) bool {
	if old == nil || old.Statement == nil || m.Statement == nil || old.FormatVersion != m.FormatVersion || old.Instance != m.Instance ||
		old.BootstrapPrefix != m.BootstrapPrefix || old.Recipient != m.Recipient || len(old.Objects) != len(m.Objects) ||
		!bytes.Equal(old.Statement.Marshal(), m.Statement.Marshal()) || !slices.Equal(old.Secrets, m.Secrets) {
		return false
	}
	for i := range m.Objects {
		a, b := old.Objects[i], m.Objects[i]
		if a.Name != b.Name || a.Key != b.Key || a.Size != b.Size || a.SHA256 != b.SHA256 || a.VersionID != b.VersionID || a.TarSHA256 != b.TarSHA256 {
			return false
		}
	}
	return true
}

// putSecrets writes an instance's secrets archive. Publishing to a bucket
// where one was current when the run started, it writes only over that
// version, whose statement ordered this one (If-Match on its ETag): two
// publishes of one instance at once cannot both land. Where none was
// current the write is unconditional: stores differ on whether a key
// whose current version is a delete marker "exists" for If-None-Match
// (versitygw says it does), and two first publishes order nothing a host
// has installed.
func putSecrets(ctx context.Context, b bucket.Bucket, k string, body io.ReadSeeker, arch *gate.Archive, prep *gate.Prepared, instance string) (bucket.Object, error) {
	cb, ok := b.(interface {
		PutIf(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte, ifMatch string) (bucket.Object, error)
	})
	cur, had := prep.Current[instance]
	if !ok || !had || cur.ETag == "" {
		return b.Put(ctx, k, body, arch.Size, arch.SHA256)
	}
	obj, err := cb.PutIf(ctx, k, body, arch.Size, arch.SHA256, cur.ETag)
	if bucket.IsConditionFailed(err) {
		return obj, fmt.Errorf("another publish wrote %s after this run started (it was version %s): nothing was written over it; run again once that publish is done", k, problem.ShortVersion(cur.VersionID))
	}
	return obj, err
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
func rollback(ctx context.Context, b bucket.Bucket, ir *result.Instance, sums map[string]string) problem.List {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	var probs problem.List
	for i := range ir.Objects {
		or := &ir.Objects[i]
		if !or.Status.Wrote() {
			continue
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
			if err != nil || cur.VersionID != "" && (cur.VersionID == or.Before || cur.SHA256 != sums[or.Name] && cur.Claimed != sums[or.Name]) {
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

// unchanged returns the version current at k before this run, and whether
// it holds the bytes of arch, by the checksum the store computed (never by
// metadata an uploader chose, nor by a manifest).
func unchanged(ctx context.Context, b bucket.Bucket, k string, arch *gate.Archive) (string, bool, error) {
	cur, err := b.Head(ctx, k, "")
	if errors.Is(err, bucket.ErrNotFound) {
		return "", false, nil
	}
	if bucket.IsOperational(err) {
		return "", false, err
	}
	if err != nil {
		return "", false, nil
	}
	return cur.VersionID, cur.VersionID != "" && cur.SHA256 == arch.Hex() && cur.Size == arch.Size, nil
}

// FindCurrent reads what the bucket holds for each instance before a run,
// for the gate (gate.Published): with one HEAD of its secrets archive and
// one read of its manifest, whose statement is a hint the gate proves by
// the store's checksum. Only where that fails (a changed bundle, a
// manifest that names another version) does the gate ask Prove to
// download and decrypt. It reads at most concurrency instances at once (0
// means bucket.DefaultConcurrency).
func FindCurrent(ctx context.Context, b bucket.Bucket, instances []plan.Instance, key *agekey.Key, concurrency int) gate.Published {
	f := &found{ctx: ctx, b: b, key: key, concurrency: concurrency, prefixes: map[string]string{}, current: map[string]gate.Current{}}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(limit(concurrency))
	for _, in := range instances {
		f.prefixes[in.Name] = in.BootstrapPrefix
		g.Go(func() error {
			obj, err := b.Head(ctx, layout.Key(in.BootstrapPrefix, layout.SecretsObject), "")
			if err != nil || obj.VersionID == "" {
				return nil
			}
			cur := gate.Current{VersionID: obj.VersionID, ETag: obj.ETag, SHA256: obj.SHA256, Size: obj.Size}
			if m, err := proof.ReadManifest(ctx, b, layout.Key(in.BootstrapPrefix, layout.ManifestName)); err == nil {
				if mo := m.Object(layout.SecretsObject); mo != nil && mo.VersionID == obj.VersionID && mo.SHA256 == obj.SHA256 {
					cur.Hint, cur.Manifest = m.Statement, m
				}
			}
			mu.Lock()
			f.current[in.Name] = cur
			mu.Unlock()
			return nil
		})
	}
	g.Wait()
	return f
}

// found implements gate.Published over a bucket.
type found struct {
	ctx         context.Context
	b           bucket.Bucket
	key         *agekey.Key
	concurrency int
	prefixes    map[string]string
	current     map[string]gate.Current
}

func (f *found) Current() map[string]gate.Current { return f.current }

// Prove downloads the current version of each named instance's secrets
// archive and proves it: only when the identity inside is the key itself
// is its statement believed. Anything else is left out: this orders and
// saves work, it never decides what is correct.
func (f *found) Prove(names []string) map[string]*manifest.Statement {
	out := map[string]*manifest.Statement{}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(limit(f.concurrency))
	for _, name := range names {
		prefix := f.prefixes[name]
		g.Go(func() error {
			or := result.Object{Object: manifest.Object{Key: layout.Key(prefix, layout.SecretsObject), VersionID: f.current[name].VersionID}}
			c, st, p, err := proof.Secrets(f.ctx, f.b, &or, bundle.VerifyOptions{ExpectedRecipient: f.key.Recipient()}, name, prefix)
			if err != nil || st == nil || p.HasErrors() || !bytes.Equal(c.Identity, f.key.Canonical()) {
				return nil
			}
			mu.Lock()
			out[name] = st
			mu.Unlock()
			return nil
		})
	}
	g.Wait()
	return out
}

// Seeds returns the repo-seeds object current at s.Key when the store's
// checksum of it is the one s names.
func (f *found) Seeds(s manifest.Seeds) *manifest.Object {
	cur, err := f.b.Head(f.ctx, s.Key, "")
	if err != nil || cur.VersionID == "" || cur.SHA256 != s.SHA256 || cur.Size != s.Size {
		return nil
	}
	return &manifest.Object{
		Name: layout.SeedsObject, Key: s.Key, Size: s.Size, SHA256: s.SHA256,
		VersionID: cur.VersionID, TarSHA256: s.TarSHA256,
	}
}

// limit is how many instances Publish works on at once.
func (o Options) limit() int { return limit(o.Concurrency) }

func limit(concurrency int) int {
	if concurrency <= 0 {
		return bucket.DefaultConcurrency
	}
	return concurrency
}

func (o Options) wrote() result.Status {
	if o.Wrote == "" {
		return result.Uploaded
	}
	return o.Wrote
}
