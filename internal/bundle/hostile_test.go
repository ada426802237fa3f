package bundle_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

var secretNames = []string{"clawdinator-control-token.age", "clawdinator-discord-token-1.age"}

// TestVerifySecretsGood is the baseline every hostile case departs from: if
// it failed, the hostile cases would prove nothing.
func TestVerifySecretsGood(t *testing.T) {
	k := newKey(t)
	data := tarZst(t, goodEntries(t, k, secretNames...))
	c, probs := bundle.VerifySecrets(bytes.NewReader(data), bundle.VerifyOptions{Expected: secretNames, ExpectedRecipient: k.key.Recipient()})
	if len(probs) != 0 {
		t.Fatalf("good archive rejected:\n%s", render(probs))
	}
	if c.Recipient != k.key.Recipient() || len(c.Secrets) != len(secretNames) {
		t.Fatalf("contents = %+v", c)
	}
	for i, s := range c.Secrets {
		if s.Name != secretNames[i] || s.Size == 0 || len(s.SHA256) != 64 {
			t.Errorf("secret %d = %+v", i, s)
		}
	}
}

func TestVerifySecretsHostile(t *testing.T) {
	k := newKey(t)
	other := newKey(t)
	good := goodEntries(t, k, secretNames...)
	with := func(extra ...ent) []ent { return append(append([]ent(nil), good...), extra...) }
	cipher := encrypt(t, []byte("x"), k.id.Recipient())

	cases := []struct {
		name string
		ents []ent
		want string // the problem text must name the entry
	}{
		{"parent path", with(reg("../clawdinator.agekey", k.file)), "../clawdinator.agekey"},
		{"parent inside secrets", with(reg("secrets/../../etc/cron.d/x.age", cipher)), "secrets/../../etc/cron.d/x.age"},
		{"absolute path", with(reg("/etc/agenix/keys/clawdinator.agekey", k.file)), "/etc/agenix/keys/clawdinator.agekey"},
		{"symlink secret", with(ent{name: "secrets/link.age", typ: tar.TypeSymlink, mode: 0o777, link: "/etc/shadow"}), "secrets/link.age"},
		{"symlink key", []ent{{name: bundle.KeyEntry, typ: tar.TypeSymlink, mode: 0o777, link: "/etc/agenix/keys/clawdinator.agekey"}, dir("secrets/")}, bundle.KeyEntry},
		{"hardlink", with(ent{name: "secrets/hard.age", typ: tar.TypeLink, link: bundle.KeyEntry}), "secrets/hard.age"},
		{"char device", with(ent{name: "secrets/null.age", typ: tar.TypeChar, mode: 0o666}), "secrets/null.age"},
		{"char device at top", with(ent{name: "null", typ: tar.TypeChar, mode: 0o666}), "null"},
		{"key swap", with(reg(bundle.KeyEntry, other.file)), bundle.KeyEntry + ": appears twice"},
		{"missing key", good[1:], bundle.KeyEntry + ": missing"},
		{"key is not an identity", []ent{reg(bundle.KeyEntry, []byte("# just a comment\n")), dir("secrets/")}, bundle.KeyEntry + ": bad identity"},
		{"extra top-level entry", with(reg("install.sh", []byte("#!/bin/sh\n"))), "install.sh"},
		{"non-age file", with(reg("secrets/notes.txt", []byte("plaintext"))), "secrets/notes.txt"},
		{"nested dir", with(dir("secrets/sub/"), reg("secrets/sub/x.age", cipher)), "secrets/sub"},
		{"nested file", with(reg("secrets/sub/x.age", cipher)), "secrets/sub/x.age"},
		{"secrets is a file", []ent{reg(bundle.KeyEntry, k.file), reg("secrets", nil)}, "secrets"},
		{"other key", with(reg("secrets/stale.age", encrypt(t, []byte("x"), other.id.Recipient()))), "secrets/stale.age"},
		{"duplicate secret", with(reg("secrets/"+secretNames[0], cipher)), "secrets/" + secretNames[0]},
		{"secret owned by a user", with(ent{name: "secrets/mine.age", typ: tar.TypeReg, mode: 0o400, body: cipher, uid: 1001, gid: 1001}), "secrets/mine.age: is owned by 1001:1001, not root"},
		{"setuid key", []ent{{name: bundle.KeyEntry, typ: tar.TypeReg, mode: 0o4400, body: k.file}, dir("secrets/")}, bundle.KeyEntry + ": has mode 4400"},
		{"statement not a file", with(ent{name: bundle.StatementEntry, typ: tar.TypeSymlink, link: "/etc/passwd"}), bundle.StatementEntry + ": must be a regular file"},
		{"statement twice", with(reg(bundle.StatementEntry, []byte("{}")), reg(bundle.StatementEntry, []byte("{}"))), bundle.StatementEntry + ": appears twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := bundle.VerifySecrets(bytes.NewReader(tarZst(t, tc.ents)), bundle.VerifyOptions{})
			mentions(t, probs, tc.want)
		})
	}
}

// TestVerifySecretsPlan covers the set comparison: what was planned must be
// there, nothing else, and a forbidden name is reported as such.
func TestVerifySecretsPlan(t *testing.T) {
	k := newKey(t)
	data := tarZst(t, goodEntries(t, k, "a.age", "clawdinator-discord-token-2.age"))
	_, probs := bundle.VerifySecrets(bytes.NewReader(data), bundle.VerifyOptions{
		Expected: []string{"a.age", "b.age"},
		Forbidden: func(n string) string {
			if n == "clawdinator-discord-token-2.age" {
				return "another instance's token"
			}
			return ""
		},
	})
	mentions(t, probs, "secrets/b.age: planned but missing")
	mentions(t, probs, "secrets/clawdinator-discord-token-2.age: must not be in this bundle: another instance's token")
	if n := len(probs.Errors()); n != 2 {
		t.Fatalf("want 2 problems, got %d:\n%s", n, render(probs))
	}

	other := newKey(t)
	_, probs = bundle.VerifySecrets(bytes.NewReader(data), bundle.VerifyOptions{ExpectedRecipient: other.key.Recipient()})
	mentions(t, probs, "expected-recipient is "+other.key.Recipient())
}

func TestVerifySecretsBrokenStream(t *testing.T) {
	k := newKey(t)
	good := tarZst(t, goodEntries(t, k, secretNames...))

	t.Run("truncated zstd", func(t *testing.T) {
		_, probs := bundle.VerifySecrets(bytes.NewReader(good[:len(good)/2]), bundle.VerifyOptions{})
		mentions(t, probs, "unreadable archive")
	})
	t.Run("trailing checksum", func(t *testing.T) {
		for i := 1; i <= 4; i++ {
			bad := bytes.Clone(good)
			bad[len(bad)-i] ^= 0x40
			_, probs := bundle.VerifySecrets(bytes.NewReader(bad), bundle.VerifyOptions{})
			if len(probs.Errors()) == 0 {
				t.Fatalf("flipping byte %d from the end (frame checksum) went unnoticed", i)
			}
			mentions(t, probs, "unreadable archive")
		}
	})
	t.Run("corrupt data after the tar end", func(t *testing.T) {
		// Padding after the end-of-archive blocks, in a second frame whose
		// checksum is wrong: zstd -d (and so the host's tar) fails on it,
		// though the tar reader has what it needs before reaching it.
		tail := zst(t, make([]byte, 300<<10))
		tail[len(tail)-1] ^= 0x01
		bad := append(bytes.Clone(good), tail...)
		if zstdPath, err := exec.LookPath("zstd"); err == nil {
			cmd := exec.Command(zstdPath, "-t")
			cmd.Stdin = bytes.NewReader(bad)
			if cmd.Run() == nil {
				t.Fatal("zstd -t accepts the fixture: it proves nothing")
			}
		}
		_, probs := bundle.VerifySecrets(bytes.NewReader(bad), bundle.VerifyOptions{})
		mentions(t, probs, "unreadable archive")
		_, probs = bundle.VerifySeeds(bytes.NewReader(bad), bundle.SeedsLimits)
		mentions(t, probs, "unreadable archive")
	})
	t.Run("not zstd", func(t *testing.T) {
		_, probs := bundle.VerifySecrets(bytes.NewReader(tarBytes(t, goodEntries(t, k, secretNames...))), bundle.VerifyOptions{})
		mentions(t, probs, "unreadable archive")
	})
	t.Run("empty", func(t *testing.T) {
		_, probs := bundle.VerifySecrets(bytes.NewReader(nil), bundle.VerifyOptions{})
		if len(probs.Errors()) == 0 {
			t.Fatal("an empty object was accepted as a bundle")
		}
	})
}

// TestVerifyRefusesTarMade: the old shell pipeline made secrets archives
// with tar -C staging . (GNU format by default, every name starting with
// ./, the root "./" an entry). Those are outside the tar dialect, in
// either of GNU tar's formats, and refused at their first header.
func TestVerifyRefusesTarMade(t *testing.T) {
	tarPath := needTool(t, "tar")
	needTool(t, "zstd")
	k := newKey(t)
	staging := t.TempDir()
	if err := os.WriteFile(filepath.Join(staging, bundle.KeyEntry), k.file, 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(staging, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, n := range secretNames {
		if err := os.WriteFile(filepath.Join(staging, "secrets", n), encrypt(t, []byte(n), k.id.Recipient()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for format, want := range map[string]string{
		"gnu":   "./: is a directory in a GNU-format header",
		"posix": `./: has the extended header record mtime=`,
	} {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "secrets.tar.zst")
			cmd := exec.Command(tarPath, "--zstd", "--format="+format, "--numeric-owner", "--owner=0", "--group=0", "-cf", out, "-C", staging, ".")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("tar: %v\n%s", err, b)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			_, probs := bundle.VerifySecrets(bytes.NewReader(data), bundle.VerifyOptions{Expected: secretNames, ExpectedRecipient: k.key.Recipient()})
			mentions(t, probs, want)
			if len(probs) != 1 {
				t.Fatalf("want one problem, the archive's first header:\n%s", render(probs))
			}
		})
	}
}

// TestVerifyChecksumAfterPadding: GNU tar pads an archive to a 10 KiB
// record with zeros, which the dialect allows after the end blocks; the
// frame checksum then comes after bytes the tar reader never needs. A
// corrupted checksum, which makes the host's tar --zstd -x fail at boot,
// must still be caught.
func TestVerifyChecksumAfterPadding(t *testing.T) {
	tarPath := needTool(t, "tar")
	k := newKey(t)
	padded := append(tarBytes(t, goodEntries(t, k, secretNames...)), make([]byte, 10<<10)...)
	data := zst(t, padded)
	if _, probs := bundle.VerifySecrets(bytes.NewReader(data), bundle.VerifyOptions{Expected: secretNames}); len(probs) > 0 {
		t.Fatalf("zeros after the end blocks refused:\n%s", render(probs))
	}
	bad := bytes.Clone(data)
	bad[len(bad)-1] ^= 0x01
	out := filepath.Join(t.TempDir(), "secrets.tar.zst")
	if err := os.WriteFile(out, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(tarPath, "--zstd", "-xf", out, "-C", t.TempDir()).Run(); err == nil {
		t.Fatal("GNU tar accepted a corrupted checksum: the fixture proves nothing")
	}
	_, probs := bundle.VerifySecrets(bytes.NewReader(bad), bundle.VerifyOptions{Expected: secretNames})
	mentions(t, probs, "unreadable archive")
	_, probs = bundle.VerifySeeds(bytes.NewReader(bad), bundle.SeedsLimits)
	mentions(t, probs, "unreadable archive")
}

func TestVerifySeedsHostile(t *testing.T) {
	base := []ent{
		{name: "openclaw/", typ: tar.TypeDir, mode: 0o755},
		{name: "openclaw/README.md", typ: tar.TypeReg, mode: 0o644, body: []byte("hi\n")},
		{name: "openclaw/README.link", typ: tar.TypeSymlink, mode: 0o777, link: "README.md"},
	}
	with := func(extra ...ent) []ent { return append(append([]ent(nil), base...), extra...) }
	lim := bundle.SeedsLimits

	st, probs := bundle.VerifySeeds(bytes.NewReader(tarZst(t, base)), lim)
	if len(probs) != 0 || st.Entries != 3 || st.Bytes != 3 {
		t.Fatalf("good seeds: %+v\n%s", st, render(probs))
	}
	if sum := sha256.Sum256(tarBytes(t, base)); st.TarSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("TarSHA256 = %s, want the digest of the tar stream %x", st.TarSHA256, sum)
	}

	cases := []struct {
		name string
		ents []ent
		want string
	}{
		{"parent path", with(ent{name: "../evil.sh", typ: tar.TypeReg, mode: 0o755}), "../evil.sh"},
		{"parent in the middle", with(ent{name: "openclaw/../../evil.sh", typ: tar.TypeReg, mode: 0o755}), "openclaw/../../evil.sh"},
		{"absolute path", with(ent{name: "/root/.ssh/authorized_keys", typ: tar.TypeReg, mode: 0o600}), "/root/.ssh/authorized_keys"},
		{"absolute symlink", with(ent{name: "openclaw/etc", typ: tar.TypeSymlink, link: "/etc"}), "openclaw/etc"},
		{"escaping symlink", with(ent{name: "openclaw/up", typ: tar.TypeSymlink, link: "../../nix-secrets"}), "openclaw/up"},
		{"escaping symlink through a symlink", with(
			ent{name: "openclaw/root", typ: tar.TypeSymlink, link: ".."},
			ent{name: "openclaw/out", typ: tar.TypeSymlink, link: "root/../nix-secrets"},
		), "openclaw/out"},
		{"entry through a symlink", with(
			ent{name: "openclaw/here", typ: tar.TypeSymlink, link: "."},
			ent{name: "openclaw/here/x", typ: tar.TypeReg, mode: 0o644},
		), "openclaw/here/x"},
		{"hardlink", with(ent{name: "openclaw/hard", typ: tar.TypeLink, link: "openclaw/README.md"}), "openclaw/hard"},
		{"char device", with(ent{name: "openclaw/null", typ: tar.TypeChar, mode: 0o666}), "openclaw/null"},
		{"block device", with(ent{name: "openclaw/sda", typ: tar.TypeBlock, mode: 0o666}), "openclaw/sda"},
		{"fifo", with(ent{name: "openclaw/pipe", typ: tar.TypeFifo, mode: 0o666}), "openclaw/pipe"},
		{"duplicate", with(ent{name: "openclaw/README.md", typ: tar.TypeReg, mode: 0o644, body: []byte("swapped")}), "openclaw/README.md: appears twice"},
		{"setuid", with(ent{name: "openclaw/su", typ: tar.TypeReg, mode: 0o4755}), "openclaw/su: has mode 4755: setuid, setgid and sticky bits are never written"},
		{"setgid", with(ent{name: "openclaw/sg", typ: tar.TypeReg, mode: 0o2755}), "openclaw/sg: has mode 2755"},
		{"sticky directory", with(ent{name: "openclaw/tmp/", typ: tar.TypeDir, mode: 0o1777}), "openclaw/tmp: has mode 1777"},
		{"owned by a user", with(ent{name: "openclaw/mine", typ: tar.TypeReg, mode: 0o644, uid: 1001}), "openclaw/mine: is owned by 1001:0, not root"},
		{"owned by a group", with(ent{name: "openclaw/ours", typ: tar.TypeReg, mode: 0o644, gid: 100}), "openclaw/ours: is owned by 0:100, not root"},
		{"root entry", append([]ent{{name: "./", typ: tar.TypeDir, mode: 0o755}}, base...), `./: starts with "./"`},
		{"dot-slash name", with(ent{name: "./openclaw/x", typ: tar.TypeReg, mode: 0o644}), `./openclaw/x: starts with "./"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := bundle.VerifySeeds(bytes.NewReader(tarZst(t, tc.ents)), lim)
			mentions(t, probs, tc.want)
		})
	}

	// GNU tar reads the data of a file named "x/" as more entries, which
	// Go's reader never sees: here a setuid file. Go's writer will not
	// make such a header, so the name is patched in the raw bytes.
	t.Run("file named like a directory", func(t *testing.T) {
		hidden := tarBytes(t, []ent{{name: "evil", typ: tar.TypeReg, mode: 0o4755, body: []byte("x")}})
		raw := tarBytes(t, with(ent{name: "openclaw/hiddenX", typ: tar.TypeReg, mode: 0o644, body: hidden}))
		i := bytes.Index(raw, []byte("openclaw/hiddenX"))
		raw[i+len("openclaw/hiddenX")-1] = '/'
		hdr := raw[i : i+512]
		copy(hdr[148:156], "        ")
		sum := 0
		for _, c := range hdr {
			sum += int(c)
		}
		copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", sum))
		_, probs := bundle.VerifySeeds(bytes.NewReader(zst(t, raw)), lim)
		mentions(t, probs, `openclaw/hidden/: ends in "/" but is a regular file`)
	})

	good := tarZst(t, base)
	t.Run("truncated", func(t *testing.T) {
		_, probs := bundle.VerifySeeds(bytes.NewReader(good[:len(good)-9]), lim)
		mentions(t, probs, "unreadable archive")
	})
	t.Run("checksum", func(t *testing.T) {
		bad := bytes.Clone(good)
		bad[len(bad)-2] ^= 0x01
		_, probs := bundle.VerifySeeds(bytes.NewReader(bad), lim)
		mentions(t, probs, "unreadable archive")
	})
}

// TestVerifySparse: GNU tar -S stores a 64 GiB file of holes in a few
// hundred bytes, and a tar reader makes up the zeros, outside the
// decompressed-size cap. Sparse entries are outside the tar dialect, in
// both encodings, and refused unread; so are the archives GNU tar makes
// of one, whatever it writes first.
func TestVerifySparse(t *testing.T) {
	tarPath := needTool(t, "tar")
	needTool(t, "zstd")
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "openclaw"), 0o755); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(src, "openclaw", "holes")
	if err := os.WriteFile(big, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 64<<30); err != nil {
		t.Fatalf("no sparse files on this file system: %v", err)
	}
	refused := func(t *testing.T, data []byte, want string) {
		t.Helper()
		start := time.Now()
		st, probs := bundle.VerifySeeds(bytes.NewReader(data), bundle.SeedsLimits)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v on a %d-byte archive", d, len(data))
		}
		mentions(t, probs, want)
		if st.Bytes > 1<<20 {
			t.Errorf("read %d bytes of made-up zeros", st.Bytes)
		}
		_, probs = bundle.VerifySecrets(bytes.NewReader(data), bundle.VerifyOptions{})
		mentions(t, probs, want)
	}
	for _, format := range []string{"posix", "gnu"} {
		t.Run("tar --format="+format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "seeds.tar.zst")
			if b, err := exec.Command(tarPath, "--zstd", "--sparse", "--format="+format, "-cf", out, "-C", src, "openclaw").CombinedOutput(); err != nil {
				t.Fatalf("tar: %v\n%s", err, b)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			refused(t, data, "openclaw/")
		})
	}
	// The two encodings, in headers of the dialect's shape.
	hdr := rawHdr{name: "openclaw/holes", typ: '0', mode: 0o644}
	sparseMap := []byte("1\n68719476735\n1\n")
	t.Run("PAX records", func(t *testing.T) {
		r := &rawTar{}
		r.pax('x', "GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=openclaw/holes", "GNU.sparse.realsize=68719476736")
		r.entry(hdr, append(sparseMap, 'x'))
		refused(t, zst(t, r.end()), `openclaw/holes: is a sparse file (extended header record "GNU.sparse.major")`)
	})
	t.Run("typeflag S", func(t *testing.T) {
		h := hdr
		h.typ = 'S'
		refused(t, zst(t, (&rawTar{}).entry(h, []byte("x")).end()), "openclaw/holes: is a sparse file (GNU typeflag 'S')")
	})
}

// TestVerifySeedsLinkDepth: a symlink placed through another symlink lives
// higher up than its name says, so its leading ".." climb further than a
// lexical check counts. GNU tar, extracting this, makes openclaw/c point
// outside the tree; the reader must refuse it.
func TestVerifySeedsLinkDepth(t *testing.T) {
	ents := []ent{
		{name: "openclaw/", typ: tar.TypeDir, mode: 0o755},
		{name: "openclaw/a", typ: tar.TypeSymlink, link: "."},
		{name: "openclaw/a/a/a/c", typ: tar.TypeSymlink, link: "../../.."},
	}
	if tarPath, err := exec.LookPath("tar"); err == nil {
		// Show the escape is real with the hosts' tar.
		dir := t.TempDir()
		root := filepath.Join(dir, "root")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		archive := filepath.Join(dir, "x.tar")
		if err := os.WriteFile(archive, tarBytes(t, ents), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command(tarPath, "-xf", archive, "-C", root).CombinedOutput(); err != nil {
			t.Fatalf("tar: %v\n%s", err, b)
		}
		got, err := filepath.EvalSymlinks(filepath.Join(root, "openclaw", "c"))
		if err != nil || strings.HasPrefix(got, root) {
			t.Fatalf("fixture does not escape with GNU tar (%q, %v): it proves nothing", got, err)
		}
	}
	_, probs := bundle.VerifySeeds(bytes.NewReader(tarZst(t, ents)), bundle.SeedsLimits)
	mentions(t, probs, "openclaw/a/a/a/c")
}

// bomb returns a small zstd stream that decompresses to a tar whose one
// entry, name, claims and holds size zero bytes. It is generated streaming:
// the zeros never exist in memory.
func bomb(t testing.TB, name string, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithWindowSize(1<<20), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o400, Size: size, Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	if n, err := bufCopy(tw, size); err != nil || n != size {
		t.Fatalf("bomb: wrote %d: %v", n, err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func bufCopy(w interface{ Write([]byte) (int, error) }, n int64) (int64, error) {
	chunk := make([]byte, 1<<20)
	var done int64
	for done < n {
		c := chunk
		if rest := n - done; rest < int64(len(c)) {
			c = c[:rest]
		}
		m, err := w.Write(c)
		done += int64(m)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// TestVerifySecretsBomb feeds 2 GiB of zeros compressed to a few hundred KiB.
// The reader must stop at SecretsLimits.MaxUnpacked, quickly, without
// holding anywhere near the claimed size in memory.
func TestVerifySecretsBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 2 GiB of compressed zeros")
	}
	const claimed = 2 << 30
	for _, name := range []string{"secrets/bomb.age", bundle.KeyEntry, "junk"} {
		t.Run(name, func(t *testing.T) {
			data := bomb(t, name, claimed)
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, probs := bundle.VerifySecrets(bytes.NewReader(data), bundle.VerifyOptions{})
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("bomb %s: %d KiB compressed, claims %d MiB: rejected in %v, allocated %.1f MiB (heap in use %+.1f MiB)",
				name, len(data)>>10, claimed>>20, elapsed.Round(time.Millisecond), float64(alloc)/(1<<20),
				(float64(after.HeapInuse)-float64(before.HeapInuse))/(1<<20))
			mentions(t, probs, "size limit")
			mentions(t, probs, fmt.Sprint(bundle.SecretsLimits.MaxUnpacked))
			if name != "junk" {
				mentions(t, probs, name+": is 2147483648 bytes")
			}
			if alloc > 200<<20 {
				t.Fatalf("reading the bomb allocated %d MiB, want < 200 MiB", alloc>>20)
			}
			// Stricter: buffering an entry up to the decompression cap is
			// already too much when instances are verified concurrently.
			if alloc >= uint64(bundle.SecretsLimits.MaxUnpacked) {
				t.Fatalf("reading the bomb allocated %d MiB: an entry was buffered up to MaxUnpacked", alloc>>20)
			}
		})
	}
}

// TestVerifyWindowCap: a frame asking for a 64 MiB window would make the
// decoder allocate it; the reader refuses before that.
func TestVerifyWindowCap(t *testing.T) {
	k := newKey(t)
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithWindowSize(64<<20), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	// Zero padding after the tar end (as GNU tar writes) makes the stream
	// long enough that the encoder keeps the large window in the header.
	padded := append(tarBytes(t, goodEntries(t, k, secretNames...)), make([]byte, 24<<20)...)
	if _, err := zw.Write(padded); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	_, probs := bundle.VerifySecrets(bytes.NewReader(buf.Bytes()), bundle.VerifyOptions{})
	mentions(t, probs, "unreadable archive")
	mentions(t, probs, "window")
}

// TestVerifySeedsBomb checks that deep verification of seeds obeys a byte
// cap too (a smaller one than the default, to keep the test fast).
func TestVerifySeedsBomb(t *testing.T) {
	data := bomb(t, "openclaw/zeros", 256<<20)
	lim := bundle.SeedsLimits
	lim.MaxUnpacked = 32 << 20
	_, probs := bundle.VerifySeeds(bytes.NewReader(data), lim)
	mentions(t, probs, "size limit")
}

// TestVerifySecretsManyEntries: a million empty entries, which a walker
// without an entry cap would happily iterate (and remember in its seen-map).
func TestVerifySecretsManyEntries(t *testing.T) {
	const n = 1_000_000
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	for i := range n {
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("secrets/%07d.age", i), Typeflag: tar.TypeReg, Mode: 0o400}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, probs := bundle.VerifySecrets(bytes.NewReader(buf.Bytes()), bundle.VerifyOptions{})
	t.Logf("%d entries (%d KiB compressed) rejected in %v", n, buf.Len()>>10, time.Since(start).Round(time.Millisecond))
	mentions(t, probs, fmt.Sprintf("more than %d entries", bundle.SecretsLimits.MaxEntries))

	lim := bundle.SeedsLimits
	lim.MaxEntries = 1000
	st, probs := bundle.VerifySeeds(bytes.NewReader(buf.Bytes()), lim)
	mentions(t, probs, "more than 1000 entries")
	if st.Entries > 1000 {
		t.Fatalf("walked %d entries past the cap", st.Entries)
	}
}

// TestVerifySecretsContents: what VerifySecrets returns is what the archive
// holds: the statement's bytes, every secret by name in order with its size
// and the digest of its ciphertext, and the exact bytes of the key and of
// each secret by entry name, for a host to install.
func TestVerifySecretsContents(t *testing.T) {
	k := newKey(t)
	statement := []byte(`{"statement":1}`)
	a := encrypt(t, []byte("plain a"), k.id.Recipient())
	b := encrypt(t, []byte("plain b, longer"), k.id.Recipient())
	// Written out of order: the result is in name order.
	ents := []ent{reg(bundle.KeyEntry, k.file), reg(bundle.StatementEntry, statement), dir("secrets/"), reg("secrets/b.age", b), reg("secrets/a.age", a)}
	c, probs := bundle.VerifySecrets(bytes.NewReader(tarZst(t, ents)), bundle.VerifyOptions{})
	if len(probs) != 0 {
		t.Fatalf("problems:\n%s", render(probs))
	}
	if !bytes.Equal(c.Statement, statement) {
		t.Errorf("Statement = %q, want %q", c.Statement, statement)
	}
	if want := k.key.Canonical(); !bytes.Equal(c.Identity, want) {
		t.Error("Identity is not the bundled key's canonical identity")
	}
	digest := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	want := []bundle.SecretInfo{{Name: "a.age", Size: int64(len(a)), SHA256: digest(a)}, {Name: "b.age", Size: int64(len(b)), SHA256: digest(b)}}
	if !slices.Equal(c.Secrets, want) {
		t.Errorf("Secrets = %+v, want %+v", c.Secrets, want)
	}
	wantEntries := map[string][]byte{bundle.KeyEntry: k.file, "secrets/a.age": a, "secrets/b.age": b}
	if !maps.EqualFunc(c.Entries, wantEntries, bytes.Equal) {
		names := slices.Sorted(maps.Keys(c.Entries))
		t.Errorf("Entries hold %q, want the key and the two secrets, byte for byte", names)
	}

	// Without a statement, Statement is nil.
	c, probs = bundle.VerifySecrets(bytes.NewReader(tarZst(t, goodEntries(t, k))), bundle.VerifyOptions{})
	if len(probs) != 0 || c.Statement != nil {
		t.Fatalf("Statement %q, problems:\n%s", c.Statement, render(probs))
	}
}
