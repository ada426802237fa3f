//go:build unix

package bundle_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// git runs git in dir with a fixed identity and no user or system
// configuration, and returns its standard output.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(needTool(t, "git"), args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C", "TZ=UTC",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org",
		"GIT_AUTHOR_DATE=2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2024-01-01T00:00:00Z")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return stdout.String()
}

// upstream makes a repository with a few commits, a tag, a symlink and an
// executable, and returns its path.
func upstream(t *testing.T) string {
	src := filepath.Join(t.TempDir(), "upstream")
	files := map[string]string{
		"README.md":      "hello, fleet\n",
		"nix/flake.nix":  "{ outputs = _: {}; }\n",
		"scripts/run.sh": "#!/bin/sh\necho run\n",
	}
	for name, body := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(src, "scripts/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("README.md", filepath.Join(src, "README.link")); err != nil {
		t.Fatal(err)
	}
	gitIn(t, src, "init", "-q", "-b", "main")
	gitIn(t, src, "add", "-A")
	gitIn(t, src, "commit", "-qm", "one")
	for i := range 40 {
		p := filepath.Join(src, "data", "f"+strings.Repeat("x", i%7)+string(rune('a'+i%26)))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, bytes.Repeat([]byte{byte('a' + i%26), '\n'}, 200+i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitIn(t, src, "add", "-A")
	gitIn(t, src, "commit", "-qm", "two")
	gitIn(t, src, "tag", "v1")
	return src
}

// clone makes a shallow clone of src in a fresh seeds tree, as the fleet's
// workflow does on every run, and returns the tree.
func clone(t *testing.T, src string, extra ...string) string {
	t.Helper()
	seeds := t.TempDir()
	gitIn(t, seeds, append(append([]string{"clone", "-q", "--depth", "1"}, extra...), "file://"+src, "repo")...)
	return seeds
}

func digest(t *testing.T, root string, allow ...string) string {
	t.Helper()
	d, err := bundle.SeedsContentDigest(root, allow)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// packBytes returns the bytes of every pack file of the clone in seeds,
// concatenated in name order.
func packBytes(t *testing.T, seeds string) (names []string, data []byte) {
	t.Helper()
	packs, _ := filepath.Glob(filepath.Join(seeds, "repo/.git/objects/pack/*.pack"))
	slices.Sort(packs)
	for _, p := range packs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(p))
		data = append(data, b...)
	}
	return names, data
}

// TestSeedsContentDigestClones: two clones of the same commit that differ
// in their pack files' names and bytes, their index's stat data and their
// reflogs have one content digest, and a host given the earlier clone's
// seeds has what the later clone has: git status and git fsck clean, and
// git fetch works. Any change of what git holds changes the digest.
func TestSeedsContentDigestClones(t *testing.T) {
	src := upstream(t)
	a := clone(t, src)
	// Other pack settings: another index (other inodes, other times),
	// other pack bytes, the same objects.
	b := clone(t, src)
	gitIn(t, filepath.Join(b, "repo"), "-c", "pack.compression=0", "repack", "-q", "-adf", "--window=0")
	gitIn(t, filepath.Join(b, "repo"), "update-index", "--refresh")
	an, ap := packBytes(t, a)
	bn, bp := packBytes(t, b)
	if len(an) == 0 || len(bn) == 0 || bytes.Equal(ap, bp) || slices.Equal(an, bn) {
		t.Fatalf("the clones' packs do not differ (%v, %v): the test proves nothing", an, bn)
	}
	ai, _ := os.ReadFile(filepath.Join(a, "repo/.git/index"))
	bi, _ := os.ReadFile(filepath.Join(b, "repo/.git/index"))
	if bytes.Equal(ai, bi) {
		t.Fatal("the clones' indexes do not differ: the test proves nothing")
	}
	if da, db := digest(t, a), digest(t, b); da != db {
		t.Fatalf("two clones of one commit: content digests %s and %s", da, db)
	}
	if ta, tb := tarSum(t, a), tarSum(t, b); ta == tb {
		t.Fatal("the clones' tar streams are equal: the test proves nothing")
	}

	// A host given the earlier clone's seeds, through the archive, loses
	// nothing the later clone has.
	host := extract(t, seedsArchive(t, a))
	repo := filepath.Join(host, "repo")
	if got, want := gitIn(t, repo, "rev-parse", "HEAD"), gitIn(t, filepath.Join(b, "repo"), "rev-parse", "HEAD"); got != want {
		t.Fatalf("HEAD %s, the later clone's %s", got, want)
	}
	if st := gitIn(t, repo, "status", "--porcelain"); st != "" {
		t.Errorf("git status on the host:\n%s", st)
	}
	gitIn(t, repo, "fsck", "--strict", "--no-progress")
	gitIn(t, filepath.Join(src), "commit", "-q", "--allow-empty", "-m", "three")
	gitIn(t, repo, "fetch", "-q", "origin")
	if got, want := gitIn(t, repo, "rev-parse", "origin/main"), gitIn(t, src, "rev-parse", "HEAD"); got != want {
		t.Errorf("after git fetch origin/main is %s, upstream %s", got, want)
	}
}

func tarSum(t *testing.T, root string) string {
	t.Helper()
	var buf bytes.Buffer
	if probs, err := bundle.WriteSeedsTar(&buf, root, bundle.SeedsOptions{}); err != nil || probs.HasErrors() {
		t.Fatal(err, render(probs))
	}
	return buf.String()
}

// TestSeedsContentDigestChanges: a new commit, ref, file, mode, symlink
// target, a change of shallow, config, hooks or info/, or of the allow
// list, each gives another content digest; reflogs and the index's stat
// data do not.
func TestSeedsContentDigestChanges(t *testing.T) {
	src := upstream(t)
	base := clone(t, src)
	want := digest(t, base)
	repo := func(seeds string) string { return filepath.Join(seeds, "repo") }
	write := func(p, body string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		change  func(seeds string)
		changes bool
	}{
		{"nothing", func(string) {}, false},
		{"a reflog", func(s string) { write(filepath.Join(repo(s), ".git/logs/HEAD"), "other\n") }, false},
		{"the index's stat data", func(s string) {
			now := time.Now().Add(time.Hour)
			os.Chtimes(filepath.Join(repo(s), "README.md"), now, now)
			gitIn(t, repo(s), "update-index", "--refresh")
		}, false},
		{"a pack's reverse index and commit-graph", func(s string) { gitIn(t, repo(s), "commit-graph", "write", "--reachable") }, false},
		{"the index rewritten as version 4", func(s string) { gitIn(t, repo(s), "update-index", "--index-version", "4") }, false},
		{"the index rewritten as version 3", func(s string) {
			gitIn(t, repo(s), "update-index", "--index-version", "3")
			gitIn(t, repo(s), "update-index", "--skip-worktree", "nix/flake.nix")
		}, true},
		{"a version 1 pack index", func(s string) {
			gitIn(t, repo(s), "-c", "pack.indexVersion=1", "-c", "repack.updateServerInfo=false", "repack", "-q", "-adF")
		}, false},
		{"a new commit", func(s string) { gitIn(t, repo(s), "commit", "-q", "--allow-empty", "-m", "x") }, true},
		{"a new tag", func(s string) { gitIn(t, repo(s), "tag", "v2") }, true},
		{"a packed ref", func(s string) { gitIn(t, repo(s), "tag", "v3"); gitIn(t, repo(s), "pack-refs", "--all") }, true},
		{"a working file", func(s string) { write(filepath.Join(repo(s), "README.md"), "hello, fleeT\n") }, true},
		{"a new file", func(s string) { write(filepath.Join(repo(s), "NEW"), "") }, true},
		{"a mode", func(s string) { os.Chmod(filepath.Join(repo(s), "README.md"), 0o755) }, true},
		{"a symlink", func(s string) {
			os.Remove(filepath.Join(repo(s), "README.link"))
			os.Symlink("nix/flake.nix", filepath.Join(repo(s), "README.link"))
		}, true},
		{"shallow", func(s string) { write(filepath.Join(repo(s), ".git/shallow"), strings.Repeat("0", 40)+"\n") }, true},
		{"config", func(s string) { gitIn(t, repo(s), "config", "core.x", "1") }, true},
		{"a hook", func(s string) { write(filepath.Join(repo(s), ".git/hooks/post-merge"), "#!/bin/sh\n") }, true},
		{"info/", func(s string) { write(filepath.Join(repo(s), ".git/info/exclude"), "*.tmp\n") }, true},
		{"a loose object", func(s string) { gitIn(t, repo(s), "hash-object", "-w", "--stdin") }, true},
		{"the index's entries", func(s string) { gitIn(t, repo(s), "update-index", "--chmod=+x", "README.md") }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := t.TempDir()
			run(t, "cp", "-a", base+"/.", s)
			tc.change(s)
			if got := digest(t, s); (got != want) != tc.changes {
				t.Errorf("digest changed: %v, want %v", got != want, tc.changes)
			}
		})
	}
	if digest(t, base, "repo/testdata") == want || digest(t, base, " repo/testdata/ ", "repo/testdata") != digest(t, base, "repo/testdata") {
		t.Error("the allow list does not count, or counts its spelling")
	}
}

// TestSeedsRsync: a new seeds version reaches the fleet's repositories
// whole through its own step, rsync -a --delete from the extracted seeds
// into the repos directory, extracted by install (ExtractSeeds) or by the
// boot script (GNU tar). The new commit changes a working file, packed-refs,
// shallow and a loose ref without changing their sizes: rsync skips a file
// whose size and mtime are unchanged, so only mtimes that follow content
// bring them over. With the one fixed mtime of earlier writers, the same
// steps leave the old files beside the new pack (the control below).
func TestSeedsRsync(t *testing.T) {
	needTool(t, "rsync")
	src := upstream(t)
	old := seedsArchive(t, clone(t, src))
	if err := os.WriteFile(filepath.Join(src, "README.md"), []byte("hello, FLEET\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, src, "commit", "-qam", "same size")
	head := gitIn(t, src, "rev-parse", "HEAD")
	cur := seedsArchive(t, clone(t, src))

	extractors := map[string]func(archive []byte) string{
		"install": func(archive []byte) string { return extract(t, archive) },
		"boot script": func(archive []byte) string {
			p := filepath.Join(t.TempDir(), "repo-seeds.tar.zst")
			if err := os.WriteFile(p, archive, 0o600); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			run(t, "tar", "--zstd", "-xf", p, "-C", dir)
			return dir
		},
	}
	for name, extractTo := range extractors {
		t.Run(name, func(t *testing.T) {
			before, after := extractTo(old), extractTo(cur)
			for _, f := range []string{"repo/README.md", "repo/.git/packed-refs", "repo/.git/shallow", "repo/.git/refs/heads/main"} {
				a, _ := os.ReadFile(filepath.Join(before, f))
				b, _ := os.ReadFile(filepath.Join(after, f))
				if len(a) == 0 || len(a) != len(b) || bytes.Equal(a, b) {
					t.Fatalf("%s: %d and %d bytes, equal %v: not a same-size change, the test proves nothing", f, len(a), len(b), bytes.Equal(a, b))
				}
			}
			repos := t.TempDir()
			run(t, "rsync", "-a", "--delete", before+"/", repos+"/")
			gitIn(t, filepath.Join(repos, "repo"), "fsck", "--no-progress")
			run(t, "rsync", "-a", "--delete", after+"/", repos+"/")
			run(t, "diff", "-r", "--no-dereference", after, repos)
			r := filepath.Join(repos, "repo")
			gitIn(t, r, "fsck", "--strict", "--no-progress")
			if got := gitIn(t, r, "rev-parse", "HEAD"); got != head {
				t.Errorf("HEAD after rsync %s, want %s", got, head)
			}
			if st := gitIn(t, r, "status", "--porcelain"); st != "" {
				t.Errorf("git status after rsync:\n%s", st)
			}

			// The control: one mtime for every file, as before.
			fixed := time.Unix(1700000000, 0)
			for _, dir := range []string{before, after} {
				filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
					if err == nil {
						os.Chtimes(p, fixed, fixed)
					}
					return err
				})
			}
			stale := t.TempDir()
			run(t, "rsync", "-a", "--delete", before+"/", stale+"/")
			run(t, "rsync", "-a", "--delete", after+"/", stale+"/")
			if out, err := exec.Command("diff", "-r", "--no-dereference", "-q", after, stale).CombinedOutput(); err == nil {
				t.Fatal("with one fixed mtime rsync still brought every change over: the test proves nothing")
			} else if !strings.Contains(string(out), "packed-refs") {
				t.Errorf("with one fixed mtime, rsync left other files stale:\n%s", out)
			}
		})
	}
}
