package bucket

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Ranger is a Bucket that can read an object's first bytes only, so that a
// reader who knows how large an object must be never receives more of it
// than that (a planted 100 MiB object costs at most the size asked for).
type Ranger interface {
	// GetFirst opens key at versionID ("" = current) for at most its
	// first n bytes (n > 0): Range: bytes=0-(n-1). Object.Size is the
	// length of the body sent, and Object.SHA256 is empty: no checksum of
	// the whole object applies to part of it.
	GetFirst(ctx context.Context, key, versionID string, n int64) (io.ReadCloser, Object, error)
}

// GetFirst reads at most the first n bytes of key at versionID, with a
// ranged GET where b supports one and through a limit otherwise.
func GetFirst(ctx context.Context, b Bucket, key, versionID string, n int64) (io.ReadCloser, Object, error) {
	if n <= 0 {
		return nil, Object{}, fmt.Errorf("bucket: GetFirst %s: want a positive length, got %d", key, n)
	}
	if r, ok := b.(Ranger); ok {
		rc, obj, err := r.GetFirst(ctx, key, versionID, n)
		if err != nil {
			return nil, obj, err
		}
		return limited{io.LimitReader(rc, n), rc}, obj, nil
	}
	rc, obj, err := b.Get(ctx, key, versionID)
	if err != nil {
		return nil, obj, err
	}
	return limited{io.LimitReader(rc, n), rc}, obj, nil
}

type limited struct {
	io.Reader
	io.Closer
}

// GetFirst implements Ranger: a GET with a Range header, without checksum
// validation (the body may be part of the object; the caller hashes it).
func (s *S3) GetFirst(ctx context.Context, key, versionID string, n int64) (io.ReadCloser, Object, error) {
	return s.get(ctx, &s3.GetObjectInput{Range: aws.String(fmt.Sprintf("bytes=0-%d", n-1))}, key, versionID, n)
}

// GetFirst implements Ranger for a Dir: the file, read no further than n.
func (d Dir) GetFirst(ctx context.Context, key, versionID string, n int64) (io.ReadCloser, Object, error) {
	rc, obj, err := d.Get(ctx, key, versionID)
	if err != nil {
		return nil, obj, err
	}
	obj.Size = min(obj.Size, n)
	return limited{io.LimitReader(rc, n), rc}, obj, nil
}
