package config

import (
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// action.yml is the public contract; the option table is what the code
// reads. They must never drift apart.
func TestActionYAMLMatchesTable(t *testing.T) {
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	// main holds `image: Dockerfile`, a release commit the image by digest:
	// either way the rest must be the table's.
	image := DockerfileImage
	if m := regexp.MustCompile(`(?m)^  image: (.*)$`).FindStringSubmatch(string(data)); m != nil {
		image = m[1]
	}
	want, err := ActionYAMLImage(image)
	if err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	if got := string(data); got != want {
		t.Fatalf("action.yml is out of date with internal/config: run `go run ./internal/config/gen` (-image on a release commit)\n--- action.yml\n%s\n--- table\n%s", got, want)
	}
	// The names docs/action.md fixes as public API.
	for _, name := range []string{"mode", "age-key", "secrets-dir", "repo-seeds-dir", "instances-file", "instances",
		"required-secrets", "exclude-secrets", "s3-bucket", "aws-region", "aws-access-key-id", "aws-secret-access-key",
		"aws-session-token", "s3-endpoint", "expected-recipient", "sse", "sse-kms-key-id", "expected-bucket-owner",
		"deep-verify", "output-dir"} {
		if !strings.Contains(string(data), "\n  "+name+":\n") {
			t.Errorf("action.yml lacks input %s", name)
		}
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromInputsDashesKept(t *testing.T) {
	c, err := FromInputs(env(map[string]string{
		"INPUT_MODE": "publish", "INPUT_AGE-KEY": "AGE-SECRET-KEY-1X", "INPUT_S3-BUCKET": "b",
		"INPUT_INSTANCES": "a, b\nc", "INPUT_DEEP-VERIFY": "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Bucket != "b" || string(c.AgeKey) != "AGE-SECRET-KEY-1X" || !c.DeepVerify || strings.Join(c.Instances, "|") != "a|b|c" {
		t.Fatalf("inputs read wrong: %+v", c)
	}
	if c.SecretsDir != "nix/age-secrets" || c.SSE != "AES256" || len(c.Required) != 8 || c.Exclude[0] != "clawdinator-image-*.age" {
		t.Fatalf("defaults wrong: %+v", c)
	}
}

func TestValidation(t *testing.T) {
	for name, tc := range map[string]struct {
		in   map[string]string
		want string
	}{
		// What spans options of the bucket (sse, credentials, endpoint) is
		// checked once, by bucket.New: internal/bucket and cmd/ test it.
		"bad mode":        {map[string]string{"INPUT_MODE": "push"}, "mode must be"},
		"publish no key":  {map[string]string{"INPUT_S3-BUCKET": "b"}, "age-key is required for publish (CLI: --age-key-file or CLAWDINATOR_AGE_KEY)"},
		"publish no bkt":  {map[string]string{"INPUT_AGE-KEY": "k"}, "s3-bucket is required for publish"},
		"bad recipient":   {map[string]string{"INPUT_MODE": "verify", "INPUT_S3-BUCKET": "b", "INPUT_EXPECTED-RECIPIENT": "age1nope"}, "not an age recipient"},
		"bad deep-verify": {map[string]string{"INPUT_MODE": "verify", "INPUT_S3-BUCKET": "b", "INPUT_DEEP-VERIFY": "yes"}, "deep-verify must be"},
		"bad glob":        {map[string]string{"INPUT_AGE-KEY": "k", "INPUT_S3-BUCKET": "b", "INPUT_EXCLUDE-SECRETS": "[x"}, "bad glob"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := FromInputs(env(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
			if _, ok := err.(*UsageError); !ok {
				t.Fatalf("error is %T, want *UsageError", err)
			}
		})
	}
}

func TestFromArgsKeyNeverAFlag(t *testing.T) {
	var sb strings.Builder
	if _, err := FromArgs(Publish, []string{"--age-key", "AGE-SECRET-KEY-1X", "--s3-bucket", "b"}, env(nil), &sb); err == nil {
		t.Fatal("--age-key accepted on the command line, where the process list shows it")
	}
	c, err := FromArgs(Publish, []string{"--s3-bucket", "b"}, env(map[string]string{"CLAWDINATOR_AGE_KEY": "AGE-SECRET-KEY-1X"}), &sb)
	if err != nil || string(c.AgeKey) != "AGE-SECRET-KEY-1X" {
		t.Fatalf("CLAWDINATOR_AGE_KEY not read: %v", err)
	}
}

// An identity pasted where the recipient belongs is refused without being
// echoed, by the CLI and the Action alike.
func TestExpectedRecipientIdentityNotEchoed(t *testing.T) {
	const id = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
	_, err := FromArgs(Verify, []string{"--s3-bucket", "b", "--expected-recipient", id}, env(nil), io.Discard)
	if err == nil || strings.Contains(err.Error(), "QQQQ") || !strings.Contains(err.Error(), "holds an age identity") {
		t.Errorf("CLI: %v", err)
	}
	_, err = FromInputs(env(map[string]string{"INPUT_MODE": "verify", "INPUT_S3-BUCKET": "b", "INPUT_EXPECTED-RECIPIENT": strings.ToLower(id)}))
	if err == nil || strings.Contains(strings.ToUpper(err.Error()), "QQQQ") || !strings.Contains(err.Error(), "holds an age identity") {
		t.Errorf("Action: %v", err)
	}
	_, err = FromArgs(Verify, []string{"--s3-bucket", "b", "--expected-recipient", "age1nope"}, env(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"age1nope" is not an age recipient`) {
		t.Errorf("a mistyped recipient is named: %v", err)
	}
}

// The tables in docs/ are the table's: the inputs and outputs of the
// Action (outputs with whether each value is proven), the exit statuses of
// every command, and every command's --help.
func TestDocsMatchTable(t *testing.T) {
	want := map[string][]string{
		"docs/action.md":      {"inputs", "outputs"},
		"docs/exit-status.md": {"exit-statuses"},
		"docs/cli.md":         {"commands"},
	}
	for _, p := range DocFiles {
		data, err := os.ReadFile("../../" + p)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range want[p] {
			if !strings.Contains(string(data), docBegin+name+" -->\n") {
				t.Errorf("%s lacks the generated section %s", p, name)
			}
		}
		filled, err := FillDoc(string(data))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if filled != string(data) {
			t.Errorf("%s is out of date with internal/config: run `go run ./internal/config/gen`", p)
		}
	}
	if len(DocFiles) != len(want) {
		t.Errorf("DocFiles %v, want the %d documents above", DocFiles, len(want))
	}
}

// FillDoc refuses a section it does not know, and leaves the rest alone.
func TestFillDoc(t *testing.T) {
	doc := "before\n" + docBegin + "exit-statuses -->\nstale\n" + docEnd + "\nafter\n"
	got, err := FillDoc(doc)
	if err != nil || !strings.HasPrefix(got, "before\n"+docBegin+"exit-statuses -->\n| status |") || !strings.HasSuffix(got, docEnd+"\nafter\n") || strings.Contains(got, "stale") {
		t.Fatalf("FillDoc: %v\n%s", err, got)
	}
	if _, err := FillDoc(docBegin + "nonsense -->\n" + docEnd); err == nil {
		t.Error("an unknown section was accepted")
	}
}

// verify requires a pin: an empty expected-recipient (an unset workflow
// variable gives one) is a usage error on the CLI and in the Action alike;
// the exact value none says, on purpose, that verify runs unpinned, and
// only verify takes it.
func TestVerifyRequiresAPin(t *testing.T) {
	const want = "expected-recipient is required for verify: the age1... recipient of the fleet key (age-keygen -y), or none to verify without a pin"
	for name, b := range map[string]func(pin string) error{
		"cli": func(pin string) error {
			var c Config
			args := []string{"--s3-bucket", "b"}
			if pin != "-" {
				args = append(args, "--expected-recipient", pin)
			}
			_, _, err := ParseArgs(context.Background(), Verify, args, env(nil), c.bind(Verify), io.Discard)
			return err
		},
		"action": func(pin string) error {
			var c Config
			e := map[string]string{"INPUT_MODE": "verify", "INPUT_S3-BUCKET": "b"}
			if pin != "-" {
				e["INPUT_EXPECTED-RECIPIENT"] = pin
			}
			_, err := ReadInputs(Verify, env(e), c.bind(Verify))
			return err
		},
	} {
		for _, pin := range []string{"-", "", "  "} {
			if err := b(pin); err == nil || err.Error() != want {
				t.Errorf("%s, pin %q: %v, want %q", name, pin, err, want)
			}
		}
		if err := b(None); err != nil {
			t.Errorf("%s, pin none: %v", name, err)
		}
	}
	// Elsewhere none is no recipient, and no pin is needed.
	for _, mode := range []string{Publish, Assemble} {
		c := Config{}
		_, _, err := ParseArgs(context.Background(), mode, []string{"--expected-recipient", None}, env(map[string]string{"CLAWDINATOR_AGE_KEY": testKey}), c.bind(mode), io.Discard)
		if err == nil || !strings.Contains(err.Error(), `"none" is not an age recipient`) {
			t.Errorf("%s --expected-recipient none: %v", mode, err)
		}
		var args []string
		if mode == Publish {
			args = []string{"--s3-bucket", "b"}
		}
		if _, _, err := ParseArgs(context.Background(), mode, args, env(map[string]string{"CLAWDINATOR_AGE_KEY": testKey}), c.bind(mode), io.Discard); err != nil {
			t.Errorf("%s without a pin: %v", mode, err)
		}
	}
}
