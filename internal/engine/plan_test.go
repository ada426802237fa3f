package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/config"
	"github.com/openclaw/clawdinator-bundle/internal/engine"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// Plan reads the instances file and nothing else: no key, no secrets dir,
// no bucket (Options.Bucket is nil and no S3 client could be built from
// the config, which names no bucket).
func TestPlan(t *testing.T) {
	fx := fixture(t)
	if err := os.RemoveAll(fx.SecretsDir); err != nil {
		t.Fatal(err)
	}
	c := &config.Config{Mode: config.Plan, InstancesFile: fx.InstancesFile, SecretsDir: fx.SecretsDir}
	res, err := engine.Run(context.Background(), c, engine.Options{})
	if err != nil || !res.OK() || res.Mode != result.Plan || len(res.Instances) != 0 {
		t.Fatalf("plan: %v, ok %v, %+v", err, res.OK(), res)
	}
	if got := res.Names(); !slices.Equal(got, sample.Instances) {
		t.Errorf("planned %v, want %v", got, sample.Instances)
	}
	if p := res.Planned[1]; p.Prefix != "bootstrap/clawdinator-2" || p.DiscordTokenSecret == "" {
		t.Errorf("planned %+v", p)
	}

	c.Instances = []string{"clawdinator-babelfish", "clawdinator-1"}
	res, _ = engine.Run(context.Background(), c, engine.Options{})
	if got := res.Names(); !res.OK() || !slices.Equal(got, []string{"clawdinator-1", "clawdinator-babelfish"}) {
		t.Errorf("selected: %v ok %v %v", got, res.OK(), res.Problems)
	}

	// A wrong selection or a wrong file lists nothing: a matrix must not
	// fan out over half a plan.
	c.Instances = []string{"clawdinator-1", "clawdinator-9"}
	res, _ = engine.Run(context.Background(), c, engine.Options{})
	if res.OK() || len(res.Planned) != 0 || !res.Problems.HasErrors() {
		t.Errorf("unknown instance: ok %v, planned %v, %v", res.OK(), res.Planned, res.Problems)
	}
	c.Instances = nil
	bad := filepath.Join(t.TempDir(), "instances.json")
	if err := os.WriteFile(bad, []byte(`{"a": {"discordTokenSecret": "t"}, "b": {"discordTokenSecret": "t"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c.InstancesFile = bad
	res, _ = engine.Run(context.Background(), c, engine.Options{})
	if res.OK() || len(res.Planned) != 0 || !res.Problems.HasErrors() {
		t.Errorf("two instances, one token: ok %v, planned %v, %v", res.OK(), res.Planned, res.Problems)
	}
}

// The outputs a workflow branches on: a first publish uploads and proves
// every instance; the same publish again uploads nothing and still proves
// every instance; verify uploads nothing.
func TestUploadedAndProven(t *testing.T) {
	fx := fixture(t)
	b := newVersioned(t.TempDir())
	n := len(sample.Instances)
	for i, want := range []bool{true, false} {
		res, err := engine.Run(context.Background(), cfgFor(fx, config.Publish), engine.Options{Bucket: b})
		if err != nil || !res.OK() {
			t.Fatalf("publish %d: %v %v", i+1, err, res.Problems)
		}
		if res.Uploaded() != want || res.Proven() != n {
			t.Errorf("publish %d: uploaded %v, proven %d; want %v, %d (statuses %v)", i+1, res.Uploaded(), res.Proven(), want, n, statuses(res))
		}
	}
	c := &config.Config{Mode: config.Verify, InstancesFile: fx.InstancesFile, Required: cfgFor(fx, config.Verify).Required, Exclude: cfgFor(fx, config.Verify).Exclude}
	res, err := engine.Run(context.Background(), c, engine.Options{Bucket: b})
	if err != nil || !res.OK() || res.Uploaded() || res.Proven() != n {
		t.Errorf("verify: %v ok %v uploaded %v proven %d\n%v", err, res.OK(), res.Uploaded(), res.Proven(), res.Problems)
	}
}
