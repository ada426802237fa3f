package bucket

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
)

// Bucket is where bundles live: S3 (*S3) or a local directory laid out as
// the bucket is (Dir). Every implementation passes the suite in
// internal/bucket/buckettest.
//
// A missing key or version yields an error that Is ErrNotFound. A bucket
// that keeps versions returns the version id of what it wrote or read; one
// that does not (Dir) returns "" and only knows the current bytes.
type Bucket interface {
	// Put stores exactly size bytes of body, whose SHA-256 is sum; a body
	// that does not match is refused and nothing is stored.
	Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte) (Object, error)
	// Get opens the object at key: the given version, or the current one
	// when versionID is "".
	Get(ctx context.Context, key, versionID string) (io.ReadCloser, Object, error)
	// Head describes the object at key without its bytes. Object.SHA256 is
	// the full-object digest the store keeps, or "" when it keeps none.
	Head(ctx context.Context, key, versionID string) (Object, error)
	// Copy copies srcKey at srcVersion to dstKey without the bytes passing
	// through this process.
	Copy(ctx context.Context, srcKey, srcVersion, dstKey string) (Object, error)
	// Delete removes one version of key (the current object when the
	// bucket keeps no versions and versionID is ""). Removing the current
	// version makes the previous one current. Deleting what is not there
	// is not an error.
	Delete(ctx context.Context, key, versionID string) error
}

// Dir is a Bucket on local disk: key "a/b" is the file DIR/a/b. It keeps no
// versions: version ids are empty, and a non-empty one is not found.
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
func (d Dir) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte) (Object, error) {
	p, err := d.path(key)
	if err != nil {
		return Object{}, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return Object{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return Object{}, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Object{}, fmt.Errorf("write %s: %w", p, err)
	}
	var got [32]byte
	copy(got[:], h.Sum(nil))
	if n != size || got != sum {
		return Object{}, fmt.Errorf("write %s: content does not match its checksum", p)
	}
	// The secrets archive holds the age identity in the clear: only its
	// owner may read it. The rest is public to the host's user.
	mode := os.FileMode(0o644)
	if path.Base(key) == bundle.SecretsObject {
		mode = 0o600
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return Object{}, err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return Object{}, err
	}
	return Object{Key: key, Size: n, SHA256: hex.EncodeToString(got[:])}, nil
}

// Get opens the file for key; versionID must be empty.
func (d Dir) Get(ctx context.Context, key, versionID string) (io.ReadCloser, Object, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, Object{}, err
	}
	if versionID != "" {
		return nil, Object{}, fmt.Errorf("%s version %s: %w", p, versionID, ErrNotFound)
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Object{}, fmt.Errorf("%s: %w", p, ErrNotFound)
	}
	if err != nil {
		return nil, Object{}, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Object{}, err
	}
	return f, Object{Key: key, Size: st.Size()}, nil
}

// Head describes the file for key, with the SHA-256 of its bytes (a Dir
// has no checksum stored apart from them, so it reads the file).
func (d Dir) Head(ctx context.Context, key, versionID string) (Object, error) {
	rc, obj, err := d.Get(ctx, key, versionID)
	if err != nil {
		return Object{}, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return Object{}, err
	}
	obj.Size, obj.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	return obj, nil
}

// Copy copies the file for srcKey to dstKey (atomically, by rename).
func (d Dir) Copy(ctx context.Context, srcKey, srcVersion, dstKey string) (Object, error) {
	rc, obj, err := d.Get(ctx, srcKey, srcVersion)
	if err != nil {
		return Object{}, err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return Object{}, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	f, ok := rc.(*os.File)
	if !ok {
		return Object{}, fmt.Errorf("copy %s: not a file", srcKey)
	}
	return d.Put(ctx, dstKey, io.NewSectionReader(f, 0, obj.Size), obj.Size, sum)
}

// Delete removes the file for key. A Dir keeps no versions: versionID must
// be empty, and nothing older becomes current.
func (d Dir) Delete(ctx context.Context, key, versionID string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if versionID != "" {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
