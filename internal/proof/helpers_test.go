package proof_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/gate"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// The proof's tests run on bundles the real pipeline built (gate.Prepare of
// the sample fleet, once per test binary), stored with plain Puts: nothing
// here goes through publish, which runs the proof itself, so that a broken
// proof cannot break the fixtures instead of failing a test.
var (
	fx        *sample.Fixture
	prep      *gate.Prepared
	seedsData []byte // the repo-seeds archive, shared by every instance
)

const (
	inst1   = "clawdinator-1"
	inst2   = "clawdinator-2"
	prefix1 = "bootstrap/clawdinator-1"
)

var ctx = context.Background()

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "proof-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if fx, err = sample.Write(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	instances, iprobs := plan.LoadInstances(fx.InstancesFile)
	var probs problem.List
	prep, probs, err = gate.Prepare(ctx, gate.Inputs{
		AgeKey: fx.Key, SecretsDir: fx.SecretsDir, RepoSeedsDir: fx.SeedsDir,
		Instances: instances, InstancesProblems: iprobs,
		Policy: plan.Policy{Required: plan.DefaultRequired, Exclude: plan.DefaultExclude},
		Mtime:  time.Unix(1700000000, 0).UTC(), TempDir: dir,
	})
	if err != nil || prep == nil {
		fmt.Fprintln(os.Stderr, "prepare:", err, probs)
		return 1
	}
	defer prep.Close()
	if seedsData, err = io.ReadAll(prep.OpenSeeds()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func secretsKey(prefix string) string { return layout.Key(prefix, layout.SecretsObject) }
func seedsKey(prefix string) string   { return layout.Key(prefix, layout.SeedsObject) }

// archiveOf is instance's secrets archive as the gate built it.
func archiveOf(instance string) []byte { return prep.Secrets[instance].Data }

// statementOf is the statement inside instance's secrets archive.
func statementOf(instance string) *manifest.Statement { return prep.Statements[instance] }

func put(t *testing.T, b bucket.Bucket, key string, data []byte) bucket.Object {
	t.Helper()
	obj, err := b.Put(ctx, key, bytes.NewReader(data), int64(len(data)), sha256.Sum256(data))
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func hexSum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// rebuild writes instance's secrets archive again, with its key and
// ciphertexts, after edit changed the statement (nil: an archive without
// one) and the files.
func rebuild(t *testing.T, instance string, edit func(st *manifest.Statement, files []bundle.SecretFile) ([]byte, []bundle.SecretFile)) []byte {
	t.Helper()
	c, probs := bundle.VerifySecrets(bytes.NewReader(archiveOf(instance)), bundle.VerifyOptions{})
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	var files []bundle.SecretFile
	for _, s := range c.Secrets {
		files = append(files, bundle.SecretFile{Name: s.Name, Data: c.Entries[bundle.SecretsDir+"/"+s.Name]})
	}
	st := *statementOf(instance)
	st.Secrets = append([]bundle.SecretInfo(nil), st.Secrets...)
	statement, files := edit(&st, files)
	var buf bytes.Buffer
	if err := bundle.WriteSecrets(&buf, c.Entries[bundle.KeyEntry], statement, files, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func render(l problem.List) string {
	var lines []string
	for _, p := range l {
		lines = append(lines, p.String())
	}
	return strings.Join(lines, "\n")
}

// requireProblem fails unless some error-severity problem holds every want.
func requireProblem(t *testing.T, l problem.List, want ...string) {
	t.Helper()
next:
	for _, p := range l.Errors() {
		for _, w := range want {
			if !strings.Contains(p.String(), w) {
				continue next
			}
		}
		return
	}
	t.Errorf("no problem holds %q; got:\n%s", want, render(l))
}

// requireNoProblem fails when any problem holds s.
func requireNoProblem(t *testing.T, l problem.List, s string) {
	t.Helper()
	for _, p := range l {
		if strings.Contains(p.String(), s) {
			t.Errorf("a problem holds %q: %s", s, p)
		}
	}
}

// Errors a store returns: one that means the run cannot complete and is
// worth a retry, one that is a refusal (operational, never retried), and
// one about the content (not operational).
var (
	errUnreachable = &bucket.Error{Op: "get", Kind: bucket.Unreachable, Err: io.ErrUnexpectedEOF}
	errDenied      = &bucket.Error{Op: "get", Kind: bucket.AccessDenied, Err: errors.New("AccessDenied")}
	errContent     = errors.New("the body ends in garbage")
	errChecksum    = errors.New("response body checksum did not match: expected X, got Y")
)

// hooked is a bucket whose reads tests count and break. getErr and
// headErr, when set, may fail the nth call (from 1) for a key; body, when
// set, replaces the body of the nth Get of a key.
type hooked struct {
	bucket.Bucket
	getErr  func(key string, n int) error
	headErr func(key string, n int) error
	body    func(key string, n int, data []byte) io.Reader

	mu    sync.Mutex
	gets  map[string]int
	heads map[string]int
}

func hook(b bucket.Bucket) *hooked {
	return &hooked{Bucket: b, gets: map[string]int{}, heads: map[string]int{}}
}

func (h *hooked) count(m map[string]int, key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	m[key]++
	return m[key]
}

func (h *hooked) Gets(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gets[key]
}

func (h *hooked) Heads(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.heads[key]
}

func (h *hooked) Get(ctx context.Context, key, versionID string) (io.ReadCloser, bucket.Object, error) {
	n := h.count(h.gets, key)
	if h.getErr != nil {
		if err := h.getErr(key, n); err != nil {
			return nil, bucket.Object{}, err
		}
	}
	rc, obj, err := h.Bucket.Get(ctx, key, versionID)
	if err != nil || h.body == nil {
		return rc, obj, err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, bucket.Object{}, err
	}
	if r := h.body(key, n, data); r != nil {
		return io.NopCloser(r), obj, nil
	}
	return io.NopCloser(bytes.NewReader(data)), obj, nil
}

func (h *hooked) Head(ctx context.Context, key, versionID string) (bucket.Object, error) {
	n := h.count(h.heads, key)
	if h.headErr != nil {
		if err := h.headErr(key, n); err != nil {
			return bucket.Object{}, err
		}
	}
	return h.Bucket.Head(ctx, key, versionID)
}

// failing returns data, then err on every read after it.
func failing(data []byte, err error) io.Reader {
	return io.MultiReader(bytes.NewReader(data), errReader{err})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// zeros is n zero bytes.
func zeros(n int64) io.Reader { return io.LimitReader(zeroReader{}, n) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// object is a result object for key, with nothing found yet.
func object(key string) *result.Object {
	return &result.Object{Object: manifest.Object{Key: key}}
}
