//go:build linux

package install_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/install"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// The install tests publish with the tool to a real versitygw, then
// install into temporary host roots, as root, the way a host boots.

var inCI = os.Getenv("CI") == "true"

// needRoot skips a test that must run as root (install chowns to root and
// the boot script's tar keeps owners only as root), or fails it in CI.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if inCI {
			t.Fatal("the install tests run as root (CI=true, so this fails instead of skipping)")
		}
		t.Skip("the install tests run as root")
	}
}

// world is a bucket with the sample fleet published into it.
type world struct {
	srv *s3test.Server
	bkt string
	b   *bucket.S3
	fx  *sample.Fixture
	pol plan.Policy
	// clock is the start of the next publish: each publish starts later,
	// so its statements have a higher sequence.
	clock int64
}

func newWorld(t *testing.T) *world {
	t.Helper()
	needRoot(t)
	w := &world{srv: s3test.Start(t)}
	var rb [5]byte
	rand.Read(rb[:])
	w.bkt = "host-" + hex.EncodeToString(rb[:])
	w.srv.CreateBucket(t, w.bkt)
	w.b = w.open(t, w.srv.Endpoint)
	fx, err := sample.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w.fx = fx
	w.pol = plan.Policy{Required: plan.DefaultRequired, Exclude: plan.DefaultExclude}
	w.publish(t, w.b)
	return w
}

// open returns a client of the world's bucket at endpoint (the server, or
// a fault proxy in front of it).
func (w *world) open(t *testing.T, endpoint string) *bucket.S3 {
	t.Helper()
	b, err := bucket.New(context.Background(), bucket.Config{
		Bucket: w.bkt, Region: w.srv.Region, Endpoint: endpoint,
		AccessKeyID: w.srv.AccessKey, SecretAccessKey: w.srv.SecretKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publish publishes the fixture as it is now, through b.
func (w *world) publish(t *testing.T, b bucket.Bucket) *result.Result {
	t.Helper()
	res := w.publishWith(t, b, w.pol)
	if err := res.Err(); err != nil || res.Problems.HasErrors() {
		t.Fatalf("publish: %v %v", err, res.Problems)
	}
	return res
}

func (w *world) publishWith(t *testing.T, b bucket.Bucket, pol plan.Policy) *result.Result {
	t.Helper()
	instances, iprobs := plan.LoadInstances(w.fx.InstancesFile)
	prep, probs, err := gate.Prepare(context.Background(), gate.Inputs{
		AgeKey: w.fx.Key, SecretsDir: w.fx.SecretsDir, RepoSeedsDir: w.fx.SeedsDir,
		Instances: instances, InstancesProblems: iprobs, Policy: pol,
		Mtime: time.Unix(1700000000, 0).UTC(), TempDir: t.TempDir(), Start: w.tick(),
	})
	if err != nil || prep == nil || probs.HasErrors() {
		t.Fatalf("prepare: %v %v", err, probs)
	}
	defer prep.Close()
	return publish.Publish(context.Background(), prep, publish.Options{
		Bucket: b, Tool: manifest.Tool{Name: "clawdinator-bundle", Version: "test"},
	})
}

// tick returns a publish start later than the one before.
func (w *world) tick() time.Time {
	if w.clock == 0 {
		w.clock = 1800000000
	}
	w.clock++
	return time.Unix(w.clock, 0)
}

// reencrypt gives secret name new ciphertext, to the fleet key.
func (w *world) reencrypt(t *testing.T, name, plaintext string) {
	t.Helper()
	r, err := age.ParseX25519Recipient(w.fx.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	if err := sample.Encrypt(filepath.Join(w.fx.SecretsDir, name), []byte(plaintext), r); err != nil {
		t.Fatal(err)
	}
}

// host is a temporary host root with the boot script's paths.
type host struct {
	root                          string
	secretsDir, seedsDir, keyPath string
	// stateDir holds the lock and the sequence records.
	stateDir string
}

func newHost(t *testing.T) host {
	t.Helper()
	root := t.TempDir()
	return host{
		root:       root,
		secretsDir: filepath.Join(root, "var/lib/clawd/nix-secrets"),
		seedsDir:   filepath.Join(root, "var/lib/clawd/repo-seeds"),
		keyPath:    filepath.Join(root, "etc/agenix/keys/clawdinator.agekey"),
		// Outside the host root: a snapshot of the root is the
		// installation; the state directory is install's own.
		stateDir: filepath.Join(t.TempDir(), "clawdinator-bundle"),
	}
}

// options are a host's install of prefix from b, pinned to the fleet key.
func (w *world) options(h host, b bucket.Bucket, prefix string) install.Options {
	return hostOptions(h, b, prefix, w.fx.Recipient)
}

// hostOptions are a host's install of prefix from b, pinned to pin.
func hostOptions(h host, b bucket.Bucket, prefix, pin string) install.Options {
	return install.Options{
		Bucket: b, Prefix: prefix, SecretsArchive: "secrets.tar.zst", SeedsArchive: "repo-seeds.tar.zst",
		SecretsDir: h.secretsDir, SeedsDir: h.seedsDir, KeyPath: h.keyPath, StateDir: h.stateDir,
		Pin: pin, Chown: true,
	}
}

// holdLock takes the lock at path as another install would; closing the
// returned file (or the test's end) releases it.
func holdLock(t *testing.T, path string) *os.File {
	t.Helper()
	lock, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return lock
}

// run installs and fails the test on a usage error.
func run(t *testing.T, opt install.Options) *install.Result {
	t.Helper()
	res, err := install.Run(context.Background(), opt)
	if err != nil {
		t.Fatalf("install: usage error: %v", err)
	}
	return res
}

// mustInstall installs and requires success.
func mustInstall(t *testing.T, opt install.Options) *install.Result {
	t.Helper()
	res := run(t, opt)
	if !res.OK() {
		t.Fatalf("install failed: %v\n%v", res.Failure, res.Problems)
	}
	return res
}

// requireRefused requires a refusal (problems, not a failure) matching
// every pattern.
func requireRefused(t *testing.T, res *install.Result, patterns ...string) {
	t.Helper()
	if res.Failure != nil {
		t.Fatalf("install could not complete (%v); want a refusal", res.Failure)
	}
	if !res.Problems.HasErrors() {
		t.Fatal("install refused nothing")
	}
	var all []string
	for _, p := range res.Problems {
		all = append(all, p.String())
	}
	text := strings.Join(all, "\n")
	for _, p := range patterns {
		if !strings.Contains(text, p) {
			t.Errorf("no problem says %q; got:\n%s", p, text)
		}
	}
}

// snapshot lists everything under root: type, mode, owner, size and
// SHA-256 of content or link target. Two equal snapshots mean nothing
// changed.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(root, p)
		desc := fmt.Sprintf("%c %04o %d:%d", fi.Mode().Type().String()[0], unixMode(fi.Mode()), st.Uid, st.Gid)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			desc += fmt.Sprintf(" %d %x", len(data), sum[:8])
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// requireSame fails when two snapshots differ, listing the differences.
func requireSame(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	var diffs []string
	for k, v := range before {
		if a, ok := after[k]; !ok {
			diffs = append(diffs, "removed "+k)
		} else if a != v {
			diffs = append(diffs, fmt.Sprintf("changed %s: %s -> %s", k, v, a))
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, "added "+k+": "+after[k])
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s: the host root changed:\n  %s", what, strings.Join(diffs, "\n  "))
	}
}

// tool finds an independent client: a missing one fails under CI=true.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if inCI {
			t.Fatalf("%s: %v", name, err)
		}
		t.Skipf("%s: %v", name, err)
	}
	return p
}

// awsCLI is Debian's aws CLI, not whatever else PATH offers.
const awsCLI = "/usr/bin/aws"

// put writes data to key with the aws CLI: a bucket writer that holds no
// key and is not this tool. It returns the new version id.
func (w *world) put(t *testing.T, key string, data []byte) string {
	t.Helper()
	if _, err := os.Stat(awsCLI); err != nil {
		if inCI {
			t.Fatalf("aws CLI: %v", err)
		}
		t.Skipf("aws CLI: %v", err)
	}
	p := filepath.Join(t.TempDir(), "upload")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(awsCLI, "--endpoint-url", w.srv.Endpoint, "s3api", "put-object", "--bucket", w.bkt, "--key", key, "--body", p,
		"--checksum-algorithm", "SHA256", "--query", "VersionId", "--output", "text")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, w.srv.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws s3api put-object %s: %v\n%s", key, err, out)
	}
	return strings.TrimSpace(string(out))
}

// get reads the current version of key.
func (w *world) get(t *testing.T, key string) []byte {
	t.Helper()
	rc, _, err := w.b.Get(context.Background(), key, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// rewriteManifest makes prefix's manifest name the given version and bytes
// of object name, as a writer without the key can.
func (w *world) rewriteManifest(t *testing.T, prefix, name, version string, data []byte) {
	t.Helper()
	key := prefix + "/" + "manifest.json"
	m, err := manifest.Parse(w.get(t, key))
	if err != nil {
		t.Fatal(err)
	}
	o := m.Object(name)
	sum := sha256.Sum256(data)
	o.VersionID, o.SHA256, o.Size = version, hex.EncodeToString(sum[:]), int64(len(data))
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	w.put(t, key, out)
}

// entry is one tar entry of a hand-made archive.
type entry struct {
	hdr  tar.Header
	data string
}

// archive builds a tar+zstd archive as written, and returns it with the
// SHA-256 of its tar stream.
func archive(t *testing.T, entries []entry) (data []byte, tarSHA string) {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1700000000, 0)
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(tb.Bytes())
	var zb bytes.Buffer
	zw, err := zstd.NewWriter(&zb)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(tb.Bytes())
	zw.Close()
	return zb.Bytes(), hex.EncodeToString(sum[:])
}

// unixMode is the permission bits with setuid, setgid and sticky as
// chmod numbers them.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}
