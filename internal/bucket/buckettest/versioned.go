package buckettest

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
)

// Versioned is a bucket.Bucket on local disk that keeps every version of
// every key and hands out version ids, as a versioned S3 bucket does, so
// that tests of what depends on versions (a manifest naming an older
// version, another writer replacing an object, a read of the version just
// written) need no S3 server. It passes Run (internal/bucket's
// conformance test).
//
// Each version is a file of its own, DIR/<version id>/<key>, written and
// read through bucket.Dir. Head reports the SHA-256 of a version's bytes as
// the checksum the store keeps, unless NoChecksum is set: then it reports
// none, as S3 does for an object uploaded without one.
type Versioned struct {
	// NoChecksum makes Head report no store checksum.
	NoChecksum bool

	dir  bucket.Dir
	mu   sync.Mutex
	next int
	// versions lists each key's version ids, oldest first; "" is a delete
	// marker, which makes the key missing while it is current.
	versions map[string][]string
}

// NewVersioned returns an empty Versioned bucket in dir.
func NewVersioned(dir string) *Versioned {
	return &Versioned{dir: bucket.Dir(dir), versions: map[string][]string{}}
}

// blob is where version id of key is stored in the directory.
func blob(key, id string) string { return id + "/" + key }

// resolve returns the version id that versionID names at key: the current
// one when versionID is "".
func (v *Versioned) resolve(key, versionID string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ids := v.versions[key]
	if versionID == "" {
		if len(ids) == 0 || ids[len(ids)-1] == "" {
			return "", fmt.Errorf("%s: %w", key, bucket.ErrNotFound)
		}
		return ids[len(ids)-1], nil
	}
	if !slices.Contains(ids, versionID) {
		return "", fmt.Errorf("%s version %s: %w", key, versionID, bucket.ErrNotFound)
	}
	return versionID, nil
}

// add makes id, whose bytes are stored, the current version of key.
func (v *Versioned) add(key, id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.versions[key] = append(v.versions[key], id)
}

func (v *Versioned) newID() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.next++
	return "v" + strconv.Itoa(v.next)
}

// Put stores body as a new version of key, which becomes current.
func (v *Versioned) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte) (bucket.Object, error) {
	id := v.newID()
	obj, err := v.dir.Put(ctx, blob(key, id), body, size, sum)
	if err != nil {
		return bucket.Object{}, err
	}
	v.add(key, id)
	obj.Key, obj.VersionID = key, id
	return obj, nil
}

// Get opens the given version of key, or the current one.
func (v *Versioned) Get(ctx context.Context, key, versionID string) (io.ReadCloser, bucket.Object, error) {
	id, err := v.resolve(key, versionID)
	if err != nil {
		return nil, bucket.Object{}, err
	}
	rc, obj, err := v.dir.Get(ctx, blob(key, id), "")
	if err != nil {
		return nil, bucket.Object{}, err
	}
	obj.Key, obj.VersionID = key, id
	return rc, obj, nil
}

// Head describes the given version of key, or the current one.
func (v *Versioned) Head(ctx context.Context, key, versionID string) (bucket.Object, error) {
	id, err := v.resolve(key, versionID)
	if err != nil {
		return bucket.Object{}, err
	}
	obj, err := v.dir.Head(ctx, blob(key, id), "")
	if err != nil {
		return bucket.Object{}, err
	}
	obj.Key, obj.VersionID = key, id
	if v.NoChecksum {
		obj.SHA256 = ""
	}
	return obj, nil
}

// Copy stores srcKey at srcVersion as a new version of dstKey.
func (v *Versioned) Copy(ctx context.Context, srcKey, srcVersion, dstKey string) (bucket.Object, error) {
	src, err := v.resolve(srcKey, srcVersion)
	if err != nil {
		return bucket.Object{}, err
	}
	id := v.newID()
	obj, err := v.dir.Copy(ctx, blob(srcKey, src), "", blob(dstKey, id))
	if err != nil {
		return bucket.Object{}, err
	}
	v.add(dstKey, id)
	obj.Key, obj.VersionID = dstKey, id
	return obj, nil
}

// Delete removes one version of key; with versionID "" it puts a delete
// marker on top, as S3 does, and the key is missing until a new version.
func (v *Versioned) Delete(ctx context.Context, key, versionID string) error {
	if versionID == "" {
		v.add(key, "")
		return nil
	}
	v.mu.Lock()
	ids := v.versions[key]
	i := slices.Index(ids, versionID)
	if i >= 0 {
		v.versions[key] = slices.Delete(slices.Clone(ids), i, i+1)
	}
	v.mu.Unlock()
	if i < 0 {
		return nil
	}
	return v.dir.Delete(ctx, blob(key, versionID), "")
}
