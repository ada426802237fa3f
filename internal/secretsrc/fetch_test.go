package secretsrc_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/secretsrc"
)

// Fetch against versitygw: objects written with our checksums; the lock
// checked before anything is written; the directory private, its files
// exactly the objects' bytes; an oversized object refused by name; keys
// deeper under the prefix and other suffixes not read.
func TestFetch(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "secrets")
	b, err := bucket.New(t.Context(), bucket.Config{Bucket: "secrets", Region: srv.Region, Endpoint: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	put := func(key string, data []byte) string {
		t.Helper()
		sum := sha256.Sum256(data)
		if _, err := b.Put(t.Context(), key, bytes.NewReader(data), int64(len(data)), sum); err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(sum[:])
	}
	sumA := put("age-secrets/a.age", []byte("ciphertext a"))
	sumB := put("age-secrets/b.age", []byte("ciphertext b"))
	put("age-secrets/README", []byte("not a secret"))
	put("age-secrets/old/c.age", []byte("below the prefix: not read"))
	lock := &secretsrc.Lock{Path: "L", Digests: map[string]string{"a.age": sumA, "b.age": sumB}}

	tmp := t.TempDir()
	src, probs, err := secretsrc.Fetch(t.Context(), b, "secrets", "age-secrets", lock, tmp)
	if err != nil || len(probs) != 0 {
		t.Fatalf("fetch: %v %v", err, probs)
	}
	if strings.Join(src.Names, ",") != "a.age,b.age" || src.URI != "s3://secrets/age-secrets/" {
		t.Errorf("names %v, uri %s", src.Names, src.URI)
	}
	st, err := os.Stat(src.Dir)
	if err != nil || st.Mode().Perm() != 0o700 || filepath.Dir(src.Dir) != tmp {
		t.Errorf("dir %s: %v %v", src.Dir, st.Mode(), err)
	}
	for name, want := range map[string]string{"a.age": "ciphertext a", "b.age": "ciphertext b"} {
		st, err := os.Stat(filepath.Join(src.Dir, name))
		data, _ := os.ReadFile(filepath.Join(src.Dir, name))
		if err != nil || st.Mode().Perm() != 0o600 || string(data) != want {
			t.Errorf("%s: %v %q %v", name, st.Mode(), data, err)
		}
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}

	// At the cap exactly: read whole. An object the store keeps no
	// checksum for (a plain PutObject): read, held to the lock alone.
	edge := bytes.Repeat([]byte{'e'}, secretsrc.MaxSecret)
	lock.Digests["edge.age"] = put("age-secrets/edge.age", edge)
	plain := []byte("uploaded without a checksum")
	if _, err := srv.Client().PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("secrets"), Key: aws.String("age-secrets/plain.age"), Body: bytes.NewReader(plain)}); err != nil {
		t.Fatal(err)
	}
	ps := sha256.Sum256(plain)
	lock.Digests["plain.age"] = hex.EncodeToString(ps[:])
	src, probs, err = secretsrc.Fetch(t.Context(), b, "secrets", "age-secrets", lock, tmp)
	if err != nil || len(probs) != 0 {
		t.Fatalf("fetch at the cap: %v %v", err, probs)
	}
	if data, _ := os.ReadFile(filepath.Join(src.Dir, "edge.age")); !bytes.Equal(data, edge) {
		t.Errorf("edge.age: %d bytes read, want %d", len(data), len(edge))
	}
	if data, _ := os.ReadFile(filepath.Join(src.Dir, "plain.age")); !bytes.Equal(data, plain) {
		t.Errorf("plain.age: %q", data)
	}
	src.Close()

	// An object over the cap, one the lock names with another digest, and
	// one it names that is not there: each named, nothing written.
	put("age-secrets/big.age", bytes.Repeat([]byte{'x'}, secretsrc.MaxSecret+1))
	put("age-secrets/b.age", []byte("ciphertext b, replaced"))
	lock.Digests["big.age"] = sumA
	lock.Digests["gone.age"] = sumA
	src, probs, err = secretsrc.Fetch(t.Context(), b, "secrets", "age-secrets/", lock, tmp)
	if err != nil || src != nil || len(probs) != 3 {
		t.Fatalf("fetch: %v %v %v", src, err, probs)
	}
	if probs[0].Object != "age-secrets/b.age" || !strings.Contains(probs[0].Message, "sha256 "+hex.EncodeToString(func() []byte { s := sha256.Sum256([]byte("ciphertext b, replaced")); return s[:] }())[:12]+", the lock L says "+sumB[:12]+": refused") ||
		probs[1].Object != "age-secrets/big.age" || !strings.Contains(probs[1].Message, "larger than 1048576 bytes") ||
		probs[2].Object != "age-secrets/gone.age" || probs[2].Message != "in the lock L but not in s3://secrets/age-secrets/: upload it, or remove its line from the lock" {
		t.Errorf("problems: %v", probs)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("written although refused: %v", entries)
	}

	// No lock: the same objects pass but the oversized one.
	_, probs, err = secretsrc.Fetch(t.Context(), b, "secrets", "age-secrets/", nil, tmp)
	if err != nil || len(probs) != 1 || probs[0].Object != "age-secrets/big.age" {
		t.Errorf("fetch without a lock: %v %v", err, probs)
	}

	// An empty prefix is configuration (exit 2); a store that refuses is
	// its own error (exit 3).
	_, _, err = secretsrc.Fetch(t.Context(), b, "secrets", "nothing/", nil, tmp)
	if !errors.As(err, new(*problem.UsageError)) || !strings.Contains(err.Error(), "secrets-s3-prefix s3://secrets/nothing/ holds no *.age object") {
		t.Errorf("empty prefix: %v", err)
	}
	denied, err := bucket.New(t.Context(), bucket.Config{Bucket: "secrets", Region: srv.Region, Endpoint: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = secretsrc.Fetch(t.Context(), denied, "secrets", "age-secrets/", nil, tmp)
	if bucket.Classify(err) != bucket.AccessDenied || errors.As(err, new(*problem.UsageError)) {
		t.Errorf("access denied: %v", err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
