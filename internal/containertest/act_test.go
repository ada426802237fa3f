//go:build linux

package containertest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// TestActReleasePublish runs testdata/act/release-publish.yml (the release
// example with `uses: ./`) through act in container mode on podman: checkout,
// publish, verify, and a step that checks both steps' outputs. The action's
// image is the Dockerfile built by podman, tagged as act names the image of
// `uses: ./` and run with --rebuild=false (act builds through the Docker API,
// where the module cache cannot be mounted).
func TestActReleasePublish(t *testing.T) {
	img := buildImage(t)
	srv, bucket, repo, fx := actSetup(t, "release-publish.yml", nil)

	lock(t, actLockFile)
	pod := podman(t)
	if out, err := exec.Command(pod, "tag", img.Ref, actImage).CombinedOutput(); err != nil {
		t.Fatalf("podman tag: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(pod, "untag", img.Ref, actImage).Run() })

	log := runAct(t, repo, "release-publish.yml", srv, bucket, fx)
	for _, want := range []string{
		"shipped: 3 instances, 6 versions, verified",
		"Success - Main Verify bootstrap bundles",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("act log lacks %q", want)
		}
	}
	if strings.Contains(log, "docker build") {
		t.Errorf("act built the image instead of using the prebuilt one")
	}
	checkBucket(t, srv, bucket, nil)
}

// TestActPrebuiltImage runs the README's prebuilt-image snippet
// (testdata/act/prebuilt-image.yml) through act: `uses: docker://…@sha256:…`
// with the locally built image's digest. Inputs arrive as INPUT_* from
// `with:` alone (no action.yml, no defaults filled in) and outputs reach the
// next step.
func TestActPrebuiltImage(t *testing.T) {
	img := buildImage(t)
	ref := prebuiltRepo + "@" + img.Digest
	srv, bucket, repo, fx := actSetup(t, "prebuilt-image.yml", func(wf string) string {
		return strings.ReplaceAll(wf, prebuiltRepo+"@sha256:<digest>", ref)
	})
	pod := podman(t)
	tag := prebuiltRepo + ":containertest-" + strings.TrimPrefix(img.Ref, "localhost/clawdinator-bundle:containertest-")
	if out, err := exec.Command(pod, "tag", img.Ref, tag).CombinedOutput(); err != nil {
		t.Fatalf("podman tag: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(pod, "untag", img.Ref, tag).Run() })
	if out, err := exec.Command(pod, "image", "exists", ref).CombinedOutput(); err != nil {
		t.Fatalf("podman does not resolve %s: %v\n%s", ref, err, out)
	}

	log := runAct(t, repo, "prebuilt-image.yml", srv, bucket, fx)
	if !strings.Contains(log, "prebuilt image: published, outputs read") {
		t.Errorf("act log lacks the outputs step's line")
	}
	checkBucket(t, srv, bucket, nil)
}

// actSetup starts an S3 server with a bucket, and makes a git repository
// holding a copy of this repository's tracked files, the sample fixture
// (nix/age-secrets, nix/instances.json, repo-seeds at its root, where the
// action's defaults look) and testdata/act/NAME as its only workflow.
func actSetup(t *testing.T, name string, edit func(string) string) (*s3test.Server, string, string, *sample.Fixture) {
	t.Helper()
	tool(t, "act")
	tool(t, "git")
	root := repoRoot(t)
	srv := s3test.Start(t)
	const bucket = "bootstrap-bundles"
	srv.CreateBucket(t, bucket)

	repo := t.TempDir()
	copyTracked(t, root, repo)
	if err := os.RemoveAll(filepath.Join(repo, ".github", "workflows")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(repo, ".github", "workflows"), 0o755); err != nil {
		t.Fatal(err)
	}
	wf, err := os.ReadFile(filepath.Join(root, "testdata", "act", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(wf)
	if edit != nil {
		s = edit(s)
	}
	if err := os.WriteFile(filepath.Join(repo, ".github", "workflows", name), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	fx, err := sample.Write(repo)
	if err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) {
		t.Helper()
		out, err := command(t.Context(), repo, []string{"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1"},
			"git", append([]string{"-c", "user.name=ci", "-c", "user.email=ci@localhost"}, args...)...)
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "fixture")
	return srv, bucket, repo, fx
}

// copyTracked copies the files git tracks in root (as they are in the work
// tree) to dst.
func copyTracked(t *testing.T, root, dst string) {
	t.Helper()
	out, err := command(t.Context(), root, nil, "git", "ls-files", "-z")
	if err != nil {
		t.Fatalf("git ls-files: %v\n%s", err, out)
	}
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" {
			continue
		}
		src := filepath.Join(root, rel)
		fi, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, to); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// runAct runs act on the workflow in repo and fails the test unless it
// exits 0. Secrets go by name only on the command line (-s NAME: act reads
// the value from its environment), so the key is in no argv. extra are
// more arguments for act.
func runAct(t *testing.T, repo, workflow string, srv *s3test.Server, bucket string, fx *sample.Fixture, extra ...string) string {
	t.Helper()
	act := tool(t, "act")
	host := dockerHost(t)
	secrets := map[string]string{
		"CLAWDINATOR_AGE_KEY":   string(fx.Key),
		"S3_BUCKET":             bucket,
		"AWS_REGION":            srv.Region,
		"AWS_ACCESS_KEY_ID":     srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY": srv.SecretKey,
	}
	args := []string{"workflow_dispatch",
		"-W", filepath.Join(repo, ".github", "workflows", workflow),
		"-P", "ubuntu-latest=" + runnerImage,
		"--pull=false", "--rebuild=false", "--container-daemon-socket=-",
		"--var", "S3_ENDPOINT=" + srv.Endpoint,
		"--var", "EXPECTED_RECIPIENT=" + fx.Recipient,
	}
	args = append(args, extra...)
	env := []string{"DOCKER_HOST=" + host, "ACT_DISABLE_VERSION_CHECK=1"}
	for k, v := range secrets {
		args = append(args, "-s", k)
		env = append(env, k+"="+v)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := command(ctx, repo, env, act, args...)
	took := time.Since(start)
	log := string(out)
	if dir := os.Getenv("CONTAINERTEST_LOG_DIR"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "act-"+workflow+".log"), out, 0o644)
	}
	if err != nil {
		t.Fatalf("act %s: %v after %v\n%s", workflow, err, took.Round(time.Second), tail(out, 20000))
	}
	t.Logf("act %s: exit 0 in %v", workflow, took.Round(100*time.Millisecond))
	if !strings.Contains(log, "Job succeeded") {
		t.Errorf("act %s: no 'Job succeeded'\n%s", workflow, tail(out, 20000))
	}
	for _, l := range strings.Split(string(fx.Key), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") && strings.Contains(log, l) {
			t.Errorf("act %s: the age key shows in the log", workflow)
		}
	}
	return log
}
