//go:build linux

package install_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/faultproxy"
	"github.com/openclaw/clawdinator-bundle/internal/install"
	"github.com/openclaw/clawdinator-bundle/internal/layout"
	"github.com/openclaw/clawdinator-bundle/internal/manifest"
	"github.com/openclaw/clawdinator-bundle/internal/plan"
)

// hostileSeeds are repo-seeds archives the writer never makes.
var hostileSeeds = []struct {
	name    string
	entries []entry
	says    string
}{
	{"setuid file", []entry{
		{tar.Header{Name: "openclaw/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		{tar.Header{Name: "openclaw/su", Typeflag: tar.TypeReg, Mode: 0o4755}, "#!/bin/sh\n"},
	}, "setuid"},
	{"device node", []entry{
		{tar.Header{Name: "openclaw/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		{tar.Header{Name: "openclaw/mem", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 1}, ""},
	}, "character device"},
	{"absolute symlink", []entry{
		{tar.Header{Name: "openclaw/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		{tar.Header{Name: "openclaw/shadow", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow", Mode: 0o777}, ""},
	}, "absolute path"},
	{"dot-dot entry", []entry{
		{tar.Header{Name: "openclaw/../../../etc/cron.d/x", Typeflag: tar.TypeReg, Mode: 0o644}, "* * * * * root sh\n"},
	}, "climbs out"},
	{"hard link", []entry{
		{tar.Header{Name: "openclaw/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		{tar.Header{Name: "openclaw/a", Typeflag: tar.TypeReg, Mode: 0o644}, "a"},
		{tar.Header{Name: "openclaw/b", Typeflag: tar.TypeLink, Linkname: "openclaw/a"}, ""},
	}, "hard link"},
	{"owned by a user", []entry{
		{tar.Header{Name: "openclaw/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		{tar.Header{Name: "openclaw/x", Typeflag: tar.TypeReg, Mode: 0o644, Uid: 1001, Gid: 1001}, "x"},
	}, "owned by 1001:1001"},
	// Outside the tar dialect: GNU tar as root gives these to nobody.
	{"owned by name", []entry{
		{tar.Header{Name: "openclaw/", Typeflag: tar.TypeDir, Mode: 0o755, Uname: "nobody", Gname: "nogroup"}, ""},
	}, `names its owner "nobody" and group "nogroup"`},
	// GNU tar with --xattrs would give the file a capability.
	{"extended header record", []entry{
		{tar.Header{Name: "openclaw/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		{tar.Header{Name: "openclaw/ping", Typeflag: tar.TypeReg, Mode: 0o755, PAXRecords: map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02"}}, "x"},
	}, `openclaw/ping: has the extended header record "SCHILY.xattr.security.capability"`},
	// archive/tar's Writer keeps a symlink's size in its header and writes
	// no data: GNU tar's listing skips the next header as data.
	{"symlink with a size", []entry{
		{tar.Header{Name: "openclaw/", Typeflag: tar.TypeDir, Mode: 0o755}, ""},
		{tar.Header{Name: "openclaw/l", Typeflag: tar.TypeSymlink, Linkname: "x", Mode: 0o777, Size: 512}, ""},
		{tar.Header{Name: "openclaw/x", Typeflag: tar.TypeReg, Mode: 0o644}, "x"},
	}, `openclaw/l: is a symlink to "x" with 512 bytes of data`},
}

// TestInstallRefusesPlantedSeeds plants hostile repo-seeds objects as a
// bucket writer without the key would, with the manifest rewritten to
// name them: the statement does not, so each is refused before anything
// is extracted, and the host root stays as it was.
func TestInstallRefusesPlantedSeeds(t *testing.T) {
	w := newWorld(t)
	h := newHost(t)
	mustInstall(t, w.options(h, w.b, prefix1))
	fresh := newHost(t)
	freshBefore := snapshot(t, fresh.root)
	cases := append(slices.Clone(hostileSeeds), hostileSeeds[0])
	cases[len(cases)-1].name, cases[len(cases)-1].entries = "clean but other", []entry{{tar.Header{Name: "other/", Typeflag: tar.TypeDir, Mode: 0o755}, ""}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, _ := archive(t, tc.entries)
			v := w.put(t, prefix1+"/repo-seeds.tar.zst", data)
			w.rewriteManifest(t, prefix1, layout.SeedsObject, v, data)
			// An installed host does not look at repo-seeds again (the
			// statement is unchanged); without its sentinel it reinstalls,
			// and refuses, as a first boot does.
			if err := os.Remove(filepath.Join(h.secretsDir, install.SentinelName)); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			before := snapshot(t, h.root)
			requireRefused(t, run(t, w.options(h, w.b, prefix1)), "not the object the statement names", "manifest names no other version")
			requireSame(t, tc.name, before, snapshot(t, h.root))
			requireRefused(t, run(t, w.options(fresh, w.b, prefix1)), "not the object the statement names")
			requireSame(t, tc.name+" (first boot)", freshBefore, snapshot(t, fresh.root))
		})
	}
}

// TestInstallRefusesVouchedHostileSeeds has a key holder publish hostile
// repo-seeds with a statement that names them: the extraction rules
// refuse each, and the host root stays as it was.
func TestInstallRefusesVouchedHostileSeeds(t *testing.T) {
	w := newWorld(t)
	h := newHost(t)
	mustInstall(t, w.options(h, w.b, prefix1))
	before := snapshot(t, h.root)
	for _, tc := range hostileSeeds {
		t.Run(tc.name, func(t *testing.T) {
			data, tarSHA := archive(t, tc.entries)
			w.plantVouched(t, prefix1, data, tarSHA)
			requireRefused(t, run(t, w.options(h, w.b, prefix1)), tc.says)
			requireSame(t, tc.name, before, snapshot(t, h.root))
		})
	}
}

// plantVouched uploads seeds and a secrets archive made with the fleet key
// whose statement names them, as a key holder can.
func (w *world) plantVouched(t *testing.T, prefix string, seeds []byte, tarSHA string) {
	t.Helper()
	v := w.put(t, prefix+"/repo-seeds.tar.zst", seeds)
	st := w.statement(t, prefix)
	sum := sha256.Sum256(seeds)
	st.Sequence++ // the key's holder vouches for a newer bundle
	st.RepoSeeds = manifest.Seeds{Key: prefix + "/repo-seeds.tar.zst", Size: int64(len(seeds)), SHA256: hex.EncodeToString(sum[:]), TarSHA256: tarSHA, ContentSHA256: st.RepoSeeds.ContentSHA256}
	c, probs := bundle.VerifySecrets(bytes.NewReader(w.get(t, prefix+"/secrets.tar.zst")), bundle.VerifyOptions{})
	if probs.HasErrors() {
		t.Fatal(probs)
	}
	var secrets []bundle.SecretFile
	for _, s := range c.Secrets {
		secrets = append(secrets, bundle.SecretFile{Name: s.Name, Data: c.Entries["secrets/"+s.Name]})
	}
	var buf bytes.Buffer
	if err := bundle.WriteSecrets(&buf, w.fx.Key, st.Marshal(), secrets, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	sv := w.put(t, prefix+"/secrets.tar.zst", buf.Bytes())
	w.rewriteManifest(t, prefix, layout.SeedsObject, v, seeds)
	w.rewriteManifest(t, prefix, layout.SecretsObject, sv, buf.Bytes())
}

// TestInstallRefusesPlantedSecrets plants secrets archives a writer
// without the key can make: another key's bundle, and the fleet's archive
// with a second key entry that would overwrite the first on extraction.
func TestInstallRefusesPlantedSecrets(t *testing.T) {
	w := newWorld(t)
	h := newHost(t)
	mustInstall(t, w.options(h, w.b, prefix1))
	before := snapshot(t, h.root)
	genuine, probs := bundle.VerifySecrets(bytes.NewReader(w.get(t, prefix1+"/secrets.tar.zst")), bundle.VerifyOptions{})
	if probs.HasErrors() {
		t.Fatal(probs)
	}

	t.Run("another key", func(t *testing.T) {
		w.plantOtherKeyBundle(t, prefix1)
		requireRefused(t, run(t, w.options(h, w.b, prefix1)), "bundled key was rotated or swapped")
		requireSame(t, "another key", before, snapshot(t, h.root))
	})
	t.Run("duplicate key entry", func(t *testing.T) {
		// The genuine archive's entries, then a second clawdinator.agekey.
		entries := []entry{
			{tar.Header{Name: bundle.KeyEntry, Typeflag: tar.TypeReg, Mode: 0o400}, string(genuine.Entries[bundle.KeyEntry])},
			{tar.Header{Name: bundle.StatementEntry, Typeflag: tar.TypeReg, Mode: 0o400}, string(genuine.Statement)},
			{tar.Header{Name: "secrets/", Typeflag: tar.TypeDir, Mode: 0o700}, ""},
		}
		for _, s := range genuine.Secrets {
			entries = append(entries, entry{tar.Header{Name: "secrets/" + s.Name, Typeflag: tar.TypeReg, Mode: 0o400}, string(genuine.Entries["secrets/"+s.Name])})
		}
		other, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := archive(t, append(entries, entry{tar.Header{Name: bundle.KeyEntry, Typeflag: tar.TypeReg, Mode: 0o400}, other.String() + "\n"}))
		v := w.put(t, prefix1+"/secrets.tar.zst", data)
		w.rewriteManifest(t, prefix1, layout.SecretsObject, v, data)
		requireRefused(t, run(t, w.options(h, w.b, prefix1)), "appears twice")
		requireSame(t, "duplicate key entry", before, snapshot(t, h.root))
	})
}

// TestInstallMidPublish stops a publish after it uploaded the new
// repo-seeds and before the new secrets archive: a host booting then gets
// the previous consistent pair, the seeds by the manifest's version; once
// the publish finishes, the new pair.
func TestInstallMidPublish(t *testing.T) {
	w := newWorld(t)
	installed := newHost(t)
	mustInstall(t, w.options(installed, w.b, prefix1))
	old := w.statement(t, prefix1)

	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	proxy := startProxy(t, w, faultproxy.Rule{
		Match: func(r *http.Request) bool {
			return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/"+prefix1+"/secrets.tar.zst")
		},
		Hold: func(*http.Request) {
			once.Do(func() {
				close(reached)
				<-release
			})
		},
	})
	w.reencrypt(t, plan.DefaultRequired[0], "rotated")
	if err := os.WriteFile(filepath.Join(w.fx.SeedsDir, "openclaw", "NEW"), []byte("new seeds\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	pb := w.open(t, proxy)
	pol := w.pol
	pol.Only = []string{"clawdinator-1"}
	go func() {
		res := w.publishWith(t, pb, pol)
		if res.Err() != nil || res.Problems.HasErrors() {
			done <- res.Err()
		}
		close(done)
	}()
	select {
	case <-reached:
	case err := <-done:
		t.Fatalf("publish ended before its secrets upload: %v", err)
	}
	cur := w.get(t, prefix1+"/repo-seeds.tar.zst")
	if sum := sha256.Sum256(cur); hex.EncodeToString(sum[:]) == old.RepoSeeds.SHA256 {
		t.Fatal("the new repo-seeds is not uploaded yet: the test stopped the publish too early")
	}

	fresh := newHost(t)
	res := mustInstall(t, w.options(fresh, w.b, prefix1))
	if res.SeedsFrom != "manifest" || res.Seeds.SHA256 != old.RepoSeeds.SHA256 {
		t.Errorf("mid-publish: seeds from %q sha256 %s, want the previous pair's from the manifest", res.SeedsFrom, res.Seeds.SHA256)
	}
	if _, err := os.Lstat(filepath.Join(fresh.seedsDir, "openclaw", "NEW")); !os.IsNotExist(err) {
		t.Error("a host booting mid-publish got the new seeds with the old secrets")
	}
	if res := mustInstall(t, w.options(installed, w.b, prefix1)); !res.AlreadyInstalled {
		t.Error("an installed host reinstalled mid-publish")
	}

	close(release)
	if err := <-done; err != nil {
		t.Fatalf("publish: %v", err)
	}
	res = mustInstall(t, w.options(installed, w.b, prefix1))
	if res.AlreadyInstalled || res.SeedsFrom != "current" {
		t.Errorf("after the publish: already %v, seeds from %q", res.AlreadyInstalled, res.SeedsFrom)
	}
	if _, err := os.Stat(filepath.Join(installed.seedsDir, "openclaw", "NEW")); err != nil {
		t.Errorf("the new seeds were not installed: %v", err)
	}
}

// TestInstallDownloadFaults breaks downloads: a body cut once is fetched
// again and the install completes; cut every time, the run fails (exit
// status 3) and the previous installation is intact.
func TestInstallDownloadFaults(t *testing.T) {
	w := newWorld(t)
	for _, object := range []string{"secrets.tar.zst", "repo-seeds.tar.zst"} {
		t.Run(object, func(t *testing.T) {
			match := func(r *http.Request) bool {
				return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+object)
			}
			once := faultproxy.Always(faultproxy.ResetResponse, match)
			once.MaxConsecutive = 1
			h := newHost(t)
			mustInstall(t, w.options(h, w.open(t, startProxy(t, w, once)), prefix1))

			// A new bundle to install, and every download of object cut
			// (new seeds too: seeds the host has are not downloaded).
			w.reencrypt(t, plan.DefaultRequired[3], "rotated "+object)
			if err := os.WriteFile(filepath.Join(w.fx.SeedsDir, "openclaw", "NEW-"+object), []byte(object), 0o644); err != nil {
				t.Fatal(err)
			}
			w.publish(t, w.b)
			before := snapshot(t, h.root)
			res := run(t, w.options(h, w.open(t, startProxy(t, w, faultproxy.Always(faultproxy.ResetResponse, match))), prefix1))
			if res.Failure == nil {
				t.Fatalf("every download cut: no failure (problems %v)", res.Problems)
			}
			requireSame(t, "failed download", before, snapshot(t, h.root))
			if entries, _ := os.ReadDir(filepath.Dir(h.seedsDir)); len(entries) != 2 {
				t.Errorf("staging left behind: %v", entries)
			}
		})
	}
}
