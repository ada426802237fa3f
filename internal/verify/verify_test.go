package verify_test

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bucket/buckettest"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/progress"
	"github.com/openclaw/clawdinator-bundle/internal/result"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
	"github.com/openclaw/clawdinator-bundle/internal/verify"
)

// What publish wrote verifies clean, in a directory and in a versioned
// bucket, shallow and deep: every instance and object proven, each object
// as found (version, digest, size), the manifest read, the key named.
func TestVerifyClean(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    func(t *testing.T) bucket.Bucket
		deep bool
	}{
		{"dir", func(t *testing.T) bucket.Bucket { return bucket.Dir(t.TempDir()) }, false},
		{"versioned", func(t *testing.T) bucket.Bucket { return buckettest.NewVersioned(t.TempDir()) }, false},
		{"versioned, deep", func(t *testing.T) bucket.Bucket { return buckettest.NewVersioned(t.TempDir()) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := published(t, tc.b(t))
			var mu sync.Mutex
			var events []progress.Event
			res := check(t, b, func(_ *verify.Inputs, o *verify.Options) {
				o.DeepVerify = tc.deep
				o.Events = func(e progress.Event) {
					mu.Lock()
					defer mu.Unlock()
					events = append(events, e)
				}
			})
			if !res.OK() || len(res.Problems) > 0 || res.Mode != result.Verify || res.Recipient != ours.fx.Recipient {
				t.Fatalf("ok %v, mode %s, recipient %s, problems:\n%s", res.OK(), res.Mode, res.Recipient, render(res.Problems))
			}
			if got := res.Names(); !slices.Equal(got, sample.Instances) {
				t.Errorf("instances %v, want %v in the file's order", got, sample.Instances)
			}
			for _, ir := range res.Instances {
				sec, seeds := objects(t, ir)
				m := ir.Manifest
				if !ir.Verified || !sec.Verified || !seeds.Verified || m == nil || m.Instance != ir.Instance || ir.Prefix != "bootstrap/"+ir.Instance {
					t.Errorf("%s: %+v", ir.Instance, ir)
					continue
				}
				if !slices.Equal(ir.Secrets, ours.prep.SecretInfo[ir.Instance]) {
					t.Errorf("%s: secrets %v", ir.Instance, ir.Secrets)
				}
				for _, o := range []result.Object{sec, seeds} {
					mo := m.Object(o.Name)
					if o.Status != result.Checked || o.Key != key(ir.Prefix, o.Name) || o.VersionID != mo.VersionID || o.SHA256 != mo.SHA256 || o.Size != mo.Size {
						t.Errorf("%s: %+v, the manifest says %+v", ir.Instance, o, mo)
					}
				}
				if _, ok := b.(bucket.Dir); !ok && sec.VersionID == "" {
					t.Errorf("%s: no version id found in a versioned bucket", ir.Instance)
				}
				if seeds.SHA256 != ours.prep.Seeds.Hex() {
					t.Errorf("%s: seeds proven as %s, want %s", ir.Instance, seeds.SHA256, ours.prep.Seeds.Hex())
				}
			}
			sort.Slice(events, func(i, j int) bool { return events[i].Instance < events[j].Instance })
			if len(events) != len(sample.Instances) {
				t.Fatalf("events %+v", events)
			}
			for i, e := range events {
				if e != (progress.Event{Instance: sample.Instances[i], Step: "verify"}) {
					t.Errorf("event %+v", e)
				}
			}
		})
	}
}

// Deep verification downloads every repo-seeds archive; without it, the
// store's checksum is the proof and nothing is downloaded.
func TestVerifyDeep(t *testing.T) {
	b := hook(published(t, bucket.Dir(t.TempDir())))
	seeds := key(prefix1, layout.SeedsObject)
	if res := check(t, b); !res.OK() || b.Calls("get", seeds) != 0 {
		t.Errorf("shallow: ok %v, %d downloads of %s", res.OK(), b.Calls("get", seeds), seeds)
	}
	if res := check(t, b, func(_ *verify.Inputs, o *verify.Options) { o.DeepVerify = true }); !res.OK() || b.Calls("get", seeds) != 1 {
		t.Errorf("deep: ok %v, %d downloads of %s", res.OK(), b.Calls("get", seeds), seeds)
	}
}

// A missing object is what a host booting now would fail on; the other
// object is still checked, and the manifest is not blamed for it.
func TestVerifyMissing(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    func(t *testing.T) bucket.Bucket
	}{
		{"dir", func(t *testing.T) bucket.Bucket { return bucket.Dir(t.TempDir()) }},
		{"versioned", func(t *testing.T) bucket.Bucket { return buckettest.NewVersioned(t.TempDir()) }},
	} {
		t.Run(tc.name+", secrets", func(t *testing.T) {
			b := published(t, tc.b(t))
			if err := b.Delete(ctx, key(prefix1, layout.SecretsObject), ""); err != nil {
				t.Fatal(err)
			}
			res := check(t, b)
			requireProblem(t, res.Problems, "instance clawdinator-1: bootstrap/clawdinator-1/secrets.tar.zst: missing: a host booting now would fail to download it")
			if n := len(res.Problems); n != 1 {
				t.Errorf("%d problems, want the missing archive only:\n%s", n, render(res.Problems))
			}
			sec, seeds := objects(t, instance(t, res, inst1))
			if sec.Status != result.Missing || sec.Verified || seeds.Status != result.Checked || seeds.Verified {
				t.Errorf("secrets %+v, seeds %+v: neither verified, seeds not proven without a statement", sec, seeds)
			}
			if seeds.Size != ours.prep.Seeds.Size {
				t.Errorf("seeds size %d, want the current object's %d", seeds.Size, ours.prep.Seeds.Size)
			}
			requireOnlyBroken(t, res, inst1)
		})
		t.Run(tc.name+", seeds", func(t *testing.T) {
			b := published(t, tc.b(t))
			if err := b.Delete(ctx, key(prefix1, layout.SeedsObject), ""); err != nil {
				t.Fatal(err)
			}
			res := check(t, b)
			requireProblem(t, res.Problems, "instance clawdinator-1: bootstrap/clawdinator-1/repo-seeds.tar.zst: missing: a host booting now would fail to download it")
			if n := len(res.Problems); n != 1 {
				t.Errorf("%d problems, want the missing seeds only:\n%s", n, render(res.Problems))
			}
			sec, seeds := objects(t, instance(t, res, inst1))
			if !sec.Verified || seeds.Status != result.Missing || seeds.Verified {
				t.Errorf("secrets %+v, seeds %+v", sec, seeds)
			}
			requireOnlyBroken(t, res, inst1)
		})
	}
}

// A secrets archive that proves nothing: the seeds it would name are not
// proven, and neither a recipient nor a statement is taken from it.
func TestVerifyUnprovenSecrets(t *testing.T) {
	b := published(t, bucket.Dir(t.TempDir()))
	put(t, b, key(prefix1, layout.SecretsObject), []byte("not an archive"))
	res := check(t, b)
	requireProblem(t, res.Problems, "instance clawdinator-1: bootstrap/clawdinator-1/secrets.tar.zst: unreadable archive")
	requireProblem(t, res.Problems, "bootstrap/clawdinator-1/manifest.json: disagrees with secrets.tar.zst")
	requireNoProblem(t, res.Problems, "says the key is")
	requireNoProblem(t, res.Problems, "lists other secrets")
	requireNoProblem(t, res.Problems, "repo-seeds.tar.zst:")
	sec, seeds := objects(t, instance(t, res, inst1))
	if sec.Verified || seeds.Verified || seeds.SHA256 != "" || seeds.Size != ours.prep.Seeds.Size {
		t.Errorf("secrets %+v, seeds %+v", sec, seeds)
	}
	if res.Recipient != ours.fx.Recipient {
		t.Errorf("recipient %q, want the other instances' only", res.Recipient)
	}
	requireOnlyBroken(t, res, inst1)
}

// The manifest is an index: missing, unreadable, another instance's, or
// disagreeing with what the key vouches for, it is a problem of its own,
// and never a reason to doubt proven objects.
func TestVerifyManifest(t *testing.T) {
	mkey := key(prefix1, layout.ManifestName)
	sec := ours.prep.Secrets[inst1]
	st := ours.prep.Statements[inst1]
	// Problems besides the one a case wants: another instance's manifest
	// describes another archive.
	more := map[string][]string{"another instance's": {"disagrees with secrets.tar.zst", "lists other secrets"}}
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, b bucket.Bucket)
		want   string
		// objectsProven: the objects stay verified; only the instance is not.
		objectsProven bool
	}{
		{"missing", func(t *testing.T, b bucket.Bucket) { b.Delete(ctx, mkey, "") },
			"missing: the index of this instance's versions was deleted or never written; publish again", true},
		{"unreadable", func(t *testing.T, b bucket.Bucket) { put(t, b, mkey, []byte("{")) },
			"unreadable manifest: invalid manifest JSON", true},
		{"another instance's", func(t *testing.T, b bucket.Bucket) {
			put(t, b, mkey, get(t, b, key("bootstrap/clawdinator-2", layout.ManifestName)))
		}, `manifest is for instance "clawdinator-2"; publish again`, true},
		{"lists no secrets archive", func(t *testing.T, b bucket.Bucket) {
			editManifest(t, b, prefix1, func(m *manifest.Manifest) { m.Objects = m.Objects[1:] })
		}, "lists no secrets.tar.zst; publish again", true},
		{"lists no seeds", func(t *testing.T, b bucket.Bucket) {
			editManifest(t, b, prefix1, func(m *manifest.Manifest) { m.Objects = m.Objects[:1] })
		}, "lists no repo-seeds.tar.zst; publish again", true},
		{"seeds digest", func(t *testing.T, b bucket.Bucket) {
			editManifest(t, b, prefix1, func(m *manifest.Manifest) { m.Object(layout.SeedsObject).SHA256 = strings.Repeat("e", 64) })
		}, "disagrees with the statement in secrets.tar.zst about repo-seeds.tar.zst (sha256 eeeeeeeeeeee, the statement says " + problem.Short(st.RepoSeeds.SHA256) + "); publish again", true},
		{"seeds size", func(t *testing.T, b bucket.Bucket) {
			editManifest(t, b, prefix1, func(m *manifest.Manifest) { m.Object(layout.SeedsObject).Size++ })
		}, "disagrees with the statement in secrets.tar.zst about repo-seeds.tar.zst", true},
		{"secrets digest", func(t *testing.T, b bucket.Bucket) {
			editManifest(t, b, prefix1, func(m *manifest.Manifest) { m.Object(layout.SecretsObject).SHA256 = strings.Repeat("e", 64) })
		}, "disagrees with secrets.tar.zst (sha256 eeeeeeeeeeee, the object has " + problem.Short(sec.Hex()) + "); publish again", true},
		{"secrets size", func(t *testing.T, b bucket.Bucket) {
			editManifest(t, b, prefix1, func(m *manifest.Manifest) { m.Object(layout.SecretsObject).Size++ })
		}, "disagrees with secrets.tar.zst (sha256 " + problem.Short(sec.Hex()), true},
		{"other secrets", func(t *testing.T, b bucket.Bucket) {
			editManifest(t, b, prefix1, func(m *manifest.Manifest) { m.Secrets = m.Secrets[1:] })
		}, "lists other secrets than the statement in secrets.tar.zst; publish again", true},
		{"secret digest", func(t *testing.T, b bucket.Bucket) {
			editManifest(t, b, prefix1, func(m *manifest.Manifest) { m.Secrets[0].SHA256 = strings.Repeat("e", 64) })
		}, "lists other secrets than the statement in secrets.tar.zst; publish again", true},
		{"recipient", func(t *testing.T, b bucket.Bucket) {
			editManifest(t, b, prefix1, func(m *manifest.Manifest) { m.Recipient = theirs.fx.Recipient })
		}, "says the key is " + theirs.fx.Recipient + ", the bundled key is " + ours.fx.Recipient + "; publish again", true},
		{"a version in an unversioned bucket", func(t *testing.T, b bucket.Bucket) {
			editManifest(t, b, prefix1, func(m *manifest.Manifest) { m.Object(layout.SecretsObject).VersionID = "v9" })
		}, "secrets.tar.zst: changed outside a publish (drift or tampering): current version (none) is not the version v9 the manifest names", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := published(t, bucket.Dir(t.TempDir()))
			tc.damage(t, b)
			res := check(t, b)
			requireProblem(t, res.Problems, "instance clawdinator-1: ", tc.want)
			for _, w := range more[tc.name] {
				requireProblem(t, res.Problems, "instance clawdinator-1: "+mkey+": "+w)
			}
			if n := len(res.Problems); n != 1+len(more[tc.name]) {
				t.Errorf("%d problems, want 1:\n%s", n, render(res.Problems))
			}
			ir := instance(t, res, inst1)
			sec, seeds := objects(t, ir)
			if sec.Verified != tc.objectsProven || !seeds.Verified {
				t.Errorf("secrets verified %v, seeds verified %v", sec.Verified, seeds.Verified)
			}
			requireOnlyBroken(t, res, inst1)
		})
	}
}

// Where the current secrets archive is not the manifest's, the replacement
// is reported once, on the archive, whatever else the manifest says; where
// it is, the manifest's secrets and key are compared with it.
func TestVerifyReplaced(t *testing.T) {
	skey := key(prefix1, layout.SecretsObject)
	t.Run("same bytes, new version", func(t *testing.T) {
		b := published(t, buckettest.NewVersioned(t.TempDir()))
		m, err := manifest.Parse(get(t, b, key(prefix1, layout.ManifestName)))
		if err != nil {
			t.Fatal(err)
		}
		was := m.Object(layout.SecretsObject).VersionID
		now := put(t, b, skey, get(t, b, skey)).VersionID
		editManifest(t, b, prefix1, func(m *manifest.Manifest) { m.Recipient = theirs.fx.Recipient })
		res := check(t, b)
		requireProblem(t, res.Problems, "instance clawdinator-1: bootstrap/clawdinator-1/secrets.tar.zst: changed outside a publish (drift or tampering): current version "+now+" is not the version "+was+" the manifest names")
		if n := len(res.Problems); n != 1 {
			t.Errorf("%d problems, want the replacement only:\n%s", n, render(res.Problems))
		}
		requireOnlyBroken(t, res, inst1)
	})
	t.Run("unreadable replacement", func(t *testing.T) {
		// What the new version's own check found about it as a whole goes
		// into the one problem.
		b := published(t, buckettest.NewVersioned(t.TempDir()))
		put(t, b, skey, []byte("not an archive"))
		res := check(t, b)
		requireProblem(t, res.Problems, "secrets.tar.zst: changed outside a publish (drift or tampering): current version ", "; unreadable archive")
		if n := len(res.Problems); n != 1 {
			t.Errorf("%d problems, want one:\n%s", n, render(res.Problems))
		}
	})
	t.Run("another instance's archive", func(t *testing.T) {
		// Findings about entries stay separate, each naming its entry.
		b := published(t, buckettest.NewVersioned(t.TempDir()))
		put(t, b, skey, ours.prep.Secrets[inst2].Data)
		res := check(t, b)
		requireProblem(t, res.Problems, "secrets.tar.zst: changed outside a publish (drift or tampering)")
		requireProblem(t, res.Problems, "secrets.tar.zst: "+bundle.StatementEntry+`: is the statement of instance "clawdinator-2"`)
		requireProblem(t, res.Problems, "secrets.tar.zst: "+bundle.SecretsDir+"/"+sample.TokenName(inst2)+": must not be in this bundle: it is the discord token of instance clawdinator-2")
		requireNoProblem(t, res.Problems, "; is the statement")
	})
	t.Run("unversioned, other bytes", func(t *testing.T) {
		// Without version ids, the digest tells whether the manifest
		// describes the archive; here it does not, so its key is not
		// compared with the archive's.
		b := published(t, bucket.Dir(t.TempDir()))
		editManifest(t, b, prefix1, func(m *manifest.Manifest) {
			o := m.Object(layout.SecretsObject)
			o.VersionID, o.SHA256 = "v9", strings.Repeat("e", 64)
			m.Recipient = theirs.fx.Recipient
		})
		res := check(t, b)
		requireProblem(t, res.Problems, "changed outside a publish")
		requireNoProblem(t, res.Problems, "says the key is")
	})
	t.Run("unversioned, same bytes", func(t *testing.T) {
		b := published(t, bucket.Dir(t.TempDir()))
		editManifest(t, b, prefix1, func(m *manifest.Manifest) {
			m.Object(layout.SecretsObject).VersionID = "v9"
			m.Recipient = theirs.fx.Recipient
		})
		res := check(t, b)
		requireProblem(t, res.Problems, "changed outside a publish")
		requireProblem(t, res.Problems, "says the key is "+theirs.fx.Recipient)
	})
	t.Run("seeds", func(t *testing.T) {
		b := published(t, buckettest.NewVersioned(t.TempDir()))
		seeds := key(prefix1, layout.SeedsObject)
		put(t, b, seeds, []byte("other seeds"))
		res := check(t, b)
		requireProblem(t, res.Problems, "repo-seeds.tar.zst: changed outside a publish (drift or tampering)", "; is not the repo-seeds object its secrets archive names")
		_, so := objects(t, instance(t, res, inst1))
		if so.Verified {
			t.Error("replaced seeds verified")
		}
		requireOnlyBroken(t, res, inst1)
	})
}

// The policy: required secrets and the instance's own token must be in
// the bundle, another instance's token and excluded files must not.
func TestVerifyPolicy(t *testing.T) {
	skey := key(prefix1, layout.SecretsObject)
	drop := func(name string) func(*manifest.Statement, []bundle.SecretFile) []bundle.SecretFile {
		return func(_ *manifest.Statement, f []bundle.SecretFile) []bundle.SecretFile {
			return slices.DeleteFunc(f, func(s bundle.SecretFile) bool { return s.Name == name })
		}
	}
	t.Run("required", func(t *testing.T) {
		b := published(t, bucket.Dir(t.TempDir()))
		put(t, b, skey, rebundle(t, inst1, drop(plan.DefaultRequired[2])))
		res := check(t, b)
		requireProblem(t, res.Problems, "secrets.tar.zst: "+bundle.SecretsDir+"/"+plan.DefaultRequired[2]+": required secret is missing from the bundle")
		// Required names are trimmed and take ".age" when they lack it.
		res = check(t, b, func(in *verify.Inputs, _ *verify.Options) {
			in.Policy.Required = []string{"  " + strings.TrimSuffix(plan.DefaultRequired[2], ".age") + " ", ""}
		})
		requireProblem(t, res.Problems, bundle.SecretsDir+"/"+plan.DefaultRequired[2]+": required secret is missing from the bundle")
		// The manifest, written for the archive replaced, disagrees with it.
		requireProblem(t, res.Problems, "manifest.json: disagrees with secrets.tar.zst")
		requireProblem(t, res.Problems, "manifest.json: lists other secrets than the statement")
		if n := len(res.Problems); n != 3 {
			t.Errorf("%d problems:\n%s", n, render(res.Problems))
		}
	})
	t.Run("token", func(t *testing.T) {
		b := published(t, bucket.Dir(t.TempDir()))
		put(t, b, skey, rebundle(t, inst1, drop(sample.TokenName(inst1))))
		res := check(t, b, func(in *verify.Inputs, _ *verify.Options) { in.Policy.Required = nil })
		requireProblem(t, res.Problems, bundle.SecretsDir+"/"+sample.TokenName(inst1)+": required secret is missing from the bundle")
	})
	t.Run("another instance's token, that instance not selected", func(t *testing.T) {
		b := published(t, bucket.Dir(t.TempDir()))
		put(t, b, skey, ours.prep.Secrets[inst2].Data)
		res := check(t, b, func(in *verify.Inputs, _ *verify.Options) { in.Policy.Only = []string{inst1} })
		requireProblem(t, res.Problems, bundle.SecretsDir+"/"+sample.TokenName(inst2)+": must not be in this bundle: it is the discord token of instance clawdinator-2")
	})
	t.Run("excluded", func(t *testing.T) {
		b := published(t, bucket.Dir(t.TempDir()))
		res := check(t, b, func(in *verify.Inputs, _ *verify.Options) {
			in.Policy.Exclude = append(slices.Clone(policy.Exclude), plan.DefaultRequired[0])
			in.Policy.Required = plan.DefaultRequired[1:]
		})
		for _, inst := range sample.Instances {
			requireProblem(t, res.Problems, "instance "+inst+": ", bundle.SecretsDir+"/"+plan.DefaultRequired[0]+": must not be in this bundle: it matches exclude-secrets "+plan.DefaultRequired[0])
		}
	})
	t.Run("expected recipient", func(t *testing.T) {
		b := published(t, bucket.Dir(t.TempDir()))
		res := check(t, b, func(_ *verify.Inputs, o *verify.Options) { o.ExpectedRecipient = theirs.fx.Recipient })
		for _, inst := range sample.Instances {
			requireProblem(t, res.Problems, "instance "+inst+": ", bundle.KeyEntry+": key is "+ours.fx.Recipient+", expected-recipient is "+theirs.fx.Recipient)
		}
		if res.Recipient != ours.fx.Recipient {
			t.Errorf("recipient %q, want the bundled key's", res.Recipient)
		}
	})
}

// Against a secrets directory: a bundled secret whose file changed or is
// gone is drift.
func TestVerifySecretsDir(t *testing.T) {
	b := published(t, bucket.Dir(t.TempDir()))
	dir := t.TempDir()
	ents, err := os.ReadDir(ours.fx.SecretsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(ours.fx.SecretsDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	withDir := func(in *verify.Inputs, _ *verify.Options) { in.SecretsDir = dir }
	if res := check(t, b, withDir); !res.OK() || len(res.Problems) > 0 {
		t.Fatalf("the directory published:\n%s", render(res.Problems))
	}

	changed, gone := plan.DefaultRequired[0], sample.TokenName(inst2)
	if err := os.WriteFile(filepath.Join(dir, changed), []byte("rotated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, gone)); err != nil {
		t.Fatal(err)
	}
	res := check(t, b, withDir)
	for _, inst := range sample.Instances {
		requireProblem(t, res.Problems, "instance "+inst+": bootstrap/"+inst+"/secrets.tar.zst: "+bundle.SecretsDir+"/"+changed+": drift: differs from "+filepath.Join(dir, changed)+" (publish again to ship the new version)")
	}
	requireProblem(t, res.Problems, "instance clawdinator-2: bootstrap/clawdinator-2/secrets.tar.zst: "+bundle.SecretsDir+"/"+gone+": drift: "+filepath.Join(dir, gone)+" cannot be read (no such file or directory)")
	if n := len(res.Problems); n != len(sample.Instances)+1 {
		t.Errorf("%d problems:\n%s", n, render(res.Problems))
	}
}

// Verify checks what the policy selects, in the file's order; a wrong
// selection is reported against the instances file, and what it still
// selects is checked all the same.
func TestVerifySelect(t *testing.T) {
	b := published(t, bucket.Dir(t.TempDir()))
	res := check(t, b, func(in *verify.Inputs, _ *verify.Options) { in.Policy.Only = []string{inst3, inst2} })
	if got := res.Names(); !res.OK() || !slices.Equal(got, []string{inst2, inst3}) {
		t.Errorf("selected %v, ok %v", got, res.OK())
	}
	res = check(t, b, func(in *verify.Inputs, _ *verify.Options) { in.Policy.Only = []string{inst2, "clawdinator-9"} })
	requireProblem(t, res.Problems, "instance clawdinator-9: not in the instances file")
	if got := res.Names(); len(res.Problems) != 1 || !slices.Equal(got, []string{inst2}) || !instance(t, res, inst2).Verified {
		t.Errorf("selected %v: %+v\n%s", got, res.Instances, render(res.Problems))
	}
	res = check(t, b, func(in *verify.Inputs, _ *verify.Options) {
		in.Policy.Only = []string{inst2}
		in.Policy.Exclude = append(slices.Clone(policy.Exclude), sample.TokenName(inst3))
	})
	requireProblem(t, res.Problems, "instance "+inst3+": "+ours.fx.InstancesFile+": ", "matches exclude-secrets")
	if got := res.Names(); len(res.Problems) != 1 || !slices.Equal(got, []string{inst2}) || !instance(t, res, inst2).Verified {
		t.Errorf("selected %v: %+v\n%s", got, res.Instances, render(res.Problems))
	}
}

// The recipient reported is every bundled key found, once each, sorted.
func TestVerifyRecipients(t *testing.T) {
	b := bucket.Dir(t.TempDir())
	ours.publishTo(t, b, inst1, inst3)
	theirs.publishTo(t, b, inst2)
	res := check(t, b)
	want := []string{ours.fx.Recipient, theirs.fx.Recipient}
	sort.Strings(want)
	if !res.OK() || res.Recipient != strings.Join(want, ",") {
		t.Errorf("ok %v, recipient %q, want %q\n%s", res.OK(), res.Recipient, strings.Join(want, ","), render(res.Problems))
	}

	for _, inst := range sample.Instances {
		put(t, b, key("bootstrap/"+inst, layout.SecretsObject), []byte("no key here"))
	}
	if res := check(t, b); res.Recipient != "" {
		t.Errorf("no key found, recipient %q", res.Recipient)
	}
}

// A store that cannot answer stops the instance it failed for, and only
// that one: the run reports it as operational, not as a finding.
func TestVerifyOperational(t *testing.T) {
	skey, seeds, mkey := key(prefix1, layout.SecretsObject), key(prefix1, layout.SeedsObject), key(prefix1, layout.ManifestName)
	for _, tc := range []struct {
		name string
		fail func(op, key, version string) error
		// objects: the objects reached are reported.
		objects bool
	}{
		{"manifest", func(op, k, _ string) error { return failIf(op == "get" && k == mkey, errDenied) }, false},
		{"secrets head", func(op, k, _ string) error { return failIf(op == "head" && k == skey, errDenied) }, true},
		{"secrets head, not operational", func(op, k, _ string) error { return failIf(op == "head" && k == skey, errOther) }, true},
		{"secrets download", func(op, k, _ string) error { return failIf(op == "get" && k == skey, errDenied) }, true},
		{"seeds head", func(op, k, _ string) error { return failIf(op == "head" && k == seeds, errDenied) }, true},
		{"seeds proof", func(op, k, v string) error { return failIf(op == "head" && k == seeds && v != "", errDenied) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := hook(published(t, buckettest.NewVersioned(t.TempDir())))
			b.fail = tc.fail
			res := check(t, b)
			ir := instance(t, res, inst1)
			if ir.Err == nil || res.Err() == nil || ir.Verified || res.OK() {
				t.Fatalf("err %v, run err %v, verified %v", ir.Err, res.Err(), ir.Verified)
			}
			if tc.objects != (len(ir.Objects) == 2) {
				t.Errorf("objects %+v", ir.Objects)
			}
			if len(res.Problems) > 0 {
				t.Errorf("an operational failure became problems:\n%s", render(res.Problems))
			}
			for _, ir := range res.Instances {
				if ir.Instance != inst1 && (!ir.Verified || ir.Err != nil) {
					t.Errorf("%s: verified %v, err %v", ir.Instance, ir.Verified, ir.Err)
				}
			}
		})
	}
}

func failIf(cond bool, err error) error {
	if cond {
		return err
	}
	return nil
}

// One instance at a time gives the same result as the default.
func TestVerifyConcurrency(t *testing.T) {
	b := published(t, bucket.Dir(t.TempDir()))
	put(t, b, key(prefix1, layout.SecretsObject), []byte("broken"))
	want := check(t, b)
	got := check(t, b, func(_ *verify.Inputs, o *verify.Options) { o.Concurrency = 1 })
	if render(got.Problems) != render(want.Problems) || !slices.Equal(got.Names(), want.Names()) || got.Recipient != want.Recipient {
		t.Errorf("one at a time:\n%s\ndefault:\n%s", render(got.Problems), render(want.Problems))
	}
}
