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
	"os"
	"path/filepath"
	"strings"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/check"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// Options tune Verify.
type Options struct {
	Bucket bucket.Bucket
	// DeepVerify downloads and unpacks every repo-seeds archive instead of
	// checking it by the store's SHA-256 checksum.
	DeepVerify bool
	// Concurrency bounds how many instances are checked at once.
	Concurrency int
	// ExpectedRecipient, when set, must match every bundled key.
	ExpectedRecipient string
	// Events, when set, receives progress. It must be safe for concurrent use.
	Events func(check.Event)
}

// Inputs says what Verify checks.
type Inputs struct {
	// Instances is every instance of the instances file; Policy.Only
	// restricts which are checked.
	Instances []plan.Instance
	Policy    plan.Policy
	// SecretsDir, when set, is compared with what each bundle holds: a
	// bundled secret whose ciphertext differs from the file is drift.
	SecretsDir string
}

// Verify checks what a host would download now, for every selected
// instance: the current object at each key, against the manifest's version
// and digest when there is a manifest, and on its own terms always (layout,
// key, every secret decrypted to EOF).
func Verify(ctx context.Context, in Inputs, opt Options) *result.Result {
	res := &result.Result{Mode: result.Verify}
	selected := in.Instances
	if len(in.Policy.Only) > 0 {
		want := map[string]bool{}
		for _, n := range in.Policy.Only {
			want[strings.TrimSpace(n)] = true
		}
		selected = nil
		for _, i := range in.Instances {
			if want[i.Name] {
				selected = append(selected, i)
				delete(want, i.Name)
			}
		}
		for _, n := range check.SortedNames(want) {
			if n != "" {
				res.Problems.Add(problem.Problem{Instance: n, Message: "not in the instances file"})
			}
		}
	}
	res.Instances = make([]result.Instance, len(selected))
	// Problems in instance order, not completion order: reports are stable.
	probs := make([]problem.List, len(selected))
	rcps := make([]string, len(selected))
	check.ForEach(ctx, len(selected), opt.Concurrency, func(i int) {
		res.Instances[i], probs[i], rcps[i] = verifyOne(ctx, in, selected[i], opt)
	})
	recipients := map[string]bool{}
	for i := range selected {
		res.Problems = append(res.Problems, probs[i]...)
		if rcps[i] != "" {
			recipients[rcps[i]] = true
		}
	}
	if names := check.SortedNames(recipients); len(names) > 0 {
		res.Recipient = strings.Join(names, ",")
	}
	return res
}

func verifyOne(ctx context.Context, in Inputs, inst plan.Instance, opt Options) (result.Instance, problem.List, string) {
	ir := result.Instance{Instance: inst.Name, Prefix: inst.BootstrapPrefix}
	var probs problem.List
	if opt.Events != nil {
		opt.Events(check.Event{Instance: inst.Name, Step: "verify"})
	}
	mkey := check.Key(inst.BootstrapPrefix, bundle.ManifestName)
	m, err := check.ReadManifest(ctx, opt.Bucket, mkey)
	switch {
	case err == nil:
		if m.Instance != inst.Name {
			probs.Add(problem.Problem{Instance: inst.Name, Object: mkey, Message: fmt.Sprintf("manifest is for instance %q", m.Instance)})
		}
		ir.Manifest = m
	case errors.Is(err, bucket.ErrNotFound):
		probs.Warn(problem.Problem{Instance: inst.Name, Object: mkey, Message: "no manifest: checking the bundle against the required secrets only"})
	case check.IsOperational(err):
		ir.Err = err
		return ir, probs, ""
	default:
		probs.Add(problem.Problem{Instance: inst.Name, Object: mkey, Message: "unreadable manifest: " + err.Error()})
	}

	var recipient string
	for _, name := range []string{bundle.SecretsObject, bundle.SeedsObject} {
		k := check.Key(inst.BootstrapPrefix, name)
		or := result.Object{Name: name, Key: k, Status: result.Checked}
		var p problem.List
		// What a host downloads now is the current version: fetch that,
		// then compare it with what the manifest promised.
		cur, err := opt.Bucket.Head(ctx, k, "")
		if errors.Is(err, bucket.ErrNotFound) {
			or.Status = result.Missing
			p.Add(problem.Problem{Message: "missing: a host booting now would fail to download it"})
			p.In(inst.Name, k)
			probs = append(probs, p...)
			ir.Objects = append(ir.Objects, or)
			continue
		}
		if err != nil {
			ir.Err = err
			ir.Objects = append(ir.Objects, or)
			return ir, probs, recipient
		}
		or.VersionID, or.Size = cur.VersionID, cur.Size
		replaced := ""
		if mo := m.Object(name); mo != nil {
			if mo.VersionID != "" && cur.VersionID != mo.VersionID {
				replaced = fmt.Sprintf("changed outside a publish (drift or tampering): current version %s is not the version %s the manifest names", orNone(check.ShortVersion(cur.VersionID)), check.ShortVersion(mo.VersionID))
			} else {
				// Hash against the manifest's digest; a mismatch is reported
				// by the checks below.
				or.SHA256, or.Size = mo.SHA256, mo.Size
			}
		}
		switch name {
		case bundle.SecretsObject:
			vo := bundle.VerifyOptions{
				ExpectedRecipient: opt.ExpectedRecipient,
				Forbidden:         check.Forbidden(in.Instances, inst, in.Policy.Exclude),
			}
			if m != nil {
				vo.Expected = m.SecretNames()
			}
			contents, vp, err := check.Secrets(ctx, opt.Bucket, &or, vo)
			if err != nil {
				ir.Err = err
				ir.Objects = append(ir.Objects, or)
				return ir, probs, recipient
			}
			p = append(p, vp...)
			if contents != nil {
				recipient = contents.Recipient
				ir.Secrets = contents.Secrets
				p = append(p, checkRequired(contents, inst, in.Policy, m == nil)...)
				if m != nil && m.Recipient != "" && contents.Recipient != "" && contents.Recipient != m.Recipient {
					p.Add(problem.Problem{Message: fmt.Sprintf("bundled key is %s, the manifest says %s", contents.Recipient, m.Recipient)})
				}
				if in.SecretsDir != "" {
					p = append(p, compareDir(contents, in.SecretsDir)...)
				}
			}
		case bundle.SeedsObject:
			or.VersionID = cur.VersionID
			sp, err := check.Seeds(ctx, opt.Bucket, &or, opt.DeepVerify)
			if err != nil {
				ir.Err = err
				ir.Objects = append(ir.Objects, or)
				return ir, probs, recipient
			}
			p = append(p, sp...)
		}
		if replaced != "" {
			p = foldInto(replaced, p)
		}
		p.In(inst.Name, k)
		probs = append(probs, p...)
		or.Verified = len(p.Errors()) == 0
		ir.Objects = append(ir.Objects, or)
	}
	ir.Verified = len(probs.Errors()) == 0
	return ir, probs, recipient
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

// checkRequired checks that a bundle holds the required secrets and the
// instance's own token. With a manifest the exact set is already compared.
func checkRequired(c *bundle.SecretsContents, inst plan.Instance, pol plan.Policy, noManifest bool) problem.List {
	var probs problem.List
	if !noManifest {
		return nil
	}
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
