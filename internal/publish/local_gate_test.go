//go:build unix

package publish_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"filippo.io/age"
	"github.com/openclaw/clawdinator-bundle/internal/bundle"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// TestGate runs Prepare on the sample workload with one thing broken at a
// time. Every case must be refused with a problem that names the offending
// file or instance, with no gate.Prepared and nothing left in Inputs.TempDir.
func TestGate(t *testing.T) {
	secret := func(f *localFixture, name string) string { return filepath.Join(f.SecretsDir, name) }
	writeInstances := func(t *testing.T, f *localFixture, text string) {
		if err := os.WriteFile(f.InstancesFile, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	seed := func(f *localFixture, rel string) string { return filepath.Join(f.SeedsDir, filepath.FromSlash(rel)) }
	write := func(t *testing.T, p, text string) {
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	symlink := func(t *testing.T, target, p string) {
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	const pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n"

	cases := []struct {
		name   string
		break_ func(t *testing.T, f *localFixture)
		// want: substrings one problem must hold (file or instance first).
		want []string
	}{
		{"other recipient", func(t *testing.T, f *localFixture) {
			localEncrypt(t, secret(f, localCommon), []byte("x"))
		}, []string{localCommon, "not encrypted to this key"}},
		{"truncated", func(t *testing.T, f *localFixture) {
			data := localRead(t, secret(f, localCommon))
			write(t, secret(f, localCommon), string(data[:len(data)-20]))
		}, []string{localCommon, "truncated"}},
		{"flipped payload byte", func(t *testing.T, f *localFixture) {
			data := localRead(t, secret(f, localCommon))
			data[len(data)-3] ^= 0x01
			write(t, secret(f, localCommon), string(data))
		}, []string{localCommon, "payload"}},
		{"missing required secret", func(t *testing.T, f *localFixture) {
			os.Remove(secret(f, "clawdinator-anthropic-api-key.age"))
		}, []string{"clawdinator-anthropic-api-key.age", "required secret is missing"}},
		{"missing instance token", func(t *testing.T, f *localFixture) {
			os.Remove(secret(f, sample.TokenName("clawdinator-2")))
		}, []string{"instance clawdinator-2", sample.TokenName("clawdinator-2"), "missing"}},
		{"plaintext file", func(t *testing.T, f *localFixture) {
			write(t, secret(f, "clawdinator-control-token"), "hunter2")
		}, []string{"clawdinator-control-token:", "not an .age file"}},
		{"symlink in secrets", func(t *testing.T, f *localFixture) {
			symlink(t, localCommon, secret(f, "alias.age"))
		}, []string{"alias.age", "symlink"}},
		{"directory in secrets", func(t *testing.T, f *localFixture) {
			os.Mkdir(secret(f, "old.age"), 0o755)
		}, []string{"old.age", "directory"}},
		{"garbage key", func(t *testing.T, f *localFixture) {
			f.in.AgeKey = []byte("not a key at all\n")
		}, []string{"age-key", "not an age identity"}},
		{"two identities", func(t *testing.T, f *localFixture) {
			f.in.AgeKey = append(append([]byte(nil), f.Key...), f.Key...)
		}, []string{"age-key", "2 identities"}},
		{"plugin identity", func(t *testing.T, f *localFixture) {
			f.in.AgeKey = []byte("AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n")
		}, []string{"age-key", "plugin"}},
		{"instances file missing", func(t *testing.T, f *localFixture) {
			os.Remove(f.InstancesFile)
		}, []string{"instances.json", "cannot read instances file"}},
		{"instances invalid JSON", func(t *testing.T, f *localFixture) {
			writeInstances(t, f, `{"clawdinator-1": {`)
		}, []string{"instances.json", "invalid JSON"}},
		{"instances empty", func(t *testing.T, f *localFixture) {
			writeInstances(t, f, "\n")
		}, []string{"instances.json", "empty"}},
		{"instances no entries", func(t *testing.T, f *localFixture) {
			writeInstances(t, f, "{}")
		}, []string{"instances.json", "no instances"}},
		{"absolute prefix", func(t *testing.T, f *localFixture) {
			writeInstances(t, f, `{"clawdinator-1": {"bootstrapPrefix": "/bootstrap/clawdinator-1", "discordTokenSecret": "clawdinator-discord-token-1"}}`)
		}, []string{"instance clawdinator-1", "absolute"}},
		{"dotdot prefix", func(t *testing.T, f *localFixture) {
			writeInstances(t, f, `{"clawdinator-1": {"bootstrapPrefix": "bootstrap/../age-secrets", "discordTokenSecret": "clawdinator-discord-token-1"}}`)
		}, []string{"instance clawdinator-1", "'..'"}},
		{"duplicate token", func(t *testing.T, f *localFixture) {
			writeInstances(t, f, `{"clawdinator-1": {"discordTokenSecret": "clawdinator-discord-token-1"}, "clawdinator-2": {"discordTokenSecret": "clawdinator-discord-token-1"}}`)
		}, []string{"instance clawdinator-2", "also used by instance clawdinator-1"}},
		{"seeds symlink escaping", func(t *testing.T, f *localFixture) {
			symlink(t, "../../nix/age-secrets", seed(f, "openclaw/secrets"))
		}, []string{"openclaw/secrets", "outside repo-seeds"}},
		{"seeds symlink escaping through a symlink", func(t *testing.T, f *localFixture) {
			symlink(t, "..", seed(f, "openclaw/root"))
			symlink(t, "root/../nix", seed(f, "openclaw/nix"))
		}, []string{filepath.Join("openclaw", "nix") + ":", "leave repo-seeds"}},
		{"seeds absolute symlink", func(t *testing.T, f *localFixture) {
			symlink(t, "/etc/agenix", seed(f, "openclaw/agenix"))
		}, []string{"openclaw/agenix", "absolute"}},
		{"seeds fifo", func(t *testing.T, f *localFixture) {
			if err := syscall.Mkfifo(seed(f, "openclaw/pipe"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"openclaw/pipe", "fifo"}},
		{"seeds age identity", func(t *testing.T, f *localFixture) {
			write(t, seed(f, "openclaw/.env"), "KEY=1\n"+string(f.Key))
		}, []string{"openclaw/.env", "age identity"}},
		{"expected-recipient not the key's", func(t *testing.T, f *localFixture) {
			other, err := age.GenerateX25519Identity()
			if err != nil {
				t.Fatal(err)
			}
			f.in.ExpectedRecipient = other.Recipient().String()
		}, []string{"expected-recipient: is age1", "but the age key's recipient is age1"}},
		{"more entries than verify accepts", func(t *testing.T, f *localFixture) {
			// One more than the cap, counting the key, the statement and secrets/.
			r := s3Recipient(t, f.Key)
			for i := range bundle.SecretsLimits.MaxEntries {
				if err := sample.Encrypt(secret(f, fmt.Sprintf("extra-%04d.age", i)), []byte("x"), r); err != nil {
					t.Fatal(err)
				}
			}
		}, []string{"instance clawdinator-1", "would exceed what verify accepts (4096 entries, 64 MiB unpacked): more than 4096 entries"}},
		{"seeds PEM key", func(t *testing.T, f *localFixture) {
			write(t, seed(f, "openclaw/docs/id_ed25519"), pem)
		}, []string{"openclaw/docs/id_ed25519", "PEM private key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newLocalFixture(t)
			tc.break_(t, f)
			want := tc.want
			prep, probs := localPrepare(t, f.load())
			if prep != nil {
				t.Fatalf("Prepare accepted the broken input; problems:\n%s", localRender(probs))
			}
			if _, ok := localFind(probs, want...); !ok {
				t.Fatalf("no problem holds %q; got:\n%s", want, localRender(probs))
			}
			left, err := os.ReadDir(f.in.TempDir)
			if err != nil || len(left) > 0 {
				t.Fatalf("TempDir holds %v after a refused run (%v)", left, err)
			}
		})
	}

	// The same PEM file passes once it is listed as an allowed fixture, as
	// a directory or as a glob.
	for _, allow := range []string{"openclaw/docs", "openclaw/docs/id_*"} {
		t.Run("seeds PEM key allowed by "+allow, func(t *testing.T) {
			f := newLocalFixture(t)
			write(t, seed(f, "openclaw/docs/id_ed25519"), pem)
			f.in.SeedsAllowKeys = []string{allow}
			prep, probs := localPrepare(t, f.load())
			if prep == nil {
				t.Fatalf("allowed key fixture refused:\n%s", localRender(probs))
			}
		})
	}
}

// TestGateReportsEverything breaks several unrelated things at once: the
// user must learn about all of them from one run.
func TestGateReportsEverything(t *testing.T) {
	f := newLocalFixture(t)
	localEncrypt(t, filepath.Join(f.SecretsDir, localCommon), []byte("x"))
	data := localRead(t, filepath.Join(f.SecretsDir, "clawdinator-telegram-bot-token.age"))
	if err := os.WriteFile(filepath.Join(f.SecretsDir, "clawdinator-telegram-bot-token.age"), data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(f.SeedsDir, "openclaw", "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	prep, probs := localPrepare(t, f.load())
	if prep != nil {
		t.Fatal("Prepare accepted broken input")
	}
	for _, want := range []string{localCommon, "clawdinator-telegram-bot-token.age", "pipe"} {
		if _, ok := localFind(probs, want); !ok {
			t.Errorf("no problem names %s", want)
		}
	}
	if n := len(probs.Errors()); n != 3 {
		t.Errorf("want 3 problems, got %d:\n%s", n, localRender(probs))
	}
}

// TestGateReportsEverythingAcrossSteps mixes a planning problem (a missing
// required secret, a plaintext file) with a decryption problem and a
// repo-seeds problem: the planning problems must not hide the others.
func TestGateReportsEverythingAcrossSteps(t *testing.T) {
	f := newLocalFixture(t)
	os.Remove(filepath.Join(f.SecretsDir, "clawdinator-anthropic-api-key.age"))
	if err := os.WriteFile(filepath.Join(f.SecretsDir, "notes.txt"), []byte("plaintext"), 0o644); err != nil {
		t.Fatal(err)
	}
	localEncrypt(t, filepath.Join(f.SecretsDir, localCommon), []byte("x"))
	if err := os.Symlink("/etc", filepath.Join(f.SeedsDir, "openclaw", "etc")); err != nil {
		t.Fatal(err)
	}
	prep, probs := localPrepare(t, f.load())
	if prep != nil {
		t.Fatal("Prepare accepted broken input")
	}
	for _, want := range []string{"clawdinator-anthropic-api-key.age", "notes.txt", localCommon, "openclaw/etc"} {
		if _, ok := localFind(probs, want); !ok {
			t.Errorf("no problem names %s", want)
		}
	}
	if n := len(probs.Errors()); n != 4 {
		t.Errorf("want 4 problems, got %d:\n%s", n, localRender(probs))
	}
}

// TestPrepareTempFiles: a good run keeps exactly one file in TempDir, the
// compressed repo seeds (no secret is ever written there), and Close
// removes it.
func TestPrepareTempFiles(t *testing.T) {
	f := newLocalFixture(t)
	prep, probs := localPrepare(t, f.load())
	if prep == nil {
		t.Fatalf("prepare:\n%s", localRender(probs))
	}
	if w := probs.Warnings(); len(w) != len(sample.CIOnly) || len(probs.Errors()) > 0 {
		t.Errorf("want one warning per CI-only secret:\n%s", localRender(probs))
	}
	left, err := os.ReadDir(f.in.TempDir)
	if err != nil || len(left) != 1 {
		t.Fatalf("TempDir holds %v (%v), want the seeds archive only", left, err)
	}
	data := localRead(t, filepath.Join(f.in.TempDir, left[0].Name()))
	if int64(len(data)) != prep.Seeds.Size || !strings.HasSuffix(left[0].Name(), ".tar.zst") {
		t.Errorf("temporary file %s (%d bytes) is not the seeds archive (%d bytes)", left[0].Name(), len(data), prep.Seeds.Size)
	}
	if err := prep.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(f.in.TempDir); len(left) != 0 {
		t.Fatalf("TempDir holds %v after Close", left)
	}
}
