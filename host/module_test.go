package host

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// need returns the path of a tool the test runs. A missing tool skips the
// test, or fails it when CI is "true": CI never skips silently.
func need(t testing.TB, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("%s not found (%s)", name, hint)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// unit is a unit's directives: section, key, then every value given, in
// order. Dependency lists are split into names and sorted.
type unit map[string]map[string][]string

var listKeys = map[string]bool{"After": true, "Before": true, "Wants": true, "Requires": true, "WantedBy": true}

func (u unit) add(section, key, value string) {
	if u[section] == nil {
		u[section] = map[string][]string{}
	}
	if listKeys[key] {
		u[section][key] = append(u[section][key], strings.Fields(value)...)
		sort.Strings(u[section][key])
		return
	}
	u[section][key] = append(u[section][key], value)
}

// parseUnit reads a unit file: sections, Key=Value lines, comments. It
// refuses what it does not handle (continuation lines), rather than
// comparing something else than systemd reads.
func parseUnit(t testing.TB, path string) unit {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u, section := unit{}, ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case strings.HasSuffix(line, `\`):
			t.Fatalf("%s:%d: continuation lines are not handled here", path, n)
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a directive: %q", path, n, line)
			}
			u.add(section, strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return u
}

// evalModule evaluates host/nixos/module.nix with the options in set (a Nix
// attribute set) through testdata/eval-module.nix.
func evalModule(t testing.TB, set string, metadata bool) map[string]any {
	t.Helper()
	nix := need(t, "nix-instantiate", "apt-get install nix-bin; scripts/ci/install.sh")
	cmd := exec.Command(nix, "--eval", "--strict", "--json", "testdata/eval-module.nix",
		"--arg", "set", set, "--arg", "metadata", fmt.Sprint(metadata))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-instantiate: %v\n%s", err, stderr.String())
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// value renders a Nix value as NixOS writes it into a unit.
func value(v any) []string {
	switch v := v.(type) {
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, value(e)...)
		}
		return out
	case bool:
		return []string{fmt.Sprint(v)}
	case float64:
		return []string{fmt.Sprint(v)}
	default:
		return []string{fmt.Sprint(v)}
	}
}

// nixUnit turns one systemd.services.X or systemd.timers.X of the module
// into directives, as NixOS writes them; an attribute it does not know
// fails the test.
func nixUnit(t testing.TB, name string, def map[string]any) unit {
	t.Helper()
	u := unit{}
	sections := map[string]string{"unitConfig": "Unit", "serviceConfig": "Service", "timerConfig": "Timer"}
	deps := map[string]string{"after": "After", "before": "Before", "wants": "Wants", "requires": "Requires"}
	for k, v := range def {
		switch {
		case k == "description":
			u.add("Unit", "Description", v.(string))
		case deps[k] != "":
			for _, s := range value(v) {
				u.add("Unit", deps[k], s)
			}
		case k == "wantedBy":
			for _, s := range value(v) {
				u.add("Install", "WantedBy", s)
			}
		case k == "restartIfChanged":
			if v == false {
				u.add("Service", "X-RestartIfChanged", "false")
			}
		case sections[k] != "":
			for dk, dv := range v.(map[string]any) {
				for _, s := range value(dv) {
					u.add(sections[k], dk, s)
				}
			}
		default:
			t.Errorf("%s: the module sets %q, which this test does not map to directives", name, k)
		}
	}
	return u
}

const defaults = `{ enable = true; package = "/usr/local"; bucket = "BUCKET"; prefix = "bootstrap/clawdinator-1"; }`

// TestModuleMatchesUnits: the NixOS module declares the units of systemd/,
// the ones the systemd test boots, directive for directive (with the
// release binary at /usr/local/bin, and a fetch-ec2-metadata unit defined,
// as on the fleet's images), and no other unit.
func TestModuleMatchesUnits(t *testing.T) {
	cfg := evalModule(t, defaults, true)
	sd := cfg["systemd"].(map[string]any)
	files, err := filepath.Glob("systemd/*.service")
	if err != nil {
		t.Fatal(err)
	}
	timers, _ := filepath.Glob("systemd/*.timer")
	files = append(files, timers...)
	if len(files) != 3 {
		t.Fatalf("units in systemd/: %v", files)
	}
	seen := 0
	for _, f := range files {
		base := filepath.Base(f)
		name, kind := strings.TrimSuffix(base, filepath.Ext(base)), "services"
		if filepath.Ext(base) == ".timer" {
			kind = "timers"
		}
		def, ok := sd[kind].(map[string]any)[name].(map[string]any)
		if !ok {
			t.Errorf("%s: the module declares no systemd.%s.%s", f, kind, name)
			continue
		}
		seen++
		want, got := parseUnit(t, f), nixUnit(t, base, def)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs from the module's systemd.%s.%s:\nfile:   %v\nmodule: %v", f, kind, name, want, got)
		}
	}
	if n := len(sd["services"].(map[string]any)) + len(sd["timers"].(map[string]any)); n != seen {
		t.Errorf("the module declares %d units, systemd/ holds %d of them", n, seen)
	}
}

// TestModuleWithoutMetadata: without a fetch-ec2-metadata unit, the
// bootstrap unit neither orders after nor wants it, as in the fleet's module.
func TestModuleWithoutMetadata(t *testing.T) {
	sd := evalModule(t, defaults, false)["systemd"].(map[string]any)
	u := nixUnit(t, "clawdinator-bootstrap", sd["services"].(map[string]any)["clawdinator-bootstrap"].(map[string]any))
	want := []string{"network-online.target"}
	if !reflect.DeepEqual(u["Unit"]["After"], want) || !reflect.DeepEqual(u["Unit"]["Wants"], want) {
		t.Errorf("After=%v Wants=%v, want %v for both", u["Unit"]["After"], u["Unit"]["Wants"], want)
	}
}

func etc(t testing.TB, cfg map[string]any, name string) (string, bool) {
	t.Helper()
	e, ok := cfg["environment"].(map[string]any)["etc"].(map[string]any)[name].(map[string]any)
	if !ok {
		return "", false
	}
	return e["text"].(string), true
}

// TestModuleEnvFile: the module writes systemd/bundle.env from its
// defaults; options reach their lines, quoted as systemd reads them; the
// pin file is written only when the recipient is given.
func TestModuleEnvFile(t *testing.T) {
	want, err := os.ReadFile("systemd/bundle.env")
	if err != nil {
		t.Fatal(err)
	}
	cfg := evalModule(t, defaults, true)
	if got, _ := etc(t, cfg, "clawdinator/bundle.env"); got != string(want) {
		t.Errorf("module's bundle.env:\n%s\nsystemd/bundle.env:\n%s", got, want)
	}
	if got, ok := etc(t, cfg, "clawdinator/fleet-recipient"); ok {
		t.Errorf("fleet-recipient written without expectedRecipient: %q", got)
	}

	cfg = evalModule(t, `{ enable = true; package = "/p"; bucket = "b\"$x"; prefix = "bootstrap/clawdinator-2";
		region = "us-east-1"; secretsDir = "/s"; repoSeedsDir = "/r"; ageKeyPath = "/k"; secretsArchive = "sa"; repoSeedsArchive = "ra";
		expectedRecipient = "age1example"; expectedRecipientFile = "/pin"; extraFlags = [ "--s3-endpoint" "http://127.0.0.1:9000" ];
		decryptUnit = "d.service"; restartUnits = [ "a.service" "b.service" ]; refreshInterval = "1h"; }`, true)
	env, _ := etc(t, cfg, "clawdinator/bundle.env")
	for _, line := range []string{
		`CLAWDINATOR_BUCKET="b\"\$x"`, `CLAWDINATOR_PREFIX="bootstrap/clawdinator-2"`, `AWS_REGION="us-east-1"`,
		`CLAWDINATOR_SECRETS_DIR="/s"`, `CLAWDINATOR_SEEDS_DIR="/r"`, `CLAWDINATOR_KEY_PATH="/k"`,
		`CLAWDINATOR_SECRETS_ARCHIVE="sa"`, `CLAWDINATOR_SEEDS_ARCHIVE="ra"`, `CLAWDINATOR_RECIPIENT_FILE="/pin"`,
		`CLAWDINATOR_BUNDLE_FLAGS="--s3-endpoint http://127.0.0.1:9000"`,
		`CLAWDINATOR_DECRYPT_UNIT="d.service"`, `CLAWDINATOR_RESTART_UNITS="a.service b.service"`,
	} {
		if !strings.Contains(env, "\n"+line+"\n") {
			t.Errorf("bundle.env lacks the line %s:\n%s", line, env)
		}
	}
	if got, _ := etc(t, cfg, "clawdinator/fleet-recipient"); got != "age1example\n" {
		t.Errorf("fleet-recipient = %q", got)
	}
	timer := cfg["systemd"].(map[string]any)["timers"].(map[string]any)["clawdinator-bundle-refresh"].(map[string]any)["timerConfig"].(map[string]any)
	if timer["OnBootSec"] != "1h" || timer["OnUnitActiveSec"] != "1h" {
		t.Errorf("refreshInterval did not reach the timer: %v", timer)
	}
	exec := cfg["systemd"].(map[string]any)["services"].(map[string]any)["clawdinator-bootstrap"].(map[string]any)["serviceConfig"].(map[string]any)["ExecStart"].(string)
	if !strings.HasPrefix(exec, "/p/bin/clawdinator-bundle install ") {
		t.Errorf("package did not reach ExecStart: %s", exec)
	}

	if cfg := evalModule(t, `{ bucket = "b"; prefix = "p"; }`, true); len(cfg) != 0 {
		t.Errorf("disabled, the module still sets %v", cfg)
	}
}

// TestNixParses: every .nix file of the repository parses.
func TestNixParses(t *testing.T) {
	nix := need(t, "nix-instantiate", "apt-get install nix-bin; scripts/ci/install.sh")
	var files []string
	err := filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".nix") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		if out, err := exec.Command(nix, "--parse", f).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", f, err, out)
		}
	}
}
