package bundle_test

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// file is a regular file header of the dialect, for the field tests.
func file(name string) rawHdr { return rawHdr{name: name, typ: '0', mode: 0o644} }

// with returns h with the bytes at off replaced (before the checksum).
func with(h rawHdr, off int, b string) rawHdr {
	patch := map[int][]byte{off: []byte(b)}
	for k, v := range h.patch {
		patch[k] = v
	}
	h.patch = patch
	return h
}

// TestDialectFields: each header field, extended header record and name
// rule of the tar dialect, one departure at a time, read by VerifySeeds:
// the problem names the entry and the rule.
func TestDialectFields(t *testing.T) {
	one := func(h rawHdr, body string) []byte { return hostileBase().entry(h, []byte(body)).end() }
	paxThen := func(h rawHdr, body string, records ...string) []byte {
		r := hostileBase()
		r.pax('x', records...)
		return r.entry(h, []byte(body)).end()
	}
	rawPAX := func(data string, h rawHdr) []byte {
		r := hostileBase()
		r.entry(rawHdr{name: "PaxHeaders.0/x", typ: 'x'}, []byte(data))
		return r.entry(h, nil).end()
	}
	long := "proj/" + strings.Repeat("n", 120)
	longLink := strings.Repeat("t", 120)
	cases := []struct {
		name string
		raw  []byte
		want string
	}{
		{"bad checksum", corrupt(one(file("proj/x"), "x"), 1536+offChksum+5, "7"), "unreadable archive: the block at byte 1536 is not a tar header (bad checksum)"},
		{"checksum without its space", corrupt(one(file("proj/x"), "x"), 1536+offChksum+7, "\x00"), "bad checksum"},
		{"checksum without its NUL", corrupt(one(file("proj/x"), "x"), 1536+offChksum+6, " "), "bad checksum"},
		{"checksum not octal", corrupt(one(file("proj/x"), "x"), 1536+offChksum, "9"), "bad checksum"},
		{"V7 header", one(with(file("proj/x"), offMagic, "\x00\x00\x00\x00\x00\x00\x00\x00"), "x"), `proj/x: is not a POSIX ustar header (magic "\x00\x00`},
		{"GNU header", one(rawHdr{name: "proj/x", typ: '0', mode: 0o644, gnu: true}, "x"), "proj/x: is a regular file in a GNU-format header"},
		{"contiguous file", one(rawHdr{name: "proj/x", typ: '7', mode: 0o644}, "x"), "proj/x: is an entry of typeflag '7': not part of the tar dialect"},
		{"old regular file", one(rawHdr{name: "proj/x", typ: 0, mode: 0o644}, "x"), `proj/x: is an entry of typeflag '\x00'`},
		{"mode with spaces", one(with(file("proj/x"), offMode, "    644\x00"), "x"), "proj/x: has a mode field that is not zero-padded octal ending in NUL"},
		{"mode ending in a space", one(with(file("proj/x"), offMode, "0000644 "), "x"), "proj/x: has a mode field"},
		{"gid field", one(with(file("proj/x"), offGID, "0000000 "), "x"), "proj/x: has a gid field"},
		{"mtime field", one(with(file("proj/x"), offMtime, "0000000000 \x00"), "x"), "proj/x: has a mtime field"},
		{"device numbers", one(with(file("proj/x"), 329, "0000001\x00"), "x"), "proj/x: has device numbers: the writer stores none"},
		{"minor device number", one(with(file("proj/x"), 337, "0000003\x00"), "x"), "proj/x: has device numbers"},
		{"empty device field", one(with(file("proj/x"), 337, "\x00\x00\x00\x00\x00\x00\x00\x00"), "x"), "proj/x: has a device minor field unlike the writer's"},
		{"extended header with device fields", func() []byte {
			r := hostileBase()
			r.entry(rawHdr{name: "PaxHeaders.0/x", typ: 'x', patch: map[int][]byte{329: []byte("0000000\x00")}}, []byte(paxRecord("path="+long)))
			return r.entry(file(long[:100]), nil).end()
		}(), "has a device major field unlike the writer's"},
		{"bytes after the prefix", one(with(file("proj/x"), 508, "tar\x00"), "x"), "proj/x: has bytes after the prefix field"},
		{"name not ASCII", one(file("proj/\xc3\xa9"), "x"), "has a name field that is not ASCII ending in NULs"},
		{"bytes after the name", one(with(file("proj/x"), 7, "y"), "x"), "proj/x: has a name field that is not ASCII ending in NULs"},
		{"link name not ASCII", one(rawHdr{name: "proj/l", typ: '2', link: "\xc3\xa9", mode: 0o777}, ""), "proj/l: has a link name field that is not ASCII"},
		{"user name not ASCII", one(rawHdr{name: "proj/x", typ: '0', mode: 0o644, uname: "\xff"}, "x"), "proj/x: has a user name field that is not ASCII"},
		{"group name after a NUL", one(with(file("proj/x"), offGname+1, "g"), "x"), "proj/x: has a group name field"},
		{"prefix not ASCII", one(rawHdr{name: "x", prefix: "\xff", typ: '0', mode: 0o644}, "x"), "has a prefix field that is not ASCII"},
		{"name with the byte 0x80", one(file("proj/\x80"), "x"), "has a name field that is not ASCII ending in NULs"},
		{"bytes after the name beside a linkpath record", paxThen(with(rawHdr{name: "proj/l", typ: '2', link: longLink, mode: 0o777}, 7, "y"), "", "linkpath="+longLink), "proj/l: has a name field that is not ASCII ending in NULs"},
		{"group name after a NUL beside a path record", paxThen(with(file(long[:100]), offGname+1, "g"), "", "path="+long), long + ": has a group name field that is not ASCII"},
		{"a refused header named by its prefix", one(rawHdr{name: "x", prefix: "proj", typ: '7', mode: 0o644}, "x"), "proj/x: is an entry of typeflag '7'"},

		{"extended header with an owner", rawPAXHeader(rawHdr{name: "PaxHeaders.0/x", typ: 'x', uid: 1}, "path="+long), "PaxHeaders.0/x: is an extended header with owner, mode, link or prefix fields the writer never sets"},
		{"extended header with a user name", rawPAXHeader(rawHdr{name: "PaxHeaders.0/x", typ: 'x', uname: "root"}, "path="+long), "is an extended header with owner"},
		{"extended header with a mode", rawPAXHeader(rawHdr{name: "PaxHeaders.0/x", typ: 'x', mode: 0o4000}, "path="+long), "is an extended header with owner"},
		{"extended header with a link", rawPAXHeader(rawHdr{name: "PaxHeaders.0/x", typ: 'x', link: "x"}, "path="+long), "is an extended header with owner"},
		{"extended header with a prefix", rawPAXHeader(rawHdr{name: "x", prefix: "PaxHeaders.0", typ: 'x'}, "path="+long), "is an extended header with owner"},
		{"empty extended header", rawPAX("", file("proj/x")), "PaxHeaders.0/x: is an extended header of 0 bytes"},
		{"huge extended header", hostileBase().entry(rawHdr{name: "PaxHeaders.0/x", typ: 'x', size: 1<<20 + 1}, nil).end(), "is an extended header of 1048577 bytes"},
		{"record length too long", rawPAX("9 a=b\n", file("proj/x")), "PaxHeaders.0/x: has an extended header at byte 1536 with a malformed record"},
		{"record length too short", rawPAX("5 ab=c\n", file("proj/x")), "malformed record"},
		{"record length with a leading zero", rawPAX("06 a=b\n", file("proj/x")), "malformed record"},
		{"record length missing", rawPAX(" a=bcd\n", file("proj/x")), "malformed record"},
		{"record without a newline", rawPAX("6 a=bc", file("proj/x")), "malformed record"},
		{"record without =", rawPAX("6 abc\n", file("proj/x")), "malformed record"},
		{"record without a key", rawPAX("6 =bc\n", file("proj/x")), "malformed record"},
		{"record without a space", rawPAX("6a=bcd\n", file("proj/x")), "malformed record"},
		{"record twice", paxThen(file(long[:100]), "", "path="+long, "path="+long), `has an extended header that holds "path" twice`},
		{"empty path record", paxThen(file("proj/x"), "", "path="), "PaxHeaders.0/x: has an empty path record"},
		{"path record with NUL", paxThen(file("proj/x"), "", "path=proj/\x00x"), "has a path record holding NUL"},
		{"uname record with NUL", paxThen(file("proj/x"), "", "uname=a\x00b"), "PaxHeaders.0/x: has a uname record holding NUL"},
		{"uname record starting with NUL", paxThen(file("proj/x"), "", "uname=\x00b"), "PaxHeaders.0/x: has a uname record holding NUL"},
		{"another record holding NUL", paxThen(file("proj/x"), "", "SCHILY.xattr.user.x=\x00"), `proj/x: has the extended header record "SCHILY.xattr.user.x"`},
		{"key with NUL", paxThen(file("proj/x"), "", "a\x00b=c"), "malformed record"},
		{"key starting with NUL", rawPAX("7 \x00b=c\n", file("proj/x")), "malformed record"},
		{"shortest record", rawPAX("5 a=\n", file("proj/x")), `proj/x: has the extended header record "a"`},
		{"record shorter than its length", rawPAX("4 a\n", file("proj/x")), "malformed record"},
		{"record of length zero", rawPAX("0 a=b\n", file("proj/x")), "malformed record"},
		{"sparse map out of order", paxThen(file("proj/x"), "", "GNU.sparse.numbytes=1", "GNU.sparse.offset=0"), `PaxHeaders.0/x: is a sparse file (extended header record "GNU.sparse.numbytes")`},
		{"empty linkpath record", paxThen(rawHdr{name: "proj/l", typ: '2', link: "x", mode: 0o777}, "", "linkpath="), "PaxHeaders.0/x: has an empty linkpath record"},
		{"size record not a number", paxThen(file("proj/x"), "", "size=1a"), `proj/x: has the extended header record size="1a", not a whole number`},
		{"size record with a leading zero", paxThen(file("proj/x"), "", "size=01"), `size="01", not a whole number`},
		{"size record with a sign", paxThen(file("proj/x"), "", "size=+1"), `size="+1"`},
		{"mtime record negative", paxThen(file("proj/x"), "", "mtime=-1"), `mtime="-1", not a whole number`},
		{"mtime record too large", paxThen(file("proj/x"), "", "mtime=99999999999999999999"), `mtime="99999999999999999999"`},
		{"unknown record", paxThen(file("proj/x"), "", "comment=hi"), `proj/x: has the extended header record "comment": the writer stores only path, linkpath, size and mtime there`},
		{"xattr record", paxThen(file("proj/x"), "", "SCHILY.xattr.security.capability=x"), `has the extended header record "SCHILY.xattr.security.capability"`},

		{"path record for a short name", paxThen(file("proj/x"), "", "path=proj/x"), "proj/x: has a path record for a name its ustar header can hold"},
		{"path record for a name of 100 bytes", paxThen(file(long[:100]), "", "path="+long[:100]), "has a path record for a name its ustar header can hold"},
		{"linkpath record for a target of 100 bytes", paxThen(rawHdr{name: "proj/l", typ: '2', link: longLink[:100], mode: 0o777}, "", "linkpath="+longLink[:100]), "proj/l: has a linkpath record for a target its ustar header can hold"},
		{"prefix for a name of 100 bytes", one(rawHdr{name: long[5:55], prefix: long[:49], typ: '0', mode: 0o644}, "x"), "has a prefix field for a name its name field can hold"},
		{"path record beside a prefix", paxThen(rawHdr{name: long[:100], prefix: "p", typ: '0', mode: 0o644}, "", "path="+long), long + `: has a name field "`},
		{"name field not the path record", paxThen(file(long[1:101]), "", "path="+long), "that is not its path record as the writer shortens it"},
		{"link name field not the linkpath record", paxThen(rawHdr{name: "proj/l", typ: '2', link: "other", mode: 0o777}, "", "linkpath="+longLink), `proj/l: has a link name field "other" that is not its linkpath record`},
		{"linkpath record for a short target", paxThen(rawHdr{name: "proj/l", typ: '2', link: "README", mode: 0o777}, "", "linkpath=README"), "proj/l: has a linkpath record for a target its ustar header can hold"},
		{"prefix for a short name", one(rawHdr{name: "x", prefix: "proj", typ: '0', mode: 0o644}, "x"), "proj/x: has a prefix field for a name its name field can hold"},
		{"size record on a symlink", paxThen(rawHdr{name: "proj/l", typ: '2', link: "README", mode: 0o777}, "", "size=8589934592"), "proj/l: has a size record where its ustar size field can hold the size"},
		{"size record beside a size field", paxThen(rawHdr{name: "proj/x", typ: '0', mode: 0o644, size: 1}, "x", "size=8589934592"), "proj/x: has a size record where"},
		{"size record of a small file", paxThen(file("proj/x"), "x", "size=1"), "proj/x: has a size record where"},
		{"size record of zero", paxThen(file("proj/x"), "", "size=0"), "proj/x: has a size record where"},
		{"mtime record beside an mtime field", paxThen(rawHdr{name: "proj/x", typ: '0', mode: 0o644, mtime: 1}, "", "mtime=8589934592"), "proj/x: has an mtime record where its ustar mtime field can hold the time"},
		{"mtime record of an early time", paxThen(file("proj/x"), "", "mtime=8589934591"), "proj/x: has an mtime record where"},

		{"empty name", one(file(""), "x"), "has an empty name"},
		{"absolute name", one(file("/etc/x"), "x"), "/etc/x: is an absolute path"},
		{"backslash", one(file(`proj\x`), "x"), `proj\x: has a forbidden character (NUL or backslash)`},
		{"dot name", one(rawHdr{name: "./", typ: '5', mode: 0o755}, ""), `./: starts with "./"`},
		{"dot-dot", one(file("proj/../../x"), "x"), "proj/../../x: climbs out of the archive root (..)"},
		{"double slash", one(file("proj//x"), "x"), "proj//x: is not a clean path"},
		{"dot inside", one(file("proj/./x"), "x"), "proj/./x: is not a clean path"},
		{"directory without a slash", one(rawHdr{name: "proj/d", typ: '5', mode: 0o755}, ""), `proj/d: is a directory whose name does not end in "/"`},
		{"symlink with a slash", one(rawHdr{name: "proj/l/", typ: '2', link: "README", mode: 0o777}, ""), `proj/l/: ends in "/" but is a symlink`},
		{"file with a link name", one(rawHdr{name: "proj/x", typ: '0', link: "README", mode: 0o644}, "x"), "proj/x: is a regular file with a link name"},
		{"directory with a link name", one(rawHdr{name: "proj/d/", typ: '5', link: "README", mode: 0o755}, ""), "proj/d/: is a directory with a link name"},
		{"symlink without a target", one(rawHdr{name: "proj/l", typ: '2', mode: 0o777}, ""), "proj/l: is a symlink without a target"},
		{"fifo with data", one(rawHdr{name: "proj/p", typ: '6', mode: 0o644, size: 1}, ""), "proj/p: is a fifo with 1 bytes of data"},

		{"mode with type bits", one(rawHdr{name: "proj/x", typ: '0', mode: 0o100644}, "x"), "proj/x: has mode 100644: the writer stores only permission bits"},
		{"sticky", one(rawHdr{name: "proj/x", typ: '0', mode: 0o1644}, "x"), "proj/x: has mode 1644: setuid, setgid and sticky bits are never written"},
		{"user name", one(rawHdr{name: "proj/x", typ: '0', mode: 0o644, uname: "nobody"}, "x"), `proj/x: names its owner "nobody": GNU tar as root goes by the names, not by uid and gid`},
		{"gid", one(rawHdr{name: "proj/x", typ: '0', mode: 0o644, gid: 5}, "x"), "proj/x: is owned by 0:5, not root"},
		{"block device", one(rawHdr{name: "proj/b", typ: '4', mode: 0o600}, ""), "proj/b: is a block device: the writer stores only files, directories and symlinks"},

		{"padding not zeros", corrupt(one(file("proj/x"), "x"), 2048+7, "y"), "unreadable archive: the padding at byte 2055 is not zeros"},
		{"first padding byte not zero", corrupt(one(file("proj/x"), "x"), 2048+1, "y"), "unreadable archive: the padding at byte 2049 is not zeros"},
		{"extended header at the end", hostileBase().pax('x', "path="+long).end(), long + ": unreadable archive: an extended header at byte 1536 is followed by the end of the archive"},
		{"extended header and no end", func() []byte {
			r := hostileBase()
			r.pax('x', "path="+long)
			return r.buf.Bytes()
		}(), "unreadable archive: it ends after an extended header"},
		{"one zero block", func() []byte {
			r := hostileBase()
			r.buf.Write(make([]byte, 512))
			return r.buf.Bytes()
		}(), "unreadable archive: it does not end with two zero blocks"},
		{"no end blocks", hostileBase().buf.Bytes(), "unreadable archive: it does not end with two zero blocks"},
		{"data after the end", append(hostileBase().end(), "x"...), "unreadable archive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := bundle.VerifySeeds(bytes.NewReader(zst(t, tc.raw)), bundle.SeedsLimits)
			mentions(t, probs, tc.want)
		})
	}
}

// corrupt overwrites raw at off, after the checksums were computed.
func corrupt(raw []byte, off int, b string) []byte {
	copy(raw[off:], b)
	return raw
}

// rawPAXHeader is an archive whose extended header is h, holding records.
func rawPAXHeader(h rawHdr, records ...string) []byte {
	var data strings.Builder
	for _, rec := range records {
		data.WriteString(paxRecord(rec))
	}
	r := hostileBase()
	r.entry(h, []byte(data.String()))
	return r.entry(file("proj/x"), nil).end()
}

// TestDialectLimits: what the dialect accepts at its edges, read header
// by header as the writer's check does: values ustar cannot hold go in
// extended header records, and the fields then hold what archive/tar's
// Writer puts there.
func TestDialectLimits(t *testing.T) {
	write := func(t *testing.T, h *tar.Header) []byte {
		t.Helper()
		var buf bytes.Buffer
		if err := tar.NewWriter(&buf).WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	long := strings.Repeat("n", 200)
	for _, tc := range []struct {
		name string
		h    tar.Header
		// pax says archive/tar needs an extended header for it.
		pax bool
	}{
		{"the largest size ustar holds", tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 1<<33 - 1}, false},
		{"a size ustar cannot hold", tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 1 << 33}, true},
		{"the latest mtime ustar holds", tar.Header{Name: "late", Typeflag: tar.TypeReg, ModTime: time.Unix(1<<33-1, 0)}, false},
		{"an mtime ustar cannot hold", tar.Header{Name: "late", Typeflag: tar.TypeReg, ModTime: time.Unix(1<<33, 0)}, true},
		{"a name of 100 bytes", tar.Header{Name: strings.Repeat("n", 100), Typeflag: tar.TypeReg}, false},
		{"a name of 101 bytes", tar.Header{Name: strings.Repeat("n", 101), Typeflag: tar.TypeReg}, true},
		{"a directory of 101 bytes", tar.Header{Name: strings.Repeat("d", 100) + "/", Typeflag: tar.TypeDir}, true},
		{"a path split into prefix and name", tar.Header{Name: strings.Repeat("p", 150) + "/" + strings.Repeat("n", 99), Typeflag: tar.TypeReg}, false},
		{"a non-ASCII name", tar.Header{Name: "é", Typeflag: tar.TypeReg}, true},
		{"a name with U+0080", tar.Header{Name: "proj/\u0080x", Typeflag: tar.TypeReg}, true},
		{"a directory with 100 ASCII bytes", tar.Header{Name: "é" + strings.Repeat("d", 99) + "/", Typeflag: tar.TypeDir}, true},
		{"a directory with 101 ASCII bytes", tar.Header{Name: "é" + strings.Repeat("d", 100) + "/", Typeflag: tar.TypeDir}, true},
		{"a target of 101 bytes", tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: long[:101]}, true},
		{"a long path and a large size", tar.Header{Name: long[:150] + "/x", Typeflag: tar.TypeReg, Size: 1 << 33}, true},
		// "1048576 path=…\n" is the largest extended header a reader takes.
		{"an extended header of 1 MiB", tar.Header{Name: "proj/" + strings.Repeat("n", 1<<20-len("1048576 path=\n")-len("proj/")), Typeflag: tar.TypeReg}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.h.Mode = 0o644
			raw := write(t, &tc.h)
			if pax := raw[156] == 'x'; pax != tc.pax {
				t.Fatalf("archive/tar wrote an extended header: %v, want %v", pax, tc.pax)
			}
			if err := bundle.CheckTar(raw, false); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

// TestDialectWriterRefuses: the writer's check refuses what archive/tar's
// Writer makes of a header outside the dialect, before a byte of it
// reaches the output.
func TestDialectWriterRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    tar.Header
		want string
	}{
		{"an owner", tar.Header{Name: "x", Typeflag: tar.TypeReg, Uid: 1000}, `entry "x" is owned by 1000:0`},
		{"owner names", tar.Header{Name: "x", Typeflag: tar.TypeReg, Uname: "nobody"}, `entry "x" names its owner "nobody"`},
		{"setuid", tar.Header{Name: "x", Typeflag: tar.TypeReg, Mode: 0o4755}, "has mode 4755"},
		{"a hard link", tar.Header{Name: "x", Typeflag: tar.TypeLink, Linkname: "y"}, `is a hard link to "y"`},
		{"a device", tar.Header{Name: "x", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}, "is a character device"},
		{"a symlink with a size", tar.Header{Name: "x", Typeflag: tar.TypeSymlink, Linkname: "y", Size: 512}, `is a symlink to "y" with 512 bytes of data`},
		{"the GNU format", tar.Header{Name: "x", Typeflag: tar.TypeReg, Format: tar.FormatGNU}, "in a GNU-format header"},
		{"a GNU long name", tar.Header{Name: strings.Repeat("n", 120), Typeflag: tar.TypeReg, Format: tar.FormatGNU}, "is a GNU long name (typeflag 'L')"},
		{"a sub-second mtime", tar.Header{Name: "x", Typeflag: tar.TypeReg, ModTime: time.Unix(1, 5e8), Format: tar.FormatPAX}, `mtime="1.5"`},
		{"a record", tar.Header{Name: "x", Typeflag: tar.TypeReg, PAXRecords: map[string]string{"comment": "hi"}}, `has the extended header record "comment"`},
		{"a global header", tar.Header{Name: "g", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "hi"}}, "is a global extended header"},
		{"a ./ name", tar.Header{Name: "./x", Typeflag: tar.TypeReg}, `starts with "./"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			if err := tw.WriteHeader(&tc.h); err != nil {
				t.Fatal(err)
			}
			err := bundle.CheckTar(buf.Bytes(), false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
