//go:build unix

package bundle_test

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// extractMtime is stamped on the sample tree: not the default epoch, so an
// extractor that leaves times alone is caught.
var extractMtime = time.Unix(1700000000, 0).UTC()

// asRoot says whether owners can be set: GNU tar keeps the archive's
// owners only as root, and ExtractOptions.Chown needs root.
func asRoot() bool { return os.Geteuid() == 0 }

// writable makes every directory below root writable again when the test
// ends, so that t.TempDir can remove a read-only directory's content when
// the tests do not run as root. Register it after the TempDir it cleans.
func writable(t *testing.T, root string) {
	t.Cleanup(func() {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o700)
			}
			return nil
		})
	})
}

// sampleTree writes a repo-seeds tree with what a seeds snapshot holds:
// executables, a read-only directory with files in it, relative symlinks
// (one climbing out of its directory), empty directories and an empty file.
func sampleTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	writable(t, root)
	big := make([]byte, 300<<10)
	rand.Read(big)
	files := []struct {
		name string
		mode fs.FileMode
		body []byte
	}{
		{"README.md", 0o644, []byte("# seeds\n")},
		{"bin/run.sh", 0o755, []byte("#!/bin/sh\necho run\n")},
		{"bin/tool", 0o700, []byte("#!/bin/sh\n")},
		{"data/blob", 0o600, big},
		{"data/empty", 0o640, nil},
		{"ro/a.txt", 0o444, []byte("read only\n")},
		{"ro/deep/b.txt", 0o400, []byte("deeper\n")},
	}
	for _, f := range files {
		p := filepath.Join(root, f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.body, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []struct {
		name string
		mode fs.FileMode
	}{{"empty", 0o750}, {"empty/nested", 0o711}, {"bin", 0o755}, {"ro/deep", 0o555}, {"ro", 0o555}} {
		p := filepath.Join(root, d.name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, d.mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []struct{ name, target string }{
		{"latest", "bin/run.sh"},
		{"data/readme", "../README.md"},
		{"data/here", "."},
		{"dangling", "no/such/file"},
	} {
		if err := os.Symlink(l.target, filepath.Join(root, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// seedsArchive is WriteSeeds of root, with no problem allowed.
func seedsArchive(t *testing.T, root string) []byte {
	t.Helper()
	var buf bytes.Buffer
	probs, err := bundle.WriteSeeds(&buf, root, bundle.SeedsOptions{Mtime: extractMtime, Concurrency: 1})
	if err != nil || len(probs) > 0 {
		t.Fatalf("WriteSeeds: %v\n%s", err, render(probs))
	}
	return buf.Bytes()
}

// withRootEntry rewrites a repo-seeds archive with a "./" entry of mode
// first, as tar -C dir . makes: the writer never does.
func withRootEntry(t *testing.T, archive []byte, mode int64) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	if err := tw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: mode, ModTime: extractMtime.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	zr, err := zstd.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return zst(t, out.Bytes())
}

// listing describes every path below root, root itself as ".": type, the
// mode bits that matter (permissions, setuid, setgid, sticky), size and
// digest of files, symlink targets, the mtime of files and directories,
// and owners when owners can differ (root).
func listing(t *testing.T, root string) []string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		mode := fi.Mode()
		line := fmt.Sprintf("%s %v", rel, mode.Type()|mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
		if asRoot() {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				line += fmt.Sprintf(" %d:%d", st.Uid, st.Gid)
			}
		}
		switch {
		case mode.IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			line += fmt.Sprintf(" size=%d sha256=%s mtime=%d", fi.Size(), hex.EncodeToString(sum[:8]), fi.ModTime().UnixNano())
		case mode.IsDir():
			line += fmt.Sprintf(" mtime=%d", fi.ModTime().UnixNano())
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += " -> " + target
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// gnuExtract extracts archive with GNU tar into a new directory of mode
// 0755, as a host's boot script does.
func gnuExtract(t *testing.T, archive []byte) string {
	t.Helper()
	tarPath := needTool(t, "tar")
	needTool(t, "zstd")
	file := filepath.Join(t.TempDir(), "repo-seeds.tar.zst")
	if err := os.WriteFile(file, archive, 0o600); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "tar")
	writable(t, filepath.Dir(dest))
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tarPath, "--zstd", "-xf", file, "-C", dest)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("tar -xf: %v\n%s", err, out)
	}
	return dest
}

// extract runs ExtractSeeds into a new directory of mode 0700 (staging is
// made that way) and requires it to succeed.
func extract(t *testing.T, archive []byte) string {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "go")
	writable(t, filepath.Dir(dest))
	if err := os.Mkdir(dest, 0o700); err != nil {
		t.Fatal(err)
	}
	st, probs, err := bundle.ExtractSeeds(bytes.NewReader(archive), dest, bundle.SeedsLimits, bundle.ExtractOptions{Chown: asRoot()})
	if err != nil || len(probs) > 0 {
		t.Fatalf("ExtractSeeds: %v\n%s", err, render(probs))
	}
	vst, vprobs := bundle.VerifySeeds(bytes.NewReader(archive), bundle.SeedsLimits)
	if len(vprobs) > 0 || st != vst {
		t.Fatalf("ExtractSeeds stats %+v, VerifySeeds %+v\n%s", st, vst, render(vprobs))
	}
	return dest
}

// TestExtractSeedsLikeTar: what ExtractSeeds writes is what GNU tar
// extracts from the same archive, as root (owners, kept modes) and, when
// not root, in everything but owners.
func TestExtractSeedsLikeTar(t *testing.T) {
	archive := seedsArchive(t, sampleTree(t))
	want := listing(t, gnuExtract(t, archive))
	got := listing(t, extract(t, archive))
	// The root's mtime is when the extraction ran.
	want[0], _, _ = strings.Cut(want[0], " mtime=")
	got[0], _, _ = strings.Cut(got[0], " mtime=")
	if !slices.Equal(got, want) {
		t.Fatalf("ExtractSeeds and tar -xf differ:\nExtractSeeds:\n  %s\ntar:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	// The premise: the listing sees what this test is about.
	all := strings.Join(want, "\n")
	for _, s := range []string{". drwxr-xr-x", "bin/run.sh -rwxr-xr-x", "ro dr-xr-xr-x", "ro/deep/b.txt -r--------", "data/readme Lrwxrwxrwx", "-> ../README.md", "empty/nested drwx--x--x", "data/empty -rw-r-----"} {
		if !strings.Contains(all, s) {
			t.Fatalf("tar's listing lacks %q: the fixture proves less than it says\n%s", s, all)
		}
	}
}

// TestExtractSeedsRootEntry: an archive made with tar -C dir . carries a
// "./" entry, whose mode and owner tar applies to the directory it
// extracts into. The writer never makes one, and the dialect has none:
// the archive is refused before anything is written.
func TestExtractSeedsRootEntry(t *testing.T) {
	archive := withRootEntry(t, seedsArchive(t, sampleTree(t)), 0o777)
	// The premise: tar gives the root the entry's mode.
	if all := strings.Join(listing(t, gnuExtract(t, archive)), "\n"); !strings.Contains(all, ". drwxrwxrwx") {
		t.Fatalf("the ./ entry's mode did not reach tar's root:\n%s", all)
	}
	dest := filepath.Join(t.TempDir(), "x")
	mkdir(t, dest)
	_, probs, err := bundle.ExtractSeeds(bytes.NewReader(archive), dest, bundle.SeedsLimits, bundle.ExtractOptions{Chown: asRoot()})
	if err != nil {
		t.Fatal(err)
	}
	mentions(t, probs, `./: starts with "./"`)
	if left, err := os.ReadDir(dest); err != nil || len(left) > 0 {
		t.Fatalf("refused at the first entry, yet %d entries were written (%v)", len(left), err)
	}
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the directory extracted into changed: %v, %v", fi.Mode(), err)
	}
}

// TestExtractSeedsTimes: every file and directory gets the archive's
// mtime, read-only directories included (they are closed last): the fixed
// mtime for a directory, for a file the one its content gives it.
func TestExtractSeedsTimes(t *testing.T) {
	dest := extract(t, seedsArchive(t, sampleTree(t)))
	files := 0
	err := filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dest || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := extractMtime
		if !d.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			want = seedsMtime(extractMtime, &tar.Header{Typeflag: tar.TypeReg}, data)
			files++
		}
		if !fi.ModTime().Equal(want) {
			t.Errorf("%s: mtime %v, want %v", p, fi.ModTime().UTC(), want)
		}
		return nil
	})
	if err != nil || files < 3 {
		t.Fatal(files, err)
	}
}

// hostileCase is an archive ExtractSeeds must refuse.
type hostileCase struct {
	name string
	ents []ent
	// want is in some problem's text.
	want string
	// first: the hostile entry comes first, so nothing may be written.
	first bool
	// raw, when set, is the uncompressed tar stream instead of ents.
	raw []byte
}

// hostileSeeds are archives a bucket writer without the key could plant.
// canary is an absolute path outside the extraction directory that every
// escape aims at; the extraction directory is a sibling of it.
func hostileSeeds(t *testing.T, canary string) []hostileCase {
	file := func(name string, mode int64) ent {
		return ent{name: name, typ: tar.TypeReg, mode: mode, body: []byte("owned\n")}
	}
	link := func(name, target string) ent { return ent{name: name, typ: tar.TypeSymlink, mode: 0o777, link: target} }
	return []hostileCase{
		{"setuid", []ent{file("su", 0o4755)}, "has mode 4755", true, nil},
		{"setgid", []ent{file("sg", 0o2755)}, "has mode 2755", true, nil},
		{"sticky dir", []ent{{name: "tmp/", typ: tar.TypeDir, mode: 0o1777}}, "has mode 1777", true, nil},
		{"char device", []ent{{name: "null", typ: tar.TypeChar, mode: 0o666}}, "null: is a character device", true, nil},
		{"block device", []ent{{name: "sda", typ: tar.TypeBlock, mode: 0o660}}, "sda: is a block device", true, nil},
		{"fifo", []ent{{name: "pipe", typ: tar.TypeFifo, mode: 0o644}}, "pipe: is a fifo", true, nil},
		{"hard link out", []ent{{name: "h", typ: tar.TypeLink, link: canary + "/file"}}, "h: is a hard link", true, nil},
		{"hard link in", []ent{file("a", 0o644), {name: "h", typ: tar.TypeLink, link: "a"}}, "h: is a hard link", false, nil},
		{"absolute symlink", []ent{link("abs", canary), file("abs/x", 0o644)}, "absolute path", true, nil},
		{"escaping symlink", []ent{link("esc", "../canary"), file("esc/x", 0o644)}, "outside repo-seeds", true, nil},
		{"escaping symlink deeper", []ent{dir("d/"), link("d/up", "../../canary")}, "outside repo-seeds", false, nil},
		{"entry below a symlink", []ent{dir("d/"), link("d/l", ".."), file("d/l/x", 0o644)}, "below the symlink d/l", false, nil},
		{"dot-dot name", []ent{file("../canary/x", 0o644)}, "climbs out", true, nil},
		{"dot-dot inside a name", []ent{file("a/../../canary/x", 0o644)}, "climbs out", true, nil},
		{"absolute name", []ent{file(canary+"/x", 0o644)}, "absolute path", true, nil},
		{"duplicate file", []ent{file("a", 0o644), file("a", 0o755)}, "a: appears twice", false, nil},
		{"file then dir", []ent{file("a", 0o644), {name: "a/", typ: tar.TypeDir, mode: 0o755}, file("a/x", 0o644)}, "a: appears twice", false, nil},
		{"dir then symlink", []ent{dir("a/"), link("a", "../canary")}, "a: appears twice", false, nil},
		// GNU tar fails on these too ("Not a directory", "Is a directory"),
		// after writing what came before.
		{"entry below a file", []ent{file("a", 0o644), file("a/x", 0o644)}, "a/x: is below the file a: no tar can write it there", false, nil},
		{"file where a directory was made", []ent{file("a/x", 0o644), file("a", 0o644)}, "a: is a regular file where earlier entries have their directory", false, nil},
		{"symlink where a directory was made", []ent{file("a/b/x", 0o644), link("a/b", ".")}, `a/b: is a symlink to "." where earlier entries have their directory`, false, nil},
		{"non-root owner", []ent{{name: "mine", typ: tar.TypeReg, mode: 0o644, body: []byte("x"), uid: 1000, gid: 1000}}, "owned by 1000:1000", true, nil},
		{"non-root group", []ent{{name: "grp/", typ: tar.TypeDir, mode: 0o755, gid: 100}}, "owned by 0:100", true, nil},
		{"root entry setuid", []ent{{name: "./", typ: tar.TypeDir, mode: 0o4755}}, `./: starts with "./"`, true, nil},
		{"root entry not a dir", []ent{file(".", 0o644)}, `.: starts with "./"`, true, nil},
		sparseCase(t),
	}
}

// hostileDirs makes parent/x (where the archive goes) and parent/canary
// (a file in it), and returns parent, x and canary.
func hostileDirs(t *testing.T) (parent, dest, canary string) {
	t.Helper()
	parent = t.TempDir()
	dest, canary = filepath.Join(parent, "x"), filepath.Join(parent, "canary")
	for _, d := range []string{dest, canary} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(canary, "file"), []byte("canary\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return parent, dest, canary
}

// TestExtractSeedsHostile: each hostile archive is a problem, not an
// error, and nothing is written outside the directory; an archive whose
// first entry is hostile writes nothing at all.
func TestExtractSeedsHostile(t *testing.T) {
	for i, tc := range hostileSeeds(t, "/canary") {
		t.Run(tc.name, func(t *testing.T) {
			parent, dest, canary := hostileDirs(t)
			// The cases aim at canary by its absolute path.
			tc := hostileSeeds(t, canary)[i]
			archive := zst(t, tc.raw)
			if tc.raw == nil {
				archive = tarZst(t, tc.ents)
			}
			before := outside(listing(t, parent))
			_, probs, err := bundle.ExtractSeeds(bytes.NewReader(archive), dest, bundle.SeedsLimits, bundle.ExtractOptions{Chown: asRoot()})
			if err != nil {
				t.Fatalf("a hostile archive came back as a failure to write, not a problem: %v", err)
			}
			mentions(t, probs, tc.want)
			if after := outside(listing(t, parent)); !slices.Equal(after, before) {
				t.Fatalf("something changed outside the directory:\nbefore:\n  %s\nafter:\n  %s", strings.Join(before, "\n  "), strings.Join(after, "\n  "))
			}
			if tc.first {
				left, err := os.ReadDir(dest)
				if err != nil {
					t.Fatal(err)
				}
				if len(left) > 0 {
					t.Fatalf("refused at the first entry, yet %d entries were written (%s, ...)", len(left), left[0].Name())
				}
			}
		})
	}
}

// outside drops the lines of a listing of hostileDirs' parent that are
// about x, the directory extracted into.
func outside(lines []string) []string {
	return slices.DeleteFunc(slices.Clone(lines), func(l string) bool {
		return strings.HasPrefix(l, "x ") || strings.HasPrefix(l, "x/")
	})
}

// sparseCase is an archive with a GNU sparse entry: its holes would be
// made up by the tar reader outside the size limit.
func sparseCase(t *testing.T) hostileCase {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "sparse", Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatGNU, ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// Make the header a GNU sparse one (type 'S', an empty sparse map) and
	// fix its checksum.
	b[156] = tar.TypeGNUSparse
	copy(b[148:156], "        ")
	var sum int64
	for _, c := range b[:512] {
		sum += int64(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	h, err := tar.NewReader(bytes.NewReader(b)).Next()
	if err != nil || h.Typeflag != tar.TypeGNUSparse {
		t.Fatalf("the sparse fixture does not read as one: %v %+v", err, h)
	}
	return hostileCase{name: "sparse", raw: b, want: "sparse file", first: true}
}

// TestExtractSeedsWriteFailure: a failure to write is an error, never a
// problem: install must not report a disk fault as a hostile bundle.
func TestExtractSeedsWriteFailure(t *testing.T) {
	archive := seedsArchive(t, sampleTree(t))
	for _, tc := range []struct {
		name string
		// prepare spoils dest before the extraction.
		prepare func(t *testing.T, dest string)
		nonRoot bool
	}{
		{name: "a file's path is a directory", prepare: func(t *testing.T, dest string) {
			mkdir(t, filepath.Join(dest, "README.md"))
		}},
		{name: "a directory's path is a file", prepare: func(t *testing.T, dest string) {
			occupy(t, filepath.Join(dest, "bin"))
		}},
		{name: "a symlink's path is taken", prepare: func(t *testing.T, dest string) {
			occupy(t, filepath.Join(dest, "latest"))
		}},
		{name: "no directory", prepare: func(t *testing.T, dest string) {
			if err := os.Remove(dest); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "a read-only directory", nonRoot: true, prepare: func(t *testing.T, dest string) {
			if err := os.Chmod(dest, 0o500); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.nonRoot && asRoot() {
				t.Skip("root writes into a read-only directory")
			}
			dest := filepath.Join(t.TempDir(), "x")
			writable(t, filepath.Dir(dest))
			mkdir(t, dest)
			tc.prepare(t, dest)
			_, probs, err := bundle.ExtractSeeds(bytes.NewReader(archive), dest, bundle.SeedsLimits, bundle.ExtractOptions{Chown: asRoot()})
			if err == nil {
				t.Fatalf("no error; problems:\n%s", render(probs))
			}
			if probs.HasErrors() {
				t.Fatalf("a failure to write (%v) was also reported as a problem of the archive:\n%s", err, render(probs))
			}
		})
	}
}

// TestExtractSeedsTruncated: an archive that ends early, inside a file's
// data or in its frame checksum, is a problem of the archive, not a
// failure to write.
func TestExtractSeedsTruncated(t *testing.T) {
	archive := seedsArchive(t, sampleTree(t))
	for _, n := range []int{len(archive) / 2, len(archive) - 4, 10} {
		t.Run(fmt.Sprintf("%d of %d bytes", n, len(archive)), func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "x")
			writable(t, filepath.Dir(dest))
			mkdir(t, dest)
			_, probs, err := bundle.ExtractSeeds(bytes.NewReader(archive[:n]), dest, bundle.SeedsLimits, bundle.ExtractOptions{Chown: asRoot()})
			if err != nil {
				t.Fatalf("a truncated archive came back as a failure to write: %v", err)
			}
			mentions(t, probs, "unreadable archive")
		})
	}
	// The limit is hit while a file is written: the archive's fault too.
	t.Run("over the size limit", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "x")
		mkdir(t, dest)
		big := make([]byte, 2<<20)
		rand.Read(big)
		lim := bundle.SeedsLimits
		lim.MaxUnpacked = 3 << 19 // above tarZst's 1 MiB window
		_, probs, err := bundle.ExtractSeeds(bytes.NewReader(tarZst(t, []ent{{name: "big", typ: tar.TypeReg, mode: 0o644, body: big}})), dest, lim, bundle.ExtractOptions{Chown: asRoot()})
		if err != nil {
			t.Fatalf("an archive over its limit came back as a failure to write: %v", err)
		}
		mentions(t, probs, "size limit")
	})
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
}

func occupy(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, []byte("in the way\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExtractSeedsUnlistedParents: directories an archive does not list
// are made 0755 whatever the umask, owned by root when chowning, and an
// entry listed later for one of them sets its archived mode.
func TestExtractSeedsUnlistedParents(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	archive := tarZst(t, []ent{
		{name: "a/b/c/file", typ: tar.TypeReg, mode: 0o644, body: []byte("x")},
		{name: "a/", typ: tar.TypeDir, mode: 0o750},
	})
	dest := extract(t, archive)
	for rel, want := range map[string]os.FileMode{"a": 0o750, "a/b": 0o755, "a/b/c": 0o755} {
		fi, err := os.Lstat(filepath.Join(dest, rel))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want || !fi.IsDir() {
			t.Errorf("%s: mode %v, want a directory %04o", rel, fi.Mode(), want)
		}
		if st := fi.Sys().(*syscall.Stat_t); asRoot() && (st.Uid != 0 || st.Gid != 0) {
			t.Errorf("%s: owned by %d:%d", rel, st.Uid, st.Gid)
		}
	}
}

// TestExtractSeedsMakesParents: an archive that lists a file but not the
// directories above it (the writer always lists them; tar -cf of a file
// path does not) extracts as GNU tar extracts it, parents made.
func TestExtractSeedsMakesParents(t *testing.T) {
	archive := tarZst(t, []ent{{name: "a/b/c.txt", typ: tar.TypeReg, mode: 0o644, body: []byte("deep\n")}, {name: "top", typ: tar.TypeReg, mode: 0o600, body: []byte("top\n")}})
	// Made parents get the time of the extraction, in both.
	noDirTimes := func(lines []string) []string {
		for i, l := range lines {
			if before, _, ok := strings.Cut(l, " mtime="); ok && strings.Contains(l, " d") {
				lines[i] = before
			}
		}
		return lines
	}
	want := noDirTimes(listing(t, gnuExtract(t, archive)))
	got := noDirTimes(listing(t, extract(t, archive)))
	if !slices.Equal(got, want) {
		t.Fatalf("ExtractSeeds and tar -xf differ:\nExtractSeeds:\n  %s\ntar:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if !strings.Contains(strings.Join(want, "\n"), "a/b/c.txt -rw-r--r--") {
		t.Fatalf("tar's listing lacks the file: the fixture proves less than it says\n%s", strings.Join(want, "\n"))
	}
}
