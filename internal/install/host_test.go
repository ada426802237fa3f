//go:build linux

package install_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/install"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
)

// What install keeps about a host outside SECRETS_DIR, and how it behaves
// at boot: the sequence records, failing static, the lock, --check.

// localRebundleRaw writes prefix's secrets archive again with the fleet
// key around the statement bytes given.
func localRebundleRaw(t *testing.T, b bucket.Bucket, prefix string, statement []byte) {
	t.Helper()
	k := layout.Key(prefix, layout.SecretsObject)
	c, probs := bundle.VerifySecrets(bytes.NewReader(localGet(t, b, k)), bundle.VerifyOptions{})
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	var files []bundle.SecretFile
	for _, s := range c.Secrets {
		files = append(files, bundle.SecretFile{Name: s.Name, Data: c.Entries[bundle.SecretsDir+"/"+s.Name]})
	}
	var buf bytes.Buffer
	if err := bundle.WriteSecrets(&buf, c.Entries[bundle.KeyEntry], statement, files, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	localPut(t, b, k, buf.Bytes())
}

// v1Statement is st as the tool wrote statements before they had a
// sequence (format v1, canonical form).
func v1Statement(t *testing.T, st *manifest.Statement) []byte {
	t.Helper()
	type seeds struct {
		Key       string `json:"key"`
		Size      int64  `json:"size"`
		SHA256    string `json:"sha256"`
		TarSHA256 string `json:"tarSha256"`
	}
	v := struct {
		Format          string              `json:"format"`
		Instance        string              `json:"instance"`
		BootstrapPrefix string              `json:"bootstrapPrefix"`
		Secrets         []bundle.SecretInfo `json:"secrets"`
		RepoSeeds       seeds               `json:"repoSeeds"`
	}{manifest.StatementFormatV1, st.Instance, st.BootstrapPrefix, st.Secrets, seeds{st.RepoSeeds.Key, st.RepoSeeds.Size, st.RepoSeeds.SHA256, st.RepoSeeds.TarSHA256}}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, '\n')
	if got, err := manifest.ParseStatement(data); err != nil || got.Sequence != 0 {
		t.Fatalf("the v1 statement does not read as sequence 0: %v", err)
	}
	return data
}

func readRecord(t *testing.T, h host) string {
	t.Helper()
	data, err := os.ReadFile(install.RecordPath(h.stateDir, prefix1))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestLocalSequence: a host never installs a lower sequence than the one
// it recorded, even after SECRETS_DIR is deleted to force a reinstall; an
// equal one only with the same statement; a floor stands in for a record;
// a v1 statement is sequence 0.
func TestLocalSequence(t *testing.T) {
	v, fx := localVersioned(t)
	secretsKey := layout.Key(prefix1, layout.SecretsObject)
	h := newHost(t)

	// A v1 bundle (sequence 0) installs on a host with no record.
	published := localGet(t, v, secretsKey)
	localRebundleRaw(t, v, prefix1, v1Statement(t, localStatement(t, v, prefix1)))
	if res := mustInstall(t, localOptions(h, v, prefix1, fx.Recipient)); res.Sequence != 0 || res.Recorded != nil {
		t.Fatalf("v1: sequence %d, recorded %v", res.Sequence, res.Recorded)
	}
	if rec := readRecord(t, h); !strings.Contains(rec, "\nsequence 0\n") {
		t.Fatalf("record after v1:\n%s", rec)
	}
	// The v2 bundle as published (sequence 1) replaces it.
	localPut(t, v, secretsKey, published)
	if res := mustInstall(t, localOptions(h, v, prefix1, fx.Recipient)); res.Sequence != 1 || res.Recorded == nil || *res.Recorded != 0 || !res.Changed {
		t.Fatalf("v2 over v1: %+v", res)
	}
	seq1 := localGet(t, v, secretsKey)
	localRebundle(t, v, prefix1, func(st *manifest.Statement) { st.Sequence = 5 })
	seq5 := localGet(t, v, secretsKey)
	mustInstall(t, localOptions(h, v, prefix1, fx.Recipient))
	if rec := readRecord(t, h); !strings.Contains(rec, "\nsequence 5\n") {
		t.Fatalf("record after 5:\n%s", rec)
	}
	installed := snapshot(t, h.root)

	// A host installed before records existed: its first run that finds
	// the bundle installed records it.
	remove(t, install.RecordPath(h.stateDir, prefix1))
	if res := mustInstall(t, localOptions(h, v, prefix1, fx.Recipient)); !res.AlreadyInstalled || res.Recorded != nil {
		t.Fatalf("no record, installed: %+v", res)
	}
	if rec := readRecord(t, h); !strings.Contains(rec, "\nsequence 5\n") {
		t.Fatalf("record written when already installed:\n%s", rec)
	}

	// Rolled back to 1: refused, naming both numbers, the host untouched.
	localPut(t, v, secretsKey, seq1)
	res := run(t, localOptions(h, v, prefix1, fx.Recipient))
	requireRefused(t, res, "sequence 1 is lower than 5, the highest this host installed from this prefix ("+install.RecordPath(h.stateDir, prefix1)+")")
	requireSame(t, "rolled back", installed, snapshot(t, h.root))
	if !res.Kept || !res.FailStatic {
		t.Errorf("rolled back at boot: kept %v, fail static %v", res.Kept, res.FailStatic)
	}
	// The v1 bundle (0): refused too.
	localRebundleRaw(t, v, prefix1, v1Statement(t, localStatement(t, v, prefix1)))
	requireRefused(t, run(t, localOptions(h, v, prefix1, fx.Recipient)), "sequence 0 is lower than 5")

	// SECRETS_DIR deleted to force a reinstall: the record is not in it.
	localPut(t, v, secretsKey, seq1)
	if err := os.RemoveAll(h.secretsDir); err != nil {
		t.Fatal(err)
	}
	res = run(t, localOptions(h, v, prefix1, fx.Recipient))
	requireRefused(t, res, "sequence 1 is lower than 5")
	if res.Kept || res.FailStatic {
		t.Errorf("nothing installed: kept %v, fail static %v", res.Kept, res.FailStatic)
	}
	if _, err := os.Lstat(h.secretsDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused run made SECRETS_DIR: %v", err)
	}

	// Equal to the record with another statement: refused.
	localPut(t, v, secretsKey, seq5)
	st := localStatement(t, v, prefix1)
	st.RepoSeeds.TarSHA256 = strings.Repeat("e", 64)
	localRebundleRaw(t, v, prefix1, st.Marshal())
	requireRefused(t, run(t, localOptions(h, v, prefix1, fx.Recipient)), "sequence 5 is the one this host installed (", ") with another statement (sha256 ")
	// The same statement: installed again.
	localPut(t, v, secretsKey, seq5)
	mustInstall(t, localOptions(h, v, prefix1, fx.Recipient))
	requireSame(t, "reinstalled", installed, snapshot(t, h.root))

	// A floor, for a host with no record: below it refused, at it installed.
	fresh := newHost(t)
	opt := localOptions(fresh, v, prefix1, fx.Recipient)
	opt.SequenceFloor = 6
	requireRefused(t, run(t, opt), "sequence 5 is lower than 6, the floor this host was given (--sequence-floor)")
	opt.SequenceFloor = 5
	mustInstall(t, opt)
	// A record above the floor rules.
	localPut(t, v, secretsKey, seq1)
	opt.SequenceFloor = 1
	requireRefused(t, run(t, opt), "sequence 1 is lower than 5, the highest this host installed")

	// A record this tool did not write: refused, host untouched.
	if err := os.WriteFile(install.RecordPath(fresh.stateDir, prefix1), []byte("sequence 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	requireRefused(t, run(t, opt), "the sequence record cannot be read: ", "is not a sequence record this tool wrote")
}

// TestLocalFailStatic: a run that does not install, with an installation
// of the prefix in place, keeps it; at boot that counts as a success
// (FailStatic), with Strict it does not; with nothing installed, or after
// a kill left no sentinel, or with the lock held, it never does.
func TestLocalFailStatic(t *testing.T) {
	v, fx := localVersioned(t)
	b := count(v)
	secretsKey := layout.Key(prefix1, layout.SecretsObject)
	h := newHost(t)
	mustInstall(t, localOptions(h, b, prefix1, fx.Recipient))
	installed := snapshot(t, h.root)
	good := localGet(t, v, secretsKey)
	denied := &bucket.Error{Op: "get", Kind: bucket.AccessDenied, Err: errors.New("AccessDenied")}

	for _, tc := range []struct {
		name    string
		breakIt func()
		strict  bool
		prepare func(h host)
		kept    bool
	}{
		{name: "refused", breakIt: func() { localPut(t, v, secretsKey, []byte("junk")) }, kept: true},
		{name: "refused, strict", breakIt: func() { localPut(t, v, secretsKey, []byte("junk")) }, strict: true, kept: true},
		{name: "unreachable", breakIt: func() {
			b.fail = func(op, k, _ string) error { return denied }
		}, kept: true},
		{name: "unreachable, strict", breakIt: func() {
			b.fail = func(op, k, _ string) error { return denied }
		}, strict: true, kept: true},
		{name: "unreachable, no sentinel", breakIt: func() {
			b.fail = func(op, k, _ string) error { return denied }
		}, prepare: func(h host) { remove(t, filepath.Join(h.secretsDir, install.SentinelName)) }},
		{name: "unreachable, another prefix's marker", breakIt: func() {
			b.fail = func(op, k, _ string) error { return denied }
		}, prepare: func(h host) {
			writeFile(t, filepath.Join(h.secretsDir, install.PrefixMarkerName), "bootstrap/clawdinator-2")
		}},
		{name: "unreachable, the boot script's empty sentinel", breakIt: func() {
			b.fail = func(op, k, _ string) error { return denied }
		}, prepare: func(h host) { writeFile(t, filepath.Join(h.secretsDir, install.SentinelName), "") }, kept: true},
		{name: "unreachable, no key", breakIt: func() {
			b.fail = func(op, k, _ string) error { return denied }
		}, prepare: func(h host) { remove(t, h.keyPath) }},
		// Under the boot script's sentinel a key that is not the pin was
		// never proven (the script installs whatever key the bucket held):
		// not kept, or a writer who keeps the bucket's bundle refused, or
		// the bucket out of reach, would keep it there.
		{name: "unreachable, the boot script's sentinel, a key that is not the pin", breakIt: func() {
			b.fail = func(op, k, _ string) error { return denied }
		}, prepare: func(h host) {
			writeOtherKey(t, h.keyPath)
			writeFile(t, filepath.Join(h.secretsDir, install.SentinelName), "")
		}},
		{name: "refused, the boot script's sentinel, a key that is not the pin", breakIt: func() { localPut(t, v, secretsKey, []byte("junk")) },
			prepare: func(h host) {
				writeOtherKey(t, h.keyPath)
				writeFile(t, filepath.Join(h.secretsDir, install.SentinelName), "")
			}},
		// Under install's own sentinel the key was proven when installed:
		// a pin changed since (a key rotation, new pin first) keeps it.
		{name: "unreachable, install's sentinel, a key that is not the pin", breakIt: func() {
			b.fail = func(op, k, _ string) error { return denied }
		}, prepare: func(h host) { writeOtherKey(t, h.keyPath) }, kept: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := h
			if tc.prepare != nil {
				h = newHost(t)
				mustInstall(t, localOptions(h, b, prefix1, fx.Recipient))
				tc.prepare(h)
			}
			before := snapshot(t, h.root)
			tc.breakIt()
			defer func() { b.fail = nil; localPut(t, v, secretsKey, good) }()
			opt := localOptions(h, b, prefix1, fx.Recipient)
			opt.Strict = tc.strict
			res := run(t, opt)
			if res.OK() {
				t.Fatal("the run installed")
			}
			if res.Kept != tc.kept || res.FailStatic != (tc.kept && !tc.strict) || res.KeptAtBoot() != res.FailStatic {
				t.Errorf("kept %v, fail static %v; want kept %v", res.Kept, res.FailStatic, tc.kept)
			}
			requireSame(t, tc.name, before, snapshot(t, h.root))
		})
	}
	requireSame(t, "after all", installed, snapshot(t, h.root))

	// The lock held by another install: never fail static, whatever is
	// installed (exit 3, one line).
	holdLock(t, filepath.Join(h.stateDir, install.LockName))
	opt := localOptions(h, b, prefix1, fx.Recipient)
	opt.LockTimeout = 100 * time.Millisecond
	if res := run(t, opt); !errors.Is(res.Failure, install.ErrLocked) || !res.Kept || res.FailStatic {
		t.Errorf("locked: %v, kept %v, fail static %v", res.Failure, res.Kept, res.FailStatic)
	}
}

// TestLocalSeedsKept: a statement that names the seeds tree installed
// (a secrets-only rotation) installs without downloading or extracting
// repo-seeds, and the host ends as a fresh install of it.
func TestLocalSeedsKept(t *testing.T) {
	v, fx := localVersioned(t)
	b := count(v)
	seedsKey := layout.Key(prefix1, layout.SeedsObject)
	h := newHost(t)
	mustInstall(t, localOptions(h, b, prefix1, fx.Recipient))
	if b.Gets(seedsKey) != 1 {
		t.Fatalf("first install: %d downloads of repo-seeds", b.Gets(seedsKey))
	}
	// An operator's file in the seeds tree shows it was not replaced.
	writeFile(t, filepath.Join(h.seedsDir, "operator-note"), "kept")
	localRebundle(t, v, prefix1, func(st *manifest.Statement) {})
	res := mustInstall(t, localOptions(h, b, prefix1, fx.Recipient))
	if !res.Changed || !res.SeedsKept || res.Seeds.Key != "" || b.Gets(seedsKey) != 1 {
		t.Errorf("rotation: changed %v, seeds kept %v, %d downloads of repo-seeds", res.Changed, res.SeedsKept, b.Gets(seedsKey))
	}
	if _, err := os.Stat(filepath.Join(h.seedsDir, "operator-note")); err != nil {
		t.Errorf("the seeds tree was replaced: %v", err)
	}
	remove(t, filepath.Join(h.seedsDir, "operator-note"))
	fresh := newHost(t)
	mustInstall(t, localOptions(fresh, b, prefix1, fx.Recipient))
	requireSame(t, "seeds kept", snapshot(t, fresh.root), snapshot(t, h.root))

	// New seeds in the statement: downloaded.
	localRebundle(t, v, prefix1, func(st *manifest.Statement) { st.RepoSeeds.TarSHA256 = strings.Repeat("e", 64) })
	if res := run(t, localOptions(h, b, prefix1, fx.Recipient)); res.SeedsKept || b.Gets(seedsKey) != 3 {
		t.Errorf("other seeds named: kept %v, %d downloads", res.SeedsKept, b.Gets(seedsKey))
	}
}

// TestLocalCheck: --check proves what the bucket holds and writes
// nothing: up to date, a change pending (repo-seeds asked about, not
// downloaded), a problem.
func TestLocalCheck(t *testing.T) {
	v, fx := localVersioned(t)
	b := count(v)
	seedsKey := layout.Key(prefix1, layout.SeedsObject)
	check := func(h host) *install.Result {
		t.Helper()
		opt := localOptions(h, b, prefix1, fx.Recipient)
		opt.CheckOnly = true
		before, state := snapshot(t, h.root), snapshotIf(t, h.stateDir)
		res := run(t, opt)
		requireSame(t, "check", before, snapshot(t, h.root))
		requireSame(t, "check, state", state, snapshotIf(t, h.stateDir))
		return res
	}

	fresh := newHost(t)
	res := check(fresh)
	if !res.OK() || !res.Pending || res.Changed || res.SeedsKept || res.Seeds.VersionID == "" || b.Gets(seedsKey) != 0 {
		t.Errorf("nothing installed: %+v, %d downloads of repo-seeds", res, b.Gets(seedsKey))
	}
	if _, err := os.Lstat(fresh.stateDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("check made the state directory: %v", err)
	}

	h := newHost(t)
	mustInstall(t, localOptions(h, b, prefix1, fx.Recipient))
	if res := check(h); !res.OK() || res.Pending || !res.AlreadyInstalled {
		t.Errorf("installed: %+v", res)
	}
	localRebundle(t, v, prefix1, func(st *manifest.Statement) {})
	if res := check(h); !res.OK() || !res.Pending || !res.SeedsKept || b.Gets(seedsKey) != 1 {
		t.Errorf("a rotation pending: %+v, %d downloads of repo-seeds", res, b.Gets(seedsKey))
	}
	localPut(t, v, layout.Key(prefix1, layout.SecretsObject), []byte("junk"))
	if res := check(h); res.OK() || res.Pending || res.FailStatic {
		t.Errorf("a junk archive: %+v", res)
	}
}

// snapshotIf is snapshot, or nothing when dir does not exist.
func snapshotIf(t *testing.T, dir string) map[string]string {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return map[string]string{}
	}
	return snapshot(t, dir)
}

// TestLocalStateDir: the lock and the records live in a directory only its
// owner can write; the lock file is 0600 and never followed through a
// symlink; a second install waits for the first.
func TestLocalStateDir(t *testing.T) {
	b, fx := localDir(t)
	h := newHost(t)
	mustInstall(t, localOptions(h, b, prefix1, fx.Recipient))
	fi, err := os.Lstat(filepath.Join(h.stateDir, install.LockName))
	if err != nil || fi.Mode() != 0o600 {
		t.Fatalf("lock file: %v %v", fi.Mode(), err)
	}
	if fi, err := os.Lstat(h.stateDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir: %v %v", fi.Mode(), err)
	}
	failing := func(what string, want ...string) {
		t.Helper()
		res := run(t, localOptions(h, b, prefix1, fx.Recipient))
		if res.Failure == nil {
			t.Fatalf("%s: accepted", what)
		}
		for _, w := range want {
			if !strings.Contains(res.Failure.Error(), w) {
				t.Errorf("%s: %v, want %q", what, res.Failure, w)
			}
		}
	}
	chmod(t, h.stateDir, 0o770)
	failing("group-writable", "writable by group or others (mode 0770)")
	chmod(t, h.stateDir, 0o700)

	if os.Geteuid() == 0 {
		if err := os.Chown(h.stateDir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		failing("owned by nobody", "is owned by uid 65534")
		if err := os.Chown(h.stateDir, 0, 0); err != nil {
			t.Fatal(err)
		}
	}

	// A symlink where the lock goes: not followed.
	lockPath := filepath.Join(h.stateDir, install.LockName)
	target := filepath.Join(t.TempDir(), "elsewhere")
	remove(t, lockPath)
	if err := os.Symlink(target, lockPath); err != nil {
		t.Fatal(err)
	}
	failing("lock symlink", lockPath)
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lock was followed through the symlink: %v", err)
	}
	remove(t, lockPath)

	// A lock file another mode: made 0600 again.
	if err := os.WriteFile(lockPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mustInstall(t, localOptions(h, b, prefix1, fx.Recipient))
	if fi, err := os.Lstat(lockPath); err != nil || fi.Mode() != 0o600 {
		t.Errorf("lock file mode %v (%v)", fi.Mode(), err)
	}

	// The state dir a symlink: refused.
	real := filepath.Join(t.TempDir(), "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	opt := localOptions(h, b, prefix1, fx.Recipient)
	opt.StateDir = link
	if res := run(t, opt); res.Failure == nil || !strings.Contains(res.Failure.Error(), "is not a directory (a symlink is refused too)") {
		t.Errorf("state dir a symlink: %v", res.Failure)
	}

	// Held by another install that finishes: the second one waits, then
	// runs.
	lock := holdLock(t, lockPath)
	released := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		close(released)
		lock.Close()
	}()
	res := mustInstall(t, localOptions(h, b, prefix1, fx.Recipient))
	select {
	case <-released:
	default:
		t.Error("the second install ran while the first held the lock")
	}
	if !res.AlreadyInstalled {
		t.Errorf("after waiting: %+v", res)
	}
}

// writeOtherKey replaces the key at p with a new one, not the pin.
func writeOtherKey(t *testing.T, p string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	remove(t, p)
	writeFile(t, p, id.String()+"\n")
}
