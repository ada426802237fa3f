//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/openclaw/clawdinator-bundle/internal/faultproxy"
	"github.com/openclaw/clawdinator-bundle/internal/s3test"
	"github.com/openclaw/clawdinator-bundle/internal/sample"
)

// TestMatrix is the bad-input matrix: every way an operator's inputs go
// wrong, each run through the CLI (`clawdinator-bundle publish` with
// flags, the key from --age-key-file or CLAWDINATOR_AGE_KEY) and through
// the Action contract (GITHUB_ACTIONS=true, INPUT_* with dashes), on the
// built binary. For each run it requires:
//
//  1. the exit status of docs/exit-status.md (0 ok, 1 problems, 2 usage, 3 could
//     not complete);
//  2. one clear error naming the file, instance, object or input: a line
//     "clawdinator-bundle: error: …" on the CLI's stderr, an ::error
//     annotation (with file= exactly when a file is at fault) and the
//     same message in the step summary for the Action;
//  3. nothing uploaded: the bucket's versions and delete markers are the
//     same before and after (a good publish seeded the bucket first);
//  4. no key text, plaintext canary or AWS secret in stdout, stderr,
//     GITHUB_OUTPUT or the step summary, and nothing left in TMPDIR.
//
// One versitygw and one bucket serve every case. The cases that are
// accepted (exit 0) publish, so they run first, one at a time; the others,
// which must leave the bucket alone, then run two at a time.
func TestMatrix(t *testing.T) {
	binary(t) // build before the server starts
	srv := s3test.Start(t)
	const bucket = "matrix"
	srv.CreateBucket(t, bucket)

	base := t.TempDir()
	fx, err := sample.Write(base)
	if err != nil {
		t.Fatal(err)
	}
	m := &matrixEnv{srv: srv, bucket: bucket, fx: fx, keyLine: keyLine(t, fx.Key)}

	// The bucket holds a good publish, as in production: a failed run
	// must leave the previous manifests and versions exactly as they are.
	seed := m.run(t, matrixCase{name: "seed"}, fx.Root, false)
	if seed.code != exitOK {
		t.Fatalf("seeding publish: %v", seed)
	}
	if len(m.list(t)) == 0 {
		t.Fatal("the seeding publish left the bucket empty")
	}

	for _, tc := range matrixCases() {
		t.Run(tc.name, func(t *testing.T) {
			if tc.code != exitOK {
				t.Parallel()
			}
			ws := filepath.Join(t.TempDir(), "ws")
			if err := mxCopyTree(fx.Root, ws); err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(t, m, ws)
			}
			for _, action := range []bool{false, true} {
				surface := "cli"
				if action {
					surface = "action"
				}
				if tc.only != "" && tc.only != surface {
					continue
				}
				t.Run(surface, func(t *testing.T) {
					m.check(t, tc, ws, action)
				})
			}
		})
	}
}

// matrixCase is one bad input. Unless only says otherwise it runs both as
// the CLI and as the Action.
type matrixCase struct {
	name string
	// only is "cli" or "action" for a case that exists on one surface.
	only string
	// setup breaks the case's copy of the sample workspace.
	setup func(t *testing.T, m *matrixEnv, ws string)
	// key returns the age key text; nil: the workspace's good key.
	key func(m *matrixEnv) string
	// keyEnv passes the CLI's key in CLAWDINATOR_AGE_KEY, not a file.
	keyEnv bool
	// keyFile, when set, is the CLI's --age-key-file (a device, a
	// directory) instead of a file holding the key.
	keyFile string
	// with holds inputs (CLI: flags) over the defaults. "mode" is the CLI
	// subcommand. "{closedport}" becomes a URL nobody listens on.
	with map[string]string
	// awsSecret replaces the server's secret access key.
	awsSecret string
	// code is the exit status required.
	code int
	// re must match the error message (after "error: " on the CLI, after
	// "::" in the annotation); actionRe, when set, replaces it for the
	// Action.
	re, actionRe string
	// file is the file= the Action's annotation must carry; "" requires
	// an annotation without file= (an input or S3 is at fault).
	file string
	// secrets are more texts that must not be printed (a bad key's line).
	secrets []string
	// mayWrite names the objects an accepted case may add versions of
	// (manifest.json is rewritten by every good run); every version that
	// was there stays.
	mayWrite []string
	// after checks more, once per run.
	after func(t *testing.T, m *matrixEnv, r matrixRun)
}

// matrixEnv is what every case shares.
type matrixEnv struct {
	srv     *s3test.Server
	bucket  string
	fx      *sample.Fixture
	keyLine string
}

// matrixRun is one run of the binary.
type matrixRun struct {
	actionRun
	ws string
	// writes lists every request other than GET and HEAD that reached S3.
	writes []string
}

const (
	matrixNoBucket    = "no-such-bucket-matrix"
	matrixWrongSecret = "WRONGwrongWRONGwrongWRONGwrongWRONGwrong"
	// matrixDeadline bounds every run: an unreachable S3 must end the run
	// well within it, not wait out an operation timeout.
	matrixDeadline = 60 * time.Second
)

const (
	mxSecretsDir    = "nix/age-secrets"
	mxInstancesFile = "nix/instances.json"
	mxControlToken  = mxSecretsDir + "/clawdinator-control-token.age"
	// mxBigSecret is replaced by a plaintext of several 64 KiB chunks.
	mxBigSecret = mxSecretsDir + "/clawdinator-github-app.pem.age"
)

func matrixCases() []matrixCase {
	badKey := "NOT-A-KEY-but-a-password-7QX2"
	other, _ := age.GenerateX25519Identity()
	pemBody := ""
	return []matrixCase{
		// --- the pin ------------------------------------------------------

		// 3 a.m.: "expected-recipient: is age1…, but the age key's recipient is age1…": the key was rotated, the pin was not.
		{name: "pin is another key", with: map[string]string{"expected-recipient": other.Recipient().String()},
			code: exitProblems, re: `^expected-recipient: is age1\S+, but the age key's recipient is age1\S+: the key was rotated or the pin is wrong`},
		// 3 a.m.: "expected-recipient holds an age identity (a private key)": the secret was pasted where the variable goes.
		{name: "pin is an identity", with: map[string]string{"expected-recipient": other.String()},
			code: exitUsage, re: `expected-recipient holds an age identity \(a private key\), not a recipient`,
			secrets: []string{other.String(), strings.TrimPrefix(other.String(), "AGE-SECRET-KEY-")}},

		// --- the age key ---------------------------------------------------

		// 3 a.m.: "--age-key-file /dev/zero: …": a device is refused, not read until memory runs out.
		{name: "key file is a device", only: "cli", keyFile: "/dev/zero",
			code: exitUsage, re: `--age-key-file /dev/zero: `},
		// 3 a.m.: "--age-key-file nix/keys: …": a directory, not the key in it.
		{name: "key file is a directory", only: "cli", keyFile: "nix/keys",
			code: exitUsage, re: `--age-key-file nix/keys: `},
		// 3 a.m.: assemble --out into a directory where a symlink leads elsewhere: refused, nothing written outside.
		{name: "output dir holds a symlink", only: "cli", with: map[string]string{"mode": "assemble", "output-dir": "out"},
			setup: func(t *testing.T, m *matrixEnv, ws string) {
				if err := os.MkdirAll(filepath.Join(ws, "out"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(filepath.Join(ws, "elsewhere"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("../elsewhere", filepath.Join(ws, "out", "bootstrap")); err != nil {
					t.Fatal(err)
				}
			},
			code: exitProblems, re: `^out/bootstrap: is a symlink under the output directory: refused, not followed`,
			after: func(t *testing.T, m *matrixEnv, r matrixRun) {
				if left, _ := os.ReadDir(filepath.Join(r.ws, "elsewhere")); len(left) != 0 {
					t.Errorf("assemble wrote through the symlink: %v", left)
				}
			}},

		// 3 a.m.: "age-key: line 1: not an age identity": the secret holds a password, not the key.
		{name: "key malformed", key: func(*matrixEnv) string { return "# pasted\n" + badKey + "\n" },
			code: exitProblems, re: `^age-key: line 2: not an age identity`, secrets: []string{badKey}},
		// 3 a.m.: "--age-key-file …: is empty" / "age-key is required for publish": the secret is unset.
		{name: "key empty", key: func(*matrixEnv) string { return "" },
			code: exitUsage, re: `--age-key-file \S+key\.txt is empty`, actionRe: `^age-key is required for publish`},
		// 3 a.m.: "age-key: no identity found: only comments and blank lines": only the header was copied.
		{name: "key comments only", key: func(*matrixEnv) string { return "# created: 2024\n# public key: age1…\n\n" },
			code: exitProblems, re: `^age-key: no identity found: only comments and blank lines`},
		// 3 a.m.: "age-key: found 2 identities, expected exactly one (lines 3, 4)".
		{name: "key two identities", keyEnv: true, key: func(m *matrixEnv) string { return string(m.fx.Key) + other.String() + "\n" },
			code: exitProblems, re: `^age-key: found 2 identities, expected exactly one \(lines 3, 4\)`, secrets: []string{other.String()}},
		// 3 a.m.: "age-key: line 1: plugin identities (AGE-PLUGIN-…) are not supported".
		{name: "key plugin identity", keyEnv: true, key: func(*matrixEnv) string {
			return "AGE-PLUGIN-YUBIKEY-1QXZ7HJY54PW3HYWW5AYYFG7ZQGVC7W3J2ELW8ZMRJ2KG5SFN9AQMCAC8P\n"
		},
			code: exitProblems, re: `^age-key: line 1: plugin identities \(AGE-PLUGIN-…\) are not supported`,
			secrets: []string{"1QXZ7HJY54PW3HYWW5AYYFG7ZQGVC7W3J2ELW8ZMRJ2KG5SFN9AQMCAC8P"}},
		// 3 a.m.: "age-key: line 1: this is a public key (recipient), not an identity".
		{name: "key is a recipient", key: func(m *matrixEnv) string { return m.fx.Recipient + "\n" },
			code: exitProblems, re: `^age-key: line 1: this is a public key \(recipient\), not an identity`},
		// 3 a.m.: nothing: a key pasted from Windows with CRLF and comments is accepted; the bundles are unchanged, only manifests are written.
		{name: "key with CRLF and comments", keyEnv: true,
			key:  func(m *matrixEnv) string { return "\r\n# rotated 2024-05-01\r\n" + crlf(m.fx.Key) + "# end\r\n" },
			code: exitOK, mayWrite: []string{"manifest.json"}},
		// 3 a.m.: "--age-key-file: open nope.agekey: no such file or directory" (the Action has no key file).
		{name: "key file missing", only: "cli", with: map[string]string{"age-key-file": "nope.agekey"},
			code: exitUsage, re: `^--age-key-file nope\.agekey: no such file or directory`},

		// --- the secrets directory -----------------------------------------

		// 3 a.m.: "nix/age-secrets/clawdinator-control-token.age: not encrypted to this key (age1…) but to 1 other recipient (X25519)".
		{name: "secret for another recipient", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxEncrypt(t, filepath.Join(ws, mxControlToken), []byte(sample.Canary+"other"), other.Recipient())
		}, code: exitProblems, file: mxControlToken, re: `^` + regexp.QuoteMeta(mxControlToken) + `: not encrypted to this key \(age1\w+\) but to 1 other recipient \(X25519\): re-encrypt it`},
		// 3 a.m.: "…control-token.age: malformed age header: the file ends inside its header (truncated)".
		{name: "secret truncated in its header", setup: func(t *testing.T, m *matrixEnv, ws string) {
			p := filepath.Join(ws, mxControlToken)
			data := mxRead(t, p)
			mxWrite(t, p, data[:bytes.Index(data, []byte("\n-> X25519 "))+30])
		}, code: exitProblems, file: mxControlToken, re: `^` + regexp.QuoteMeta(mxControlToken) + `: malformed age header: the file ends inside its header \(truncated\)`},
		// 3 a.m.: "…github-app.pem.age: truncated payload …": the file was cut short in its second chunk.
		{name: "secret truncated in its payload", setup: func(t *testing.T, m *matrixEnv, ws string) {
			p := mxBigFile(t, m, ws)
			data := mxRead(t, p)
			mxWrite(t, p, data[:mxPayloadStart(t, data)+16+mxChunk+5000])
		}, code: exitProblems, file: mxBigSecret, re: `^` + regexp.QuoteMeta(mxBigSecret) + `: (corrupted or )?truncated`},
		// 3 a.m.: "…control-token.age: header MAC mismatch: the header was tampered with or corrupted".
		{name: "secret header byte flipped", setup: func(t *testing.T, m *matrixEnv, ws string) {
			p := filepath.Join(ws, mxControlToken)
			data := mxRead(t, p)
			i := bytes.Index(data, []byte("\n--- ")) + len("\n--- ") + 10
			mxWrite(t, p, mxFlipBase64(data, i))
		}, code: exitProblems, file: mxControlToken, re: `^` + regexp.QuoteMeta(mxControlToken) + `: header MAC mismatch: the header was tampered with or corrupted`},
		// 3 a.m.: "…github-app.pem.age: corrupted or truncated payload …": one byte of the first chunk flipped.
		{name: "secret payload byte flipped", setup: func(t *testing.T, m *matrixEnv, ws string) {
			p := mxBigFile(t, m, ws)
			data := mxRead(t, p)
			data[mxPayloadStart(t, data)+16+1000] ^= 0x01
			mxWrite(t, p, data)
		}, code: exitProblems, file: mxBigSecret, re: `^` + regexp.QuoteMeta(mxBigSecret) + `: corrupted or truncated payload`},
		// 3 a.m.: "…github-app.pem.age: corrupted or truncated payload …": only reading to EOF finds a flip in the last chunk.
		{name: "secret last chunk byte flipped", setup: func(t *testing.T, m *matrixEnv, ws string) {
			p := mxBigFile(t, m, ws)
			data := mxRead(t, p)
			data[len(data)-100] ^= 0x80
			mxWrite(t, p, data)
		}, code: exitProblems, file: mxBigSecret, re: `^` + regexp.QuoteMeta(mxBigSecret) + `: corrupted or truncated payload`},
		// 3 a.m.: "…control-token.age: encrypted with a passphrase, not to a key: re-encrypt it to age1… with agenix -r".
		{name: "secret encrypted with a passphrase", setup: func(t *testing.T, m *matrixEnv, ws string) {
			r, err := age.NewScryptRecipient("correct horse battery staple")
			if err != nil {
				t.Fatal(err)
			}
			r.SetWorkFactor(10)
			mxEncrypt(t, filepath.Join(ws, mxControlToken), []byte(sample.Canary+"scrypt"), r)
		}, code: exitProblems, file: mxControlToken, re: `^` + regexp.QuoteMeta(mxControlToken) + `: encrypted with a passphrase, not to a key: re-encrypt it to age1\w+ with agenix -r`},
		// 3 a.m.: nothing: an ASCII-armored secret is accepted and published as it is.
		{name: "secret armored", mayWrite: []string{"secrets.tar.zst", "manifest.json"}, setup: func(t *testing.T, m *matrixEnv, ws string) {
			var buf bytes.Buffer
			aw := armor.NewWriter(&buf)
			r, err := age.ParseX25519Recipient(m.fx.Recipient)
			if err != nil {
				t.Fatal(err)
			}
			w, err := age.Encrypt(aw, r)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, sample.Canary+"armored")
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := aw.Close(); err != nil {
				t.Fatal(err)
			}
			mxWrite(t, filepath.Join(ws, mxControlToken), buf.Bytes())
		}, code: exitOK, after: func(t *testing.T, m *matrixEnv, r matrixRun) {
			// Every manifest now lists the armored file's bytes.
			sum := sha256.Sum256(mxRead(t, filepath.Join(r.ws, mxControlToken)))
			for _, in := range sample.Instances {
				out, err := m.srv.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(m.bucket), Key: aws.String("bootstrap/" + in + "/manifest.json")})
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(out.Body)
				out.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(data, []byte(hex.EncodeToString(sum[:]))) {
					t.Errorf("the manifest of %s does not list the armored secret:\n%s", in, data)
				}
			}
		}},
		// 3 a.m.: "nix/age-secrets/notes.txt: is not an .age file: only age-encrypted files may sit beside host secrets".
		{name: "secrets dir holds a non-age file", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxWrite(t, filepath.Join(ws, mxSecretsDir, "notes.txt"), []byte(sample.Canary+"notes\n"))
		}, code: exitProblems, file: mxSecretsDir + "/notes.txt", re: `^nix/age-secrets/notes\.txt: is not an \.age file`},
		// 3 a.m.: "nix/age-secrets/clawdinator-extra.age: is a symlink: the secrets directory must hold regular *.age files only".
		{name: "secrets dir holds a symlink", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxSymlink(t, "clawdinator-control-token.age", filepath.Join(ws, mxSecretsDir, "clawdinator-extra.age"))
		}, code: exitProblems, file: mxSecretsDir + "/clawdinator-extra.age", re: `^nix/age-secrets/clawdinator-extra\.age: is a symlink`},
		// 3 a.m.: "nix/age-secrets/old.age: is a directory: the secrets directory must hold regular *.age files only".
		{name: "secrets dir holds a directory", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxMkdir(t, filepath.Join(ws, mxSecretsDir, "old.age"))
		}, code: exitProblems, file: mxSecretsDir + "/old.age", re: `^nix/age-secrets/old\.age: is a directory`},
		// 3 a.m.: "nix/age-secrets/clawdinator-extra.age: empty file (0 bytes): nothing was encrypted".
		{name: "secrets dir holds an empty file", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxWrite(t, filepath.Join(ws, mxSecretsDir, "clawdinator-extra.age"), nil)
		}, code: exitProblems, file: mxSecretsDir + "/clawdinator-extra.age", re: `^nix/age-secrets/clawdinator-extra\.age: empty file \(0 bytes\)`},
		// 3 a.m.: "…control-token.age: not an age file: no age header (plaintext committed by mistake?)".
		{name: "secret is plaintext", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxWrite(t, filepath.Join(ws, mxControlToken), []byte(sample.Canary+"committed in clear\n"))
		}, code: exitProblems, file: mxControlToken, re: `^` + regexp.QuoteMeta(mxControlToken) + `: not an age file: no age header \(plaintext committed by mistake\?\)`},
		// 3 a.m.: "…control-token.age: not an age file: it looks like an unencrypted age identity" (and the key is not echoed).
		{name: "secret is an unencrypted identity", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxWrite(t, filepath.Join(ws, mxControlToken), m.fx.Key)
		}, code: exitProblems, file: mxControlToken, re: `^` + regexp.QuoteMeta(mxControlToken) + `: not an age file: it looks like an unencrypted age identity`},
		// 3 a.m.: "nix/age-secrets/clawdinator-anthropic-api-key.age: required secret is missing from nix/age-secrets".
		{name: "required secret missing", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxRemove(t, filepath.Join(ws, mxSecretsDir, "clawdinator-anthropic-api-key.age"))
		}, code: exitProblems, file: mxSecretsDir + "/clawdinator-anthropic-api-key.age", re: `^nix/age-secrets/clawdinator-anthropic-api-key\.age: required secret is missing from nix/age-secrets`},
		// 3 a.m.: "instance clawdinator-2: …discord-token-2.age: discord token of instance clawdinator-2 is missing".
		{name: "instance token missing", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxRemove(t, filepath.Join(ws, mxSecretsDir, "clawdinator-discord-token-2.age"))
		}, code: exitProblems, file: mxSecretsDir + "/clawdinator-discord-token-2.age", re: `^instance clawdinator-2: nix/age-secrets/clawdinator-discord-token-2\.age: discord token of instance clawdinator-2 is missing`},

		// --- the instances file --------------------------------------------

		// 3 a.m.: "instance clawdinator-2: nix/instances.json: discordTokenSecret "…-1" is also used by instance clawdinator-1".
		{name: "duplicate instance token", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxEditInstances(t, ws, func(in map[string]map[string]any) {
				in["clawdinator-2"]["discordTokenSecret"] = in["clawdinator-1"]["discordTokenSecret"]
			})
		}, code: exitProblems, file: mxInstancesFile, re: `^instance clawdinator-2: nix/instances\.json: discordTokenSecret "clawdinator-discord-token-1" is also used by instance clawdinator-1`},
		// 3 a.m.: the same token by another spelling (case): one file, two instances.
		{name: "instance token in other case", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxEditInstances(t, ws, func(in map[string]map[string]any) {
				in["clawdinator-2"]["discordTokenSecret"] = "CLAWDINATOR-DISCORD-TOKEN-1.age"
			})
		}, code: exitProblems, file: mxInstancesFile, re: `discordTokenSecret "CLAWDINATOR-DISCORD-TOKEN-1(\.age)?" is also used by instance clawdinator-1 .*both name the file`},
		// 3 a.m.: a CI-only secret named as an instance's token would ship to a host.
		{name: "instance token is CI-only", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxEditInstances(t, ws, func(in map[string]map[string]any) {
				in["clawdinator-2"]["discordTokenSecret"] = "clawdinator-image-bucket-name"
			})
		}, code: exitProblems, file: "nix/age-secrets/clawdinator-image-bucket-name.age", re: `^instance clawdinator-2: nix/age-secrets/clawdinator-image-bucket-name\.age: discordTokenSecret "clawdinator-image-bucket-name" of instance clawdinator-2 matches exclude-secrets`},
		// 3 a.m.: a newline in a prefix would have printed workflow commands.
		{name: "prefix with a newline", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxEditInstances(t, ws, func(in map[string]map[string]any) {
				in["clawdinator-2"]["bootstrapPrefix"] = "bootstrap/clawdinator-2\n::warning::owned"
			})
		}, code: exitProblems, file: mxInstancesFile, re: `bootstrapPrefix "bootstrap/clawdinator-2\\n::warning::owned" holds a control`,
			after: func(t *testing.T, m *matrixEnv, r matrixRun) {
				for _, out := range []string{r.stdout, r.stderr, r.summary} {
					for _, l := range strings.Split(out, "\n") {
						if strings.HasPrefix(l, "::warning::owned") {
							t.Errorf("attacker text became a workflow command: %q", l)
						}
					}
				}
			}},
		// 3 a.m.: a prefix under another instance's prefix: its objects would sit among the other's.
		{name: "nested prefix", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxEditInstances(t, ws, func(in map[string]map[string]any) {
				in["clawdinator-2"]["bootstrapPrefix"] = "bootstrap/clawdinator-1/manifest.json"
			})
		}, code: exitProblems, file: mxInstancesFile, re: `bootstrapPrefix "bootstrap/clawdinator-1/manifest\.json" is nested under the prefix "bootstrap/clawdinator-1" of instance clawdinator-1`},
		// 3 a.m.: an instance listed twice; JSON keeps the last without a word.
		{name: "instance listed twice", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxWrite(t, filepath.Join(ws, mxInstancesFile), []byte(`{"clawdinator-1": {"discordTokenSecret": "clawdinator-discord-token-1"}, "clawdinator-1": {"discordTokenSecret": "clawdinator-discord-token-2"}}`))
		}, code: exitProblems, file: mxInstancesFile, re: `instance clawdinator-1: nix/instances\.json: instance is defined 2 times in the instances file`},
		// 3 a.m.: "nix/instances.json: cannot read instances file: no such file or directory": the checkout is missing.
		{name: "instances file missing", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxRemove(t, filepath.Join(ws, mxInstancesFile))
		}, code: exitProblems, file: mxInstancesFile, re: `^nix/instances\.json: cannot read instances file: no such file or directory`},
		// 3 a.m.: "nix/instances.json: invalid JSON: … (at byte 42)".
		{name: "instances file invalid JSON", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxWrite(t, filepath.Join(ws, mxInstancesFile), []byte(`{"clawdinator-1": {"bootstrapPrefix": "bootstrap/clawdinator-1",}}`))
		}, code: exitProblems, file: mxInstancesFile, re: `^nix/instances\.json: invalid JSON: .*\(at byte \d+\)`},
		// 3 a.m.: "nix/instances.json: instances file is empty: expected a JSON object keyed by instance name".
		{name: "instances file empty", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxWrite(t, filepath.Join(ws, mxInstancesFile), []byte("\n"))
		}, code: exitProblems, file: mxInstancesFile, re: `^nix/instances\.json: instances file is empty`},
		// 3 a.m.: "instance clawdinator-2: nix/instances.json: bootstrapPrefix "/bootstrap/clawdinator-2" is absolute".
		{name: "bootstrapPrefix absolute", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxEditInstances(t, ws, func(in map[string]map[string]any) {
				in["clawdinator-2"]["bootstrapPrefix"] = "/bootstrap/clawdinator-2"
			})
		}, code: exitProblems, file: mxInstancesFile, re: `^instance clawdinator-2: nix/instances\.json: bootstrapPrefix "/bootstrap/clawdinator-2" is absolute`},
		// 3 a.m.: "instance clawdinator-2: nix/instances.json: bootstrapPrefix "bootstrap/../clawdinator-1" contains '..'".
		{name: "bootstrapPrefix with dotdot", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxEditInstances(t, ws, func(in map[string]map[string]any) {
				in["clawdinator-2"]["bootstrapPrefix"] = "bootstrap/../clawdinator-1"
			})
		}, code: exitProblems, file: mxInstancesFile, re: `^instance clawdinator-2: nix/instances\.json: bootstrapPrefix "bootstrap/\.\./clawdinator-1" contains '\.\.'`},
		// 3 a.m.: "instance clawdinator-9: not in the instances file": a typo in `instances`.
		{name: "unknown instance selected", with: map[string]string{"instances": "clawdinator-1,clawdinator-9"},
			code: exitProblems, re: `^instance clawdinator-9: not in the instances file`},

		// --- repo-seeds ----------------------------------------------------

		// 3 a.m.: "repo-seeds/openclaw/keys: is a symlink to "../../nix/keys", outside repo-seeds".
		{name: "seeds symlink escapes", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxSymlink(t, "../../nix/keys", filepath.Join(ws, "repo-seeds", "openclaw", "keys"))
		}, code: exitProblems, file: "repo-seeds/openclaw/keys", re: `^repo-seeds/openclaw/keys: is a symlink to "\.\./\.\./nix/keys", outside repo-seeds`},
		// 3 a.m.: "repo-seeds/openclaw/passwd: is a symlink to the absolute path "/etc/passwd"".
		{name: "seeds absolute symlink", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxSymlink(t, "/etc/passwd", filepath.Join(ws, "repo-seeds", "openclaw", "passwd"))
		}, code: exitProblems, file: "repo-seeds/openclaw/passwd", re: `^repo-seeds/openclaw/passwd: is a symlink to the absolute path "/etc/passwd"`},
		// 3 a.m.: "repo-seeds/openclaw/pipe: is a fifo: repo-seeds may hold only files, directories and relative symlinks".
		{name: "seeds fifo", setup: func(t *testing.T, m *matrixEnv, ws string) {
			if err := syscall.Mkfifo(filepath.Join(ws, "repo-seeds", "openclaw", "pipe"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, code: exitProblems, file: "repo-seeds/openclaw/pipe", re: `^repo-seeds/openclaw/pipe: is a fifo`},
		// 3 a.m.: "repo-seeds/openclaw/deploy.key: holds an age identity: repo-seeds must not carry keys".
		{name: "seeds hold an age identity", setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxWrite(t, filepath.Join(ws, "repo-seeds", "openclaw", "deploy.key"), m.fx.Key)
		}, code: exitProblems, file: "repo-seeds/openclaw/deploy.key", re: `^repo-seeds/openclaw/deploy\.key: holds an age identity: repo-seeds must not carry keys`},
		// 3 a.m.: the pattern copied from the error's path, from the repository root: still refused, and warned that it matches nothing, with the pattern that would.
		{name: "seeds key allowed from the repository root", with: map[string]string{"repo-seeds-allow-keys": "repo-seeds/openclaw/deploy.key"}, setup: func(t *testing.T, m *matrixEnv, ws string) {
			mxWrite(t, filepath.Join(ws, "repo-seeds", "openclaw", "deploy.key"), m.fx.Key)
		}, code: exitProblems, file: "repo-seeds/openclaw/deploy.key", re: `^repo-seeds/openclaw/deploy\.key: holds an age identity: .*pass repo-seeds-allow-keys: openclaw/deploy\.key \(this file\)`,
			after: func(t *testing.T, m *matrixEnv, r matrixRun) {
				if !strings.Contains(r.stdout+r.stderr, `repo-seeds-allow-keys: "repo-seeds/openclaw/deploy.key" matches no file in repo-seeds: patterns are paths relative to it: pass "openclaw/deploy.key"`) {
					t.Errorf("no warning that the pattern matches nothing:\n%s\n%s", r.stdout, r.stderr)
				}
			}},
		// 3 a.m.: "repo-seeds/nix-openclaw/tls/server.pem: holds a PEM private key: repo-seeds must not carry keys".
		{name: "seeds hold a PEM private key", setup: func(t *testing.T, m *matrixEnv, ws string) {
			_, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			der, err := x509.MarshalPKCS8PrivateKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			block := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
			mxMkdir(t, filepath.Join(ws, "repo-seeds", "nix-openclaw", "tls"))
			mxWrite(t, filepath.Join(ws, "repo-seeds", "nix-openclaw", "tls", "server.pem"), block)
			pemBody = strings.Split(string(block), "\n")[1]
		}, code: exitProblems, file: "repo-seeds/nix-openclaw/tls/server.pem", re: `^repo-seeds/nix-openclaw/tls/server\.pem: holds a PEM private key: repo-seeds must not carry keys; if it is a cloned project's test fixture, pass repo-seeds-allow-keys: nix-openclaw/tls/server\.pem \(this file\) or nix-openclaw/tls \(its directory\)`,
			after: func(t *testing.T, m *matrixEnv, r matrixRun) {
				checkNoLeak(t, r.actionRun, pemBody)
			}},

		// --- usage and configuration ---------------------------------------

		// 3 a.m.: CLI "unknown command "frobnicate"" with the usage; Action "mode must be publish, verify, assemble or plan, got "frobnicate"".
		{name: "unknown mode", with: map[string]string{"mode": "frobnicate"},
			code: exitUsage, re: `^unknown command "frobnicate"`, actionRe: `^mode must be publish, verify, assemble or plan, got "frobnicate"`},
		// 3 a.m.: "aws-access-key-id and aws-secret-access-key go together" (the CLI takes AWS secrets only from the environment).
		{name: "aws secret without key id", only: "action", with: map[string]string{"aws-access-key-id": ""},
			code: exitUsage, re: `^aws-access-key-id and aws-secret-access-key go together`},

		// 3 a.m.: "s3-bucket takes the bucket's name, not a s3:// URL, got "s3://mybucket": pass "mybucket"", before any request.
		{name: "bucket as a URL", with: map[string]string{"s3-bucket": "s3://mybucket"},
			code: exitUsage, re: `^s3-bucket takes the bucket's name, not a s3:// URL, got "s3://mybucket": pass "mybucket"$`},
		// 3 a.m.: a key prefix in the bucket name would put every object one prefix deeper than hosts look.
		{name: "bucket with a prefix", with: map[string]string{"s3-bucket": "mybucket/bootstrap"},
			code: exitUsage, re: `^s3-bucket takes the bucket's name only, got "mybucket/bootstrap": pass "mybucket"; the key prefix "bootstrap" belongs in each instance's bootstrapPrefix`},
		// 3 a.m.: "s3-bucket "Bad_Bucket!!" holds '!'", not 4 s of retries and exit 3.
		{name: "bucket name with a bad character", with: map[string]string{"s3-bucket": "Bad_Bucket!!"},
			code: exitUsage, re: `^s3-bucket "Bad_Bucket!!" holds '!': a bucket name is letters, digits`},

		// --- S3 ------------------------------------------------------------

		// 3 a.m.: "could not complete: instance clawdinator-1: get s3://no-such-bucket-matrix/…: bucket does not exist".
		{name: "bucket missing", with: map[string]string{"s3-bucket": matrixNoBucket},
			code: exitFailed, re: `check versioning of s3://` + matrixNoBucket + `: bucket does not exist`,
			after: func(t *testing.T, m *matrixEnv, r matrixRun) {
				if _, err := m.srv.Client().HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String(matrixNoBucket)}); err == nil {
					t.Errorf("bucket %s exists after the run", matrixNoBucket)
				}
			}},
		// 3 a.m.: "could not complete: …: access denied (check credentials, …): SignatureDoesNotMatch".
		{name: "wrong credentials", awsSecret: matrixWrongSecret,
			code: exitFailed, re: `check versioning of s3://matrix: access denied \(check credentials, permissions and expected bucket owner\): SignatureDoesNotMatch`},
		// 3 a.m.: "could not complete: …: S3 unreachable (check endpoint, region and network): dial tcp …: connection refused (6 attempts)", within seconds.
		{name: "endpoint unreachable", with: map[string]string{"s3-endpoint": "{closedport}"},
			code: exitFailed, re: `check versioning of s3://matrix: S3 unreachable \(check endpoint, region and network\): dial tcp 127\.0\.0\.1:\d+: connect: connection refused \(\d+ attempts\)$`,
			after: func(t *testing.T, m *matrixEnv, r matrixRun) {
				t.Logf("unreachable endpoint: the run ended after %v", r.took.Round(time.Millisecond))
				if r.took > 45*time.Second {
					t.Errorf("an unreachable endpoint took %v to report", r.took)
				}
			}},
	}
}

// check runs one case on one surface and asserts everything the matrix
// promises.
func (m *matrixEnv) check(t *testing.T, tc matrixCase, ws string, action bool) {
	before := m.list(t)
	r := m.run(t, tc, ws, action)
	after := m.list(t)

	if r.code != tc.code {
		t.Errorf("exit status %d, want %d", r.code, tc.code)
	}

	// (2) The error, once, naming what is at fault.
	wantErrs := 1
	if tc.code == exitOK {
		wantErrs = 0
	}
	re := tc.re
	if action && tc.actionRe != "" {
		re = tc.actionRe
	}
	if action {
		anns := mxAnnotations(r.stdout, "error")
		if len(anns) != wantErrs {
			t.Errorf("%d ::error annotations, want %d:\n%s", len(anns), wantErrs, r.stdout)
		}
		if wantErrs > 0 {
			matched := false
			for _, a := range anns {
				msg := strings.TrimPrefix(a.msg, "could not complete: ")
				if !regexp.MustCompile(re).MatchString(msg) {
					continue
				}
				matched = true
				if a.props["file"] != tc.file {
					t.Errorf("::error annotation has file=%q, want %q: %s", a.props["file"], tc.file, a.line)
				}
			}
			if !matched {
				t.Errorf("no ::error annotation matches %s:\n%s", re, r.stdout)
			}
			for _, a := range anns {
				t.Logf("exit %d, %s", r.code, a.line)
			}
			// The step summary, where people look first, says the same.
			if !strings.Contains(r.summary, "❌") || !regexp.MustCompile("(?m)"+strings.TrimPrefix(re, "^")).MatchString(mxSummaryText(r.summary)) {
				t.Errorf("step summary does not show the failure (%s):\n%s", re, r.summary)
			}
		} else if !strings.Contains(r.summary, "✅") {
			t.Errorf("step summary does not show success:\n%s", r.summary)
		}
	} else {
		var errs []string
		for _, l := range strings.Split(r.stderr, "\n") {
			if strings.HasPrefix(l, "clawdinator-bundle: error: ") {
				errs = append(errs, strings.TrimPrefix(l, "clawdinator-bundle: error: "))
			}
		}
		if len(errs) != wantErrs {
			t.Errorf("%d error lines, want %d:\n%s", len(errs), wantErrs, r.stderr)
		}
		if wantErrs > 0 && !mxAnyMatch(re, errs) {
			t.Errorf("no error line matches %s:\n%s", re, r.stderr)
		}
		for _, e := range errs {
			t.Logf("exit %d, error: %s", r.code, e)
		}
		if r.stdout != "" {
			t.Errorf("stdout without --json:\n%s", r.stdout)
		}
	}

	// (3) Nothing uploaded, not even uploaded and rolled back: a refused
	// run sends no write request at all. An accepted run adds versions of
	// mayWrite objects only, and removes none.
	if tc.code != exitOK && len(r.writes) > 0 {
		t.Errorf("a refused run sent write requests:\n%s", strings.Join(r.writes, "\n"))
	}
	if len(tc.mayWrite) == 0 {
		if after != before {
			t.Errorf("the bucket changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	} else {
		mxCheckAdded(t, before, after, tc.mayWrite)
	}

	// (4) No secret anywhere.
	secrets := append([]string{m.keyLine, m.srv.SecretKey, matrixWrongSecret}, tc.secrets...)
	checkNoLeak(t, r.actionRun, secrets...)

	if tc.after != nil {
		tc.after(t, m, r)
	}
	if t.Failed() {
		t.Logf("%s run:\n%v", map[bool]string{false: "CLI", true: "Action"}[action], r)
	}
}

// mxCheckAdded requires that after holds every version of before, and that
// each new version or delete marker is of an object named in names.
func mxCheckAdded(t *testing.T, before, after string, names []string) {
	t.Helper()
	drop := regexp.MustCompile(` latest=\w+$`)
	have := map[string]bool{}
	for _, l := range strings.Split(after, "\n") {
		have[drop.ReplaceAllString(l, "")] = true
	}
	old := map[string]bool{}
	for _, l := range strings.Split(before, "\n") {
		l = drop.ReplaceAllString(l, "")
		old[l] = true
		if !have[l] {
			t.Errorf("a version is gone from the bucket: %s", l)
		}
	}
	for l := range have {
		if old[l] {
			continue
		}
		ok := false
		for _, n := range names {
			if strings.Contains(l, "/"+n+" ") {
				ok = true
			}
		}
		if !ok || strings.HasPrefix(l, "delete marker") {
			t.Errorf("unexpected new version in the bucket: %s", l)
		}
	}
}

func mxAnyMatch(re string, lines []string) bool {
	for _, l := range lines {
		if regexp.MustCompile(re).MatchString(l) {
			return true
		}
	}
	return false
}

// run runs the built binary for tc in workspace ws: as the CLI
// (`publish` and flags, the key in a file or CLAWDINATOR_AGE_KEY) or as
// the Action (no arguments, INPUT_* for every input as the runner passes
// them). The run must end within matrixDeadline and leave TMPDIR empty.
func (m *matrixEnv) run(t *testing.T, tc matrixCase, ws string, action bool) matrixRun {
	t.Helper()
	dir := t.TempDir()
	key := string(m.fx.Key)
	keyFile := "nix/keys/clawdinator.agekey"
	if tc.key != nil {
		key = tc.key(m)
		keyFile = filepath.Join(dir, "key.txt")
		mxWrite(t, keyFile, []byte(key))
	}
	if tc.keyFile != "" {
		keyFile = tc.keyFile
	}
	secret := m.srv.SecretKey
	if tc.awsSecret != "" {
		secret = tc.awsSecret
	}
	// Every request passes through a proxy that records the writes.
	var mu sync.Mutex
	var writes []string
	proxy, err := faultproxy.Start(m.srv.Endpoint, faultproxy.Config{Rules: []faultproxy.Rule{{Match: func(r *http.Request) bool {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			mu.Lock()
			writes = append(writes, r.Method+" "+r.URL.RequestURI())
			mu.Unlock()
		}
		return false
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	with := map[string]string{
		"s3-bucket":   m.bucket,
		"s3-endpoint": proxy.URL,
	}
	for k, v := range tc.with {
		if v == "{closedport}" {
			v = mxClosedPort(t)
		}
		with[k] = v
	}

	env := []string{"CLAWDINATOR_PROGRESS=0"}
	var args []string
	if action {
		inputs := map[string]string{
			"mode": "publish", "age-key": key,
			"aws-region": m.srv.Region, "aws-access-key-id": m.srv.AccessKey, "aws-secret-access-key": secret,
		}
		for k, v := range with {
			inputs[k] = v
		}
		env = append(env, actionEnv(ws, inputs)...)
	} else {
		env = append(env,
			"AWS_ACCESS_KEY_ID="+m.srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_REGION="+m.srv.Region,
		)
		cmd := "publish"
		if v, ok := with["mode"]; ok {
			cmd = v
			delete(with, "mode")
		}
		if cmd == "assemble" { // no bucket
			delete(with, "s3-bucket")
			delete(with, "s3-endpoint")
		}
		args = append(args, cmd)
		if tc.keyEnv {
			env = append(env, "CLAWDINATOR_AGE_KEY="+key)
		} else if _, ok := with["age-key-file"]; !ok {
			args = append(args, "--age-key-file", keyFile)
		}
		names := make([]string, 0, len(with))
		for k := range with {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			args = append(args, "--"+k+"="+with[k])
		}
	}

	br := runBinary(t, binOpts{dir: ws, args: args, env: env, deadline: matrixDeadline})
	mu.Lock()
	r := matrixRun{actionRun: br, ws: ws, writes: append([]string(nil), writes...)}
	mu.Unlock()
	if left, _ := os.ReadDir(br.tmp); len(left) > 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("the run left files in TMPDIR: %s", strings.Join(names, ", "))
	}
	return r
}

// list returns every version and delete marker in the bucket, one line
// each, sorted.
func (m *matrixEnv) list(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var lines []string
	p := s3.NewListObjectVersionsPaginator(m.srv.Client(), &s3.ListObjectVersionsInput{Bucket: aws.String(m.bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list object versions: %v", err)
		}
		for _, v := range page.Versions {
			lines = append(lines, fmt.Sprintf("%s %s %s %d latest=%v", aws.ToString(v.Key), aws.ToString(v.VersionId), aws.ToString(v.ETag), aws.ToInt64(v.Size), aws.ToBool(v.IsLatest)))
		}
		for _, d := range page.DeleteMarkers {
			lines = append(lines, fmt.Sprintf("delete marker %s %s latest=%v", aws.ToString(d.Key), aws.ToString(d.VersionId), aws.ToBool(d.IsLatest)))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// mxAnnotation is one workflow command line such as
// "::error file=a,title=b::message".
type mxAnnotation struct {
	line  string
	props map[string]string
	msg   string
}

// mxAnnotations returns the stdout lines that are ::kind commands, with
// their properties and message unescaped.
func mxAnnotations(stdout, kind string) []mxAnnotation {
	unprop := strings.NewReplacer("%25", "%", "%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",")
	undata := strings.NewReplacer("%25", "%", "%0D", "\r", "%0A", "\n")
	var out []mxAnnotation
	for _, l := range strings.Split(stdout, "\n") {
		rest, ok := strings.CutPrefix(l, "::"+kind)
		if !ok || !(strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "::")) {
			continue
		}
		a := mxAnnotation{line: l, props: map[string]string{}}
		head, msg, _ := strings.Cut(rest, "::")
		a.msg = undata.Replace(msg)
		for _, kv := range strings.Split(strings.TrimSpace(head), ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				a.props[k] = unprop.Replace(v)
			}
		}
		out = append(out, a)
	}
	return out
}

// mxChunk is the size of an age payload chunk with its tag.
const mxChunk = 64*1024 + 16

// mxBigFile replaces mxBigSecret with a plaintext of four chunks (the last one
// short), encrypted to the workspace key, and returns its path.
func mxBigFile(t *testing.T, m *matrixEnv, ws string) string {
	t.Helper()
	plain := append([]byte(sample.Canary+"github-app.pem\n"), bytes.Repeat([]byte("-----PEM-LINE-----\n"), 200*1024/19)...)
	r, err := age.ParseX25519Recipient(m.fx.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(ws, mxBigSecret)
	mxEncrypt(t, p, plain, r)
	if n := len(mxRead(t, p)); n < 3*mxChunk {
		t.Fatalf("big secret is %d bytes, want several chunks", n)
	}
	return p
}

// mxPayloadStart returns the offset of the payload (its 16-byte nonce) in
// a binary age file.
func mxPayloadStart(t *testing.T, data []byte) int {
	t.Helper()
	i := bytes.Index(data, []byte("\n--- "))
	if i < 0 {
		t.Fatal("no header end")
	}
	j := bytes.IndexByte(data[i+1:], '\n')
	return i + 1 + j + 1
}

// mxFlipBase64 replaces the base64 character at i by another one.
func mxFlipBase64(data []byte, i int) []byte {
	out := append([]byte(nil), data...)
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

func mxEncrypt(t *testing.T, path string, plaintext []byte, r age.Recipient) {
	t.Helper()
	if err := sample.Encrypt(path, plaintext, r); err != nil {
		t.Fatal(err)
	}
}

// mxEditInstances rewrites the workspace's instances file.
func mxEditInstances(t *testing.T, ws string, edit func(map[string]map[string]any)) {
	t.Helper()
	p := filepath.Join(ws, mxInstancesFile)
	var in map[string]map[string]any
	if err := json.Unmarshal(mxRead(t, p), &in); err != nil {
		t.Fatal(err)
	}
	edit(in)
	data, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	mxWrite(t, p, data)
}

// mxClosedPort returns an http:// URL on 127.0.0.1 where nothing listens.
func mxClosedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// mxCopyTree copies a directory tree with modes and symlinks.
func mxCopyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch mode := fi.Mode(); {
		case mode.IsDir():
			return os.MkdirAll(target, mode.Perm())
		case mode&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case mode.IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(target, data, mode.Perm()); err != nil {
				return err
			}
			return os.Chmod(target, mode.Perm())
		default:
			return fmt.Errorf("mxCopyTree: %s: unexpected mode %v", p, mode)
		}
	})
}

func mxRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mxWrite(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mxMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mxRemove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func mxSymlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// mxSummaryText reads a step summary as its reader sees it: Markdown
// backslash escapes and HTML entities resolved.
func mxSummaryText(md string) string {
	return html.UnescapeString(regexp.MustCompile(`\\([\\`+"`"+`*_\[\]|~])`).ReplaceAllString(md, "$1"))
}
