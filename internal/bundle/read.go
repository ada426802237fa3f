package bundle

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// Limits bound what reading one archive may cost.
type Limits struct {
	// MaxUnpacked caps the decompressed bytes read (tar headers included).
	MaxUnpacked int64
	// MaxEntries caps the number of tar entries.
	MaxEntries int
	// MaxWindow caps the zstd window, which bounds decoder memory.
	MaxWindow uint64
}

// SecretsLimits bound a secrets archive: a key and a few dozen small files.
var SecretsLimits = Limits{MaxUnpacked: 64 << 20, MaxEntries: 4096, MaxWindow: 8 << 20}

// SeedsLimits bound a deep verification of a repo-seeds archive. Memory is
// bounded by the window; the byte and entry caps bound time.
var SeedsLimits = Limits{MaxUnpacked: 64 << 30, MaxEntries: 5_000_000, MaxWindow: 8 << 20}

// maxMember caps one file of a secrets archive read into memory, checked on
// the tar header before reading: host secrets and the key are small (see
// publish.MaxSecretSize), and a bomb must not be buffered up to MaxUnpacked.
const maxMember = 1 << 20

// ErrTooLarge marks an archive that exceeded its Limits.
var ErrTooLarge = errors.New("archive exceeds its size limit")

// SecretInfo describes one secret found in a bundle. SHA256 is of the
// ciphertext, never of plaintext.
type SecretInfo struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// SecretsContents is what a verified secrets archive holds.
type SecretsContents struct {
	// Recipient is the bundled key's public recipient ("" if unreadable).
	Recipient string
	// Identity is the bundled key's canonical identity line: compare it,
	// never print it.
	Identity []byte
	Secrets  []SecretInfo
	// Statement holds the bytes of StatementEntry; nil when the archive has
	// none (made before statements). internal/manifest parses it.
	Statement []byte
	// Entries holds the bytes of the key entry and of each secret, by
	// entry name ("secrets/<name>.age"), for a host to install exactly
	// what was checked. The key is secret: never print it.
	Entries map[string][]byte
}

// VerifyOptions says what a secrets archive must hold.
type VerifyOptions struct {
	// Expected is the exact set of secret file names the bundle must hold;
	// nil skips the comparison.
	Expected []string
	// Forbidden, when set, returns why a secret name must not be in the
	// bundle (another instance's token, an excluded file), or "".
	Forbidden func(name string) string
	// ExpectedRecipient, when set, must equal the bundled key's recipient.
	ExpectedRecipient string
	// Limits default to SecretsLimits.
	Limits *Limits
	// Decrypted, when set with ExpectedRecipient, reports the SHA-256 (hex)
	// of ciphertexts already proven to decrypt with that recipient's key:
	// they are not decrypted again (publish's gate checked every file
	// once; its archives need not repeat it per instance).
	Decrypted func(sha256 string) bool
}

// VerifySecrets reads a secrets.tar.zst stream and proves a host could boot
// from it: the layout is exactly clawdinator.agekey plus secrets/*.age, the
// key parses, and every secret decrypts with it, read to EOF. Plaintext is
// discarded as it is read. Problems name the archive entry in File.
func VerifySecrets(r io.Reader, opt VerifyOptions) (*SecretsContents, problem.List) {
	lim := SecretsLimits
	if opt.Limits != nil {
		lim = *opt.Limits
	}
	var probs problem.List
	var keyData []byte
	var haveKey bool
	type entry struct {
		name string
		data []byte
	}
	var secrets []entry
	seen := map[string]bool{}

	var statement []byte
	err := walk(r, lim, &probs, func(h *tar.Header, name string, body io.Reader) error {
		if seen[name] {
			// A second entry would overwrite the first on extraction: a swap.
			probs.Entryf(name, "appears twice in the archive (a later copy would replace the first when a host extracts it)")
			return nil
		}
		seen[name] = true
		switch {
		case name == StatementEntry:
			if h.Typeflag != tar.TypeReg {
				probs.Entryf(name, "must be a regular file, found %s", entryType(h))
				return nil
			}
			if h.Size > maxMember {
				probs.Entryf(name, "is %d bytes, more than %d: not a statement", h.Size, maxMember)
				return nil
			}
			data, err := io.ReadAll(body)
			if err != nil {
				return err
			}
			statement = data
		case name == KeyEntry:
			if h.Typeflag != tar.TypeReg {
				probs.Entryf(name, "must be a regular file, found %s", entryType(h))
				return nil
			}
			if h.Size > maxMember {
				probs.Entryf(name, "is %d bytes, more than %d: not an age identity", h.Size, maxMember)
				return nil
			}
			data, err := io.ReadAll(body)
			if err != nil {
				return err
			}
			keyData, haveKey = data, true
		case name == SecretsDir:
			if h.Typeflag != tar.TypeDir {
				probs.Entryf(name, "must be a directory, found %s", entryType(h))
			}
		case strings.HasPrefix(name, SecretsDir+"/") && !strings.Contains(name[len(SecretsDir)+1:], "/"):
			base := name[len(SecretsDir)+1:]
			if h.Typeflag != tar.TypeReg {
				probs.Entryf(name, "must be a regular file, found %s", entryType(h))
				return nil
			}
			if !strings.HasSuffix(base, ".age") {
				probs.Entryf(name, "is not an .age file: only encrypted secrets may ship")
				return nil
			}
			if h.Size > maxMember {
				probs.Entryf(name, "is %d bytes, more than %d: not a host secret", h.Size, maxMember)
				return nil
			}
			data, err := io.ReadAll(body)
			if err != nil {
				return err
			}
			secrets = append(secrets, entry{base, data})
		default:
			probs.Entryf(name, "is not part of the bundle layout (only %s, %s and %s/*.age)", KeyEntry, StatementEntry, SecretsDir)
		}
		return nil
	})
	if err != nil {
		probs.Add(archiveProblem(err))
		return nil, probs
	}

	out := &SecretsContents{Statement: statement, Entries: map[string][]byte{}}
	if haveKey {
		out.Entries[KeyEntry] = keyData
	}
	for _, s := range secrets {
		out.Entries[SecretsDir+"/"+s.name] = s.data
	}
	var key *agekey.Key
	if !haveKey {
		probs.Entryf(KeyEntry, "missing: a host needs the age identity at the top of the archive")
	} else if key, err = agekey.Parse(keyData); err != nil {
		probs.Entryf(KeyEntry, "bad identity: %s", err)
	} else {
		out.Recipient, out.Identity = key.Recipient(), key.Canonical()
		if opt.ExpectedRecipient != "" && out.Recipient != opt.ExpectedRecipient {
			probs.Entryf(KeyEntry, "key is %s, expected-recipient is %s: the bundled key was rotated or swapped", out.Recipient, opt.ExpectedRecipient)
		}
	}

	sort.Slice(secrets, func(i, j int) bool { return secrets[i].name < secrets[j].name })
	got := map[string]bool{}
	for _, s := range secrets {
		got[s.name] = true
		sum := sha256.Sum256(s.data)
		out.Secrets = append(out.Secrets, SecretInfo{Name: s.name, Size: int64(len(s.data)), SHA256: hex.EncodeToString(sum[:])})
		if opt.Forbidden != nil {
			if why := opt.Forbidden(s.name); why != "" {
				probs.Entryf(SecretsDir+"/"+s.name, "must not be in this bundle: %s", why)
			}
		}
		known := opt.Decrypted != nil && opt.ExpectedRecipient != "" && out.Recipient == opt.ExpectedRecipient && opt.Decrypted(hex.EncodeToString(sum[:]))
		if key != nil && !known {
			if _, err := agekey.Check(strings.NewReader(string(s.data)), key); err != nil {
				probs.Entryf(SecretsDir+"/"+s.name, "does not decrypt with the bundled key: %s", err)
			}
		}
	}
	if opt.Expected != nil {
		for _, name := range opt.Expected {
			if !got[name] {
				probs.Entryf(SecretsDir+"/"+name, "planned but missing from the bundle")
			}
		}
		want := map[string]bool{}
		for _, name := range opt.Expected {
			want[name] = true
		}
		for _, s := range secrets {
			if !want[s.name] && (opt.Forbidden == nil || opt.Forbidden(s.name) == "") {
				probs.Entryf(SecretsDir+"/"+s.name, "is in the bundle but not in the plan")
			}
		}
	}
	return out, probs
}

// SeedsStats summarizes a repo-seeds archive.
type SeedsStats struct {
	Entries int
	Bytes   int64
	// TarSHA256 is the digest of the decompressed tar stream.
	TarSHA256 string
}

// VerifySeeds walks a repo-seeds.tar.zst stream fully and refuses what the
// writer never produces: anything outside the tar dialect (hard links,
// devices and FIFOs, setuid, setgid and sticky bits, owners other than
// root, among others), entries outside the tree (absolute or ".." paths,
// absolute or escaping symlinks), entries below a symlink, duplicates.
// Every byte must decompress. TarSHA256 is the digest of the decompressed
// tar stream.
func VerifySeeds(r io.Reader, lim Limits) (SeedsStats, problem.List) {
	st, probs, _ := scanSeeds(r, lim, nil)
	return st, probs
}

// sinkError carries an error of an entry sink (a failed write while
// extracting) through the walk, so that it is not taken for a fault of the
// archive.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

// scanSeeds is VerifySeeds that also hands every entry to put while no
// error was found so far. An error from put stops the walk and is returned
// as err.
func scanSeeds(r io.Reader, lim Limits, put func(h *tar.Header, name string, body io.Reader) error) (SeedsStats, problem.List, error) {
	var st SeedsStats
	var probs problem.List
	seen := map[string]byte{}    // the type of each entry so far
	parents := map[string]bool{} // the directories above them
	th := sha256.New()
	err := walkHashed(r, lim, th, &probs, func(h *tar.Header, name string, body io.Reader) error {
		st.Entries++
		if _, dup := seen[name]; dup {
			probs.Entryf(name, "appears twice in the archive")
		}
		// A tree written from disk has entries only below directories. A
		// host's tar would write through a symlink, and a link placed that
		// way sits higher than its name says, out of checkLink's reach;
		// below a file, or as a file where a directory already holds
		// entries, no tar can write it.
	above:
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			switch seen[d] {
			case tar.TypeSymlink:
				probs.Entryf(name, "is below the symlink %s: a host would write through it", d)
				break above
			case tar.TypeReg:
				probs.Entryf(name, "is below the file %s: no tar can write it there", d)
				break above
			}
		}
		if h.Typeflag != tar.TypeDir && parents[name] {
			probs.Entryf(name, "is %s where earlier entries have their directory", entryType(h))
		}
		seen[name] = h.Typeflag
		for d := path.Dir(name); d != "." && !parents[d]; d = path.Dir(d) {
			parents[d] = true
		}
		// The dialect lets only files, directories and symlinks through.
		if h.Typeflag == tar.TypeSymlink {
			if msg := checkLink(name, h.Linkname); msg != "" {
				probs.Entryf(name, "%s", msg)
			}
		}
		cr := &countReader{r: body}
		if put != nil && !probs.HasErrors() {
			if err := put(h, name, cr); err != nil {
				if cr.err != nil { // the archive failed, not the sink
					return cr.err
				}
				return &sinkError{err}
			}
		}
		_, err := io.Copy(io.Discard, cr)
		st.Bytes += cr.n
		return err
	})
	if se := (*sinkError)(nil); errors.As(err, &se) {
		return st, probs, se.err
	}
	if err != nil {
		probs.Add(archiveProblem(err))
	}
	st.TarSHA256 = hex.EncodeToString(th.Sum(nil))
	return st, probs, nil
}

// countReader counts what is read through it and keeps the first read
// error other than io.EOF.
type countReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// WithinLimits reads an archive to its end and reports whether it stays
// within lim: the gate runs it on every secrets archive it builds, so that
// an archive verify would refuse is never uploaded. (The writer itself
// keeps to the tar dialect.)
func WithinLimits(r io.Reader, lim Limits) error {
	var probs problem.List
	return walk(r, lim, &probs, func(h *tar.Header, name string, body io.Reader) error {
		_, err := io.Copy(io.Discard, body)
		return err
	})
}

// archiveProblem is the problem a walk that stopped with err reports: a
// header outside the dialect names its entry; anything else makes the
// archive unreadable.
func archiveProblem(err error) problem.Problem {
	var de *dialectError
	if errors.As(err, &de) {
		return problem.Problem{Entry: de.entry, Message: de.reason}
	}
	return problem.Problem{Message: "unreadable archive: " + err.Error()}
}

// walk decompresses r within lim and calls fn for each file, directory and
// symlink of a stream in the tar dialect (dialect.go), with its name
// without the trailing slash of a directory. A stream outside the dialect
// stops the walk with a *dialectError. An entry with an issue (an owner,
// a setuid bit, a hard link) is reported in probs, and the walk goes on.
func walk(r io.Reader, lim Limits, probs *problem.List, fn func(h *tar.Header, name string, body io.Reader) error) error {
	return walkHashed(r, lim, nil, probs, fn)
}

// walkHashed is walk that also writes every decompressed byte to hash,
// when hash is not nil.
func walkHashed(r io.Reader, lim Limits, hash io.Writer, probs *problem.List, fn func(h *tar.Header, name string, body io.Reader) error) error {
	zr, err := zstd.NewReader(r,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxWindow(lim.MaxWindow),
		zstd.WithDecoderMaxMemory(uint64(lim.MaxUnpacked)),
		zstd.WithDecoderLowmem(true),
	)
	if err != nil {
		return err
	}
	defer zr.Close()
	// Every byte archive/tar reads goes through the dialect check first,
	// so a header it returns has been judged by its fields.
	check := &tarCheck{}
	var seen io.Writer = check
	if hash != nil {
		seen = io.MultiWriter(hash, check)
	}
	lr := io.TeeReader(&limitReader{r: zr, n: lim.MaxUnpacked, max: lim.MaxUnpacked}, seen)
	tr := tar.NewReader(lr)
	entries := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			// Decompress to the end: a bad frame or checksum after the tar
			// end blocks still makes the host's zstd -d, and so tar, fail;
			// and only zeros may follow the end of the archive.
			if _, err := io.Copy(io.Discard, lr); err != nil {
				return describe(err)
			}
			return check.end()
		}
		if err != nil {
			return describe(err)
		}
		entries++
		if entries > lim.MaxEntries {
			return fmt.Errorf("more than %d entries", lim.MaxEntries)
		}
		e := check.entry
		if !sameEntry(h, &e) {
			return &dialectError{entry: e.name, reason: "is read differently by Go's tar reader and by the dialect check"}
		}
		name := strings.TrimSuffix(e.name, "/")
		for _, msg := range check.issues {
			probs.Entryf(name, "%s", msg)
		}
		// A hard link, a device or a FIFO has been said all about; files,
		// directories and symlinks go on to the layout's checks.
		if e.typ != tar.TypeReg && e.typ != tar.TypeDir && e.typ != tar.TypeSymlink {
			continue
		}
		if err := fn(h, name, tr); err != nil {
			return describe(err)
		}
	}
}

// sameEntry says whether archive/tar read the header the dialect check
// read: for an archive of the dialect it always does, and an archive on
// which the two readers differ is refused, not believed.
func sameEntry(h *tar.Header, e *tarEntry) bool {
	return h.Name == e.name && h.Linkname == e.link && h.Typeflag == e.typ &&
		h.Size == e.size && h.Mode == e.mode && h.ModTime.Unix() == e.mtime &&
		int64(h.Uid) == e.uid && int64(h.Gid) == e.gid && h.Uname == e.uname && h.Gname == e.gname
}

func describe(err error) error {
	switch {
	case errors.Is(err, ErrTooLarge):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("truncated archive (unexpected end of data)")
	}
	return err
}

func entryType(h *tar.Header) string {
	return entryKind(&tarEntry{typ: h.Typeflag, link: h.Linkname})
}

type limitReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("%w: more than %d bytes once decompressed", ErrTooLarge, l.max)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
