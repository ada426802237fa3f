//go:build linux

package containertest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// TestActImagePipeline runs examples/image-pipeline.yml itself through act,
// with only <digest> replaced by the locally built image's: the fleet's
// image job up to the image build, against versitygw and a git HTTP server
// on 127.0.0.1 (git http-backend) that answers only with the token.
//
// The fleet's secrets are in the bucket's age-secrets/ prefix only, the
// lock in the repository. The one stand-in is the fleet's
// scripts/mint-github-app-token.sh (it asks GitHub for an installation
// token): here it derives the token from the decrypted app key, so the git
// server accepting it proves that age decrypted the right object with the
// fleet key. The job container gets the host's git, age, aws CLI and
// coreutils (bind-mounted read-only; the runner image is busybox and
// bash), as ubuntu-latest has them.
//
// It proves: the seeds are cloned shallow, on their branches, with the
// token as a header, and no .git/config (on disk, or in the archive the
// hosts download) holds the token or a header; publish read the secrets
// from the prefix under the lock (nothing under nix/age-secrets in the
// workspace); the gate verified; the image jobs ran after it; the token
// and the key are not in the log.
func TestActImagePipeline(t *testing.T) {
	img := buildImage(t)
	tool(t, "act")
	gitBin := tool(t, "git")
	root := repoRoot(t)
	ref := prebuiltRepo + "@" + img.Digest
	pod := podman(t)
	tag := prebuiltRepo + ":containertest-pipeline-" + strings.TrimPrefix(img.Ref, "localhost/clawdinator-bundle:containertest-")
	if out, err := exec.Command(pod, "tag", img.Ref, tag).CombinedOutput(); err != nil {
		t.Fatalf("podman tag: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(pod, "untag", img.Ref, tag).Run() })
	mounts := hostToolMounts(t)

	srv := s3test.Start(t)
	const bucket = "fleet-bucket"
	srv.CreateBucket(t, bucket)

	// The fleet's secrets: in the bucket, and a lock in the repository.
	fx, err := sample.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(fx.SecretsDir)
	if err != nil {
		t.Fatal(err)
	}
	var lock strings.Builder
	var appPlain []byte
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(fx.SecretsDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("age-secrets/" + e.Name()), Body: bytes.NewReader(data),
		}); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&lock, "%x  %s\n", sha256.Sum256(data), e.Name())
		if e.Name() == "clawdinator-github-app.pem.age" {
			appPlain = []byte(sample.Canary + e.Name())
		}
	}
	if appPlain == nil {
		t.Fatal("the sample has no clawdinator-github-app.pem.age")
	}
	sum := sha256.Sum256(appPlain)
	token := hex.EncodeToString(sum[:])[:40]
	basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token))

	// The repositories to seed, served by git http-backend behind the token.
	gitRoot := t.TempDir()
	makeBareRepo(t, gitBin, gitRoot, "openclaw", "main")
	makeBareRepo(t, gitBin, gitRoot, "nix-openclaw", "stable")
	gs := newGitServer(t, gitBin, gitRoot, "Basic "+basic)

	repo := t.TempDir()
	copyTracked(t, root, repo)
	for _, d := range []string{".github/workflows", "nix", "clawdinator", "scripts"} {
		if err := os.MkdirAll(filepath.Join(repo, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(filepath.Join(repo, ".github", "workflows")); err != nil {
		t.Fatal(err)
	}
	wf, err := os.ReadFile(filepath.Join(root, "examples", "image-pipeline.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(wf), prebuiltRepo+"@sha256:<digest>"); n != 2 {
		t.Fatalf("examples/image-pipeline.yml names the prebuilt image %d times, want 2 (publish and the gate)", n)
	}
	checkDockerInputs(t, root, string(wf))
	instances, err := os.ReadFile(fx.InstancesFile)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		".github/workflows/image-pipeline.yml": strings.ReplaceAll(string(wf), prebuiltRepo+"@sha256:<digest>", ref),
		"nix/age-secrets.sha256":               lock.String(),
		"nix/instances.json":                   string(instances),
		"clawdinator/repos.tsv":                "# name\turl\tbranch\nopenclaw\t" + gs.URL + "/openclaw.git\tmain\n\nnix-openclaw\t" + gs.URL + "/nix-openclaw.git\tstable\n",
		"scripts/mint-github-app-token.sh": "#!/bin/sh\n# Stand-in for the fleet's script, which asks GitHub for an installation\n" +
			"# token with the app key: a token derived from the decrypted key.\nset -eu\nsha256sum \"$GITHUB_APP_PEM_FILE\" | cut -c1-40\n",
	} {
		p := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) {
		t.Helper()
		out, err := command(t.Context(), repo, []string{"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1"},
			gitBin, append([]string{"-c", "user.name=ci", "-c", "user.email=ci@localhost"}, args...)...)
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "fleet")

	log := runAct(t, repo, "image-pipeline.yml", srv, bucket, fx,
		"--bind", "--container-options", mounts,
		"--var", "CLAWDINATOR_AGE_RECIPIENT="+fx.Recipient,
		"--var", "SEEDS_HOST="+gs.URL+"/")

	// The jobs in order: publish, the gate, then the image placeholders.
	steps := []string{"Success - Main Clone the repo seeds with a GitHub App token", "Success - Main Publish and verify",
		"Success - Main Verify bootstrap bundles", "Success - Main Build the NixOS image (placeholder)"}
	at := -1
	for _, s := range steps {
		i := strings.Index(log, s)
		if i < 0 || i < at {
			t.Errorf("act log: %q missing or out of order", s)
		}
		at = i
	}
	for _, want := range []string{"age-secrets/clawdinator-image-bucket-name.age: excluded by exclude-secrets"} {
		if !strings.Contains(log, want) {
			t.Errorf("act log lacks %q", want)
		}
	}
	if strings.Contains(log, token) || strings.Contains(log, basic) {
		t.Errorf("the clone token shows in the act log")
	}
	if strings.Contains(log, "drift check not run") || strings.Contains(log, "secrets-lock: none") {
		t.Errorf("the gate did not compare with the bucket's secrets under the lock")
	}

	// The token reached the git server as a header, for both repositories,
	// and nothing was served without it.
	if got := gs.served(); got["/openclaw.git"] == 0 || got["/nix-openclaw.git"] == 0 || gs.refused() > 0 {
		t.Errorf("git server: served %v, refused %d", got, gs.refused())
	}
	for _, name := range []string{"openclaw", "nix-openclaw"} {
		dir := filepath.Join(repo, "repo-seeds", name)
		checkNoToken(t, name+"/.git/config", readFile(t, filepath.Join(dir, ".git", "config")), token, basic)
		if _, err := os.Stat(filepath.Join(dir, ".git", "shallow")); err != nil {
			t.Errorf("%s is not a shallow clone: %v", name, err)
		}
	}
	if head := readFile(t, filepath.Join(repo, "repo-seeds", "nix-openclaw", ".git", "HEAD")); head != "ref: refs/heads/stable\n" {
		t.Errorf("nix-openclaw HEAD %q, want the stable branch", head)
	}
	if _, err := os.Stat(filepath.Join(repo, "nix", "age-secrets")); err == nil {
		t.Errorf("nix/age-secrets exists in the workspace: the secrets must stay out of it")
	}

	// What hosts download: the bundles, and in the seeds the clones'
	// .git/config without the token.
	checkBucket(t, srv, bucket, nil)
	obj, err := srv.Client().GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("bootstrap/clawdinator-1/repo-seeds.tar.zst")})
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "repo-seeds.tar.zst")
	f, err := os.Create(archive)
	if err == nil {
		_, err = f.ReadFrom(obj.Body)
		f.Close()
	}
	obj.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err := command(t.Context(), "", nil, "tar", "--zstd", "-xOf", archive, "openclaw/.git/config", "nix-openclaw/.git/config")
	if err != nil || !strings.Contains(string(out), "[remote \"origin\"]") {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	checkNoToken(t, "repo-seeds.tar.zst", string(out), token, basic)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func checkNoToken(t *testing.T, what, text, token, basic string) {
	t.Helper()
	low := strings.ToLower(text)
	if strings.Contains(text, token) || strings.Contains(text, basic) || strings.Contains(low, "extraheader") || strings.Contains(low, "authorization") {
		t.Errorf("%s holds the token or a header:\n%s", what, text)
	}
	if strings.Contains(low, "x-access-token") || regexp.MustCompile(`url = [a-z]+://[^/\s]*@`).MatchString(text) {
		t.Errorf("%s holds credentials in a URL:\n%s", what, text)
	}
}

// checkDockerInputs holds every `with:` key of the workflow's docker://
// steps to an input of action.yml: for such steps neither GitHub nor
// actionlint checks them, and the program ignores an unknown INPUT_.
func checkDockerInputs(t *testing.T, root, wf string) {
	t.Helper()
	inputs := actionInputs(t, root)
	sc := bufio.NewScanner(strings.NewReader(wf))
	inDocker, inWith, n := false, false, 0
	key := regexp.MustCompile(`^ {10}([a-z0-9-]+):`)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "      - "):
			inDocker = strings.Contains(l, "uses: docker://")
			inWith = false
		case strings.HasPrefix(l, "        uses: "):
			inDocker = strings.Contains(l, "docker://")
		case l == "        with:":
			inWith = inDocker
		case inWith && key.MatchString(l):
			name := key.FindStringSubmatch(l)[1]
			n++
			if _, ok := inputs[name]; !ok {
				t.Errorf("a docker:// step passes %q, which is not an input of action.yml", name)
			}
		case !strings.HasPrefix(l, "          "):
			inWith = false
		}
	}
	if n == 0 {
		t.Fatal("no with: key of a docker:// step read: the workflow's layout changed")
	}
}

// hostToolMounts returns act's --container-options that give the job
// container the host's /usr (git, age, coreutils) and the aws CLI, read-only.
func hostToolMounts(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"git", "age", "sha256sum", "base64"} {
		p := tool(t, name)
		if real, err := filepath.EvalSymlinks(p); err != nil || !strings.HasPrefix(real, "/usr/") {
			missing(t, "%s is at %s, not under /usr: the job container cannot borrow it", name, p)
		}
	}
	opts := []string{"-v /usr:/usr:ro"}
	awsPath := tool(t, "aws")
	if strings.Contains(awsPath, "/.pyenv/shims/") {
		out, err := exec.Command("pyenv", "which", "aws").Output()
		if err != nil {
			t.Fatalf("pyenv which aws: %v", err)
		}
		awsPath = strings.TrimSpace(string(out))
	}
	if real, _ := filepath.EvalSymlinks(awsPath); !strings.HasPrefix(real, "/usr/") {
		// A Python script outside /usr: mount it and its interpreter's prefix.
		head, err := os.ReadFile(awsPath)
		if err != nil {
			t.Fatal(err)
		}
		line, _, _ := strings.Cut(string(head), "\n")
		interp := strings.Fields(strings.TrimPrefix(line, "#!"))
		if len(interp) == 0 || !filepath.IsAbs(interp[0]) {
			missing(t, "aws at %s: no interpreter on its first line", awsPath)
		}
		prefix := filepath.Dir(filepath.Dir(interp[0]))
		opts = append(opts, "-v "+prefix+":"+prefix+":ro", "-v "+awsPath+":/bin/aws:ro")
	}
	return strings.Join(opts, " ")
}

// makeBareRepo makes root/name.git with one commit on branch.
func makeBareRepo(t *testing.T, gitBin, root, name, branch string) {
	t.Helper()
	work := t.TempDir()
	env := []string{"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1"}
	run := func(dir string, args ...string) {
		t.Helper()
		out, err := command(context.Background(), dir, env, gitBin, append([]string{"-c", "user.name=ci", "-c", "user.email=ci@localhost"}, args...)...)
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run(work, "init", "-q", "-b", branch)
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("# "+name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(work, "add", "-A")
	run(work, "commit", "-q", "-m", "first")
	run(work, "commit", "-q", "--allow-empty", "-m", "second: a shallow clone has only this one")
	run(root, "clone", "-q", "--bare", work, name+".git")
}

// gitServer is git http-backend behind an exact Authorization header.
type gitServer struct {
	URL string
	mu  sync.Mutex
	ok  map[string]int
	no  int
}

func newGitServer(t *testing.T, gitBin, root, auth string) *gitServer {
	t.Helper()
	out, err := exec.Command(gitBin, "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"},
	}
	gs := &gitServer{ok: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repo, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		gs.mu.Lock()
		if r.Header.Get("Authorization") != auth {
			gs.no++
			gs.mu.Unlock()
			w.Header().Set("WWW-Authenticate", `Basic realm="seeds"`)
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
		gs.ok["/"+repo]++
		gs.mu.Unlock()
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	gs.URL = srv.URL
	return gs
}

func (g *gitServer) served() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for k, v := range g.ok {
		out[k] = v
	}
	return out
}

func (g *gitServer) refused() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.no
}

// TestExamplesDockerInputs holds the `with:` keys of every docker:// step
// in examples/*.yml and testdata/act/*.yml to action.yml's inputs, which
// scripts/ci/lint-workflows.sh cannot do for such steps.
func TestExamplesDockerInputs(t *testing.T) {
	root := repoRoot(t)
	n := 0
	for _, pattern := range []string{"examples/*.yml", "testdata/act/*.yml"} {
		files, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), "uses: docker://") {
				n++
				t.Run(filepath.Base(f), func(t *testing.T) { checkDockerInputs(t, root, string(data)) })
			}
		}
	}
	if n < 3 {
		t.Errorf("%d workflows with a docker:// step, want at least 3 (image-pipeline, fleet-matrix, prebuilt-image)", n)
	}
}
