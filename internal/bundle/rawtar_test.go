package bundle_test

import (
	"bytes"
	"fmt"
	"strconv"
)

// rawHdr is a tar header built field by field: the hostile archives need
// headers Go's tar writer refuses to make (GNU long names beside PAX
// records, user names, base-256 numbers, data on a symlink).
type rawHdr struct {
	name, link, prefix string
	typ                byte
	mode, size, mtime  int64
	uid, gid           int64
	uname, gname       string
	// gnu writes the GNU magic ("ustar  \x00") instead of POSIX ustar.
	gnu bool
	// patch overwrites bytes of the block at an offset, before the
	// checksum is computed (base-256 fields, stray bytes).
	patch map[int][]byte
}

// Field offsets of a ustar header block.
const (
	offMode   = 100
	offUID    = 108
	offGID    = 116
	offSize   = 124
	offMtime  = 136
	offChksum = 148
	offMagic  = 257
	offUname  = 265
	offGname  = 297
	offPrefix = 345
)

// block renders h as one 512-byte header with a valid checksum.
func (h rawHdr) block() []byte {
	b := make([]byte, 512)
	copy(b[0:100], h.name)
	octal := func(off, n int, v int64) { copy(b[off:off+n], fmt.Sprintf("%0*o\x00", n-1, v)) }
	octal(offMode, 8, h.mode)
	octal(offUID, 8, h.uid)
	octal(offGID, 8, h.gid)
	octal(offSize, 12, h.size)
	octal(offMtime, 12, h.mtime)
	b[156] = h.typ
	copy(b[157:257], h.link)
	if h.gnu {
		copy(b[offMagic:], "ustar  \x00")
	} else {
		copy(b[offMagic:], "ustar\x0000")
	}
	copy(b[offUname:offUname+32], h.uname)
	copy(b[offGname:offGname+32], h.gname)
	if h.typ != 'x' && h.typ != 'g' {
		// archive/tar's Writer leaves an extended header's empty.
		octal(329, 8, 0)
		octal(337, 8, 0)
	}
	copy(b[offPrefix:offPrefix+155], h.prefix)
	for off, p := range h.patch {
		copy(b[off:], p)
	}
	return checksum(b)
}

// checksum sets the checksum field of a header block as Go's and GNU's
// writers do (six octal digits, NUL, space) and returns the block.
func checksum(b []byte) []byte {
	copy(b[offChksum:offChksum+8], "        ")
	var sum int64
	for _, c := range b[:512] {
		sum += int64(c)
	}
	copy(b[offChksum:offChksum+8], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// base256 encodes v in an n-byte numeric field the GNU way (0x80, then
// big-endian).
func base256(n int, v int64) []byte {
	b := make([]byte, n)
	for i := n - 1; i > 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	b[0] = 0x80
	return b
}

// rawTar builds an uncompressed tar stream block by block.
type rawTar struct{ buf bytes.Buffer }

// entry writes h and body, padded to a block; h.size is len(body) unless
// it was set.
func (r *rawTar) entry(h rawHdr, body []byte) *rawTar {
	if h.size == 0 {
		h.size = int64(len(body))
	}
	r.buf.Write(h.block())
	r.data(body)
	return r
}

func (r *rawTar) data(body []byte) {
	r.buf.Write(body)
	if n := len(body) % 512; n != 0 {
		r.buf.Write(make([]byte, 512-n))
	}
}

// pax writes an extended header of type typ ('x' or 'g') holding the
// records, given as "key=value", in order.
func (r *rawTar) pax(typ byte, records ...string) *rawTar {
	var data bytes.Buffer
	for _, rec := range records {
		data.WriteString(paxRecord(rec))
	}
	return r.entry(rawHdr{name: "PaxHeaders.0/x", typ: typ}, data.Bytes())
}

// paxRecord formats "key=value" as a PAX record: its length in decimal,
// counting itself, a space, the text and a newline.
func paxRecord(kv string) string {
	n := len(kv) + 2
	for {
		s := strconv.Itoa(n) + " " + kv + "\n"
		if len(s) == n {
			return s
		}
		n = len(s)
	}
}

// gnuLong writes a GNU long name ('L') or long link name ('K') header.
func (r *rawTar) gnuLong(typ byte, name string) *rawTar {
	return r.entry(rawHdr{name: "././@LongLink", typ: typ, gnu: true}, append([]byte(name), 0))
}

// end writes the two zero blocks that end an archive and returns the
// stream.
func (r *rawTar) end() []byte {
	r.buf.Write(make([]byte, 1024))
	return r.buf.Bytes()
}

// hostileBase starts every hostile archive with entries the writer makes.
func hostileBase() *rawTar {
	r := &rawTar{}
	r.entry(rawHdr{name: "proj/", typ: '5', mode: 0o755}, nil)
	r.entry(rawHdr{name: "proj/README", typ: '0', mode: 0o644}, []byte("hi\n"))
	return r
}

// hidden is a header and its data, to be hidden where one reader sees a
// header and another data.
func hidden(h rawHdr, body string) []byte {
	return (&rawTar{}).entry(h, []byte(body)).buf.Bytes()
}
