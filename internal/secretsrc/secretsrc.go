// Package secretsrc reads the fleet's secrets from where the fleet keeps
// them: the *.age objects under a key prefix of the bucket (age-secrets/),
// which are not in git.
//
// An *.age file is encrypted to a public recipient, so anyone who can write
// that prefix can plant a secret that decrypts with the fleet key and would
// ship to every host. The objects are therefore checked against a digest
// lock kept in the repository (a file of sha256sum lines, nix/age-secrets.sha256):
// an object the lock does not list, one it lists with another digest, and a
// listed one that is missing each refuse the run. Nothing is written to disk
// until every object passed: then the objects are written, as read, into a
// private temporary directory (0700, files 0600) that the gate and verify
// read as a secrets directory, and that Close removes.
package secretsrc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// MaxSecret is the largest secret read (verify refuses larger ones in a
// bundle too), and MaxSecrets the most objects a source may hold.
const (
	MaxSecret  = 1 << 20
	MaxSecrets = 4096
)

// Store is the part of a bucket a source is read from (*bucket.S3).
type Store interface {
	List(ctx context.Context, prefix string) ([]bucket.Object, error)
	Get(ctx context.Context, key, versionID string) (io.ReadCloser, bucket.Object, error)
}

// Lock is a digest lock: the SHA-256 every secret must have, by file name.
type Lock struct {
	// Path is the lock file as the user named it.
	Path string
	// Digests maps a file name (x.age) to its lowercase hex SHA-256.
	Digests map[string]string
}

// LockHint says how to write a lock; the errors about a lock end with it.
const LockHint = "write it from the *.age files you uploaded: (cd DIR && sha256sum *.age) > LOCK, or pass secrets-lock: none to go without"

// ReadLock reads a lock file: lines as sha256sum writes them ("HEX  name"
// or "HEX *name"); a name with directories counts by its last element, so
// `sha256sum nix/age-secrets/*.age` writes a lock too. Blank lines and
// lines starting with # are ignored. Every error is a usage error (exit
// status 2): the lock is configuration.
func ReadLock(file string) (*Lock, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, problem.Usagef("secrets-lock %s does not exist: %s", file, strings.ReplaceAll(LockHint, "LOCK", file))
		}
		return nil, problem.Usagef("secrets-lock %s: %v", file, err)
	}
	l, err := ParseLock(file, data)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// ParseLock parses the text of the lock file named file.
func ParseLock(file string, data []byte) (*Lock, error) {
	l := &Lock{Path: file, Digests: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(why string) error {
			return problem.Usagef("secrets-lock %s line %d: %s (expected \"<sha256 hex>  <name>.age\", as sha256sum writes)", file, n, why)
		}
		if len(line) < 67 || (line[64] != ' ') || (line[65] != ' ' && line[65] != '*') {
			return nil, bad("not a sha256sum line")
		}
		sum := strings.ToLower(line[:64])
		if _, err := hex.DecodeString(sum); err != nil {
			return nil, bad("the digest is not 64 hex digits")
		}
		name := path.Base(line[66:])
		if strings.ContainsAny(name, "\\\x00") || !strings.HasSuffix(name, ".age") || name == ".age" {
			return nil, bad(fmt.Sprintf("%q is not the name of an .age file", name))
		}
		if _, dup := l.Digests[name]; dup {
			return nil, bad(fmt.Sprintf("%s is listed twice", name))
		}
		l.Digests[name] = sum
	}
	if err := sc.Err(); err != nil {
		return nil, problem.Usagef("secrets-lock %s: %v", file, err)
	}
	if len(l.Digests) == 0 {
		return nil, problem.Usagef("secrets-lock %s lists no secret: %s", file, strings.ReplaceAll(LockHint, "LOCK", file))
	}
	return l, nil
}

// Line is the lock line for a secret named name with digest sum, as
// sha256sum writes it.
func Line(sum, name string) string { return sum + "  " + name }

// Source is a fetched secrets source: the directory holding its files.
type Source struct {
	// Dir is the private temporary directory holding the *.age files.
	Dir string
	// URI names the source for people (s3://bucket/prefix).
	URI string
	// Names are the files, sorted.
	Names []string
}

// Close removes the directory.
func (s *Source) Close() error {
	if s == nil || s.Dir == "" {
		return nil
	}
	return os.RemoveAll(s.Dir)
}

// NormalizePrefix returns prefix with exactly one trailing slash: the
// fleet writes s3://BUCKET/age-secrets, the objects are age-secrets/x.age.
func NormalizePrefix(prefix string) string {
	return strings.TrimRight(prefix, "/") + "/"
}

// Fetch reads every *.age object directly under prefix in s (the bucket
// named bucketName, for messages), checks each against lock (nil: no lock,
// on purpose), and only when all passed writes them into a new private
// temporary directory under tmpDir ("" for the system's).
//
// The returned problems (exit status 1) name each object that is larger
// than MaxSecret, missing from the lock, listed with another digest, or
// listed but absent; nothing is written then. The error is a usage error
// for a source that holds no *.age object or that the store could not be
// asked about (exit status 2), and the store's own error when it refused
// access or could not be reached (exit status 3: bucket.IsOperational).
func Fetch(ctx context.Context, s Store, bucketName, prefix string, lock *Lock, tmpDir string) (*Source, problem.List, error) {
	prefix = NormalizePrefix(prefix)
	uri := "s3://" + bucketName + "/" + prefix
	objs, err := s.List(ctx, prefix)
	if err != nil {
		return nil, nil, storeErr(err)
	}
	var keys []string
	for _, o := range objs {
		if name := strings.TrimPrefix(o.Key, prefix); strings.HasSuffix(name, ".age") && name != ".age" {
			keys = append(keys, o.Key)
		}
	}
	if len(keys) == 0 {
		return nil, nil, problem.Usagef("secrets-s3-prefix %s holds no *.age object: name the prefix the secrets are synced to (aws s3 ls %s)", uri, uri)
	}
	if len(keys) > MaxSecrets {
		return nil, nil, problem.Usagef("secrets-s3-prefix %s holds %d *.age objects, more than %d", uri, len(keys), MaxSecrets)
	}
	sort.Strings(keys)

	var probs problem.List
	files := map[string][]byte{}
	seen := map[string]bool{}
	for _, key := range keys {
		name := strings.TrimPrefix(key, prefix)
		data, err := get(ctx, s, key)
		for attempt := 1; bucket.RetryRead(ctx, err, attempt); attempt++ {
			data, err = get(ctx, s, key)
		}
		var ce *checksumError
		switch {
		case errors.Is(err, errTooLarge):
			probs.Add(problem.Problem{Object: key, Message: fmt.Sprintf("larger than %d bytes: not an age secret a host is sent", MaxSecret)})
			continue
		case errors.As(err, &ce), bucket.Classify(err) == bucket.ChecksumMismatch:
			probs.Add(problem.Problem{Object: key, Message: fmt.Sprintf("the bytes read do not match the checksum the store keeps: %v", err)})
			continue
		case err != nil:
			return nil, nil, storeErr(err)
		}
		seen[name] = true
		if lock == nil {
			files[name] = data
			continue
		}
		// Only what the lock vouches for is kept: a refused object's bytes
		// are dropped once hashed, so what a bucket writer adds costs this
		// run no memory beyond one object at a time.
		sum := sha256.Sum256(data)
		got := hex.EncodeToString(sum[:])
		switch want, ok := lock.Digests[name]; {
		case !ok:
			probs.Add(problem.Problem{Object: key, Message: fmt.Sprintf("not in the lock %s: refused, whoever can write %s could have planted it; if you uploaded it, add the line %q", lock.Path, uri, Line(got, name))})
		case want != got:
			probs.Add(problem.Problem{Object: key, Message: fmt.Sprintf("sha256 %s, the lock %s says %s: refused; if you replaced it, change its line to %q", problem.Short(got), lock.Path, problem.Short(want), Line(got, name))})
		default:
			files[name] = data
		}
	}
	if lock != nil {
		var names []string
		for name := range lock.Digests {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if !seen[name] && !named(probs, prefix+name) {
				probs.Add(problem.Problem{Object: prefix + name, Message: fmt.Sprintf("in the lock %s but not in %s: upload it, or remove its line from the lock", lock.Path, uri)})
			}
		}
	}
	if probs.HasErrors() {
		return nil, probs, nil
	}

	dir, err := os.MkdirTemp(tmpDir, "clawdinator-secrets-")
	if err != nil {
		return nil, nil, fmt.Errorf("secrets from %s: %w", uri, err)
	}
	src := &Source{Dir: dir, URI: uri}
	for _, key := range keys {
		name := strings.TrimPrefix(key, prefix)
		if err := writeNew(filepath.Join(dir, name), files[name]); err != nil {
			src.Close()
			return nil, nil, fmt.Errorf("secrets from %s: %w", uri, err)
		}
		src.Names = append(src.Names, name)
	}
	return src, probs, nil
}

// named reports whether a problem names key already.
func named(probs problem.List, key string) bool {
	for _, p := range probs {
		if p.Object == key {
			return true
		}
	}
	return false
}

var errTooLarge = errors.New("too large")

type checksumError struct{ msg string }

func (e *checksumError) Error() string { return e.msg }

// get reads one object whole, at most MaxSecret bytes. A body that does not
// match the checksum the store keeps fails the read (bucket.S3.Get), and
// a store checksum that disagrees with the bytes read is refused here too.
func get(ctx context.Context, s Store, key string) ([]byte, error) {
	rc, obj, err := s.Get(ctx, key, "")
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if obj.Size > MaxSecret {
		return nil, errTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(rc, MaxSecret+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSecret {
		return nil, errTooLarge
	}
	if obj.SHA256 != "" {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != obj.SHA256 {
			return nil, &checksumError{fmt.Sprintf("the store's sha256 is %s, the bytes read hash to %s", problem.Short(obj.SHA256), problem.Short(got))}
		}
	}
	return data, nil
}

// writeNew creates file (it must not exist) with mode 0600 and data.
func writeNew(file string, data []byte) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// storeErr keeps an error the store could not complete (access denied,
// unreachable, no such bucket: exit status 3) and words any other as
// configuration (exit status 2).
func storeErr(err error) error {
	if bucket.IsOperational(err) {
		return err
	}
	return &problem.UsageError{Msg: "secrets-s3-prefix: " + err.Error()}
}
