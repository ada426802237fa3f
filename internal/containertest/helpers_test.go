//go:build linux

package containertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// Images the Dockerfile and act need; scripts/ci/podman-setup.sh builds
// local stand-ins for them.
var neededImages = []string{
	"docker.io/library/golang:1.26",
	"gcr.io/distroless/static-debian12:latest",
	runnerImage,
}

// standinBuildArgs point the Dockerfile's base-image arguments (pinned by
// digest, for the release) at the local stand-ins.
var standinBuildArgs = []string{
	"--build-arg", "GO_IMAGE=docker.io/library/golang:1.26",
	"--build-arg", "BASE_IMAGE=gcr.io/distroless/static-debian12:latest",
}

const (
	runnerImage = "localhost/act-runner:latest" // act's -P ubuntu-latest=…
	// actImage is the name act gives the image of `uses: ./`; with
	// --rebuild=false it runs an existing image of that name.
	actImage = "docker.io/library/act-dockeraction:latest"
	// actLockFile serializes use of actImage across processes (other test
	// runs, scripts/ci/act-smoke.sh, which takes the same lock with flock).
	actLockFile = "/tmp/clawdinator-act-dockeraction.lock"
	// prebuiltRepo is the registry name of the released image (README).
	prebuiltRepo = "ghcr.io/openclaw/clawdinator-bundle"

	defaultSocket = "unix:///run/podman/podman.sock"
)

var inCI = os.Getenv("CI") == "true"

// missing skips the test, or fails it when CI=true: CI never silently skips
// the container tests.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if inCI {
		t.Fatal(msg + " (CI=true, so this fails instead of skipping)")
	}
	t.Skip(msg)
}

// tool finds a binary on PATH or in $(go env GOPATH)/bin.
func tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p
			}
		}
	}
	missing(t, "%s not found: run scripts/ci/install.sh", name)
	return ""
}

// repoRoot is the directory holding this module's go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.Contains(data, []byte("module github.com/openclaw/clawdinator-bundle\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (go.mod) not found")
		}
		dir = parent
	}
}

var setup struct {
	once sync.Once
	out  []byte
	err  error
}

// podmanSetup runs scripts/ci/podman-setup.sh once (idempotent) when
// something it provides is missing and we are root, as CI is.
func podmanSetup(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	root := repoRoot(t)
	setup.once.Do(func() {
		cmd := exec.Command(filepath.Join(root, "scripts/ci/podman-setup.sh"))
		cmd.Dir = root
		setup.out, setup.err = cmd.CombinedOutput()
	})
	if setup.err != nil {
		t.Logf("scripts/ci/podman-setup.sh: %v\n%s", setup.err, setup.out)
	}
}

// podman returns podman's path once the images the tests build on exist.
func podman(t testing.TB) string {
	t.Helper()
	p := tool(t, "podman")
	absent := func() []string {
		var miss []string
		for _, img := range neededImages {
			if exec.Command(p, "image", "exists", img).Run() != nil {
				miss = append(miss, img)
			}
		}
		return miss
	}
	if len(absent()) > 0 {
		podmanSetup(t)
	}
	if miss := absent(); len(miss) > 0 {
		missing(t, "podman images %v are missing: run scripts/ci/podman-setup.sh as root", miss)
	}
	return p
}

// dockerHost returns DOCKER_HOST for act: podman's Docker-compatible API,
// started by scripts/ci/podman-setup.sh when it does not answer.
func dockerHost(t testing.TB) string {
	t.Helper()
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		host = defaultSocket
	}
	sock, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		return host // not ours to probe
	}
	if pingSocket(sock) != nil {
		podmanSetup(t)
	}
	if err := pingSocket(sock); err != nil {
		missing(t, "no Docker API at %s (%v): run scripts/ci/podman-setup.sh as root", host, err)
	}
	return host
}

func pingSocket(sock string) error {
	c := &http.Client{
		Timeout: 3 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}},
	}
	resp, err := c.Get("http://d/_ping")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("_ping: %s", resp.Status)
	}
	return nil
}

// image is the repository's Dockerfile built by podman.
type image struct {
	Ref    string // a tag unique to this test process
	ID     string
	Digest string // sha256:… of its manifest, for name@digest references
	Size   int64
	Build  time.Duration
}

var built struct {
	once sync.Once
	img  *image
	err  error
	log  []byte
}

// buildImage builds the repository's own Dockerfile, unchanged, once per
// test process: context = the repository root (so .dockerignore applies),
// stand-in base images, no pulling, no network, the host's module cache
// mounted read-only where the golang image keeps it.
func buildImage(t testing.TB) *image {
	t.Helper()
	pod := podman(t)
	root := repoRoot(t)
	built.once.Do(func() { built.img, built.log, built.err = build(pod, root) })
	if built.err != nil {
		t.Fatalf("build the Dockerfile: %v\n%s", built.err, tail(built.log, 8000))
	}
	return built.img
}

func build(pod, root string) (*image, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	// The build gets no network: every module must be in the cache first.
	if out, err := command(ctx, root, nil, "go", "mod", "download"); err != nil {
		return nil, out, fmt.Errorf("go mod download: %w", err)
	}
	modcache, err := command(ctx, root, nil, "go", "env", "GOMODCACHE")
	if err != nil {
		return nil, modcache, err
	}
	img := &image{Ref: fmt.Sprintf("localhost/clawdinator-bundle:containertest-%d", os.Getpid())}
	start := time.Now()
	args := []string{"build", "--pull=never", "--network=none",
		"-v", strings.TrimSpace(string(modcache)) + ":/go/pkg/mod:ro"}
	args = append(args, standinBuildArgs...)
	out, err := command(ctx, root, nil, pod, append(args, "-t", img.Ref, ".")...)
	img.Build = time.Since(start)
	if err != nil {
		return nil, out, fmt.Errorf("podman build: %w", err)
	}
	info, err := command(ctx, root, nil, pod, "image", "inspect", "--format", "{{.Id}} {{.Digest}} {{.Size}}", img.Ref)
	if err != nil {
		return nil, info, err
	}
	f := strings.Fields(string(info))
	if len(f) != 3 {
		return nil, info, fmt.Errorf("podman image inspect: %q", info)
	}
	img.ID, img.Digest = f[0], f[1]
	img.Size, _ = strconv.ParseInt(f[2], 10, 64)
	return img, out, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.img != nil {
		// Untag; the layers stay in podman's cache for the next build.
		_ = exec.Command("podman", "rmi", built.img.Ref).Run()
	}
	os.Exit(code)
}

// command runs name with args in dir, env appended to the environment, and
// returns its combined output.
func command(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 10 * time.Second
	return cmd.CombinedOutput()
}

func tail(b []byte, n int) string {
	if len(b) > n {
		return "…" + string(b[len(b)-n:])
	}
	return string(b)
}

// actionInputs reads the inputs of action.yml with their defaults: the
// runner passes every declared input to a Docker action, defaults filled in
// (and "" for one without a default). It reads the file as the generator
// writes it (internal/config/actionyaml.go): two-space indented names under
// "inputs:", double-quoted defaults.
func actionInputs(t testing.TB, root string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{}
	section, name := "", ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case !strings.HasPrefix(line, " "):
			section, _, _ = strings.Cut(line, ":")
		case section != "inputs":
		case strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   "):
			name = strings.TrimSuffix(strings.TrimSpace(line), ":")
			inputs[name] = ""
		case strings.HasPrefix(line, "    default: "):
			v := strings.TrimPrefix(line, "    default: ")
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
			inputs[name] = v
		}
	}
	if len(inputs) == 0 || inputs["mode"] == "" {
		t.Fatalf("action.yml: no inputs read (format changed?): %v", inputs)
	}
	return inputs
}

// run is one Docker action step as the runner executes it.
type run struct {
	Exit           int
	Stdout, Stderr string
	Outputs        map[string]string
	Summary        string
}

// runAsGitHub runs the image the way the GitHub runner runs a Docker action
// step: `docker run --workdir /github/workspace --rm -e INPUT_… -e GITHUB_…
// -v …:/github/workspace -v …:/github/file_commands -v …:/github/home IMAGE`,
// with every input of action.yml set (`with:` value, else its default, else
// ""), values passed through the environment of podman (names only on the
// command line, as the runner does: the age key never shows in ps), dashes
// kept in the names (INPUT_AGE-KEY). --network=host stands in for the
// runner's job network so the action reaches an S3 server on 127.0.0.1.
func runAsGitHub(t testing.TB, img *image, workspace string, with map[string]string) run {
	t.Helper()
	root := repoRoot(t)
	inputs := actionInputs(t, root)
	for k := range with {
		if _, ok := inputs[k]; !ok {
			t.Fatalf("with: %q is not an input of action.yml", k)
		}
	}
	fc, home := t.TempDir(), t.TempDir()
	for _, f := range []string{"output", "summary", "env", "path", "state"} {
		if err := os.WriteFile(filepath.Join(fc, f), nil, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{
		"GITHUB_ACTIONS":      "true",
		"CI":                  "true",
		"HOME":                "/github/home",
		"GITHUB_WORKSPACE":    "/github/workspace",
		"GITHUB_OUTPUT":       "/github/file_commands/output",
		"GITHUB_STEP_SUMMARY": "/github/file_commands/summary",
		"GITHUB_ENV":          "/github/file_commands/env",
		"GITHUB_PATH":         "/github/file_commands/path",
		"GITHUB_STATE":        "/github/file_commands/state",
		"GITHUB_REPOSITORY":   "openclaw/clawdinators",
		"GITHUB_SHA":          "0123456789abcdef0123456789abcdef01234567",
		"GITHUB_RUN_ID":       "4242",
		"GITHUB_ACTION":       "bundle",
		"GITHUB_EVENT_NAME":   "workflow_dispatch",
		"RUNNER_OS":           "Linux",
	}
	for name, def := range inputs {
		v, ok := with[name]
		if !ok {
			v = def
		}
		vars["INPUT_"+strings.ToUpper(strings.ReplaceAll(name, " ", "_"))] = v
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	args := []string{"run", "--rm", "--network=host", "--workdir", "/github/workspace",
		"-v", workspace + ":/github/workspace",
		"-v", fc + ":/github/file_commands",
		"-v", home + ":/github/home"}
	env := os.Environ()
	for _, k := range names {
		args = append(args, "-e", k)
		env = append(env, k+"="+vars[k])
	}
	args = append(args, img.Ref)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "podman", args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := run{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.Exit = exit.ExitCode()
	case err != nil:
		t.Fatalf("podman run: %v\n%s", err, r.Stderr)
	}
	out, err := os.ReadFile(filepath.Join(fc, "output"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outputs, err = parseFileCommand(string(out)); err != nil {
		t.Fatalf("GITHUB_OUTPUT: %v\n%s", err, out)
	}
	sum, err := os.ReadFile(filepath.Join(fc, "summary"))
	if err != nil {
		t.Fatal(err)
	}
	r.Summary = string(sum)
	return r
}

// parseFileCommand reads a GITHUB_OUTPUT file as the runner does:
// `name=value` lines and `name<<DELIMITER` … `DELIMITER` blocks.
func parseFileCommand(s string) (map[string]string, error) {
	out := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		eq, hd := strings.Index(line, "="), strings.Index(line, "<<")
		if eq >= 0 && (hd < 0 || eq < hd) {
			out[line[:eq]] = line[eq+1:]
			continue
		}
		if hd < 0 {
			return nil, fmt.Errorf("line %d: neither name=value nor name<<DELIMITER: %q", i+1, line)
		}
		name, delim := line[:hd], line[hd+2:]
		var val []string
		for i++; ; i++ {
			if i >= len(lines) {
				return nil, fmt.Errorf("%s: delimiter %q not found", name, delim)
			}
			if lines[i] == delim {
				break
			}
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out, nil
}

// manifest is the public JSON of one instance's manifest (README), decoded
// independently of the code that writes it.
type manifest struct {
	FormatVersion   int    `json:"formatVersion"`
	Instance        string `json:"instance"`
	BootstrapPrefix string `json:"bootstrapPrefix"`
	Recipient       string `json:"recipient"`
	Source          struct {
		Repository string `json:"repository"`
		SHA        string `json:"sha"`
		RunID      string `json:"runId"`
	} `json:"source"`
	Objects []struct {
		Name      string `json:"name"`
		Key       string `json:"key"`
		Size      int64  `json:"size"`
		SHA256    string `json:"sha256"`
		VersionID string `json:"versionId"`
	} `json:"objects"`
	Secrets []struct {
		Name string `json:"name"`
	} `json:"secrets"`
}

// manifests decodes the `manifest` output and checks it names every sample
// instance once, with both objects, all for recipient.
func manifests(t testing.TB, output, recipient string) map[string]manifest {
	t.Helper()
	var ms []manifest
	if err := json.Unmarshal([]byte(output), &ms); err != nil {
		t.Fatalf("manifest output is not a JSON array of manifests: %v\n%s", err, output)
	}
	byInstance := map[string]manifest{}
	for _, m := range ms {
		if _, dup := byInstance[m.Instance]; dup {
			t.Errorf("manifest output: instance %s twice", m.Instance)
		}
		byInstance[m.Instance] = m
		if m.Recipient != recipient {
			t.Errorf("manifest of %s: recipient %q, want %q", m.Instance, m.Recipient, recipient)
		}
		if m.FormatVersion != 2 || m.BootstrapPrefix != "bootstrap/"+m.Instance {
			t.Errorf("manifest of %s: formatVersion %d, bootstrapPrefix %q", m.Instance, m.FormatVersion, m.BootstrapPrefix)
		}
		if len(m.Objects) != 2 || len(m.Secrets) == 0 {
			t.Errorf("manifest of %s: %d objects, %d secrets", m.Instance, len(m.Objects), len(m.Secrets))
		}
	}
	for _, in := range sample.Instances {
		if _, ok := byInstance[in]; !ok {
			t.Errorf("manifest output: no instance %s", in)
		}
	}
	if len(byInstance) != len(sample.Instances) {
		t.Errorf("manifest output: %d instances, want %d", len(byInstance), len(sample.Instances))
	}
	return byInstance
}

// checkBucket lists the bucket with the SDK: it must hold exactly each
// instance's secrets.tar.zst, repo-seeds.tar.zst and manifest.json; the
// current version of each object must be the one the manifest names (when
// ms is given), and the stored manifest.json must name the same versions.
func checkBucket(t testing.TB, srv *s3test.Server, bucket string, ms map[string]manifest) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := srv.Client()
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("list bucket: %v", err)
	}
	var got, want []string
	for _, o := range list.Contents {
		// Only the bundles: a bucket may also hold the fleet's age-secrets/.
		if k := aws.ToString(o.Key); strings.HasPrefix(k, "bootstrap/") {
			got = append(got, k)
		}
	}
	for _, in := range sample.Instances {
		for _, name := range []string{"manifest.json", "repo-seeds.tar.zst", "secrets.tar.zst"} {
			want = append(want, "bootstrap/"+in+"/"+name)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("bucket holds\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, in := range sample.Instances {
		obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("bootstrap/" + in + "/manifest.json")})
		if err != nil {
			t.Fatalf("get manifest of %s: %v", in, err)
		}
		var stored manifest
		err = json.NewDecoder(obj.Body).Decode(&stored)
		obj.Body.Close()
		if err != nil {
			t.Fatalf("stored manifest of %s: %v", in, err)
		}
		m, ok := ms[in]
		if !ok {
			m = stored
		}
		for i, o := range m.Objects {
			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(o.Key)})
			if err != nil {
				t.Errorf("head %s: %v", o.Key, err)
				continue
			}
			if v := aws.ToString(head.VersionId); v != o.VersionID || o.VersionID == "" {
				t.Errorf("%s: current version %q, manifest names %q", o.Key, v, o.VersionID)
			}
			if n := aws.ToInt64(head.ContentLength); n != o.Size {
				t.Errorf("%s: %d bytes, manifest says %d", o.Key, n, o.Size)
			}
			if i < len(stored.Objects) && stored.Objects[i].VersionID != o.VersionID {
				t.Errorf("%s: stored manifest names version %q, output %q", o.Key, stored.Objects[i].VersionID, o.VersionID)
			}
		}
	}
}

// lock takes an exclusive flock on path until the test ends.
func lock(t testing.TB, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}
