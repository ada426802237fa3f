package engine_test

import (
	"context"
	"fmt"
	"io"
	"path"
	"strconv"
	"sync"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/engine"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// versioned is a bucket.Dir that hands out version ids, as a versioned S3
// bucket does, and counts the writes of each object name. It keeps only the
// current version of a key: an older one is not found.
type versioned struct {
	dir     bucket.Dir
	mu      sync.Mutex
	next    int
	current map[string]string
	puts    map[string]int // object name (last key segment) -> Put calls
	copies  map[string]int // object name -> Copy calls
}

func newVersioned(dir string) *versioned {
	return &versioned{dir: bucket.Dir(dir), current: map[string]string{}, puts: map[string]int{}, copies: map[string]int{}}
}

func (v *versioned) stamp(key string, obj bucket.Object, count map[string]int) bucket.Object {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.next++
	v.current[key] = "v" + strconv.Itoa(v.next)
	count[path.Base(key)]++
	obj.VersionID = v.current[key]
	return obj
}

func (v *versioned) check(key, versionID string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if versionID != "" && versionID != v.current[key] {
		return fmt.Errorf("%s version %s: %w", key, versionID, bucket.ErrNotFound)
	}
	return nil
}

func (v *versioned) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte) (bucket.Object, error) {
	obj, err := v.dir.Put(ctx, key, body, size, sum)
	if err != nil {
		return obj, err
	}
	return v.stamp(key, obj, v.puts), nil
}

func (v *versioned) Get(ctx context.Context, key, versionID string) (io.ReadCloser, bucket.Object, error) {
	if err := v.check(key, versionID); err != nil {
		return nil, bucket.Object{}, err
	}
	rc, obj, err := v.dir.Get(ctx, key, "")
	v.mu.Lock()
	obj.VersionID = v.current[key]
	v.mu.Unlock()
	return rc, obj, err
}

func (v *versioned) Head(ctx context.Context, key, versionID string) (bucket.Object, error) {
	if err := v.check(key, versionID); err != nil {
		return bucket.Object{}, err
	}
	obj, err := v.dir.Head(ctx, key, "")
	v.mu.Lock()
	obj.VersionID = v.current[key]
	v.mu.Unlock()
	return obj, err
}

func (v *versioned) Copy(ctx context.Context, srcKey, srcVersion, dstKey string) (bucket.Object, error) {
	if err := v.check(srcKey, srcVersion); err != nil {
		return bucket.Object{}, err
	}
	obj, err := v.dir.Copy(ctx, srcKey, "", dstKey)
	if err != nil {
		return obj, err
	}
	return v.stamp(dstKey, obj, v.copies), nil
}

func (v *versioned) Delete(ctx context.Context, key, versionID string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if versionID != "" && versionID != v.current[key] {
		return nil
	}
	delete(v.current, key)
	return v.dir.Delete(ctx, key, "")
}

// Publish reuses a repo-seeds archive already in the bucket for an unchanged
// tree: an instance published for the first time gets it by a server-side
// copy of the published version, and nothing is uploaded again.
func TestPublishReusesPublishedSeeds(t *testing.T) {
	fx := fixture(t)
	b := newVersioned(t.TempDir())
	first, rest := sample.Instances[0], sample.Instances[1:]

	c := cfgFor(fx, config.Publish)
	c.Instances = []string{first}
	res, err := engine.Run(context.Background(), c, engine.Options{Bucket: b})
	if err != nil || !res.OK() || res.Mode != result.Publish || statuses(res)[result.Uploaded] != 2 {
		t.Fatalf("first publish: %v, ok %v, statuses %v\n%v", err, res.OK(), statuses(res), res.Problems)
	}
	if b.puts[layout.SeedsObject] != 1 || b.copies[layout.SeedsObject] != 0 {
		t.Fatalf("first publish: repo-seeds put %d times, copied %d times; want 1 put", b.puts[layout.SeedsObject], b.copies[layout.SeedsObject])
	}

	res, err = engine.Run(context.Background(), cfgFor(fx, config.Publish), engine.Options{Bucket: b})
	if err != nil || !res.OK() || len(res.Instances) != len(sample.Instances) {
		t.Fatalf("second publish: %v, ok %v\n%v", err, res.OK(), res.Problems)
	}
	if got := b.puts[layout.SeedsObject]; got != 1 {
		t.Errorf("repo-seeds put %d times in all, want 1: the published archive was not reused", got)
	}
	if got := b.copies[layout.SeedsObject]; got != len(rest) {
		t.Errorf("repo-seeds copied %d times, want %d (one per new instance)", got, len(rest))
	}
	for _, in := range res.Instances {
		want := result.Uploaded
		if in.Instance == first {
			want = result.Unchanged
		}
		for _, o := range in.Objects {
			if o.Status != want || !o.Verified {
				t.Errorf("%s %s: status %s verified %v, want %s and verified", in.Instance, o.Name, o.Status, o.Verified, want)
			}
		}
	}
}
