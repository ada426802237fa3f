package bucket_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
)

const bucketName = "bundles"

// setup starts a server with a versioned bucketName and returns a store on it.
func setup(t *testing.T, mods ...func(*bucket.Config)) (*s3test.Server, *bucket.S3) {
	t.Helper()
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucketName)
	return srv, newStore(t, srv, mods...)
}

func newStore(t *testing.T, srv *s3test.Server, mods ...func(*bucket.Config)) *bucket.S3 {
	t.Helper()
	c := bucket.Config{
		Bucket:          bucketName,
		Region:          srv.Region,
		Endpoint:        srv.Endpoint,
		AccessKeyID:     srv.AccessKey,
		SecretAccessKey: srv.SecretKey,
	}
	for _, m := range mods {
		m(&c)
	}
	st, err := bucket.New(context.Background(), c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return st
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func put(t *testing.T, st *bucket.S3, key string, data []byte) bucket.Object {
	t.Helper()
	obj, err := st.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), sha256.Sum256(data))
	if err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
	return obj
}

func get(t *testing.T, st *bucket.S3, key, version string) ([]byte, bucket.Object) {
	t.Helper()
	rc, obj, err := st.Get(context.Background(), key, version)
	if err != nil {
		t.Fatalf("Get %s@%s: %v", key, version, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s@%s: %v", key, version, err)
	}
	return b, obj
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestPutGetRoundTrip(t *testing.T) {
	t.Parallel()
	_, st := setup(t)
	data := randomBytes(t, 300_000)
	obj := put(t, st, "bootstrap/a/secrets.tar.zst", data)
	if obj.VersionID == "" || obj.SHA256 != hexSum(data) || obj.Size != int64(len(data)) || obj.ETag == "" {
		t.Fatalf("Put returned %+v", obj)
	}
	got, gobj := get(t, st, obj.Key, obj.VersionID)
	if !bytes.Equal(got, data) {
		t.Fatal("Get returned other bytes")
	}
	if gobj.SHA256 != hexSum(data) || gobj.VersionID != obj.VersionID || gobj.Size != obj.Size || gobj.ETag != obj.ETag {
		t.Fatalf("Get object = %+v, Put object = %+v", gobj, obj)
	}

	// An empty object works too.
	empty := put(t, st, "empty", nil)
	got, gobj = get(t, st, "empty", empty.VersionID)
	if len(got) != 0 || gobj.SHA256 != hexSum(nil) {
		t.Fatalf("empty object: %q %+v", got, gobj)
	}
}

func TestVersionsAndHead(t *testing.T) {
	t.Parallel()
	_, st := setup(t)
	ctx := context.Background()
	old, cur := []byte("old bundle"), []byte("new bundle!")
	v1 := put(t, st, "k", old)
	v2 := put(t, st, "k", cur)
	if v1.VersionID == v2.VersionID {
		t.Fatalf("two puts gave one version id %q", v1.VersionID)
	}
	if got, _ := get(t, st, "k", v1.VersionID); !bytes.Equal(got, old) {
		t.Fatalf("old version: %q", got)
	}
	if got, obj := get(t, st, "k", ""); !bytes.Equal(got, cur) || obj.VersionID != v2.VersionID {
		t.Fatalf("current: %q %+v", got, obj)
	}

	h, err := st.Head(ctx, "k", "")
	if err != nil {
		t.Fatal(err)
	}
	if h.VersionID != v2.VersionID || h.SHA256 != hexSum(cur) || h.Size != int64(len(cur)) || h.ETag != v2.ETag {
		t.Fatalf("Head current = %+v, want %+v", h, v2)
	}
	h, err = st.Head(ctx, "k", v1.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	if h.VersionID != v1.VersionID || h.SHA256 != hexSum(old) {
		t.Fatalf("Head old = %+v, want %+v", h, v1)
	}
}

func TestCopy(t *testing.T) {
	t.Parallel()
	srv, st := setup(t)
	old := []byte("first")
	v1 := put(t, st, "src", old)
	put(t, st, "src", []byte("second"))

	obj, err := st.Copy(context.Background(), "src", v1.VersionID, "dir/dst")
	if err != nil {
		t.Fatal(err)
	}
	if obj.Key != "dir/dst" || obj.VersionID == "" || obj.VersionID == v1.VersionID ||
		obj.SHA256 != hexSum(old) || obj.Size != int64(len(old)) {
		t.Fatalf("Copy returned %+v", obj)
	}
	got, gobj := get(t, st, "dir/dst", obj.VersionID)
	if !bytes.Equal(got, old) || gobj.SHA256 != hexSum(old) {
		t.Fatalf("copy holds %q %+v", got, gobj)
	}

	// The x-amz-meta-sha256 metadata came along.
	h, err := srv.Client().HeadObject(context.Background(), &s3.HeadObjectInput{
		Bucket: aws.String(bucketName), Key: aws.String("dir/dst"), VersionId: aws.String(obj.VersionID),
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.Metadata[bucket.MetadataSHA256] != hexSum(old) {
		t.Fatalf("copy metadata %v, want sha256 %s", h.Metadata, hexSum(old))
	}

	_, err = st.Copy(context.Background(), "src", "not-a-version-id", "dst3")
	if !errors.Is(err, bucket.ErrNotFound) {
		t.Fatalf("copy of a malformed version: %v", err)
	}
	_, err = st.Copy(context.Background(), "nope", "", "dst2")
	if !errors.Is(err, bucket.ErrNotFound) {
		t.Fatalf("copy of a missing key: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "s3://bundles/nope") || !strings.Contains(msg, "s3://bundles/dst2") {
		t.Fatalf("message %q does not name source and destination", msg)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	_, st := setup(t)
	ctx := context.Background()
	v := put(t, st, "present", []byte("x"))
	gone := put(t, st, "gone", []byte("y"))
	if err := st.Delete(ctx, "gone", gone.VersionID); err != nil {
		t.Fatal(err)
	}

	cases := []struct{ key, version string }{
		{"missing", ""},
		{"gone", ""},
		{"gone", gone.VersionID}, // a deleted version
		{"present", gone.VersionID},
		{"present", "not-a-version-id"},
	}
	for _, c := range cases {
		_, _, err := st.Get(ctx, c.key, c.version)
		checkNotFound(t, "get", c.key, c.version, err)
		_, err = st.Head(ctx, c.key, c.version)
		checkNotFound(t, "head", c.key, c.version, err)
	}
	if _, err := st.Head(ctx, "present", v.VersionID); err != nil {
		t.Fatalf("head present: %v", err)
	}
}

func checkNotFound(t *testing.T, op, key, version string, err error) {
	t.Helper()
	if !errors.Is(err, bucket.ErrNotFound) || bucket.Classify(err) != bucket.NotFound {
		t.Errorf("%s %s@%s: %v (kind %v), want not found", op, key, version, err, bucket.Classify(err))
		return
	}
	if !strings.Contains(err.Error(), "s3://bundles/"+key) || !strings.HasPrefix(err.Error(), op+" ") {
		t.Errorf("message %q does not name the operation and object", err)
	}
}

func TestWrongSecretIsAccessDenied(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	wrong := "wrongwrongwrong" + srv.SecretKey[15:]
	st := newStore(t, srv, func(c *bucket.Config) { c.SecretAccessKey = wrong })
	ctx := context.Background()
	data := []byte("x")
	_, putErr := st.Put(ctx, "k", bytes.NewReader(data), 1, sha256.Sum256(data))
	_, _, getErr := st.Get(ctx, "k", "")
	_, headErr := st.Head(ctx, "k", "")
	for _, err := range []error{putErr, getErr, headErr} {
		if bucket.Classify(err) != bucket.AccessDenied {
			t.Errorf("%v: kind %v, want access denied", err, bucket.Classify(err))
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "s3://bundles/k") || !strings.Contains(msg, "access denied") {
			t.Errorf("message %q does not name the object and the cause", msg)
		}
		for _, secret := range []string{wrong, srv.SecretKey, srv.AccessKey} {
			if strings.Contains(msg, secret) {
				t.Errorf("message %q holds a credential", msg)
			}
		}
	}
	// Same for an access key the server does not know.
	st = newStore(t, srv, func(c *bucket.Config) { c.AccessKeyID = "AKIAUNKNOWNUNKNOWN00" })
	if _, err := st.Head(ctx, "k", ""); bucket.Classify(err) != bucket.AccessDenied {
		t.Errorf("unknown access key: %v (kind %v)", err, bucket.Classify(err))
	}
}

func TestExpectedBucketOwnerMismatchIsAccessDenied(t *testing.T) {
	t.Parallel()
	_, st := setup(t, func(c *bucket.Config) { c.ExpectedBucketOwner = "123456789012" })
	data := []byte("x")
	_, err := st.Put(context.Background(), "k", bytes.NewReader(data), 1, sha256.Sum256(data))
	if bucket.Classify(err) != bucket.AccessDenied {
		t.Fatalf("put with a wrong expected owner: %v (kind %v)", err, bucket.Classify(err))
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	// A port that was just free and is now closed: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	st, err := bucket.New(context.Background(), bucket.Config{
		Bucket: bucketName, Region: "us-east-1", Endpoint: "http://" + addr,
		AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = st.Head(context.Background(), "k", "")
	t.Logf("refused connection, default retries: failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if bucket.Classify(err) != bucket.Unreachable {
		t.Fatalf("kind %v, want unreachable: %v", bucket.Classify(err), err)
	}
	if !strings.Contains(err.Error(), "s3://bundles/k") {
		t.Fatalf("message %q does not name the object", err)
	}
}

func TestTimeoutIsUnreachable(t *testing.T) {
	t.Parallel()
	// A server that accepts connections and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	st, err := bucket.New(context.Background(), bucket.Config{
		Bucket: bucketName, Region: "us-east-1", Endpoint: "http://" + l.Addr().String(),
		AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "secret",
		Timeout: 500 * time.Millisecond, MaxAttempts: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("x")
	_, err = st.Put(context.Background(), "k", bytes.NewReader(data), 1, sha256.Sum256(data))
	if bucket.Classify(err) != bucket.Unreachable || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("put to a silent server: %v (kind %v)", err, bucket.Classify(err))
	}
	_, _, err = st.Get(context.Background(), "k", "")
	if bucket.Classify(err) != bucket.Unreachable || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("get from a silent server: %v (kind %v)", err, bucket.Classify(err))
	}
}

func TestNoSuchBucket(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	st := newStore(t, srv, func(c *bucket.Config) { c.Bucket = "no-such-bucket" })
	ctx := context.Background()
	data := []byte("x")
	_, putErr := st.Put(ctx, "k", bytes.NewReader(data), 1, sha256.Sum256(data))
	_, _, getErr := st.Get(ctx, "k", "")
	_, headErr := st.Head(ctx, "k", "")
	for _, err := range []error{putErr, getErr, headErr} {
		if bucket.Classify(err) != bucket.NoSuchBucket || errors.Is(err, bucket.ErrNotFound) {
			t.Errorf("%v: kind %v, want no such bucket", err, bucket.Classify(err))
		}
		if err != nil && !strings.Contains(err.Error(), "s3://no-such-bucket/k") {
			t.Errorf("message %q does not name the bucket", err)
		}
	}
}

func TestWrongSumRejectedByServer(t *testing.T) {
	t.Parallel()
	_, st := setup(t)
	data := []byte("the real bytes")
	_, err := st.Put(context.Background(), "k", bytes.NewReader(data), int64(len(data)), sha256.Sum256([]byte("other bytes")))
	if bucket.Classify(err) != bucket.ChecksumMismatch {
		t.Fatalf("put with a wrong sum: %v (kind %v), want checksum mismatch", err, bucket.Classify(err))
	}
	if !strings.Contains(err.Error(), "BadDigest") {
		t.Fatalf("not the server's rejection: %v", err)
	}
	if _, err := st.Head(context.Background(), "k", ""); !errors.Is(err, bucket.ErrNotFound) {
		t.Fatalf("object stored despite a wrong sum: %v", err)
	}
}

func TestPutSizeMismatch(t *testing.T) {
	t.Parallel()
	_, st := setup(t)
	data := []byte("abc")
	if _, err := st.Put(context.Background(), "k", bytes.NewReader(data), 4, sha256.Sum256(data)); err == nil {
		t.Fatal("put accepted a size that does not match the body")
	}
}

// A body changed on the server's disk after upload: the SDK checks it
// against the SHA-256 the server reports, and the read fails.
func TestGetDetectsTamperedBody(t *testing.T) {
	t.Parallel()
	srv, st := setup(t)
	data := []byte("genuine bundle bytes")
	obj := put(t, st, "k", data)
	path := filepath.Join(srv.Dir, bucketName, "k")
	tampered := bytes.ToUpper(data)
	if err := os.WriteFile(path, tampered, 0o644); err != nil {
		t.Fatalf("tamper: %v", err)
	}
	rc, gobj, err := st.Get(context.Background(), "k", obj.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if gobj.SHA256 != hexSum(data) {
		t.Fatalf("reported sha %s, want the uploaded one", gobj.SHA256)
	}
	b, err := io.ReadAll(rc)
	if bucket.Classify(err) != bucket.ChecksumMismatch {
		t.Fatalf("read tampered body %q: %v (kind %v), want checksum mismatch", b, err, bucket.Classify(err))
	}
}

// Objects that another client wrote without a SHA-256 checksum: Get works,
// and reports no SHA-256 (proof) but the metadata as Claimed (never proof).
func TestGetWithoutServerSHA256(t *testing.T) {
	t.Parallel()
	srv, st := setup(t)
	ctx := context.Background()
	data := []byte("uploaded by someone else")
	// The server computes a CRC64NVME of its own for this one.
	_, err := srv.Client().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucketName), Key: aws.String("meta-only"), Body: bytes.NewReader(data),
		Metadata: map[string]string{bucket.MetadataSHA256: hexSum(data)},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, obj := get(t, st, "meta-only", "")
	if !bytes.Equal(got, data) || obj.SHA256 != "" || obj.Claimed != hexSum(data) {
		t.Fatalf("meta-only: %q %+v", got, obj)
	}
	h, err := st.Head(ctx, "meta-only", "")
	if err != nil || h.SHA256 != "" || h.Claimed != hexSum(data) {
		t.Fatalf("head meta-only: %+v %v", h, err)
	}

	// A file put into the backend directly has no checksum at all.
	if err := os.WriteFile(filepath.Join(srv.Dir, bucketName, "raw"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, obj = get(t, st, "raw", "")
	if !bytes.Equal(got, data) || obj.SHA256 != "" || obj.Size != int64(len(data)) {
		t.Fatalf("raw: %q %+v", got, obj)
	}
}

// The aws CLI, an independent client, downloads what Put uploaded and sees
// the SHA-256 checksum and metadata.
func TestAWSCLIReadsWhatPutWrote(t *testing.T) {
	t.Parallel()
	const cli = "/usr/bin/aws"
	if _, err := os.Stat(cli); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("aws CLI not installed at %s", cli)
		}
		t.Skipf("aws CLI not installed at %s", cli)
	}
	srv, st := setup(t)
	data := randomBytes(t, 200_000)
	obj := put(t, st, "bootstrap/x/repo-seeds.tar.zst", data)
	put(t, st, "bootstrap/x/repo-seeds.tar.zst", []byte("a later version"))

	aws := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(cli, append([]string{"--endpoint-url", srv.Endpoint}, args...)...)
		cmd.Env = append(os.Environ(), srv.Env()...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, stderr.Bytes())
		}
		return out
	}
	dst := filepath.Join(t.TempDir(), "download")
	out := aws("s3api", "get-object", "--bucket", bucketName, "--key", obj.Key,
		"--version-id", obj.VersionID, "--checksum-mode", "ENABLED", dst)
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("aws CLI downloaded other bytes")
	}
	var meta struct {
		VersionId      string
		ChecksumSHA256 string
		Metadata       map[string]string
	}
	if err := json.Unmarshal(out, &meta); err != nil {
		t.Fatalf("get-object output %s: %v", out, err)
	}
	sum := sha256.Sum256(data)
	if meta.VersionId != obj.VersionID || meta.ChecksumSHA256 != base64.StdEncoding.EncodeToString(sum[:]) ||
		meta.Metadata["sha256"] != obj.SHA256 {
		t.Fatalf("aws CLI sees %+v, want version %s and sha %s", meta, obj.VersionID, obj.SHA256)
	}

	var versions struct {
		Versions []struct{ Key, VersionId string }
	}
	if err := json.Unmarshal(aws("s3api", "list-object-versions", "--bucket", bucketName, "--prefix", "bootstrap/x/"), &versions); err != nil {
		t.Fatal(err)
	}
	if len(versions.Versions) != 2 {
		t.Fatalf("aws CLI lists %+v, want 2 versions", versions.Versions)
	}
}

// recorder keeps the headers of the requests a store sends.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path, query string
	header              http.Header
}

func (r *recorder) observe(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Clone()})
}

func (r *recorder) find(t *testing.T, method, query string) recorded {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.reqs) - 1; i >= 0; i-- {
		if q := r.reqs[i]; q.method == method && strings.Contains(q.query, query) {
			return q
		}
	}
	t.Fatalf("no %s request with %q", method, query)
	return recorded{}
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// SSE and the expected bucketName owner are checked on the request side (the
// server ignores SSE), while talking to the real server.
func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucketName)
	cases := []struct {
		name, sse, kmsKey string
		wantSSE, wantKey  string
	}{
		{"default", "", "", "AES256", ""},
		{"aes256", "AES256", "", "AES256", ""},
		{"kms", "aws:kms", "arn:aws:kms:us-east-1:123456789012:key/abcd", "aws:kms", "arn:aws:kms:us-east-1:123456789012:key/abcd"},
		{"kms-default-key", "aws:kms", "", "aws:kms", ""},
		{"none", "none", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			st := newStore(t, srv, func(cfg *bucket.Config) {
				cfg.SSE, cfg.SSEKMSKeyID = c.sse, c.kmsKey
				// versitygw checks the owner: its root account is the access key.
				cfg.ExpectedBucketOwner = srv.AccessKey
				bucket.SetObserver(cfg, rec.observe)
			})
			data := randomBytes(t, 5000)
			obj := put(t, st, c.name, data)
			get(t, st, c.name, obj.VersionID)
			if _, err := st.Copy(context.Background(), c.name, obj.VersionID, c.name+"-copy"); err != nil {
				t.Fatal(err)
			}

			p := rec.find(t, "PUT", "x-id=PutObject")
			sum := sha256.Sum256(data)
			if got := p.header.Get("X-Amz-Checksum-Sha256"); got != base64.StdEncoding.EncodeToString(sum[:]) {
				t.Errorf("put checksum header %q", got)
			}
			if got := p.header.Get("X-Amz-Meta-Sha256"); got != hex.EncodeToString(sum[:]) {
				t.Errorf("put sha256 metadata %q", got)
			}
			if ce, cs := p.header.Get("Content-Encoding"), p.header.Get("X-Amz-Content-Sha256"); strings.Contains(ce, "aws-chunked") || strings.HasPrefix(cs, "STREAMING") {
				t.Errorf("put uses aws-chunked: content-encoding %q, content-sha256 %q", ce, cs)
			}
			if p.header.Get("X-Amz-Trailer") != "" {
				t.Errorf("put has a trailer %q", p.header.Get("X-Amz-Trailer"))
			}
			copyReq := rec.find(t, "PUT", "x-id=CopyObject")
			if got := copyReq.header.Get("X-Amz-Checksum-Algorithm"); got != "SHA256" {
				t.Errorf("copy checksum algorithm %q", got)
			}
			for _, q := range []recorded{p, copyReq} {
				if got := q.header.Get("X-Amz-Server-Side-Encryption"); got != c.wantSSE {
					t.Errorf("%s %s: sse header %q, want %q", q.method, q.query, got, c.wantSSE)
				}
				if got := q.header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); got != c.wantKey {
					t.Errorf("%s %s: kms key header %q, want %q", q.method, q.query, got, c.wantKey)
				}
			}
			if got := copyReq.header.Get("X-Amz-Source-Expected-Bucket-Owner"); got != srv.AccessKey {
				t.Errorf("copy source owner header %q", got)
			}
			g := rec.find(t, "GET", "x-id=GetObject")
			if got := g.header.Get("X-Amz-Checksum-Mode"); got != "ENABLED" {
				t.Errorf("get checksum mode %q", got)
			}
			for _, q := range rec.all() {
				if got := q.header.Get("X-Amz-Expected-Bucket-Owner"); got != srv.AccessKey {
					t.Errorf("%s %s?%s: expected owner header %q", q.method, q.path, q.query, got)
				}
			}
		})
	}
}

// Without explicit credentials the SDK's default chain (here the AWS_*
// variables) is used.
func TestDefaultCredentialChain(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucketName)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	st, err := bucket.New(context.Background(), bucket.Config{Bucket: bucketName, Endpoint: srv.Endpoint})
	if err != nil {
		t.Fatal(err)
	}
	obj := put(t, st, "k", []byte("via env"))
	if got, _ := get(t, st, "k", obj.VersionID); string(got) != "via env" {
		t.Fatalf("got %q", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	ok := bucket.Config{Bucket: "b", Region: "us-east-1"}
	// Each message names the option the operator sets (the table's name
	// for the field), and is the one check of that value.
	cases := map[string]struct {
		mod  func(*bucket.Config)
		want string
	}{
		"no bucket":         {func(c *bucket.Config) { c.Bucket = "" }, "s3-bucket is required"},
		"bad sse":           {func(c *bucket.Config) { c.SSE = "aes" }, `sse must be AES256, aws:kms or none, got "aes"`},
		"kms key no kms":    {func(c *bucket.Config) { c.SSEKMSKeyID = "k" }, "sse-kms-key-id needs sse: aws:kms"},
		"bad endpoint":      {func(c *bucket.Config) { c.Endpoint = "127.0.0.1:9000" }, "s3-endpoint must be an http:// or https:// URL"},
		"half credentials":  {func(c *bucket.Config) { c.AccessKeyID = "AKIA" }, "aws-access-key-id and aws-secret-access-key go together"},
		"token only":        {func(c *bucket.Config) { c.SessionToken = "t" }, "aws-session-token needs aws-access-key-id"},
		"negative attempts": {func(c *bucket.Config) { c.MaxAttempts = -1 }, "max attempts"},
		"negative timeout":  {func(c *bucket.Config) { c.Timeout = -time.Second }, "timeout"},
		"no region":         {func(c *bucket.Config) { c.Region = "" }, "region"},
	}
	for name, tc := range cases {
		c := ok
		tc.mod(&c)
		if _, err := bucket.New(context.Background(), c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New(%+v) = %v, want an error containing %q", name, c, err, tc.want)
		}
	}
	c := ok
	c.SSE, c.SSEKMSKeyID = bucket.SSEKMS, "k"
	if _, err := bucket.New(context.Background(), c); err != nil {
		t.Errorf("New rejected sse aws:kms with a key id: %v", err)
	}
	if _, err := bucket.New(context.Background(), ok); err != nil {
		t.Errorf("New rejected a good config: %v", err)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	if bucket.Classify(nil) != bucket.None {
		t.Error("nil is not None")
	}
	if bucket.Classify(errors.New("x")) != bucket.Other {
		t.Error("plain error is not Other")
	}
	if bucket.Classify(context.DeadlineExceeded) != bucket.Unreachable {
		t.Error("deadline is not Unreachable")
	}
	for k := bucket.None; k <= bucket.ChecksumMismatch; k++ {
		if strings.HasPrefix(k.String(), "kind(") {
			t.Errorf("kind %d has no name", k)
		}
	}
}
