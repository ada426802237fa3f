package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"sync"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/store"
)

func tag(l problem.List, instance, object string) { l.In(instance, object) }

// forbidden returns the rule for names an instance's bundle must not hold.
func forbidden(all []plan.Instance, self plan.Instance, exclude []string) func(string) string {
	return func(name string) string {
		for _, in := range all {
			if in.Name != self.Name && in.TokenFile() == name {
				return "it is the discord token of instance " + in.Name
			}
		}
		if name != self.TokenFile() {
			if ok, _ := path.Match(plan.TokenPattern, name); ok {
				return "it is another instance's discord token"
			}
			for _, g := range exclude {
				if ok, _ := path.Match(g, name); ok {
					return "it matches exclude-secrets " + g
				}
			}
		}
		return ""
	}
}

// checkSecrets downloads a secrets archive at or.VersionID and verifies it,
// filling in what was found. The SHA-256 and size must match or's.
func checkSecrets(ctx context.Context, b Bucket, or *ObjectResult, vo bundle.VerifyOptions) (c *bundle.SecretsContents, probs problem.List, err error) {
	// A download cut mid-body cannot be retried by the SDK, which has
	// handed the body over already: read the whole object again.
	for attempt := 1; ; attempt++ {
		c, probs, err = checkSecretsOnce(ctx, b, or, vo)
		if !retryRead(ctx, err, attempt) {
			return c, probs, err
		}
	}
}

// retryRead says whether a pull-back that failed with err should be tried
// again, after waiting a moment.
func retryRead(ctx context.Context, err error, attempt int) bool {
	const attempts = 3
	if err == nil || !isOperational(err) || attempt >= attempts || ctx.Err() != nil {
		return false
	}
	if k := store.Classify(err); k == store.AccessDenied || k == store.NoSuchBucket {
		return false
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Duration(attempt) * 300 * time.Millisecond):
		return true
	}
}

func checkSecretsOnce(ctx context.Context, b Bucket, or *ObjectResult, vo bundle.VerifyOptions) (*bundle.SecretsContents, problem.List, error) {
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
		if isOperational(err) {
			return nil, probs, err
		}
		probs.Add(problem.Problem{Message: "download failed: " + err.Error()})
	}
	if cr.n > limit {
		probs.Add(problem.Problem{Message: fmt.Sprintf("larger than %d bytes: not a secrets archive", limit)})
	}
	got := hex.EncodeToString(h.Sum(nil))
	if or.SHA256 != "" && got != or.SHA256 {
		probs.Add(problem.Problem{Message: fmt.Sprintf("downloaded bytes have sha256 %s, expected %s", short(got), short(or.SHA256))})
	}
	// Report what was found, not what was hoped for.
	or.SHA256, or.Size = got, cr.n
	if or.VersionID == "" {
		or.VersionID = obj.VersionID
	}
	return contents, probs, nil
}

// checkSeeds verifies a repo-seeds archive by the SHA-256 the store reports
// for it, or by downloading it (deep, or when the store reports none).
func checkSeeds(ctx context.Context, b Bucket, or *ObjectResult, deep bool) (probs problem.List, err error) {
	for attempt := 1; ; attempt++ {
		probs, err = checkSeedsOnce(ctx, b, or, deep)
		if !retryRead(ctx, err, attempt) {
			return probs, err
		}
	}
}

func checkSeedsOnce(ctx context.Context, b Bucket, or *ObjectResult, deep bool) (problem.List, error) {
	var probs problem.List
	if !deep {
		obj, err := b.Head(ctx, or.Key, or.VersionID)
		if err != nil {
			return nil, err
		}
		if or.VersionID == "" {
			or.VersionID = obj.VersionID
		}
		if obj.SHA256 != "" {
			if or.SHA256 == "" {
				or.SHA256, or.Size = obj.SHA256, obj.Size
			}
			if obj.Size != or.Size || obj.SHA256 != or.SHA256 {
				probs.Add(problem.Problem{Message: fmt.Sprintf("stored object has sha256 %s (%d bytes), expected %s (%d bytes)", short(obj.SHA256), obj.Size, short(or.SHA256), or.Size)})
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
		_, vp := bundle.VerifySeeds(tee, bundle.SeedsLimits)
		probs = append(probs, vp...)
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		if isOperational(err) {
			return probs, err
		}
		probs.Add(problem.Problem{Message: "download failed: " + err.Error()})
	}
	got := hex.EncodeToString(h.Sum(nil))
	if or.SHA256 != "" && (got != or.SHA256 || cr.n != or.Size) {
		probs.Add(problem.Problem{Message: fmt.Sprintf("downloaded bytes have sha256 %s (%d bytes), expected %s (%d bytes)", short(got), cr.n, short(or.SHA256), or.Size)})
	}
	or.SHA256, or.Size = got, cr.n
	if or.VersionID == "" {
		or.VersionID = obj.VersionID
	}
	return probs, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func readManifest(ctx context.Context, b Bucket, k string) (*Manifest, error) {
	rc, _, err := b.Get(ctx, k, "")
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, err
	}
	return ParseManifest(data)
}

// isOperational says whether err means the run could not complete (as
// opposed to a finding about the content).
func isOperational(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch store.Classify(err) {
	case store.Unreachable, store.AccessDenied, store.NoSuchBucket:
		return true
	}
	return false
}

// forEach runs fn(0..n-1) with at most limit running at once.
func forEach(ctx context.Context, n, limit int, fn func(i int)) {
	if limit <= 0 {
		limit = 4
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}(i)
	}
	wg.Wait()
}

// progressReader reports bytes read so far; seeking back (a retry) restarts
// the count.
type progressReader struct {
	io.ReadSeeker
	n      int64
	report func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.ReadSeeker.Read(b)
	p.n += int64(n)
	if p.report != nil && n > 0 {
		p.report(p.n)
	}
	return n, err
}

func (p *progressReader) Seek(off int64, whence int) (int64, error) {
	pos, err := p.ReadSeeker.Seek(off, whence)
	if err == nil {
		p.n = pos
	}
	return pos, err
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
