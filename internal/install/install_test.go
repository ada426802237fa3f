//go:build linux

package install_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/faultproxy"
	"github.com/openclaw/clawdinator-bundle/internal/install"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

const prefix1 = "bootstrap/clawdinator-1"

// bootScript is the boot script's steps (docs/host.md), with the aws CLI
// fetching each object as it is current: the reference bench/install.sh
// measures install against.
const bootScript = "../../bench/baseline-boot.sh"

// TestInstallMatchesBootScript installs a published bundle with install and
// with the boot script's steps in a second root: the same files with the
// same content, modes and owners, but for the differences docs/host.md
// lists; and every installed secret decrypts with the installed key, by
// the age CLI.
func TestInstallMatchesBootScript(t *testing.T) {
	w := newWorld(t)
	tool(t, "tar")
	ours, theirs := newHost(t), newHost(t)
	res := mustInstall(t, w.options(ours, w.b, prefix1))
	if res.AlreadyInstalled || res.SeedsFrom != "current" || res.Instance != "clawdinator-1" || res.Proven != 9 {
		t.Errorf("result: already %v, seeds from %q, instance %q, proven %d", res.AlreadyInstalled, res.SeedsFrom, res.Instance, res.Proven)
	}
	cmd := exec.Command("bash", bootScript, w.bkt, prefix1, theirs.secretsDir, theirs.seedsDir, theirs.keyPath)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "S3_ENDPOINT=" + w.srv.Endpoint}, w.srv.Env()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("boot script: %v\n%s", err, out)
	}
	a, b := snapshot(t, ours.root), snapshot(t, theirs.root)
	// The documented differences, one by one; everything else is equal.
	differ := map[string]bool{}
	expect := func(rel, oursWant, theirsWant string) {
		t.Helper()
		differ[rel] = true
		if !strings.HasPrefix(a[rel], oursWant) || !strings.HasPrefix(b[rel], theirsWant) {
			t.Errorf("%s: install %q, boot script %q; want %q and %q", rel, a[rel], b[rel], oursWant, theirsWant)
		}
	}
	expect("var/lib/clawd/nix-secrets", "d 0700 0:0", "d 0600 0:0")
	for _, n := range append(slices.Clone(plan.DefaultRequired), sample.TokenName("clawdinator-1")) {
		rel := "var/lib/clawd/nix-secrets/" + n
		expect(rel, "- 0400 0:0", "- 0600 0:0")
		if a[rel][len("- 0400 0:0"):] != b[rel][len("- 0600 0:0"):] {
			t.Errorf("%s: content differs: %s vs %s", rel, a[rel], b[rel])
		}
		out, err := exec.Command(tool(t, "age"), "-d", "-i", ours.keyPath, filepath.Join(ours.secretsDir, n)).Output()
		if err != nil || !strings.HasPrefix(string(out), sample.Canary) {
			t.Errorf("age -d %s with the installed key: %v", n, err)
		}
	}
	expect("var/lib/clawd/nix-secrets/.bootstrap-ok", "- 0644 0:0", "- 0644 0:0")
	for rel := range a {
		if !differ[rel] && a[rel] != b[rel] {
			t.Errorf("%s: install %q, boot script %q", rel, a[rel], b[rel])
		}
	}
	for rel := range b {
		if _, ok := a[rel]; !ok {
			t.Errorf("%s: installed by the boot script only: %s", rel, b[rel])
		}
	}
	if !strings.HasPrefix(a["etc/agenix/keys/clawdinator.agekey"], "- 0400 0:0") {
		t.Errorf("key: %s", a["etc/agenix/keys/clawdinator.agekey"])
	}
	if !strings.HasPrefix(a["var/lib/clawd/repo-seeds/openclaw/scripts/run.sh"], "- 0755 0:0") {
		t.Errorf("seeds keep their modes: %s", a["var/lib/clawd/repo-seeds/openclaw/scripts/run.sh"])
	}
	sentinel, _ := os.ReadFile(filepath.Join(ours.secretsDir, install.SentinelName))
	if !strings.Contains(string(sentinel), "statement sha256:"+res.Statement) || !strings.Contains(string(sentinel), "prefix "+prefix1+"\n") {
		t.Errorf("sentinel %q does not record the statement and prefix", sentinel)
	}
}

// TestInstallIdempotent runs install twice: the second run proves the
// secrets archive, says it is already installed, changes nothing and
// downloads no repo-seeds.
func TestInstallIdempotent(t *testing.T) {
	w := newWorld(t)
	h := newHost(t)
	var seedsGets atomic.Int64
	proxy := startProxy(t, w, faultproxy.Rule{
		Match: func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/repo-seeds.tar.zst")
		},
		Hold: func(*http.Request) { seedsGets.Add(1) },
	})
	b := w.open(t, proxy)
	mustInstall(t, w.options(h, b, prefix1))
	if seedsGets.Load() != 1 {
		t.Fatalf("first install: %d repo-seeds downloads, want 1", seedsGets.Load())
	}
	before := snapshot(t, h.root)
	// Staging a killed run left behind goes, even when nothing is installed.
	stale := filepath.Join(filepath.Dir(h.seedsDir), ".repo-seeds.install-killed")
	if err := os.MkdirAll(filepath.Join(stale, "tree"), 0o700); err != nil {
		t.Fatal(err)
	}
	res := mustInstall(t, w.options(h, b, prefix1))
	if !res.AlreadyInstalled {
		t.Error("second install did not say already installed")
	}
	if seedsGets.Load() != 1 {
		t.Errorf("second install downloaded repo-seeds (%d downloads in all)", seedsGets.Load())
	}
	requireSame(t, "second install", before, snapshot(t, h.root))

	// A secret removed behind install's back: not installed any more, so
	// installed again.
	os.Remove(filepath.Join(h.secretsDir, plan.DefaultRequired[0]))
	if res := mustInstall(t, w.options(h, b, prefix1)); res.AlreadyInstalled {
		t.Error("a missing secret was taken for installed")
	}
	requireSame(t, "repaired install", before, snapshot(t, h.root))

	// A key made readable by others: installed again, 0400.
	if err := os.Chmod(h.keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if res := mustInstall(t, w.options(h, b, prefix1)); res.AlreadyInstalled {
		t.Error("a key readable by others was taken for installed")
	}
	requireSame(t, "key mode repaired", before, snapshot(t, h.root))

	// Another install holding the lock: this one fails at once, and
	// changes nothing.
	holdLock(t, filepath.Join(h.stateDir, install.LockName))
	os.Remove(filepath.Join(h.secretsDir, install.SentinelName))
	locked := snapshot(t, h.root)
	opt := w.options(h, b, prefix1)
	opt.LockTimeout = 200 * time.Millisecond
	res = run(t, opt)
	if !errors.Is(res.Failure, install.ErrLocked) {
		t.Errorf("with the lock held: %v", res.Failure)
	}
	requireSame(t, "locked", locked, snapshot(t, h.root))
}

// TestInstallRotation publishes a changed secret and drops another from
// the bundle: install picks the change up, removes the dropped secret, and
// replaces repo-seeds as a whole.
func TestInstallRotation(t *testing.T) {
	w := newWorld(t)
	h := newHost(t)
	mustInstall(t, w.options(h, w.b, prefix1))
	if err := os.WriteFile(filepath.Join(h.secretsDir, "operator-notes.txt"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	// An operator's own directory, with its owner, mode and time.
	own := filepath.Join(h.secretsDir, "operator")
	if err := os.Mkdir(own, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(own, "x"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(own, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(own, 0o2750); err != nil {
		t.Fatal(err)
	}
	when := time.Unix(1600000000, 0)
	if err := os.Chtimes(own, when, when); err != nil {
		t.Fatal(err)
	}
	ownBefore := snapshot(t, own)

	changed, dropped := plan.DefaultRequired[1], plan.DefaultRequired[2]
	w.reencrypt(t, changed, sample.Canary+"rotated")
	if err := os.Remove(filepath.Join(w.fx.SecretsDir, dropped)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(w.fx.SeedsDir, "openclaw", "README.link")); err != nil {
		t.Fatal(err)
	}
	pol := w.pol
	pol.Required = slices.DeleteFunc(slices.Clone(pol.Required), func(n string) bool { return n == dropped })
	if res := w.publishWith(t, w.b, pol); res.Err() != nil || res.Problems.HasErrors() {
		t.Fatalf("publish: %v %v", res.Err(), res.Problems)
	}

	res := mustInstall(t, w.options(h, w.b, prefix1))
	if res.AlreadyInstalled {
		t.Fatal("a rotated bundle was taken for installed")
	}
	if !slices.Equal(res.Removed, []string{dropped}) {
		t.Errorf("removed %v, want [%s]", res.Removed, dropped)
	}
	if _, err := os.Lstat(filepath.Join(h.secretsDir, dropped)); !os.IsNotExist(err) {
		t.Errorf("%s still installed: %v", dropped, err)
	}
	out, err := exec.Command(tool(t, "age"), "-d", "-i", h.keyPath, filepath.Join(h.secretsDir, changed)).Output()
	if err != nil || string(out) != sample.Canary+"rotated" {
		t.Errorf("the rotated secret was not installed: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(h.seedsDir, "openclaw", "README.link")); !os.IsNotExist(err) {
		t.Errorf("repo-seeds was not replaced as a whole: %v", err)
	}
	if data, err := os.ReadFile(filepath.Join(h.secretsDir, "operator-notes.txt")); err != nil || string(data) != "kept" {
		t.Errorf("a file install does not own was not carried over: %q %v", data, err)
	}
	requireSame(t, "an operator's directory carried over", ownBefore, snapshot(t, own))
	if fi, err := os.Stat(own); err != nil || !fi.ModTime().Equal(when) {
		t.Errorf("the operator's directory lost its time: %v", err)
	}
}

// TestInstallPrefixChange moves a host to another prefix: the other
// instance's bundle replaces the first one's, its token included.
func TestInstallPrefixChange(t *testing.T) {
	w := newWorld(t)
	h := newHost(t)
	mustInstall(t, w.options(h, w.b, prefix1))
	res := mustInstall(t, w.options(h, w.b, "bootstrap/clawdinator-2"))
	if res.AlreadyInstalled || res.Instance != "clawdinator-2" {
		t.Fatalf("already %v, instance %q", res.AlreadyInstalled, res.Instance)
	}
	if !slices.Equal(res.Removed, []string{sample.TokenName("clawdinator-1")}) {
		t.Errorf("removed %v", res.Removed)
	}
	marker, _ := os.ReadFile(filepath.Join(h.secretsDir, install.PrefixMarkerName))
	if string(marker) != "bootstrap/clawdinator-2" {
		t.Errorf("prefix marker %q", marker)
	}
	if _, err := os.Stat(filepath.Join(h.secretsDir, sample.TokenName("clawdinator-2"))); err != nil {
		t.Error(err)
	}
}

// TestInstallPin covers where the pin comes from: given, the installed
// key, none (refused unless allowed), and a bundle with another key
// refused by each.
func TestInstallPin(t *testing.T) {
	w := newWorld(t)

	t.Run("none", func(t *testing.T) {
		h := newHost(t)
		opt := w.options(h, w.b, prefix1)
		opt.Pin = ""
		if _, err := install.Run(context.Background(), opt); err == nil || !strings.Contains(err.Error(), "no pin") {
			t.Fatalf("no pin, no installed key: %v", err)
		}
		if _, err := os.Lstat(filepath.Join(h.root, "var")); !os.IsNotExist(err) {
			t.Error("a refused run created directories")
		}
		opt.AllowUnpinned = true
		res := mustInstall(t, opt)
		if res.Pin.Recipient != w.fx.Recipient || !strings.Contains(res.Pin.Source, "first boot") {
			t.Errorf("pin %+v", res.Pin)
		}
	})

	// Another key's bundle, complete and self-consistent, at prefix1.
	other := newHost(t)
	mustInstall(t, w.options(other, w.b, prefix1))
	w.plantOtherKeyBundle(t, prefix1)

	t.Run("given", func(t *testing.T) {
		h := newHost(t)
		res := run(t, w.options(h, w.b, prefix1))
		requireRefused(t, res, "expected-recipient is "+w.fx.Recipient)
	})
	t.Run("installed key", func(t *testing.T) {
		before := snapshot(t, other.root)
		opt := w.options(other, w.b, prefix1)
		opt.Pin = ""
		res := run(t, opt)
		requireRefused(t, res, "expected-recipient is "+w.fx.Recipient)
		if !strings.Contains(res.Pin.Source, "installed") {
			t.Errorf("pin source %q", res.Pin.Source)
		}
		requireSame(t, "installed key as the pin", before, snapshot(t, other.root))
	})
	t.Run("installed key unreadable", func(t *testing.T) {
		h := newHost(t)
		os.MkdirAll(filepath.Dir(h.keyPath), 0o755)
		os.WriteFile(h.keyPath, []byte("not a key\n"), 0o400)
		opt := w.options(h, w.b, prefix1)
		opt.Pin = ""
		opt.AllowUnpinned = true // a broken installed key is not a first boot
		requireRefused(t, run(t, opt), "the installed key")
	})
}

// plantOtherKeyBundle replaces prefix's secrets archive with one made by a
// writer without the fleet key: its own key, its own secrets, a statement
// that matches them and the current repo-seeds, and the manifest rewritten.
func (w *world) plantOtherKeyBundle(t *testing.T, prefix string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	var secrets []bundle.SecretFile
	var infos []bundle.SecretInfo
	for _, n := range append(slices.Clone(plan.DefaultRequired), sample.TokenName("clawdinator-1")) {
		p := filepath.Join(t.TempDir(), n)
		if err := sample.Encrypt(p, []byte("attacker"), id.Recipient()); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(p)
		sum := sha256.Sum256(data)
		secrets = append(secrets, bundle.SecretFile{Name: n, Data: data})
		infos = append(infos, bundle.SecretInfo{Name: n, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	}
	st := w.statement(t, prefix)
	st.Secrets = infos
	var buf bytes.Buffer
	if err := bundle.WriteSecrets(&buf, []byte(id.String()+"\n"), st.Marshal(), secrets, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	v := w.put(t, prefix+"/secrets.tar.zst", buf.Bytes())
	w.rewriteManifest(t, prefix, layout.SecretsObject, v, buf.Bytes())
}

// statement returns the statement inside prefix's current secrets archive.
func (w *world) statement(t *testing.T, prefix string) *manifest.Statement {
	t.Helper()
	c, probs := bundle.VerifySecrets(bytes.NewReader(w.get(t, prefix+"/secrets.tar.zst")), bundle.VerifyOptions{})
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	st, err := manifest.ParseStatement(c.Statement)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func startProxy(t *testing.T, w *world, rules ...faultproxy.Rule) string {
	t.Helper()
	p, err := faultproxy.Start(w.srv.Endpoint, faultproxy.Config{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.URL
}
