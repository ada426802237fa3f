package bucket

import (
	"context"
	"crypto/rand"
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

	"github.com/openclaw/clawdinator-bundle/internal/layout"
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
//
// Dir never leaves DIR through a symlink: no operation follows a symlink
// anywhere below DIR, whether it is a directory on the way to the key or the
// key's file itself, and whether it points outside DIR or inside it (one
// rule, simple to state: a bucket directory holds no symlinks). Such a key
// fails with an error that Is ErrSymlink and names the path. Each path is
// checked with Lstat, component by component, and then used through an
// os.Root opened on DIR, so that even a symlink planted between the check
// and the use cannot lead outside DIR.
//
// DIR itself may be a symlink: it is the directory the user named
// (--out DIR), resolved once when the operation opens it.
type Dir string

// ErrSymlink matches, with errors.Is, the error of a Dir operation refused
// because a path below the directory is a symlink.
var ErrSymlink = errors.New("is a symlink, not followed: nothing below a bucket directory may be a symlink")

// rel checks key and returns it as a path relative to DIR.
func (d Dir) rel(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, `\`) {
		return "", fmt.Errorf("unsafe key %q", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == ".." || seg == "." || seg == "" {
			return "", fmt.Errorf("unsafe key %q", key)
		}
	}
	return filepath.FromSlash(key), nil
}

// show is the path to name in errors: DIR/rel.
func (d Dir) show(rel string) string { return filepath.Join(string(d), rel) }

// open opens DIR as an os.Root, creating it first when create is set.
func (d Dir) open(create bool) (*os.Root, error) {
	if create {
		if err := os.MkdirAll(string(d), 0o755); err != nil {
			return nil, err
		}
	}
	return os.OpenRoot(string(d))
}

// walk checks every directory on the way to rel with Lstat: each must be a
// real directory, not a symlink. With mkdir, missing ones are created;
// without, a missing one is reported as fs.ErrNotExist. It then Lstats rel
// itself and returns what it found (nil when rel does not exist), refusing a
// symlink.
func (d Dir) walk(root *os.Root, rel string, mkdir bool) (fs.FileInfo, error) {
	segs := strings.Split(rel, string(filepath.Separator))
	for i := 1; i < len(segs); i++ {
		dir := filepath.Join(segs[:i]...)
		st, err := root.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) && mkdir {
			if err = root.Mkdir(dir, 0o755); errors.Is(err, fs.ErrExist) {
				err = nil // made meanwhile: check what it is
			}
			if err == nil {
				st, err = root.Lstat(dir)
			}
		}
		if err != nil {
			return nil, err
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%s %w", d.show(dir), ErrSymlink)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("%s is not a directory", d.show(dir))
		}
	}
	st, err := root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s %w", d.show(rel), ErrSymlink)
	}
	return st, nil
}

// Put writes body to a temporary file beside the target and renames it into
// place, so a reader never sees half a file.
func (d Dir) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte) (Object, error) {
	rel, err := d.rel(key)
	if err != nil {
		return Object{}, err
	}
	p := d.show(rel)
	root, err := d.open(true)
	if err != nil {
		return Object{}, err
	}
	defer root.Close()
	st, err := d.walk(root, rel, true)
	if err != nil {
		return Object{}, fmt.Errorf("write %s: %w", p, err)
	}
	if st != nil && !st.Mode().IsRegular() {
		return Object{}, fmt.Errorf("write %s: not a regular file", p)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmpRel := filepath.Join(filepath.Dir(rel), ".tmp-"+hex.EncodeToString(rnd[:]))
	// Created by this call (O_EXCL: never an existing file or symlink) and
	// readable by its owner only until it holds the final mode.
	tmp, err := root.OpenFile(tmpRel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Object{}, err
	}
	defer root.Remove(tmpRel)
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	var got [32]byte
	copy(got[:], h.Sum(nil))
	if err == nil && (n != size || got != sum) {
		err = errors.New("content does not match its checksum")
	}
	// The secrets archive holds the age identity in the clear: only its
	// owner may read it. The rest is public to the host's user.
	mode := os.FileMode(0o644)
	if path.Base(key) == layout.SecretsObject {
		mode = 0o600
	}
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Object{}, fmt.Errorf("write %s: %w", p, err)
	}
	if err := root.Rename(tmpRel, rel); err != nil {
		return Object{}, fmt.Errorf("write %s: %w", p, err)
	}
	return Object{Key: key, Size: n, SHA256: hex.EncodeToString(got[:])}, nil
}

// Get opens the file for key; versionID must be empty.
func (d Dir) Get(ctx context.Context, key, versionID string) (io.ReadCloser, Object, error) {
	rel, err := d.rel(key)
	if err != nil {
		return nil, Object{}, err
	}
	p := d.show(rel)
	if versionID != "" {
		return nil, Object{}, fmt.Errorf("%s version %s: %w", p, versionID, ErrNotFound)
	}
	f, err := d.openFile(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Object{}, fmt.Errorf("%s: %w", p, ErrNotFound)
	}
	if err != nil {
		return nil, Object{}, fmt.Errorf("read %s: %w", p, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Object{}, err
	}
	return f, Object{Key: key, Size: st.Size()}, nil
}

// openFile opens rel for reading after walk has found a regular file there,
// and checks that what it opened is that file.
func (d Dir) openFile(rel string) (*os.File, error) {
	root, err := d.open(false)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	st, err := d.walk(root, rel, false)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fs.ErrNotExist
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	if fst, err := f.Stat(); err != nil || !os.SameFile(st, fst) {
		f.Close()
		return nil, errors.New("changed while being opened")
	}
	return f, nil
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
// be empty, and nothing older becomes current. A symlink in the way is
// refused, not removed.
func (d Dir) Delete(ctx context.Context, key, versionID string) error {
	rel, err := d.rel(key)
	if err != nil {
		return err
	}
	if versionID != "" {
		return nil
	}
	root, err := d.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer root.Close()
	st, err := d.walk(root, rel, false)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && st == nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", d.show(rel), err)
	}
	if err := root.Remove(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
