//go:build unix

package bundle_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// TestSeedsContentDigestSHA256: a repository in the sha256 object format
// (32-byte object IDs in its pack index and loose object names) cloned
// twice with other pack bytes has one digest; a new loose object changes it.
func TestSeedsContentDigestSHA256(t *testing.T) {
	src := filepath.Join(t.TempDir(), "up")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	gitIn(t, src, "init", "-q", "--object-format=sha256", "-b", "main")
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("sha256\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, src, "add", "-A")
	gitIn(t, src, "commit", "-qm", "one")
	a, b := clone(t, src), clone(t, src)
	gitIn(t, filepath.Join(b, "repo"), "-c", "pack.compression=0", "-c", "repack.updateServerInfo=false", "repack", "-q", "-adF")
	if _, pa := packBytes(t, a); string(pa) == func() string { _, pb := packBytes(t, b); return string(pb) }() {
		t.Fatal("the clones' packs do not differ: the test proves nothing")
	}
	if da, db := digest(t, a), digest(t, b); da != db {
		t.Fatalf("two sha256 clones: %s and %s", da, db)
	}
	before := digest(t, b)
	newFile := filepath.Join(t.TempDir(), "new")
	if err := os.WriteFile(newFile, []byte("a blob no clone has\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, filepath.Join(b, "repo"), "hash-object", "-w", newFile)
	loose, _ := filepath.Glob(filepath.Join(b, "repo/.git/objects/??/*"))
	if len(loose) != 1 || len(filepath.Base(loose[0])) != 62 {
		t.Fatalf("loose objects %v: want one with a 62-digit name", loose)
	}
	if digest(t, b) == before {
		t.Error("a new loose object of a sha256 repository did not change the digest")
	}
}

// TestSeedsContentDigestMalformed: an index this reader does not know
// counts by its bytes (two different ones differ, the same one is stable);
// a pack index it cannot read is an error naming the file.
func TestSeedsContentDigestMalformed(t *testing.T) {
	src := upstream(t)
	seeds := clone(t, src)
	index := filepath.Join(seeds, "repo/.git/index")
	good, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for name, data := range map[string][]byte{
		"empty":         {},
		"short":         []byte("DIRC"),
		"other magic":   append([]byte("DIRX"), good[4:]...),
		"version 1":     append(append([]byte("DIRC"), 0, 0, 0, 1), good[8:]...),
		"version 5":     append(append([]byte("DIRC"), 0, 0, 0, 5), good[8:]...),
		"truncated":     good[:len(good)/2],
		"entry cut":     good[:12+30],
		"extra entries": append(append(append([]byte(nil), good[:8]...), 0, 0, 1, 0), good[12:]...),
	} {
		if err := os.WriteFile(index, data, 0o644); err != nil {
			t.Fatal(err)
		}
		d := digest(t, seeds)
		if other, dup := seen[d]; dup {
			t.Errorf("indexes %q and %q give one digest", name, other)
		}
		seen[d] = name
		if digest(t, seeds) != d {
			t.Errorf("%s: the digest is not stable", name)
		}
	}
	if err := os.WriteFile(index, good, 0o644); err != nil {
		t.Fatal(err)
	}
	idx, _ := filepath.Glob(filepath.Join(seeds, "repo/.git/objects/pack/*.idx"))
	if len(idx) != 1 {
		t.Fatalf("pack indexes %v", idx)
	}
	data, err := os.ReadFile(idx[0])
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"empty":          {},
		"short":          data[:6],
		"version 3":      append([]byte{0xff, 't', 'O', 'c', 0, 0, 0, 3}, data[8:]...),
		"fan-out cut":    data[:8+100],
		"IDs cut":        data[:8+1024+10],
		"v1 fan-out cut": data[8 : 8+100],
	} {
		if err := os.WriteFile(idx[0], bad, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := bundle.SeedsContentDigest(seeds, nil)
		if err == nil || !strings.Contains(err.Error(), idx[0]) {
			t.Errorf("%s pack index: err = %v, want one naming %s", name, err, idx[0])
		}
	}
}

// TestSeedsContentDigestGolden computes the digest of a small tree by the
// definition in docs/bundle.md, independently of the code: the format
// line, the allow-list record, then one record per entry in walk order,
// the index by its entries, the object set when the walk leaves the git
// directory. The index is written here byte by byte (version 2, one entry
// whose stat data is noise and whose flags hold a stage).
func TestSeedsContentDigestGolden(t *testing.T) {
	root := t.TempDir()
	mk := func(rel string, mode os.FileMode, data []byte) {
		p := filepath.Join(root, rel)
		if data == nil {
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	oid := bytes.Repeat([]byte{0xab}, 20)
	entry := make([]byte, 40)
	for i := range entry {
		entry[i] = byte(i * 7) // stat data: must not count
	}
	binary.BigEndian.PutUint32(entry[24:], 0o100755)
	entry = append(entry, oid...)
	entry = binary.BigEndian.AppendUint16(entry, 0x2000|uint16(len("a.sh"))) // stage 2
	entry = append(entry, "a.sh"...)
	for len(entry)%8 != 0 || entry[len(entry)-1] != 0 {
		entry = append(entry, 0)
	}
	index := append([]byte("DIRC\x00\x00\x00\x02\x00\x00\x00\x01"), entry...)
	index = append(index, "TREE\x00\x00\x00\x00checksum-not-checked"...)

	mk("repo", 0o755, nil)
	mk("repo/.git", 0o700, nil)
	mk("repo/.git/HEAD", 0o644, []byte("ref: refs/heads/main\n"))
	mk("repo/.git/index", 0o644, index)
	mk("repo/.git/logs", 0o755, nil)
	mk("repo/.git/logs/HEAD", 0o644, []byte("clone time\n"))
	mk("repo/.git/objects", 0o755, nil)
	mk("repo/.git/objects/ab", 0o755, nil)
	mk("repo/.git/objects/ab/"+strings.Repeat("c", 38), 0o444, []byte("zlib bytes"))
	mk("repo/.git/refs", 0o755, nil)
	mk("repo/a.sh", 0o755, []byte("#!/bin/sh\n"))
	if err := os.Symlink("a.sh", filepath.Join(root, "repo/link")); err != nil {
		t.Fatal(err)
	}

	hexSum := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	want := hexSum("clawdinator-bundle seeds content v1\n" +
		"a 0000 0: 9:x\x00y/z.pem\n" +
		"d 0755 4:repo -\n" +
		"d 0700 9:repo/.git -\n" +
		"f 0644 14:repo/.git/HEAD " + hexSum("ref: refs/heads/main\n") + "\n" +
		"i 0644 15:repo/.git/index " + hexSum("100755 "+hex.EncodeToString(oid)+" 2000 0000 4:a.sh\n") + "\n" +
		"d 0755 14:repo/.git/refs -\n" +
		"o 0000 17:repo/.git/objects " + hexSum("ab"+strings.Repeat("c", 38)+"\n") + "\n" +
		"f 0755 9:repo/a.sh " + hexSum("#!/bin/sh\n") + "\n" +
		"l 0777 9:repo/link 4:a.sh\n")
	if got := digest(t, root, "y/z.pem", "/x/", "x"); got != want {
		t.Errorf("digest %s, want %s by the documented definition", got, want)
	}
}

// TestSeedsContentDigestIndexEdges: an index of only its header, and a
// version 3 index whose one entry has extended flags and which ends right
// after that entry (no extensions, no checksum), are still read entry by
// entry, as the definition says, not counted by their bytes.
func TestSeedsContentDigestIndexEdges(t *testing.T) {
	hexSum := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	oid := bytes.Repeat([]byte{0x01}, 20)
	v3 := append([]byte("DIRC\x00\x00\x00\x03\x00\x00\x00\x01"), make([]byte, 40)...)
	binary.BigEndian.PutUint32(v3[12+24:], 0o100644)
	v3 = append(v3, oid...)
	v3 = binary.BigEndian.AppendUint16(v3, 0x4000|uint16(len("f")))
	v3 = binary.BigEndian.AppendUint16(v3, 0x4000) // skip-worktree
	v3 = append(v3, 'f')
	for (len(v3)-12)%8 != 0 || v3[len(v3)-1] != 0 {
		v3 = append(v3, 0)
	}
	for name, tc := range map[string]struct {
		index   []byte
		entries string
	}{
		"header only":                 {[]byte("DIRC\x00\x00\x00\x02\x00\x00\x00\x00"), ""},
		"version 3, ends at an entry": {v3, "100644 " + hex.EncodeToString(oid) + " 4000 4000 1:f\n"},
	} {
		root := t.TempDir()
		for _, d := range []string{"repo/.git/objects", "repo/.git/refs"} {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range []string{"repo", "repo/.git", "repo/.git/objects", "repo/.git/refs"} {
			if err := os.Chmod(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(root, "repo/.git/HEAD"), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "repo/.git/index"), tc.index, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(root, "repo/.git/HEAD"), 0o644)
		os.Chmod(filepath.Join(root, "repo/.git/index"), 0o644)
		want := hexSum("clawdinator-bundle seeds content v1\n" +
			"a 0000 0: 0:\n" +
			"d 0755 4:repo -\n" +
			"d 0755 9:repo/.git -\n" +
			"f 0644 14:repo/.git/HEAD " + hexSum("x\n") + "\n" +
			"i 0644 15:repo/.git/index " + hexSum(tc.entries) + "\n" +
			"d 0755 14:repo/.git/refs -\n" +
			"o 0000 17:repo/.git/objects " + hexSum("") + "\n")
		if got := digest(t, root); got != want {
			t.Errorf("%s: digest %s, want %s", name, got, want)
		}
	}
}
