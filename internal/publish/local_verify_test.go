package publish_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/publish"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
	"github.com/openclaw/clawdinator-bundle/internal/verify"
)

// localAssemble writes the fixture's bundles to a directory, as
// `assemble --out DIR` does, and returns DIR.
func localAssemble(t *testing.T, f *localFixture) string {
	t.Helper()
	prep, probs := localPrepare(t, f.load())
	if prep == nil {
		t.Fatalf("prepare:\n%s", localRender(probs))
	}
	out := t.TempDir()
	res := publish.Publish(context.Background(), prep, publish.Options{Bucket: bucket.Dir(out)})
	if res.Err() != nil || len(res.Problems.Errors()) > 0 {
		t.Fatalf("assemble: %v\n%s", res.Err(), localRender(res.Problems))
	}
	for _, ir := range res.Instances {
		if !ir.Verified || ir.Manifest == nil {
			t.Fatalf("%s not verified after assemble: %+v", ir.Instance, ir)
		}
	}
	return out
}

// localVerify runs `verify --dir out` for every instance of the fixture.
func localVerify(t *testing.T, f *localFixture, out string, mod ...func(*verify.Inputs, *verify.Options)) *result.Result {
	t.Helper()
	instances, probs := plan.LoadInstances(f.InstancesFile)
	if len(probs) > 0 {
		t.Fatal(localRender(probs))
	}
	vi := verify.Inputs{Instances: instances, Policy: f.in.Policy}
	opt := verify.Options{Bucket: bucket.Dir(out)}
	for _, m := range mod {
		m(&vi, &opt)
	}
	res := verify.Verify(context.Background(), vi, opt)
	if res.Err() != nil {
		t.Fatalf("verify could not complete: %v", res.Err())
	}
	return res
}

func localObject(out, inst, name string) string { return filepath.Join(out, "bootstrap", inst, name) }

// TestVerifyDir: what assemble wrote verifies clean, and each kind of later
// damage to the directory is reported against the instance and object.
func TestVerifyDir(t *testing.T) {
	f := newLocalFixture(t)
	out := localAssemble(t, f)

	res := localVerify(t, f, out)
	if len(res.Problems) > 0 {
		t.Fatalf("clean directory has problems:\n%s", localRender(res.Problems))
	}
	if res.Recipient != f.Recipient || len(res.Instances) != len(sample.Instances) {
		t.Fatalf("result = %+v", res)
	}
	for _, ir := range res.Instances {
		if !ir.Verified || len(ir.Secrets) != len(plan.DefaultRequired)+1 {
			t.Errorf("%s: verified %v with %d secrets", ir.Instance, ir.Verified, len(ir.Secrets))
		}
	}

	deep := localVerify(t, f, out, func(_ *verify.Inputs, o *verify.Options) { o.DeepVerify = true })
	if len(deep.Problems) > 0 {
		t.Fatalf("deep verify of a clean directory has problems:\n%s", localRender(deep.Problems))
	}

	expect := func(t *testing.T, res *result.Result, want ...string) {
		t.Helper()
		if _, ok := localFind(res.Problems, want...); !ok {
			t.Fatalf("no problem holds %q; got:\n%s", want, localRender(res.Problems))
		}
	}
	copyFile := func(t *testing.T, from, to string) {
		t.Helper()
		if err := os.WriteFile(to, localRead(t, from), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("swapped secrets archive", func(t *testing.T) {
		out := localAssemble(t, f)
		copyFile(t, localObject(out, "clawdinator-2", layout.SecretsObject), localObject(out, "clawdinator-1", layout.SecretsObject))
		res := localVerify(t, f, out)
		obj := "bootstrap/clawdinator-1/" + layout.SecretsObject
		expect(t, res, "instance clawdinator-1", obj, bundle.StatementEntry, `is the statement of instance "clawdinator-2"`)
		expect(t, res, "instance clawdinator-1", "bootstrap/clawdinator-1/"+layout.ManifestName, "disagrees with secrets.tar.zst (sha256")
		expect(t, res, "instance clawdinator-1", obj, sample.TokenName("clawdinator-2"), "token of instance clawdinator-2")
		expect(t, res, "instance clawdinator-1", obj, sample.TokenName("clawdinator-1"), "missing")
		for _, ir := range res.Instances {
			if ir.Verified == (ir.Instance == "clawdinator-1") {
				t.Errorf("%s verified = %v", ir.Instance, ir.Verified)
			}
		}
	})

	t.Run("swapped without manifests", func(t *testing.T) {
		// With no manifest left, the instance's own rules still catch it,
		// and every missing manifest is a problem of its own.
		out := localAssemble(t, f)
		copyFile(t, localObject(out, "clawdinator-2", layout.SecretsObject), localObject(out, "clawdinator-1", layout.SecretsObject))
		for _, inst := range sample.Instances {
			os.Remove(localObject(out, inst, layout.ManifestName))
		}
		res := localVerify(t, f, out)
		expect(t, res, "instance clawdinator-1", sample.TokenName("clawdinator-2"), "token of instance clawdinator-2")
		expect(t, res, "instance clawdinator-1", sample.TokenName("clawdinator-1"), "required secret is missing")
		for _, inst := range sample.Instances {
			expect(t, res, "instance "+inst, "bootstrap/"+inst+"/"+layout.ManifestName, "missing: the index of this instance's versions was deleted or never written; publish again")
		}
	})

	t.Run("missing seeds", func(t *testing.T) {
		out := localAssemble(t, f)
		os.Remove(localObject(out, "clawdinator-babelfish", layout.SeedsObject))
		res := localVerify(t, f, out)
		expect(t, res, "instance clawdinator-babelfish", "bootstrap/clawdinator-babelfish/"+layout.SeedsObject, "missing")
	})

	t.Run("corrupt seeds byte", func(t *testing.T) {
		out := localAssemble(t, f)
		p := localObject(out, "clawdinator-2", layout.SeedsObject)
		data := localRead(t, p)
		data[len(data)/2] ^= 0x01
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		res := localVerify(t, f, out)
		expect(t, res, "instance clawdinator-2", "bootstrap/clawdinator-2/"+layout.SeedsObject, "sha256")
		deep := localVerify(t, f, out, func(_ *verify.Inputs, o *verify.Options) { o.DeepVerify = true })
		expect(t, deep, "instance clawdinator-2", "bootstrap/clawdinator-2/"+layout.SeedsObject)
	})

	t.Run("secret changed in the secrets dir", func(t *testing.T) {
		out := localAssemble(t, f)
		res := localVerify(t, f, out, func(vi *verify.Inputs, _ *verify.Options) { vi.SecretsDir = f.SecretsDir })
		if len(res.Problems.Errors()) > 0 {
			t.Fatalf("no drift yet:\n%s", localRender(res.Problems))
		}
		localEncrypt(t, filepath.Join(f.SecretsDir, localCommon), []byte("rotated"), f.recipient(t))
		t.Cleanup(func() {
			localEncrypt(t, filepath.Join(f.SecretsDir, localCommon), []byte(sample.Canary+localCommon), f.recipient(t))
		})
		res = localVerify(t, f, out, func(vi *verify.Inputs, _ *verify.Options) { vi.SecretsDir = f.SecretsDir })
		for _, inst := range sample.Instances {
			expect(t, res, "instance "+inst, localCommon, "drift")
		}
	})

	t.Run("expected recipient", func(t *testing.T) {
		other := newLocalFixture(t)
		res := localVerify(t, f, out, func(_ *verify.Inputs, o *verify.Options) { o.ExpectedRecipient = other.Recipient })
		expect(t, res, bundle.KeyEntry, "expected-recipient is "+other.Recipient)
	})

	t.Run("only", func(t *testing.T) {
		res := localVerify(t, f, out, func(vi *verify.Inputs, _ *verify.Options) {
			vi.Policy.Only = []string{"clawdinator-2", "clawdinator-9"}
		})
		if len(res.Instances) != 1 || res.Instances[0].Instance != "clawdinator-2" || !res.Instances[0].Verified {
			t.Errorf("instances = %+v", res.Instances)
		}
		expect(t, res, "instance clawdinator-9", "not in the instances file")
	})

	// Verify selects as plan and publish do (plan.Select): a policy that
	// publish would refuse is reported against the instances file, and
	// every instance is checked all the same.
	t.Run("policy publish would refuse", func(t *testing.T) {
		token := strings.TrimSuffix(sample.TokenName("clawdinator-2"), ".age")
		res := localVerify(t, f, out, func(vi *verify.Inputs, _ *verify.Options) {
			vi.InstancesFile = f.InstancesFile
			vi.Policy.Required = append(slices.Clone(vi.Policy.Required), token)
		})
		expect(t, res, "instance clawdinator-2", f.InstancesFile, "is also a required secret")
		if len(res.Instances) != len(sample.Instances) || !res.Instances[1].Verified {
			t.Errorf("instances = %+v, want every one checked, clawdinator-2 proven", res.Instances)
		}
	})
}
