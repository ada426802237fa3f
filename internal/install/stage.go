package install

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/faults"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/proof"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// fetchSeeds downloads the repo-seeds object want names into file: the
// current version when its bytes are the ones named, else the version the
// manifest names when its bytes are. A manifest never chooses on its own:
// whatever it names must match the statement too. Every version is asked
// about first (HEAD): one whose size is not the statement's, or whose
// stored checksum is another, is not downloaded; one that is, is read
// with Range: bytes=0-SIZE, so a planted object costs at most the named
// size plus one byte. With file "", nothing is downloaded: the HEAD is
// the answer (install --check).
func fetchSeeds(ctx context.Context, opt Options, want manifest.Seeds, or *result.Object, from *string, file string) (problem.List, error) {
	var probs problem.List
	// try asks about one version and, when it may be the one, downloads it:
	// "" when it is, else why not.
	seen := ""
	try := func(version, which string) (string, error) {
		head, err := opt.Bucket.Head(ctx, want.Key, version)
		if err != nil {
			return "", err
		}
		seen = head.VersionID
		switch {
		case head.Size != want.Size:
			return fmt.Sprintf("the %s version %s is not the object the statement names: it is %d bytes, the statement says %d (not downloaded)",
				which, problem.ShortVersion(head.VersionID), head.Size, want.Size), nil
		case head.SHA256 != "" && head.SHA256 != want.SHA256:
			return fmt.Sprintf("the %s version %s is not the object the statement names: the store's checksum is sha256 %s, the statement says %s (not downloaded)",
				which, problem.ShortVersion(head.VersionID), problem.Short(head.SHA256), problem.Short(want.SHA256)), nil
		}
		if version == "" {
			version = head.VersionID
		}
		if file == "" {
			or.VersionID, or.Size = version, head.Size
			*from = which
			return "", nil
		}
		sum, size, err := download(ctx, opt.Bucket, want.Key, version, file, want.Size+1)
		if err != nil {
			return "", err
		}
		if sum != want.SHA256 || size != want.Size {
			return fmt.Sprintf("the %s version %s is not the object the statement names: its bytes have sha256 %s (%d bytes read, at most %d asked for), the statement says %s (%d bytes)",
				which, problem.ShortVersion(version), problem.Short(sum), size, want.Size+1, problem.Short(want.SHA256), want.Size), nil
		}
		or.VersionID, or.SHA256, or.Size = version, sum, size
		*from = which
		return "", nil
	}

	why, err := try("", "current")
	current := seen
	switch {
	case errors.Is(err, bucket.ErrNotFound):
		// A missing current version: the manifest may still name one.
		probs.Add(problem.Problem{Message: "missing"})
	case err != nil:
		return nil, err
	case why == "":
		return nil, nil
	default:
		probs.Add(problem.Problem{Message: why})
	}
	// The manifest's version, if it names one with the right bytes.
	mkey := layout.Key(opt.Prefix, layout.ManifestName)
	m, err := proof.ReadManifest(ctx, opt.Bucket, mkey)
	if bucket.IsOperational(err) {
		return nil, err
	}
	if err != nil {
		probs.Add(problem.Problem{Message: fmt.Sprintf("and no manifest names another version (%s: %v)", mkey, err)})
		return probs, nil
	}
	mo := m.Object(layout.SeedsObject)
	if mo == nil || mo.Key != want.Key || mo.VersionID == "" || mo.VersionID == current || mo.SHA256 != want.SHA256 {
		probs.Add(problem.Problem{Message: "and the manifest names no other version with the statement's bytes"})
		return probs, nil
	}
	why, err = try(mo.VersionID, "manifest")
	if bucket.IsOperational(err) {
		return nil, err
	}
	if err != nil {
		probs.Add(problem.Problem{Message: fmt.Sprintf("and the version %s the manifest names cannot be read: %v", problem.ShortVersion(mo.VersionID), err)})
		return probs, nil
	}
	if why != "" {
		probs.Add(problem.Problem{Message: "and " + why})
		return probs, nil
	}
	return nil, nil
}

// download writes at most max bytes of key at version to file, hashing
// them, and tries again when the transfer breaks off.
func download(ctx context.Context, b bucket.Bucket, key, version, file string, max int64) (sum string, size int64, err error) {
	for attempt := 1; ; attempt++ {
		sum, size, err = downloadOnce(ctx, b, key, version, file, max)
		if !bucket.RetryRead(ctx, err, attempt) {
			return sum, size, err
		}
	}
}

func downloadOnce(ctx context.Context, b bucket.Bucket, key, version, file string, max int64) (string, int64, error) {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|noFollow, 0o600)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	rc, _, err := bucket.GetFirst(ctx, b, key, version, max)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), rc)
	if err != nil {
		return "", n, err
	}
	if err := f.Close(); err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// extractSeeds unpacks the proven archive into tree, a new directory.
func extractSeeds(archive, tree string, chown bool) (bundle.SeedsStats, problem.List, error) {
	f, err := os.Open(archive)
	if err != nil {
		return bundle.SeedsStats{}, nil, err
	}
	defer f.Close()
	if err := os.Mkdir(tree, 0o700); err != nil {
		return bundle.SeedsStats{}, nil, err
	}
	st, probs, err := bundle.ExtractSeeds(f, tree, bundle.SeedsLimits, bundle.ExtractOptions{Chown: chown})
	if err == nil {
		err = syncTree(tree)
	}
	if err == nil {
		// The archive is not needed once unpacked; the staging directory
		// goes on holding the tree.
		err = os.Remove(archive)
	}
	return st, probs, err
}

// stageSecrets builds the new SECRETS_DIR in dir: everything of the
// current one that install does not own (hard links, same filesystem),
// the statement's secrets and the prefix marker; the sentinel is written
// once everything is in place (commitMarked). It returns
// the names of the secrets the current directory holds that the bundle no
// longer does.
func stageSecrets(opt Options, c *bundle.SecretsContents, st *manifest.Statement, dir string) ([]string, error) {
	if err := os.Mkdir(dir, secretsDirMode); err != nil {
		return nil, err
	}
	owned := func(name string) bool {
		return strings.HasSuffix(name, ".age") || name == SentinelName || name == PrefixMarkerName || strings.HasPrefix(name, "."+SentinelName+".install")
	}
	if err := linkTree(opt.SecretsDir, dir, owned); err != nil {
		return nil, fmt.Errorf("carry over %s: %w", opt.SecretsDir, err)
	}
	var keep []string
	for _, s := range st.Secrets {
		keep = append(keep, s.Name)
		if err := writeFile(filepath.Join(dir, s.Name), c.Entries[bundle.SecretsDir+"/"+s.Name], secretMode, opt.Chown); err != nil {
			return nil, err
		}
	}
	if err := writeFile(filepath.Join(dir, PrefixMarkerName), []byte(opt.Prefix), markerMode, opt.Chown); err != nil {
		return nil, err
	}
	if err := chownIf(dir, opt.Chown); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, secretsDirMode); err != nil {
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	old, err := ageFiles(opt.SecretsDir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, n := range old {
		if !slices.Contains(keep, n) {
			removed = append(removed, n)
		}
	}
	return removed, nil
}

// linkTree recreates src below dst, hard-linking files and copying
// symlinks and directories with their owners, modes and times, skipping
// top-level names skip says install owns.
func linkTree(src, dst string, skip func(string) bool) error {
	type dir struct {
		path string
		fi   fs.FileInfo
	}
	var dirs []dir
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		if !strings.Contains(rel, string(filepath.Separator)) && skip(rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			dirs = append(dirs, dir{target, fi})
			return os.Mkdir(target, 0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
			return lchownLike(target, fi)
		default:
			if err := os.Link(p, target); err != nil {
				if errors.Is(err, syscall.EXDEV) {
					return fmt.Errorf("%s is on another filesystem: install carries over only what is on SECRETS_DIR's own", p)
				}
				return err
			}
			return nil
		}
	})
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Lstat(src); errors.Is(serr, os.ErrNotExist) {
			return nil
		}
	}
	if err != nil {
		return err
	}
	// Deepest first: a directory's time is set after its entries exist.
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if err := lchownLike(d.path, d.fi); err != nil {
			return err
		}
		if err := os.Chmod(d.path, d.fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return err
		}
		if err := os.Chtimes(d.path, d.fi.ModTime(), d.fi.ModTime()); err != nil {
			return err
		}
	}
	return nil
}

// lchownLike gives p the owner of fi.
func lchownLike(p string, fi fs.FileInfo) error {
	uid, gid, ok := owner(fi)
	if !ok {
		return nil
	}
	return os.Lchown(p, uid, gid)
}

// stageFile writes data with mode next to dest, for a rename over it.
func stageFile(dest string, data []byte, mode os.FileMode, chown bool) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".install-")
	if err != nil {
		return "", err
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return "", err
	}
	if err := writeFile(name, data, mode, chown); err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// writeFile creates p (which must not exist) with data, owner root when
// chown, and mode, and syncs it.
func writeFile(p string, data []byte, mode os.FileMode, chown bool) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if chown {
		if err := f.Chown(0, 0); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func chownIf(p string, chown bool) error {
	if !chown {
		return nil
	}
	return os.Lchown(p, 0, 0)
}

// mkdirs makes p and its missing parents (0755, as mkdir -p) and returns
// those it made, deepest last.
func mkdirs(p string) ([]string, error) {
	var missing []string
	for d := p; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	slices.Reverse(missing)
	for i, d := range missing {
		if err := os.Mkdir(d, 0o755); err != nil {
			return missing[:i], err
		}
	}
	return missing, nil
}

// removeCreated removes the directories mkdirs made, deepest first, if
// they are still empty.
func removeCreated(dirs []string) {
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i])
	}
}

// cleanStale removes staging left next to the destinations by a run that
// was killed before it could clean up.
func cleanStale(opt Options) {
	for _, dest := range []string{opt.SeedsDir, opt.SecretsDir, opt.KeyPath} {
		matches, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), "."+globEscape(filepath.Base(dest))+".install-*"))
		for _, m := range matches {
			os.RemoveAll(m)
		}
	}
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// swap is one staged path and the destination it replaces; point names
// the fault point just before it (internal/faults).
type swap struct{ staged, dest, point string }

// commit moves every staged path into place, in order. A destination that
// exists is exchanged with its staged copy in one step, so that the old
// one is kept under the staged name until the end; when a later step
// fails, the earlier ones are exchanged back (or removed, where nothing
// was there before).
func commit(swaps []swap) (restored bool, err error) {
	type done struct {
		swap
		exchanged bool
	}
	var did []done
	undo := func() error {
		var errs []error
		for i := len(did) - 1; i >= 0; i-- {
			d := did[i]
			if d.exchanged {
				errs = append(errs, exchange(d.staged, d.dest))
			} else {
				errs = append(errs, os.Rename(d.dest, d.staged))
			}
		}
		return errors.Join(errs...)
	}
	for _, s := range swaps {
		_, err := os.Lstat(s.dest)
		exists := err == nil
		if ferr := faults.Point(s.point); ferr != nil {
			err = ferr
		} else if exists {
			err = exchange(s.staged, s.dest)
		} else if errors.Is(err, os.ErrNotExist) {
			err = os.Rename(s.staged, s.dest)
		}
		if err != nil {
			if uerr := undo(); uerr != nil {
				return false, fmt.Errorf("install %s: %w; putting back what was swapped before it failed too, the host may be left mixed (and is not marked installed): %v", s.dest, err, uerr)
			}
			return true, fmt.Errorf("install %s: %w (everything swapped before it was put back)", s.dest, err)
		}
		did = append(did, done{s, exists})
	}
	// Installed: a failure to flush the renames now changes nothing a
	// retry could do better.
	for _, s := range swaps {
		_ = syncDir(filepath.Dir(s.dest))
	}
	return true, nil
}

func syncDir(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// commitMarked installs the staged swaps so that no one sees a mixed host
// as installed: the sentinel is removed first, then the swaps run, then
// the sequence record is written, and the sentinel last. Each step has a
// fault point (internal/faults), the kill points of the crash tests:
//
//	install.unmark        before the sentinel is removed (nothing changed)
//	install.swap.seeds    before repo-seeds is swapped (only when it is)
//	install.swap.key      before the key is swapped
//	install.swap.secrets  before SECRETS_DIR is swapped
//	install.record        before the sequence record is written
//	install.mark          before the sentinel is written
//	install.cleanup       after it, before the old copies are removed
//
// When a swap fails, those before it are swapped back and the old sentinel
// is put back: the host is as it was. A failure after the swaps leaves the
// host without a sentinel, which the next run heals.
func commitMarked(opt Options, swaps []swap, rec Record, sentinel []byte) error {
	if err := faults.Point("install.unmark"); err != nil {
		return err
	}
	sentinelPath := filepath.Join(opt.SecretsDir, SentinelName)
	old, rerr := os.ReadFile(sentinelPath)
	hadSentinel := rerr == nil
	if hadSentinel {
		if err := os.Remove(sentinelPath); err != nil {
			return fmt.Errorf("remove the sentinel %s: %w", sentinelPath, err)
		}
		if err := syncDir(opt.SecretsDir); err != nil {
			return fmt.Errorf("remove the sentinel %s: %w", sentinelPath, err)
		}
	}
	if restored, err := commit(swaps); err != nil {
		if hadSentinel && restored {
			if werr := writeSentinel(opt, old); werr != nil {
				return fmt.Errorf("%w; the sentinel could not be put back, so the host is not marked installed: %v", err, werr)
			}
		}
		return err
	}
	if err := faults.Point("install.record"); err != nil {
		return err
	}
	if err := writeRecord(opt.StateDir, rec); err != nil {
		return fmt.Errorf("record the sequence in %s (the files are in place, not marked installed): %w", opt.StateDir, err)
	}
	if err := faults.Point("install.mark"); err != nil {
		return err
	}
	if err := writeSentinel(opt, sentinel); err != nil {
		return fmt.Errorf("write the sentinel (the files are in place, not marked installed): %w", err)
	}
	return faults.Point("install.cleanup")
}

// writeSentinel writes SECRETS_DIR/.bootstrap-ok in one rename.
func writeSentinel(opt Options, data []byte) error {
	p := filepath.Join(opt.SecretsDir, SentinelName)
	tmp := filepath.Join(opt.SecretsDir, "."+SentinelName+".install-tmp")
	os.Remove(tmp)
	if err := writeFile(tmp, data, markerMode, opt.Chown); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(opt.SecretsDir)
}
