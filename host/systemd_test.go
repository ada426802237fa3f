package host

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// The systemd test boots systemd as PID 1 in podman with the units of
// systemd/, the stand-ins of testdata/standin (agenix and
// clawdinator-repo-seed requiring the bootstrap unit, as the fleet's module
// declares them, and an agent that reads the secrets), the binary built
// with -tags faults, and versitygw on the host's loopback as the bucket
// (--network host). One host lives through every case, in order, as a
// fleet host lives through publishes; each case starts from a host that
// booted cleanly.
//
// The image comes from testdata/image.sh (mmdebstrap, Debian's packages)
// and is tagged with a hash of that file: built once, reused while the
// recipe is unchanged. Timings are logged, never asserted.

const (
	bucketName = "fleet"
	instance   = "clawdinator-1"
	prefix     = "bootstrap/" + instance
	repo       = "clawdinators" // the seeds repository; the fleet's host config is built from it
	// bootTimeout bounds how long a boot may take to settle: a guard, not a
	// measurement (boots take about 2 s).
	bootTimeout = 120 * time.Second
)

func TestSystemd(t *testing.T) {
	pod := need(t, "podman", "scripts/ci/install.sh")
	need(t, "git", "scripts/ci/install.sh")
	start := time.Now()
	img := systemdImage(t, pod)
	bin := buildBinary(t)
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucketName)
	f := newFleet(t, srv, bin)
	f.publish(t)
	t.Logf("timing: setup (image, binary, versitygw, first publish) %.1fs", time.Since(start).Seconds())

	h := createHost(t, pod, img, f)
	h.writeEnv(t, f.endpoint(), "")
	h.boot(t, "start")

	cases := 0
	run := func(name string, fn func(t *testing.T)) {
		t0 := time.Now()
		if cases++; cases > 1 {
			h.ensureHealthy(t)
		}
		t.Run(name, func(t *testing.T) {
			defer func() {
				if t.Failed() {
					h.dumpJournal(t)
				}
			}()
			fn(t)
		})
		t.Logf("timing: %s %.1fs", name, time.Since(t0).Seconds())
	}

	run("first boot installs and agenix decrypts every secret", func(t *testing.T) {
		if got := h.state(t); got != "running" {
			t.Errorf("system state %q after the first boot, want running (a unit failed)", got)
		}
		h.wantActive(t, "clawdinator-bootstrap.service", "agenix.service", "clawdinator.service", "clawdinator-bundle-refresh.timer")
		h.wantSecrets(t, f.plaintexts)
		if n := h.count(t, "decrypts"); n != 1 {
			t.Errorf("agenix decrypted %d times at the first boot, want 1", n)
		}
		if n := h.count(t, "seeds"); n != 1 {
			t.Errorf("repo-seed ran %d times at the first boot, want 1", n)
		}
		h.wantRepo(t, f.head)
	})

	run("reboot with the bucket unreachable keeps the installation", func(t *testing.T) {
		before, decrypts := h.snapshot(t), h.count(t, "decrypts")
		h.writeEnv(t, "http://"+closedAddr(t), "")
		h.boot(t, "restart")
		h.wantKept(t, before, decrypts+1, f)
		h.wantJournal(t, "clawdinator-bootstrap.service", `(?m)clawdinator-bootstrap: `)
	})

	run("reboot with a planted seeds object keeps the installation", func(t *testing.T) {
		before, decrypts := h.snapshot(t), h.count(t, "decrypts")
		planted := make([]byte, 64<<10)
		_, _ = rand.Read(planted)
		f.put(t, prefix+"/repo-seeds.tar.zst", planted)
		h.boot(t, "restart")
		h.wantKept(t, before, decrypts+1, f)
		h.wantRepo(t, f.head)
	})

	run("a rotation reaches /run/agenix through the timer's unit, decrypted once", func(t *testing.T) {
		decrypts, agent := h.count(t, "decrypts"), h.count(t, "agent-starts")
		boot, seed := h.prop(t, "clawdinator-bootstrap.service", "ExecMainStartTimestampMonotonic"), h.prop(t, "clawdinator-repo-seed.service", "ExecMainStartTimestampMonotonic")
		// The agent's work in its repositories, which a repo-seed run would reset.
		h.sh(t, "echo work >/var/lib/clawd/repos/"+repo+"/agent-work-in-progress")
		f.rotate(t, "clawdinator-anthropic-api-key.age", "rotated-1")
		f.publish(t)

		if out, err := h.exec("systemctl", "start", "clawdinator-bundle-refresh.service"); err != nil {
			t.Fatalf("the refresh unit failed: %v\n%s", err, out)
		}
		h.wantSecrets(t, f.plaintexts)
		if n := h.count(t, "decrypts"); n != decrypts+1 {
			t.Errorf("decrypted %d times for one rotation, want 1", n-decrypts)
		}
		if n := h.count(t, "agent-starts"); n != agent+1 {
			t.Errorf("the agent was restarted %d times for one rotation, want 1", n-agent)
		}
		if got := h.prop(t, "clawdinator-bootstrap.service", "ExecMainStartTimestampMonotonic"); got != boot {
			t.Errorf("the bootstrap unit ran again (started at %s, was %s): it was restarted on a running host", got, boot)
		}
		if got := h.prop(t, "clawdinator-repo-seed.service", "ExecMainStartTimestampMonotonic"); got != seed {
			t.Errorf("repo-seed ran again on a running host (started at %s, was %s)", got, seed)
		}
		h.sh(t, "test -f /var/lib/clawd/repos/"+repo+"/agent-work-in-progress")
		h.wantActive(t, "clawdinator-bootstrap.service", "agenix.service", "clawdinator.service")

		// Nothing new: no decrypt, no restart.
		if out, err := h.exec("systemctl", "start", "clawdinator-bundle-refresh.service"); err != nil {
			t.Fatalf("the refresh unit failed with nothing new: %v\n%s", err, out)
		}
		if n := h.count(t, "decrypts"); n != decrypts+1 {
			t.Errorf("a refresh with nothing new decrypted again (%d decrypts, want %d)", n, decrypts+1)
		}
		if n := h.count(t, "agent-starts"); n != agent+1 {
			t.Errorf("a refresh with nothing new restarted the agent (%d starts, want %d)", n, agent+1)
		}
	})

	run("a replayed older bundle is refused and the host stays", func(t *testing.T) {
		// A newer bundle installed at boot, then the objects current before
		// its publish put back as the current versions, by a bucket writer
		// without the key.
		older := f.versions(t)
		f.rotate(t, "clawdinator-telegram-bot-token.age", "rotated-before-replay")
		f.publish(t)
		h.boot(t, "restart")
		if !h.wantSecrets(t, f.plaintexts) {
			t.Fatal("the newer bundle was not installed at boot; nothing to replay over")
		}
		before, decrypts := h.snapshot(t), h.count(t, "decrypts")
		for key, version := range older {
			f.put(t, key, f.get(t, key, version))
		}
		if _, err := h.exec("systemctl", "start", "clawdinator-bundle-refresh.service"); err == nil {
			t.Errorf("the refresh unit succeeded on a replayed bundle")
		}
		if st := h.prop(t, "clawdinator-bundle-refresh.service", "ExecMainStatus"); st != "1" {
			t.Errorf("install's exit status on a replayed bundle: %s, want 1 (refused)", st)
		}
		// Refused for being older, not for anything else.
		h.wantJournal(t, "clawdinator-bundle-refresh.service", `(?i)older|lower`)
		if got := h.snapshot(t); got != before {
			t.Errorf("the refresh changed the installation on a replayed bundle")
		}
		if n := h.count(t, "decrypts"); n != decrypts {
			t.Errorf("decrypted again on a replayed bundle")
		}
		h.wantSecrets(t, f.plaintexts)
		// And at boot, where a refusal keeps the installed bundle.
		h.boot(t, "restart")
		h.wantKept(t, before, decrypts+1, f)
	})

	run("a same-size seeds change comes through repo-seed intact", func(t *testing.T) {
		f.commit(t, "version 2\n") // "version 1\n" before: the same size
		f.publish(t)
		h.boot(t, "restart")
		h.wantActive(t, "clawdinator-bootstrap.service", "agenix.service")
		h.wantRepo(t, f.head)
		if got := h.sh(t, "cat /var/lib/clawd/repos/"+repo+"/VERSION"); got != "version 2\n" {
			t.Errorf("VERSION in the repos after the seeds change: %q", got)
		}
	})

	run("a kill mid-install heals at the next start", func(t *testing.T) {
		f.rotate(t, "clawdinator-control-token.age", "rotated-2")
		f.publish(t)
		// Killed between the seeds swap and the key swap: new seeds in
		// place, the previous key and secrets.
		h.writeEnv(t, f.endpoint(), "install.swap.key=kill")
		h.boot(t, "restart")
		if got := h.prop(t, "clawdinator-bootstrap.service", "ActiveState"); got != "failed" {
			t.Fatalf("the bootstrap unit is %s after install was killed, want failed (the fault did not fire?)", got)
		}
		for _, u := range []string{"agenix.service", "clawdinator-repo-seed.service"} {
			if got := h.prop(t, u, "ActiveState"); got == "active" {
				t.Errorf("%s is active while the bootstrap unit failed", u)
			}
		}
		h.writeEnv(t, f.endpoint(), "")
		h.boot(t, "restart")
		h.wantActive(t, "clawdinator-bootstrap.service", "agenix.service", "clawdinator.service")
		h.wantSecrets(t, f.plaintexts)
		// The installed seeds, not the repos (repo-seed's rsync is the
		// previous case's concern): the new commit, whole.
		h.wantGit(t, "/var/lib/clawd/repo-seeds/"+repo, f.head)
	})
	t.Logf("timing: TestSystemd total %.1fs, %d boots, %.1fs booting", time.Since(start).Seconds(), h.boots, h.bootTime.Seconds())
}

// --- the image and the binary ------------------------------------------------

// systemdImage returns the tag of the image testdata/image.sh builds,
// building it when podman does not have it.
func systemdImage(t *testing.T, pod string) string {
	recipe, err := os.ReadFile("testdata/image.sh")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(recipe)
	tag := "localhost/clawdinator-bundle-systemd:" + hex.EncodeToString(sum[:6])
	if exec.Command(pod, "image", "exists", tag).Run() == nil {
		t.Logf("image %s: cached", tag)
		return tag
	}
	need(t, "mmdebstrap", "apt-get install mmdebstrap; scripts/ci/install.sh")
	t0 := time.Now()
	out, err := exec.Command("bash", "testdata/image.sh", tag).CombinedOutput()
	if err != nil {
		cannot(t, "building the image with testdata/image.sh: %v\n%s", err, tail(out, 40))
	}
	t.Logf("timing: image %s built in %.1fs", tag, time.Since(t0).Seconds())
	return tag
}

// cannot ends the test where this machine cannot run systemd in podman:
// a failure under CI, where the test must run, else a skip with the reason.
func cannot(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf("skipped, this machine cannot boot systemd in podman: "+format, args...)
}

// buildBinary builds clawdinator-bundle, static, with the fault points.
func buildBinary(t *testing.T) string {
	t0 := time.Now()
	bin := filepath.Join(t.TempDir(), "clawdinator-bundle")
	cmd := exec.Command("go", "build", "-tags", "faults", "-trimpath", "-o", bin, "../cmd/clawdinator-bundle")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("timing: binary built in %.1fs", time.Since(t0).Seconds())
	return bin
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// --- the fleet's side: secrets, seeds, publishes -------------------------------

type fleet struct {
	srv        *s3test.Server
	bin        string
	fx         *sample.Fixture
	src        string // the seeds repository's origin
	recipient  age.Recipient
	plaintexts map[string]string // secret file name -> plaintext, for this instance
	head       string            // the seeds repository's commit
}

func newFleet(t *testing.T, srv *s3test.Server, bin string) *fleet {
	fx, err := sample.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.ParseX25519Recipient(fx.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	f := &fleet{srv: srv, bin: bin, fx: fx, recipient: r, plaintexts: map[string]string{}}
	names, err := filepath.Glob(filepath.Join(fx.SecretsDir, "*.age"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range names {
		n := filepath.Base(p)
		if strings.HasPrefix(n, "clawdinator-image-") || (strings.HasPrefix(n, "clawdinator-discord-token-") && n != sample.TokenName(instance)) {
			continue
		}
		f.plaintexts[n] = sample.Canary + n
	}
	// The seeds: a shallow clone of a repository, as the fleet's CI makes
	// them (pack, packed-refs, shallow), in place of the sample's tree.
	f.src = filepath.Join(t.TempDir(), "origin")
	f.git(t, "", "init", "-q", "-b", "main", f.src)
	f.commit(t, "version 1\n")
	return f
}

func (f *fleet) git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit commits VERSION with content in the origin, then clones it again
// (depth 1) as the seeds, as every run of the fleet's CI does.
func (f *fleet) commit(t *testing.T, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.src, "VERSION"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	f.git(t, f.src, "add", "VERSION")
	f.git(t, f.src, "commit", "-q", "-m", "version")
	f.head = f.git(t, f.src, "rev-parse", "HEAD")
	if err := os.RemoveAll(f.fx.SeedsDir); err != nil {
		t.Fatal(err)
	}
	f.git(t, "", "clone", "-q", "--depth", "1", "--no-local", "file://"+f.src, filepath.Join(f.fx.SeedsDir, repo))
}

// rotate encrypts a new plaintext for secret, to the fleet key.
func (f *fleet) rotate(t *testing.T, secret, plaintext string) {
	t.Helper()
	f.plaintexts[secret] = sample.Canary + plaintext
	if err := sample.Encrypt(filepath.Join(f.fx.SecretsDir, secret), []byte(f.plaintexts[secret]), f.recipient); err != nil {
		t.Fatal(err)
	}
}

func (f *fleet) endpoint() string { return f.srv.Endpoint }

// publish runs the binary's publish for the instance.
func (f *fleet) publish(t *testing.T) {
	t.Helper()
	t0 := time.Now()
	cmd := exec.Command(f.bin, "publish", "--age-key-file", f.fx.KeyFile, "--secrets-dir", f.fx.SecretsDir,
		"--repo-seeds-dir", f.fx.SeedsDir, "--instances-file", f.fx.InstancesFile, "--instances", instance,
		"--s3-bucket", bucketName, "--s3-endpoint", f.srv.Endpoint)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_ACCESS_KEY_ID=" + f.srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + f.srv.SecretKey, "AWS_REGION=" + f.srv.Region, "AWS_EC2_METADATA_DISABLED=true"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	t.Logf("timing: publish %.1fs", time.Since(t0).Seconds())
}

// versions returns the current version of every object under the prefix.
func (f *fleet) versions(t *testing.T) map[string]string {
	t.Helper()
	out, err := f.srv.Client().ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{
		Bucket: aws.String(bucketName), Prefix: aws.String(prefix + "/")})
	if err != nil {
		t.Fatal(err)
	}
	v := map[string]string{}
	for _, o := range out.Versions {
		if aws.ToBool(o.IsLatest) {
			v[aws.ToString(o.Key)] = aws.ToString(o.VersionId)
		}
	}
	if len(v) < 2 {
		t.Fatalf("objects under %s: %v", prefix, v)
	}
	return v
}

func (f *fleet) get(t *testing.T, key, version string) []byte {
	t.Helper()
	out, err := f.srv.Client().GetObject(context.Background(), &s3.GetObjectInput{
		Bucket: aws.String(bucketName), Key: aws.String(key), VersionId: aws.String(version)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fleet) put(t *testing.T, key string, body []byte) {
	t.Helper()
	_, err := f.srv.Client().PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucketName), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
}

// --- the host ----------------------------------------------------------------

type host struct {
	pod, name string
	fleet     *fleet
	boots     int
	bootTime  time.Duration
}

// createHost creates the container and copies in the binary, the units,
// the stand-ins and the pin, with the units enabled as systemctl enable
// would.
func createHost(t *testing.T, pod, img string, f *fleet) *host {
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	h := &host{pod: pod, name: "clawdinator-systemd-test-" + hex.EncodeToString(suffix), fleet: f}
	out, err := exec.Command(pod, "create", "--name", h.name, "--systemd=always", "--network", "host",
		"--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768", img, "/sbin/init").CombinedOutput()
	if err != nil {
		cannot(t, "podman create: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(pod, "rm", "-f", "-t", "0", h.name).Run() })

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	file := func(name string, mode int64, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	dir := func(name string) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
			t.Fatal(err)
		}
	}
	link := func(name, target string) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Linkname: target, Mode: 0o777, Typeflag: tar.TypeSymlink}); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, d := range []string{"usr/local/bin/", "usr/local/lib/standin/", "etc/clawdinator/", "var/lib/standin/",
		"etc/systemd/system/multi-user.target.wants/", "etc/systemd/system/timers.target.wants/"} {
		dir(d)
	}
	file("usr/local/bin/clawdinator-bundle", 0o755, read(f.bin))
	file("usr/local/lib/standin/agenix", 0o755, read("testdata/standin/agenix"))
	file("etc/clawdinator/fleet-recipient", 0o644, []byte(f.fx.Recipient+"\n"))
	units, _ := filepath.Glob("systemd/clawdinator-*")
	standins, _ := filepath.Glob("testdata/standin/*.service")
	for _, u := range append(units, standins...) {
		file("etc/systemd/system/"+filepath.Base(u), 0o644, read(u))
	}
	for _, u := range []string{"clawdinator-bootstrap.service", "agenix.service", "clawdinator-repo-seed.service", "clawdinator.service"} {
		link("etc/systemd/system/multi-user.target.wants/"+u, "../"+u)
	}
	link("etc/systemd/system/timers.target.wants/clawdinator-bundle-refresh.timer", "../clawdinator-bundle-refresh.timer")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	cp := exec.Command(pod, "cp", "-", h.name+":/")
	cp.Stdin = &buf
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("podman cp: %v\n%s", err, out)
	}
	return h
}

// writeEnv writes /etc/clawdinator/bundle.env: systemd/bundle.env with this
// bucket, its endpoint and credentials, and fault points when given.
func (h *host) writeEnv(t *testing.T, endpoint, faults string) {
	t.Helper()
	base, err := os.ReadFile("systemd/bundle.env")
	if err != nil {
		t.Fatal(err)
	}
	env := string(base)
	for k, v := range map[string]string{"CLAWDINATOR_BUCKET": bucketName, "CLAWDINATOR_PREFIX": prefix,
		"CLAWDINATOR_BUNDLE_FLAGS": "--s3-endpoint " + endpoint, "AWS_REGION": h.fleet.srv.Region} {
		re := regexp.MustCompile(`(?m)^` + k + `=.*$`)
		if !re.MatchString(env) {
			t.Fatalf("systemd/bundle.env has no %s line", k)
		}
		env = re.ReplaceAllLiteralString(env, k+`="`+v+`"`)
	}
	env += fmt.Sprintf("AWS_ACCESS_KEY_ID=%q\nAWS_SECRET_ACCESS_KEY=%q\nAWS_EC2_METADATA_DISABLED=true\n", h.fleet.srv.AccessKey, h.fleet.srv.SecretKey)
	if faults != "" {
		env += "CLAWDINATOR_BUNDLE_FAULTS=" + faults + "\n"
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "etc/clawdinator/bundle.env", Mode: 0o600, Size: int64(len(env)), Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte(env))
	_ = tw.Close()
	cp := exec.Command(h.pod, "cp", "-", h.name+":/")
	cp.Stdin = &buf
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("podman cp bundle.env: %v\n%s", err, out)
	}
}

// boot starts ("start") or reboots ("restart") the container and waits
// until systemd says running or degraded. The first boot failing means
// this machine cannot boot systemd in podman (cannot); a later one fails.
func (h *host) boot(t *testing.T, how string) {
	t.Helper()
	t0 := time.Now()
	fail := t.Fatalf
	if h.boots == 0 {
		fail = func(format string, args ...any) { cannot(t, format, args...) }
	}
	if out, err := exec.Command(h.pod, how, h.name).CombinedOutput(); err != nil {
		fail("podman %s: %v\n%s", how, err, out)
	}
	deadline := time.Now().Add(bootTimeout)
	for {
		out, _ := exec.Command(h.pod, "exec", h.name, "systemctl", "is-system-running").Output()
		switch s := strings.TrimSpace(string(out)); s {
		case "running", "degraded":
			d := time.Since(t0)
			h.boots++
			h.bootTime += d
			t.Logf("timing: boot (%s) %.1fs: %s", how, d.Seconds(), s)
			return
		}
		if time.Now().After(deadline) {
			h.dumpJournal(t)
			fail("systemd did not finish booting within %v (podman %s)", bootTimeout, how)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ensureHealthy puts back the bucket and reboots a host whose units are
// not all active, so that a case starts from a host that booted cleanly.
func (h *host) ensureHealthy(t *testing.T) {
	h.writeEnv(t, h.fleet.endpoint(), "")
	for _, u := range []string{"clawdinator-bootstrap.service", "agenix.service", "clawdinator.service"} {
		if st, _ := h.exec("systemctl", "is-active", u); strings.TrimSpace(st) != "active" {
			t.Logf("%s is %s after the previous case: rebooting", u, strings.TrimSpace(st))
			h.boot(t, "restart")
			return
		}
	}
}

func (h *host) exec(args ...string) (string, error) {
	out, err := exec.Command(h.pod, append([]string{"exec", h.name}, args...)...).CombinedOutput()
	return string(out), err
}

func (h *host) sh(t *testing.T, script string) string {
	t.Helper()
	out, err := h.exec("sh", "-c", script)
	if err != nil {
		t.Fatalf("in the host: %s: %v\n%s", script, err, out)
	}
	return out
}

func (h *host) state(t *testing.T) string {
	out, _ := h.exec("systemctl", "is-system-running")
	return strings.TrimSpace(out)
}

func (h *host) prop(t *testing.T, unit, name string) string {
	t.Helper()
	return strings.TrimSpace(h.sh(t, "systemctl show -p "+name+" --value "+unit))
}

func (h *host) wantActive(t *testing.T, units ...string) {
	t.Helper()
	for _, u := range units {
		if got := h.prop(t, u, "ActiveState"); got != "active" {
			t.Errorf("%s is %s, want active", u, got)
		}
	}
}

// count returns the lines of a stand-in's record under /var/lib/standin.
func (h *host) count(t *testing.T, record string) int {
	t.Helper()
	out := strings.TrimSpace(h.sh(t, "cat /var/lib/standin/"+record+" 2>/dev/null | wc -l"))
	n, err := strconv.Atoi(out)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// wantSecrets checks /run/agenix holds exactly the instance's secrets,
// decrypted to the plaintexts published last (sample canaries, no secret).
func (h *host) wantSecrets(t *testing.T, want map[string]string) bool {
	t.Helper()
	out := h.sh(t, `for f in /run/agenix/*; do [ -e "$f" ] || continue; printf '%s=%s\n' "$(basename "$f")" "$(cat "$f")"; done`)
	var got, exp []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			got = append(got, l)
		}
	}
	for n, p := range want {
		exp = append(exp, strings.TrimSuffix(n, ".age")+"="+p)
	}
	sort.Strings(got)
	sort.Strings(exp)
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Errorf("/run/agenix holds:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
		return false
	}
	return true
}

// wantRepo checks the seeds repository in /var/lib/clawd/repos, as the
// repo-seed stand-in left it: at head, git fsck clean, nothing modified.
func (h *host) wantRepo(t *testing.T, head string) {
	t.Helper()
	h.wantGit(t, "/var/lib/clawd/repos/"+repo, head)
}

// wantGit checks the repository at dir: at head, git fsck clean, nothing
// modified.
func (h *host) wantGit(t *testing.T, dir, head string) {
	t.Helper()
	if out, err := h.exec("git", "-C", dir, "fsck", "--full", "--no-progress"); err != nil || strings.Contains(out, "error") || strings.Contains(out, "missing") {
		t.Errorf("git fsck in %s: %v\n%s", dir, err, out)
	}
	if out, err := h.exec("git", "-C", dir, "rev-parse", "HEAD"); err != nil || strings.TrimSpace(out) != head {
		t.Errorf("HEAD in %s: %v %s, want %s", dir, err, strings.TrimSpace(out), head)
	}
	if out, err := h.exec("git", "-C", dir, "status", "--porcelain", "--untracked-files=no"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("git status in %s: %v\n%s", dir, err, out)
	}
}

// snapshot digests what install wrote: the key, the secrets directory and
// repo-seeds (names, modes and contents).
func (h *host) snapshot(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(h.sh(t, `cd / && find etc/agenix var/lib/clawd/nix-secrets var/lib/clawd/repo-seeds -printf '%p %m %y\n' | sort | sha256sum && find etc/agenix var/lib/clawd/nix-secrets var/lib/clawd/repo-seeds -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum`))
}

// wantKept checks a reboot kept the installation: the same files, the
// units that require the bootstrap active, /run/agenix full again, and one
// decrypt for the boot.
func (h *host) wantKept(t *testing.T, before string, decrypts int, f *fleet) {
	t.Helper()
	h.wantActive(t, "clawdinator-bootstrap.service", "agenix.service", "clawdinator.service")
	if got := h.snapshot(t); got != before {
		t.Errorf("the installation changed")
	}
	h.wantSecrets(t, f.plaintexts)
	if n := h.count(t, "decrypts"); n != decrypts {
		t.Errorf("%d decrypts, want %d", n, decrypts)
	}
}

func (h *host) wantJournal(t *testing.T, unit, pattern string) {
	t.Helper()
	out, _ := h.exec("journalctl", "-b", "--no-pager", "-o", "cat", "-u", unit)
	if !regexp.MustCompile(pattern).MatchString(out) {
		t.Errorf("the journal of %s has no line matching %s:\n%s", unit, pattern, out)
	}
}

func (h *host) dumpJournal(t *testing.T) {
	out, _ := h.exec("journalctl", "-b", "--no-pager", "-o", "short-monotonic", "-u", "clawdinator-bootstrap", "-u", "clawdinator-bundle-refresh",
		"-u", "agenix", "-u", "clawdinator-repo-seed", "-u", "clawdinator")
	t.Logf("journal of this boot:\n%s", tail([]byte(out), 80))
}
