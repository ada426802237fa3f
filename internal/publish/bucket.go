package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/store"
)

// Bucket is where bundles live: S3 (*store.Store) or a local directory laid
// out as the bucket is (Dir). Missing objects yield store.ErrNotFound.
type Bucket interface {
	Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte) (store.Object, error)
	Get(ctx context.Context, key, versionID string) (io.ReadCloser, store.Object, error)
	Head(ctx context.Context, key, versionID string) (store.Object, error)
	// Copy copies srcKey at srcVersion to dstKey without the bytes passing
	// through this process.
	Copy(ctx context.Context, srcKey, srcVersion, dstKey string) (store.Object, error)
}

// Dir is a Bucket on local disk: key "a/b" is the file DIR/a/b. It keeps no
// versions; version ids are empty.
type Dir string

func (d Dir) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, `\`) {
		return "", fmt.Errorf("unsafe key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == ".." || seg == "." || seg == "" {
			return "", fmt.Errorf("unsafe key %q", key)
		}
	}
	return filepath.Join(string(d), filepath.FromSlash(key)), nil
}

// Put writes body to a temporary file beside the target and renames it into
// place, so a reader never sees half a file.
func (d Dir) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte) (store.Object, error) {
	p, err := d.path(key)
	if err != nil {
		return store.Object{}, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return store.Object{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return store.Object{}, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return store.Object{}, fmt.Errorf("write %s: %w", p, err)
	}
	var got [32]byte
	copy(got[:], h.Sum(nil))
	if n != size || got != sum {
		return store.Object{}, fmt.Errorf("write %s: content does not match its checksum", p)
	}
	// The secrets archive holds the age identity in the clear: only its
	// owner may read it. The rest is public to the host's user.
	mode := os.FileMode(0o644)
	if path.Base(key) == bundle.SecretsObject {
		mode = 0o600
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return store.Object{}, err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return store.Object{}, err
	}
	return store.Object{Key: key, Size: n, SHA256: hex.EncodeToString(got[:])}, nil
}

// Get opens the file for key; versionID must be empty.
func (d Dir) Get(ctx context.Context, key, versionID string) (io.ReadCloser, store.Object, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, store.Object{}, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, store.Object{}, fmt.Errorf("%s: %w", p, store.ErrNotFound)
	}
	if err != nil {
		return nil, store.Object{}, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, store.Object{}, err
	}
	return f, store.Object{Key: key, Size: st.Size()}, nil
}

// Head stats the file for key. It reports no SHA-256; callers that need one
// read the file.
func (d Dir) Head(ctx context.Context, key, versionID string) (store.Object, error) {
	p, err := d.path(key)
	if err != nil {
		return store.Object{}, err
	}
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return store.Object{}, fmt.Errorf("%s: %w", p, store.ErrNotFound)
	}
	if err != nil {
		return store.Object{}, err
	}
	return store.Object{Key: key, Size: st.Size()}, nil
}

// Copy copies the file for srcKey to dstKey (atomically, by rename).
func (d Dir) Copy(ctx context.Context, srcKey, srcVersion, dstKey string) (store.Object, error) {
	rc, obj, err := d.Get(ctx, srcKey, srcVersion)
	if err != nil {
		return store.Object{}, err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return store.Object{}, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	f, ok := rc.(*os.File)
	if !ok {
		return store.Object{}, fmt.Errorf("copy %s: not a file", srcKey)
	}
	return d.Put(ctx, dstKey, io.NewSectionReader(f, 0, obj.Size), obj.Size, sum)
}
