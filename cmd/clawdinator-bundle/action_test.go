package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/report"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// The Action contract is tested on the real binary, run the way the GitHub
// runner runs a Docker action: no arguments, GITHUB_ACTIONS=true, every
// input as INPUT_<NAME> with dashes kept (defaults included, as the runner
// passes them), the workspace as working directory, outputs and the step
// summary through the files the runner names.

var (
	buildOnce sync.Once
	builtDir  string
	builtBin  string
	buildErr  error
)

// binary builds ./cmd/clawdinator-bundle once per test binary.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		builtDir, buildErr = os.MkdirTemp("", "clawdinator-bundle-bin-")
		if buildErr != nil {
			return
		}
		builtBin = filepath.Join(builtDir, "clawdinator-bundle")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func removeBuiltBinary() {
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
}

// actionRun is one run of the binary as an Action.
type actionRun = binRun

// runActionBinary runs the binary in workspace ws with the action's
// defaults overridden by inputs (names as in action.yml). When combined is
// set, stdout and stderr share one file, so their relative order is exact,
// and both are in stdout.
func runActionBinary(t *testing.T, ws string, inputs map[string]string, combined bool) actionRun {
	t.Helper()
	return runBinary(t, binOpts{dir: ws, env: actionEnv(ws, inputs), combined: combined})
}

func (r actionRun) String() string {
	return fmt.Sprintf("exit status %d\n--- stdout\n%s--- stderr\n%s--- GITHUB_OUTPUT\n%s--- GITHUB_STEP_SUMMARY\n%s", r.code, r.stdout, r.stderr, r.output, r.summary)
}

// parseOutputs reads a GITHUB_OUTPUT file: "name=value" lines and
// "name<<DELIMITER" blocks.
func parseOutputs(t *testing.T, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		if name, delim, ok := strings.Cut(line, "<<"); ok {
			var val []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("GITHUB_OUTPUT: %s: no closing %s", name, delim)
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("GITHUB_OUTPUT: malformed line %q", line)
		}
		out[name] = val
	}
	return out
}

// keyLine returns the identity line of a sample key.
func keyLine(t *testing.T, key []byte) string {
	t.Helper()
	for _, l := range strings.Split(string(key), "\n") {
		if strings.HasPrefix(l, "AGE-SECRET-KEY-1") {
			return l
		}
	}
	t.Fatal("no identity line in the sample key")
	return ""
}

// crlf turns a key file into what a secret pasted from Windows holds.
func crlf(key []byte) string {
	return strings.ReplaceAll(string(key), "\n", "\r\n")
}

// checkMasksFirst requires stdout to start with ::add-mask:: lines, before
// any other line, that mask each of secrets.
func checkMasksFirst(t *testing.T, stdout string, secrets ...string) {
	t.Helper()
	masked := map[string]bool{}
	lines := strings.Split(stdout, "\n")
	i := 0
	for ; i < len(lines) && strings.HasPrefix(lines[i], "::add-mask::"); i++ {
		masked[strings.TrimPrefix(lines[i], "::add-mask::")] = true
	}
	for _, s := range secrets {
		if !masked[s] {
			t.Errorf("no ::add-mask:: for a secret among the first %d lines of output", i)
		}
	}
	for _, l := range lines[i:] {
		if strings.HasPrefix(l, "::add-mask::") {
			t.Errorf("::add-mask:: after other output: %q", l)
		}
	}
}

// checkNoLeak requires that no secret text appears anywhere the runner
// shows or keeps, except in the ::add-mask:: commands that hide it.
func checkNoLeak(t *testing.T, r actionRun, secrets ...string) {
	t.Helper()
	var stdout []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			stdout = append(stdout, l)
		}
	}
	places := map[string]string{
		"stdout": strings.Join(stdout, "\n"), "stderr": r.stderr,
		"GITHUB_OUTPUT": r.output, "GITHUB_STEP_SUMMARY": r.summary,
	}
	for where, text := range places {
		lower := strings.ToLower(text)
		for _, s := range secrets {
			if strings.Contains(lower, strings.ToLower(s)) {
				t.Errorf("%s holds secret text %.12s…", where, s)
			}
		}
		if strings.Contains(text, sample.Canary) {
			t.Errorf("%s holds a plaintext (%s…)", where, sample.Canary)
		}
	}
}

func TestAction(t *testing.T) {
	binary(t) // build before the server starts: building takes a while
	srv := s3test.Start(t)
	const bucket = "action-bucket"
	srv.CreateBucket(t, bucket)

	ws := t.TempDir()
	fx, err := sample.Write(ws)
	if err != nil {
		t.Fatal(err)
	}
	secretLine := keyLine(t, fx.Key)
	s3Inputs := map[string]string{
		"s3-bucket":             bucket,
		"s3-endpoint":           srv.Endpoint,
		"aws-region":            srv.Region,
		"aws-access-key-id":     srv.AccessKey,
		"aws-secret-access-key": srv.SecretKey,
	}
	inputs := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range s3Inputs {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	publishInputs := inputs(map[string]string{
		"mode":           "publish",
		"age-key":        crlf(fx.Key),
		"secrets-dir":    "nix/age-secrets",
		"repo-seeds-dir": "repo-seeds",
		"instances-file": "nix/instances.json",
	})

	t.Run("publish", func(t *testing.T) {
		r := runActionBinary(t, ws, publishInputs, false)
		if r.code != exitOK {
			t.Fatalf("publish: %v", r)
		}
		checkMasksFirst(t, r.stdout, secretLine, srv.SecretKey)
		checkNoLeak(t, r, secretLine, srv.SecretKey)

		outs := parseOutputs(t, r.output)
		if outs["recipient"] != fx.Recipient {
			t.Errorf("recipient output = %q, want %q", outs["recipient"], fx.Recipient)
		}
		checkBranchOutputs(t, outs, "true", len(sample.Instances))
		var ms []manifest.Manifest
		if err := json.Unmarshal([]byte(outs["manifest"]), &ms); err != nil {
			t.Fatalf("manifest output is not a JSON array of manifests: %v\n%s", err, outs["manifest"])
		}
		if len(ms) != len(sample.Instances) {
			t.Fatalf("manifest output holds %d manifests, want %d", len(ms), len(sample.Instances))
		}
		for i, m := range ms {
			if m.Instance != sample.Instances[i] || m.BootstrapPrefix != "bootstrap/"+m.Instance {
				t.Errorf("manifest %d is for %q at %q", i, m.Instance, m.BootstrapPrefix)
			}
			want := manifest.Source{Repository: "openclaw/clawdinators", SHA: "0123456789abcdef0123456789abcdef01234567", RunID: "987654321"}
			if m.Source != want {
				t.Errorf("%s: source %+v, want %+v", m.Instance, m.Source, want)
			}
			if m.Recipient != fx.Recipient {
				t.Errorf("%s: recipient %q", m.Instance, m.Recipient)
			}
			if len(m.Objects) != 2 {
				t.Errorf("%s: %d objects, want 2", m.Instance, len(m.Objects))
			}
			for _, o := range m.Objects {
				if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(o.SHA256) || o.VersionID == "" || o.Size <= 0 {
					t.Errorf("%s: object %s: sha256 %q, version %q, size %d", m.Instance, o.Key, o.SHA256, o.VersionID, o.Size)
				}
			}
			names := m.SecretNames()
			if len(names) != 9 || !contains(names, sample.TokenName(m.Instance)) {
				t.Errorf("%s: secrets %v", m.Instance, names)
			}
			for _, s := range m.Secrets {
				if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(s.SHA256) || s.Size <= 0 {
					t.Errorf("%s: secret %s: sha256 %q, size %d", m.Instance, s.Name, s.SHA256, s.Size)
				}
			}
		}

		for _, in := range sample.Instances {
			for _, obj := range []string{"secrets.tar.zst", "repo-seeds.tar.zst"} {
				row := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(in) + ` \| ` + "`" + regexp.QuoteMeta("bootstrap/"+in+"/"+obj) + "`" + ` \| .* \| uploaded \| .* \| ✅ \|$`)
				if !row.MatchString(r.summary) {
					t.Errorf("step summary has no uploaded, verified row for %s %s:\n%s", in, obj, r.summary)
				}
			}
		}
		if !strings.Contains(r.summary, fx.Recipient) {
			t.Errorf("step summary does not name the recipient")
		}
		// Excluded CI-only secrets are warned about, as annotations on the file.
		if !regexp.MustCompile(`(?m)^::warning file=nix/age-secrets/clawdinator-image-bucket-name\.age[,:]`).MatchString(r.stdout) {
			t.Errorf("no ::warning annotation for an excluded secret:\n%s", r.stdout)
		}
	})

	t.Run("publish again, one output stream", func(t *testing.T) {
		// stdout and stderr in one file: the masks precede every byte of
		// either stream.
		r := runActionBinary(t, ws, publishInputs, true)
		if r.code != exitOK {
			t.Fatalf("publish: %v", r)
		}
		checkMasksFirst(t, r.stdout, secretLine, srv.SecretKey)
		checkNoLeak(t, r, secretLine, srv.SecretKey)
		if n := strings.Count(r.summary, " | unchanged | "); n != 2*len(sample.Instances) {
			t.Errorf("step summary has %d unchanged rows, want %d:\n%s", n, 2*len(sample.Instances), r.summary)
		}
		// Nothing uploaded, everything proven again.
		checkBranchOutputs(t, parseOutputs(t, r.output), "false", len(sample.Instances))
	})

	t.Run("verify", func(t *testing.T) {
		r := runActionBinary(t, ws, inputs(map[string]string{
			"mode": "verify", "expected-recipient": fx.Recipient,
		}), false)
		if r.code != exitOK {
			t.Fatalf("verify: %v", r)
		}
		checkNoLeak(t, r, secretLine, srv.SecretKey)
		outs := parseOutputs(t, r.output)
		if outs["recipient"] != fx.Recipient {
			t.Errorf("recipient output = %q, want %q", outs["recipient"], fx.Recipient)
		}
		var ms []manifest.Manifest
		if err := json.Unmarshal([]byte(outs["manifest"]), &ms); err != nil || len(ms) != 3 {
			t.Errorf("manifest output: %d manifests, %v", len(ms), err)
		}
		// What verify proved, never what the bucket's manifest.json says
		// and nothing checks: no tool, no source.
		if strings.Contains(outs["manifest"], `"tool"`) || strings.Contains(outs["manifest"], `"source"`) || !strings.Contains(outs["manifest"], `"recipient":"`+fx.Recipient+`"`) {
			t.Errorf("manifest output holds unchecked fields, or no recipient:\n%s", outs["manifest"])
		}
		checkBranchOutputs(t, outs, "false", len(sample.Instances))
		if strings.Contains(r.stdout, "::error") || strings.Contains(r.summary, "Unpinned") {
			t.Errorf("error annotations, or unpinned, on a good bucket:\n%s\n%s", r.stdout, r.summary)
		}
	})

	t.Run("verify needs a pin", func(t *testing.T) {
		// An unset variable gives an empty input: refused, not unpinned.
		r := runActionBinary(t, ws, inputs(map[string]string{"mode": "verify", "expected-recipient": ""}), false)
		if r.code != exitUsage || !strings.Contains(r.stdout, "::error::expected-recipient is required for verify") || r.output != "" {
			t.Errorf("verify with an empty expected-recipient: want exit %d, an error and no outputs: %v", exitUsage, r)
		}
		// none, on purpose: verified, and the summary, the log and the
		// outputs say no key was held to a pin.
		r = runActionBinary(t, ws, inputs(map[string]string{"mode": "verify", "expected-recipient": "none"}), false)
		outs := parseOutputs(t, r.output)
		if r.code != exitOK || !strings.Contains(r.summary, "**Unpinned:**") || !strings.Contains(r.stdout, "::warning") || outs["recipient"] != "" {
			t.Errorf("verify with expected-recipient none: want exit 0, Unpinned in the summary, a warning and no recipient output: %v", r)
		}
		if strings.Contains(outs["manifest"], fx.Recipient) || !strings.Contains(outs["manifest"], `"recipient":""`) {
			t.Errorf("an unpinned manifest output names a recipient:\n%s", outs["manifest"])
		}
	})

	t.Run("verify without the secrets checked out", func(t *testing.T) {
		// A scheduled check holds the instances file, not the secrets: the
		// runner still passes secrets-dir's default.
		bare := t.TempDir()
		if err := os.MkdirAll(filepath.Join(bare, "nix"), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(fx.InstancesFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bare, "nix", "instances.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		r := runActionBinary(t, bare, inputs(map[string]string{
			"mode": "verify", "expected-recipient": fx.Recipient,
		}), false)
		if r.code != exitOK {
			t.Fatalf("verify: %v", r)
		}
		// The drift check did not run, and the log and the summary say so.
		const said = "secrets-dir: drift check not run: the default nix/age-secrets does not exist here"
		if !strings.Contains(r.stdout, "::warning title=clawdinator-bundle::"+said) || !strings.Contains(r.summary, report.Markdown(said)) {
			t.Errorf("verify without a drift reference does not say so in the log and the summary: %v", r)
		}

		// The same workspace with the bucket's secrets under the lock: the
		// drift reference is the bucket's prefix (and none is warned).
		awsCLI(t, srv, "s3", "sync", fx.SecretsDir, "s3://"+bucket+"/age-secrets")
		var lock strings.Builder
		entries, err := os.ReadDir(fx.SecretsDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(fx.SecretsDir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&lock, "%x  %s\n", sha256.Sum256(data), e.Name())
		}
		if err := os.WriteFile(filepath.Join(bare, "nix", "age-secrets.sha256"), []byte(lock.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		r = runActionBinary(t, bare, inputs(map[string]string{
			"mode": "verify", "expected-recipient": fx.Recipient, "secrets-s3-prefix": "age-secrets/",
		}), false)
		if r.code != exitOK || strings.Contains(r.stdout, "::warning") || strings.Contains(r.summary, "drift check not run") {
			t.Fatalf("verify with secrets-s3-prefix: want exit 0 and no warning: %v", r)
		}
		// A secret planted in the prefix: refused by name (exit 1).
		awsCLI(t, srv, "s3", "cp", filepath.Join(fx.SecretsDir, "clawdinator-control-token.age"), "s3://"+bucket+"/age-secrets/clawdinator-extra.age")
		r = runActionBinary(t, bare, inputs(map[string]string{
			"mode": "verify", "expected-recipient": fx.Recipient, "secrets-s3-prefix": "age-secrets/",
		}), false)
		if r.code != exitProblems || !strings.Contains(r.stdout, "::error title=clawdinator-bundle::age-secrets/clawdinator-extra.age: not in the lock nix/age-secrets.sha256") {
			t.Fatalf("verify with a planted secret: want exit %d and an error naming it: %v", exitProblems, r)
		}
		// secrets-lock: none says so in the summary.
		r = runActionBinary(t, bare, inputs(map[string]string{
			"mode": "verify", "expected-recipient": fx.Recipient, "secrets-s3-prefix": "age-secrets/", "secrets-lock": "none",
		}), false)
		if r.code != exitOK || !strings.Contains(r.summary, report.Markdown("secrets-lock: none: the secrets from s3://"+bucket+"/age-secrets/ were not checked against a digest lock")) {
			t.Fatalf("verify with secrets-lock none: want exit 0 and the summary saying so: %v", r)
		}
		awsCLI(t, srv, "s3", "rm", "s3://"+bucket+"/age-secrets/clawdinator-extra.age")
	})

	t.Run("verify compares a secrets-dir given explicitly", func(t *testing.T) {
		// Drift: the checked-out secret differs from the one bundled. The
		// runner passes secrets-dir's default whether or not the workflow
		// gave it, so the default is compared when it is checked out and
		// skipped when it is not (the subtest above).
		reencryptUntilCleanup(t, fx, "clawdinator-control-token.age")
		r := runActionBinary(t, ws, inputs(map[string]string{
			"mode": "verify", "secrets-dir": "./nix/age-secrets", "expected-recipient": fx.Recipient,
		}), false)
		if r.code != exitProblems {
			t.Fatalf("verify: want exit status %d: %v", exitProblems, r)
		}
		for _, in := range sample.Instances {
			re := regexp.MustCompile(`(?m)^::error [^:]*::instance ` + regexp.QuoteMeta(in) + `: .*clawdinator-control-token\.age: drift: differs from`)
			if !re.MatchString(r.stdout) {
				t.Errorf("no drift annotation for %s:\n%s", in, r.stdout)
			}
		}
		checkNoLeak(t, r, secretLine, srv.SecretKey)
		if r := runActionBinary(t, ws, inputs(map[string]string{"mode": "verify", "expected-recipient": fx.Recipient}), false); r.code != exitProblems {
			t.Errorf("verify with the default secrets-dir checked out: want drift (exit %d): %v", exitProblems, r)
		}
	})

	t.Run("verify with one instance drifting", func(t *testing.T) {
		// clawdinator-2's own token differs from the one bundled: the other
		// instances are still proven, and instances-proven says so.
		reencryptUntilCleanup(t, fx, sample.TokenName("clawdinator-2"))
		r := runActionBinary(t, ws, inputs(map[string]string{"mode": "verify", "secrets-dir": "./nix/age-secrets", "expected-recipient": fx.Recipient}), false)
		if r.code != exitProblems || !strings.Contains(r.stdout, "::instance clawdinator-2: ") {
			t.Fatalf("verify: want exit status %d and clawdinator-2 named: %v", exitProblems, r)
		}
		checkBranchOutputs(t, parseOutputs(t, r.output), "false", len(sample.Instances)-1)
	})

	t.Run("verify with a wrong expected recipient", func(t *testing.T) {
		const other = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
		r := runActionBinary(t, ws, inputs(map[string]string{
			"mode": "verify", "expected-recipient": other,
		}), false)
		if r.code != exitProblems {
			t.Fatalf("verify: want exit status %d: %v", exitProblems, r)
		}
		for _, in := range sample.Instances {
			re := regexp.MustCompile(`(?m)^::error [^:]*::instance ` + regexp.QuoteMeta(in) + `: bootstrap/` + regexp.QuoteMeta(in) + `/secrets\.tar\.zst: .*expected-recipient is ` + other)
			if !re.MatchString(r.stdout) {
				t.Errorf("no ::error annotation naming %s:\n%s", in, r.stdout)
			}
		}
		if !strings.Contains(r.summary, "❌") {
			t.Errorf("step summary does not show the failure:\n%s", r.summary)
		}
		checkNoLeak(t, r, secretLine, srv.SecretKey)
	})

	t.Run("publish with a required secret missing", func(t *testing.T) {
		before := awsListVersions(t, srv, bucket)
		if err := os.Rename(filepath.Join(fx.SecretsDir, "clawdinator-telegram-bot-token.age"), filepath.Join(ws, "moved.age")); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			os.Rename(filepath.Join(ws, "moved.age"), filepath.Join(fx.SecretsDir, "clawdinator-telegram-bot-token.age"))
		})
		r := runActionBinary(t, ws, publishInputs, false)
		if r.code != exitProblems {
			t.Fatalf("publish: want exit status %d: %v", exitProblems, r)
		}
		re := regexp.MustCompile(`(?m)^::error file=nix/age-secrets/clawdinator-telegram-bot-token\.age[,:].*required secret is missing`)
		if !re.MatchString(r.stdout) {
			t.Errorf("no ::error file=… annotation for the missing secret:\n%s", r.stdout)
		}
		checkMasksFirst(t, r.stdout, secretLine, srv.SecretKey)
		checkNoLeak(t, r, secretLine, srv.SecretKey)
		if after := awsListVersions(t, srv, bucket); after != before {
			t.Errorf("the bucket changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// checkBranchOutputs checks the outputs a workflow branches on without
// fromJSON, and the instance list every run sets.
func checkBranchOutputs(t *testing.T, outs map[string]string, uploaded string, proven int) {
	t.Helper()
	if outs["uploaded"] != uploaded || outs["instances-proven"] != fmt.Sprint(proven) {
		t.Errorf("uploaded %q, instances-proven %q; want %q, %d", outs["uploaded"], outs["instances-proven"], uploaded, proven)
	}
	names, _ := json.Marshal(sample.Instances)
	if outs["instances"] != string(names) || outs["matrix"] != `{"instance":`+string(names)+`}` {
		t.Errorf("instances %q, matrix %q", outs["instances"], outs["matrix"])
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// awsListVersions lists every version and delete marker in bucket with the
// aws CLI, an S3 client independent of ours.
func awsListVersions(t *testing.T, srv *s3test.Server, bucket string) string {
	t.Helper()
	out := awsCLI(t, srv, "s3api", "list-object-versions", "--bucket", bucket, "--output", "json")
	var v struct {
		Versions []struct {
			Key, VersionId, ETag string
			IsLatest             bool
		}
		DeleteMarkers []struct {
			Key, VersionId string
			IsLatest       bool
		}
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("aws s3api list-object-versions: %v\n%s", err, out)
	}
	if len(v.Versions) == 0 {
		t.Fatalf("aws s3api list-object-versions: bucket %s is empty", bucket)
	}
	var b strings.Builder
	for _, x := range v.Versions {
		fmt.Fprintf(&b, "%s %s %s %v\n", x.Key, x.VersionId, x.ETag, x.IsLatest)
	}
	for _, x := range v.DeleteMarkers {
		fmt.Fprintf(&b, "delete marker %s %s %v\n", x.Key, x.VersionId, x.IsLatest)
	}
	return b.String()
}

const awsBin = "/usr/bin/aws"

// awsCLI runs Debian's aws CLI against srv.
func awsCLI(t *testing.T, srv *s3test.Server, args ...string) []byte {
	t.Helper()
	if _, err := os.Stat(awsBin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("aws CLI: %v", err)
		}
		t.Skipf("aws CLI: %v", err)
	}
	home := t.TempDir()
	cmd := exec.Command(awsBin, append([]string{"--endpoint-url", srv.Endpoint}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}, srv.Env()...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// reencryptUntilCleanup gives the sample secret name new ciphertext (to the
// same key), so that it drifts from what was bundled, until the test ends.
func reencryptUntilCleanup(t *testing.T, fx *sample.Fixture, name string) {
	t.Helper()
	p := filepath.Join(fx.SecretsDir, name)
	orig, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(p, orig, 0o644) })
	rcp, err := age.ParseX25519Recipient(fx.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	if err := sample.Encrypt(p, []byte(sample.Canary+"rotated"), rcp); err != nil {
		t.Fatal(err)
	}
}
