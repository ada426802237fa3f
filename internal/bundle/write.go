// Package bundle writes and reads the two archives a host downloads at boot.
//
// secrets.tar.zst holds the age identity at the top (clawdinator.agekey,
// 0400) and a secrets/ directory (0700) of *.age files (0400).
// repo-seeds.tar.zst holds the repo-seeds tree with modes and relative
// symlinks kept. Both are deterministic: entries sorted, owners 0, one fixed
// mtime, the same zstd settings, so the same inputs give the same bytes.
//
// The writer streams: the repo-seeds tree is read file by file and never
// held in memory. The reader is strict and bounded: it accepts only the
// layout above and caps decompressed size, entry count and zstd window.
package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// Names of the entries that form the host contract (the objects that hold
// them are named in internal/layout).
const (
	KeyEntry   = "clawdinator.agekey"
	SecretsDir = "secrets"
	// StatementEntry is the statement the key vouches for (see
	// internal/manifest): a top-level file that hosts extract and ignore.
	StatementEntry = "clawdinator.bundle.json"
)

// SecretFile is one encrypted secret to bundle, held as ciphertext: the gate
// checked these exact bytes, so what ships is what was checked.
type SecretFile struct {
	Name string
	Data []byte
}

// secretsEncoders holds the single-threaded encoders WriteSecrets reuses.
var secretsEncoders sync.Pool

// newEncoder returns a zstd writer with the settings every archive uses.
// Output is deterministic for a given input and level.
func newEncoder(w io.Writer, concurrency int) (*zstd.Encoder, error) {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	return zstd.NewWriter(w,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(concurrency),
		zstd.WithEncoderCRC(true),
		zstd.WithWindowSize(4<<20),
	)
}

// WriteSecrets writes secrets.tar.zst to w: key as clawdinator.agekey, the
// statement as clawdinator.bundle.json (none when statement is nil: only
// tests make such bundles, as older versions did), then secrets/ and each
// file in name order.
func WriteSecrets(w io.Writer, key, statement []byte, secrets []SecretFile, mtime time.Time) error {
	// Making an encoder costs more than a small archive does: they are
	// reused (Reset starts an independent stream, the same bytes).
	zw, _ := secretsEncoders.Get().(*zstd.Encoder)
	if zw == nil {
		var err error
		if zw, err = newEncoder(w, 1); err != nil {
			return err
		}
	} else {
		zw.Reset(w)
	}
	defer func() {
		zw.Reset(nil)
		secretsEncoders.Put(zw)
	}()
	// The dialect check sees every byte before the output does.
	check := &tarCheck{writing: true}
	tw := tar.NewWriter(io.MultiWriter(check, zw))
	hdr := func(name string, mode int64, typ byte, size int64) *tar.Header {
		return &tar.Header{Name: name, Mode: mode, Typeflag: typ, Size: size, ModTime: mtime}
	}
	if err := writeFile(tw, hdr(KeyEntry, 0o400, tar.TypeReg, int64(len(key))), key); err != nil {
		return err
	}
	if statement != nil {
		if err := writeFile(tw, hdr(StatementEntry, 0o400, tar.TypeReg, int64(len(statement))), statement); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(hdr(SecretsDir+"/", 0o700, tar.TypeDir, 0)); err != nil {
		return err
	}
	sorted := append([]SecretFile(nil), secrets...)
	sortSecrets(sorted)
	for i, s := range sorted {
		if i > 0 && sorted[i-1].Name == s.Name {
			return fmt.Errorf("secret %s listed twice", s.Name)
		}
		if err := writeFile(tw, hdr(SecretsDir+"/"+s.Name, 0o400, tar.TypeReg, int64(len(s.Data))), s.Data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := check.end(); err != nil {
		return err
	}
	return zw.Close()
}

func sortSecrets(s []SecretFile) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Name < s[j-1].Name; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func writeFile(tw *tar.Writer, h *tar.Header, data []byte) error {
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// SeedsOptions tunes WriteSeeds.
type SeedsOptions struct {
	// Mtime is stamped on every entry.
	Mtime time.Time
	// AllowKeys lists paths (globs, or directories) inside the tree that may
	// contain a private key, such as a project's test fixtures.
	AllowKeys []string
	// Concurrency is the number of zstd encoder goroutines (0: GOMAXPROCS).
	Concurrency int
	// Progress, when set, is called with the running count of input bytes.
	Progress func(n int64)
	// TarHash, when set, also receives the uncompressed tar stream.
	TarHash io.Writer
}

// WriteSeeds writes the tree at root as repo-seeds.tar.zst to w, checking it
// on the way: anything that escapes the root (absolute or outside-pointing
// symlinks), special files (devices, fifos, sockets) and any file holding an
// age identity, a PEM private key or a PuTTY private key, in plain text or
// in gzip or git-compressed content (see deepscan.go), become problems
// naming the path. When error problems are returned the output is
// incomplete and must be discarded; a warning says a compressed file was
// scanned only up to its bound.
func WriteSeeds(w io.Writer, root string, opt SeedsOptions) (problem.List, error) {
	probs := checkRoot(root)
	if len(probs) > 0 {
		return probs, nil
	}
	zw, err := newEncoder(w, opt.Concurrency)
	if err != nil {
		return nil, err
	}
	var tarOut io.Writer = zw
	if opt.TarHash != nil {
		tarOut = io.MultiWriter(zw, opt.TarHash)
	}
	probs, err = writeSeedsTar(tarOut, root, opt)
	if err != nil {
		zw.Close()
		return probs, err
	}
	return probs, zw.Close()
}

// WriteSeedsTar writes the uncompressed tar stream of WriteSeeds, with the
// same checks. Hashing it tells whether a tree's content changed without
// spending the time to compress it.
func WriteSeedsTar(w io.Writer, root string, opt SeedsOptions) (problem.List, error) {
	probs := checkRoot(root)
	if len(probs) > 0 {
		return probs, nil
	}
	return writeSeedsTar(w, root, opt)
}

// checkRoot says why root cannot be archived, if it cannot.
func checkRoot(root string) problem.List {
	var probs problem.List
	st, err := os.Stat(root)
	switch {
	case err != nil:
		probs.Add(problem.Problem{File: root, Message: "cannot read repo-seeds directory: " + errText(err)})
	case !st.IsDir():
		probs.Add(problem.Problem{File: root, Message: "repo-seeds is not a directory"})
	}
	return probs
}

func writeSeedsTar(w io.Writer, root string, opt SeedsOptions) (problem.List, error) {
	var probs problem.List
	// The dialect check sees every byte before w does: a header outside
	// it stops the archive.
	check := &tarCheck{writing: true}
	tw := tar.NewWriter(io.MultiWriter(check, w))
	fsc := &fileScan{sc: newKeyScanner(), buf: make([]byte, 256<<10)}
	var total int64
	used := map[int]bool{}

	walkErr := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if err != nil {
			probs.Errorf("", p, "cannot read: %s", errText(err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			probs.Errorf("", p, "cannot stat: %s", errText(err))
			return nil
		}
		if msg := checkName(rel, 0); msg != "" {
			probs.Errorf("", p, "%s: a host's archive never holds such a name", msg)
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		h := &tar.Header{Name: rel, ModTime: opt.Mtime, Mode: int64(info.Mode().Perm())}
		switch mode := info.Mode(); {
		case mode.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, rel+"/"
			return tw.WriteHeader(h)
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				probs.Errorf("", p, "cannot read symlink: %s", errText(err))
				return nil
			}
			if msg := checkLink(rel, target); msg != "" {
				probs.Errorf("", p, "%s", msg)
				return nil
			}
			sum := sha256.Sum256([]byte(target))
			h.Typeflag, h.Linkname, h.Mode, h.ModTime = tar.TypeSymlink, target, 0o777, entryMtime(sum[:])
			return tw.WriteHeader(h)
		case mode.IsRegular():
			// The mtime follows the content (entryMtime): hash the file
			// first, then check the bytes archived are the ones hashed.
			sum, err := fsc.sum(p)
			if err != nil {
				return err
			}
			h.Typeflag, h.Size, h.ModTime = tar.TypeReg, info.Size(), entryMtime(sum)
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			g := allowedBy(rel, opt.AllowKeys)
			if g >= 0 {
				used[g] = true
			}
			again := sha256.New()
			n, kind, truncated, err := fsc.archiveFile(io.MultiWriter(tw, again), p, rel, info.Size(), g < 0)
			if err != nil {
				return err
			}
			if !bytes.Equal(again.Sum(nil), sum) {
				return fmt.Errorf("read %s: file changed while archiving", p)
			}
			switch {
			case kind != "":
				probs.Errorf("", p, "holds %s: repo-seeds must not carry keys; if it is a cloned project's test fixture, pass repo-seeds-allow-keys: %s (this file) or %s (its directory), paths relative to repo-seeds", kind, rel, path.Dir(rel))
			case truncated:
				probs.Warn(problem.Problem{File: p, Message: fmt.Sprintf("decompresses to more than %d MiB: only that much was scanned for keys", deepScanBudget(info.Size())>>20)})
			}
			total += n
			if opt.Progress != nil {
				opt.Progress(total)
			}
			return nil
		default:
			probs.Errorf("", p, "is a %s: repo-seeds may hold only files, directories and relative symlinks", typeName(mode))
			return nil
		}
	})
	if walkErr != nil {
		return probs, walkErr
	}
	if err := tw.Close(); err != nil {
		return probs, err
	}
	probs = append(probs, unusedAllowKeys(root, opt.AllowKeys, used)...)
	return probs, check.end()
}

// unusedAllowKeys warns about each repo-seeds-allow-keys pattern that
// matched no file: a pattern that allows nothing is a mistake (most often
// a path written from the repository root, not from repo-seeds).
func unusedAllowKeys(root string, globs []string, used map[int]bool) problem.List {
	var probs problem.List
	base := filepath.ToSlash(filepath.Clean(root)) + "/"
	for i, g := range globs {
		if used[i] || strings.Trim(strings.TrimSpace(g), "/") == "" {
			continue
		}
		msg := fmt.Sprintf("%q matches no file in %s: patterns are paths relative to it", g, root)
		t := strings.TrimPrefix(strings.TrimSpace(g), "./")
		if rest, ok := strings.CutPrefix(t, base); ok && rest != "" {
			msg += fmt.Sprintf(": pass %q", rest)
		} else if rest, ok := strings.CutPrefix(t, path.Base(base)+"/"); ok && rest != "" {
			msg += fmt.Sprintf(": pass %q", rest)
		}
		probs.Warn(problem.Problem{Input: "repo-seeds-allow-keys", Message: msg})
	}
	return probs
}

// entryMtime is the mtime of a seeds entry whose content (a file's bytes,
// a symlink's target) has the SHA-256 sum: the first 30 bits of sum, in
// seconds since 1970 (so always before 2004, never in the future). A
// change of content changes the mtime (but for a chance of 2^-30), so that
// rsync -a, which skips a file of unchanged size and mtime, never skips a
// changed file (docs/bundle.md).
func entryMtime(sum []byte) time.Time {
	return time.Unix(int64(binary.BigEndian.Uint32(sum)>>2), 0).UTC()
}

// sum returns the SHA-256 of the file at p.
func (s *fileScan) sum(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, s.buf); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return h.Sum(nil), nil
}

// fileScan copies files into the archive while scanning them for keys.
type fileScan struct {
	sc  *keyScanner
	ds  *deepScanner // made on the first compressed file
	buf []byte
}

// copyFile writes the size bytes of the file at p to w. With scan set it
// returns the kind of key the plain or the deep scan found, or "", and
// whether the deep scan stopped at its bound. What w receives is exactly the
// file's bytes: the deep scan reads a compressed file a second time, after
// archiving it.
func (s *fileScan) copyFile(w io.Writer, p, rel string, size int64, scan bool) (n int64, kind string, truncated bool, err error) {
	f, head, err := s.open(p, size)
	if err != nil {
		return 0, "", false, err
	}
	defer f.Close()
	if !scan {
		n, err = s.copyAll(w, f, p, head, size)
		return n, "", false, err
	}
	deep := deepKindOf(rel, head) // before copyAll reuses head's buffer
	s.sc.reset()
	if n, err = s.copyAll(io.MultiWriter(w, s.sc), f, p, head, size); err != nil {
		return n, "", false, err
	}
	if kind = s.sc.found(); kind != "" || deep == deepNone {
		return n, kind, false, nil
	}
	if s.ds == nil {
		s.ds = newDeepScanner()
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return n, "", false, fmt.Errorf("read %s: %w", p, err)
	}
	kind, truncated = s.ds.scan(io.LimitReader(f, size), deep, size)
	return n, kind, truncated && kind == "", nil
}

// open opens the file at p and reads its first bytes, at most len(s.buf),
// into s.buf.
func (s *fileScan) open(p string, size int64) (f *os.File, head []byte, err error) {
	f, err = os.Open(p)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", p, err)
	}
	head = s.buf[:min(int64(len(s.buf)), size)]
	if _, err := io.ReadFull(f, head); err != nil {
		f.Close()
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, nil, changedSize(p)
		}
		return nil, nil, fmt.Errorf("read %s: %w", p, err)
	}
	return f, head, nil
}

// copyAll writes head, then the rest of f, to w: size bytes in all, or an
// error.
func (s *fileScan) copyAll(w io.Writer, f *os.File, p string, head []byte, size int64) (int64, error) {
	hn, err := w.Write(head)
	n := int64(hn)
	if err == nil {
		var rest int64
		rest, err = io.CopyBuffer(w, io.LimitReader(f, size-n), s.buf)
		n += rest
	}
	if err != nil {
		return n, fmt.Errorf("read %s: %w", p, err)
	}
	if n != size {
		return n, changedSize(p)
	}
	return n, nil
}

func changedSize(p string) error {
	return fmt.Errorf("read %s: file changed size while archiving", p)
}

func errText(err error) string {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// checkLink returns why a symlink at rel pointing to target escapes the tree,
// or "".
func checkLink(rel, target string) string {
	if target == "" {
		return "is an empty symlink"
	}
	if path.IsAbs(target) || filepath.IsAbs(target) {
		return fmt.Sprintf("is a symlink to the absolute path %q: only relative links inside repo-seeds are kept", target)
	}
	// A ".." after a name may climb out of a symlink rather than a
	// directory ("sub/up/.." with sub/up -> ".."), which the lexical check
	// below cannot see: allow ".." only at the start of the target.
	named := false
	for _, seg := range strings.Split(target, "/") {
		switch {
		case seg == ".." && named:
			return fmt.Sprintf("is a symlink to %q: a '..' after a directory name can leave repo-seeds through another symlink", target)
		case seg != "" && seg != "." && seg != "..":
			named = true
		}
	}
	resolved := path.Join(path.Dir(rel), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Sprintf("is a symlink to %q, outside repo-seeds", target)
	}
	return ""
}

// allowedBy returns the index of the first of globs that allows rel, or -1.
func allowedBy(rel string, globs []string) int {
	for i, g := range globs {
		g = strings.Trim(strings.TrimSpace(g), "/")
		if g == "" {
			continue
		}
		// The glob matches the path itself or any directory above it.
		for p := rel; p != "." && p != "/"; p = path.Dir(p) {
			if ok, _ := path.Match(g, p); ok {
				return i
			}
		}
	}
	return -1
}

// keyScanner looks for private key material in a stream: an age identity
// (AGE-SECRET-KEY-1 or -PQ-1 followed by Bech32 text), a PEM private key
// header or a PuTTY private key (.ppk, versions 2 and 3, whose first line is
// "PuTTY-User-Key-File-2: ssh-ed25519"). It keeps a small tail so matches that straddle writes are seen.
type keyScanner struct {
	tail []byte
	kind string
}

var (
	ageKeyRE = regexp.MustCompile(`AGE-SECRET-KEY-(PQ-)?1[02-9AC-HJ-NP-Z]{50}`)
	pemKeyRE = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----`)
	// The version and the colon after the literal keep prose that names the
	// format ("a PuTTY-User-Key-File-N header") from matching.
	ppkKeyRE = regexp.MustCompile(`PuTTY-User-Key-File-[0-9]+: *[a-z]`)
)

const scanTail = 128

func newKeyScanner() *keyScanner { return &keyScanner{tail: make([]byte, 0, 2*scanTail)} }

func (s *keyScanner) reset() { s.tail, s.kind = s.tail[:0], "" }

func (s *keyScanner) found() string { return s.kind }

// breakSeam forgets the tail, so no match spans what was written before and
// what comes after (two objects of a pack).
func (s *keyScanner) breakSeam() { s.tail = s.tail[:0] }

func (s *keyScanner) Write(p []byte) (int, error) {
	if s.kind != "" {
		return len(p), nil
	}
	// Check the seam between the previous write and this one.
	if len(s.tail) > 0 {
		head := p
		if len(head) > scanTail {
			head = head[:scanTail]
		}
		seam := append(s.tail, head...)
		s.check(seam)
		s.tail = seam[:len(s.tail)]
	}
	s.check(p)
	if len(p) >= scanTail {
		s.tail = append(s.tail[:0], p[len(p)-scanTail:]...)
	} else {
		s.tail = append(s.tail, p...)
		if len(s.tail) > scanTail {
			s.tail = append(s.tail[:0], s.tail[len(s.tail)-scanTail:]...)
		}
	}
	return len(p), nil
}

func (s *keyScanner) check(b []byte) {
	if s.kind != "" {
		return
	}
	// Cheap literal prefilters before the regular expressions.
	if bytes.Contains(b, []byte("AGE-SECRET-KEY-")) && ageKeyRE.Match(b) {
		s.kind = "an age identity"
		return
	}
	if bytes.Contains(b, []byte("PRIVATE KEY-----")) && pemKeyRE.Match(b) {
		s.kind = "a PEM private key"
		return
	}
	if bytes.Contains(b, []byte("PuTTY-User-Key-File-")) && ppkKeyRE.Match(b) {
		s.kind = "a PuTTY private key"
	}
}
