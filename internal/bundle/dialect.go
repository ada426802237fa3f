package bundle

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// The tar dialect (docs/bundle.md, "The tar dialect") is the one kind of
// tar stream the writer produces and the only one a reader accepts. Go's
// archive/tar and GNU tar agree inside it; outside it they do not (GNU
// long names beside PAX records, owner names beside owner numbers, global
// headers, data on a symlink), so an archive that a check passed could
// unpack into something else on a host.
//
// tarCheck judges a tar stream by its header fields, as the bytes go by:
// the writer writes through it, the reader reads through it (a tee in
// front of archive/tar), so it never holds more than one block and the
// records of one extended header. A stream it cannot take is a fatal
// *dialectError; a well-formed entry with a value the writer never writes
// (an owner, a setuid bit, a hard link) is an issue of that entry, and the
// walk goes on so that every such entry is reported.
//
// What it accepts is exactly what archive/tar's Writer makes of the
// headers the writer passes it (see write.go): ustar headers (magic
// "ustar\x00", version "00"), numbers as zero-padded octal ending in NUL,
// string fields as ASCII ending in NULs, and a PAX extended header ('x')
// only where ustar cannot hold a value, with the ustar fields the Writer
// then fills in.

const (
	blockSize = 512
	// maxPAX caps the records of one extended header, as archive/tar's
	// reader does: a path and a link target take a few KiB.
	maxPAX = 1 << 20
	// ustarMax is the first number a 12-byte octal field cannot hold.
	ustarMax = 1 << 33
)

// dialectError is a stream outside the dialect. Its entry is the name GNU
// tar would give the entry ("" when there is none yet); what it says is a
// whole problem message.
type dialectError struct {
	entry, reason string
}

func (e *dialectError) Error() string {
	if e.entry == "" {
		return e.reason
	}
	return fmt.Sprintf("entry %q %s", e.entry, e.reason)
}

// tarEntry is an entry header as the dialect reads it.
type tarEntry struct {
	name, link   string // name as stored (a directory's ends in "/")
	typ          byte
	mode, size   int64
	mtime        int64
	uid, gid     int64
	uname, gname string
}

// paxRecords are the records of an extended header, in order, waiting
// for the entry they describe.
type paxRecords struct {
	keys       []string
	vals       map[string]string
	path, link string // the path and linkpath records, when present
	hasPath    bool
	hasLink    bool
	headerName string // the extended header's own name field
	offset     int64
}

// tarCheck is fed a tar stream in chunks of any size; see the top of the
// file.
type tarCheck struct {
	blk  [blockSize]byte
	n    int   // bytes of blk filled
	off  int64 // offset of the stream fed so far
	data int64 // data bytes of the current member still to come
	pad  int64 // zero padding after them still to come
	// pax collects the data of an extended header; nil for file data.
	pax  []byte
	recs *paxRecords // records waiting for their entry
	ends int         // zero blocks seen at the end
	// entry is the last entry header read, issues what is wrong with it.
	entry  tarEntry
	issues []string
	err    error
	// writing makes every issue fatal: the writer refuses what a reader
	// would report.
	writing bool
}

// Write feeds p to the check. It fails, and keeps failing, at the first
// byte outside the dialect.
func (c *tarCheck) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	total := len(p)
	for len(p) > 0 && c.err == nil {
		var k int
		switch {
		case c.data > 0:
			k = int(min(int64(len(p)), c.data))
			if c.pax != nil {
				c.pax = append(c.pax, p[:k]...)
			}
			c.data -= int64(k)
			c.off += int64(k)
			if c.data == 0 && c.pax != nil {
				c.readPAX()
			}
		case c.pad > 0:
			k = int(min(int64(len(p)), c.pad))
			if i := bytes.IndexFunc(p[:k], func(r rune) bool { return r != 0 }); i >= 0 {
				c.fail("", "unreadable archive: the padding at byte %d is not zeros", c.off+int64(i))
			}
			c.pad -= int64(k)
			c.off += int64(k)
		default:
			k = copy(c.blk[c.n:], p)
			c.n += k
			c.off += int64(k)
			if c.n == blockSize {
				c.n = 0
				c.block()
			}
		}
		p = p[k:]
	}
	if c.err != nil {
		return 0, c.err
	}
	return total, nil
}

// end says whether the stream fed so far is a whole archive: it must end
// with at least two zero blocks and nothing else after them.
func (c *tarCheck) end() error {
	switch {
	case c.err != nil:
		return c.err
	case c.n != 0 || c.data > 0 || c.pad > 0:
		c.fail("", "unreadable archive: truncated archive (it ends inside a block)")
	case c.recs != nil:
		c.fail("", "unreadable archive: it ends after an extended header")
	case c.ends < 2:
		c.fail("", "unreadable archive: it does not end with two zero blocks")
	}
	return c.err
}

func (c *tarCheck) fail(entry, format string, args ...any) {
	if c.err == nil {
		c.err = &dialectError{entry: entry, reason: fmt.Sprintf(format, args...)}
	}
}

// block judges one header block (or a zero block at the end).
func (c *tarCheck) block() {
	b := c.blk[:]
	at := c.off - blockSize
	if c.ends > 0 || zero(b) {
		switch {
		case !zero(b):
			c.fail("", "unreadable archive: data after the end of the archive (byte %d)", at)
		case c.recs != nil:
			c.fail(c.recs.path, "unreadable archive: an extended header at byte %d is followed by the end of the archive", c.recs.offset)
		}
		c.ends++
		return
	}
	if !checksumOK(b) {
		c.fail("", "unreadable archive: the block at byte %d is not a tar header (bad checksum)", at)
		return
	}
	name := c.rawName(b)
	h := tarEntry{typ: b[156], link: cstr(b[157:257])}
	switch magic := string(b[257:265]); magic {
	case "ustar\x0000":
	case "ustar  \x00":
		c.fail(name, "is %s in a GNU-format header: only POSIX ustar headers are read", entryKind(&h))
		return
	default:
		c.fail(name, "is not a POSIX ustar header (magic %q)", magic)
		return
	}
	// Other typeflags change how later headers are read (GNU long names,
	// global headers, sparse maps) or are read differently by different
	// tars: the walk ends.
	if strings.IndexByte("0521346x", h.typ) < 0 {
		c.fail(name, "is %s: not part of the tar dialect", entryKind(&h))
		return
	}
	for _, f := range []struct {
		what string
		b    []byte
		v    *int64
	}{
		{"mode", b[100:108], &h.mode}, {"uid", b[108:116], &h.uid}, {"gid", b[116:124], &h.gid},
		{"size", b[124:136], &h.size}, {"mtime", b[136:148], &h.mtime},
	} {
		v, ok := octal(f.b)
		if !ok {
			c.fail(name, "has a %s field that is not zero-padded octal ending in NUL%s", f.what, base256Note(f.b))
			return
		}
		*f.v = v
	}
	// archive/tar's Writer fills the device fields of an entry (with
	// zeros) and leaves those of an extended header empty.
	for _, f := range []struct {
		what string
		b    []byte
	}{{"device major", b[329:337]}, {"device minor", b[337:345]}} {
		if _, ok := octal(f.b); h.typ == 'x' && !zero(f.b) || h.typ != 'x' && !ok {
			c.fail(name, "has a %s field unlike the writer's%s", f.what, base256Note(f.b))
			return
		}
	}
	if !zero(b[500:512]) {
		c.fail(name, "has bytes after the prefix field, where no ustar reader looks")
		return
	}
	var fields [5]string
	for i, f := range []struct {
		what string
		b    []byte
	}{{"name", b[0:100]}, {"link name", b[157:257]}, {"user name", b[265:297]}, {"group name", b[297:329]}, {"prefix", b[345:500]}} {
		s, ok := field(f.b)
		// A value from an extended header fills its field the way
		// entryHeader checks.
		fromPAX := c.recs != nil && (i == 0 && c.recs.hasPath || i == 1 && c.recs.hasLink)
		if !ok && !fromPAX {
			c.fail(name, "has a %s field that is not ASCII ending in NULs", f.what)
			return
		}
		fields[i] = s
	}
	h.link, h.uname, h.gname = fields[1], fields[2], fields[3]
	if h.typ == 'x' {
		c.extended(name, h, fields[4], at)
		return
	}
	c.entryHeader(b, h, fields[4])
}

// rawName is an entry's name as its ustar fields give it, for messages
// about a header that may not be read any further.
func (c *tarCheck) rawName(b []byte) string {
	if c.recs != nil && c.recs.path != "" {
		return c.recs.path
	}
	name := cstr(b[0:100])
	if prefix := cstr(b[345:500]); prefix != "" && string(b[257:263]) == "ustar\x00" {
		name = prefix + "/" + name
	}
	return name
}

// extended starts an extended header ('x'): its data comes next.
func (c *tarCheck) extended(name string, h tarEntry, prefix string, at int64) {
	switch {
	case c.recs != nil:
		c.fail(name, "has two extended headers in a row: readers disagree on which one applies")
	case h.uid != 0 || h.gid != 0 || h.uname != "" || h.gname != "" || h.link != "" || prefix != "" || h.mode&^0o777 != 0:
		c.fail(name, "is an extended header with owner, mode, link or prefix fields the writer never sets")
	case h.size == 0 || h.size > maxPAX:
		c.fail(name, "is an extended header of %d bytes (the writer's hold 1 to %d)", h.size, maxPAX)
	default:
		c.pax = make([]byte, 0, h.size)
		c.data, c.pad = h.size, padding(h.size)
		c.recs = &paxRecords{headerName: name, offset: at}
	}
}

// readPAX reads the records of the extended header just collected; the
// entry they describe judges them.
func (c *tarCheck) readPAX() {
	r := c.recs
	data := c.pax
	c.pax = nil
	r.vals = map[string]string{}
	for len(data) > 0 {
		k, v, rest, ok := paxRecord(data)
		if !ok {
			c.fail(r.headerName, "has an extended header at byte %d with a malformed record", r.offset)
			return
		}
		if _, dup := r.vals[k]; dup {
			c.fail(r.headerName, "has an extended header that holds %q twice: readers disagree on which one applies", k)
			return
		}
		data = rest
		r.keys = append(r.keys, k)
		r.vals[k] = v
	}
	r.path, r.hasPath = r.vals["path"]
	r.link, r.hasLink = r.vals["linkpath"]
	name := r.headerName
	for _, k := range []string{"GNU.sparse.name", "path"} {
		if v := r.vals[k]; v != "" {
			name = v
		}
	}
	// archive/tar's reader refuses these as soon as it has read them, and
	// says only "invalid tar header".
	for _, k := range r.keys {
		switch v := r.vals[k]; {
		case (k == "path" || k == "linkpath") && v == "":
			c.fail(name, "has an empty %s record", k)
		case strings.IndexByte(v, 0) >= 0 && strings.Contains(" path linkpath uname gname ", " "+k+" "):
			c.fail(name, "has a %s record holding NUL", k)
		case strings.HasPrefix(k, "GNU.sparse."):
			c.fail(name, "is a sparse file (extended header record %q): not part of the tar dialect", k)
		}
	}
}

// entryHeader judges an entry's header, with the records before it.
func (c *tarCheck) entryHeader(b []byte, h tarEntry, prefix string) {
	c.entry, c.issues = tarEntry{}, nil
	r := c.recs
	c.recs = nil
	if r == nil {
		r = &paxRecords{}
	}
	name := cstr(b[0:100])
	if prefix != "" {
		name = prefix + "/" + name
	}
	if r.path != "" {
		name = r.path
	}
	var size, mtime int64
	var hasSize, hasMtime bool
	for _, k := range r.keys {
		v := r.vals[k]
		switch k {
		case "path", "linkpath":
		case "size", "mtime":
			n, ok := decimal(v)
			switch {
			case !ok:
				c.fail(name, "has the extended header record %s=%q, not a whole number", k, v)
			case k == "size":
				size, hasSize = n, true
			default:
				mtime, hasMtime = n, true
			}
		default:
			c.fail(name, "has the extended header record %q: the writer stores only path, linkpath, size and mtime there", k)
		}
	}
	if c.err != nil {
		return
	}
	// The name and the link target: from the records when there are, and
	// then the ustar fields hold what archive/tar's Writer puts there, so
	// that a reader that ignores extended headers sees no other name.
	h.name = name
	switch {
	case r.hasPath && (prefix != "" || !bytes.Equal(b[0:100], goField(100, r.path))):
		c.fail(name, "has a name field %q that is not its path record as the writer shortens it: a reader that ignores extended headers would see another name", cstr(b[0:100]))
	case r.hasPath && isASCII(r.path) && len(r.path) <= 100:
		c.fail(name, "has a path record for a name its ustar header can hold")
	case r.hasLink && !bytes.Equal(b[157:257], goField(100, r.link)):
		c.fail(name, "has a link name field %q that is not its linkpath record as the writer shortens it", cstr(b[157:257]))
	case r.hasLink && isASCII(r.link) && len(r.link) <= 100:
		c.fail(name, "has a linkpath record for a target its ustar header can hold")
	case prefix != "" && len(h.name) <= 100:
		c.fail(name, "has a prefix field for a name its name field can hold")
	case hasSize && (h.typ != '0' || h.size != 0 || size < ustarMax):
		c.fail(name, "has a size record where its ustar size field can hold the size")
	case hasMtime && (h.mtime != 0 || mtime < ustarMax):
		c.fail(name, "has an mtime record where its ustar mtime field can hold the time")
	}
	if c.err != nil {
		return
	}
	if r.hasLink {
		h.link = r.link
	}
	if hasSize {
		h.size = size
	}
	if hasMtime {
		h.mtime = mtime
	}
	if msg := checkName(h.name, h.typ); msg != "" {
		c.fail(name, "%s", msg)
		return
	}
	switch h.typ {
	case '0':
		c.data, c.pad = h.size, padding(h.size)
		if h.link != "" {
			c.fail(name, "is a regular file with a link name")
		}
	case '5', '2', '1', '3', '4', '6':
		if h.size != 0 {
			c.fail(name, "is %s with %d bytes of data: tar readers disagree on whether they are data or more entries", entryKind(&h), h.size)
		}
		if h.typ == '5' && h.link != "" {
			c.fail(name, "is a directory with a link name")
		}
		if h.typ == '2' && h.link == "" {
			c.fail(name, "is a symlink without a target")
		}
	}
	if c.err != nil {
		return
	}
	c.entry = h
	switch h.typ {
	case '1', '3', '4', '6':
		c.issues = append(c.issues, fmt.Sprintf("is %s: the writer stores only files, directories and symlinks", entryKind(&h)))
	default:
		major, _ := octal(b[329:337])
		minor, _ := octal(b[337:345])
		if major != 0 || minor != 0 {
			c.issues = append(c.issues, "has device numbers: the writer stores none")
		}
	}
	if h.uid != 0 || h.gid != 0 {
		c.issues = append(c.issues, fmt.Sprintf("is owned by %d:%d, not root: a host's tar would keep that owner", h.uid, h.gid))
	}
	if names := ownerNames(h.uname, h.gname); names != "" {
		c.issues = append(c.issues, fmt.Sprintf("names its %s: GNU tar as root goes by the names, not by uid and gid", names))
	}
	switch {
	case h.mode&^0o7777 != 0:
		c.issues = append(c.issues, fmt.Sprintf("has mode %o: the writer stores only permission bits", h.mode))
	case h.mode&0o7000 != 0:
		c.issues = append(c.issues, fmt.Sprintf("has mode %04o: setuid, setgid and sticky bits are never written", h.mode))
	}
	if c.writing && len(c.issues) > 0 {
		c.fail(name, "%s", c.issues[0])
	}
}

// ownerNames describes the user and group names of a header, "" when it
// has none.
func ownerNames(user, group string) string {
	switch {
	case user != "" && group != "":
		return fmt.Sprintf("owner %q and group %q", user, group)
	case user != "":
		return fmt.Sprintf("owner %q", user)
	case group != "":
		return fmt.Sprintf("group %q", group)
	}
	return ""
}

// checkName says why an entry name (as stored, a directory's ending in
// "/") is not one the writer produces, or "".
func checkName(name string, typ byte) string {
	trimmed := strings.TrimSuffix(name, "/")
	switch {
	case trimmed == "":
		return "has an empty name"
	case strings.HasPrefix(name, "/"):
		return "is an absolute path"
	case strings.ContainsRune(name, 0) || strings.Contains(name, `\`):
		return "has a forbidden character (NUL or backslash)"
	case trimmed == "." || strings.HasPrefix(name, "./"):
		return `starts with "./": the writer stores names without it`
	}
	for _, seg := range strings.Split(trimmed, "/") {
		if seg == ".." {
			return "climbs out of the archive root (..)"
		}
	}
	switch {
	case path.Clean(trimmed) != trimmed:
		return "is not a clean path"
	case typ == '5' && !strings.HasSuffix(name, "/"):
		return `is a directory whose name does not end in "/"`
	case typ != '5' && strings.HasSuffix(name, "/"):
		// GNU tar takes any entry whose name ends in "/" for a directory
		// and reads its data as more headers, which Go's reader never sees.
		return fmt.Sprintf(`ends in "/" but is %s: GNU tar would read its data as more entries`, entryKind(&tarEntry{typ: typ}))
	}
	return ""
}

// entryKind says what kind of entry h is, as in "is a symlink".
func entryKind(h *tarEntry) string {
	switch h.typ {
	case '0':
		return "a regular file"
	case '5':
		return "a directory"
	case '2':
		return fmt.Sprintf("a symlink to %q", h.link)
	case '1':
		return fmt.Sprintf("a hard link to %q", h.link)
	case '3':
		return "a character device"
	case '4':
		return "a block device"
	case '6':
		return "a fifo"
	case 'g':
		return "a global extended header (it would apply to every later entry)"
	case 'L':
		return "a GNU long name (typeflag 'L')"
	case 'K':
		return "a GNU long link name (typeflag 'K')"
	case 'S':
		return "a sparse file (GNU typeflag 'S')"
	}
	return fmt.Sprintf("an entry of typeflag %q", h.typ)
}

// checksumOK checks a header's checksum field: six octal digits, NUL and
// a space, holding the unsigned sum of the block with the field as spaces.
func checksumOK(b []byte) bool {
	f := b[148:156]
	if f[6] != 0 || f[7] != ' ' {
		return false
	}
	want, ok := octal(f[:7])
	if !ok {
		return false
	}
	var sum int64
	for i, c := range b {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	return sum == want
}

// octal reads a numeric field as the writer writes it: len(f)-1 octal
// digits, then NUL.
func octal(f []byte) (int64, bool) {
	if f[len(f)-1] != 0 {
		return 0, false
	}
	var v int64
	for _, c := range f[:len(f)-1] {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v<<3 | int64(c-'0')
	}
	return v, true
}

func base256Note(f []byte) string {
	if f[0]&0x80 != 0 {
		return " (it is base-256)"
	}
	return ""
}

// decimal reads a PAX number as the writer writes it: decimal digits, no
// sign, no leading zero.
func decimal(s string) (int64, bool) {
	if s == "" || s[0] == '0' && len(s) > 1 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// field reads a string field: ASCII bytes other than NUL, then NULs to the
// end of the field.
func field(f []byte) (string, bool) {
	s := cstr(f)
	return s, isASCII(s) && zero(f[len(s):])
}

// cstr is a field up to its first NUL.
func cstr(f []byte) string {
	if i := bytes.IndexByte(f, 0); i >= 0 {
		return string(f[:i])
	}
	return string(f)
}

// goField is the n-byte field archive/tar's Writer fills from a value that
// needed an extended header: the value without its non-ASCII characters,
// cut to the field, NUL-terminated when shorter, and with a trailing "/"
// of a cut value replaced by NUL.
func goField(n int, s string) []byte {
	var a []byte
	for _, r := range s {
		if r < 0x80 && r != 0 {
			a = append(a, byte(r))
		}
	}
	b := make([]byte, n)
	copy(b, a)
	if len(a) > n && b[n-1] == '/' {
		b[len(strings.TrimRight(string(a[:n-1]), "/"))] = 0
	}
	return b
}

// paxRecord splits the first record off data: "<length> <key>=<value>\n",
// its length in decimal without a leading zero, counting itself.
func paxRecord(data []byte) (k, v string, rest []byte, ok bool) {
	length, _, found := bytes.Cut(data, []byte(" "))
	n, ok := decimal(string(length))
	// The shortest record is its length, a space, "k=" and a newline.
	if !found || !ok || n < int64(len(length))+4 || n > int64(len(data)) || data[n-1] != '\n' {
		return "", "", nil, false
	}
	k, v, found = strings.Cut(string(data[len(length)+1:n-1]), "=")
	if !found || k == "" || strings.IndexByte(k, 0) >= 0 {
		return "", "", nil, false
	}
	return k, v, data[n:], true
}

func padding(size int64) int64 { return -size & (blockSize - 1) }

func zero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
