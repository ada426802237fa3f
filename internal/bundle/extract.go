package bundle

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// ExtractOptions say how ExtractSeeds writes a tree.
type ExtractOptions struct {
	// Chown gives every file, directory and symlink written uid and gid 0
	// (a host runs install as root; a directory's setgid bit or a
	// default group must not decide who owns the seeds).
	Chown bool
}

// ExtractSeeds unpacks a repo-seeds.tar.zst stream into dir, an existing
// empty directory, under the rules VerifySeeds checks: only regular files,
// directories and relative symlinks that stay inside the tree, no setuid,
// setgid or sticky bit, no devices, fifos or hard links, no duplicates,
// owners root. It writes while no problem was found and stops writing at
// the first; the caller discards dir unless problems is empty and err is
// nil. Files and directories get their archived permission bits and
// modification times; dir itself gets mode 0755, as tar makes a directory.
// Every write goes through an os.Root opened on dir, so nothing lands
// outside it whatever the archive holds. err is a failure to write
// (disk full, permissions), not a fault of the archive.
func ExtractSeeds(r io.Reader, dir string, lim Limits, opt ExtractOptions) (SeedsStats, problem.List, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return SeedsStats{}, nil, err
	}
	defer root.Close()
	type dirMeta struct {
		name  string
		mode  fs.FileMode
		mtime time.Time
	}
	var dirs []dirMeta
	chown := func(name string) error {
		if !opt.Chown {
			return nil
		}
		return root.Lchown(name, 0, 0)
	}
	listed := map[string]bool{} // directories the archive lists, or made already
	put := func(h *tar.Header, name string, body io.Reader) error {
		// Parents an archive does not list are made as tar makes them,
		// 0755, and owned like everything else.
		if parent := path.Dir(name); parent != "." && !listed[parent] {
			if err := root.MkdirAll(parent, 0o755); err != nil {
				return err
			}
			for d := parent; d != "." && !listed[d]; d = path.Dir(d) {
				listed[d] = true
				if err := chown(d); err != nil {
					return err
				}
				if err := root.Chmod(d, 0o755); err != nil {
					return err
				}
			}
		}
		mode := fs.FileMode(h.Mode).Perm()
		switch h.Typeflag {
		case tar.TypeDir:
			// Owner-only until every entry below is written; the
			// archived mode is applied last, deepest first.
			if err := root.Mkdir(name, 0o700); err != nil {
				// Made already as the parent of an earlier entry: fine;
				// anything else in the way is not.
				if fi, lerr := root.Lstat(name); !os.IsExist(err) || lerr != nil || !fi.IsDir() {
					return err
				}
			}
			listed[name] = true
			dirs = append(dirs, dirMeta{name, mode, h.ModTime})
			return chown(name)
		case tar.TypeSymlink:
			if err := root.Symlink(h.Linkname, name); err != nil {
				return err
			}
			return chown(name)
		case tar.TypeReg:
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, body); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			if err := chown(name); err != nil {
				return err
			}
			// After the owner: chown clears setuid-like bits, and the
			// umask must not decide the mode.
			if err := root.Chmod(name, mode); err != nil {
				return err
			}
			return root.Chtimes(name, h.ModTime, h.ModTime)
		}
		return fmt.Errorf("%s: unexpected entry type %q", name, h.Typeflag)
	}
	st, probs, err := scanSeeds(r, lim, put)
	if err != nil || probs.HasErrors() {
		return st, probs, err
	}
	// The directory tar would make for the tree.
	if err := root.Chmod(".", 0o755); err != nil {
		return st, probs, err
	}
	if err := chown("."); err != nil {
		return st, probs, err
	}
	// Deepest first, so that a read-only directory is closed only after
	// everything below it was written and timed.
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if err := root.Chmod(d.name, d.mode); err != nil {
			return st, probs, err
		}
		if err := root.Chtimes(d.name, d.mtime, d.mtime); err != nil {
			return st, probs, err
		}
	}
	return st, probs, nil
}
