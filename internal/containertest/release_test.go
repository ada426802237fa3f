//go:build linux

package containertest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/config"
)

// TestReleaseRehearsal runs scripts/release/rehearse.sh against a registry
// this test serves on 127.0.0.1 (scripts/release/registry, the rehearsal's
// own, a module of its own), then reads what it pushed back from that
// registry (registry export): one OCI index holding exactly one linux/amd64 and one
// linux/arm64 image; in each, the binary and nothing a shell or an S3
// server could come from; the arm64 binary run under qemu-aarch64-static
// (no binfmt) prints the stamped version; the host binaries of the release
// are the images' binaries; the release commit's action.yml names the index
// by digest; and act ran that action without building.
func TestReleaseRehearsal(t *testing.T) {
	podman(t)
	dockerHost(t)
	for _, name := range []string{"act", "git", "age-keygen", "curl"} {
		tool(t, name)
	}
	qemu := tool(t, "qemu-aarch64-static")
	root := repoRoot(t)

	reg := startRegistry(t, root)
	host := reg.addr
	out := t.TempDir()
	version := fmt.Sprintf("v0.0.0-containertest.%d", os.Getpid())

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts/release/rehearse.sh"), version)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "REHEARSE_REGISTRY="+host, "REHEARSE_OUT="+out)
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("rehearse.sh: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), tail(stderr.Bytes(), 20000))
	}
	t.Logf("rehearse.sh: %v", time.Since(start).Round(100*time.Millisecond))

	var digest string
	for _, l := range strings.Split(stdout.String(), "\n") {
		if d, ok := strings.CutPrefix(l, "digest "); ok {
			digest = d
		}
	}
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
		t.Fatalf("rehearse.sh printed digest %q\n%s", digest, stdout.String())
	}
	repo := host + "/openclaw/clawdinator-bundle"
	ex := reg.export(t, repo+"@"+digest, version)

	// The tag the release pushed resolves to the index printed.
	if ex.TagDigest != digest {
		t.Errorf("tag %s is %s, rehearse.sh printed %s", version, ex.TagDigest, digest)
	}
	if ex.MediaType != ociImageIndex {
		t.Errorf("index media type %s, want %s", ex.MediaType, ociImageIndex)
	}
	sums := readSums(t, filepath.Join(out, "dist", "SHA256SUMS"))
	seen := map[string]int{}
	for _, img := range ex.Images {
		if img.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue // buildx's SBOM and provenance, on GitHub
		}
		if img.Platform == nil {
			t.Errorf("manifest %s: no platform", img.Digest)
			continue
		}
		p := img.Platform.OS + "/" + img.Platform.Architecture
		seen[p]++
		t.Run(p, func(t *testing.T) { checkPlatformImage(t, img, reg.dir, version, qemu, sums) })
	}
	if len(seen) != 2 || seen["linux/amd64"] != 1 || seen["linux/arm64"] != 1 {
		t.Errorf("index holds %v, want exactly one linux/amd64 and one linux/arm64 image", seen)
	}

	// The release commit: main's action.yml but for the image, by digest.
	data, err := os.ReadFile(filepath.Join(out, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := config.ActionYAMLImage("docker://" + repo + "@" + digest)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != want {
		t.Errorf("release commit's action.yml is not the table's with image docker://%s@%s:\n%s", repo, digest, data)
	}

	// act ran the release commit's `uses: ./` from the pushed image.
	actLog, err := os.ReadFile(filepath.Join(out, "act.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"docker pull image=" + repo + "@" + digest,
		"docker run image=" + repo + "@" + digest,
		"Success - Main Assemble with the released image",
		"release commit: assembled by clawdinator-bundle " + version + " from the image by digest",
		"Job succeeded",
	} {
		if !bytes.Contains(actLog, []byte(want)) {
			t.Errorf("act log lacks %q", want)
		}
	}
	if bytes.Contains(actLog, []byte("docker build")) {
		t.Errorf("act built an image for the release commit")
	}
}

// checkPlatformImage holds one image of the index to what the action's
// image must be, and runs its binary.
func checkPlatformImage(t *testing.T, img exportedImage, dir, version, qemu string, sums map[string]string) {
	p := img.Platform
	var cf struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Config       struct {
			Entrypoint []string
		} `json:"config"`
	}
	if err := json.Unmarshal(img.Config, &cf); err != nil {
		t.Fatalf("config: %v", err)
	}
	if cf.OS != p.OS || cf.Architecture != p.Architecture {
		t.Errorf("config says %s/%s", cf.OS, cf.Architecture)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != "/usr/local/bin/clawdinator-bundle" {
		t.Errorf("entrypoint %q", got)
	}

	// Every file of the flattened filesystem: no shell, no busybox, one
	// executable.
	rc, err := os.Open(filepath.Join(dir, img.RootFS))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var bin []byte
	var executables []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := path.Clean("/" + h.Name)
		switch path.Base(name) {
		case "sh", "bash", "ash", "dash", "busybox", "toybox":
			t.Errorf("image holds %s", name)
		}
		if h.Typeflag == tar.TypeReg && h.Mode&0o111 != 0 {
			executables = append(executables, name)
		}
		if name == "/usr/local/bin/clawdinator-bundle" {
			if bin, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(executables) != 1 || bin == nil {
		t.Fatalf("executables in the image: %v, want /usr/local/bin/clawdinator-bundle alone", executables)
	}
	file := filepath.Join(t.TempDir(), "clawdinator-bundle")
	if err := os.WriteFile(file, bin, 0o755); err != nil {
		t.Fatal(err)
	}

	// The host download of the release is this binary, byte for byte.
	sum := sha256.Sum256(bin)
	if got, want := sums["clawdinator-bundle-linux-"+p.Architecture], hex.EncodeToString(sum[:]); got != want {
		t.Errorf("SHA256SUMS names %q for linux/%s, the image's binary is %s", got, p.Architecture, want)
	}

	// Built for the platform, static, without the demo's S3 server.
	info, err := exec.Command("go", "version", "-m", file).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, info)
	}
	for _, want := range []string{"build\tGOARCH=" + p.Architecture + "\n", "build\tCGO_ENABLED=0\n", "build\t-tags=nodemo\n"} {
		if !bytes.Contains(info, []byte(want)) {
			t.Errorf("go version -m lacks %q:\n%s", strings.TrimSpace(want), info)
		}
	}
	// A build with the demo lists this module (the demo's S3 server).
	if bytes.Contains(info, []byte("\tgithub.com/johannesboyne/gofakes3\t")) {
		t.Errorf("the image's binary carries gofakes3:\n%s", info)
	}

	// It runs: natively, or arm64 under qemu-aarch64-static called directly.
	run := func(args ...string) (string, int) {
		var cmd *exec.Cmd
		switch p.Architecture {
		case "arm64":
			cmd = exec.Command(qemu, append([]string{file}, args...)...)
		case "amd64":
			cmd = exec.Command(file, args...)
		default:
			t.Fatalf("no way to run %s here", p.Architecture)
		}
		cmd.Env = []string{"PATH=/nonexistent"}
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("%v: %v", cmd.Args, err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := run("version"); code != 0 || out != "clawdinator-bundle "+version+"\n" {
		t.Errorf("version: exit %d, %q; want %q", code, out, "clawdinator-bundle "+version)
	}
	if out, code := run("demo"); code != 2 || !strings.Contains(out, "demo is not in this build") {
		t.Errorf("demo: exit %d, %q; want exit 2, not in this build", code, out)
	}
}

// ociImageIndex is the media type of the index the release pushes.
const ociImageIndex = "application/vnd.oci.image.index.v1+json"

// exported is what `registry export` writes (scripts/release/registry,
// export.go): an index as the registry serves it.
type exported struct {
	TagDigest string          `json:"tagDigest"`
	MediaType string          `json:"mediaType"`
	Images    []exportedImage `json:"images"`
}

type exportedImage struct {
	Digest   string `json:"digest"`
	Platform *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
	Annotations map[string]string `json:"annotations"`
	Config      json.RawMessage   `json:"config"`
	RootFS      string            `json:"rootfs"`
}

// testRegistry is scripts/release/registry serving on 127.0.0.1.
type testRegistry struct {
	bin  string // the command
	addr string // HOST:PORT
	dir  string // where export writes
}

// startRegistry builds scripts/release/registry from its module and serves
// it until the test ends.
func startRegistry(t *testing.T, root string) *testRegistry {
	t.Helper()
	tmp := t.TempDir()
	r := &testRegistry{bin: filepath.Join(tmp, "registry"), dir: filepath.Join(tmp, "export")}
	if out, err := exec.Command("go", "build", "-C", filepath.Join(root, "scripts/release/registry"), "-o", r.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build scripts/release/registry: %v\n%s", err, out)
	}
	addrFile := filepath.Join(tmp, "addr")
	cmd := exec.Command(r.bin, "-addr-file", addrFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	// The command writes the address once it listens; it cannot tell us
	// otherwise, so look until it is there.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(addrFile); err == nil {
			r.addr = strings.TrimSpace(string(b))
			return r
		}
		select {
		case err := <-exited:
			t.Fatalf("registry exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry wrote no address in 30 s\n%s", stderr.String())
		}
	}
}

// export reads the index ref names, and what tag resolves to, into r.dir.
func (r *testRegistry) export(t *testing.T, ref, tag string) exported {
	t.Helper()
	if out, err := exec.Command(r.bin, "export", "-out", r.dir, "-tag", tag, ref).CombinedOutput(); err != nil {
		t.Fatalf("registry export %s: %v\n%s", ref, err, out)
	}
	data, err := os.ReadFile(filepath.Join(r.dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ex exported
	if err := json.Unmarshal(data, &ex); err != nil {
		t.Fatalf("registry export wrote %s: %v", data, err)
	}
	return ex
}

// readSums reads a sha256sum file: name → hex digest.
func readSums(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			t.Fatalf("%s: line %q", file, l)
		}
		sums[strings.TrimPrefix(f[1], "*")] = f[0]
	}
	if len(sums) != 2 {
		t.Errorf("%s names %d files, want 2", file, len(sums))
	}
	return sums
}

// A runner that builds `image: Dockerfile` from a checkout passes no
// VERSION: the binary must say it does not know, not claim a release.
func TestImageVersionUnknownWithoutBuildArg(t *testing.T) {
	img := buildImage(t)
	out, err := exec.Command("podman", "run", "--rm", img.Ref, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("podman run version: %v\n%s", err, out)
	}
	if string(out) != "clawdinator-bundle unknown\n" {
		t.Fatalf("version %q, want %q", out, "clawdinator-bundle unknown\n")
	}
}

// TestReleaseNotes runs scripts/release/notes.sh, which release.yml uses
// for the GitHub release's notes and to refuse a version without them.
func TestReleaseNotes(t *testing.T) {
	root := repoRoot(t)
	changelog := filepath.Join(t.TempDir(), "CHANGELOG.md")
	if err := os.WriteFile(changelog, []byte(`# Changelog

Intro text, not a release.

## v1.1.0 (unreleased)

- second

## [v1.0.0] - 2026-12-01

- first
- more

### Fixed

- a fix

## v0.9.0

`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		version, want string
		ok            bool
	}{
		{"v1.1.0", "- second\n", true},
		{"v1.0.0", "- first\n- more\n\n### Fixed\n\n- a fix\n", true},
		{"v0.9.0", "", false}, // empty section
		{"v2.0.0", "", false}, // no section
		{"v1.0", "", false},   // a prefix of a version is not that version
	} {
		t.Run(tc.version, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(root, "scripts/release/notes.sh"), tc.version)
			cmd.Env = append(os.Environ(), "CHANGELOG="+changelog)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v; stderr: %s", err, tc.ok, stderr.String())
			}
			if tc.ok && stdout.String() != tc.want {
				t.Errorf("notes %q, want %q", stdout.String(), tc.want)
			}
		})
	}
	// The repository's own CHANGELOG has the section of the first release.
	if out, err := exec.Command(filepath.Join(root, "scripts/release/notes.sh"), "v1.0.0").CombinedOutput(); err != nil {
		t.Errorf("notes.sh v1.0.0 on CHANGELOG.md: %v\n%s", err, out)
	}
}
