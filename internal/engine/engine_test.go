package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/engine"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

func fixture(t *testing.T) *sample.Fixture {
	t.Helper()
	fx, err := sample.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

func cfgFor(fx *sample.Fixture, mode string) *config.Config {
	return &config.Config{
		Mode: mode, AgeKey: fx.Key, SecretsDir: fx.SecretsDir, RepoSeedsDir: fx.SeedsDir,
		InstancesFile: fx.InstancesFile, Required: plan.DefaultRequired, Exclude: plan.DefaultExclude,
		Mtime: time.Unix(0, 0).UTC(),
	}
}

func statuses(res *result.Result) map[result.Status]int {
	out := map[result.Status]int{}
	for _, in := range res.Instances {
		for _, o := range in.Objects {
			out[o.Status]++
		}
	}
	return out
}

// Assemble without a directory builds in memory and writes nothing;
// with one, it writes and proves what it wrote.
func TestAssemble(t *testing.T) {
	fx := fixture(t)
	res, err := engine.Run(context.Background(), cfgFor(fx, config.Assemble), engine.Options{})
	if err != nil || !res.OK() || res.Mode != result.Assemble || statuses(res)[result.Built] != 2*len(sample.Instances) {
		t.Fatalf("assemble in memory: %v, ok %v, statuses %v\n%v", err, res.OK(), statuses(res), res.Problems)
	}

	c := cfgFor(fx, config.Assemble)
	c.OutputDir = filepath.Join(t.TempDir(), "out")
	res, err = engine.Run(context.Background(), c, engine.Options{Version: "v9.9.9"})
	if err != nil || !res.OK() || statuses(res)[result.Written] != 2*len(sample.Instances) {
		t.Fatalf("assemble --out: %v, ok %v, statuses %v\n%v", err, res.OK(), statuses(res), res.Problems)
	}
	if m := res.Instances[0].Manifest; m == nil || m.Tool.Version != "v9.9.9" {
		t.Errorf("manifest tool: %+v", m)
	}
}

// Verify compares with the secrets dir when the options say so
// (config.CompareSecretsDir), and reports drift only then.
func TestVerifyComparesSecretsDir(t *testing.T) {
	fx := fixture(t)
	out := filepath.Join(t.TempDir(), "out")
	c := cfgFor(fx, config.Assemble)
	c.OutputDir = out
	if res, err := engine.Run(context.Background(), c, engine.Options{}); err != nil || !res.OK() {
		t.Fatalf("assemble: %v %v", err, res.Problems)
	}
	// A newer ciphertext in the secrets dir than in the bundle: drift.
	if err := sample.Encrypt(filepath.Join(fx.SecretsDir, "clawdinator-control-token.age"), []byte(sample.Canary+"rotated"), mustRecipient(t, fx)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		compare bool
		drift   bool
	}{
		{"compared", true, true},
		{"not compared", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &config.Config{Mode: config.Verify, Dir: out, InstancesFile: fx.InstancesFile, Required: plan.DefaultRequired,
				Exclude: plan.DefaultExclude, SecretsDir: fx.SecretsDir, CompareSecretsDir: tc.compare}
			res, err := engine.Run(context.Background(), c, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			drift := false
			for _, p := range res.Problems {
				drift = drift || strings.Contains(p.Message, "drift: differs from")
			}
			if drift != tc.drift || res.OK() == tc.drift {
				t.Errorf("drift reported %v, want %v; ok %v\n%v", drift, tc.drift, res.OK(), res.Problems)
			}
		})
	}
}

func mustRecipient(t *testing.T, fx *sample.Fixture) age.Recipient {
	t.Helper()
	r, err := age.ParseX25519Recipient(fx.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A configuration the S3 client refuses is a usage error, before anything
// is read.
func TestBadBucketConfig(t *testing.T) {
	fx := fixture(t)
	c := cfgFor(fx, config.Publish)
	c.Bucket, c.SSE = "b", "nonsense"
	_, err := engine.Run(context.Background(), c, engine.Options{})
	var ue *config.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `sse "nonsense"`) {
		t.Fatalf("err = %v, want a usage error naming sse", err)
	}
}
