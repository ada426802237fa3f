//go:build unix

package bundle_test

import (
	"io"

	"bytes"
	"github.com/klauspost/compress/zstd"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

// oldWriterMtime is the mtime testdata/old-writer/make.go.txt stamped.
var oldWriterMtime = time.Unix(1700000000, 0)

func readOld(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "old-writer", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestOldWriterArchives: bundles published before the tar dialect was
// written down still pass every reader, and today's writer makes the same
// bytes from the same inputs. testdata/old-writer holds archives the
// writer of commit 4aaddf8 made (make.go.txt says how), with every header
// shape it produces: ustar names split into prefix and name, PAX path
// records for long, non-ASCII and non-UTF-8 names (one whose 100th byte is
// the "/" archive/tar's Writer turns into NUL), PAX linkpath records,
// empty and read-only directories.
func TestOldWriterArchives(t *testing.T) {
	seeds := readOld(t, "repo-seeds.tar.zst")
	secrets := readOld(t, "secrets.tar.zst")

	c, probs := bundle.VerifySecrets(bytes.NewReader(secrets), bundle.VerifyOptions{})
	if len(probs) > 0 {
		t.Fatalf("VerifySecrets:\n%s", render(probs))
	}
	if len(c.Secrets) != 2 || c.Recipient == "" || c.Statement == nil {
		t.Fatalf("contents: %+v", c)
	}
	var files []bundle.SecretFile
	for _, s := range c.Secrets {
		files = append(files, bundle.SecretFile{Name: s.Name, Data: c.Entries["secrets/"+s.Name]})
	}
	var again bytes.Buffer
	if err := bundle.WriteSecrets(&again, c.Entries[bundle.KeyEntry], c.Statement, files, oldWriterMtime); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), secrets) {
		t.Error("WriteSecrets no longer makes the bytes the old writer made from the same inputs")
	}

	if _, probs := bundle.VerifySeeds(bytes.NewReader(seeds), bundle.SeedsLimits); len(probs) > 0 {
		t.Fatalf("VerifySeeds:\n%s", render(probs))
	}
	// GNU tar (as root, the hosts' boot script) and ExtractSeeds make the
	// same tree, and it holds what make.go.txt wrote; GNU tar converts PAX
	// names to its locale's character set, and changes none in these.
	tree := gnuExtract(t, seeds)
	want := listing(t, tree)
	got := listing(t, extract(t, seeds))
	want[0], _, _ = strings.Cut(want[0], " mtime=")
	got[0], _, _ = strings.Cut(got[0], " mtime=")
	if !slices.Equal(got, want) {
		t.Fatalf("ExtractSeeds and tar -xf differ:\nExtractSeeds:\n  %s\ntar:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	archive := filepath.Join(t.TempDir(), "repo-seeds.tar.zst")
	if err := os.WriteFile(archive, seeds, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, locale := range []string{"C", "C.UTF-8"} {
		dest, said := tarExtractIn(t, archive, locale)
		if in := timeless(listing(t, dest)); said != "" || !slices.Equal(in, timeless(got)) {
			t.Errorf("LC_ALL=%s tar -xf (%s) makes\n  %s", locale, said, strings.Join(in, "\n  "))
		}
	}
	all := strings.Join(want, "\n")
	for _, s := range []string{"repo/bad\xffname -rw-r--r--", "repo/ünïcødé/名前.txt", "repo/long-link Lrwxrwxrwx", "/x -rw-------", "/split.txt", "ro dr-xr-xr-x", "empty/nested drwx--x--x"} {
		if !strings.Contains(all, s) {
			t.Fatalf("the tree lacks %q: the fixture proves less than it says\n%s", s, all)
		}
	}
	// Archiving that tree again gives the old archive but for the mtimes
	// of files and symlinks, which now follow their content (a fleet's
	// rsync must see a change of content): the same entries in the same
	// order, with the same headers otherwise and the same bodies.
	var buf bytes.Buffer
	probs, err := bundle.WriteSeedsTar(&buf, tree, bundle.SeedsOptions{Mtime: oldWriterMtime})
	if err != nil || len(probs) > 0 {
		t.Fatalf("WriteSeeds: %v\n%s", err, render(probs))
	}
	zr, err := zstd.NewReader(bytes.NewReader(seeds))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	oldTar, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	oldEntries, newEntries := readTar(t, bytes.NewReader(oldTar), time.Time{}), readTar(t, &buf, oldWriterMtime)
	if !slices.Equal(oldEntries, newEntries) || len(newEntries) < 10 {
		t.Errorf("WriteSeeds makes other entries than the old writer from the same tree:\n%v\n%v", oldEntries, newEntries)
	}
}
