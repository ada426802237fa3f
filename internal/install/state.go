package install

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
)

// The state directory holds what install keeps about a host apart from
// SECRETS_DIR (which is replaced as a whole, and which operators delete to
// force a reinstall): the lock file and, per prefix, the sequence record.
const (
	// DefaultStateDir is the state directory when none is given.
	DefaultStateDir = "/var/lib/clawdinator-bundle"
	// LockName is the lock file in the state directory.
	LockName = "install.lock"
	// DefaultLockTimeout is how long a second install waits for the
	// first: well under the 300 s the fleet's user-data waits for the
	// bootstrap unit.
	DefaultLockTimeout = 60 * time.Second

	stateDirMode = 0o700
	lockMode     = 0o600
	recordMode   = 0o600
	recordSuffix = ".sequence"
)

// ErrLocked says another install held the lock for longer than the run
// waits.
var ErrLocked = errors.New("another install holds the lock")

// checkStateDir makes the state directory when it is missing (its
// parents 0755, as mkdir -p; itself 0700) and refuses one that another
// user could write to or that is not a real directory: whoever can write
// there could hold the lock or forge the sequence records.
func checkStateDir(dir string, create bool) error {
	if create {
		if _, err := mkdirs(filepath.Dir(dir)); err != nil {
			return err
		}
		if err := os.Mkdir(dir, stateDirMode); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (a symlink is refused too)", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (mode %04o): want a directory only its owner can write", dir, fi.Mode().Perm())
	}
	if uid, _, ok := owner(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by this user (uid %d)", dir, uid, os.Geteuid())
	}
	return nil
}

// lock takes the host's install lock: the file LockName in the state
// directory, mode 0600, opened without following a symlink. A held lock is
// waited for, up to timeout.
func lock(ctx context.Context, dir string, timeout time.Duration) (unlock func(), err error) {
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	p := filepath.Join(dir, LockName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|noFollow, lockMode)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", p)
	}
	if err == nil && fi.Mode().Perm() != lockMode {
		err = f.Chmod(lockMode)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, &os.PathError{Op: "flock", Path: p, Err: err}
		}
		if ok {
			return func() { f.Close() }, nil
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			f.Close()
			return nil, fmt.Errorf("%w (%s): waited %s", ErrLocked, p, timeout)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Record is what a host keeps per prefix: the highest sequence it
// installed, and the statement that had it.
type Record struct {
	Prefix    string
	Sequence  uint64
	Statement string
}

// RecordPath is where the record of prefix is kept in dir.
func RecordPath(dir, prefix string) string {
	return filepath.Join(dir, url.PathEscape(prefix)+recordSuffix)
}

func (r Record) marshal() []byte {
	return []byte("clawdinator-bundle sequence record\nprefix " + r.Prefix + "\nsequence " + strconv.FormatUint(r.Sequence, 10) + "\nstatement sha256:" + r.Statement + "\n")
}

// readRecord reads the record of prefix: nil when there is none.
func readRecord(dir, prefix string) (*Record, error) {
	p := RecordPath(dir, prefix)
	data, err := readSmall(p, 4096)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	bad := fmt.Errorf("%s is not a sequence record this tool wrote", p)
	if len(lines) != 5 || lines[0] != "clawdinator-bundle sequence record" || lines[4] != "" {
		return nil, bad
	}
	r := Record{}
	var ok1, ok2, ok3 bool
	r.Prefix, ok1 = strings.CutPrefix(lines[1], "prefix ")
	seq, ok2 := strings.CutPrefix(lines[2], "sequence ")
	r.Statement, ok3 = strings.CutPrefix(lines[3], "statement sha256:")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok1 || !ok2 || !ok3 || err != nil || r.Prefix != prefix || len(r.Statement) != 64 {
		return nil, bad
	}
	r.Sequence = n
	return &r, nil
}

// writeRecord replaces the record of r.Prefix in dir in one rename.
func writeRecord(dir string, r Record) error {
	p := RecordPath(dir, r.Prefix)
	tmp := p + ".tmp"
	os.Remove(tmp)
	if err := writeFile(tmp, r.marshal(), recordMode, false); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// sequenceRule says why a statement of sequence seq and digest may not be
// installed on a host with record rec (nil: none) and floor, or "".
func sequenceRule(rec *Record, floor, seq uint64, digest, recordFile string) string {
	switch {
	case rec != nil && seq < rec.Sequence:
		return fmt.Sprintf("sequence %d is lower than %d, the highest this host installed from this prefix (%s): an older bundle, not installed", seq, rec.Sequence, recordFile)
	case rec != nil && seq == rec.Sequence && digest != rec.Statement:
		return fmt.Sprintf("sequence %d is the one this host installed (%s) with another statement (sha256 %s, installed %s): two publishes at once, not installed", seq, recordFile, short(digest), short(rec.Statement))
	case seq < floor && (rec == nil || rec.Sequence < floor):
		return fmt.Sprintf("sequence %d is lower than %d, the floor this host was given (--sequence-floor): an older bundle, not installed", seq, floor)
	}
	return ""
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

// prior is what the host holds before a run, read from SECRETS_DIR.
type prior struct {
	// sentinel: SECRETS_DIR/.bootstrap-ok exists (the boot script's test).
	sentinel bool
	// marker is SECRETS_DIR/.bootstrap-prefix; hasMarker says it exists.
	marker    string
	hasMarker bool
	// statement and seeds are what install's own sentinel records ("" for
	// the boot script's empty one).
	statement, seeds string
}

// readPrior reads what SECRETS_DIR says is installed.
func readPrior(opt Options) prior {
	var p prior
	data, err := readSmall(filepath.Join(opt.SecretsDir, SentinelName), 4096)
	p.sentinel = err == nil
	if err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "statement sha256:"); ok {
				p.statement = v
			}
			if v, ok := strings.CutPrefix(l, "seeds sha256:"); ok {
				p.seeds = v
			}
		}
	}
	if m, err := readSmall(filepath.Join(opt.SecretsDir, PrefixMarkerName), 4096); err == nil {
		p.marker, p.hasMarker = string(m), true
	}
	return p
}

// reinit is the boot script's message when a sentinel is there for
// another prefix, or without its marker, or "".
func (p prior) reinit(prefix string) string {
	switch {
	case !p.sentinel:
		return ""
	case !p.hasMarker:
		return "prefix marker missing; reinitializing"
	case p.marker != prefix:
		return fmt.Sprintf("prefix changed (%s -> %s); reinitializing", p.marker, prefix)
	}
	return ""
}

// present says whether an installation of opt's prefix is in place: the
// sentinel (written last by install, and by the boot script), the prefix
// marker naming the prefix, and a key at AGE_KEY_PATH. That is what the
// boot script calls "already initialized", plus the key. Under the boot
// script's sentinel (no statement recorded) the key must also have pin's
// recipient (when there is one): the script installs whatever key the
// bucket held, so its installation is proven only by the pin. Under
// install's own, the key was proven when it was installed (a pin changed
// since, for a key rotation, does not undo that). A run killed while
// swapping leaves no sentinel, so a mixed host is never present.
func present(opt Options, pin string) bool {
	p := readPrior(opt)
	if !p.sentinel || !p.hasMarker || p.marker != opt.Prefix {
		return false
	}
	data, err := readSmall(opt.KeyPath, 64<<10)
	if err != nil {
		return false
	}
	if pin == "" || p.statement != "" {
		return true
	}
	k, err := agekey.Parse(data)
	return err == nil && k.Recipient() == pin
}
