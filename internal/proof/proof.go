// Package proof proves what a bucket holds: the pull-back step that
// publish runs on the versions it just wrote, verify on what is current now,
// and install on what a host downloads. Reads are bounded, and each archive
// is checked on its own terms (internal/bundle) before anything it says is
// believed. The proof is a chain, each link resting on the one before:
//
//  1. Secrets: the secrets archive is well formed and its key, pinned to an
//     expected recipient when there is one, decrypts every secret to EOF.
//  2. The statement inside it, about this instance at this prefix and
//     listing exactly the secrets the archive holds, is then vouched for
//     by that key: whoever could replace it could also read the key.
//  3. Seeds: the repo-seeds object is the one the statement names, by the
//     store's own SHA-256 checksum or by the downloaded bytes, never by
//     metadata an uploader chose.
//  4. Current: the versions proven are still what a host downloads now.
//
// A manifest (ReadManifest) is an index of versions, never a proof: its
// readers compare it with what the chain proved.
package proof

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// countWriter counts the bytes written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// Secrets downloads a secrets archive at or.VersionID and verifies it,
// filling in what was found; when or.SHA256 is set, the bytes must have
// that digest. It returns the statement inside the archive only when the
// whole archive proved good (its key, pinned by vo.ExpectedRecipient when
// set, decrypts every secret) and the statement is about instance at
// prefix and lists exactly the secrets the archive holds: only then does
// the key vouch for it. An empty instance accepts the statement's own: a
// host knows its prefix, not its instance name.
func Secrets(ctx context.Context, b bucket.Bucket, or *result.Object, vo bundle.VerifyOptions, instance, prefix string) (c *bundle.SecretsContents, st *manifest.Statement, probs problem.List, err error) {
	// A download cut mid-body cannot be retried by the SDK, which has
	// handed the body over already: read the whole object again.
	for attempt := 1; ; attempt++ {
		c, probs, err = checkSecretsOnce(ctx, b, or, vo)
		if !bucket.RetryRead(ctx, err, attempt) {
			break
		}
	}
	if err != nil || c == nil {
		return c, nil, probs, err
	}
	st, sp := statement(c, instance, prefix)
	probs = append(probs, sp...)
	if probs.HasErrors() {
		return c, nil, probs, nil
	}
	return c, st, probs, nil
}

// SecretsData proves a secrets archive held in memory, as Secrets proves
// one in the bucket: publish proves the bytes it built once, and then
// needs only the store's checksum of an object to know it holds them.
func SecretsData(data []byte, vo bundle.VerifyOptions, instance, prefix string) (*bundle.SecretsContents, *manifest.Statement, problem.List) {
	c, probs := bundle.VerifySecrets(bytes.NewReader(data), vo)
	if c == nil || probs.HasErrors() {
		return c, nil, probs
	}
	st, sp := statement(c, instance, prefix)
	probs = append(probs, sp...)
	if probs.HasErrors() {
		return c, nil, probs
	}
	return c, st, probs
}

// statement checks the statement inside a secrets archive against the
// archive itself.
func statement(c *bundle.SecretsContents, instance, prefix string) (*manifest.Statement, problem.List) {
	var probs problem.List
	if c.Statement == nil {
		probs.Entryf(bundle.StatementEntry, "missing: this bundle was made before bundles carried a statement, so nothing ties its repo-seeds to the key; publish again")
		return nil, probs
	}
	st, err := manifest.ParseStatement(c.Statement)
	if err != nil {
		probs.Entryf(bundle.StatementEntry, "%v; publish again", err)
		return nil, probs
	}
	if instance == "" {
		instance = st.Instance
	}
	if st.Instance != instance || st.BootstrapPrefix != prefix {
		probs.Entryf(bundle.StatementEntry, "is the statement of instance %q at %q, not of %q at %q: a bundle copied from another instance", st.Instance, st.BootstrapPrefix, instance, prefix)
	}
	if want := layout.Key(prefix, layout.SeedsObject); st.RepoSeeds.Key != want {
		probs.Entryf(bundle.StatementEntry, "names repo-seeds at %s, not %s", st.RepoSeeds.Key, want)
	}
	listed := map[string]bundle.SecretInfo{}
	for _, s := range st.Secrets {
		listed[s.Name] = s
	}
	for _, s := range c.Secrets {
		l, ok := listed[s.Name]
		switch {
		case !ok:
			probs.Entryf(bundle.SecretsDir+"/"+s.Name, "is in the archive but not in its statement")
		case l != s:
			probs.Entryf(bundle.SecretsDir+"/"+s.Name, "differs from what the statement lists (sha256 %s, the statement says %s)", problem.Short(s.SHA256), problem.Short(l.SHA256))
		}
		delete(listed, s.Name)
	}
	for _, name := range slices.Sorted(maps.Keys(listed)) {
		probs.Entryf(bundle.SecretsDir+"/"+name, "is listed in the statement but missing from the archive")
	}
	return st, probs
}

func checkSecretsOnce(ctx context.Context, b bucket.Bucket, or *result.Object, vo bundle.VerifyOptions) (*bundle.SecretsContents, problem.List, error) {
	var probs problem.List
	rc, obj, err := b.Get(ctx, or.Key, or.VersionID)
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	h := sha256.New()
	cr := &countWriter{}
	// Cap what is read: a secrets archive is small, a planted one may not be.
	limit := bundle.SecretsLimits.MaxUnpacked
	tee := io.TeeReader(io.LimitReader(rc, limit+1), io.MultiWriter(h, cr))
	contents, vp := bundle.VerifySecrets(tee, vo)
	probs = append(probs, vp...)
	if _, err := io.Copy(io.Discard, tee); err != nil {
		if bucket.IsOperational(err) {
			return nil, probs, err
		}
		// An archive already refused needs no second reason.
		if !probs.HasErrors() {
			probs.Add(problem.Problem{Message: downloadFailed(err)})
		}
	}
	if cr.n > limit {
		probs.Add(problem.Problem{Message: fmt.Sprintf("larger than %d bytes: not a secrets archive", limit)})
	}
	got := hex.EncodeToString(h.Sum(nil))
	if or.SHA256 != "" && got != or.SHA256 {
		probs.Add(problem.Problem{Message: fmt.Sprintf("downloaded bytes have sha256 %s, expected %s", problem.Short(got), problem.Short(or.SHA256))})
	}
	// Report what was found, not what was hoped for.
	or.SHA256, or.Size = got, cr.n
	if or.VersionID == "" {
		or.VersionID = obj.VersionID
	}
	return contents, probs, nil
}

// Seeds proves a repo-seeds object at or.VersionID against want, the
// statement of a proven secrets archive: by the full-object SHA-256
// checksum the store computed, or, when it keeps none or deep is set, by
// downloading it (deep also unpacks it strictly and compares the digest of
// its tar stream). Metadata an uploader chose is never taken for proof.
func Seeds(ctx context.Context, b bucket.Bucket, or *result.Object, want manifest.Seeds, deep bool) (probs problem.List, err error) {
	for attempt := 1; ; attempt++ {
		probs, err = checkSeedsOnce(ctx, b, or, want, deep)
		if !bucket.RetryRead(ctx, err, attempt) {
			return probs, err
		}
	}
}

func checkSeedsOnce(ctx context.Context, b bucket.Bucket, or *result.Object, want manifest.Seeds, deep bool) (problem.List, error) {
	var probs problem.List
	mismatch := func(sum string, size int64, how string) {
		probs.Add(problem.Problem{Message: fmt.Sprintf("is not the repo-seeds object its secrets archive names: %s sha256 %s (%d bytes), the statement says %s (%d bytes)", how, problem.Short(sum), size, problem.Short(want.SHA256), want.Size)})
	}
	if !deep {
		obj, err := b.Head(ctx, or.Key, or.VersionID)
		if err != nil {
			return nil, err
		}
		if or.VersionID == "" {
			or.VersionID = obj.VersionID
		}
		if obj.SHA256 != "" {
			or.SHA256, or.Size = obj.SHA256, obj.Size
			if obj.Size != want.Size || obj.SHA256 != want.SHA256 {
				mismatch(obj.SHA256, obj.Size, "the store's checksum is")
			}
			return probs, nil
		}
	}
	rc, obj, err := b.Get(ctx, or.Key, or.VersionID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h := sha256.New()
	cr := &countWriter{}
	tee := io.TeeReader(rc, io.MultiWriter(h, cr))
	if deep {
		stats, vp := bundle.VerifySeeds(tee, bundle.SeedsLimits)
		probs = append(probs, vp...)
		if !vp.HasErrors() && stats.TarSHA256 != want.TarSHA256 {
			probs.Add(problem.Problem{Message: fmt.Sprintf("unpacks to a tar stream with sha256 %s, the statement says %s", problem.Short(stats.TarSHA256), problem.Short(want.TarSHA256))})
		}
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		if bucket.IsOperational(err) {
			return probs, err
		}
		probs.Add(problem.Problem{Message: downloadFailed(err)})
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != want.SHA256 || cr.n != want.Size {
		mismatch(got, cr.n, "the downloaded bytes have")
	}
	or.SHA256, or.Size = got, cr.n
	if or.VersionID == "" {
		or.VersionID = obj.VersionID
	}
	return probs, nil
}

// ReadManifest reads and parses the manifest at key k (1 MiB at most).
func ReadManifest(ctx context.Context, b bucket.Bucket, k string) (*manifest.Manifest, error) {
	rc, _, err := b.Get(ctx, k, "")
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, err
	}
	return manifest.Parse(data)
}

// Current confirms the version just verified is still what a host would
// download now: no other writer raced us. S3 failing to answer is an
// operational error, not a finding.
func Current(ctx context.Context, b bucket.Bucket, or *result.Object) (problem.List, error) {
	var probs problem.List
	if or.VersionID == "" {
		return nil, nil
	}
	cur, err := b.Head(ctx, or.Key, "")
	if bucket.IsOperational(err) {
		return nil, err
	}
	if err != nil {
		probs.Add(problem.Problem{Message: fmt.Sprintf("cannot confirm it is the current version: %v", err)})
		return probs, nil
	}
	if cur.VersionID != or.VersionID {
		probs.Add(problem.Problem{Message: fmt.Sprintf("another writer replaced it: current version %s is not the version %s this run wrote", problem.ShortVersion(cur.VersionID), problem.ShortVersion(or.VersionID))})
	}
	return probs, nil
}

// downloadFailed says why a download that completed is not to be trusted.
// The SDK checks the body against the checksum the store keeps; its own
// message quotes both in base64, which helps nobody.
func downloadFailed(err error) string {
	if strings.Contains(err.Error(), "checksum did not match") {
		return "the downloaded bytes do not match the SHA-256 checksum the store keeps for them (corrupt or replaced while being read)"
	}
	return "download failed: " + err.Error()
}
