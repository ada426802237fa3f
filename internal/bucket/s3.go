// Package bucket is where bundles live: the Bucket interface, with S3 (or an
// S3-compatible server, through aws-sdk-go-v2) and a local directory (Dir,
// for assemble --out and verify --dir) behind it. Both pass one suite of
// tests, internal/bucket/buckettest.
//
// S3 uploads carry their SHA-256 as an S3 checksum
// the server verifies, downloads are by version id, and every error says
// which bucket and key it is about and classifies itself (see Classify).
//
// The package never prints and reads the environment only through the SDK's
// default configuration chain (AWS_* variables, web identity, profiles).
//
// Checksums: the SDK's defaults (RequestChecksumCalculation and
// ResponseChecksumValidation "when supported") add a CRC32 to every upload,
// sent over TLS as an aws-chunked trailer that not every S3-compatible
// server accepts. S3 instead sets both to "when required", sends the
// caller's SHA-256 as x-amz-checksum-sha256 in a header with a seekable body
// and an explicit Content-Length (so no trailer is needed), and asks for
// checksums explicitly (checksum mode ENABLED) on Get and Head.
package bucket

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/logging"

	"github.com/openclaw/clawdinator-bundle/internal/problem"
)

// Server-side encryption settings for Config.SSE.
const (
	SSEAES256 = "AES256"  // SSE-S3, the default
	SSEKMS    = "aws:kms" // SSE-KMS, optionally with Config.SSEKMSKeyID
	SSENone   = "none"    // no encryption header: the bucket default applies
)

// Defaults applied by New to zero Config fields.
const (
	DefaultMaxAttempts = 6
	DefaultTimeout     = 2 * time.Minute
)

// DefaultConcurrency is how many instances publish, verify and the
// repo-seeds reuse lookup work on at once when nothing else is set. Each
// instance sends its requests one after another, so it is also the most
// requests a run has in flight.
const DefaultConcurrency = 4

// MetadataSHA256 is the user metadata key (x-amz-meta-sha256) under which
// Put also stores the lowercase hex SHA-256, for servers that do not keep
// or return S3 checksums.
const MetadataSHA256 = "sha256"

const (
	dialTimeout           = 5 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 60 * time.Second
	baseDelay             = 200 * time.Millisecond
	maxBackoff            = 4 * time.Second
	// minThroughput extends Put and Get deadlines by the time the body takes
	// to move at this rate, so that large bundles are not cut off.
	minThroughput = 1 << 20 // bytes per second
)

// Config says where and how to store objects.
type Config struct {
	// Bucket is required.
	Bucket string
	// Region is the signing region; empty means the SDK's chain
	// (AWS_REGION, profile). New fails if neither gives one.
	Region string
	// RegionFromIMDS, when no region is configured, asks the EC2 instance
	// metadata service for it (a host, like the aws CLI there).
	RegionFromIMDS bool
	// Endpoint is an optional S3-compatible endpoint URL
	// ("http://127.0.0.1:7070"); it implies path-style addressing.
	Endpoint string
	// AccessKeyID, SecretAccessKey and SessionToken are optional static
	// credentials; when AccessKeyID is empty the SDK's default chain is
	// used (env incl. AWS_SESSION_TOKEN, web identity, profiles, IMDS).
	AccessKeyID, SecretAccessKey, SessionToken string
	// SSE is "AES256" (default when empty), "aws:kms" or "none".
	SSE string
	// SSEKMSKeyID is the KMS key for SSE "aws:kms" (empty: the AWS managed key).
	SSEKMSKeyID string
	// ExpectedBucketOwner is an account id sent with every request; S3
	// refuses the request when the bucket belongs to another account.
	ExpectedBucketOwner string
	// MaxAttempts bounds attempts per request. Throttling, 5xx and
	// connection errors are retried with full-jitter exponential backoff
	// from 200 ms (1 s after throttling), at most 4 s apart: with the
	// default, a refused connection fails within about 7 s. 0 means
	// DefaultMaxAttempts; 1 disables retries.
	MaxAttempts int
	// Timeout bounds each operation, retries included. Put and Get get
	// extra time for the body at 1 MiB/s. 0 means DefaultTimeout. Dialing
	// is bounded separately (5 s per attempt).
	Timeout time.Duration

	// observe, when set (tests only), sees every HTTP request sent.
	observe func(*http.Request)
}

// Object describes a stored object version.
type Object struct {
	Key  string
	Size int64
	// SHA256 is lowercase hex: for Put the sum given, for Get and Head the
	// full-object SHA-256 checksum the store keeps ("" when it keeps none).
	// It is proof of the bytes.
	SHA256 string
	// Claimed is the x-amz-meta-sha256 metadata Put sets: what the uploader
	// claims, never proof (anyone who can write the object chooses it).
	Claimed string
	// VersionID is empty when the bucket is not versioned.
	VersionID string
	// ETag is without quotes.
	ETag string
}

// S3 is an S3 bucket client. It is safe for concurrent use.
type S3 struct {
	client *s3.Client
	cfg    Config
	redact []string
}

// New checks c, applies defaults and builds the S3 client. It does not
// contact S3.
func New(ctx context.Context, c Config) (*S3, error) {
	if c.Bucket == "" {
		return nil, problem.Usagef("s3-bucket is required")
	}
	if err := CheckName("s3-bucket", c.Bucket); err != nil {
		return nil, err
	}
	switch c.SSE {
	case "":
		c.SSE = SSEAES256
	case SSEAES256, SSEKMS, SSENone:
	default:
		return nil, problem.Usagef("sse must be %s, %s or %s, got %q", SSEAES256, SSEKMS, SSENone, c.SSE)
	}
	if c.SSEKMSKeyID != "" && c.SSE != SSEKMS {
		return nil, problem.Usagef("sse-kms-key-id needs sse: %s", SSEKMS)
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		return nil, problem.Usagef("aws-access-key-id and aws-secret-access-key go together")
	}
	if c.SessionToken != "" && c.AccessKeyID == "" {
		return nil, problem.Usagef("aws-session-token needs aws-access-key-id and aws-secret-access-key")
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, problem.Usagef("s3-endpoint must be an http:// or https:// URL, got %q", c.Endpoint)
		}
	}
	if c.MaxAttempts < 0 {
		return nil, fmt.Errorf("bucket: max attempts %d: must not be negative", c.MaxAttempts)
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("bucket: timeout %v: must not be negative", c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}

	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = dialTimeout
		}).
		WithTransportOptions(func(tr *http.Transport) {
			tr.TLSHandshakeTimeout = tlsHandshakeTimeout
			tr.ResponseHeaderTimeout = responseHeaderTimeout
		})
	maxAttempts := c.MaxAttempts
	opts := []func(*config.LoadOptions) error{
		config.WithLogger(logging.Nop{}),
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.BaseDelay = baseDelay
				o.MaxBackoff = maxBackoff
				// Every request gets its attempts: no client-side retry quota.
				o.RateLimiter = ratelimit.None
			})
		}),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	} else if c.RegionFromIMDS {
		opts = append(opts, config.WithEC2IMDSRegion())
	}
	if c.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("bucket: load aws configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, errors.New("bucket: no region configured (set the region or AWS_REGION)")
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
			o.UsePathStyle = true
		}
		o.DisableLogOutputChecksumValidationSkipped = true
		if c.observe != nil {
			// Wrapped here, not before LoadDefaultConfig, which needs the
			// buildable client (AWS_CA_BUNDLE).
			o.HTTPClient = observingClient{inner: o.HTTPClient, observe: c.observe}
		}
	})
	return &S3{
		client: client,
		cfg:    c,
		redact: []string{c.SecretAccessKey, c.SessionToken, c.AccessKeyID},
	}, nil
}

// Put uploads body (size bytes, read from its start) under key with its
// SHA-256 sum as the S3 checksum, which the server verifies, and as
// x-amz-meta-sha256. Encryption follows Config.SSE. It returns the object
// written, with the version id the server assigned.
func (s *S3) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte) (Object, error) {
	return s.put(ctx, key, body, size, sum, nil)
}

// PutIf is Put on a condition: the object current at key has the ETag
// ifMatch (If-Match), or, when ifMatch is "", there is none
// (If-None-Match: *). A write refused for its condition stores nothing
// and returns an error that IsConditionFailed reports.
func (s *S3) PutIf(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte, ifMatch string) (Object, error) {
	return s.put(ctx, key, body, size, sum, func(in *s3.PutObjectInput) {
		if ifMatch == "" {
			in.IfNoneMatch = aws.String("*")
		} else {
			in.IfMatch = aws.String(`"` + ifMatch + `"`)
		}
	})
}

// IsConditionFailed reports an error of PutIf whose condition did not
// hold: another writer changed the object (412 PreconditionFailed, or 409
// ConditionalRequestConflict for a write that raced another).
func IsConditionFailed(err error) bool {
	if err == nil {
		return false
	}
	if ae := apiError(err); ae != nil {
		switch ae.ErrorCode() {
		case "PreconditionFailed", "ConditionalRequestConflict":
			return true
		}
	}
	code := statusCode(err)
	return code == 412
}

func (s *S3) put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte, cond func(*s3.PutObjectInput)) (Object, error) {
	fail := func(err error) (Object, error) { return Object{}, s.fail("put", key, "", err) }
	if size < 0 {
		return fail(fmt.Errorf("negative size %d", size))
	}
	end, err := body.Seek(0, io.SeekEnd)
	if err != nil {
		return fail(fmt.Errorf("seek body: %w", err))
	}
	if end != size {
		return fail(fmt.Errorf("body is %d bytes, size says %d", end, size))
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return fail(fmt.Errorf("seek body: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout+transferTime(size))
	defer cancel()

	hexSum := hex.EncodeToString(sum[:])
	b64Sum := base64.StdEncoding.EncodeToString(sum[:])
	in := &s3.PutObjectInput{
		Bucket:         aws.String(s.cfg.Bucket),
		Key:            aws.String(key),
		Body:           body,
		ContentLength:  aws.Int64(size),
		ChecksumSHA256: aws.String(b64Sum),
		Metadata:       map[string]string{MetadataSHA256: hexSum},
	}
	in.ServerSideEncryption, in.SSEKMSKeyId = s.sse()
	in.ExpectedBucketOwner = s.owner()
	if cond != nil {
		cond(in)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		return fail(err)
	}
	if got := aws.ToString(out.ChecksumSHA256); got != "" && got != b64Sum {
		return fail(checksumErr("the server stored SHA-256 %s, we sent %s", got, b64Sum))
	}
	return Object{
		Key:       key,
		Size:      size,
		SHA256:    hexSum,
		VersionID: aws.ToString(out.VersionId),
		ETag:      trimETag(out.ETag),
	}, nil
}

// Get fetches key at versionID ("" = the current version). The caller must
// close the returned body and should hash it: when the server reports a
// SHA-256 checksum the SDK also checks the body against it, and a mismatch
// surfaces as a read error of kind ChecksumMismatch at the end of the body.
// The body must be read within Config.Timeout plus its size at 1 MiB/s.
func (s *S3) Get(ctx context.Context, key, versionID string) (io.ReadCloser, Object, error) {
	return s.get(ctx, &s3.GetObjectInput{ChecksumMode: types.ChecksumModeEnabled}, key, versionID, 0)
}

// get sends in for key at versionID and returns the body, which must be
// read within Config.Timeout plus, at 1 MiB/s, budget bytes (when budget
// is set, as for a range) or else the object's length. The store's
// SHA-256 comes with the object only when in asks for checksums.
func (s *S3) get(ctx context.Context, in *s3.GetObjectInput, key, versionID string, budget int64) (io.ReadCloser, Object, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	timeout := s.cfg.Timeout
	if budget > 0 {
		timeout += transferTime(budget)
	}
	timer := time.AfterFunc(timeout, func() { cancel(timeoutErr(timeout)) })
	release := func() { timer.Stop(); cancel(nil) }

	in.Bucket = aws.String(s.cfg.Bucket)
	in.Key = aws.String(key)
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	in.ExpectedBucketOwner = s.owner()
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		err = withCause(ctx, err)
		release()
		return nil, Object{}, s.fail("get", key, versionID, err)
	}
	obj := Object{
		Key:       key,
		Size:      aws.ToInt64(out.ContentLength),
		Claimed:   claimedSHA256(out.Metadata),
		VersionID: aws.ToString(out.VersionId),
		ETag:      trimETag(out.ETag),
	}
	if in.ChecksumMode == types.ChecksumModeEnabled {
		obj.SHA256 = checksumSHA256(out.ChecksumSHA256)
	}
	if budget <= 0 && obj.Size > 0 {
		timeout += transferTime(obj.Size)
		timer.Reset(timeout)
	}
	return &getBody{
		rc: out.Body, ctx: ctx, release: release,
		fail: func(err error) error { return s.fail("get", key, versionID, err) },
	}, obj, nil
}

// Head returns the object at versionID ("" = current) without its body.
// A missing key in a missing bucket is reported as NoSuchBucket.
func (s *S3) Head(ctx context.Context, key, versionID string) (Object, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	in := &s3.HeadObjectInput{
		Bucket:       aws.String(s.cfg.Bucket),
		Key:          aws.String(key),
		ChecksumMode: types.ChecksumModeEnabled,
	}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	in.ExpectedBucketOwner = s.owner()
	out, err := s.client.HeadObject(ctx, in)
	if err != nil {
		e := s.fail("head", key, versionID, err)
		// A HEAD error has no body, so a 404 does not say whether the key,
		// the version or the bucket is missing (versitygw even answers
		// 404 to an unknown access key). A listing says.
		if e.Kind == NotFound {
			if k := s.probe(ctx, key); k != None {
				e.Kind = k
			}
		}
		return Object{}, e
	}
	return Object{
		Key:       key,
		Size:      aws.ToInt64(out.ContentLength),
		SHA256:    checksumSHA256(out.ChecksumSHA256),
		Claimed:   claimedSHA256(out.Metadata),
		VersionID: aws.ToString(out.VersionId),
		ETag:      trimETag(out.ETag),
	}, nil
}

// Copy copies srcKey at srcVersion ("" = current) to dstKey in the same
// bucket on the server side. Metadata (including x-amz-meta-sha256) is
// copied, the server computes a SHA-256 checksum for the copy, and
// encryption follows Config.SSE. It returns the new object as Head reports it.
func (s *S3) Copy(ctx context.Context, srcKey, srcVersion, dstKey string) (Object, error) {
	fail := func(err error) (Object, error) {
		e := s.fail("copy", dstKey, "", err)
		e.SrcKey, e.SrcVersionID = srcKey, srcVersion
		if e.Kind == Other && srcVersion != "" && malformedVersion(err) {
			e.Kind = NotFound
		}
		return Object{}, e
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	source := (&url.URL{Path: s.cfg.Bucket + "/" + srcKey}).EscapedPath()
	if srcVersion != "" {
		source += "?versionId=" + url.QueryEscape(srcVersion)
	}
	in := &s3.CopyObjectInput{
		Bucket:            aws.String(s.cfg.Bucket),
		Key:               aws.String(dstKey),
		CopySource:        aws.String(source),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		MetadataDirective: types.MetadataDirectiveCopy,
	}
	in.ServerSideEncryption, in.SSEKMSKeyId = s.sse()
	in.ExpectedBucketOwner = s.owner()
	in.ExpectedSourceBucketOwner = s.owner()
	out, err := s.client.CopyObject(cctx, in)
	if err != nil {
		return fail(err)
	}
	obj, err := s.Head(ctx, dstKey, aws.ToString(out.VersionId))
	if err != nil {
		return fail(fmt.Errorf("head the copy: %w", err))
	}
	return obj, nil
}

// Delete removes key at versionID; with "" it adds a delete marker in a
// versioned bucket. For tests and tools.
func (s *S3) Delete(ctx context.Context, key, versionID string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	in := &s3.DeleteObjectInput{
		Bucket: aws.String(s.cfg.Bucket),
		Key:    aws.String(key),
	}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	in.ExpectedBucketOwner = s.owner()
	if _, err := s.client.DeleteObject(ctx, in); err != nil {
		return s.fail("delete", key, versionID, err)
	}
	return nil
}

func (s *S3) sse() (types.ServerSideEncryption, *string) {
	switch s.cfg.SSE {
	case SSEAES256:
		return types.ServerSideEncryptionAes256, nil
	case SSEKMS:
		if s.cfg.SSEKMSKeyID != "" {
			return types.ServerSideEncryptionAwsKms, aws.String(s.cfg.SSEKMSKeyID)
		}
		return types.ServerSideEncryptionAwsKms, nil
	}
	return "", nil
}

func (s *S3) owner() *string {
	if s.cfg.ExpectedBucketOwner == "" {
		return nil
	}
	return aws.String(s.cfg.ExpectedBucketOwner)
}

// probe lists key's prefix to explain a bare 404 from HEAD: it returns
// NoSuchBucket or AccessDenied when the listing fails for that reason, else
// None. A listing refused for lack of s3:ListBucket explains nothing.
func (s *S3) probe(ctx context.Context, key string) Kind {
	_, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket:              aws.String(s.cfg.Bucket),
		Prefix:              aws.String(key),
		MaxKeys:             aws.Int32(1),
		ExpectedBucketOwner: s.owner(),
	})
	switch apiCode(err) {
	case "NoSuchBucket":
		return NoSuchBucket
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "XAdminUserNotFound",
		"ExpiredToken", "InvalidToken":
		return AccessDenied
	}
	return None
}

// fail wraps err as a *Error for op on key.
func (s *S3) fail(op, key, versionID string, err error) *Error {
	var se *Error
	if errors.As(err, &se) && se.Op == op && se.Key == key {
		return se
	}
	kind := Classify(err)
	// A malformed version id does not exist either. HEAD gets a bare 400.
	if kind == Other && versionID != "" && (malformedVersion(err) || op == "head" && statusCode(err) == 400) {
		kind = NotFound
	}
	return &Error{
		Op: op, Bucket: s.cfg.Bucket, Key: key, VersionID: versionID,
		Kind: kind, Err: err, redact: s.redact,
	}
}

// malformedVersion reports S3's answer to a malformed version id: 400
// InvalidArgument "Invalid version id specified".
func malformedVersion(err error) bool {
	ae := apiError(err)
	return ae != nil && statusCode(err) == 400 && ae.ErrorCode() == "InvalidArgument" &&
		strings.Contains(strings.ToLower(ae.ErrorMessage()), "version")
}

// getBody is a Get response body: it classifies read errors and releases
// the operation's deadline on Close.
type getBody struct {
	rc      io.ReadCloser
	ctx     context.Context
	release func()
	fail    func(error) error
	once    sync.Once
}

func (b *getBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = b.fail(withCause(b.ctx, err))
	}
	return n, err
}

func (b *getBody) Close() error {
	err := b.rc.Close()
	b.once.Do(b.release)
	return err
}

// withCause adds the operation timeout to err when that is why ctx ended.
func withCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() {
		return fmt.Errorf("%w: %w", cause, err)
	}
	return err
}

func timeoutErr(d time.Duration) error {
	return fmt.Errorf("operation timed out after %v: %w", d, context.DeadlineExceeded)
}

type checksumError struct{ msg string }

func (e *checksumError) Error() string { return e.msg }

func checksumErr(format string, args ...any) error {
	return &checksumError{msg: fmt.Sprintf(format, args...)}
}

func transferTime(size int64) time.Duration {
	return time.Duration(size/minThroughput+1) * time.Second
}

func trimETag(etag *string) string {
	return strings.Trim(aws.ToString(etag), `"`)
}

// checksumSHA256 returns the object's full-object SHA-256 checksum (not a
// multipart "…-N" composite) as lowercase hex, or "". The store computed
// or verified it against the bytes: a writer cannot choose it apart from
// them.
func checksumSHA256(checksum *string) string {
	if c := aws.ToString(checksum); c != "" && !strings.Contains(c, "-") {
		if b, err := base64.StdEncoding.DecodeString(c); err == nil && len(b) == 32 {
			return hex.EncodeToString(b)
		}
	}
	return ""
}

// claimedSHA256 returns the x-amz-meta-sha256 metadata as lowercase hex, or
// "": what the uploader says, which anyone who can write the object can
// set to anything.
func claimedSHA256(meta map[string]string) string {
	for k, v := range meta {
		if strings.EqualFold(k, MetadataSHA256) {
			v = strings.ToLower(strings.TrimSpace(v))
			if b, err := hex.DecodeString(v); err == nil && len(b) == 32 {
				return v
			}
		}
	}
	return ""
}

// observingClient lets tests see the requests sent, after signing.
type observingClient struct {
	inner   s3.HTTPClient
	observe func(*http.Request)
}

func (c observingClient) Do(r *http.Request) (*http.Response, error) {
	c.observe(r)
	return c.inner.Do(r)
}

// Versioning reports whether versioning is enabled on the bucket. Publish
// needs it: the race check, rollback and reuse all name versions.
func (s *S3) Versioning(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	out, err := s.client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{
		Bucket:              aws.String(s.cfg.Bucket),
		ExpectedBucketOwner: s.owner(),
	})
	if err != nil {
		return false, s.fail("check versioning of", "", "", err)
	}
	return out.Status == types.BucketVersioningStatusEnabled, nil
}

// maxListed bounds List: a prefix holding more keys than this is refused
// rather than read without end.
const maxListed = 10000

// List returns the keys directly under prefix (no deeper "/" after it), in
// the store's order (lexicographic on S3), with their sizes. It is how a
// secrets source is read (a prefix of *.age objects); it needs
// s3:ListBucket on the prefix.
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var out []Object
	in := &s3.ListObjectsV2Input{
		Bucket:              aws.String(s.cfg.Bucket),
		Prefix:              aws.String(prefix),
		Delimiter:           aws.String("/"),
		ExpectedBucketOwner: s.owner(),
	}
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.fail("list", prefix, "", err)
		}
		for _, o := range page.Contents {
			out = append(out, Object{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ETag: trimETag(o.ETag)})
		}
		if len(out) > maxListed {
			return nil, s.fail("list", prefix, "", fmt.Errorf("more than %d keys", maxListed))
		}
	}
	return out, nil
}

// Versions lists the versions of the object at key, newest first, at most
// max of them. Delete markers are not versions and are left out, and do not
// count: the listing goes on past them (anyone who may delete can add as
// many as they like), up to maxListed entries. Sizes, ETags and version
// ids are the store's; no checksum comes with a list.
func (s *S3) Versions(ctx context.Context, key string, max int) ([]Object, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	p := s3.NewListObjectVersionsPaginator(s.client, &s3.ListObjectVersionsInput{
		Bucket:              aws.String(s.cfg.Bucket),
		Prefix:              aws.String(key),
		ExpectedBucketOwner: s.owner(),
	})
	var vs []Object
	listed := 0
	for p.HasMorePages() && len(vs) < max && listed < maxListed {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.fail("list versions of", key, "", err)
		}
		listed += len(out.Versions) + len(out.DeleteMarkers)
		for _, v := range out.Versions {
			if aws.ToString(v.Key) != key || len(vs) == max {
				continue
			}
			vs = append(vs, Object{Key: key, Size: aws.ToInt64(v.Size), VersionID: aws.ToString(v.VersionId), ETag: trimETag(v.ETag)})
		}
	}
	return vs, nil
}
