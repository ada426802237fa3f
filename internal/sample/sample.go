// Package sample writes a small, complete workload: a throwaway age
// identity, the documented host secrets encrypted to it (plus an admin
// recipient, as agenix files are), the CI-only secrets that must never ship,
// an instances file and a repo-seeds tree with an executable and a relative
// symlink. The demo runs on it and tests start from it.
package sample

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"filippo.io/age"

	"github.com/openclaw/clawdinator-bundle/internal/plan"
)

// Instances are the fleet's instance names (docs/host.md).
var Instances = []string{"clawdinator-1", "clawdinator-2", "clawdinator-babelfish"}

// CIOnly are secrets stored beside the host secrets that must never ship.
var CIOnly = []string{
	"clawdinator-image-uploader-access-key-id.age",
	"clawdinator-image-uploader-secret-access-key.age",
	"clawdinator-image-bucket-name.age",
	"clawdinator-image-bucket-region.age",
}

// Canary starts every sample plaintext, so tests can prove none leaks.
const Canary = "PLAINTEXT-CANARY-"

// Fixture says where the workload was written.
type Fixture struct {
	Root          string
	KeyFile       string
	Key           []byte
	Recipient     string
	SecretsDir    string
	InstancesFile string
	SeedsDir      string
}

// TokenName returns the discord token file of instance name.
func TokenName(name string) string {
	suffix := name[len("clawdinator-"):]
	return "clawdinator-discord-token-" + suffix + ".age"
}

// Write creates the workload under root.
func Write(root string) (*Fixture, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	admin, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	f := &Fixture{
		Root:          root,
		KeyFile:       filepath.Join(root, "nix", "keys", "clawdinator.agekey"),
		Recipient:     id.Recipient().String(),
		SecretsDir:    filepath.Join(root, "nix", "age-secrets"),
		InstancesFile: filepath.Join(root, "nix", "instances.json"),
		SeedsDir:      filepath.Join(root, "repo-seeds"),
	}
	f.Key = []byte(fmt.Sprintf("# created: sample\n# public key: %s\n%s\n", f.Recipient, id))
	for _, d := range []string{filepath.Dir(f.KeyFile), f.SecretsDir, f.SeedsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(f.KeyFile, f.Key, 0o600); err != nil {
		return nil, err
	}
	names := append([]string(nil), plan.DefaultRequired...)
	entries := map[string]map[string]string{}
	for _, n := range Instances {
		names = append(names, TokenName(n))
		entries[n] = map[string]string{
			"host": n, "instanceType": "t3.small",
			"bootstrapPrefix":    "bootstrap/" + n,
			"discordTokenSecret": TokenName(n)[:len(TokenName(n))-len(".age")],
		}
	}
	names = append(names, CIOnly...)
	for _, n := range names {
		if err := Encrypt(filepath.Join(f.SecretsDir, n), []byte(Canary+n), id.Recipient(), admin.Recipient()); err != nil {
			return nil, err
		}
	}
	data, _ := json.MarshalIndent(entries, "", "  ")
	if err := os.WriteFile(f.InstancesFile, data, 0o644); err != nil {
		return nil, err
	}
	seeds := map[string]string{
		"openclaw/README.md":                "# openclaw\n",
		"openclaw/.git/HEAD":                "ref: refs/heads/main\n",
		"openclaw/scripts/run.sh":           "#!/bin/sh\necho hello\n",
		"nix-openclaw/flake.nix":            "{ outputs = _: { }; }\n",
		"nix-openclaw/.git/HEAD":            "ref: refs/heads/main\n",
		"nix-openclaw/.git/objects/info/x":  "",
		"openclaw/docs/guide/index.md":      "guide\n",
		"openclaw/docs/guide/deep/nested.x": string(bytes.Repeat([]byte("seed "), 2000)),
	}
	for name, content := range seeds {
		p := filepath.Join(f.SeedsDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		mode := os.FileMode(0o644)
		if filepath.Ext(p) == ".sh" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			return nil, err
		}
		if err := os.Chmod(p, mode); err != nil {
			return nil, err
		}
	}
	if err := os.Symlink("README.md", filepath.Join(f.SeedsDir, "openclaw", "README.link")); err != nil {
		return nil, err
	}
	if err := os.Symlink("../../README.md", filepath.Join(f.SeedsDir, "openclaw", "docs", "guide", "up.md")); err != nil {
		return nil, err
	}
	return f, nil
}

// Encrypt writes plaintext encrypted to recipients at path.
func Encrypt(path string, plaintext []byte, recipients ...age.Recipient) error {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recipients...)
	if err != nil {
		return err
	}
	if _, err := w.Write(plaintext); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
