// Package install is the host side of the proof chain: what a CLAWDINATOR
// host runs at boot instead of the boot script (docs/host.md). It installs
// only a bundle it proved against a pinned key, and only whole:
//
//	lock ─▶ pin ─▶ fetch secrets.tar.zst ─▶ prove it (key = pin, every
//	secret decrypts, statement names the prefix) ─▶ sequence not below
//	the host's record ─▶ already installed? stop ─▶ repo-seeds: keep the
//	tree installed when the statement names it, else HEAD, then fetch at
//	most its size + 1 ─▶ extract into staging ─▶ remove the sentinel, swap
//	staging into place, write the record, write the sentinel
//
// Nothing at a destination changes until every check passed and every
// staging copy is complete; a failure while swapping puts back what was
// swapped. The sentinel records the statement installed, so a newer proven
// bundle is picked up on the next run and an unchanged one costs one
// download of the secrets archive. A run that does not install, with an
// installation of the prefix in place, keeps it (Result.FailStatic).
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
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/progress"
	"github.com/openclaw/clawdinator-bundle/internal/proof"
	"github.com/openclaw/clawdinator-bundle/internal/result"
)

// The files the boot script writes into SECRETS_DIR, kept for hosts whose
// units or scripts look for them.
const (
	// SentinelName marks a finished installation. The boot script leaves it
	// empty; install writes what it installed (see Sentinel).
	SentinelName = ".bootstrap-ok"
	// PrefixMarkerName holds the prefix installed from, without a newline.
	PrefixMarkerName = ".bootstrap-prefix"
)

// Modes of what install writes (docs/host.md lists where they differ from
// the boot script's).
const (
	keyMode        = 0o400
	secretMode     = 0o400
	secretsDirMode = 0o700
	markerMode     = 0o644
)

// Options are one run of install.
type Options struct {
	Bucket bucket.Bucket
	// Prefix is the bootstrap prefix (PREFIX).
	Prefix string
	// PrefixFile, when it names a non-empty file, replaces Prefix with its
	// content, as the boot script reads BOOTSTRAP_PREFIX_FILE; a missing
	// file is no error.
	PrefixFile string
	// SecretsArchive and SeedsArchive are object names under Prefix.
	SecretsArchive, SeedsArchive string
	// SecretsDir, SeedsDir and KeyPath are the destinations, absolute.
	SecretsDir, SeedsDir, KeyPath string
	// Pin (--expected-recipient) or PinFile (--expected-recipient-file, a
	// file holding one) is the recipient the bundled key must have. Neither:
	// the key installed at KeyPath is the pin.
	Pin, PinFile string
	// AllowUnpinned lets a first boot (no pin, no installed key) install
	// whatever key the bundle holds.
	AllowUnpinned bool
	// Chown makes root own everything installed (install runs as root).
	Chown bool
	// StateDir holds the lock file and the sequence records (absolute;
	// DefaultStateDir on hosts). It is made when missing and must not be
	// writable by anyone but its owner.
	StateDir string
	// LockTimeout is how long to wait for another install's lock
	// (0: DefaultLockTimeout).
	LockTimeout time.Duration
	// SequenceFloor is the lowest sequence this host installs: what an
	// image bakes for hosts that have no record yet.
	SequenceFloor uint64
	// Strict is for runs that are not at boot (a refresh timer): a run
	// that does not install fails, whatever is installed. Without it, a
	// refusal or a failure with an installation of the prefix in place
	// is fail static (Result.FailStatic).
	Strict bool
	// CheckOnly proves what the bucket holds against what is installed
	// and writes nothing (no lock, no staging, no record): Result.Pending
	// says whether a run would install something. Repo-seeds is not
	// downloaded, only asked about (HEAD).
	CheckOnly bool
	// Events, when set, receives a step as it starts: "prefix" (Object:
	// the prefix read from PrefixFile), "pin" (Object: the recipient,
	// Detail: where it came from), "download" and "extract" (of Object),
	// "install" (the swap).
	Events func(progress.Event)
}

// Pin is the recipient a bundle's key was held to, and why.
type Pin struct {
	Recipient string `json:"recipient"`
	Source    string `json:"source"`
	// Unpinned: a first boot allowed without a pin; Recipient is then
	// the bundled key's, taken on trust.
	Unpinned bool `json:"unpinned,omitempty"`
}

// Result is what one run of install did.
type Result struct {
	Prefix string `json:"prefix"`
	// PrefixFile is the file the prefix was read from, if any.
	PrefixFile string `json:"prefixFile,omitempty"`
	Pin        Pin    `json:"pin"`
	// Instance is the instance the proven statement names.
	Instance string `json:"instance,omitempty"`
	// Statement is the SHA-256 of the proven statement.
	Statement string        `json:"statement,omitempty"`
	Secrets   result.Object `json:"secretsArchive"`
	Seeds     result.Object `json:"repoSeeds"`
	// SeedsFrom says which version of repo-seeds was installed: "current",
	// or "manifest" when the current one was not the one the statement
	// names and the manifest's was.
	SeedsFrom string `json:"seedsFrom,omitempty"`
	// AlreadyInstalled: the proven bundle is the one installed; nothing
	// was changed and repo-seeds was not downloaded.
	AlreadyInstalled bool `json:"alreadyInstalled"`
	// Changed: something was installed (the boot script's "done").
	Changed bool `json:"changed"`
	// Pending (CheckOnly): the proven bundle is not the one installed; a
	// run would install it.
	Pending bool `json:"pending,omitempty"`
	// Kept: the run did not install (a refusal, or it could not
	// complete) and an installation of this prefix is in place, as it was
	// (state.go, present). Without Strict, FailStatic: exit 0.
	Kept bool `json:"kept,omitempty"`
	// FailStatic: Kept at boot (not Strict, not CheckOnly, not a lock
	// held by another install): the run keeps the installation and
	// counts as a success (exit 0).
	FailStatic bool `json:"failStatic,omitempty"`
	// Reinitializing is the boot script's message when the sentinel is
	// there for another prefix or without its marker ("" otherwise).
	Reinitializing string `json:"reinitializing,omitempty"`
	// Sequence is the proven statement's; Recorded the highest this host
	// had installed from the prefix before the run (its record), if any.
	Sequence uint64  `json:"sequence"`
	Recorded *uint64 `json:"recordedSequence,omitempty"`
	// SeedsKept: the statement names the repo-seeds tree already
	// installed, which was neither downloaded nor extracted again.
	SeedsKept bool `json:"seedsKept,omitempty"`
	// Installed names the secrets installed; Removed those no longer in
	// the bundle, removed from SecretsDir.
	Installed []string `json:"installed,omitempty"`
	Removed   []string `json:"removed,omitempty"`
	// Proven counts the secrets proven to decrypt with the bundled key.
	Proven int `json:"proven"`
	// SeedsEntries counts the entries of the installed repo-seeds tree.
	SeedsEntries int          `json:"seedsEntries,omitempty"`
	Problems     problem.List `json:"-"`
	// Failure ends a run that could not complete (S3, local disk).
	Failure error `json:"-"`
}

// OK says whether the bundle is installed (now or before).
func (r *Result) OK() bool { return r.Failure == nil && !r.Problems.HasErrors() }

// KeptAtBoot says the run did not install but kept the installation in
// place at boot: exit 0 (fail static).
func (r *Result) KeptAtBoot() bool { return r.FailStatic }

// Err returns why the run could not complete, when it could not.
func (r *Result) Err() error { return r.Failure }

// Run installs the current proven bundle at opt.Prefix from opt.Bucket, or
// says why not: Check, then Install. An error is a usage error; everything
// else is in the result.
func Run(ctx context.Context, opt Options) (*Result, error) {
	c, err := Check(opt)
	if err != nil {
		return nil, err
	}
	return c.Install(ctx, opt.Bucket)
}

// Checked is a host's install whose options were read and checked.
type Checked struct {
	opt        Options
	prefixFile string
	pin        Pin
	// problems: the installed key, the pin when none is given, does not
	// parse; Install reports them and installs nothing.
	problems problem.List
}

// Check reads and checks what install was given, everything that needs no
// bucket: the platform, the prefix file, the arguments, the pin (given,
// from its file, or the installed key) and the destinations. cmd/ checks
// before it opens the bucket, so that a bad option is the error an
// operator reads. Its events ("prefix", "pin") go to opt.Events; its
// error is a usage error.
func Check(opt Options) (*Checked, error) {
	if err := Supported(); err != nil {
		return nil, err
	}
	prefixFile, err := readPrefixFile(&opt)
	if err != nil {
		return nil, err
	}
	if prefixFile != "" {
		event(opt, "prefix", opt.Prefix)
	}
	if err := checkOptions(opt); err != nil {
		return nil, err
	}
	c := &Checked{opt: opt, prefixFile: prefixFile}
	pin, probs, err := resolvePin(opt)
	if err != nil {
		return nil, err
	}
	if probs.HasErrors() {
		c.problems = probs
		return c, nil
	}
	c.pin = pin
	if err := checkDestinations(opt); err != nil {
		return nil, err
	}
	if opt.Events != nil {
		opt.Events(progress.Event{Step: "pin", Object: pin.Recipient, Detail: pin.Source})
	}
	return c, nil
}

// Unopened is the result of a run whose bucket could not be opened (err:
// at boot on EC2, the instance metadata not answering for the region):
// nothing was fetched or changed, and an installation of the prefix in
// place is kept as for any run that could not complete (FailStatic
// without Strict).
func (ch *Checked) Unopened(err error) *Result {
	res := &Result{Prefix: ch.opt.Prefix, PrefixFile: ch.prefixFile, Pin: ch.pin, Failure: err}
	if ch.problems.HasErrors() {
		res.Problems = ch.problems
		return res
	}
	res.Kept = present(ch.opt, ch.pin.Recipient)
	res.FailStatic = res.Kept && !ch.opt.Strict && !ch.opt.CheckOnly
	return res
}

// Install installs the current proven bundle from b (with CheckOnly, says
// whether it would).
func (ch *Checked) Install(ctx context.Context, b bucket.Bucket) (*Result, error) {
	if b == nil {
		return nil, &problem.UsageError{Msg: "no bucket"}
	}
	opt, pin := ch.opt, ch.pin
	opt.Bucket = b
	res := &Result{Prefix: opt.Prefix, PrefixFile: ch.prefixFile}
	if ch.problems.HasErrors() {
		res.Problems = ch.problems
		return res, nil
	}
	res.Pin = pin
	// Whatever ends the run without installing: is an installation of
	// this prefix still in place, as it was (fail static)?
	defer func() {
		if !res.OK() {
			res.Kept = present(opt, pin.Recipient)
			res.FailStatic = res.Kept && !opt.Strict && !opt.CheckOnly && !errors.Is(res.Failure, ErrLocked)
		}
	}()
	// One install at a time per host, on a lock only root can take.
	if !opt.CheckOnly {
		if err := checkStateDir(opt.StateDir, true); err != nil {
			res.Failure = fmt.Errorf("state directory: %w", err)
			return res, nil
		}
		unlock, err := lock(ctx, opt.StateDir, opt.LockTimeout)
		if err != nil {
			res.Failure = err
			return res, nil
		}
		defer unlock()
	} else if _, err := os.Lstat(opt.StateDir); err == nil {
		if err := checkStateDir(opt.StateDir, false); err != nil {
			res.Failure = fmt.Errorf("state directory: %w", err)
			return res, nil
		}
	}
	before := readPrior(opt)
	if res.Reinitializing = before.reinit(opt.Prefix); res.Reinitializing != "" && !opt.CheckOnly {
		event(opt, "reinit", res.Reinitializing)
	}
	rec, err := readRecord(opt.StateDir, opt.Prefix)
	if err != nil {
		res.Problems.Add(problem.Problem{File: RecordPath(opt.StateDir, opt.Prefix), Message: fmt.Sprintf("the sequence record cannot be read: %v", unwrapPath(err))})
		return res, nil
	}
	if rec != nil {
		res.Recorded = &rec.Sequence
	}

	// 1. The secrets archive, proven against the pin.
	res.Secrets = result.Object{Object: manifest.Object{Name: layout.SecretsObject, Key: layout.Key(opt.Prefix, opt.SecretsArchive)}, Status: result.Checked}
	event(opt, "download", res.Secrets.Key)
	c, st, probs, err := proof.Secrets(ctx, opt.Bucket, &res.Secrets, bundle.VerifyOptions{ExpectedRecipient: pin.Recipient}, "", opt.Prefix)
	if err != nil {
		if errors.Is(err, bucket.ErrNotFound) {
			res.Problems.Add(problem.Problem{Object: res.Secrets.Key, Message: "missing: nothing to install"})
			return res, nil
		}
		res.Failure = err
		return res, nil
	}
	res.Problems = probs.In("", res.Secrets.Key)
	if st == nil || probs.HasErrors() {
		return res, nil
	}
	res.Secrets.Verified = true
	res.Proven = len(st.Secrets)
	if pin.Recipient == "" {
		res.Pin.Recipient = c.Recipient
	}
	if want := layout.Key(opt.Prefix, opt.SeedsArchive); st.RepoSeeds.Key != want {
		res.Problems.Add(problem.Problem{Object: res.Secrets.Key, Entry: bundle.StatementEntry,
			Message: fmt.Sprintf("names repo-seeds at %s, not %s (SEEDS_ARCHIVE)", st.RepoSeeds.Key, want)})
		return res, nil
	}
	digest := sha256.Sum256(c.Statement)
	res.Statement = hex.EncodeToString(digest[:])
	res.Instance = st.Instance
	res.Sequence = st.Sequence

	// 2. Never back: not below the record or the floor, and not the
	// recorded number with another statement.
	if msg := sequenceRule(rec, opt.SequenceFloor, st.Sequence, res.Statement, RecordPath(opt.StateDir, opt.Prefix)); msg != "" {
		res.Problems.Add(problem.Problem{Object: res.Secrets.Key, Entry: bundle.StatementEntry, Message: msg})
		return res, nil
	}
	newRecord := Record{Prefix: opt.Prefix, Sequence: st.Sequence, Statement: res.Statement}

	// Staging left by a run that was killed: only ever install's own.
	if !opt.CheckOnly {
		cleanStale(opt)
	}

	// 3. Already installed: the sentinel and the files say so.
	if installed(opt, c, st, res.Statement) {
		res.AlreadyInstalled = true
		if !opt.CheckOnly && (rec == nil || *rec != newRecord) {
			// A host installed before records existed (or by the boot
			// script, then proven equal): record it now.
			if err := writeRecord(opt.StateDir, newRecord); err != nil {
				res.Failure = fmt.Errorf("record the sequence: %w", err)
			}
		}
		return res, nil
	}

	// 4. Repo-seeds: kept when the statement names the tree installed,
	// else the object it names, proven by its bytes, extracted in staging.
	seedsKept := before.statement != "" && before.hasMarker && before.marker == opt.Prefix &&
		before.seeds == st.RepoSeeds.TarSHA256 && isDir(opt.SeedsDir)
	if opt.CheckOnly {
		res.Pending = true
		res.SeedsKept = seedsKept
		if !seedsKept {
			res.Seeds = result.Object{Object: manifest.Object{Name: layout.SeedsObject, Key: st.RepoSeeds.Key}, Status: result.Checked}
			sp, err := fetchSeeds(ctx, opt, st.RepoSeeds, &res.Seeds, &res.SeedsFrom, "")
			if err != nil {
				res.Failure = err
			} else if sp.HasErrors() {
				res.Problems = append(res.Problems, sp.In("", res.Seeds.Key)...)
			}
		}
		return res, nil
	}
	// Staging goes when the run ends; directories made for it go too,
	// unless the bundle was installed into them.
	var created, stages []string
	defer func() {
		for _, s := range stages {
			os.RemoveAll(s)
		}
		if !res.OK() {
			removeCreated(created)
		}
	}()
	fail := func(err error) (*Result, error) {
		res.Failure = err
		return res, nil
	}
	for _, p := range []string{filepath.Dir(opt.SeedsDir), filepath.Dir(opt.SecretsDir), filepath.Dir(opt.KeyPath)} {
		made, err := mkdirs(p)
		created = append(created, made...)
		if err != nil {
			return fail(err)
		}
	}
	var swaps []swap
	if seedsKept {
		res.SeedsKept = true
	} else {
		seedsStage, err := os.MkdirTemp(filepath.Dir(opt.SeedsDir), "."+filepath.Base(opt.SeedsDir)+".install-")
		if err != nil {
			return fail(err)
		}
		stages = append(stages, seedsStage)
		res.Seeds = result.Object{Object: manifest.Object{Name: layout.SeedsObject, Key: st.RepoSeeds.Key}, Status: result.Checked}
		event(opt, "download", res.Seeds.Key)
		sp, err := fetchSeeds(ctx, opt, st.RepoSeeds, &res.Seeds, &res.SeedsFrom, filepath.Join(seedsStage, "archive"))
		if err != nil {
			return fail(err)
		}
		if sp.HasErrors() {
			res.Problems = append(res.Problems, sp.In("", res.Seeds.Key)...)
			return res, nil
		}
		event(opt, "extract", res.Seeds.Key)
		tree := filepath.Join(seedsStage, "tree")
		stats, xp, err := extractSeeds(filepath.Join(seedsStage, "archive"), tree, opt.Chown)
		if err != nil {
			return fail(fmt.Errorf("extract %s into %s: %w", res.Seeds.Key, seedsStage, err))
		}
		if !xp.HasErrors() && stats.TarSHA256 != st.RepoSeeds.TarSHA256 {
			xp.Add(problem.Problem{Message: fmt.Sprintf("unpacks to a tar stream with sha256 %s, the statement says %s", problem.Short(stats.TarSHA256), problem.Short(st.RepoSeeds.TarSHA256))})
		}
		if xp.HasErrors() {
			res.Problems = append(res.Problems, xp.In("", res.Seeds.Key)...)
			return res, nil
		}
		res.Seeds.Verified = true
		res.Seeds.TarSHA256 = stats.TarSHA256
		res.SeedsEntries = stats.Entries
		swaps = append(swaps, swap{tree, opt.SeedsDir, "install.swap.seeds"})
	}

	// 5. The secrets directory and the key, staged next to theirs.
	secretsStage, err := os.MkdirTemp(filepath.Dir(opt.SecretsDir), "."+filepath.Base(opt.SecretsDir)+".install-")
	if err != nil {
		return fail(err)
	}
	stages = append(stages, secretsStage)
	secretsTree := filepath.Join(secretsStage, "tree")
	removed, err := stageSecrets(opt, c, st, secretsTree)
	if err != nil {
		return fail(err)
	}
	keyStage, err := stageFile(opt.KeyPath, c.Entries[bundle.KeyEntry], keyMode, opt.Chown)
	if err != nil {
		return fail(err)
	}
	stages = append(stages, keyStage)
	swaps = append(swaps, swap{keyStage, opt.KeyPath, "install.swap.key"}, swap{secretsTree, opt.SecretsDir, "install.swap.secrets"})

	// 6. Commit: the sentinel goes first, the swaps (repo-seeds, the key,
	// SECRETS_DIR), the record, and the sentinel is written last. Killed
	// anywhere in between, the host has no sentinel: not installed, for
	// the boot script's test and for install's, until a run completes.
	event(opt, "install", opt.Prefix)
	if err := commitMarked(opt, swaps, newRecord, Sentinel(opt.Prefix, res.Statement, st.RepoSeeds.TarSHA256)); err != nil {
		return fail(err)
	}
	for _, s := range st.Secrets {
		res.Installed = append(res.Installed, s.Name)
	}
	res.Removed = removed
	res.Changed = true
	return res, nil
}

func event(opt Options, step, object string) {
	if opt.Events != nil {
		opt.Events(progress.Event{Step: step, Object: object})
	}
}

// Supported refuses, with a usage error, to install on this system unless
// it is Linux. Run checks it first; cmd/ asks before it opens the bucket,
// so that a laptop hears this and not what its AWS configuration lacks.
func Supported() error { return checkPlatform(runtime.GOOS) }

// checkPlatform refuses to run anywhere but on Linux: the swap needs
// renameat2 and syncfs (sys_linux.go).
func checkPlatform(goos string) error {
	if goos != "linux" {
		return problem.Usagef("install runs on Linux hosts only (GOOS=%s)", goos)
	}
	return nil
}

// checkOptions refuses what cannot be a host's configuration.
func checkOptions(opt Options) error {
	if msg := CheckPrefix(opt.Prefix); msg != "" {
		return problem.Usagef("PREFIX %q %s", opt.Prefix, msg)
	}
	for _, a := range []struct{ what, name string }{{"SECRETS_ARCHIVE", opt.SecretsArchive}, {"SEEDS_ARCHIVE", opt.SeedsArchive}} {
		if a.name == "" || strings.ContainsAny(a.name, "/\\") || a.name == "." || a.name == ".." || hasControl(a.name) {
			return problem.Usagef("%s %q: want an object name without \"/\"", a.what, a.name)
		}
	}
	dests := []struct{ what, p string }{{"SECRETS_DIR", opt.SecretsDir}, {"REPO_SEEDS_DIR", opt.SeedsDir}, {"AGE_KEY_PATH", opt.KeyPath}, {"--state-dir", opt.StateDir}}
	for i, d := range dests {
		if !filepath.IsAbs(d.p) || filepath.Clean(d.p) != d.p || d.p == "/" || hasControl(d.p) {
			return problem.Usagef("%s %q: want a clean absolute path", d.what, d.p)
		}
		for _, o := range dests[:i] {
			if within(d.p, o.p) || within(o.p, d.p) {
				return problem.Usagef("%s %s and %s %s overlap: each is replaced as a whole", o.what, o.p, d.what, d.p)
			}
		}
	}
	return nil
}

// CheckPrefix says what is wrong with a bootstrap prefix, or "".
func CheckPrefix(p string) string {
	switch {
	case p == "":
		return "is empty"
	case hasControl(p) || strings.Contains(p, `\`):
		return "holds a control character or a backslash"
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/"):
		return "starts or ends with \"/\""
	case path.Clean(p) != p || p == "." || strings.HasPrefix(p, "../") || p == "..":
		return "is not a clean relative key prefix"
	}
	return ""
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// checkDestinations refuses destinations install would have to replace
// through a symlink or over something of another kind.
func checkDestinations(opt Options) error {
	for _, d := range []struct {
		what, p string
		dir     bool
	}{{"SECRETS_DIR", opt.SecretsDir, true}, {"REPO_SEEDS_DIR", opt.SeedsDir, true}, {"AGE_KEY_PATH", opt.KeyPath, false}} {
		fi, err := os.Lstat(d.p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue
		case err != nil:
			return problem.Usagef("%s: %v", d.what, err)
		case fi.Mode()&os.ModeSymlink != 0:
			return problem.Usagef("%s %s is a symlink: install replaces it by renaming, so give the real path", d.what, d.p)
		case d.dir && !fi.IsDir():
			return problem.Usagef("%s %s is not a directory", d.what, d.p)
		case !d.dir && !fi.Mode().IsRegular():
			return problem.Usagef("%s %s is not a regular file", d.what, d.p)
		}
	}
	return nil
}

// resolvePin decides the recipient the bundled key must have: the pin
// given, else the key already installed (a host that booted once never
// accepts another key), else none, only when a first boot without a pin
// was allowed explicitly.
func resolvePin(opt Options) (Pin, problem.List, error) {
	switch {
	case opt.Pin != "" && opt.PinFile != "":
		return Pin{}, nil, problem.Usagef("give --expected-recipient or --expected-recipient-file, not both")
	case opt.Pin != "":
		// Checked when --expected-recipient was read (the option table).
		return Pin{Recipient: opt.Pin, Source: "--expected-recipient"}, nil, nil
	case opt.PinFile != "":
		r, err := readRecipientFile(opt.PinFile)
		if err != nil {
			return Pin{}, nil, err
		}
		return Pin{Recipient: r, Source: "--expected-recipient-file " + opt.PinFile}, nil, nil
	}
	data, err := readSmall(opt.KeyPath, 64<<10)
	switch {
	case err == nil:
		k, perr := agekey.Parse(data)
		if perr != nil {
			var probs problem.List
			probs.Add(problem.Problem{File: opt.KeyPath, Message: fmt.Sprintf("the installed key, the pin when none is given, does not parse: %v (pass --expected-recipient or --expected-recipient-file)", perr)})
			return Pin{}, probs, nil
		}
		return Pin{Recipient: k.Recipient(), Source: "the key installed at " + opt.KeyPath}, nil, nil
	case !errors.Is(err, os.ErrNotExist):
		return Pin{}, nil, problem.Usagef("AGE_KEY_PATH: %v", err)
	case opt.AllowUnpinned:
		return Pin{Source: "none: first boot without a pin (--allow-unpinned-first-boot)", Unpinned: true}, nil, nil
	}
	return Pin{}, nil, &problem.UsageError{Msg: "no pin: pass --expected-recipient or --expected-recipient-file (the recipient of the fleet key), " +
		"or, only for a first boot you trust, --allow-unpinned-first-boot; once a key is installed at AGE_KEY_PATH it is the pin"}
}

// readPrefixFile replaces opt.Prefix with the content of opt.PrefixFile
// when that is a non-empty file, and returns the file's name then.
func readPrefixFile(opt *Options) (string, error) {
	if opt.PrefixFile == "" {
		return "", nil
	}
	switch data, err := os.ReadFile(opt.PrefixFile); {
	case err == nil && strings.TrimSpace(string(data)) != "":
		opt.Prefix = strings.TrimSpace(string(data))
		return opt.PrefixFile, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", problem.Usagef("BOOTSTRAP_PREFIX_FILE %s: %v", opt.PrefixFile, unwrapPath(err))
	}
	return "", nil
}

// readRecipientFile reads the one recipient of a pin file: blank lines and
// # comments are skipped.
func readRecipientFile(p string) (string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", problem.Usagef("expected-recipient-file %s: %v", p, unwrapPath(err))
	}
	if len(data) > 64<<10 {
		return "", problem.Usagef("expected-recipient-file %s: larger than 64 KiB, not a recipient", p)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		return "", problem.Usagef("expected-recipient-file %s: want exactly one age1... line, found %d", p, len(lines))
	}
	if err := agekey.CheckRecipient("expected-recipient-file "+p, lines[0]); err != nil {
		return "", err
	}
	return lines[0], nil
}

// unwrapPath drops the operation and path of a *fs.PathError: the message
// names the file already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// readSmall reads a regular file of at most max bytes, not through a
// symlink.
func readSmall(p string, max int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", p, max)
	}
	return data, nil
}

// Sentinel is what install writes to SECRETS_DIR/.bootstrap-ok: the
// prefix, the statement installed and the tar digest of the repo-seeds
// tree installed with it (a later statement naming the same tree keeps it).
func Sentinel(prefix, statement, seeds string) []byte {
	return []byte("clawdinator-bundle install\nprefix " + prefix + "\nstatement sha256:" + statement + "\nseeds sha256:" + seeds + "\n")
}

func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

// installed says whether the bundle proven (c, st) is the one installed:
// the sentinel records its statement and prefix, the key and every secret
// are in place with the bytes it names, no other secret is, and the seeds
// directory exists.
func installed(opt Options, c *bundle.SecretsContents, st *manifest.Statement, digest string) bool {
	sentinel, err := readSmall(filepath.Join(opt.SecretsDir, SentinelName), 4096)
	if err != nil || string(sentinel) != string(Sentinel(opt.Prefix, digest, st.RepoSeeds.TarSHA256)) {
		return false
	}
	marker, err := readSmall(filepath.Join(opt.SecretsDir, PrefixMarkerName), 4096)
	if err != nil || string(marker) != opt.Prefix {
		return false
	}
	key, err := readSmall(opt.KeyPath, 64<<10)
	if err != nil || string(key) != string(c.Entries[bundle.KeyEntry]) || !hasMode(opt.KeyPath, keyMode, opt.Chown) {
		return false
	}
	have, err := ageFiles(opt.SecretsDir)
	if err != nil || len(have) != len(st.Secrets) {
		return false
	}
	for _, s := range st.Secrets {
		data, err := readSmall(filepath.Join(opt.SecretsDir, s.Name), 1<<20)
		if err != nil {
			return false
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != s.SHA256 || !hasMode(filepath.Join(opt.SecretsDir, s.Name), secretMode, opt.Chown) {
			return false
		}
	}
	fi, err := os.Lstat(opt.SeedsDir)
	return err == nil && fi.IsDir()
}

// hasMode says whether p has mode and, when root, root for owner: what
// install writes, so that a key made readable by others is installed again.
func hasMode(p string, mode os.FileMode, root bool) bool {
	fi, err := os.Lstat(p)
	if err != nil || fi.Mode() != mode {
		return false
	}
	uid, gid, ok := owner(fi)
	return !root || (ok && uid == 0 && gid == 0)
}

// ageFiles lists the *.age names in dir ("" names when it does not exist).
func ageFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".age") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}
