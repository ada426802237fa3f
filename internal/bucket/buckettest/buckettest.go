// Package buckettest is one suite of tests that every bucket.Bucket
// implementation passes: what the interface promises, checked the same way
// on S3 (versitygw) and on a local directory.
package buckettest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
)

// Run runs the suite. open returns an empty bucket for one subtest.
func Run(t *testing.T, open func(t *testing.T) bucket.Bucket) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b bucket.Bucket)
	}{
		{"PutGetHead", testPutGetHead},
		{"PutRefusesWrongChecksum", testPutRefusesWrongChecksum},
		{"PutRefusesWrongSize", testPutRefusesWrongSize},
		{"MissingIsNotFound", testMissing},
		{"Overwrite", testOverwrite},
		{"Copy", testCopy},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"UnknownVersionIsNotFound", testUnknownVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var ctx = context.Background()

func put(t *testing.T, b bucket.Bucket, key string, data []byte) bucket.Object {
	t.Helper()
	obj, err := b.Put(ctx, key, bytes.NewReader(data), int64(len(data)), sha256.Sum256(data))
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	if obj.Size != int64(len(data)) || obj.SHA256 != hexSum(data) {
		t.Fatalf("put %s returned size %d sha256 %s, want %d %s", key, obj.Size, obj.SHA256, len(data), hexSum(data))
	}
	return obj
}

// get reads key at version and checks that what Get says matches the bytes.
func get(t *testing.T, b bucket.Bucket, key, version string) []byte {
	t.Helper()
	rc, obj, err := b.Get(ctx, key, version)
	if err != nil {
		t.Fatalf("get %s@%q: %v", key, version, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if obj.Size != int64(len(data)) {
		t.Errorf("get %s: Size %d, read %d bytes", key, obj.Size, len(data))
	}
	if version != "" && obj.VersionID != version {
		t.Errorf("get %s@%s: VersionID %q", key, version, obj.VersionID)
	}
	return data
}

// head checks that Head describes data: its size, and its SHA-256 when the
// store keeps one.
func head(t *testing.T, b bucket.Bucket, key, version string, data []byte) bucket.Object {
	t.Helper()
	obj, err := b.Head(ctx, key, version)
	if err != nil {
		t.Fatalf("head %s@%q: %v", key, version, err)
	}
	if obj.Size != int64(len(data)) || obj.SHA256 != "" && obj.SHA256 != hexSum(data) {
		t.Errorf("head %s: size %d sha256 %s, want %d %s", key, obj.Size, obj.SHA256, len(data), hexSum(data))
	}
	return obj
}

func notFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, bucket.ErrNotFound) {
		t.Errorf("%s: %v, want an error that is bucket.ErrNotFound", what, err)
	}
}

func hexSum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func testPutGetHead(t *testing.T, b bucket.Bucket) {
	data := []byte("age-encrypted bytes\x00\xff")
	obj := put(t, b, "p/secrets.tar.zst", data)
	if got := get(t, b, "p/secrets.tar.zst", ""); !bytes.Equal(got, data) {
		t.Errorf("get returned %q, want %q", got, data)
	}
	h := head(t, b, "p/secrets.tar.zst", "", data)
	if h.VersionID != obj.VersionID {
		t.Errorf("head version %q, put returned %q", h.VersionID, obj.VersionID)
	}
	if obj.VersionID != "" {
		if got := get(t, b, "p/secrets.tar.zst", obj.VersionID); !bytes.Equal(got, data) {
			t.Errorf("get by version returned %q", got)
		}
		head(t, b, "p/secrets.tar.zst", obj.VersionID, data)
	}
}

func testPutRefusesWrongChecksum(t *testing.T, b bucket.Bucket) {
	data := []byte("what the caller checked")
	_, err := b.Put(ctx, "p/k", bytes.NewReader([]byte("what arrived instead!!!")), int64(len(data)), sha256.Sum256(data))
	if err == nil {
		t.Fatal("put of bytes that do not match their checksum succeeded")
	}
	_, err = b.Head(ctx, "p/k", "")
	notFound(t, "head after a refused put", err)
}

func testPutRefusesWrongSize(t *testing.T, b bucket.Bucket) {
	data := []byte("short")
	_, err := b.Put(ctx, "p/k", bytes.NewReader(data), int64(len(data))+1, sha256.Sum256(data))
	if err == nil {
		t.Fatal("put with the wrong size succeeded")
	}
	_, err = b.Head(ctx, "p/k", "")
	notFound(t, "head after a refused put", err)
}

func testMissing(t *testing.T, b bucket.Bucket) {
	_, _, err := b.Get(ctx, "p/none", "")
	notFound(t, "get of a missing key", err)
	_, err = b.Head(ctx, "p/none", "")
	notFound(t, "head of a missing key", err)
	_, err = b.Copy(ctx, "p/none", "", "p/dst")
	notFound(t, "copy of a missing key", err)
}

func testOverwrite(t *testing.T, b bucket.Bucket) {
	v1 := put(t, b, "p/k", []byte("first"))
	v2 := put(t, b, "p/k", []byte("second, longer"))
	if got := get(t, b, "p/k", ""); string(got) != "second, longer" {
		t.Errorf("current is %q after overwrite", got)
	}
	head(t, b, "p/k", "", []byte("second, longer"))
	if v1.VersionID == "" {
		return
	}
	if v1.VersionID == v2.VersionID {
		t.Fatalf("two puts returned the same version %q", v1.VersionID)
	}
	if got := get(t, b, "p/k", v1.VersionID); string(got) != "first" {
		t.Errorf("old version reads %q", got)
	}
}

func testCopy(t *testing.T, b bucket.Bucket) {
	data := bytes.Repeat([]byte("seeds "), 1000)
	src := put(t, b, "a/repo-seeds.tar.zst", data)
	put(t, b, "a/repo-seeds.tar.zst", []byte("a later version"))
	version := src.VersionID
	want := data
	if version == "" {
		want = []byte("a later version")
	}
	dst, err := b.Copy(ctx, "a/repo-seeds.tar.zst", version, "b/repo-seeds.tar.zst")
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if got := get(t, b, "b/repo-seeds.tar.zst", ""); !bytes.Equal(got, want) {
		t.Errorf("copy holds %d bytes, want the %d of the source version", len(got), len(want))
	}
	if h := head(t, b, "b/repo-seeds.tar.zst", "", want); h.VersionID != dst.VersionID {
		t.Errorf("head version %q, copy returned %q", h.VersionID, dst.VersionID)
	}
}

func testDelete(t *testing.T, b bucket.Bucket) {
	v1 := put(t, b, "p/k", []byte("first"))
	v2 := put(t, b, "p/k", []byte("second"))
	if err := b.Delete(ctx, "p/k", v2.VersionID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if v1.VersionID == "" {
		_, err := b.Head(ctx, "p/k", "")
		notFound(t, "head after delete", err)
		_, _, err = b.Get(ctx, "p/k", "")
		notFound(t, "get after delete", err)
		return
	}
	// Removing the current version makes the previous one current.
	if got := get(t, b, "p/k", ""); string(got) != "first" {
		t.Errorf("after deleting the current version, current reads %q", got)
	}
	if h := head(t, b, "p/k", "", []byte("first")); h.VersionID != v1.VersionID {
		t.Errorf("current version %q, want %q", h.VersionID, v1.VersionID)
	}
}

func testDeleteMissing(t *testing.T, b bucket.Bucket) {
	if err := b.Delete(ctx, "p/none", ""); err != nil {
		t.Errorf("delete of a missing key: %v", err)
	}
}

func testUnknownVersion(t *testing.T, b bucket.Bucket) {
	put(t, b, "p/k", []byte("data"))
	// A well-formed id that no write returned.
	const other = "3sL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY-MRNw7g4Q"
	_, _, err := b.Get(ctx, "p/k", other)
	notFound(t, "get of an unknown version", err)
	_, err = b.Head(ctx, "p/k", other)
	notFound(t, "head of an unknown version", err)
}
