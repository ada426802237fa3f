package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/engine"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
)

// Publish needs versions (the race check, rollback and reuse name them): a
// bucket without versioning is refused as a configuration problem, before
// anything is written, with the command that fixes it.
func TestPublishRequiresVersioning(t *testing.T) {
	srv := s3test.Start(t)
	const name = "unversioned"
	if _, err := srv.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	fx := fixture(t)
	c := cfgFor(fx, config.Publish)
	c.Bucket, c.Endpoint, c.Region = name, srv.Endpoint, srv.Region
	c.AccessKeyID, c.SecretAccessKey = srv.AccessKey, srv.SecretKey
	_, err := engine.Run(context.Background(), c, engine.Options{})
	var ue *config.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "bucket unversioned does not have versioning enabled") ||
		!strings.Contains(err.Error(), "put-bucket-versioning --bucket unversioned --versioning-configuration Status=Enabled") {
		t.Fatalf("err = %v, want a usage error naming the fix", err)
	}
	out, err := srv.Client().ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(name)})
	if err != nil || len(out.Versions) != 0 {
		t.Errorf("the bucket holds %d objects after a refused publish (%v)", len(out.Versions), err)
	}

	// The same run on a versioned bucket goes through.
	srv.CreateBucket(t, "versioned")
	c.Bucket = "versioned"
	res, err := engine.Run(context.Background(), c, engine.Options{})
	if err != nil || !res.OK() {
		t.Fatalf("publish to a versioned bucket: %v %v", err, res.Problems)
	}
}
