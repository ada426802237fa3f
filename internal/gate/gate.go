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
	// PublishedSeeds maps the digest of an uncompressed repo-seeds tar
	// stream to an archive of it already current in the bucket (see
	// FindPublishedSeeds). When the tree hashes to one of them, it is not
	// compressed again: the bucket's copy is reused.
	PublishedSeeds map[string]manifest.Object
}

// Archive is one built archive.
type Archive struct {
	Size   int64
	SHA256 [32]byte
	// Data holds a secrets archive (small, ciphertext only); nil for seeds.
	Data []byte
	// TarSHA256 is the digest of the uncompressed tar stream (repo seeds).
	TarSHA256 string
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
	// Seeds is the repo-seeds archive, shared by every instance.
	Seeds     *Archive
	seedsFile *os.File
	// Warnings are non-blocking problems (excluded files).
	Warnings problem.List
}

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

	// Compress the seeds while the secrets are checked: both take a while
	// and a user wants every problem in one run.
	type seedsResult struct {
		f     *os.File
		arch  *Archive
		probs problem.List
		err   error
	}
	seedsDone := make(chan seedsResult, 1)
	go func() {
		f, arch, sp, err := buildSeeds(in)
		seedsDone <- seedsResult{f, arch, sp, err}
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
	sr := <-seedsDone
	probs = append(probs, sr.probs...)
	cleanup := func() {
		if sr.f != nil {
			sr.f.Close()
			os.Remove(sr.f.Name())
		}
	}
	if sr.err != nil {
		cleanup()
		return nil, probs, sr.err
	}
	if err := ctx.Err(); err != nil {
		cleanup()
		return nil, probs, err
	}
	if len(probs.Errors()) > 0 {
		cleanup()
		return nil, probs, nil
	}

	out := &Prepared{
		Key: key, Plan: p, Instances: instances, Policy: in.Policy,
		Secrets:    map[string]*Archive{},
		SecretInfo: map[string][]bundle.SecretInfo{},
		Statements: map[string]*manifest.Statement{},
		Seeds:      sr.arch, seedsFile: sr.f,
		Warnings: probs.Warnings(),
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
			Instance: ip.Name, BootstrapPrefix: ip.BootstrapPrefix, Sequence: sequence(in.Start), Secrets: infos,
			RepoSeeds: manifest.Seeds{
				Key:  layout.Key(ip.BootstrapPrefix, layout.SeedsObject),
				Size: out.Seeds.Size, SHA256: out.Seeds.Hex(), TarSHA256: out.Seeds.TarSHA256,
				// Provisional: the tar stream's digest stands in for the
				// content digest of the tree.
				ContentSHA256: out.Seeds.TarSHA256,
			},
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

// sequence is the statement sequence of a run started at start: its Unix
// seconds, at least 1.
func sequence(start time.Time) uint64 {
	if start.Unix() < 1 {
		return 1
	}
	return uint64(start.Unix())
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
// hashing as it writes. When the bucket already holds an archive of the same
// tar stream, it only hashes the tree (about a third of the work) and
// reuses that archive.
func buildSeeds(in Inputs) (*os.File, *Archive, problem.List, error) {
	if len(in.PublishedSeeds) > 0 {
		th := sha256.New()
		probs, err := bundle.WriteSeedsTar(th, in.RepoSeedsDir, bundle.SeedsOptions{
			Mtime: in.Mtime, AllowKeys: in.SeedsAllowKeys, Progress: in.Progress,
		})
		if err != nil || len(probs.Errors()) > 0 {
			return nil, nil, probs, err
		}
		tarSum := hex.EncodeToString(th.Sum(nil))
		if mo, ok := in.PublishedSeeds[tarSum]; ok {
			arch := &Archive{Size: mo.Size, TarSHA256: tarSum, Source: &mo}
			if b, err := hex.DecodeString(mo.SHA256); err == nil && len(b) == 32 {
				copy(arch.SHA256[:], b)
				return nil, arch, probs, nil
			}
		}
	}
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
