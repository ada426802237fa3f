//go:build linux

package install_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/bucket"
	"github.com/openclaw/clawdinator-bundle/internal/bucket/buckettest"
	"github.com/openclaw/clawdinator-bundle/internal/install"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
	"github.com/openclaw/clawdinator-bundle/internal/problem"
	"github.com/openclaw/clawdinator-bundle/internal/progress"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// Where the pin comes from, and every way a pin is refused: as a usage
// error, before anything on the host changes, or as a problem with the
// bundle, with the host left as it was.
func TestLocalPin(t *testing.T) {
	b, fx := localDir(t)
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pinFile := func(t *testing.T, content string) string {
		p := filepath.Join(t.TempDir(), "pin")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("given", func(t *testing.T) {
		h := newHost(t)
		var mu sync.Mutex
		var pins []install.Pin
		opt := localOptions(h, b, prefix1, fx.Recipient)
		opt.Events = func(e progress.Event) {
			if e.Step == "pin" {
				mu.Lock()
				pins = append(pins, install.Pin{Recipient: e.Object, Source: e.Detail})
				mu.Unlock()
			}
		}
		res := mustInstall(t, opt)
		want := install.Pin{Recipient: fx.Recipient, Source: "--expected-recipient"}
		if res.Pin != want || !slices.Equal(pins, []install.Pin{want}) {
			t.Errorf("pin %+v, events %+v", res.Pin, pins)
		}
	})
	t.Run("file", func(t *testing.T) {
		h := newHost(t)
		opt := localOptions(h, b, prefix1, "")
		opt.PinFile = pinFile(t, "# the fleet key\n\n  "+fx.Recipient+"  \n# rotated 2026\n")
		res := mustInstall(t, opt)
		if res.Pin != (install.Pin{Recipient: fx.Recipient, Source: "--expected-recipient-file " + opt.PinFile}) {
			t.Errorf("pin %+v", res.Pin)
		}
	})
	t.Run("file of 64 KiB", func(t *testing.T) {
		// The cap is on more than 64 KiB; comments fill the file to it.
		h := newHost(t)
		opt := localOptions(h, b, prefix1, "")
		head := fx.Recipient + "\n#"
		opt.PinFile = pinFile(t, head+strings.Repeat("x", 64<<10-len(head)))
		mustInstall(t, opt)
		opt.PinFile = pinFile(t, head+strings.Repeat("x", 64<<10-len(head)+1))
		requireUsage(t, h, opt, "larger than 64 KiB, not a recipient")
	})
	t.Run("installed key", func(t *testing.T) {
		h := newHost(t)
		mustInstall(t, localOptions(h, b, prefix1, fx.Recipient))
		res := mustInstall(t, localOptions(h, b, prefix1, ""))
		if res.Pin != (install.Pin{Recipient: fx.Recipient, Source: "the key installed at " + h.keyPath}) || !res.AlreadyInstalled {
			t.Errorf("pin %+v, already installed %v", res.Pin, res.AlreadyInstalled)
		}
	})
	t.Run("first boot", func(t *testing.T) {
		h := newHost(t)
		opt := localOptions(h, b, prefix1, "")
		requireUsage(t, h, opt, "no pin: pass --expected-recipient or --expected-recipient-file")
		opt.AllowUnpinned = true
		res := mustInstall(t, opt)
		if res.Pin != (install.Pin{Recipient: fx.Recipient, Source: "none: first boot without a pin (--allow-unpinned-first-boot)", Unpinned: true}) {
			t.Errorf("pin %+v", res.Pin)
		}
	})

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, h host, o *install.Options)
		want  string
	}{
		{"both", func(t *testing.T, _ host, o *install.Options) { o.PinFile = pinFile(t, fx.Recipient) },
			"give --expected-recipient or --expected-recipient-file, not both"},
		{"file missing", func(t *testing.T, _ host, o *install.Options) { o.Pin, o.PinFile = "", "/nonexistent/pin" },
			"expected-recipient-file /nonexistent/pin: no such file or directory"},
		{"file empty", func(t *testing.T, _ host, o *install.Options) { o.Pin, o.PinFile = "", pinFile(t, "# none\n\n") },
			"want exactly one age1... line, found 0"},
		{"file of two", func(t *testing.T, _ host, o *install.Options) {
			o.Pin, o.PinFile = "", pinFile(t, fx.Recipient+"\n"+other.Recipient().String()+"\n")
		}, "want exactly one age1... line, found 2"},
		{"file not a recipient", func(t *testing.T, _ host, o *install.Options) { o.Pin, o.PinFile = "", pinFile(t, "age1nope\n") },
			`"age1nope" is not an age recipient`},
		{"installed key unreadable", func(t *testing.T, h host, o *install.Options) {
			o.Pin = ""
			if err := os.MkdirAll(h.keyPath, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "clawdinator.agekey is not a regular file"},
		{"installed key too large", func(t *testing.T, h host, o *install.Options) {
			o.Pin = ""
			writeFile(t, h.keyPath, strings.Repeat("#", 64<<10+1))
		}, "clawdinator.agekey is larger than 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			opt := localOptions(h, b, prefix1, fx.Recipient)
			tc.setup(t, h, &opt)
			requireUsage(t, h, opt, tc.want)
		})
	}

	// A pin that holds: the bundle is refused, the host is untouched.
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, h host, o *install.Options)
		want  string
	}{
		{"another key given", func(t *testing.T, _ host, o *install.Options) { o.Pin = other.Recipient().String() },
			"expected-recipient is " + other.Recipient().String()},
		{"another key in the file", func(t *testing.T, _ host, o *install.Options) {
			o.Pin, o.PinFile = "", pinFile(t, other.Recipient().String()+"\n")
		}, "expected-recipient is " + other.Recipient().String()},
		{"another key installed", func(t *testing.T, h host, o *install.Options) {
			o.Pin = ""
			writeFile(t, h.keyPath, other.String()+"\n")
		}, "expected-recipient is " + other.Recipient().String()},
		{"installed key does not parse", func(t *testing.T, h host, o *install.Options) {
			// Not a first boot either: a key is there.
			o.Pin, o.AllowUnpinned = "", true
			writeFile(t, h.keyPath, strings.Repeat("#", 64<<10))
		}, "the installed key, the pin when none is given, does not parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			opt := localOptions(h, b, prefix1, fx.Recipient)
			tc.setup(t, h, &opt)
			before := snapshot(t, h.root)
			requireRefused(t, run(t, opt), tc.want)
			requireSame(t, tc.name, before, snapshot(t, h.root))
		})
	}
}

// writeFile creates p, and its parents, with content.
func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A prefix file, when it holds a prefix, is the prefix; empty or missing,
// PREFIX is.
func TestLocalPrefixFile(t *testing.T) {
	b, fx := localDir(t)
	for _, tc := range []struct {
		name    string
		content *string // nil: no file
		want    string  // the instance installed
	}{
		{"a prefix", ptr("  bootstrap/clawdinator-2 \n"), "clawdinator-2"},
		{"empty", ptr(" \n\t"), "clawdinator-1"},
		{"missing", nil, "clawdinator-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			opt := localOptions(h, b, prefix1, fx.Recipient)
			opt.PrefixFile = filepath.Join(t.TempDir(), "prefix")
			if tc.content != nil {
				writeFile(t, opt.PrefixFile, *tc.content)
			}
			var events []progress.Event
			opt.Events = func(e progress.Event) {
				if e.Step == "prefix" {
					events = append(events, e)
				}
			}
			res := mustInstall(t, opt)
			if res.Instance != tc.want || res.Prefix != "bootstrap/"+tc.want {
				t.Errorf("installed %s from %s", res.Instance, res.Prefix)
			}
			if read := tc.want != "clawdinator-1"; (res.PrefixFile != "") != read || (len(events) == 1) != read {
				t.Errorf("prefix file %q, events %+v", res.PrefixFile, events)
			}
			if len(events) > 0 && (events[0].Object != res.Prefix || res.PrefixFile != opt.PrefixFile) {
				t.Errorf("prefix file %q, events %+v", res.PrefixFile, events)
			}
			marker, _ := os.ReadFile(filepath.Join(h.secretsDir, install.PrefixMarkerName))
			if string(marker) != res.Prefix {
				t.Errorf("prefix marker %q", marker)
			}
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		h := newHost(t)
		opt := localOptions(h, b, prefix1, fx.Recipient)
		opt.PrefixFile = t.TempDir()
		requireUsage(t, h, opt, "BOOTSTRAP_PREFIX_FILE "+opt.PrefixFile+": is a directory")
	})
	t.Run("not a prefix", func(t *testing.T) {
		h := newHost(t)
		opt := localOptions(h, b, prefix1, fx.Recipient)
		opt.PrefixFile = filepath.Join(t.TempDir(), "prefix")
		writeFile(t, opt.PrefixFile, "/bootstrap/x\n")
		requireUsage(t, h, opt, `PREFIX "/bootstrap/x" starts or ends with "/"`)
	})
}

func ptr(s string) *string { return &s }

// An installed bundle is recognised: nothing changes and repo-seeds is not
// downloaded. Anything that differs from what install writes makes it
// install again, which puts the host back as it was.
func TestLocalAlreadyInstalled(t *testing.T) {
	dir, fx := localDir(t)
	b := count(dir)
	seeds := layout.Key(prefix1, layout.SeedsObject)
	first := newHost(t)
	mustInstall(t, localOptions(first, b, prefix1, fx.Recipient))
	if b.Gets(seeds) != 1 {
		t.Fatalf("first install: %d downloads of repo-seeds", b.Gets(seeds))
	}
	installed := snapshot(t, first.root)

	secret := filepath.Join("var/lib/clawd/nix-secrets", plan.DefaultRequired[0])
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, h host)
	}{
		{"as installed", nil},
		{"sentinel of another statement", func(t *testing.T, h host) {
			writeFile(t, filepath.Join(h.secretsDir, install.SentinelName), string(install.Sentinel(prefix1, strings.Repeat("0", 64), strings.Repeat("0", 64))))
		}},
		{"sentinel missing", func(t *testing.T, h host) { remove(t, filepath.Join(h.secretsDir, install.SentinelName)) }},
		{"prefix marker", func(t *testing.T, h host) {
			writeFile(t, filepath.Join(h.secretsDir, install.PrefixMarkerName), "bootstrap/clawdinator-2")
		}},
		{"prefix marker missing", func(t *testing.T, h host) { remove(t, filepath.Join(h.secretsDir, install.PrefixMarkerName)) }},
		{"key changed", func(t *testing.T, h host) {
			writeFile(t, h.keyPath, string(fx.Key)+"\n")
			chmod(t, h.keyPath, 0o400)
		}},
		{"key missing", func(t *testing.T, h host) { remove(t, h.keyPath) }},
		{"key mode", func(t *testing.T, h host) { chmod(t, h.keyPath, 0o440) }},
		{"secret changed", func(t *testing.T, h host) {
			p := filepath.Join(h.root, secret)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			chmod(t, p, 0o600)
			writeFile(t, p, string(data)+"x")
			chmod(t, p, 0o400)
		}},
		{"secret missing", func(t *testing.T, h host) { remove(t, filepath.Join(h.root, secret)) }},
		{"secret mode", func(t *testing.T, h host) { chmod(t, filepath.Join(h.root, secret), 0o444) }},
		{"secret added", func(t *testing.T, h host) { writeFile(t, filepath.Join(h.secretsDir, "stray.age"), "x") }},
		{"secret renamed", func(t *testing.T, h host) {
			if err := os.Rename(filepath.Join(h.root, secret), filepath.Join(h.secretsDir, "stray.age")); err != nil {
				t.Fatal(err)
			}
		}},
		{"seeds missing", func(t *testing.T, h host) {
			if err := os.RemoveAll(h.seedsDir); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			mustInstall(t, localOptions(h, b, prefix1, fx.Recipient))
			gets := b.Gets(seeds)
			if tc.change != nil {
				tc.change(t, h)
			}
			res := mustInstall(t, localOptions(h, b, prefix1, fx.Recipient))
			// With the sentinel and the marker as written, the seeds tree it
			// names is kept: a repair never downloads repo-seeds.
			keeps := tc.change != nil && !strings.Contains(tc.name, "sentinel") && !strings.Contains(tc.name, "prefix marker") && tc.name != "seeds missing"
			if already := tc.change == nil; res.AlreadyInstalled != already || (b.Gets(seeds) == gets) != (already || keeps) || res.SeedsKept != keeps {
				t.Errorf("already installed %v, repo-seeds kept %v, downloaded %d times", res.AlreadyInstalled, res.SeedsKept, b.Gets(seeds)-gets)
			}
			if tc.change == nil && (res.Installed != nil || res.Removed != nil || !res.Secrets.Verified || res.Seeds.Key != "") {
				t.Errorf("already installed, but the result says %+v", res)
			}
			requireSame(t, tc.name, installed, snapshot(t, h.root))
		})
	}
}

func remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// With chown, only root-owned files are what install wrote.
func TestLocalAlreadyInstalledOwner(t *testing.T) {
	needRoot(t)
	b, fx := localDir(t)
	h := newHost(t)
	opt := localOptions(h, b, prefix1, fx.Recipient)
	opt.Chown = true
	mustInstall(t, opt)
	before := snapshot(t, h.root)
	secret := filepath.Join(h.secretsDir, plan.DefaultRequired[0])
	for _, p := range []string{h.keyPath, secret} {
		for _, o := range [][2]int{{1234, 0}, {0, 1234}} {
			if err := os.Chown(p, o[0], o[1]); err != nil {
				t.Fatal(err)
			}
			if res := mustInstall(t, opt); res.AlreadyInstalled {
				t.Errorf("%s owned by %d:%d taken for installed", p, o[0], o[1])
			}
			requireSame(t, p, before, snapshot(t, h.root))
		}
	}
	if res := mustInstall(t, opt); !res.AlreadyInstalled {
		t.Error("not installed after a reinstall")
	}
}

// A bundle that fails its proof is refused: the host is as it was, no
// staging is left, and a first boot leaves no directory behind.
func TestLocalRefusals(t *testing.T) {
	ctx := context.Background()
	seedsKey, secretsKey := layout.Key(prefix1, layout.SeedsObject), layout.Key(prefix1, layout.SecretsObject)
	for _, tc := range []struct {
		name     string
		noChecks bool // the store keeps no checksums
		breakIt  func(t *testing.T, b bucket.Bucket)
		seeds    string // install's SEEDS_ARCHIVE, when not the default
		want     []string
	}{
		{name: "secrets missing", breakIt: func(t *testing.T, b bucket.Bucket) { b.Delete(ctx, secretsKey, "") },
			want: []string{secretsKey + ": missing: nothing to install"}},
		{name: "secrets not an archive", breakIt: func(t *testing.T, b bucket.Bucket) { localPut(t, b, secretsKey, []byte("junk")) },
			want: []string{secretsKey + ": unreadable archive"}},
		{name: "another instance's secrets", breakIt: func(t *testing.T, b bucket.Bucket) {
			localPut(t, b, secretsKey, localGet(t, b, layout.Key("bootstrap/clawdinator-2", layout.SecretsObject)))
		}, want: []string{`is the statement of instance "clawdinator-2" at "bootstrap/clawdinator-2"`}},
		{name: "seeds elsewhere", seeds: "other.tar.zst",
			want: []string{"names repo-seeds at bootstrap/clawdinator-1/repo-seeds.tar.zst, not bootstrap/clawdinator-1/other.tar.zst (SEEDS_ARCHIVE)"}},
		{name: "seeds missing", breakIt: func(t *testing.T, b bucket.Bucket) {
			b.Delete(ctx, seedsKey, "")
			localManifest(t, b, prefix1, func(m *manifest.Manifest) { m.Object(layout.SeedsObject).VersionID = "" })
		},
			want: []string{seedsKey + ": missing", "and the manifest names no other version with the statement's bytes"}},
		{name: "seeds replaced", breakIt: func(t *testing.T, b bucket.Bucket) { replaceSeeds(t, b) },
			want: []string{seedsKey + ": the current version ", "is not the object the statement names: the store's checksum is sha256 "}},
		{name: "seeds replaced, no checksum", noChecks: true, breakIt: func(t *testing.T, b bucket.Bucket) { replaceSeeds(t, b) },
			want: []string{seedsKey + ": the current version ", "is not the object the statement names: its bytes have sha256 "}},
		{name: "seeds size", noChecks: true, breakIt: func(t *testing.T, b bucket.Bucket) {
			localRebundle(t, b, prefix1, func(st *manifest.Statement) { st.RepoSeeds.Size++ })
		}, want: []string{"is not the object the statement names: it is ", " bytes, the statement says ", "(not downloaded)"}},
		{name: "seeds size, by checksum", breakIt: func(t *testing.T, b bucket.Bucket) {
			localRebundle(t, b, prefix1, func(st *manifest.Statement) { st.RepoSeeds.Size++ })
		}, want: []string{"is not the object the statement names: it is ", "(not downloaded)"}},
		{name: "seeds replaced, no manifest", breakIt: func(t *testing.T, b bucket.Bucket) {
			replaceSeeds(t, b)
			b.Delete(ctx, layout.Key(prefix1, layout.ManifestName), "")
		}, want: []string{"and no manifest names another version (bootstrap/clawdinator-1/manifest.json: ", "not found"}},
		{name: "tar stream", breakIt: func(t *testing.T, b bucket.Bucket) {
			localRebundle(t, b, prefix1, func(st *manifest.Statement) { st.RepoSeeds.TarSHA256 = strings.Repeat("e", 64) })
		}, want: []string{seedsKey + ": unpacks to a tar stream with sha256 ", ", the statement says eeeeeeeeeeee"}},
		{name: "hostile seeds, vouched for", breakIt: func(t *testing.T, b bucket.Bucket) {
			data, tarSHA := archive(t, hostileSeeds[0].entries)
			localPut(t, b, seedsKey, data)
			localRebundle(t, b, prefix1, func(st *manifest.Statement) {
				st.RepoSeeds.SHA256, st.RepoSeeds.Size, st.RepoSeeds.TarSHA256 = hexSum(data), int64(len(data)), tarSHA
			})
		}, want: []string{seedsKey + ": openclaw/su: ", hostileSeeds[0].says}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, fx := localVersioned(t)
			v.NoChecksum = tc.noChecks
			var b bucket.Bucket = v
			installed := newHost(t)
			mustInstall(t, localOptions(installed, b, prefix1, fx.Recipient))
			if tc.breakIt != nil {
				tc.breakIt(t, b)
			}
			fresh := newHost(t)
			for _, h := range []host{installed, fresh} {
				// The installed host would be installed again: the sentinel
				// no longer matches.
				os.Remove(filepath.Join(h.secretsDir, install.SentinelName))
				before := snapshot(t, h.root)
				opt := localOptions(h, b, prefix1, fx.Recipient)
				if tc.seeds != "" {
					opt.SeedsArchive = tc.seeds
				}
				requireRefused(t, run(t, opt), tc.want...)
				requireSame(t, tc.name, before, snapshot(t, h.root))
				if s := staging(t, h); len(s) > 0 {
					t.Errorf("staging left: %v", s)
				}
			}
			if ents, err := os.ReadDir(fresh.root); err != nil || len(ents) != 0 {
				t.Errorf("a refused first boot left %v (%v)", ents, err)
			}
		})
	}
}

// replaceSeeds puts other bytes at prefix1's repo-seeds key, and has the
// manifest name no version: nothing names the statement's bytes any more.
func replaceSeeds(t *testing.T, b bucket.Bucket) {
	t.Helper()
	// Other bytes of the same size: only their digest tells them apart.
	k := layout.Key(prefix1, layout.SeedsObject)
	localPut(t, b, k, bytes.Repeat([]byte("x"), len(localGet(t, b, k))))
	localManifest(t, b, prefix1, func(m *manifest.Manifest) { m.Object(layout.SeedsObject).VersionID = "" })
}

func hexSum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Secrets no longer bundled are removed; what install does not own is
// carried over.
func TestLocalRemoved(t *testing.T) {
	b, fx := localDir(t)
	h := newHost(t)
	mustInstall(t, localOptions(h, b, "bootstrap/clawdinator-1", fx.Recipient))
	writeFile(t, filepath.Join(h.secretsDir, "operator-notes.txt"), "kept")
	writeFile(t, filepath.Join(h.secretsDir, "operator", "x.age"), "kept too")
	if err := os.Symlink("operator/x.age", filepath.Join(h.secretsDir, "operator-link")); err != nil {
		t.Fatal(err)
	}
	// Directories keep their modes and times, the top one as the others.
	when := time.Unix(1600000000, 0)
	for _, d := range []string{"operator/a/b", "operator/a", "operator"} {
		p := filepath.Join(h.secretsDir, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		chmod(t, p, 0o2751)
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
	own := snapshot(t, filepath.Join(h.secretsDir, "operator"))

	res := mustInstall(t, localOptions(h, b, "bootstrap/clawdinator-2", fx.Recipient))
	gone := sample.TokenName("clawdinator-1")
	if !slices.Equal(res.Removed, []string{gone}) || res.Instance != "clawdinator-2" {
		t.Errorf("removed %v installing %s", res.Removed, res.Instance)
	}
	want := append(slices.Clone(plan.DefaultRequired), sample.TokenName("clawdinator-2"))
	slices.Sort(want)
	if got := slices.Sorted(slices.Values(res.Installed)); !slices.Equal(got, want) {
		t.Errorf("installed %v, want %v", got, want)
	}
	if _, err := os.Lstat(filepath.Join(h.secretsDir, gone)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there: %v", gone, err)
	}
	for p, content := range map[string]string{"operator-notes.txt": "kept", "operator/x.age": "kept too"} {
		if data, err := os.ReadFile(filepath.Join(h.secretsDir, p)); err != nil || string(data) != content {
			t.Errorf("%s: %q %v", p, data, err)
		}
	}
	if l, err := os.Readlink(filepath.Join(h.secretsDir, "operator-link")); err != nil || l != "operator/x.age" {
		t.Errorf("symlink carried over as %q (%v)", l, err)
	}
	requireSame(t, "an operator's directories carried over", own, snapshot(t, filepath.Join(h.secretsDir, "operator")))
	for _, d := range []string{"operator", "operator/a", "operator/a/b"} {
		if fi, err := os.Stat(filepath.Join(h.secretsDir, d)); err != nil || !fi.ModTime().Equal(when) {
			t.Errorf("%s lost its time: %v", d, err)
		}
	}
	if res := mustInstall(t, localOptions(h, b, "bootstrap/clawdinator-2", fx.Recipient)); !res.AlreadyInstalled || res.Removed != nil {
		t.Errorf("again: already %v, removed %v", res.AlreadyInstalled, res.Removed)
	}
}

// Mid-publish, the current repo-seeds object may be newer than the secrets
// archive whose statement names the older one: install takes the version
// the manifest names, only when its bytes are the statement's, and says so.
func TestLocalSeedsFromManifest(t *testing.T) {
	ctx := context.Background()
	seedsKey := layout.Key(prefix1, layout.SeedsObject)
	_, prep := fleet(t)
	errDenied := &bucket.Error{Op: "get", Kind: bucket.AccessDenied, Err: errors.New("AccessDenied")}
	type world struct {
		v     *buckettest.Versioned
		b     *counting
		fx    *sample.Fixture
		st    *manifest.Statement
		was   string // the version the manifest names
		seeds []byte // its bytes
	}
	setup := func(t *testing.T, noChecksum bool) *world {
		v, fx := localVersioned(t)
		v.NoChecksum = noChecksum
		w := &world{v: v, b: count(v), fx: fx, st: localStatement(t, v, prefix1), seeds: localGet(t, v, seedsKey)}
		m, err := manifest.Parse(localGet(t, v, layout.Key(prefix1, layout.ManifestName)))
		if err != nil {
			t.Fatal(err)
		}
		w.was = m.Object(layout.SeedsObject).VersionID
		return w
	}
	boot := func(t *testing.T, w *world) *install.Result {
		return run(t, localOptions(newHost(t), w.b, prefix1, w.fx.Recipient))
	}
	requireFromManifest := func(t *testing.T, w *world, res *install.Result) {
		t.Helper()
		if !res.OK() || res.SeedsFrom != "manifest" || res.Seeds.VersionID != w.was || res.Seeds.SHA256 != w.st.RepoSeeds.SHA256 || res.Seeds.Size != w.st.RepoSeeds.Size || !res.Seeds.Verified {
			t.Errorf("ok %v, seeds from %q: %+v\n%v %v", res.OK(), res.SeedsFrom, res.Seeds, res.Failure, res.Problems)
		}
	}

	for _, noChecksum := range []bool{false, true} {
		t.Run(fmt.Sprintf("newer seeds, no checksum %v", noChecksum), func(t *testing.T) {
			w := setup(t, noChecksum)
			res := boot(t, w)
			if !res.OK() || res.SeedsFrom != "current" || res.Seeds.VersionID != w.was || res.Seeds.SHA256 != w.st.RepoSeeds.SHA256 {
				t.Fatalf("before: seeds from %q: %+v", res.SeedsFrom, res.Seeds)
			}
			localPut(t, w.v, seedsKey, []byte("the next publish's seeds"))
			requireFromManifest(t, w, boot(t, w))
		})
	}
	t.Run("current missing", func(t *testing.T) {
		w := setup(t, false)
		if err := w.v.Delete(ctx, seedsKey, ""); err != nil {
			t.Fatal(err)
		}
		requireFromManifest(t, w, boot(t, w))
	})
	t.Run("current gone while read", func(t *testing.T) {
		w := setup(t, false)
		now := localPut(t, w.v, seedsKey, w.seeds).VersionID
		w.b.fail = func(op, k, version string) error {
			if op == "get" && k == seedsKey && version == now {
				return fmt.Errorf("%s version %s: %w", k, version, bucket.ErrNotFound)
			}
			return nil
		}
		requireFromManifest(t, w, boot(t, w))
	})

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, w *world)
		want  []string
	}{
		{"no seeds listed", func(t *testing.T, w *world) {
			localManifest(t, w.v, prefix1, func(m *manifest.Manifest) { m.Objects = m.Objects[:1] })
		}, []string{"and the manifest names no other version with the statement's bytes"}},
		{"seeds listed at another key", func(t *testing.T, w *world) {
			localManifest(t, w.v, prefix1, func(m *manifest.Manifest) {
				m.Object(layout.SeedsObject).Key = "bootstrap/clawdinator-2/repo-seeds.tar.zst"
			})
		}, []string{"and the manifest names no other version with the statement's bytes"}},
		{"other bytes listed", func(t *testing.T, w *world) {
			localManifest(t, w.v, prefix1, func(m *manifest.Manifest) { m.Object(layout.SeedsObject).SHA256 = strings.Repeat("e", 64) })
		}, []string{"and the manifest names no other version with the statement's bytes"}},
		{"no version listed", func(t *testing.T, w *world) {
			localManifest(t, w.v, prefix1, func(m *manifest.Manifest) { m.Object(layout.SeedsObject).VersionID = "" })
		}, []string{"and the manifest names no other version with the statement's bytes"}},
		{"a version that is gone", func(t *testing.T, w *world) {
			localManifest(t, w.v, prefix1, func(m *manifest.Manifest) { m.Object(layout.SeedsObject).VersionID = "v999" })
		}, []string{"and the version v999 the manifest names cannot be read: ", "not found"}},
		{"a version of other bytes", func(t *testing.T, w *world) {
			junk := localPut(t, w.v, seedsKey, bytes.Repeat([]byte("j"), len(w.seeds))).VersionID
			localPut(t, w.v, seedsKey, []byte("the next publish's seeds"))
			localManifest(t, w.v, prefix1, func(m *manifest.Manifest) { m.Object(layout.SeedsObject).VersionID = junk })
		}, []string{"and the manifest version ", " the store's checksum is sha256 " + problem.Short(hexSum(bytes.Repeat([]byte("j"), int(prep.Seeds.Size)))) + ", the statement says"}},
		{"a version of another size", func(t *testing.T, w *world) {
			// The statement says one byte more than any version has.
			localRebundle(t, w.v, prefix1, func(st *manifest.Statement) { st.RepoSeeds.Size++ })
			localPut(t, w.v, seedsKey, w.seeds)
		}, []string{"the current version ", "and the manifest version ", fmt.Sprintf("it is %d bytes, the statement says %d (not downloaded)", prep.Seeds.Size, prep.Seeds.Size+1)}},
		{"no manifest", func(t *testing.T, w *world) {
			w.v.Delete(ctx, layout.Key(prefix1, layout.ManifestName), "")
		}, []string{"and no manifest names another version (bootstrap/clawdinator-1/manifest.json: ", "not found)"}},
		{"unreadable manifest", func(t *testing.T, w *world) {
			localPut(t, w.v, layout.Key(prefix1, layout.ManifestName), []byte("{"))
		}, []string{"and no manifest names another version (bootstrap/clawdinator-1/manifest.json: invalid manifest JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := setup(t, false)
			localPut(t, w.v, seedsKey, []byte("the next publish's seeds"))
			tc.setup(t, w)
			requireRefused(t, boot(t, w), append([]string{seedsKey + ": "}, tc.want...)...)
		})
	}

	// The store failing to answer ends the run: it is not a finding.
	for _, tc := range []struct {
		name string
		fail func(w *world, op, key, version string) bool
	}{
		{"head", func(_ *world, op, k, _ string) bool { return op == "head" && k == seedsKey }},
		{"current download", func(_ *world, op, k, _ string) bool { return op == "get" && k == seedsKey }},
		{"manifest", func(_ *world, op, k, _ string) bool {
			return op == "get" && k == layout.Key(prefix1, layout.ManifestName)
		}},
		{"manifest's version", func(w *world, op, k, v string) bool { return op == "get" && k == seedsKey && v == w.was }},
	} {
		t.Run(tc.name+" denied", func(t *testing.T) {
			w := setup(t, true)
			localPut(t, w.v, seedsKey, []byte("the next publish's seeds"))
			w.b.fail = func(op, k, v string) error {
				if tc.fail(w, op, k, v) {
					return errDenied
				}
				return nil
			}
			h := newHost(t)
			res := run(t, localOptions(h, w.b, prefix1, w.fx.Recipient))
			if !errors.Is(res.Failure, errDenied) || res.Problems.HasErrors() {
				t.Errorf("failure %v, problems %v", res.Failure, res.Problems)
			}
			if ents, err := os.ReadDir(h.root); err != nil || len(ents) != 0 {
				t.Errorf("a failed first boot left %v (%v)", ents, err)
			}
		})
	}
}

// Destinations install would have to replace through a symlink or over
// something of another kind are refused before anything changes.
func TestLocalDestinations(t *testing.T) {
	b, fx := localDir(t)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, h host)
		want  string
	}{
		{"secrets dir a symlink", func(t *testing.T, h host) {
			if err := os.MkdirAll(filepath.Join(h.root, "elsewhere"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(filepath.Dir(h.secretsDir), "x"), "")
			if err := os.Symlink(filepath.Join(h.root, "elsewhere"), h.secretsDir); err != nil {
				t.Fatal(err)
			}
		}, "nix-secrets is a symlink: install replaces it by renaming, so give the real path"},
		{"seeds dir a file", func(t *testing.T, h host) { writeFile(t, h.seedsDir, "") }, "is not a directory"},
		{"key a directory", func(t *testing.T, h host) {
			if err := os.MkdirAll(h.keyPath, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "clawdinator.agekey is not a regular file"},
		{"key under a file", func(t *testing.T, h host) { writeFile(t, filepath.Dir(h.keyPath), "") }, "AGE_KEY_PATH: lstat "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			tc.setup(t, h)
			requireUsage(t, h, localOptions(h, b, prefix1, fx.Recipient), tc.want)
		})
	}
}

// What stops a run is a failure, not a finding, and changes nothing: the
// store refusing the secrets archive, another install holding the lock.
func TestLocalFailures(t *testing.T) {
	dir, fx := localDir(t)
	b := count(dir)
	h := newHost(t)
	mustInstall(t, localOptions(h, b, prefix1, fx.Recipient))
	os.Remove(filepath.Join(h.secretsDir, install.SentinelName))
	before := snapshot(t, h.root)

	denied := &bucket.Error{Op: "get", Kind: bucket.AccessDenied, Err: errors.New("AccessDenied")}
	b.fail = func(op, k, _ string) error {
		if op == "get" && k == layout.Key(prefix1, layout.SecretsObject) {
			return denied
		}
		return nil
	}
	if res := run(t, localOptions(h, b, prefix1, fx.Recipient)); !errors.Is(res.Failure, denied) || res.Problems.HasErrors() {
		t.Errorf("denied: failure %v, problems %v", res.Failure, res.Problems)
	}
	requireSame(t, "denied", before, snapshot(t, h.root))
	b.fail = nil

	holdLock(t, filepath.Join(h.stateDir, install.LockName))
	opt := localOptions(h, b, prefix1, fx.Recipient)
	opt.LockTimeout = 300 * time.Millisecond
	res := run(t, opt)
	if want := "another install holds the lock (" + filepath.Join(h.stateDir, install.LockName) + "): waited 300ms"; !errors.Is(res.Failure, install.ErrLocked) || res.Failure.Error() != want {
		t.Errorf("locked: %v, want %s", res.Failure, want)
	}
	requireSame(t, "locked", before, snapshot(t, h.root))
	if b.Gets(layout.Key(prefix1, layout.SecretsObject)) != 2 {
		t.Errorf("%d downloads of the secrets archive: the locked run downloaded", b.Gets(layout.Key(prefix1, layout.SecretsObject)))
	}
}

// As root, what install carries over keeps its owners: a directory and a
// symlink of an operator's.
func TestLocalCarriesOwners(t *testing.T) {
	needRoot(t)
	b, fx := localDir(t)
	h := newHost(t)
	mustInstall(t, localOptions(h, b, prefix1, fx.Recipient))
	dir, link := filepath.Join(h.secretsDir, "operator"), filepath.Join(h.secretsDir, "operator-link")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("operator", link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, link} {
		if err := os.Lchown(p, 1234, 5678); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, h.secretsDir)
	mustInstall(t, localOptions(h, b, "bootstrap/clawdinator-2", fx.Recipient))
	after := snapshot(t, h.secretsDir)
	for _, rel := range []string{"operator", "operator-link"} {
		if after[rel] != before[rel] {
			t.Errorf("%s: %s, was %s", rel, after[rel], before[rel])
		}
	}
}

// A repo-seeds download cut by the network is read again, at most three
// times in all.
func TestLocalSeedsRetries(t *testing.T) {
	dir, fx := localDir(t)
	seeds := layout.Key(prefix1, layout.SeedsObject)
	cut := &bucket.Error{Op: "get", Kind: bucket.Unreachable, Err: errors.New("connection reset")}

	b := count(dir)
	b.fail = func(op, k, _ string) error {
		if op == "get" && k == seeds && b.Gets(seeds) == 1 {
			return cut
		}
		return nil
	}
	if res := mustInstall(t, localOptions(newHost(t), b, prefix1, fx.Recipient)); res.SeedsFrom != "current" || b.Gets(seeds) != 2 {
		t.Errorf("cut once: seeds from %q after %d downloads", res.SeedsFrom, b.Gets(seeds))
	}

	// A fourth try cancels the run, so that retrying without end fails
	// this test instead of hanging it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b = count(dir)
	b.fail = func(op, k, _ string) error {
		if op == "get" && k == seeds {
			if b.Gets(seeds) > 3 {
				cancel()
			}
			return cut
		}
		return nil
	}
	h := newHost(t)
	res, err := install.Run(ctx, localOptions(h, b, prefix1, fx.Recipient))
	if err != nil || !errors.Is(res.Failure, cut) || b.Gets(seeds) != 3 {
		t.Errorf("cut every time: %v, failure %v after %d downloads", err, res.Failure, b.Gets(seeds))
	}
}
