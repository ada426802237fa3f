package bundle_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

const testPEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n"

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// git runs the git CLI in dir with a fixed identity and no user config.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(needTool(t, "git"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gitRepo makes repo-seeds/<name> a git repository whose commits write
// each content in turn to file ("" deletes it): history holds every
// version, the work tree only the last.
func gitRepo(t *testing.T, root, name, file string, versions ...string) string {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "init", "-q", "-b", "main")
	writeFile(t, filepath.Join(dir, "README.md"), "a repository\n")
	git(t, dir, "add", "README.md")
	for i, v := range versions {
		if v == "" {
			git(t, dir, "rm", "-q", file)
		} else {
			writeFile(t, filepath.Join(dir, file), v)
			git(t, dir, "add", file)
		}
		git(t, dir, "commit", "-q", "-m", "version "+string(rune('a'+i)))
	}
	return dir
}

// packAll moves every object of the repository at dir into one pack.
func packAll(t *testing.T, dir string) {
	t.Helper()
	git(t, dir, "repack", "-adq", "--window=50")
	git(t, dir, "prune-packed")
	git(t, dir, "reflog", "expire", "--expire=now", "--all")
	loose, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "??", "*"))
	if len(loose) > 0 {
		t.Fatalf("loose objects remain after repack: %v", loose)
	}
}

// plainScanFinds says whether the plain scan alone, run over each file's
// bytes as they are, finds a key in the tree at root.
func plainScanFinds(t *testing.T, root string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil && bundle.PlainScan(data) != "" {
			found = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func writeSeedsMode(t *testing.T, root, mode string, allow ...string) (errs, warns []string) {
	t.Helper()
	defer setKeyScanMode(mode)()
	probs, err := bundle.WriteSeeds(io.Discard, root, bundle.SeedsOptions{AllowKeys: allow, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs.Errors() {
		errs = append(errs, p.String())
	}
	for _, p := range probs.Warnings() {
		warns = append(warns, p.String())
	}
	return errs, warns
}

// TestWriteSeedsHiddenKeys: a key the plain scan cannot see (a PuTTY key is
// plain; the others are compressed) is refused in every deep scan mode of
// the build, naming the file that holds it; the plain scan alone misses the compressed
// ones, so the cases do test the deep scan.
func TestWriteSeedsHiddenKeys(t *testing.T) {
	k := newKey(t)
	identity := string(k.file)
	lines := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString("line " + strings.Repeat("x", i%40) + " of a long file that git will delta\n")
		}
		return b.String()
	}
	long := lines(400)
	withKey := long[:len(long)/2] + testPEM + long[len(long)/2:]
	// Git deltas a smaller version against a larger one: with a long tail
	// before and after, the version with the key becomes a delta whose
	// insert instructions carry the key.
	tailed := long + strings.Repeat("a tail line\n", 2000)

	cases := []struct {
		name      string
		make      func(t *testing.T, root string)
		want      string // a path (under root) and kind in the problem
		plainSees bool
	}{
		{"ppk", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "r/deploy.ppk"), "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: x\n")
		}, "r/deploy.ppk: holds a PuTTY private key", true},
		{"gzip", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "r/backup.tar.gz"), string(gzipBytes(t, []byte("# created\n"+identity))))
		}, "r/backup.tar.gz: holds an age identity", false},
		{"gzip without the name", func(t *testing.T, root string) {
			z := gzipBytes(t, []byte(strings.Repeat("padding ", 1<<16)+identity))
			writeFile(t, filepath.Join(root, "r/data.bin"), string(append(z, gzipBytes(t, []byte("second member"))...)))
		}, "r/data.bin: holds an age identity", false},
		{"gzip second member", func(t *testing.T, root string) {
			z := append(gzipBytes(t, []byte("first")), gzipBytes(t, []byte(testPEM))...)
			writeFile(t, filepath.Join(root, "r/logs.gz"), string(z))
		}, "r/logs.gz: holds a PEM private key", false},
		{"git loose object", func(t *testing.T, root string) {
			gitRepo(t, root, "repo", "id_ed25519", testPEM, "")
		}, "repo/.git/objects/", false},
		{"git pack", func(t *testing.T, root string) {
			packAll(t, gitRepo(t, root, "repo", "id_ed25519", testPEM, ""))
		}, "repo/.git/objects/pack/pack-", false},
		{"git pack, key in a later version", func(t *testing.T, root string) {
			packAll(t, gitRepo(t, root, "repo", "notes.txt", long, withKey, long+"more\n"))
		}, "repo/.git/objects/pack/pack-", false},
		{"git pack, key only in a delta", func(t *testing.T, root string) {
			dir := gitRepo(t, root, "repo", "notes.txt", tailed, withKey, tailed)
			packAll(t, dir)
			idx, _ := filepath.Glob(filepath.Join(dir, ".git/objects/pack/*.idx"))
			if len(idx) != 1 {
				t.Fatalf("packs: %v", idx)
			}
			deltas := 0
			for _, l := range strings.Split(git(t, dir, "verify-pack", "-v", idx[0]), "\n") {
				if f := strings.Fields(l); len(f) == 7 && f[1] == "blob" {
					deltas++
				}
			}
			if deltas == 0 {
				t.Fatal("git stored no blob as a delta: the case does not test delta data")
			}
		}, "repo/.git/objects/pack/pack-", false},
		{"git pack, age identity", func(t *testing.T, root string) {
			packAll(t, gitRepo(t, root, "repo", "k.txt", identity, "gone\n"))
		}, "holds an age identity", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tc.make(t, root)
			for _, mode := range deepModes {
				errs, warns := writeSeedsMode(t, root, mode)
				if len(errs) != 1 || !strings.Contains(errs[0], root+string(filepath.Separator)) || !strings.Contains(errs[0], tc.want) ||
					!strings.Contains(errs[0], "repo-seeds must not carry keys") {
					t.Errorf("%s: want one problem with %q, got %q", mode, tc.want, errs)
				}
				if len(warns) > 0 {
					t.Errorf("%s: warnings %q", mode, warns)
				}
			}
			if got := plainScanFinds(t, root); got != tc.plainSees {
				t.Errorf("the plain scan alone finds a key: %v", got)
			}
			if slices.Contains(allModes, "plain") {
				if errs, _ := writeSeedsMode(t, root, "plain"); (len(errs) > 0) != tc.plainSees {
					t.Errorf("plain mode: %q", errs)
				}
			}
			// The allow list still allows, in the git directory too; of
			// the two patterns, the one that allows nothing here is
			// warned about.
			if errs, warns := writeSeedsMode(t, root, "reopen", "r", "repo/.git"); len(errs) > 0 || len(warns) != 1 ||
				!regexp.MustCompile(`^repo-seeds-allow-keys: "(r|repo/\.git)" matches no file in `).MatchString(warns[0]) {
				t.Errorf("allowed: %q %q", errs, warns)
			}
		})
	}
}

// TestWriteSeedsCleanHistory: a repository whose history holds no key,
// loose and packed, and gzip files without keys pass with no problem, in
// every mode of the build; the archive is the same whichever mode scanned
// it.
func TestWriteSeedsCleanHistory(t *testing.T) {
	root := t.TempDir()
	dir := gitRepo(t, root, "repo", "main.go", "package main\n", "package main\n\nfunc main() {}\n")
	packAll(t, dir)
	gitRepo(t, root, "loose", "doc.md", "-----BEGIN PUBLIC KEY-----\n", "AGE-SECRET-KEY-1... goes in the secret\n")
	writeFile(t, filepath.Join(root, "r/a.gz"), string(gzipBytes(t, []byte("no keys here"))))
	writeFile(t, filepath.Join(root, "r/bad.gz"), "\x1f\x8b\x08\x00garbage")
	writeFile(t, filepath.Join(root, "r/fake.pack"), "PACK\x00\x00\x00\x02\xff\xff\xff\xff\x95\x0a")
	writeFile(t, filepath.Join(root, "r/objects/ab/"+strings.Repeat("c", 38)), "\x78\x9cnot deflate")
	var archives [][]byte
	for _, mode := range allModes {
		if errs, warns := writeSeedsMode(t, root, mode); len(errs)+len(warns) > 0 {
			t.Fatalf("%s: %q %q", mode, errs, warns)
		}
		restore := setKeyScanMode(mode)
		var buf bytes.Buffer
		probs, err := bundle.WriteSeedsTar(&buf, root, bundle.SeedsOptions{})
		restore()
		if err != nil || len(probs) > 0 {
			t.Fatalf("%s: %v %s", mode, err, render(probs))
		}
		archives = append(archives, buf.Bytes())
	}
	for i, a := range archives {
		if !bytes.Equal(a, archives[0]) {
			t.Errorf("%s and %s archive differently", allModes[i], allModes[0])
		}
	}
}

// TestWriteSeedsDeepScanBound: past its bound the deep scan stops with a
// warning, not a refusal; a key before the bound is still found.
func TestWriteSeedsDeepScanBound(t *testing.T) {
	defer bundle.SetDeepScanMin(1 << 20)()
	root := t.TempDir()
	zeros := make([]byte, 8<<20)
	writeFile(t, filepath.Join(root, "bomb.gz"), string(gzipBytes(t, append(zeros, testPEM...))))
	writeFile(t, filepath.Join(root, "early.gz"), string(gzipBytes(t, append([]byte(testPEM), zeros...))))
	for _, mode := range deepModes {
		errs, warns := writeSeedsMode(t, root, mode)
		if len(errs) != 1 || !strings.Contains(errs[0], "early.gz: holds a PEM private key") {
			t.Errorf("%s: errors %q", mode, errs)
		}
		if len(warns) != 1 || !strings.Contains(warns[0], "bomb.gz: decompresses to more than 1 MiB: only that much was scanned for keys") {
			t.Errorf("%s: warnings %q", mode, warns)
		}
	}
}

// TestWriteSeedsHostilePack: malformed packs end the deep scan quietly.
func TestWriteSeedsHostilePack(t *testing.T) {
	hdr := func(n uint32) []byte {
		b := []byte("PACK\x00\x00\x00\x02\x00\x00\x00\x00")
		binary.BigEndian.PutUint32(b[8:], n)
		return b
	}
	cases := map[string][]byte{
		"no objects":      hdr(0),
		"count too large": hdr(1 << 31),
		"long varint":     append(hdr(1), bytes.Repeat([]byte{0xff}, 20)...),
		"bad type":        append(hdr(1), 0x50, 0x78, 0x9c),
		"ref delta short": append(hdr(1), 0x70, 1, 2, 3),
		"ref delta junk":  append(append(hdr(1), 0x70), bytes.Repeat([]byte{7}, 40)...),
		"truncated zlib":  append(hdr(2), 0x30, 0x78, 0x9c, 0x01),
	}
	for name, data := range cases {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, "x.pack"), string(data))
		for _, mode := range deepModes {
			if errs, warns := writeSeedsMode(t, root, mode); len(errs)+len(warns) > 0 {
				t.Errorf("%s %s: %q %q", name, mode, errs, warns)
			}
		}
	}
}

// TestWriteSeedsAllowKeysNamed: the refusal names, relative to repo-seeds,
// the file and its directory as patterns to pass; each of them then
// allows the key; a pattern written from the repository root
// (repo-seeds/...) matches nothing and is warned about, with the pattern
// that would match.
func TestWriteSeedsAllowKeysNamed(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "repo-seeds")
	dir := filepath.Join(root, "openclaw", "crypto", "tls")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "example_test.go"), []byte("const k = `"+testPEM+"`\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errs, _ := writeSeedsMode(t, root, "reopen")
	const named = "pass repo-seeds-allow-keys: openclaw/crypto/tls/example_test.go (this file) or openclaw/crypto/tls (its directory), paths relative to repo-seeds"
	if len(errs) != 1 || !strings.Contains(errs[0], named) {
		t.Fatalf("errors %q, want one naming the patterns", errs)
	}
	for _, allow := range []string{"openclaw/crypto/tls/example_test.go", "openclaw/crypto/tls", "openclaw/crypto"} {
		if errs, warns := writeSeedsMode(t, root, "reopen", allow); len(errs)+len(warns) > 0 {
			t.Errorf("%s: %q %q", allow, errs, warns)
		}
	}
	for allow, hint := range map[string]string{
		root + "/openclaw/crypto/tls/example_test.go": `: pass "openclaw/crypto/tls/example_test.go"`,
		"repo-seeds/openclaw/crypto":                  `: pass "openclaw/crypto"`,
		"openclaw/nothing":                            "",
	} {
		errs, warns := writeSeedsMode(t, root, "reopen", allow, "unused/*")
		if len(errs) != 1 || len(warns) != 2 {
			t.Fatalf("%s: errors %q, warnings %q", allow, errs, warns)
		}
		want := "repo-seeds-allow-keys: " + strconv.Quote(allow) + " matches no file in " + root + ": patterns are paths relative to it" + hint
		if warns[0] != want || !strings.HasPrefix(warns[1], `repo-seeds-allow-keys: "unused/*" matches no file`) {
			t.Errorf("%s: warnings %q, want %q first", allow, warns, want)
		}
	}
}
