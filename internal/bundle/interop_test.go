package bundle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// interopMtime is SOURCE_DATE_EPOCH for the interop run: not the default
// epoch, so a writer ignoring Inputs.Mtime is caught.
var interopMtime = time.Unix(1700000000, 0).UTC()

// assembleSample does what `assemble --out DIR` does on the sample workload
// and returns the fixture and DIR.
func assembleSample(t *testing.T) (*sample.Fixture, string) {
	t.Helper()
	f, err := sample.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	instances, iprobs := plan.LoadInstances(f.InstancesFile)
	prep, probs, err := gate.Prepare(ctx, gate.Inputs{
		Instances: instances, InstancesProblems: iprobs,
		AgeKey: f.Key, SecretsDir: f.SecretsDir, RepoSeedsDir: f.SeedsDir,
		Policy: plan.Policy{Required: plan.DefaultRequired, Exclude: plan.DefaultExclude},
		Mtime:  interopMtime, TempDir: t.TempDir(),
	})
	if err != nil || prep == nil {
		t.Fatalf("prepare: %v\n%s", err, render(probs))
	}
	defer prep.Close()
	out := t.TempDir()
	res := publish.Publish(ctx, prep, publish.Options{Bucket: bucket.Dir(out)})
	if errs := res.Problems.Errors(); len(errs) > 0 || res.Err() != nil {
		t.Fatalf("publish: %v\n%s", res.Err(), render(errs))
	}
	if len(res.Instances) != len(sample.Instances) {
		t.Fatalf("published %d instances, want %d", len(res.Instances), len(sample.Instances))
	}
	return f, out
}

// run runs a host tool and fails on a non-zero exit or on any stderr output:
// a warning from tar at boot is a bundle we did not mean to make.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(needTool(t, name), args...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Fatalf("%s %s wrote to stderr:\n%s", name, strings.Join(args, " "), stderr.String())
	}
	return stdout.Bytes()
}

func perm(t *testing.T, p string) fs.FileMode {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode()
}

// checkListing asserts every line of tar -tv is owned by 0/0 and carries the
// fixed mtime, and, when sorted is set, that names are in byte order (the
// secrets archive; repo-seeds is in depth-first walk order).
func checkListing(t *testing.T, archive string, sorted bool) {
	t.Helper()
	out := run(t, "tar", "--zstd", "--numeric-owner", "--full-time", "-tvf", archive)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		t.Fatalf("%s lists %d entries", archive, len(lines))
	}
	stamp := interopMtime.Format("2006-01-02 15:04:05")
	var names []string
	for _, l := range lines {
		fields := strings.Fields(l)
		want := stamp
		if !sorted && len(fields) > 4 && !strings.HasPrefix(l, "d") && fields[3]+" "+fields[4] < "2004-01-10 13:37:04" {
			// A seeds file's or symlink's mtime is the first 30 bits of
			// its content's SHA-256 (TestExtractSeedsTimes has the value).
			want = fields[3] + " " + fields[4]
		}
		if len(fields) < 6 || fields[1] != "0/0" || fields[3]+" "+fields[4] != want {
			t.Errorf("%s: entry not owned by 0/0 at %s: %q", filepath.Base(archive), stamp, l)
			continue
		}
		names = append(names, fields[5])
	}
	if sorted && !slices.IsSorted(names) {
		t.Errorf("%s: entries are not sorted: %v", filepath.Base(archive), names)
	}
}

// TestHostTools extracts every assembled bundle with the tools the hosts
// run at boot (GNU tar --zstd, zstd, the age CLI) and checks the contract
// of docs/bundle.md on what they produce.
func TestHostTools(t *testing.T) {
	needTool(t, "tar")
	needTool(t, "zstd")
	needTool(t, "age")
	needTool(t, "diff")
	f, out := assembleSample(t)

	var seeds []byte
	for _, inst := range sample.Instances {
		t.Run(inst, func(t *testing.T) {
			dir := filepath.Join(out, "bootstrap", inst)
			secretsTar := filepath.Join(dir, layout.SecretsObject)
			seedsTar := filepath.Join(dir, layout.SeedsObject)
			if _, err := os.Stat(filepath.Join(dir, layout.ManifestName)); err != nil {
				t.Fatalf("no manifest: %v", err)
			}
			run(t, "zstd", "-q", "-t", secretsTar)
			run(t, "zstd", "-q", "-t", seedsTar)
			checkListing(t, secretsTar, true)

			x := t.TempDir()
			run(t, "tar", "--zstd", "-xf", secretsTar, "-C", x)

			top, err := os.ReadDir(x)
			if err != nil {
				t.Fatal(err)
			}
			var topNames []string
			for _, e := range top {
				topNames = append(topNames, e.Name())
			}
			if !slices.Equal(topNames, []string{bundle.KeyEntry, bundle.StatementEntry, bundle.SecretsDir}) {
				t.Fatalf("top level = %v, want [%s %s %s]", topNames, bundle.KeyEntry, bundle.StatementEntry, bundle.SecretsDir)
			}
			checkStatement(t, x, inst, seedsTar)
			keyPath := filepath.Join(x, bundle.KeyEntry)
			if m := perm(t, keyPath); !m.IsRegular() || m.Perm() != 0o400 {
				t.Errorf("%s mode = %v, want -r--------", bundle.KeyEntry, m)
			}
			if m := perm(t, filepath.Join(x, bundle.SecretsDir)); !m.IsDir() || m.Perm() != 0o700 {
				t.Errorf("secrets/ mode = %v, want drwx------", m)
			}
			keyText, err := os.ReadFile(keyPath)
			if err != nil {
				t.Fatal(err)
			}
			if k, err := agekey.Parse(keyText); err != nil || k.Recipient() != f.Recipient {
				t.Fatalf("bundled key: %v (recipient %v, want %s)", err, k, f.Recipient)
			}

			want := append(slices.Clone(plan.DefaultRequired), sample.TokenName(inst))
			slices.Sort(want)
			entries, err := os.ReadDir(filepath.Join(x, bundle.SecretsDir))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
				p := filepath.Join(x, bundle.SecretsDir, e.Name())
				if m := perm(t, p); !m.IsRegular() || m.Perm() != 0o400 {
					t.Errorf("%s mode = %v, want -r--------", e.Name(), m)
				}
				if st, _ := os.Lstat(p); !st.ModTime().Equal(interopMtime) {
					t.Errorf("%s mtime = %v, want %v", e.Name(), st.ModTime().UTC(), interopMtime)
				}
				if strings.HasPrefix(e.Name(), "clawdinator-image-") {
					t.Errorf("CI-only secret %s reached a host bundle", e.Name())
				}
				for _, other := range sample.Instances {
					if other != inst && e.Name() == sample.TokenName(other) {
						t.Errorf("instance %s received the token of %s", inst, other)
					}
				}
				plain := run(t, "age", "-d", "-i", keyPath, p)
				if string(plain) != sample.Canary+e.Name() {
					t.Errorf("age -d %s = %q, want the sample plaintext", e.Name(), plain)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("secrets/ holds\n  %v\nwant\n  %v", got, want)
			}

			data, err := os.ReadFile(seedsTar)
			if err != nil {
				t.Fatal(err)
			}
			if seeds == nil {
				seeds = data
			} else if !bytes.Equal(seeds, data) {
				t.Errorf("repo-seeds.tar.zst differs between instances")
			}
		})
	}

	t.Run("repo-seeds", func(t *testing.T) {
		seedsTar := filepath.Join(out, "bootstrap", sample.Instances[0], layout.SeedsObject)
		checkListing(t, seedsTar, false)
		y := t.TempDir()
		run(t, "tar", "--zstd", "-xf", seedsTar, "-C", y)
		run(t, "diff", "-r", "--no-dereference", f.SeedsDir, y)

		// diff ignores modes: compare every entry's type and permissions.
		n := 0
		err := filepath.WalkDir(f.SeedsDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(f.SeedsDir, p)
			src, dst := perm(t, p), perm(t, filepath.Join(y, rel))
			if src != dst {
				t.Errorf("%s: mode %v after extraction, %v in the source", rel, dst, src)
			}
			n++
			return nil
		})
		if err != nil || n < 10 {
			t.Fatalf("walked %d entries: %v", n, err)
		}
		if m := perm(t, filepath.Join(y, "openclaw/scripts/run.sh")); m.Perm()&0o111 == 0 {
			t.Errorf("run.sh lost its exec bit: %v", m)
		}
		for link, target := range map[string]string{
			"openclaw/README.link":      "README.md",
			"openclaw/docs/guide/up.md": "../../README.md",
		} {
			p := filepath.Join(y, link)
			if m := perm(t, p); m&fs.ModeSymlink == 0 {
				t.Errorf("%s is %v, want a symlink", link, m)
				continue
			}
			if got, err := os.Readlink(p); err != nil || got != target {
				t.Errorf("%s -> %q (%v), want %q", link, got, err, target)
			}
		}
	})
}

// checkStatement reads the statement that GNU tar extracted into x with a
// decoder of its own (not internal/manifest's: a writer bug must not hide
// behind a matching reader bug) and checks every digest in it against the
// files themselves, hashed by sha256sum and zstd.
func checkStatement(t *testing.T, x, inst, seedsTar string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(x, bundle.StatementEntry))
	if err != nil {
		t.Fatal(err)
	}
	if m := perm(t, filepath.Join(x, bundle.StatementEntry)); !m.IsRegular() || m.Perm() != 0o400 {
		t.Errorf("%s mode = %v, want -r--------", bundle.StatementEntry, m)
	}
	var st map[string]any
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("statement: %v\n%s", err, data)
	}
	if st["instance"] != inst || st["bootstrapPrefix"] != "bootstrap/"+inst {
		t.Errorf("statement names %v at %v, want %s", st["instance"], st["bootstrapPrefix"], inst)
	}
	sha256sum := func(args ...string) string {
		out := strings.Fields(string(run(t, "sha256sum", args...)))
		if len(out) == 0 {
			t.Fatal("sha256sum printed nothing")
		}
		return out[0]
	}
	secrets, _ := st["secrets"].([]any)
	entries, _ := os.ReadDir(filepath.Join(x, bundle.SecretsDir))
	if len(secrets) != len(entries) || len(secrets) == 0 {
		t.Fatalf("statement lists %d secrets, the archive holds %d", len(secrets), len(entries))
	}
	for _, s := range secrets {
		sec, _ := s.(map[string]any)
		name, _ := sec["name"].(string)
		p := filepath.Join(x, bundle.SecretsDir, name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("statement lists %q, not in the archive", name)
			continue
		}
		if sec["sha256"] != sha256sum(p) || sec["size"] != float64(fi.Size()) {
			t.Errorf("%s: statement says %v (%v bytes)", name, sec["sha256"], sec["size"])
		}
	}
	seeds, _ := st["repoSeeds"].(map[string]any)
	fi, err := os.Stat(seedsTar)
	if err != nil {
		t.Fatal(err)
	}
	tarSum := strings.Fields(string(runShell(t, "zstd -dc '"+seedsTar+"' | sha256sum")))[0]
	if seeds["key"] != "bootstrap/"+inst+"/"+layout.SeedsObject || seeds["sha256"] != sha256sum(seedsTar) ||
		seeds["size"] != float64(fi.Size()) || seeds["tarSha256"] != tarSum {
		t.Errorf("statement's repoSeeds %v; the object has sha256 %s, %d bytes, tar sha256 %s", seeds, sha256sum(seedsTar), fi.Size(), tarSum)
	}
}

// runShell runs a pipeline of host tools under bash -o pipefail.
func runShell(t *testing.T, script string) []byte {
	t.Helper()
	return run(t, "bash", "-o", "pipefail", "-c", script)
}

// bootScript is the boot script's steps (docs/host.md): its arguments are
// the two archives, SECRETS_DIR, REPO_SEEDS_DIR, AGE_KEY_PATH and the
// prefix.
const bootScript = `set -euo pipefail
secrets_archive=$1 seeds_archive=$2 SECRETS_DIR=$3 REPO_SEEDS_DIR=$4 AGE_KEY_PATH=$5 PREFIX=$6
tmp=$(mktemp -d)
tar --zstd -xf "$secrets_archive" -C "$tmp"
[ -f "$tmp/clawdinator.agekey" ] && [ -d "$tmp/secrets" ]
mkdir -p "$(dirname "$AGE_KEY_PATH")" "$SECRETS_DIR" "$REPO_SEEDS_DIR"
install -m 0400 "$tmp/clawdinator.agekey" "$AGE_KEY_PATH"
cp -a "$tmp/secrets/." "$SECRETS_DIR/"
chmod -R u=rw,go= "$SECRETS_DIR"
tar --zstd -xf "$seeds_archive" -C "$REPO_SEEDS_DIR"
printf '%s' "$PREFIX" > "$SECRETS_DIR/.bootstrap-prefix"
touch "$SECRETS_DIR/.bootstrap-ok"
rm -rf "$tmp"
`

// Where runBootScript installs, below its root.
const (
	bootSecretsDir = "var/lib/clawd/nix-secrets"
	bootSeedsDir   = "var/lib/clawd/repo-seeds"
	bootKeyPath    = "etc/agenix/keys/clawdinator.agekey"
)

// runBootScript installs the two archives below root as the boot script
// does, as the user running the tests (root, on a host).
func runBootScript(t *testing.T, secretsArchive, seedsArchive, root, prefix string) {
	t.Helper()
	needTool(t, "tar")
	needTool(t, "bash")
	run(t, "bash", "-c", bootScript, "boot", secretsArchive, seedsArchive,
		filepath.Join(root, bootSecretsDir), filepath.Join(root, bootSeedsDir), filepath.Join(root, bootKeyPath), prefix)
}

// TestBootScriptSteps installs an assembled bundle the way the boot script
// does, step for step (docs/host.md), and checks that the statement beside
// the key changes nothing a host installs: the key, the .age files and the
// seeds tree, and nothing else.
func TestBootScriptSteps(t *testing.T) {
	_, out := assembleSample(t)
	root := t.TempDir()
	dir := filepath.Join(out, "bootstrap", "clawdinator-2")
	runBootScript(t, filepath.Join(dir, layout.SecretsObject), filepath.Join(dir, layout.SeedsObject), root, "bootstrap/clawdinator-2")
	var installed []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(p, "repo-seeds/") {
			return nil
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			installed = append(installed, rel)
		}
		if d.Name() == bundle.StatementEntry {
			t.Errorf("the statement was installed at %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{bootKeyPath, bootSecretsDir + "/.bootstrap-ok", bootSecretsDir + "/.bootstrap-prefix"}
	for _, n := range append(slices.Clone(plan.DefaultRequired), sample.TokenName("clawdinator-2")) {
		want = append(want, bootSecretsDir+"/"+n)
	}
	slices.Sort(want)
	slices.Sort(installed)
	if !slices.Equal(installed, want) {
		t.Errorf("installed\n  %v\nwant\n  %v", installed, want)
	}
}
