package bundle

import (
	"bufio"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"path"
)

// The plain scan sees a file's bytes as they go into the archive. A key can
// also sit in a repo-seeds file in compressed form, where those bytes do not
// show it. The deep scan decompresses, on a side read, three kinds of file
// and runs the same keyScanner over the plaintext:
//
//   - gzip files (magic 1f 8b 08, whatever the name), every member;
//   - git loose objects (objects/xx/<38 or 62 hex>, a zlib stream): a key
//     committed and then deleted survives here until gc;
//   - git packfiles (a file that starts "PACK", version 2 or 3): each
//     object's zlib stream, so a key that only survives in history after gc
//     or in a shallow clone's pack is seen.
//
// Not scanned (and why): other compressors (zstd, xz, bzip2: rare in seeded
// trees, and each is another decoder to bound), zip/jar members, archives
// nested inside a decompressed stream (a .gz committed to git), and objects
// reconstructed from deltas. For a delta only the delta data is scanned: a
// key added in a new version appears there as literal insert bytes, but a key
// assembled from copy instructions (its bytes split between the base and the
// insert, or moved whole from a base that is in another pack or missing from
// a thin pack) can be missed. Its base, if in the pack, is scanned as itself.
//
// The deep scan is bounded: it stops after deepScanBudget(size) bytes of
// decompressed output per file. Reaching the bound is not a key: the file is
// reported as a warning ("not scanned past …") and archived. Corrupt or
// truncated streams are scanned up to the damage and otherwise ignored: the
// archived bytes are the file's bytes either way.
//
// Cost (bench/keyscan.sh, 2 cores, medians of 3): the bench tree (225 MB,
// 6 gzip files, its pack random bytes) archives in 1.35 s without and 1.53 s
// with the deep scan; with a real 27 MB pack of a 10k-file shallow clone
// added, 2.16 s and 2.67 s (x1.24; tar without zstd 0.51 s and 1.36 s).
// Decompressing a tee of the archiving copy in a goroutine was no faster
// than reading the file again, so the product reads it again: it is simpler
// and holds no goroutine. The benchmark's other modes (tee, and no deep
// scan at all) are built only with -tags keyscanbench
// (archive_keyscanbench.go).

// deepKind says how a file's content is compressed, if it is one the deep
// scan reads.
type deepKind int

const (
	deepNone deepKind = iota
	deepGzip
	deepLoose
	deepPack
)

// Deep scan bounds: at least deepScanMin decompressed bytes per file, or
// deepScanRatio times its size when that is more (a large pack of
// highly compressible history). A deflate bomb reaches the bound quickly.
var deepScanMin int64 = 256 << 20 // a variable for tests

const deepScanRatio = 16

func deepScanBudget(size int64) int64 {
	return max(deepScanMin, deepScanRatio*size)
}

// deepKindOf classifies a file from its path inside repo-seeds and its first
// bytes.
func deepKindOf(rel string, head []byte) deepKind {
	switch {
	case len(head) >= 3 && head[0] == 0x1f && head[1] == 0x8b && head[2] == 8:
		return deepGzip
	case len(head) >= 8 && string(head[:4]) == "PACK":
		if v := binary.BigEndian.Uint32(head[4:8]); v == 2 || v == 3 {
			return deepPack
		}
	case isLooseObject(rel) && len(head) >= 2 && zlibHeader(head[0], head[1]):
		return deepLoose
	}
	return deepNone
}

// isLooseObject reports whether rel looks like objects/xx/<rest of a SHA-1
// or SHA-256 object name> in a git directory (".git" or a bare repository).
func isLooseObject(rel string) bool {
	dir, name := path.Split(rel)
	dir = path.Clean(dir)
	fan := path.Base(dir)
	if path.Base(path.Dir(dir)) != "objects" || len(fan) != 2 || !isHex(fan) {
		return false
	}
	return (len(name) == 38 || len(name) == 62) && isHex(name)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// zlibHeader reports whether two bytes are a zlib header with deflate and
// no preset dictionary (RFC 1950).
func zlibHeader(cmf, flg byte) bool {
	return cmf&0x0f == 8 && cmf>>4 <= 7 && flg&0x20 == 0 && (uint16(cmf)<<8|uint16(flg))%31 == 0
}

var (
	errDeepFound  = errors.New("key found")
	errDeepBudget = errors.New("decompressed size bound reached")
)

// deepSink feeds decompressed bytes to a keyScanner, stopping the
// decompression when a key is found or the budget is spent.
type deepSink struct {
	sc     *keyScanner
	budget int64
}

func (d *deepSink) Write(p []byte) (int, error) {
	if int64(len(p)) > d.budget {
		d.sc.Write(p[:d.budget])
		d.budget = 0
		if d.sc.found() != "" {
			return 0, errDeepFound
		}
		return 0, errDeepBudget
	}
	d.budget -= int64(len(p))
	d.sc.Write(p)
	if d.sc.found() != "" {
		return len(p), errDeepFound
	}
	return len(p), nil
}

// deepScanner holds what the deep scan reuses from file to file.
type deepScanner struct {
	sc  *keyScanner
	br  *bufio.Reader
	zr  io.ReadCloser // a zlib reader, reset per stream
	gz  *gzip.Reader
	buf []byte
}

func newDeepScanner() *deepScanner {
	return &deepScanner{sc: newKeyScanner(), br: bufio.NewReaderSize(nil, 64<<10), buf: make([]byte, 64<<10)}
}

// scan reads r (a file of size bytes and the given kind) and returns the
// kind of key found in its decompressed content, or "", and whether the
// budget ran out before the content ended.
func (d *deepScanner) scan(r io.Reader, kind deepKind, size int64) (found string, truncated bool) {
	d.sc.reset()
	d.br.Reset(r)
	sink := &deepSink{sc: d.sc, budget: deepScanBudget(size)}
	var err error
	switch kind {
	case deepGzip:
		err = d.gunzip(sink)
	case deepLoose:
		err = d.inflate(sink)
	case deepPack:
		err = d.pack(sink)
	}
	d.br.Reset(nil)
	return d.sc.found(), errors.Is(err, errDeepBudget)
}

func (d *deepScanner) gunzip(sink *deepSink) error {
	if d.gz == nil {
		gz, err := gzip.NewReader(d.br)
		if err != nil {
			return err
		}
		d.gz = gz
	} else if err := d.gz.Reset(d.br); err != nil {
		return err
	}
	_, err := io.CopyBuffer(sink, d.gz, d.buf)
	return err
}

// inflate scans one zlib stream read from d.br. d.br is an io.ByteReader, so
// flate reads exactly the stream and nothing after it.
func (d *deepScanner) inflate(sink *deepSink) error {
	if d.zr == nil {
		zr, err := zlib.NewReader(d.br)
		if err != nil {
			return err
		}
		d.zr = zr
	} else if err := d.zr.(zlib.Resetter).Reset(d.br, nil); err != nil {
		return err
	}
	_, err := io.CopyBuffer(sink, d.zr, d.buf)
	return err
}

// Pack object types (gitformat-pack).
const (
	objCommit   = 1
	objTree     = 2
	objBlob     = 3
	objTag      = 4
	objOfsDelta = 6
	objRefDelta = 7
)

var errBadPack = errors.New("not a valid pack")

// pack walks a packfile: a 12-byte header ("PACK", version, object count),
// then per object a type-and-size varint, for OFS_DELTA an offset varint,
// for REF_DELTA the base object name, then a zlib stream of the object or
// delta data. Each stream is scanned on its own.
func (d *deepScanner) pack(sink *deepSink) error {
	var hdr [12]byte
	if _, err := io.ReadFull(d.br, hdr[:]); err != nil {
		return err
	}
	if string(hdr[:4]) != "PACK" {
		return errBadPack
	}
	n := binary.BigEndian.Uint32(hdr[8:])
	for i := uint32(0); i < n; i++ {
		c, err := d.br.ReadByte()
		if err != nil {
			return err
		}
		typ := c >> 4 & 7
		if err := skipVarint(d.br, c); err != nil {
			return err
		}
		switch typ {
		case objCommit, objTree, objBlob, objTag:
		case objOfsDelta:
			c, err := d.br.ReadByte()
			if err != nil {
				return err
			}
			if err := skipVarint(d.br, c); err != nil {
				return err
			}
		case objRefDelta:
			// The base's name: 20 bytes, or 32 in a SHA-256 repository.
			// The pack header does not say which; the zlib header that
			// follows does.
			b, err := d.br.Peek(34)
			if len(b) < 22 {
				return err
			}
			switch {
			case zlibHeader(b[20], b[21]):
				d.br.Discard(20)
			case len(b) == 34 && zlibHeader(b[32], b[33]):
				d.br.Discard(32)
			default:
				return errBadPack
			}
		default:
			return errBadPack
		}
		// Objects are scanned separately: no match across two of them.
		d.sc.breakSeam()
		if err := d.inflate(sink); err != nil {
			return err
		}
	}
	return nil
}

// skipVarint reads the continuation bytes of a pack varint whose first byte
// is c. Git never writes more than 10.
func skipVarint(br *bufio.Reader, c byte) error {
	for i := 0; c&0x80 != 0; i++ {
		if i == 10 {
			return errBadPack
		}
		var err error
		if c, err = br.ReadByte(); err != nil {
			return err
		}
	}
	return nil
}
