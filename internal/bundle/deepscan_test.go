package bundle

// Unit tests of the deep scan's parts, at the edges WriteSeeds' tests do not
// reach: they go through whole files, which never put a classifier, a varint
// or the budget exactly at its limit.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

const unitPEM = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n"

func TestIsHex(t *testing.T) {
	for s, want := range map[string]bool{
		"":           true,
		"0123456789": true,
		"abcdef":     true,
		"09af":       true,
		"/":          false, // just below '0'
		":":          false, // just above '9'
		"`":          false, // just below 'a'
		"g":          false, // just above 'f'
		"A":          false,
		"00g":        false, // the last byte counts too
		"g00":        false,
	} {
		if got := isHex(s); got != want {
			t.Errorf("isHex(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestZlibHeader(t *testing.T) {
	for _, tc := range []struct {
		cmf, flg byte
		want     bool
	}{
		{0x78, 0x9c, true},  // what git and zlib write by default
		{0x78, 0x01, true},  // no compression
		{0x78, 0xda, true},  // best compression
		{0x08, 0x1d, true},  // the smallest window
		{0x78, 0x9d, false}, // bad check bits
		{0x79, 0x18, false}, // method 9, check bits right
		{0x88, 0x1c, false}, // window 8 (more than 32 KiB), check bits right
		{0x78, 0xbb, false}, // preset dictionary, check bits right
	} {
		if got := zlibHeader(tc.cmf, tc.flg); got != tc.want {
			t.Errorf("zlibHeader(%#02x, %#02x) = %v, want %v", tc.cmf, tc.flg, got, tc.want)
		}
	}
}

func TestIsLooseObject(t *testing.T) {
	sha1 := strings.Repeat("0a", 19)
	sha256 := strings.Repeat("f9", 31)
	for rel, want := range map[string]bool{
		"repo/.git/objects/ab/" + sha1:           true,
		"bare.git/objects/00/" + sha256:          true,
		"objects/ab/" + sha1:                     true,
		"repo/.git/objects/ab/" + sha1[1:]:       false, // 37 characters
		"repo/.git/objects/ab/" + sha1 + "0":     false, // 39
		"repo/.git/objects/ab/" + sha256[1:]:     false, // 61
		"repo/.git/objects/ab/" + sha1[1:] + "g": false,
		"repo/.git/objects/a/" + sha1:            false,
		"repo/.git/objects/abc/" + sha1:          false,
		"repo/.git/objects/ag/" + sha1:           false,
		"repo/.git/object/ab/" + sha1:            false,
		"repo/.git/objects/pack/" + sha1:         false,
	} {
		if got := isLooseObject(rel); got != want {
			t.Errorf("isLooseObject(%q) = %v, want %v", rel, got, want)
		}
	}
}

// TestDeepKindOf: each kind is told by its first bytes, the shortest head
// that says it included; anything else is not scanned.
func TestDeepKindOf(t *testing.T) {
	loose := "r/.git/objects/ab/" + strings.Repeat("c", 38)
	for _, tc := range []struct {
		rel, head string
		want      deepKind
	}{
		{"a", "\x1f\x8b\x08", deepGzip},
		{"a.gz", "\x1f\x8b\x08\x00rest", deepGzip},
		{loose, "\x1f\x8b\x08", deepGzip},
		{"a", "\x1f\x8b", deepNone},
		{"a", "\x1e\x8b\x08", deepNone},
		{"a", "\x1f\x8c\x08", deepNone},
		{"a", "\x1f\x8b\x09", deepNone},
		{"a", "PACK\x00\x00\x00\x02", deepPack},
		{"a", "PACK\x00\x00\x00\x03\x00\x00\x00\x01", deepPack},
		{"a", "PACK\x00\x00\x00\x01", deepNone},
		{"a", "PACK\x00\x00\x00\x04", deepNone},
		{"a", "PACK\x00\x00\x00", deepNone},
		{"a", "PACX\x00\x00\x00\x02", deepNone},
		{loose, "\x78\x9c", deepLoose},
		{loose, "\x78\x9cdata", deepLoose},
		{loose, "\x78", deepNone},
		{loose, "\x78\x9d", deepNone},
		{"r/notes.txt", "\x78\x9c", deepNone},
		{"a", "", deepNone},
		{loose, "", deepNone},
	} {
		if got := deepKindOf(tc.rel, []byte(tc.head)); got != tc.want {
			t.Errorf("deepKindOf(%q, %q) = %v, want %v", tc.rel, tc.head, got, tc.want)
		}
	}
}

func TestDeepScanBudget(t *testing.T) {
	if got := deepScanBudget(0); got != deepScanMin {
		t.Errorf("deepScanBudget(0) = %d, want the minimum %d", got, deepScanMin)
	}
	if got, want := deepScanBudget(1<<30), int64(deepScanRatio)<<30; got != want {
		t.Errorf("deepScanBudget(1 GiB) = %d, want %d", got, want)
	}
}

// TestSkipVarint: a varint ends at its first byte without the high bit; ten
// continuation bytes are allowed, an eleventh is a bad pack.
func TestSkipVarint(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first byte
		rest  string
		err   error
	}{
		{"one byte", 0x05, "Z", nil},
		{"three bytes", 0x85, "\x81\x01Z", nil},
		{"ten continuation bytes", 0x80, strings.Repeat("\x80", 9) + "\x01Z", nil},
		{"eleven continuation bytes", 0x80, strings.Repeat("\x80", 10) + "\x01Z", errBadPack},
		{"cut short", 0x80, "\x80", io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tc.rest))
			err := skipVarint(br, tc.first)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if tc.err == nil {
				if c, err := br.ReadByte(); err != nil || c != 'Z' {
					t.Fatalf("next byte %q, %v: the varint was not read to its end, or past it", c, err)
				}
			}
		})
	}
}

// TestDeepSinkBudget: the budget is spent exactly before it stops the scan,
// and a key in the part that fits is still a key.
func TestDeepSinkBudget(t *testing.T) {
	t.Run("exactly the budget", func(t *testing.T) {
		s := &deepSink{sc: newKeyScanner(), budget: 4}
		if n, err := s.Write([]byte("abcd")); n != 4 || err != nil {
			t.Fatalf("a write of the whole budget: %d, %v", n, err)
		}
		if _, err := s.Write([]byte("e")); !errors.Is(err, errDeepBudget) {
			t.Fatalf("a byte past the budget: %v, want %v", err, errDeepBudget)
		}
	})
	t.Run("key before the bound", func(t *testing.T) {
		s := &deepSink{sc: newKeyScanner(), budget: int64(len(unitPEM))}
		if _, err := s.Write([]byte(unitPEM + "more")); !errors.Is(err, errDeepFound) {
			t.Fatalf("%v, want %v", err, errDeepFound)
		}
	})
	t.Run("no key", func(t *testing.T) {
		s := &deepSink{sc: newKeyScanner(), budget: 1 << 10}
		if n, err := s.Write([]byte("plain text")); n != 10 || err != nil {
			t.Fatalf("%d, %v", n, err)
		}
	})
	// Through a whole scan: content of exactly the budget is not cut.
	t.Run("scan", func(t *testing.T) {
		content := make([]byte, 200<<10)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(content)
		zw.Close()
		size := int64(gz.Len())
		if deepScanRatio*size >= int64(len(content)) {
			t.Fatalf("the fixture compresses too little (%d bytes)", size)
		}
		defer func(old int64) { deepScanMin = old }(deepScanMin)
		d := newDeepScanner()
		for _, tc := range []struct {
			min       int64
			truncated bool
		}{{int64(len(content)), false}, {int64(len(content)) - 1, true}} {
			deepScanMin = tc.min
			if found, truncated := d.scan(bytes.NewReader(gz.Bytes()), deepGzip, size); found != "" || truncated != tc.truncated {
				t.Errorf("budget %d for %d bytes: found %q, truncated %v", tc.min, len(content), found, truncated)
			}
		}
	})
}

// packFile assembles a packfile: the header with count, then objects, each
// already encoded.
func packFile(count uint32, objects ...[]byte) []byte {
	b := []byte("PACK\x00\x00\x00\x02\x00\x00\x00\x00")
	binary.BigEndian.PutUint32(b[8:], count)
	for _, o := range objects {
		b = append(b, o...)
	}
	return append(b, make([]byte, 20)...) // the trailer's place
}

// packObject encodes one object: type and size, then what follows the
// header for its type (a base offset or name), then its data deflated.
func packObject(typ byte, base []byte, data string) []byte {
	size := len(data)
	c := typ<<4 | byte(size&0x0f)
	size >>= 4
	var b []byte
	for size > 0 {
		b = append(b, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	b = append(b, c)
	b = append(b, base...)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(data))
	zw.Close()
	return append(b, z.Bytes()...)
}

// TestDeepScanPack: every kind of object is scanned, a REF_DELTA's base
// named by SHA-1 or SHA-256 alike, and only the objects the header counts.
func TestDeepScanPack(t *testing.T) {
	clean := packObject(objBlob, nil, strings.Repeat("nothing to see\n", 40))
	sha1Base := bytes.Repeat([]byte{0xaa}, 20)
	sha256Base := make([]byte, 32) // bytes 20 and 21 are no zlib header
	for _, tc := range []struct {
		name string
		pack []byte
		want string
	}{
		{"blob", packFile(2, clean, packObject(objBlob, nil, unitPEM)), "a PEM private key"},
		{"ofs delta", packFile(2, clean, packObject(objOfsDelta, []byte{0x81, 0x01}, "delta "+unitPEM)), "a PEM private key"},
		{"ref delta, SHA-1 base", packFile(2, clean, packObject(objRefDelta, sha1Base, "delta "+unitPEM)), "a PEM private key"},
		{"ref delta, SHA-256 base", packFile(2, clean, packObject(objRefDelta, sha256Base, "delta "+unitPEM)), "a PEM private key"},
		{"third of three", packFile(3, clean, clean, packObject(objTag, nil, unitPEM)), "a PEM private key"},
		// Past the count is the trailer: git reads no object there.
		{"past the count", packFile(1, clean, packObject(objBlob, nil, unitPEM)), ""},
		{"no objects", packFile(0, packObject(objBlob, nil, unitPEM)), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			found, truncated := newDeepScanner().scan(bytes.NewReader(tc.pack), deepPack, int64(len(tc.pack)))
			if found != tc.want || truncated {
				t.Fatalf("found %q, truncated %v; want %q", found, truncated, tc.want)
			}
		})
	}
}
