package bucket

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Kind classifies a store error so that callers can choose an exit code
// without parsing messages.
type Kind int

const (
	// None is the kind of a nil error.
	None Kind = iota
	// Other is anything not covered below (bad request, wrong region, …).
	Other
	// NotFound: the key, or the requested version of it, does not exist
	// (also a malformed version id). Note that S3 answers 403, not 404, for a
	// missing key when the caller lacks s3:ListBucket.
	NotFound
	// AccessDenied: the request was refused: wrong or expired credentials
	// (InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken, …), no
	// credentials found by the default chain, missing permissions, or an
	// ExpectedBucketOwner mismatch.
	AccessDenied
	// NoSuchBucket: the bucket does not exist.
	NoSuchBucket
	// Unreachable: the operation could not complete: connection refused,
	// DNS failure, dial or response timeout, the operation's deadline,
	// cancellation, or the service still failing (5xx, throttling) after
	// all retries.
	Unreachable
	// ChecksumMismatch: the server rejected the SHA-256 sent with an upload
	// (BadDigest), or a downloaded body did not match the checksum the
	// server reported for it.
	ChecksumMismatch
)

// String returns a short lowercase name for the kind.
func (k Kind) String() string {
	switch k {
	case None:
		return "none"
	case Other:
		return "other"
	case NotFound:
		return "not found"
	case AccessDenied:
		return "access denied"
	case NoSuchBucket:
		return "no such bucket"
	case Unreachable:
		return "unreachable"
	case ChecksumMismatch:
		return "checksum mismatch"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ErrNotFound matches, with errors.Is, every store error of kind NotFound:
// a missing key or a missing version.
var ErrNotFound = errors.New("not found")

// Error is the error every S3 method returns. Its message names the
// operation, bucket and key and never holds credentials.
type Error struct {
	// Op is the operation: "put", "get", "head", "copy" or "delete".
	Op string
	// Bucket, Key and VersionID name the object ("" version = current).
	Bucket, Key, VersionID string
	// SrcKey and SrcVersionID name the source of a copy.
	SrcKey, SrcVersionID string
	// Kind classifies the failure.
	Kind Kind
	// Err is the underlying error (from the SDK, the network, or a check).
	Err error

	redact []string
}

// Error renders e.g. "put s3://bucket/key: access denied (…): AccessDenied:
// Access Denied (HTTP 403, request id …)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Op == "copy" {
		b.WriteString(" ")
		b.WriteString(objectURI(e.Bucket, e.SrcKey, e.SrcVersionID))
		b.WriteString(" to")
	}
	b.WriteString(" ")
	b.WriteString(objectURI(e.Bucket, e.Key, e.VersionID))
	b.WriteString(": ")
	b.WriteString(hint(e.Kind, e.Err))
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(detail(e.Err))
	}
	msg := b.String()
	for _, s := range e.redact {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is ErrNotFound and e is of kind NotFound.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && e.Kind == NotFound
}

func objectURI(bucket, key, version string) string {
	u := "s3://" + bucket
	if key != "" {
		u += "/" + key
	}
	if version != "" {
		u += " (version " + version + ")"
	}
	return u
}

func hint(k Kind, err error) string {
	switch k {
	case NotFound:
		return "not found"
	case AccessDenied:
		var se *v4.SigningError
		if errors.As(err, &se) {
			return "access denied (no usable AWS credentials found)"
		}
		return "access denied (check credentials, permissions and expected bucket owner)"
	case NoSuchBucket:
		return "bucket does not exist"
	case Unreachable:
		switch {
		case errors.Is(err, context.Canceled):
			return "canceled"
		case isTimeout(err):
			return "timed out (check endpoint, region and network)"
		case statusCode(err) >= 500 || statusCode(err) == 429:
			return "service unavailable after retries"
		}
		return "S3 unreachable (check endpoint, region and network)"
	case ChecksumMismatch:
		return "checksum mismatch"
	}
	switch apiCode(err) {
	case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
		return "failed (wrong region?)"
	}
	return "failed"
}

// detail shortens SDK errors to "Code: message (HTTP n, request id r)".
func detail(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return transportDetail(err)
	}
	s := ae.ErrorCode()
	if m := ae.ErrorMessage(); m != "" {
		s += ": " + m
	}
	var extra []string
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		extra = append(extra, "HTTP "+strconv.Itoa(re.HTTPStatusCode()))
		if id := re.ServiceRequestID(); id != "" {
			extra = append(extra, "request id "+id)
		}
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	// Keep a timeout or cancellation that the API error does not mention.
	if isTimeout(err) && !strings.Contains(s, "timeout") {
		s += "; " + err.Error()
	}
	return s
}

// transportDetail renders a request that got no answer as the network's
// own words, "dial tcp 127.0.0.1:9000: connect: connection refused (6
// attempts)", rather than the SDK's chain ("operation error S3: GetObject,
// exceeded maximum number of attempts, 6, https response error StatusCode:
// 0, RequestID: , HostID: , request send failed, Get …: dial tcp …"): the
// operation and the object are already named by Error.
func transportDetail(err error) string {
	var oe *net.OpError
	if !errors.As(err, &oe) {
		return err.Error()
	}
	s := oe.Error()
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) {
		s += " (" + strconv.Itoa(me.Attempt) + " attempts)"
	}
	return s
}

// Classify returns the kind of err: the Kind of a *Error in its chain, else
// a classification of the raw SDK or network error.
func Classify(err error) Kind {
	if err == nil {
		return None
	}
	var se *Error
	if errors.As(err, &se) {
		return se.Kind
	}
	return classify(err)
}

// IsOperational says whether err means the run could not complete (the
// store unreachable, access refused, no such bucket, the run canceled), as
// opposed to a finding about the content: such an error is an exit status
// of its own, never a problem with the bundle.
func IsOperational(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch Classify(err) {
	case Unreachable, AccessDenied, NoSuchBucket:
		return true
	}
	return false
}

// RetryRead says whether a read that failed with err on its attempt-th try
// should be tried again, and waits a moment (300 ms times attempt) before
// saying yes. A download cut mid-body cannot be retried by the SDK, which
// has handed the body over already: the caller reads the whole object
// again. Only an operational failure that is not a refusal is retried, at
// most 3 tries in all.
func RetryRead(ctx context.Context, err error, attempt int) bool {
	const attempts = 3
	if err == nil || !IsOperational(err) || attempt >= attempts || ctx.Err() != nil {
		return false
	}
	if k := Classify(err); k == AccessDenied || k == NoSuchBucket {
		return false
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Duration(attempt) * 300 * time.Millisecond):
		return true
	}
}

func classify(err error) Kind {
	if err == nil {
		return None
	}
	// The SDK's response checksum validation error is unexported.
	if strings.Contains(err.Error(), "checksum did not match") {
		return ChecksumMismatch
	}
	var ce *checksumError
	if errors.As(err, &ce) {
		return ChecksumMismatch
	}
	// Credentials could not be retrieved (no chain source, expired web
	// identity token, …).
	var sign *v4.SigningError
	if errors.As(err, &sign) {
		return AccessDenied
	}
	switch apiCode(err) {
	case "NoSuchKey", "NoSuchVersion", "NotFound":
		return NotFound
	case "NoSuchBucket":
		return NoSuchBucket
	case "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch",
		"ExpiredToken", "InvalidToken", "TokenRefreshRequired", "XAdminUserNotFound", "AllAccessDisabled",
		"AccountProblem", "InvalidSecurity", "RequestTimeTooSkewed",
		"KMS.AccessDeniedException", "KMS.DisabledException", "KMS.NotFoundException":
		return AccessDenied
	case "BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "XAmzContentChecksumMismatch":
		return ChecksumMismatch
	case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling",
		"ThrottlingException", "RequestTimeoutException":
		return Unreachable
	}
	switch code := statusCode(err); {
	case code == 404:
		return NotFound
	case code == 401 || code == 403:
		return AccessDenied
	case code >= 500 || code == 429:
		return Unreachable
	case code != 0:
		return Other
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		isTimeout(err) {
		return Unreachable
	}
	var ne net.Error
	var rse *smithyhttp.RequestSendError
	if errors.As(err, &ne) || errors.As(err, &rse) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return Unreachable
	}
	return Other
}

func apiError(err error) smithy.APIError {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

func apiCode(err error) string {
	if ae := apiError(err); ae != nil {
		return ae.ErrorCode()
	}
	return ""
}

func statusCode(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var rte *awshttp.ResponseTimeoutError
	return errors.As(err, &rte)
}
