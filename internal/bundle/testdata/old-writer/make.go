//go:build ignore

// Command make wrote the archives beside it: a secrets
// archive and a repo-seeds archive made by the writer of commit 4aaddf8.
// It was run once, from a tree of that commit (git archive 4aaddf8), as
// go run ./cmd/golden DIR with this file at cmd/golden/main.go.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/agekey"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
)

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func main() {
	out := os.Args[1]
	mtime := time.Unix(1700000000, 0)
	root, err := os.MkdirTemp("", "golden")
	must(err)
	defer os.RemoveAll(root)

	long := strings.Repeat("d", 99)
	files := []struct {
		name string
		mode os.FileMode
		body string
	}{
		{"README.md", 0o644, "# seeds\n"},
		{"bin/run.sh", 0o755, "#!/bin/sh\necho run\n"},
		{"bin/secret-tool", 0o700, "#!/bin/sh\n"},
		{"data/empty", 0o640, ""},
		{"ro/a.txt", 0o444, "read only\n"},
		// Longer than a name field, split into prefix and name.
		{strings.Repeat("p", 60) + "/" + strings.Repeat("q", 60) + "/split.txt", 0o644, "split\n"},
		// One component longer than a name field: a PAX path record.
		{"repo/" + strings.Repeat("n", 180) + ".md", 0o644, "long\n"},
		// The 100th byte of the path is "/": archive/tar's Writer puts a
		// NUL there in the name field.
		{long + "/" + strings.Repeat("e", 150) + "/x", 0o600, "slash at 100\n"},
		// Not ASCII: a PAX path record; not UTF-8 either.
		{"repo/ünïcødé/名前.txt", 0o644, "unicode\n"},
		{"repo/bad\xffname", 0o644, "not utf-8\n"},
		{"repo/with space/a b.sh", 0o755, "spaces\n"},
	}
	for _, f := range files {
		p := filepath.Join(root, f.name)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p, []byte(f.body), 0o600))
		must(os.Chmod(p, f.mode))
	}
	must(os.MkdirAll(filepath.Join(root, "empty/nested"), 0o755))
	must(os.Chmod(filepath.Join(root, "empty/nested"), 0o711))
	must(os.Chmod(filepath.Join(root, "ro"), 0o555))
	for _, l := range []struct{ name, target string }{
		{"latest", "bin/run.sh"},
		{"repo/up", "../README.md"},
		// Longer than a link name field: a PAX linkpath record.
		{"repo/long-link", strings.Repeat("n", 180) + ".md"},
		{"repo/uni-link", "ünïcødé/名前.txt"},
	} {
		must(os.Symlink(l.target, filepath.Join(root, l.name)))
	}
	var seeds bytes.Buffer
	probs, err := bundle.WriteSeeds(&seeds, root, bundle.SeedsOptions{Mtime: mtime, Concurrency: 1})
	must(err)
	if len(probs) > 0 {
		panic(fmt.Sprint(probs))
	}
	must(os.Chmod(filepath.Join(root, "ro"), 0o755))

	id, err := age.GenerateX25519Identity()
	must(err)
	key, err := agekey.Parse([]byte(id.String()))
	must(err)
	var secrets []bundle.SecretFile
	for _, name := range []string{"clawdinator-control-token.age", strings.Repeat("s", 150) + ".age"} {
		var ct bytes.Buffer
		w, err := age.Encrypt(&ct, id.Recipient())
		must(err)
		_, err = w.Write([]byte("plaintext of " + name))
		must(err)
		must(w.Close())
		secrets = append(secrets, bundle.SecretFile{Name: name, Data: ct.Bytes()})
	}
	var sec bytes.Buffer
	must(bundle.WriteSecrets(&sec, key.Canonical(), []byte("{\"statement\": \"any bytes\"}\n"), secrets, mtime))
	must(os.MkdirAll(out, 0o755))
	must(os.WriteFile(filepath.Join(out, "repo-seeds.tar.zst"), seeds.Bytes(), 0o644))
	must(os.WriteFile(filepath.Join(out, "secrets.tar.zst"), sec.Bytes(), 0o644))
}
