package s3test_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/openclaw/clawdinator-bundle/internal/s3test"
)

func TestStartVersioningAndCLI(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "bucket-one")
	ctx := context.Background()
	c := srv.Client()

	var versions []string
	for _, body := range []string{"first", "second"} {
		out, err := c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("bucket-one"),
			Key:    aws.String("a/b.txt"),
			Body:   strings.NewReader(body),
		})
		if err != nil {
			t.Fatalf("put: %v", err)
		}
		if aws.ToString(out.VersionId) == "" {
			t.Fatal("put returned no version id: versioning is not on")
		}
		versions = append(versions, aws.ToString(out.VersionId))
	}
	if versions[0] == versions[1] {
		t.Fatalf("same version id twice: %q", versions[0])
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{
		Bucket:    aws.String("bucket-one"),
		Key:       aws.String("a/b.txt"),
		VersionId: aws.String(versions[0]),
	})
	if err != nil {
		t.Fatalf("get old version: %v", err)
	}
	b, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(b) != "first" {
		t.Fatalf("old version body = %q, want %q", b, "first")
	}

	// The aws CLI, configured only through Env, reads the current version.
	aws := "/usr/bin/aws"
	if _, err := os.Stat(aws); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("aws CLI not installed: %v", err)
		}
		t.Skipf("aws CLI not installed: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(aws, "--endpoint-url", srv.Endpoint, "s3api", "get-object",
		"--bucket", "bucket-one", "--key", "a/b.txt", dst)
	cmd.Env = append(os.Environ(), srv.Env()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("aws s3api get-object: %v\n%s", err, out)
	}
	b, err = os.ReadFile(dst)
	if err != nil || !bytes.Equal(b, []byte("second")) {
		t.Fatalf("aws CLI got %q (%v), want %q", b, err, "second")
	}
}

func TestWrongSecretRejected(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "bucket-two")
	bad := *srv
	bad.SecretKey = "wrong" + srv.SecretKey[5:]
	_, err := bad.Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("bucket-two")})
	if err == nil {
		t.Fatal("server accepted a wrong secret key")
	}
}
