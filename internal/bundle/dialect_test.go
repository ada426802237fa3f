//go:build unix

package bundle_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
)

// readers is what each reader makes of one archive: Go's archive/tar
// (what the reader used to believe), GNU tar's listing, and what GNU tar
// extracts as root, as a host's boot script runs it. Listing and
// extraction can disagree.
type readers struct {
	goReads  string // one line per header archive/tar returns
	tarLists string // tar -tv
	tarMakes string // listing() of the extracted tree
}

// readAll runs every reader over an uncompressed tar stream.
func readAll(t *testing.T, raw []byte) readers {
	t.Helper()
	tarPath := needTool(t, "tar")
	needTool(t, "zstd")
	var r readers
	var b strings.Builder
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err != nil {
			if err != io.EOF {
				fmt.Fprintf(&b, "error %v\n", err)
			}
			break
		}
		fmt.Fprintf(&b, "%s %c -> %q %d:%d %q/%q %04o size=%d\n", h.Name, h.Typeflag, h.Linkname, h.Uid, h.Gid, h.Uname, h.Gname, h.Mode, h.Size)
	}
	r.goReads = b.String()
	archive := filepath.Join(t.TempDir(), "a.tar.zst")
	if err := os.WriteFile(archive, zst(t, raw), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd := exec.Command(tarPath, "--zstd", "-tvf", archive)
	cmd.Env = env
	out, _ := cmd.CombinedOutput()
	r.tarLists = string(out)
	dest, msgs := tarExtract(t, archive)
	r.tarMakes = strings.Join(listing(t, dest), "\n") + "\n" + msgs
	return r
}

// tarExtract extracts archive with GNU tar, as the boot script does, into
// a new directory, and returns it and what tar said.
func tarExtract(t *testing.T, archive string) (dest, said string) {
	t.Helper()
	return tarExtractIn(t, archive, "C")
}

// tarExtractIn is tarExtract in a locale: GNU tar converts PAX names to
// its character set.
func tarExtractIn(t *testing.T, archive, locale string) (dest, said string) {
	t.Helper()
	dir := t.TempDir()
	writable(t, dir)
	dest = filepath.Join(dir, "x")
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(needTool(t, "tar"), "--zstd", "-xf", archive, "-C", dest)
	cmd.Env = append(os.Environ(), "LC_ALL="+locale, "TZ=UTC")
	out, _ := cmd.CombinedOutput()
	return dest, string(out)
}

func (r readers) String() string {
	return fmt.Sprintf("archive/tar reads:\n%s\ntar -tv lists:\n%s\ntar -x as root makes:\n%s", r.goReads, r.tarLists, r.tarMakes)
}

// dialectCases are archives a key holder can make, which the reader of
// commit 4aaddf8 passed (or refused for another reason, as noted) and GNU
// tar, extracting as root, reads differently from Go's archive/tar or
// than its own listing; or which every reader reads alike and are still
// outside the tar dialect.
var dialectCases = []struct {
	name string
	make func(r *rawTar)
	// premise: substrings of what the readers did (readers.String()).
	premise []string
	// absent: what the readers did not do.
	absent []string
	want   string
}{{
	// 4aaddf8: accepted. Go's reader takes the GNU names, GNU tar the
	// PAX records: deep-verify saw proj/safe -> README, the boot
	// script made proj/evil -> /etc.
	name: "PAX records and GNU long names at once",
	make: func(r *rawTar) {
		r.pax('x', "path=proj/evil", "linkpath=/etc")
		r.gnuLong('L', "proj/safe")
		r.gnuLong('K', "README")
		safeLink(r)
	},
	premise: []string{"proj/safe 2 -> \"README\"", "proj/evil Lrwxrwxrwx 0:0 -> /etc"},
	want:    "proj/evil: is a GNU long name (typeflag 'L') in a GNU-format header",
}, {
	// 4aaddf8: accepted. The same, GNU names first.
	name: "GNU long names and PAX records at once",
	make: func(r *rawTar) {
		r.gnuLong('L', "proj/safe")
		r.gnuLong('K', "README")
		r.pax('x', "path=proj/evil", "linkpath=/etc")
		safeLink(r)
	},
	premise: []string{"proj/safe 2 -> \"README\"", "proj/evil Lrwxrwxrwx 0:0 -> /etc"},
	want:    "././@LongLink: is a GNU long name (typeflag 'L') in a GNU-format header",
}, {
	// 4aaddf8: accepted. Readers agree; still not the dialect.
	name: "GNU long name alone",
	make: func(r *rawTar) {
		r.gnuLong('L', "proj/named-by-L")
		r.entry(rawHdr{name: "proj/short", typ: '0', mode: 0o644}, []byte("x"))
	},
	premise: []string{"proj/named-by-L 0", "proj/named-by-L -rw-r--r--"},
	want:    "is a GNU long name (typeflag 'L')",
}, {
	// 4aaddf8: accepted. Owners by number only: GNU tar as root takes
	// the names, and nobody owns the tree.
	name: "user and group names beside uid and gid 0",
	make: func(r *rawTar) {
		r.entry(rawHdr{name: "proj/secrets/", typ: '5', mode: 0o700, uname: "nobody", gname: "nogroup"}, nil)
		r.entry(rawHdr{name: "proj/secrets/key", typ: '0', mode: 0o400, uname: "nobody", gname: "nogroup"}, []byte("k"))
	},
	premise: []string{`proj/secrets/key 0 -> "" 0:0 "nobody"/"nogroup"`, "proj/secrets drwx------ 65534:65534", "proj/secrets/key -r-------- 65534:65534"},
	want:    `proj/secrets/key: names its owner "nobody" and group "nogroup"`,
}, {
	// 4aaddf8: accepted.
	name: "group name alone",
	make: func(r *rawTar) {
		r.entry(rawHdr{name: "proj/g", typ: '0', mode: 0o640, gname: "nogroup"}, []byte("x"))
	},
	premise: []string{"proj/g -rw-r----- 0:65534"},
	want:    `proj/g: names its group "nogroup"`,
}, {
	// 4aaddf8: refused (owned by 1000), but the name decides.
	name: "user name root beside uid 1000",
	make: func(r *rawTar) {
		r.entry(rawHdr{name: "proj/u", typ: '0', mode: 0o644, uid: 1000, uname: "root"}, []byte("x"))
	},
	premise: []string{"proj/u 0 -> \"\" 1000:0", "proj/u -rw-r--r-- 0:0"},
	want:    `proj/u: names its owner "root"`,
}, {
	// 4aaddf8: accepted. GNU tar lists the name, extracts as root.
	name: "PAX uname and gname records",
	make: func(r *rawTar) {
		r.pax('x', "gname=nogroup", "uname=nobody")
		r.entry(rawHdr{name: "proj/x", typ: '0', mode: 0o644}, []byte("x"))
	},
	premise: []string{`"nobody"/"nogroup"`, "nobody/nogroup", "proj/x -rw-r--r-- 0:0"},
	want:    `proj/x: has the extended header record "gname"`,
}, {
	// 4aaddf8: accepted. Every reader takes 0; the ustar fields say 1000.
	name: "PAX uid and gid records overriding the header",
	make: func(r *rawTar) {
		r.pax('x', "gid=0", "uid=0")
		r.entry(rawHdr{name: "proj/x", typ: '0', mode: 0o644, uid: 1000, gid: 1000}, []byte("x"))
	},
	premise: []string{`proj/x 0 -> "" 0:0`, "proj/x -rw-r--r-- 0:0"},
	want:    `proj/x: has the extended header record "gid"`,
}, {
	// 4aaddf8: refused (owned by 1000); the record wins in every reader.
	name: "PAX uid record",
	make: func(r *rawTar) {
		r.pax('x', "uid=1000")
		r.entry(rawHdr{name: "proj/x", typ: '0', mode: 0o644}, []byte("x"))
	},
	premise: []string{"proj/x -rw-r--r-- 1000:0"},
	want:    `proj/x: has the extended header record "uid"`,
}, {
	// 4aaddf8: accepted. A reader of ustar alone sees an empty file
	// and then a symlink to /etc; PAX readers see one file.
	name: "PAX size record overriding the header",
	make: func(r *rawTar) {
		r.pax('x', "size=512")
		r.entry(rawHdr{name: "proj/x", typ: '0', mode: 0o644}, nil)
		r.buf.Write(hidden(rawHdr{name: "proj/evil", typ: '2', link: "/etc", mode: 0o777}, ""))
	},
	premise: []string{"proj/x 0 -> \"\" 0:0 \"\"/\"\" 0644 size=512", "proj/x -rw-r--r-- 0:0 size=512"},
	absent:  []string{"proj/evil"},
	want:    "proj/x: has a size record where its ustar size field can hold the size",
}, {
	// 4aaddf8: accepted. PAX readers see proj/evil, a reader of ustar
	// alone proj/safe.
	name: "PAX path record overriding the header",
	make: func(r *rawTar) {
		r.pax('x', "path=proj/evil")
		r.entry(rawHdr{name: "proj/safe", typ: '0', mode: 0o644}, []byte("x"))
	},
	premise: []string{"proj/evil 0", "proj/evil -rw-r--r--"},
	want:    `proj/evil: has a name field "proj/safe" that is not its path record`,
}, {
	// 4aaddf8: accepted. Each reader takes the second; the first
	// could be believed by another.
	name: "two extended headers in a row",
	make: func(r *rawTar) {
		r.pax('x', "path=proj/one")
		r.pax('x', "path=proj/two")
		r.entry(rawHdr{name: "proj/x", typ: '0', mode: 0o644}, []byte("x"))
	},
	premise: []string{"proj/two 0", "proj/two -rw-r--r--"},
	want:    "proj/one: has two extended headers in a row",
}, {
	// 4aaddf8: accepted. A fractional mtime, which the writer never
	// stores.
	name: "PAX mtime record",
	make: func(r *rawTar) {
		r.pax('x', "mtime=1.5")
		r.entry(rawHdr{name: "proj/x", typ: '0', mode: 0o644}, []byte("x"))
	},
	premise: []string{"proj/x -rw-r--r-- 0:0 size=1 sha256=2d711642b726b044 mtime=1500000000"},
	want:    `proj/x: has the extended header record mtime="1.5", not a whole number`,
}, {
	// 4aaddf8: refused, as an entry of type 'g'. GNU tar applies it to
	// every later entry: an owner.
	name: "global header with an owner",
	make: func(r *rawTar) {
		r.pax('g', "uid=1000", "uname=nobody")
		r.entry(rawHdr{name: "proj/x", typ: '0', mode: 0o644}, []byte("x"))
	},
	premise: []string{"proj/x -rw-r--r-- 1000:0"},
	want:    "PaxHeaders.0/x: is a global extended header",
}, {
	// 4aaddf8: refused, as an entry of type 'g'. GNU tar applies it to
	// the next entry: a name.
	name: "global header with a path",
	make: func(r *rawTar) {
		r.pax('g', "path=proj/evil")
		r.entry(rawHdr{name: "proj/x", typ: '0', mode: 0o644}, []byte("x"))
	},
	premise: []string{"proj/evil -rw-r--r--"},
	absent:  []string{"proj/x -rw"},
	want:    "PaxHeaders.0/x: is a global extended header",
}, {
	// 4aaddf8: accepted. Go's reader and GNU tar's extraction read a
	// symlink's data as more headers, GNU tar's listing skips it.
	name: "symlink with data",
	make: func(r *rawTar) {
		h := hidden(rawHdr{name: "proj/hidden", typ: '0', mode: 0o644}, "hidden\n")
		r.entry(rawHdr{name: "proj/link", typ: '2', link: "README", mode: 0o777, size: int64(len(h))}, nil)
		r.buf.Write(h)
	},
	premise: []string{"proj/hidden 0", "proj/hidden -rw-r--r--", "1024 1970-01-01 00:00 proj/link -> README\n"},
	absent:  []string{"00:00 proj/hidden"},
	want:    `proj/link: is a symlink to "README" with 1024 bytes of data`,
}, {
	// 4aaddf8: refused (a hard link). Every reader reads the data as
	// headers.
	name: "hard link with data",
	make: func(r *rawTar) {
		h := hidden(rawHdr{name: "proj/evil", typ: '2', link: "/etc", mode: 0o777}, "")
		r.entry(rawHdr{name: "proj/hard", typ: '1', link: "proj/README", mode: 0o644, size: int64(len(h))}, nil)
		r.buf.Write(h)
	},
	premise: []string{"proj/evil Lrwxrwxrwx 0:0 -> /etc"},
	want:    `proj/hard: is a hard link to "proj/README" with 512 bytes of data`,
}, {
	// 4aaddf8: refused (a directory with data).
	name: "directory with data",
	make: func(r *rawTar) {
		h := hidden(rawHdr{name: "proj/hidden", typ: '0', mode: 0o644}, "hidden\n")
		r.entry(rawHdr{name: "proj/d/", typ: '5', mode: 0o755, size: int64(len(h))}, nil)
		r.buf.Write(h)
	},
	premise: []string{"proj/hidden -rw-r--r--"},
	want:    "proj/d/: is a directory with 1024 bytes of data",
}, {
	// 4aaddf8: accepted. Every reader decodes it.
	name: "base-256 size",
	make: func(r *rawTar) {
		r.entry(rawHdr{name: "proj/x", typ: '0', mode: 0o644, size: 2, patch: map[int][]byte{offSize: base256(12, 2)}}, []byte("xy"))
	},
	premise: []string{"proj/x -rw-r--r-- 0:0 size=2"},
	want:    "proj/x: has a size field that is not zero-padded octal ending in NUL (it is base-256)",
}, {
	// 4aaddf8: accepted.
	name: "base-256 uid",
	make: func(r *rawTar) {
		r.entry(rawHdr{name: "proj/x", typ: '0', mode: 0o644, patch: map[int][]byte{offUID: base256(8, 0)}}, []byte("x"))
	},
	premise: []string{"proj/x -rw-r--r-- 0:0"},
	want:    "proj/x: has a uid field that is not zero-padded octal ending in NUL (it is base-256)",
}, {
	// 4aaddf8: accepted (read to the end and ignored). tar -i would
	// extract what hides there.
	name: "an entry after the end of the archive",
	make: func(r *rawTar) {
		r.buf.Write(make([]byte, 1024))
		r.entry(rawHdr{name: "proj/after", typ: '0', mode: 0o644}, []byte("x"))
	},
	absent: []string{"proj/after"},
	want:   "unreadable archive: data after the end of the archive",
}}

// safeLink is the symlink the hostile cases dress up.
func safeLink(r *rawTar) {
	r.entry(rawHdr{name: "proj/safe", typ: '2', link: "README", mode: 0o777}, nil)
}

// TestDialectHostile: each of dialectCases first proves its premise with
// the real readers, then requires every reader of ours (VerifySecrets,
// VerifySeeds, ExtractSeeds) to refuse it with a problem naming the entry.
func TestDialectHostile(t *testing.T) {
	for _, tc := range dialectCases {
		t.Run(tc.name, func(t *testing.T) {
			r := hostileBase()
			tc.make(r)
			raw := r.end()
			seen := readAll(t, raw).String()
			for _, s := range tc.premise {
				if !strings.Contains(seen, s) {
					t.Fatalf("premise: no reader shows %q; the fixture proves less than it says\n%s", s, seen)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(seen, s) {
					t.Fatalf("premise: a reader shows %q\n%s", s, seen)
				}
			}
			refusedByAll(t, zst(t, raw), tc.want)
		})
	}
}

// refusedByAll requires every reader of ours to report want, and
// ExtractSeeds to write nothing beyond the entries before the hostile one.
func refusedByAll(t *testing.T, data []byte, want string) {
	t.Helper()
	_, probs := bundle.VerifySeeds(bytes.NewReader(data), bundle.SeedsLimits)
	mentions(t, probs, want)
	_, probs = bundle.VerifySecrets(bytes.NewReader(data), bundle.VerifyOptions{})
	mentions(t, probs, want)
	dest := filepath.Join(t.TempDir(), "x")
	mkdir(t, dest)
	_, probs, err := bundle.ExtractSeeds(bytes.NewReader(data), dest, bundle.SeedsLimits, bundle.ExtractOptions{Chown: asRoot()})
	if err != nil {
		t.Fatalf("a hostile archive came back as a failure to write: %v", err)
	}
	mentions(t, probs, want)
	var names []string
	for _, l := range listing(t, dest)[1:] {
		names = append(names, strings.Fields(l)[0])
	}
	if extra := slices.DeleteFunc(names, func(n string) bool { return n == "proj" || n == "proj/README" }); len(extra) > 0 {
		t.Fatalf("ExtractSeeds wrote %v", extra)
	}
}

// TestBootScriptOwnerNames is the key holder's bundle of the report: every
// entry of both archives owned by uid and gid 0, as a check by number
// wants, and named nobody/nogroup. The boot script, running GNU tar as
// root, gives the secrets directory and the seeds to nobody, who could
// then replace the .age files. Both readers refuse both archives, whatever
// a statement says of them.
func TestBootScriptOwnerNames(t *testing.T) {
	_, out := assembleSample(t)
	dir := filepath.Join(out, "bootstrap", "clawdinator-2")
	named := t.TempDir()
	for _, name := range []string{layout.SecretsObject, layout.SeedsObject} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(named, name), withOwnerNames(t, data, "nobody", "nogroup"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	runBootScript(t, filepath.Join(named, layout.SecretsObject), filepath.Join(named, layout.SeedsObject), root, "bootstrap/clawdinator-2")
	var nobody []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
			rel, _ := filepath.Rel(root, p)
			nobody = append(nobody, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The premise, on a host: run as root, the names decide.
	if os.Geteuid() == 0 && !slices.Contains(nobody, bootSecretsDir) {
		t.Fatalf("the boot script left %s to root: the fixture proves nothing (not root-owned: %v)", bootSecretsDir, nobody)
	}
	t.Logf("after the boot script, %d paths are not root's: %v", len(nobody), nobody)

	secrets, _ := os.ReadFile(filepath.Join(named, layout.SecretsObject))
	_, probs := bundle.VerifySecrets(bytes.NewReader(secrets), bundle.VerifyOptions{})
	mentions(t, probs, `clawdinator.agekey: names its owner "nobody" and group "nogroup"`)
	mentions(t, probs, `secrets: names its owner "nobody" and group "nogroup"`)
	// One problem per entry: the names, and nothing the names hide.
	for _, p := range probs {
		if !strings.Contains(p.Message, `names its owner "nobody"`) {
			t.Errorf("a problem besides the owner names: %s", p)
		}
	}
	seeds, _ := os.ReadFile(filepath.Join(named, layout.SeedsObject))
	_, probs = bundle.VerifySeeds(bytes.NewReader(seeds), bundle.SeedsLimits)
	mentions(t, probs, `names its owner "nobody" and group "nogroup"`)
}

// withOwnerNames rewrites an archive with user and group names on every
// entry, with archive/tar, as anyone holding the key can.
func withOwnerNames(t *testing.T, archive []byte, user, group string) []byte {
	t.Helper()
	zr, err := zstd.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out bytes.Buffer
	tr := tar.NewReader(zr)
	tw := tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		h.Uname, h.Gname = user, group
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

// FuzzDialectReaders: whatever the tar stream, the readers of ours refuse
// it, or every reader sees the same entries: GNU tar extracting as root
// makes the tree ExtractSeeds makes (names, types, modes, owners, link
// targets, contents), and archive/tar and GNU tar's listing name the
// entries VerifySeeds counted. Header checksums are fixed up before
// reading, so that mutations reach the fields behind them.
func FuzzDialectReaders(f *testing.F) {
	for _, tc := range dialectCases {
		r := hostileBase()
		tc.make(r)
		f.Add(r.end())
	}
	f.Add(hostileBase().end())
	long := strings.Repeat("n", 120)
	r := hostileBase()
	r.pax('x', "path=proj/"+long)
	r.entry(file("proj/"+long[:95]), []byte("long\n"))
	r.entry(rawHdr{name: long[:99], prefix: "proj/split", typ: '0', mode: 0o600}, []byte("split\n"))
	r.entry(rawHdr{name: "proj/up", typ: '2', link: "../proj/README", mode: 0o777}, nil)
	r.entry(rawHdr{name: "proj/ro/", typ: '5', mode: 0o555}, nil)
	f.Add(r.end())
	for _, name := range []string{"repo-seeds.tar.zst", "secrets.tar.zst"} {
		data, err := os.ReadFile(filepath.Join("testdata", "old-writer", name))
		if err != nil {
			f.Fatal(err)
		}
		zr, err := zstd.NewReader(bytes.NewReader(data))
		if err != nil {
			f.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		zr.Close()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(true), zstd.WithWindowSize(1<<20), zstd.WithEncoderConcurrency(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		raw = fixChecksums(raw)
		data := enc.EncodeAll(raw, nil)
		st, probs := bundle.VerifySeeds(bytes.NewReader(data), fuzzLimits)
		if probs.HasErrors() {
			return
		}
		sameAsTar(t, raw, data, st)
	})
}

// FuzzDialectEntries builds archives of the writer's shape (archive/tar,
// format left to it) from entries the input describes (names, types,
// modes, link targets, contents, in any order), so that the readers meet
// names and trees, not broken headers: what VerifySeeds accepts, GNU tar
// must extract as ExtractSeeds does.
func FuzzDialectEntries(f *testing.F) {
	// spec is one entry as the input describes it: a type (0 file, 1
	// directory, 2 symlink), the mode, the name, and the content or target.
	spec := func(typ byte, mode uint16, name, more string) []byte {
		b := []byte{typ, byte(mode >> 8), byte(mode), byte(len(name))}
		b = append(b, name...)
		return append(append(b, byte(len(more))), more...)
	}
	join := func(specs ...[]byte) []byte { return bytes.Join(specs, nil) }
	long := strings.Repeat("n", 110)
	f.Add(join(spec(1, 0o755, "proj", ""), spec(0, 0o644, "proj/README", "hi\n"), spec(2, 0o777, "proj/up", "../proj/README")))
	f.Add(join(spec(0, 0o644, "a/b/c", "x"), spec(1, 0o750, "a", ""), spec(2, 0o777, "a/l", ".")))
	f.Add(join(spec(0, 0o600, "\xc3\xa9\xff", "x"), spec(2, 0o777, "l", "\xc3\xa9\xff"), spec(1, 0o555, "ro", ""), spec(0, 0o444, "ro/x", "y")))
	f.Add(join(spec(1, 0o755, long, ""), spec(0, 0o644, long+"/"+long, "z"), spec(2, 0o777, "ln", long+"/"+long)))
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(true), zstd.WithWindowSize(1<<20), zstd.WithEncoderConcurrency(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		take := func(n int) []byte {
			n = min(n, len(in))
			b := in[:n]
			in = in[n:]
			return b
		}
		str := func() string {
			n := take(1)
			if len(n) == 0 {
				return ""
			}
			return string(take(int(n[0])))
		}
		for entries := 0; len(in) > 0 && entries < 32; entries++ {
			op := take(1)[0]
			mode := take(2)
			if len(mode) < 2 {
				return
			}
			h := &tar.Header{Typeflag: "052"[int(op)%3], Mode: int64(mode[0])<<8 | int64(mode[1])&0o777, ModTime: time.Unix(1700000000, 0), Name: str()}
			var body []byte
			switch h.Typeflag {
			case tar.TypeDir:
				h.Name += "/"
			case tar.TypeSymlink:
				h.Linkname = str()
			default:
				body = []byte(str())
				h.Size = int64(len(body))
			}
			h.Mode &= 0o777
			if tw.WriteHeader(h) != nil {
				return
			}
			if _, err := tw.Write(body); err != nil {
				return
			}
		}
		if tw.Close() != nil {
			return
		}
		raw := buf.Bytes()
		data := enc.EncodeAll(raw, nil)
		st, probs := bundle.VerifySeeds(bytes.NewReader(data), fuzzLimits)
		if probs.HasErrors() {
			return
		}
		sameAsTar(t, raw, data, st)
	})
}

// sameAsTar requires every reader to see the same entries of an archive
// VerifySeeds accepted (raw, compressed as data): GNU tar extracting as
// root makes the tree ExtractSeeds makes, and archive/tar and GNU tar's
// listing name the entries VerifySeeds counted.
func sameAsTar(t *testing.T, raw, data []byte, st bundle.SeedsStats) {
	t.Helper()
	archive := filepath.Join(t.TempDir(), "a.tar.zst")
	if err := os.WriteFile(archive, data, 0o600); err != nil {
		t.Fatal(err)
	}
	tree, said := tarExtract(t, archive)
	dest := filepath.Join(t.TempDir(), "go")
	writable(t, filepath.Dir(dest))
	mkdir(t, dest)
	if _, probs, err := bundle.ExtractSeeds(bytes.NewReader(data), dest, fuzzLimits, bundle.ExtractOptions{Chown: asRoot()}); err != nil || probs.HasErrors() {
		t.Fatalf("VerifySeeds accepts what ExtractSeeds refuses (%v):\n%s", err, render(probs))
	}
	want, got := timeless(listing(t, tree)), timeless(listing(t, dest))
	if !slices.Equal(got, want) {
		t.Fatalf("ExtractSeeds and tar -xf differ:\nExtractSeeds:\n  %s\ntar (%s):\n  %s", strings.Join(got, "\n  "), said, strings.Join(want, "\n  "))
	}
	var goNames []string
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		goNames = append(goNames, h.Name)
	}
	cmd := exec.Command(needTool(t, "tar"), "--zstd", "-tf", archive)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tar -t: %v", err)
	}
	var tarNames []string
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" {
			tarNames = append(tarNames, unescape(l))
		}
	}
	if len(goNames) != st.Entries || !slices.Equal(goNames, tarNames) {
		t.Fatalf("VerifySeeds counted %d entries; archive/tar reads %q, tar -t lists %q", st.Entries, goNames, tarNames)
	}
}

// fixChecksums returns raw with the checksum of every block that has the
// ustar magic made right.
func fixChecksums(raw []byte) []byte {
	raw = bytes.Clone(raw)
	for off := 0; off+512 <= len(raw); off += 512 {
		if string(raw[off+offMagic:off+offMagic+5]) == "ustar" {
			checksum(raw[off : off+512])
		}
	}
	return raw
}

// timeless drops the times from listing lines: tar gives the directories
// it makes for unlisted parents, and the root, the time of the extraction.
func timeless(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i], _, _ = strings.Cut(l, " mtime=")
	}
	return out
}

// unescape undoes GNU tar's escape quoting of names in a listing:
// backslash escapes of C, and three octal digits for other bytes.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i+2 < len(s) && strings.IndexByte("0123", s[i]) >= 0 {
			if n, err := strconv.ParseUint(s[i:i+3], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		if j := strings.IndexByte("abfnrtv", s[i]); j >= 0 {
			b.WriteByte("\a\b\f\n\r\t\v"[j])
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
