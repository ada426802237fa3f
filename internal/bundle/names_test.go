package bundle_test

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
)

// TestSeedsOddNames: names that do not fit a plain ustar header (long
// paths, a long single component, non-ASCII, spaces) force extended headers.
// GNU tar must extract them silently to an identical tree, and the archive
// must still be deterministic and pass VerifySeeds.
func TestSeedsOddNames(t *testing.T) {
	needTool(t, "tar")
	needTool(t, "zstd")
	needTool(t, "diff")
	root := t.TempDir()
	long := strings.Repeat("d", 60)
	files := []string{
		filepath.Join(long, long, long, "file-with-a-long-path.txt"),
		filepath.Join("repo", strings.Repeat("n", 180)+".md"),
		filepath.Join("repo", "ünïcødé", "名前.txt"),
		filepath.Join("repo", "with space", "a b.sh"),
	}
	for i, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Repeat("x", i*100)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join("..", "repo", strings.Repeat("n", 180)+".md"), filepath.Join(root, long, "long-link")); err != nil {
		t.Fatal(err)
	}
	write := func() []byte {
		var buf bytes.Buffer
		probs, err := bundle.WriteSeeds(&buf, root, bundle.SeedsOptions{Mtime: interopMtime})
		if err != nil || len(probs) > 0 {
			t.Fatalf("WriteSeeds: %v\n%s", err, render(probs))
		}
		return buf.Bytes()
	}
	data := write()
	if !bytes.Equal(data, write()) {
		t.Fatal("two runs differ")
	}
	if _, probs := bundle.VerifySeeds(bytes.NewReader(data), bundle.SeedsLimits); len(probs) > 0 {
		t.Fatalf("VerifySeeds:\n%s", render(probs))
	}
	archive := filepath.Join(t.TempDir(), layout.SeedsObject)
	if err := os.WriteFile(archive, data, 0o644); err != nil {
		t.Fatal(err)
	}
	x := t.TempDir()
	run(t, "tar", "--zstd", "-xf", archive, "-C", x)
	run(t, "diff", "-r", "--no-dereference", root, x)
	st, err := os.Lstat(filepath.Join(x, "repo", "ünïcødé", "名前.txt"))
	body, _ := os.ReadFile(filepath.Join(x, "repo", "ünïcødé", "名前.txt"))
	if err != nil || !st.ModTime().Equal(seedsMtime(interopMtime, &tar.Header{Typeflag: tar.TypeReg}, body)) {
		t.Fatalf("extended-header entry: %v, mtime %v", err, st.ModTime())
	}
}

// TestSecretsLongName: a secret name longer than a ustar header holds must
// still bundle (as a PAX header), extract with GNU tar and verify.
func TestSecretsLongName(t *testing.T) {
	needTool(t, "tar")
	name := strings.Repeat("s", 150) + ".age"
	var buf bytes.Buffer
	if err := bundle.WriteSecrets(&buf, []byte("key"), nil, []bundle.SecretFile{{Name: name, Data: []byte("x")}}, interopMtime); err != nil {
		t.Fatalf("WriteSecrets with a %d-character name: %v", len(name), err)
	}
	archive := filepath.Join(t.TempDir(), layout.SecretsObject)
	if err := os.WriteFile(archive, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	x := t.TempDir()
	out, err := exec.Command("tar", "--zstd", "-xf", archive, "-C", x).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(x, "secrets", name)); err != nil {
		t.Fatal(err)
	}
}
