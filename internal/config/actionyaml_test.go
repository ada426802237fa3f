package config

import (
	"strings"
	"testing"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// A release commit's action.yml differs from main's in the image line and
// the generator's command in the header, nothing else.
func TestActionYAMLImageForms(t *testing.T) {
	ref := "docker://ghcr.io/openclaw/clawdinator-bundle@" + digest
	rel, err := ActionYAMLImage(ref)
	if err != nil {
		t.Fatal(err)
	}
	main := ActionYAML()
	if !strings.HasSuffix(main, "\n  image: Dockerfile\n") {
		t.Fatalf("main's action.yml does not end with image: Dockerfile:\n%s", main)
	}
	if !strings.HasSuffix(rel, "\n  image: "+ref+"\n") {
		t.Fatalf("release action.yml does not end with the image by digest:\n%s", rel)
	}
	if !strings.HasPrefix(rel, `# Generated from internal/config/config.go by "go run ./internal/config/gen -image `+ref+`"`) {
		t.Errorf("release header does not name the command that wrote it:\n%s", strings.SplitN(rel, "\n", 2)[0])
	}
	mainLines, relLines := strings.Split(main, "\n"), strings.Split(rel, "\n")
	if len(mainLines) != len(relLines) {
		t.Fatalf("%d lines on main, %d on a release commit", len(mainLines), len(relLines))
	}
	var differ []int
	for i := range mainLines {
		if mainLines[i] != relLines[i] {
			differ = append(differ, i)
		}
	}
	if len(differ) != 2 || differ[0] != 0 || differ[1] != len(mainLines)-2 {
		t.Errorf("lines that differ: %v, want the header and the image line only", differ)
	}
}

func TestCheckImage(t *testing.T) {
	for _, ok := range []string{
		"Dockerfile",
		"docker://ghcr.io/openclaw/clawdinator-bundle@" + digest,
		"docker://127.0.0.1:5000/clawdinator-bundle@" + digest, // the rehearsal's local registry
		"docker://registry.example.com/a/b_c/d--e@" + digest,
	} {
		if err := CheckImage(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for name, bad := range map[string]string{
		"empty":             "",
		"other dockerfile":  "Dockerfile.dev",
		"tag":               "docker://ghcr.io/openclaw/clawdinator-bundle:v1",
		"tag and digest":    "docker://ghcr.io/openclaw/clawdinator-bundle:v1@" + digest,
		"no scheme":         "ghcr.io/openclaw/clawdinator-bundle@" + digest,
		"no repository":     "docker://ghcr.io@" + digest,
		"short digest":      "docker://ghcr.io/openclaw/clawdinator-bundle@" + digest[:70],
		"long digest":       "docker://ghcr.io/openclaw/clawdinator-bundle@" + digest + "0",
		"uppercase digest":  "docker://ghcr.io/openclaw/clawdinator-bundle@" + strings.ToUpper(digest),
		"sha512":            "docker://ghcr.io/openclaw/clawdinator-bundle@sha512:" + digest[7:],
		"uppercase repo":    "docker://ghcr.io/openclaw/Clawdinator@" + digest,
		"newline":           "docker://ghcr.io/openclaw/clawdinator-bundle@" + digest + "\nname: x",
		"yaml injection":    "docker://ghcr.io/openclaw/x\"y@" + digest,
		"trailing space":    "docker://ghcr.io/openclaw/clawdinator-bundle@" + digest + " ",
		"empty path part":   "docker://ghcr.io//clawdinator-bundle@" + digest,
		"leading separator": "docker://ghcr.io/-x@" + digest,
	} {
		t.Run(name, func(t *testing.T) {
			err := CheckImage(bad)
			if err == nil {
				t.Fatalf("%q accepted", bad)
			}
			if _, gerr := ActionYAMLImage(bad); gerr == nil {
				t.Fatalf("ActionYAMLImage(%q) rendered", bad)
			}
		})
	}
}
