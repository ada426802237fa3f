package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// The leak tests run the built binary (the real main) in every mode, as a
// CLI and as an Action, succeeding and failing, with canaries: the age key
// of the workload, the plaintext of every secret (each starts with
// sample.Canary) and the AWS secrets in play. None may appear in stdout,
// stderr, GITHUB_OUTPUT, the step summary or the annotations (which are
// stdout lines), nor in any file left in TMPDIR, which is a fresh
// directory for each run and must be empty afterwards. An assemble --out
// directory may hold the age key (the bundle ships it, by design) but no
// plaintext: its archives are decompressed and searched.
//
// "Plaintext never touches disk": without strace (not available here) a
// file written and removed again during a run cannot be observed, so the
// claim rests on three legs. (1) The scans above: nothing with plaintext
// or key material is left behind, in TMPDIR or the out directory, in any
// mode, on success or failure. (2) TestLeakDiskWrites: the only code
// linked into the binary that creates files is a short allowlist, each
// entry of which writes archives, manifests, the repo-seeds temp archive
// or the demo's sample workload (ciphertext and a throwaway key), never a
// decrypted secret. (3) Decryption itself (agekey.Check, bundle.Verify*)
// streams age.Decrypt's output into io.Discard. A new way of writing files
// fails (2) and has to be looked at.

// leakCanaryRE matches any real age identity, not only the workload's:
// the demo generates its own key.
var leakCanaryRE = regexp.MustCompile(`(?i)AGE-SECRET-KEY-1[023456789ACDEFGHJKLMNPQRSTUVWXYZ]{20,}`)

// leakSecrets holds the secret values to look for.
type leakSecrets []string

// fragments returns each secret and pieces of it (16 characters at a
// time, lowercased), so that a partial echo of a secret (an error quoting
// part of a line) is caught as well as the whole.
func (s leakSecrets) fragments() []string {
	var out []string
	for _, v := range s {
		v = strings.ToLower(v)
		if v == "" {
			continue
		}
		out = append(out, v)
		payload := strings.TrimPrefix(v, "age-secret-key-1")
		for i := 0; i+16 <= len(payload); i += 16 {
			out = append(out, payload[i:i+16])
		}
	}
	return out
}

// leakFind returns what in text is a leak: a secret or part of one, a
// plaintext canary (when plain), or any age identity (when keys).
func leakFind(text []byte, secrets leakSecrets, plain, keys bool) []string {
	var found []string
	lower := bytes.ToLower(text)
	for _, f := range secrets.fragments() {
		if bytes.Contains(lower, []byte(f)) {
			found = append(found, "secret text "+leakShort(f))
		}
	}
	if plain && bytes.Contains(text, []byte(sample.Canary)) {
		found = append(found, "plaintext "+sample.Canary+"…")
	}
	if keys && leakCanaryRE.Match(text) {
		found = append(found, "an age identity")
	}
	return found
}

func leakShort(s string) string {
	if len(s) > 10 {
		return s[:10] + "…"
	}
	return s
}

// leakRun is one run of the binary and what it left.
type leakRun = binRun

// runLeak runs the binary with args in dir, with exactly env plus PATH
// and a fresh HOME, TMPDIR, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY (the
// last two are only read in Action mode).
func runLeak(t *testing.T, dir string, args []string, env map[string]string) leakRun {
	t.Helper()
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	return runBinary(t, binOpts{dir: dir, args: args, env: kv})
}

// check reports every leak in what the run printed and left in TMPDIR.
func (r leakRun) check(t *testing.T, secrets leakSecrets) {
	t.Helper()
	// ::add-mask:: lines are how an Action hides a secret: the runner
	// consumes them and never shows them.
	var stdout [][]byte
	for _, l := range bytes.Split([]byte(r.stdout), []byte("\n")) {
		if !bytes.HasPrefix(l, []byte("::add-mask::")) {
			stdout = append(stdout, l)
		}
	}
	places := []struct {
		name string
		data []byte
	}{
		{"stdout (annotations included)", bytes.Join(stdout, []byte("\n"))},
		{"stderr", []byte(r.stderr)},
		{"GITHUB_OUTPUT", []byte(r.output)},
		{"GITHUB_STEP_SUMMARY", []byte(r.summary)},
	}
	for _, p := range places {
		for _, f := range leakFind(p.data, secrets, true, true) {
			t.Errorf("%s holds %s", p.name, f)
		}
	}
	left, leaks := leakScanDir(t, r.tmp, func(rel string, data []byte) []string {
		return leakFind(data, secrets, true, true)
	})
	for _, l := range leaks {
		t.Errorf("TMPDIR: %s", l)
	}
	if len(left) > 0 {
		t.Errorf("files left in TMPDIR: %s", strings.Join(left, ", "))
	}
	if t.Failed() {
		t.Logf("exit status %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
	}
}

// leakScanDir runs find on every regular file under dir, and on the
// decompressed content of every .zst file. It returns the files it saw,
// relative to dir, and what find found.
func leakScanDir(t *testing.T, dir string, find func(rel string, data []byte) []string) (seen, leaks []string) {
	t.Helper()
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(256<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !d.Type().IsRegular() {
			if !d.IsDir() {
				seen = append(seen, rel)
			}
			return nil
		}
		seen = append(seen, rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, f := range find(rel, data) {
			leaks = append(leaks, rel+" holds "+f)
		}
		if strings.HasSuffix(p, ".zst") {
			plain, err := dec.DecodeAll(data, nil)
			if err != nil {
				t.Errorf("%s: cannot decompress to look inside: %v", p, err)
				return nil
			}
			for _, f := range find(rel+" (decompressed)", plain) {
				leaks = append(leaks, rel+", decompressed, holds "+f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen, leaks
}

func leakRandom(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

func TestLeak(t *testing.T) {
	binary(t) // before the server starts: building takes a while
	srv := s3test.Start(t)
	const bucket = "leak-bucket"
	srv.CreateBucket(t, bucket)
	ws := t.TempDir()
	fx, err := sample.Write(ws)
	if err != nil {
		t.Fatal(err)
	}
	key := keyLine(t, fx.Key)
	// The workload's key, the server's secret, and the canaries of the
	// failing runs: every one is looked for in every run.
	badSecret := leakRandom(t, "CanaryAwsSecret")
	badToken := leakRandom(t, "CanaryAwsSessionToken")
	secrets := leakSecrets{key, srv.SecretKey, badSecret, badToken, "demo-secret-access-key-not-real"}
	// A key line with one character changed: not an identity any more, and
	// still the key's text.
	mangled := key[:len(key)-1] + map[bool]string{true: "Q", false: "P"}[key[len(key)-1] != 'Q']
	secrets = append(secrets, mangled)
	badKeys := map[string]string{
		"mangled": "# created: leak test\r\n" + mangled + "\r\n",
		"wrapped": "password=" + key + "-and-more\n",
	}

	s3Flags := []string{"--s3-bucket", bucket, "--s3-endpoint", srv.Endpoint}
	files := []string{"--secrets-dir", fx.SecretsDir, "--instances-file", fx.InstancesFile}
	cliEnv := func(mods ...map[string]string) map[string]string {
		env := map[string]string{
			"AWS_ACCESS_KEY_ID": srv.AccessKey, "AWS_SECRET_ACCESS_KEY": srv.SecretKey, "AWS_REGION": srv.Region,
			"CLAWDINATOR_AGE_KEY": crlf(fx.Key),
		}
		for _, m := range mods {
			for k, v := range m {
				env[k] = v
			}
		}
		return env
	}
	actionEnv := func(inputs map[string]string) map[string]string {
		env := map[string]string{"GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_WORKSPACE": ws}
		for _, o := range config.Options {
			v, ok := inputs[o.Name]
			if !ok {
				v = o.Default
			}
			env["INPUT_"+strings.ToUpper(o.Name)] = v
		}
		return env
	}
	s3Inputs := func(mode string, extra map[string]string) map[string]string {
		m := map[string]string{
			"mode": mode, "s3-bucket": bucket, "s3-endpoint": srv.Endpoint, "aws-region": srv.Region,
			"aws-access-key-id": srv.AccessKey, "aws-secret-access-key": srv.SecretKey, "age-key": crlf(fx.Key),
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cliOut, actionOut := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "out")

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		out  string // an assemble output directory to search
	}{
		{"publish", append(append([]string{"publish", "--repo-seeds-dir", fx.SeedsDir, "--json"}, files...), s3Flags...), cliEnv(), exitOK, ""},
		{"verify", append([]string{"verify", "--json", "--instances-file", fx.InstancesFile, "--secrets-dir", fx.SecretsDir, "--expected-recipient", fx.Recipient}, s3Flags...), cliEnv(), exitOK, ""},
		{"assemble", append([]string{"assemble", "--repo-seeds-dir", fx.SeedsDir, "--json"}, files...), cliEnv(), exitOK, ""},
		{"assemble --out", append([]string{"assemble", "--repo-seeds-dir", fx.SeedsDir, "--age-key-file", fx.KeyFile, "--out", cliOut}, files...), cliEnv(map[string]string{"CLAWDINATOR_AGE_KEY": ""}), exitOK, cliOut},
		{"verify --dir", []string{"verify", "--dir", cliOut, "--instances-file", fx.InstancesFile, "--expected-recipient", fx.Recipient, "--json"}, cliEnv(), exitOK, ""},
		{"demo", []string{"demo"}, cliEnv(), exitOK, ""},
		{"plan", []string{"plan", "--json", "--instances-file", fx.InstancesFile}, cliEnv(), exitOK, ""},
		{"publish with a bad key", append(append([]string{"publish", "--repo-seeds-dir", fx.SeedsDir, "--json"}, files...), s3Flags...), cliEnv(map[string]string{"CLAWDINATOR_AGE_KEY": badKeys["mangled"]}), exitProblems, ""},
		{"assemble with a bad key", append([]string{"assemble", "--repo-seeds-dir", fx.SeedsDir, "--json"}, files...), cliEnv(map[string]string{"CLAWDINATOR_AGE_KEY": badKeys["wrapped"]}), exitProblems, ""},
		{"publish with wrong credentials", append(append([]string{"publish", "--repo-seeds-dir", fx.SeedsDir, "--json"}, files...), s3Flags...), cliEnv(map[string]string{"AWS_SECRET_ACCESS_KEY": badSecret, "AWS_SESSION_TOKEN": badToken}), exitFailed, ""},
		{"verify with wrong credentials", append([]string{"verify", "--json", "--instances-file", fx.InstancesFile, "--expected-recipient", fx.Recipient}, s3Flags...), cliEnv(map[string]string{"AWS_SECRET_ACCESS_KEY": badSecret, "AWS_SESSION_TOKEN": badToken}), exitFailed, ""},

		{"action publish", nil, actionEnv(s3Inputs("publish", nil)), exitOK, ""},
		{"action verify", nil, actionEnv(s3Inputs("verify", map[string]string{"age-key": "", "expected-recipient": fx.Recipient})), exitOK, ""},
		{"action assemble", nil, actionEnv(s3Inputs("assemble", nil)), exitOK, ""},
		{"action plan", nil, actionEnv(s3Inputs("plan", map[string]string{"instances-file": fx.InstancesFile})), exitOK, ""},
		{"action assemble output-dir", nil, actionEnv(s3Inputs("assemble", map[string]string{"output-dir": actionOut})), exitOK, actionOut},
		{"action publish with a bad key", nil, actionEnv(s3Inputs("publish", map[string]string{"age-key": badKeys["mangled"]})), exitProblems, ""},
		{"action assemble with a bad key", nil, actionEnv(s3Inputs("assemble", map[string]string{"age-key": badKeys["wrapped"]})), exitProblems, ""},
		{"action publish with wrong credentials", nil, actionEnv(s3Inputs("publish", map[string]string{"aws-secret-access-key": badSecret, "aws-session-token": badToken})), exitFailed, ""},
		{"action verify with wrong credentials", nil, actionEnv(s3Inputs("verify", map[string]string{"age-key": "", "expected-recipient": fx.Recipient, "aws-secret-access-key": badSecret, "aws-session-token": badToken})), exitFailed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runLeak(t, ws, tc.args, tc.env)
			if r.code != tc.code {
				t.Errorf("exit status %d, want %d", r.code, tc.code)
			}
			// The run got as far as the case means, and its outputs have
			// something in them to search.
			all := r.stdout + r.stderr
			switch {
			case tc.code == exitProblems && !strings.Contains(all, "age-key"):
				t.Errorf("a bad key, but no word of age-key")
			case tc.code == exitFailed && !strings.Contains(all, "access denied"):
				t.Errorf("wrong credentials, but no word of access denied")
			case tc.code == exitOK && tc.args == nil && (!strings.Contains(r.output, "manifest") || len(r.summary) == 0):
				t.Errorf("an Action run that wrote no outputs or step summary")
			case tc.code == exitOK && tc.args != nil && len(r.stderr) == 0:
				t.Errorf("a CLI run that printed nothing on stderr")
			}
			r.check(t, secrets)
			if tc.out == "" {
				return
			}
			files, leaks := leakScanDir(t, tc.out, func(rel string, data []byte) []string {
				// The secrets archive ships the key by design; nothing
				// else may hold it, and nothing at all a plaintext.
				keys := !strings.HasPrefix(filepath.Base(strings.TrimSuffix(rel, " (decompressed)")), "secrets.tar.zst")
				s := secrets
				if !keys {
					s = leakSecrets{srv.SecretKey, badSecret, badToken}
				}
				return leakFind(data, s, true, keys)
			})
			for _, l := range leaks {
				t.Errorf("%s: %s", tc.out, l)
			}
			if len(files) != 3*len(sample.Instances) {
				sort.Strings(files)
				t.Errorf("%s holds %v, want 3 files per instance", tc.out, files)
			}
		})
	}
}

// TestLeakDiskWrites lists the source files, among the packages linked
// into the binary, that create files, and holds that list to the
// allowlist below, so that a new way to write to disk gets looked at for
// plaintext (see the comment at the top of this file).
func TestLeakDiskWrites(t *testing.T) {
	allowed := map[string]string{
		"cmd/clawdinator-bundle/cmd_demo.go": "the demo's temp directory for its sample workload",
		"internal/sample/sample.go":          "the demo's sample workload: ciphertext, a throwaway key, repo seeds",
		"internal/bucket/dir.go":             "assemble --out: archives (ciphertext) and manifests",
		"internal/gate/gate.go":              "the repo-seeds temp archive (no secrets)",
		"internal/config/keyfile_unix.go":    "opens the key's FIFO for writing, writes nothing: wakes a read that waits for a writer when the run is interrupted",
		"internal/install/install.go":        "install on a host: staging directories next to the destinations",
		"internal/install/stage.go":          "install on a host: the key at AGE_KEY_PATH (its purpose, 0400 root, staged next to it), ciphertext .age files, markers, the proven repo-seeds archive and tree; never plaintext",
		"internal/install/state.go":          "install on a host: the state directory, its empty lock file and the sequence records (a prefix, a number, a statement digest); never a secret",
		"internal/bundle/extract.go":         "install on a host: the repo-seeds tree (no secrets)",
		"internal/secretsrc/secretsrc.go":    "secrets-s3-prefix: the bucket's *.age files (ciphertext) in a private temporary directory, removed after the run",
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Module}}|{{.Dir}}|{{join .GoFiles \",\"}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	writes := regexp.MustCompile(`\b(os\.(Create|CreateTemp|WriteFile|OpenFile|MkdirTemp|Rename|Link|Symlink|Truncate)|ioutil\.(WriteFile|TempFile|TempDir)|unix\.(Open|Openat)|syscall\.(Open|Creat))\(`)
	found := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[0], "github.com/openclaw/clawdinator-bundle") {
			continue
		}
		for _, f := range strings.Split(parts[2], ",") {
			p := filepath.Join(parts[1], f)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if writes.Match(data) {
				rel, _ := filepath.Rel(root, p)
				found[filepath.ToSlash(rel)] = true
			}
		}
	}
	for f := range found {
		if _, ok := allowed[f]; !ok {
			t.Errorf("%s creates files: make sure no plaintext or key reaches disk through it, then add it to the allowlist", f)
		}
	}
	if len(found) == 0 {
		t.Fatal("no file-creating code found: the scan is broken")
	}
}

// TestLeakScanner shows the search finds what it must: a whole or partial
// key in any case, a secret, a plaintext canary, inside zstd too.
func TestLeakScanner(t *testing.T) {
	const key = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
	secrets := leakSecrets{key, "awsSecretValue0123456789"}
	for _, text := range []string{
		key,
		strings.ToLower(key),
		"line 2: malformed age identity near " + key[20:40],
		"key AGE-SECRET-KEY-1PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP of the demo",
		"AWSSECRETVALUE0123456789",
		"value: " + sample.Canary + "x",
	} {
		if len(leakFind([]byte(text), secrets, true, true)) == 0 {
			t.Errorf("not found in %q", text)
		}
	}
	if f := leakFind([]byte("age-key: not an age identity (AGE-SECRET-KEY-1...)"), secrets, true, true); len(f) > 0 {
		t.Errorf("a message naming the key format reported as a leak: %v", f)
	}

	dir := t.TempDir()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	packed := enc.EncodeAll([]byte("tar bytes "+sample.Canary+"secret"), nil)
	enc.Close()
	if err := os.WriteFile(filepath.Join(dir, "x.tar.zst"), packed, 0o600); err != nil {
		t.Fatal(err)
	}
	seen, leaks := leakScanDir(t, dir, func(rel string, data []byte) []string { return leakFind(data, secrets, true, true) })
	if len(seen) != 1 || !strings.Contains(strings.Join(leaks, "\n"), "decompressed, holds plaintext") {
		t.Errorf("scan of a compressed canary: seen %v, leaks %v", seen, leaks)
	}
}
