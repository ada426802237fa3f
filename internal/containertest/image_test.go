//go:build linux

package containertest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// TestImageRunsAsGitHubDoes builds the Dockerfile and runs the image as the
// runner runs `uses: openclaw/clawdinator-bundle@v1`: publish to a real S3
// server, then verify without the key, then verify against another key.
func TestImageRunsAsGitHubDoes(t *testing.T) {
	img := buildImage(t)
	t.Logf("image %s: %d bytes, built in %v", img.Ref, img.Size, img.Build.Round(100_000_000))

	srv := s3test.Start(t)
	const bucket = "bootstrap-bundles"
	srv.CreateBucket(t, bucket)
	ws := t.TempDir()
	fx, err := sample.Write(ws)
	if err != nil {
		t.Fatal(err)
	}
	s3 := map[string]string{
		"s3-bucket":             bucket,
		"s3-endpoint":           srv.Endpoint,
		"aws-region":            srv.Region,
		"aws-access-key-id":     srv.AccessKey,
		"aws-secret-access-key": srv.SecretKey,
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range s3 {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	// publish: the multi-line key file (with its "# public key" comments) as
	// the secret holds it; every other input at its action.yml default
	// (secrets-dir nix/age-secrets, instances-file nix/instances.json,
	// repo-seeds-dir repo-seeds, relative to /github/workspace).
	pub := runAsGitHub(t, img, ws, with("mode", "publish", "age-key", string(fx.Key)))
	if pub.Exit != 0 {
		t.Fatalf("publish: exit %d\nstdout:\n%s\nstderr:\n%s\nsummary:\n%s", pub.Exit, pub.Stdout, pub.Stderr, pub.Summary)
	}
	if got := pub.Outputs["recipient"]; got != fx.Recipient {
		t.Errorf("recipient output %q, want %q", got, fx.Recipient)
	}
	ms := manifests(t, pub.Outputs["manifest"], fx.Recipient)
	for in, m := range ms {
		if m.Source.Repository != "openclaw/clawdinators" || m.Source.RunID != "4242" {
			t.Errorf("manifest of %s: source %+v, want GITHUB_REPOSITORY and GITHUB_RUN_ID", in, m.Source)
		}
	}
	checkSummary(t, "publish", pub.Summary, fx.Recipient)
	checkMasked(t, pub, []byte(string(fx.Key)+"\n"+srv.SecretKey))
	checkBucket(t, srv, bucket, ms)

	// verify, as the image gate and the scheduled check: no key, the
	// recipient pinned.
	ver := runAsGitHub(t, img, ws, with("mode", "verify", "expected-recipient", fx.Recipient))
	if ver.Exit != 0 {
		t.Fatalf("verify: exit %d\nstdout:\n%s\nstderr:\n%s\nsummary:\n%s", ver.Exit, ver.Stdout, ver.Stderr, ver.Summary)
	}
	checkSummary(t, "verify", ver.Summary, fx.Recipient)
	if got := ver.Outputs["recipient"]; got != fx.Recipient {
		t.Errorf("verify: recipient output %q, want %q", got, fx.Recipient)
	}
	vms := manifests(t, ver.Outputs["manifest"], fx.Recipient)
	for in, m := range vms {
		if len(m.Objects) == 2 && len(ms[in].Objects) == 2 &&
			(m.Objects[0].VersionID != ms[in].Objects[0].VersionID || m.Objects[1].VersionID != ms[in].Objects[1].VersionID) {
			t.Errorf("verify of %s names other versions than publish wrote", in)
		}
	}

	// verify pinned to another key: problems found, exit 1, an annotation.
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	bad := runAsGitHub(t, img, ws, with("mode", "verify", "expected-recipient", other.Recipient().String()))
	if bad.Exit != 1 {
		t.Errorf("verify with another expected-recipient: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", bad.Exit, bad.Stdout, bad.Stderr)
	}
	if !strings.Contains(bad.Stdout, "::error ") || !strings.Contains(bad.Summary, "❌") {
		t.Errorf("verify with another expected-recipient: no ::error annotation or ❌ summary\nstdout:\n%s\nsummary:\n%s", bad.Stdout, bad.Summary)
	}
}

// TestImageAssemblesCIFixture runs what the `action` job of
// .github/workflows/ci.yml runs: scripts/ci/gen-fixture.sh writes a fixture
// with the age CLI, and the action assembles it into output-dir.
func TestImageAssemblesCIFixture(t *testing.T) {
	img := buildImage(t)
	for _, c := range []string{"age", "age-keygen"} {
		tool(t, c)
	}
	root := repoRoot(t)
	ws := t.TempDir()
	if out, err := command(t.Context(), ws, nil, filepath.Join(root, "scripts/ci/gen-fixture.sh"), "fixture"); err != nil {
		t.Fatalf("gen-fixture.sh: %v\n%s", err, out)
	}
	key, err := os.ReadFile(filepath.Join(ws, "fixture/age.key"))
	if err != nil {
		t.Fatal(err)
	}
	recipient, err := os.ReadFile(filepath.Join(ws, "fixture/recipient"))
	if err != nil {
		t.Fatal(err)
	}
	r := runAsGitHub(t, img, ws, map[string]string{
		"mode":           "assemble",
		"age-key":        string(key),
		"secrets-dir":    "fixture/nix/age-secrets",
		"repo-seeds-dir": "fixture/repo-seeds",
		"instances-file": "fixture/nix/instances.json",
		"output-dir":     "fixture/out",
	})
	if r.Exit != 0 {
		t.Fatalf("assemble: exit %d\nstdout:\n%s\nstderr:\n%s\nsummary:\n%s", r.Exit, r.Stdout, r.Stderr, r.Summary)
	}
	if got, want := r.Outputs["recipient"], strings.TrimSpace(string(recipient)); got != want {
		t.Errorf("recipient output %q, want %q", got, want)
	}
	for _, in := range []string{"clawdinator-1", "clawdinator-2"} {
		for _, f := range []string{"secrets.tar.zst", "repo-seeds.tar.zst", "manifest.json"} {
			p := filepath.Join(ws, "fixture/out/bootstrap", in, f)
			if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
				t.Errorf("assemble did not write %s: %v", p, err)
			}
		}
	}
	// ci.yml checks these with jq: an array of two manifests, and each
	// written manifest.json names its instance.
	var ms []manifest
	if err := json.Unmarshal([]byte(r.Outputs["manifest"]), &ms); err != nil || len(ms) != 2 {
		t.Errorf("manifest output is not an array of 2 manifests (%v): %s", err, r.Outputs["manifest"])
	}
	for _, in := range []string{"clawdinator-1", "clawdinator-2"} {
		var m manifest
		data, err := os.ReadFile(filepath.Join(ws, "fixture/out/bootstrap", in, "manifest.json"))
		if err == nil {
			err = json.Unmarshal(data, &m)
		}
		if err != nil || m.Instance != in {
			t.Errorf("fixture/out/bootstrap/%s/manifest.json: instance %q (%v)", in, m.Instance, err)
		}
	}
	checkMasked(t, r, key)
}

func checkSummary(t testing.TB, mode, summary, recipient string) {
	t.Helper()
	for _, want := range []string{
		"### ✅ clawdinator-bundle " + mode,
		"Key recipient: `" + recipient + "`",
		"| instance | object | size | sha256 | version | status | secrets | verified |",
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("%s summary lacks %q:\n%s", mode, want, summary)
		}
	}
	for _, in := range sample.Instances {
		for _, obj := range []string{"secrets.tar.zst", "repo-seeds.tar.zst"} {
			row := "| " + in + " | `bootstrap/" + in + "/" + obj + "` |"
			if !strings.Contains(summary, row) {
				t.Errorf("%s summary has no row starting %q", mode, row)
			}
		}
	}
	if strings.Contains(summary, "| ❌ |") {
		t.Errorf("%s summary has an unverified object:\n%s", mode, summary)
	}
}

// checkMasked: the key is masked before anything prints, and appears in no
// log line other than its own ::add-mask:: command (which the runner
// swallows).
func checkMasked(t testing.TB, r run, key []byte) {
	t.Helper()
	for _, secret := range strings.Split(string(key), "\n") {
		secret = strings.TrimSpace(secret)
		if secret == "" || strings.HasPrefix(secret, "#") {
			continue
		}
		if !strings.HasPrefix(r.Stdout, "::add-mask::") || !strings.Contains(r.Stdout, "::add-mask::"+secret+"\n") {
			t.Errorf("the key is not masked first: stdout starts %q", tail([]byte(r.Stdout), 200))
		}
		for _, line := range strings.Split(r.Stdout+"\n"+r.Stderr+"\n"+r.Summary, "\n") {
			if strings.Contains(line, secret) && line != "::add-mask::"+secret {
				t.Errorf("the key leaks in: %q", line)
			}
		}
	}
}
