// Package gate is the first step of every run that builds bundles:
//
//	plan ─▶ gate ─▶ assemble ─▶ upload ─▶ pull back ─▶ verify ─▶ manifest
//
// Prepare plans, gates and assembles with no network and writes nothing the
// user did not ask for: it returns every problem found, or bundles ready to
// ship. Nothing is uploaded until Prepare returned no error-severity
// problem.
package gate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"sync"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// MaxSecretSize caps one *.age file: host secrets are tokens and keys.
const MaxSecretSize = 1 << 20

// Inputs is what Prepare needs. Paths are as the user gave them; problems
// name them the same way.
type Inputs struct {
	// AgeKey is the identity text. It is never printed.
	AgeKey       []byte
	SecretsDir   string
	RepoSeedsDir string
	// ExpectedRecipient, when set, must be the recipient of AgeKey.
	ExpectedRecipient string
	// Instances and InstancesProblems are what plan.LoadInstances returned
	// for the instances file: the caller loads it once for the whole run.
	Instances         []plan.Instance
	InstancesProblems problem.List
	Policy            plan.Policy
	// SeedsAllowKeys lists repo-seeds paths that may hold private keys.
	SeedsAllowKeys []string
	// Mtime stamps every archive entry (SOURCE_DATE_EPOCH).
	Mtime time.Time
	// Start is when the run started: the floor of every statement's
	// sequence. Zero gives sequence 1.
	Start time.Time
	// TempDir holds the compressed repo seeds (never secrets); "" = os.TempDir.
	TempDir string
	// Progress, when set, receives repo-seeds bytes read so far.
	Progress func(n int64)
	// Published is what the bucket holds before this run (publish), or
	// nil (assemble): it orders the statements (their sequence) and lets
	// an unchanged repo-seeds tree reuse the bucket's archive.
	Published Published
}

// Published is what the bucket held when the run started, as the gate
// needs it (publish.FindCurrent implements it).
type Published interface {
	// Current returns, by instance name, the current secrets archive of
	// each instance that has one.
	Current() map[string]Current
	// Prove downloads and proves with the key the current secrets
	// archives of the instances named, and returns the statements proven
	// (an instance whose archive does not prove is left out).
	Prove(names []string) map[string]*manifest.Statement
	// Seeds returns the repo-seeds object current at s.Key when the
	// store's checksum of it equals s.SHA256 (and its size s.Size), or nil.
	Seeds(s manifest.Seeds) *manifest.Object
}

// Current is an instance's secrets archive current at the start of a run.
type Current struct {
	// VersionID, ETag, SHA256 and Size describe that version as the store
	// does: SHA256 is the store's own full-object checksum ("" if none).
	VersionID, ETag, SHA256 string
	Size                    int64
	// Hint is the statement the instance's manifest says that version
	// carries. A manifest is no proof: the hint is believed only when the
	// archive built here from it, with the key, has the store's checksum.
	Hint *manifest.Statement
	// Manifest is the manifest read at the start, when it names this
	// version: publish need not write it again when nothing changed.
	Manifest *manifest.Manifest
	// data is the archive built from Hint that proved it.
	data []byte
}

// Settled reports whether the instance's current secrets archive was
// proven by the store's checksum of an archive built here, and the new
// statement is the same: its bundle is unchanged, as far as the start of
// the run could tell.
func (c Current) Settled() bool { return c.data != nil }

// Archive is one built archive.
type Archive struct {
	Size   int64
	SHA256 [32]byte
	// Data holds a secrets archive (small, ciphertext only); nil for seeds.
	Data []byte
	// TarSHA256 is the digest of the uncompressed tar stream (repo seeds).
	TarSHA256 string
	// ContentSHA256 is the content digest of the tree (repo seeds).
	ContentSHA256 string
	// Source, when set, is an object already in the bucket holding this
	// archive: instances copy it instead of uploading.
	Source *manifest.Object
}

// Hex returns the archive's SHA-256 as lowercase hex.
func (a *Archive) Hex() string { return hex.EncodeToString(a.SHA256[:]) }

// Prepared holds bundles that passed the gate.
type Prepared struct {
	Key       *agekey.Key
	Plan      *plan.Plan
	Instances []plan.Instance // every instance of the file, for token checks
	Policy    plan.Policy
	// Secrets maps instance name to its secrets archive.
	Secrets map[string]*Archive
	// SecretInfo maps instance name to what its archive holds.
	SecretInfo map[string][]bundle.SecretInfo
	// Statements maps instance name to the statement inside its archive.
	Statements map[string]*manifest.Statement
	// Current maps instance name to its secrets archive current at the
	// start (Inputs.Published); publish writes over exactly that version
	// or fails.
	Current map[string]Current
	// Proven maps instance name to the statement of its current secrets
	// archive, proven with the key at the start.
	Proven map[string]*manifest.Statement
	// Seeds is the repo-seeds archive, shared by every instance.
	Seeds     *Archive
	seedsFile *os.File
	// Warnings are non-blocking problems (excluded files).
	Warnings problem.List
	// decrypted holds the SHA-256 of every ciphertext checked with Key.
	decrypted map[string]bool
}

// Decrypted reports whether the ciphertext with SHA-256 sum (hex) was
// checked to decrypt with Key (bundle.VerifyOptions.Decrypted).
func (p *Prepared) Decrypted(sum string) bool { return p.decrypted[sum] }

// OpenSeeds returns a reader over the repo-seeds archive from its start, or
// nil when the archive is reused from the bucket (Seeds.Source).
func (p *Prepared) OpenSeeds() io.ReadSeeker {
	if p.seedsFile == nil {
		return nil
	}
	return io.NewSectionReader(p.seedsFile, 0, p.Seeds.Size)
}

// Close removes the temporary repo-seeds archive.
func (p *Prepared) Close() error {
	if p == nil || p.seedsFile == nil {
		return nil
	}
	name := p.seedsFile.Name()
	p.seedsFile.Close()
	return os.Remove(name)
}

// Prepare plans, gates and assembles. On any error-severity problem it
// returns them all and a nil Prepared; nothing is left on disk. The error is
// for failures that are not the inputs' fault (disk full, say).
func Prepare(ctx context.Context, in Inputs) (*Prepared, problem.List, error) {
	var probs problem.List

	key, err := agekey.Parse(in.AgeKey)
	if err != nil {
		probs.Add(problem.Problem{Input: "age-key", Message: err.Error()})
	} else if in.ExpectedRecipient != "" && key.Recipient() != in.ExpectedRecipient {
		probs.Add(problem.Problem{Input: "expected-recipient", Message: fmt.Sprintf("is %s, but the age key's recipient is %s: the key was rotated or the pin is wrong", in.ExpectedRecipient, key.Recipient())})
	}
	instances, iprobs := in.Instances, in.InstancesProblems
	probs = append(probs, iprobs...)
	var p *plan.Plan
	if len(iprobs) == 0 {
		var pprobs problem.List
		p, pprobs = plan.Build(instances, in.SecretsDir, in.Policy)
		probs = append(probs, pprobs...)
	} else {
		// Still report what is wrong in the secrets dir, in the same run.
		_, pprobs := plan.Build(nil, in.SecretsDir, plan.Policy{Required: in.Policy.Required, Exclude: in.Policy.Exclude})
		probs = append(probs, pprobs...)
	}

	// Take the seeds tree's content digest while the secrets are checked:
	// it decides whether the tree is compressed at all.
	type contentResult struct {
		sum string
		err error
	}
	contentDone := make(chan contentResult, 1)
	go func() {
		sum, err := bundle.SeedsContentDigest(in.RepoSeedsDir, in.SeedsAllowKeys)
		contentDone <- contentResult{sum, err}
	}()

	ciphertexts := map[string][]byte{}
	if p != nil {
		for _, s := range p.Files() {
			if err := ctx.Err(); err != nil {
				break
			}
			data, err := readSecret(s.Path)
			if err != nil {
				probs.Add(problem.Problem{File: s.Path, Message: err.Error()})
				continue
			}
			if key != nil {
				if _, err := agekey.Check(bytes.NewReader(data), key); err != nil {
					probs.Add(problem.Problem{File: s.Path, Message: err.Error()})
					continue
				}
			}
			ciphertexts[s.Name] = data
		}
	}
	cr := <-contentDone
	// An unreadable tree is reported by the archive writer, below.
	content := cr.sum

	// What the bucket holds now, proven with the key: by the store's
	// checksum of an archive built here from the manifest's statement, or
	// else by a download.
	var current map[string]Current
	proven := map[string]*manifest.Statement{}
	if in.Published != nil && key != nil && !probs.HasErrors() && ctx.Err() == nil {
		current = maps.Clone(in.Published.Current())
		var unproven []string
		for _, ip := range p.Instances {
			cur, ok := current[ip.Name]
			if !ok {
				continue
			}
			if st, data := provenByChecksum(key, cur, ip.Name, ip.BootstrapPrefix, ciphertexts, in.Mtime); st != nil {
				proven[ip.Name] = st
				current[ip.Name] = Current{VersionID: cur.VersionID, ETag: cur.ETag, SHA256: cur.SHA256, Size: cur.Size, Hint: cur.Hint, Manifest: cur.Manifest, data: data}
			} else {
				unproven = append(unproven, ip.Name)
			}
		}
		if len(unproven) > 0 {
			for name, st := range in.Published.Prove(unproven) {
				proven[name] = st
			}
		}
	}

	var seedsFile *os.File
	var seedsArch *Archive
	if reuse := reusableSeeds(in.Published, proven, content, p); reuse != nil {
		seedsArch = reuse
	} else {
		f, arch, sp, err := buildSeeds(in)
		probs = append(probs, sp...)
		seedsFile, seedsArch = f, arch
		if err != nil {
			closeTemp(f)
			return nil, probs, err
		}
		if arch != nil {
			arch.ContentSHA256 = content
		}
	}
	cleanup := func() { closeTemp(seedsFile) }
	if err := ctx.Err(); err != nil {
		cleanup()
		return nil, probs, err
	}
	if len(probs.Errors()) > 0 {
		cleanup()
		return nil, probs, nil
	}
	if cr.err != nil {
		// The writer read the tree whole, the digest could not: a tree
		// that changed while it was read.
		cleanup()
		return nil, probs, fmt.Errorf("%s: %w", in.RepoSeedsDir, cr.err)
	}

	out := &Prepared{
		Key: key, Plan: p, Instances: instances, Policy: in.Policy,
		Secrets:    map[string]*Archive{},
		SecretInfo: map[string][]bundle.SecretInfo{},
		Statements: map[string]*manifest.Statement{},
		Current:    current, Proven: proven, decrypted: map[string]bool{},
		Seeds: seedsArch, seedsFile: seedsFile,
		Warnings: probs.Warnings(),
	}
	floor := sequence(in.Start)
	for _, data := range ciphertexts {
		sum := sha256.Sum256(data)
		out.decrypted[hex.EncodeToString(sum[:])] = true
	}
	canonical := key.Canonical()
	for _, ip := range p.Instances {
		var files []bundle.SecretFile
		var infos []bundle.SecretInfo
		for _, s := range ip.Secrets {
			data := ciphertexts[s.Name]
			files = append(files, bundle.SecretFile{Name: s.Name, Data: data})
			sum := sha256.Sum256(data)
			infos = append(infos, bundle.SecretInfo{Name: s.Name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
		}
		st := manifest.Statement{
			Instance: ip.Name, BootstrapPrefix: ip.BootstrapPrefix, Secrets: infos,
			RepoSeeds: manifest.Seeds{
				Key:  layout.Key(ip.BootstrapPrefix, layout.SeedsObject),
				Size: out.Seeds.Size, SHA256: out.Seeds.Hex(), TarSHA256: out.Seeds.TarSHA256,
				ContentSHA256: out.Seeds.ContentSHA256,
			},
		}
		st.Sequence = Sequence(floor, st, proven[ip.Name])
		if cur := current[ip.Name]; cur.data != nil && bytes.Equal(st.Marshal(), cur.Hint.Marshal()) {
			// Unchanged: the archive proven by the store's checksum is
			// the one this statement makes, already built.
			out.Secrets[ip.Name] = &Archive{Size: int64(len(cur.data)), SHA256: sha256.Sum256(cur.data), Data: cur.data}
			out.SecretInfo[ip.Name] = infos
			out.Statements[ip.Name] = &st
			continue
		}
		var buf bytes.Buffer
		if err := bundle.WriteSecrets(&buf, canonical, st.Marshal(), files, in.Mtime); err != nil {
			out.Close()
			return nil, probs, fmt.Errorf("build %s for %s: %w", layout.SecretsObject, ip.Name, err)
		}
		// What verify would refuse is never uploaded: the same limits, on
		// the archive as built.
		if err := bundle.WithinLimits(bytes.NewReader(buf.Bytes()), bundle.SecretsLimits); err != nil {
			probs.Add(problem.Problem{Instance: ip.Name, Message: fmt.Sprintf("its %s would exceed what verify accepts (%d entries, %d MiB unpacked): %v; ship fewer or smaller secrets", layout.SecretsObject, bundle.SecretsLimits.MaxEntries, bundle.SecretsLimits.MaxUnpacked>>20, err)})
			continue
		}
		out.Secrets[ip.Name] = &Archive{Size: int64(buf.Len()), SHA256: sha256.Sum256(buf.Bytes()), Data: buf.Bytes()}
		out.SecretInfo[ip.Name] = infos
		out.Statements[ip.Name] = &st
	}
	if probs.HasErrors() {
		out.Close()
		return nil, probs, nil
	}
	return out, probs, nil
}

// sequence is the least statement sequence of a run started at start: its
// Unix seconds, at least 1.
func sequence(start time.Time) uint64 {
	if start.Unix() < 1 {
		return 1
	}
	return uint64(start.Unix())
}

// Sequence is the sequence of st, built by a run whose least sequence is
// floor (its start time), over cur, the instance's current statement as
// proven at the start (nil when there is none or it did not prove). The
// same statement but for its sequence keeps cur's number, so an unchanged
// bundle stays byte-identical; anything else gets max(floor, cur + 1).
func Sequence(floor uint64, st manifest.Statement, cur *manifest.Statement) uint64 {
	if cur == nil {
		return max(floor, 1)
	}
	if cur.Format == manifest.StatementFormat && cur.Sequence > 0 && bytes.Equal(st.WithoutSequence().Marshal(), cur.WithoutSequence().Marshal()) {
		return cur.Sequence
	}
	return max(floor, cur.Sequence+1, 1)
}

// provenByChecksum returns cur's hint when the secrets archive built here
// from it (with key, the ciphertexts it lists and mtime) is, byte for
// byte, the version current in the bucket by the store's checksum: the
// key then vouches for it as if it had been downloaded and proven. It
// returns nil otherwise.
func provenByChecksum(key *agekey.Key, cur Current, instance, prefix string, ciphertexts map[string][]byte, mtime time.Time) (*manifest.Statement, []byte) {
	st := cur.Hint
	if st == nil || cur.SHA256 == "" || st.Format != manifest.StatementFormat || st.Instance != instance || st.BootstrapPrefix != prefix ||
		st.RepoSeeds.Key != layout.Key(prefix, layout.SeedsObject) {
		return nil, nil
	}
	var files []bundle.SecretFile
	for _, s := range st.Secrets {
		data, ok := ciphertexts[s.Name]
		if sum := sha256.Sum256(data); !ok || hex.EncodeToString(sum[:]) != s.SHA256 || int64(len(data)) != s.Size {
			return nil, nil
		}
		files = append(files, bundle.SecretFile{Name: s.Name, Data: data})
	}
	var buf bytes.Buffer
	if err := bundle.WriteSecrets(&buf, key.Canonical(), st.Marshal(), files, mtime); err != nil {
		return nil, nil
	}
	sum := sha256.Sum256(buf.Bytes())
	if hex.EncodeToString(sum[:]) != cur.SHA256 || int64(buf.Len()) != cur.Size {
		return nil, nil
	}
	return st, buf.Bytes()
}

// reusableSeeds returns the bucket's repo-seeds archive of a tree with the
// content digest content, when a proven statement names one that is still
// current, or nil. p is nil when the plan failed: nothing is reused.
func reusableSeeds(pub Published, proven map[string]*manifest.Statement, content string, p *plan.Plan) *Archive {
	if pub == nil || content == "" || p == nil {
		return nil
	}
	for _, ip := range p.Instances {
		st := proven[ip.Name]
		if st == nil || st.RepoSeeds.ContentSHA256 != content {
			continue
		}
		mo := pub.Seeds(st.RepoSeeds)
		if mo == nil {
			continue
		}
		arch := &Archive{Size: mo.Size, TarSHA256: st.RepoSeeds.TarSHA256, ContentSHA256: content, Source: mo}
		if b, err := hex.DecodeString(mo.SHA256); err == nil && len(b) == 32 {
			copy(arch.SHA256[:], b)
			return arch
		}
	}
	return nil
}

func closeTemp(f *os.File) {
	if f != nil {
		f.Close()
		os.Remove(f.Name())
	}
}

func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSecretSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	if len(data) > MaxSecretSize {
		return nil, fmt.Errorf("larger than %d bytes: not a host secret", MaxSecretSize)
	}
	return data, nil
}

// buildSeeds compresses the repo-seeds tree once into a temporary file,
// hashing as it writes.
func buildSeeds(in Inputs) (*os.File, *Archive, problem.List, error) {
	f, err := os.CreateTemp(in.TempDir, "clawdinator-repo-seeds-*.tar.zst")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create temporary file for %s: %w", layout.SeedsObject, err)
	}
	h := sha256.New()
	bw := newBufferedWriter(io.MultiWriter(f, h))
	th := sha256.New()
	probs, err := bundle.WriteSeeds(bw, in.RepoSeedsDir, bundle.SeedsOptions{
		Mtime: in.Mtime, AllowKeys: in.SeedsAllowKeys, Progress: in.Progress, TarHash: th,
	})
	if err == nil {
		err = bw.Flush()
	}
	var size int64
	if err == nil {
		// Nothing else writes to f: where it stands is how much was written.
		size, err = f.Seek(0, io.SeekCurrent)
	}
	if err != nil {
		return f, nil, probs, fmt.Errorf("build %s: %w", layout.SeedsObject, err)
	}
	arch := &Archive{Size: size, TarSHA256: hex.EncodeToString(th.Sum(nil))}
	copy(arch.SHA256[:], h.Sum(nil))
	return f, arch, probs, nil
}

// bufferedWriter batches the encoder's many small writes into large ones.
type bufferedWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func newBufferedWriter(w io.Writer) *bufferedWriter {
	return &bufferedWriter{w: w, buf: make([]byte, 0, 1<<20)}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf)+len(p) > cap(b.buf) {
		if err := b.flush(); err != nil {
			return 0, err
		}
		if len(p) >= cap(b.buf) {
			return b.w.Write(p)
		}
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *bufferedWriter) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// Flush writes what is buffered.
func (b *bufferedWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flush()
}
