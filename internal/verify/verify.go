// Package verify proves what a bucket holds now, for every selected
// instance, as a host booting now would download it: the image-pipeline
// gate and the scheduled integrity check. It needs no private key: each
// bundle is decrypted with the key inside it, pinned by expected-recipient.
package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/progress"
	"github.com/openclaw/clawdinator-bundle/internal/proof"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// Options tune Verify.
type Options struct {
	Bucket bucket.Bucket
	// DeepVerify downloads and unpacks every repo-seeds archive instead of
	// checking it by the store's SHA-256 checksum.
	DeepVerify bool
	// Concurrency bounds how many instances are checked at once, and so
	// how many requests are in flight; 0 means bucket.DefaultConcurrency.
	Concurrency int
	// ExpectedRecipient, when set, must match every bundled key.
	ExpectedRecipient string
	// Events, when set, receives progress. It must be safe for concurrent use.
	Events func(progress.Event)
}

// Inputs says what Verify checks.
type Inputs struct {
	// Instances is every instance of the instances file; Policy.Only
	// restricts which are checked (plan.Select).
	Instances []plan.Instance
	// InstancesFile is the instances file's path, as problems name it.
	InstancesFile string
	Policy        plan.Policy
	// SecretsDir, when set, is compared with what each bundle holds: a
	// bundled secret whose ciphertext differs from the file is drift.
	SecretsDir string
}

// Verify checks what a host would download now, for every selected
// instance: the current object at each key, against the manifest's version
// and digest when there is a manifest, and on its own terms always (layout,
// key, every secret decrypted to EOF).
func Verify(ctx context.Context, in Inputs, opt Options) *result.Result {
	// A wrong selection is reported, and what it still selects is checked
	// all the same: one run reports everything it can.
	selected, sprobs := plan.Select(in.Instances, in.InstancesFile, in.Policy)
	res := &result.Result{Mode: result.Verify, Problems: sprobs}
	res.Instances = make([]result.Instance, len(selected))
	// Problems in instance order, not completion order: reports are stable.
	probs := make([]problem.List, len(selected))
	rcps := make([]string, len(selected))
	var g errgroup.Group
	g.SetLimit(opt.limit())
	for i := range selected {
		g.Go(func() error {
			res.Instances[i], probs[i], rcps[i] = verifyOne(ctx, in, selected[i], opt)
			return nil
		})
	}
	g.Wait()
	recipients := map[string]bool{}
	for i := range selected {
		res.Problems = append(res.Problems, probs[i]...)
		if rcps[i] != "" {
			recipients[rcps[i]] = true
		}
	}
	if names := slices.Sorted(maps.Keys(recipients)); len(names) > 0 {
		res.Recipient = strings.Join(names, ",")
	}
	return res
}

func verifyOne(ctx context.Context, in Inputs, inst plan.Instance, opt Options) (result.Instance, problem.List, string) {
	ir := result.Instance{Instance: inst.Name, Prefix: inst.BootstrapPrefix}
	var probs problem.List
	if opt.Events != nil {
		opt.Events(progress.Event{Instance: inst.Name, Step: "verify"})
	}
	mkey := layout.Key(inst.BootstrapPrefix, layout.ManifestName)
	mprob := func(format string, a ...any) {
		probs.Add(problem.Problem{Instance: inst.Name, Object: mkey, Message: fmt.Sprintf(format, a...)})
	}
	m, err := proof.ReadManifest(ctx, opt.Bucket, mkey)
	switch {
	case err == nil:
		if m.Instance != inst.Name {
			mprob("manifest is for instance %q; publish again", m.Instance)
		}
		ir.Manifest = m
	case errors.Is(err, bucket.ErrNotFound):
		mprob("missing: the index of this instance's versions was deleted or never written; publish again")
	case bucket.IsOperational(err):
		ir.Err = err
		return ir, probs, ""
	default:
		mprob("unreadable manifest: %v", err)
	}

	// What a host downloads now is the current version of each object:
	// the secrets archive first, proven with the key inside it; then the
	// repo-seeds object its statement names.
	sec := result.Object{Object: manifest.Object{Name: layout.SecretsObject, Key: layout.Key(inst.BootstrapPrefix, layout.SecretsObject)}, Status: result.Checked}
	seeds := result.Object{Object: manifest.Object{Name: layout.SeedsObject, Key: layout.Key(inst.BootstrapPrefix, layout.SeedsObject)}, Status: result.Checked}
	found := map[string]problem.List{}
	var recipient string
	var st *manifest.Statement
	for _, or := range []*result.Object{&sec, &seeds} {
		var p problem.List
		cur, err := opt.Bucket.Head(ctx, or.Key, "")
		if errors.Is(err, bucket.ErrNotFound) {
			or.Status = result.Missing
			p.Add(problem.Problem{Message: "missing: a host booting now would fail to download it"})
			found[or.Name] = p
			continue
		}
		if err != nil {
			ir.Err = err
			ir.Objects = []result.Object{sec, seeds}
			return ir, probs, recipient
		}
		or.VersionID = cur.VersionID
		switch or.Name {
		case layout.SecretsObject:
			vo := bundle.VerifyOptions{
				ExpectedRecipient: opt.ExpectedRecipient,
				Forbidden:         plan.Forbidden(in.Instances, inst, in.Policy.Exclude),
			}
			var contents *bundle.SecretsContents
			contents, st, p, err = proof.Secrets(ctx, opt.Bucket, or, vo, inst.Name, inst.BootstrapPrefix)
			if err == nil && st != nil {
				var rp problem.List
				rp, err = rolledBack(ctx, opt, or, st, inst)
				p = append(p, rp...)
			}
			if err == nil && contents != nil {
				recipient = contents.Recipient
				ir.Secrets = contents.Secrets
				p = append(p, checkRequired(contents, inst, in.Policy)...)
				if in.SecretsDir != "" {
					p = append(p, compareDir(contents, in.SecretsDir)...)
				}
			}
		case layout.SeedsObject:
			if st == nil {
				// Nothing proven names these seeds: the problem is reported
				// on the secrets archive.
				or.Size = cur.Size
				found[or.Name] = p
				continue
			}
			p, err = proof.Seeds(ctx, opt.Bucket, or, st.RepoSeeds, opt.DeepVerify)
		}
		if err != nil {
			ir.Err = err
			ir.Objects = []result.Object{sec, seeds}
			return ir, probs, recipient
		}
		found[or.Name] = p
	}

	// The manifest is an index: it must agree with what the key vouches
	// for, and is never taken for a digest.
	if m != nil {
		for _, or := range []*result.Object{&sec, &seeds} {
			mo := m.Object(or.Name)
			switch {
			case mo == nil:
				mprob("lists no %s; publish again", or.Name)
			case or.Status != result.Missing && mo.VersionID != "" && mo.VersionID != or.VersionID:
				found[or.Name] = foldInto(fmt.Sprintf("changed outside a publish (drift or tampering): current version %s is not the version %s the manifest names",
					orNone(problem.ShortVersion(or.VersionID)), problem.ShortVersion(mo.VersionID)), found[or.Name])
			case st != nil && or.Name == layout.SeedsObject && (mo.SHA256 != st.RepoSeeds.SHA256 || mo.Size != st.RepoSeeds.Size):
				mprob("disagrees with the statement in %s about %s (sha256 %s, the statement says %s); publish again", layout.SecretsObject, or.Name, problem.Short(mo.SHA256), problem.Short(st.RepoSeeds.SHA256))
			case or.Name == layout.SecretsObject && or.Status != result.Missing && (mo.SHA256 != or.SHA256 || mo.Size != or.Size):
				mprob("disagrees with %s (sha256 %s, the object has %s); publish again", or.Name, problem.Short(mo.SHA256), problem.Short(or.SHA256))
			}
		}
		// A secrets archive replaced behind the manifest's back is reported
		// once, on the archive; the manifest then disagrees with it anyway.
		if mo := m.Object(layout.SecretsObject); mo != nil && (mo.VersionID == sec.VersionID || sec.VersionID == "" && mo.SHA256 == sec.SHA256) {
			if st != nil && !sameSecrets(m.Secrets, st.Secrets) {
				mprob("lists other secrets than the statement in %s; publish again", layout.SecretsObject)
			}
			if recipient != "" && m.Recipient != recipient {
				mprob("says the key is %s, the bundled key is %s; publish again", m.Recipient, recipient)
			}
		}
	}

	for _, or := range []*result.Object{&sec, &seeds} {
		p := found[or.Name].In(inst.Name, or.Key)
		probs = append(probs, p...)
		or.Verified = or.Status != result.Missing && !p.HasErrors() && (or.Name == layout.SecretsObject || st != nil)
	}
	ir.Objects = []result.Object{sec, seeds}
	ir.Verified = !probs.HasErrors() && sec.Verified && seeds.Verified
	return ir, probs, recipient
}

// RollbackVersions bounds how many earlier versions of each secrets
// archive that prove with the key verify reads to tell whether the current
// one was rolled back: a replay (an older genuine version copied on top)
// leaves the newer versions right below it. Versions that do not prove
// (written without the key: anyone who can put objects can add them, to
// push the newer genuine ones out of sight) do not count; at most
// RollbackListed versions are listed and RollbackUnproven of them that do
// not prove downloaded (one larger than a secrets archive can be is not
// downloaded). When those bounds end the look, verify warns.
const (
	RollbackVersions = 3
	RollbackListed   = 32
	RollbackUnproven = 8
)

// rolledBack reports a current secrets archive (or, proven, with statement
// st) older than a version still in the bucket: one of the RollbackVersions
// newest other versions proves with the same key to a statement of a
// higher sequence. A bucket that cannot list versions is said to in a
// warning: a rollback would then go unseen.
func rolledBack(ctx context.Context, opt Options, or *result.Object, st *manifest.Statement, inst plan.Instance) (problem.List, error) {
	var probs problem.List
	lister, ok := opt.Bucket.(interface {
		Versions(ctx context.Context, key string, max int) ([]bucket.Object, error)
	})
	if !ok || or.VersionID == "" {
		// A directory keeps no versions: nothing was rolled back.
		return nil, nil
	}
	versions, err := lister.Versions(ctx, or.Key, RollbackListed)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		probs.Warn(problem.Problem{Message: fmt.Sprintf("cannot list this object's versions, so a rolled-back (replayed) archive would go unseen: %v (verify needs s3:ListBucketVersions on the bucket)", err)})
		return probs, nil
	}
	proven, unproven, failed := 0, 0, 0
	for _, v := range versions {
		if v.VersionID == or.VersionID || proven == RollbackVersions || failed == RollbackUnproven {
			continue
		}
		if v.Size > bundle.SecretsLimits.MaxUnpacked {
			unproven++
			continue
		}
		vor := result.Object{Object: manifest.Object{Key: or.Key, VersionID: v.VersionID}}
		_, vst, _, err := proof.Secrets(ctx, opt.Bucket, &vor, bundle.VerifyOptions{ExpectedRecipient: opt.ExpectedRecipient}, inst.Name, inst.BootstrapPrefix)
		if err != nil && bucket.IsOperational(err) {
			return probs, err
		}
		if err != nil || vst == nil {
			unproven++
			failed++
			continue
		}
		proven++
		if vst.Sequence > st.Sequence {
			probs.Add(problem.Problem{Message: fmt.Sprintf("is older than a version still in the bucket: the current statement has sequence %d, version %s has %d (a rolled-back or replayed archive; hosts that installed the newer one refuse this one): publish again", st.Sequence, problem.ShortVersion(v.VersionID), vst.Sequence)})
			return probs, nil
		}
	}
	if proven < RollbackVersions && unproven > 0 && (failed == RollbackUnproven || len(versions) == RollbackListed) {
		probs.Warn(problem.Problem{Message: fmt.Sprintf("%d of the newest versions of this object do not prove with the key (written without it, or before a key rotation), so a rolled-back (replayed) archive behind them would go unseen", unproven)})
	}
	return probs, nil
}

// limit is how many instances Verify checks at once.
func (o Options) limit() int {
	if o.Concurrency <= 0 {
		return bucket.DefaultConcurrency
	}
	return o.Concurrency
}

func sameSecrets(a, b []bundle.SecretInfo) bool {
	if len(a) != len(b) {
		return false
	}
	byName := map[string]bundle.SecretInfo{}
	for _, s := range a {
		byName[s.Name] = s
	}
	for _, s := range b {
		if byName[s.Name] != s {
			return false
		}
	}
	return true
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

// checkRequired checks that a bundle holds the required secrets and the
// instance's own token (the statement proves which secrets were meant; the
// policy says which a host needs).
func checkRequired(c *bundle.SecretsContents, inst plan.Instance, pol plan.Policy) problem.List {
	var probs problem.List
	have := map[string]bool{}
	for _, s := range c.Secrets {
		have[s.Name] = true
	}
	for _, r := range append(append([]string(nil), pol.Required...), inst.TokenFile()) {
		name := plan.AgeName(strings.TrimSpace(r))
		if name != ".age" && !have[name] {
			probs.Add(problem.Problem{Entry: bundle.SecretsDir + "/" + name, Message: "required secret is missing from the bundle"})
		}
	}
	return probs
}

// compareDir reports bundled secrets whose ciphertext differs from the file
// of the same name in dir, or that dir no longer holds.
func compareDir(c *bundle.SecretsContents, dir string) problem.List {
	var probs problem.List
	for _, s := range c.Secrets {
		p := filepath.Join(dir, s.Name)
		data, err := os.ReadFile(p)
		if err != nil {
			probs.Add(problem.Problem{Entry: bundle.SecretsDir + "/" + s.Name, Message: fmt.Sprintf("drift: %s cannot be read (%v)", p, errors.Unwrap(err))})
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != s.SHA256 {
			probs.Add(problem.Problem{Entry: bundle.SecretsDir + "/" + s.Name, Message: fmt.Sprintf("drift: differs from %s (publish again to ship the new version)", p)})
		}
	}
	return probs
}

// foldInto reports a replaced object as one problem: the replacement, then
// what its own checks found about the archive as a whole. Findings about
// entries inside it stay separate, each naming its entry.
func foldInto(replaced string, p problem.List) problem.List {
	msg := replaced
	var rest problem.List
	for _, q := range p {
		if q.Severity == problem.Error && q.Entry == "" && q.File == "" {
			msg += "; " + q.Message
			continue
		}
		rest = append(rest, q)
	}
	out := problem.List{}
	out.Add(problem.Problem{Message: msg})
	return append(out, rest...)
}
