package main

import (
	"os"
	"strings"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/config"
)

const ref = "docker://ghcr.io/openclaw/clawdinator-bundle@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// gen writes action.yml, in the working directory, from the table: with
// the Dockerfile by default, with the image by digest when given one.
func TestGenWritesActionYAML(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		image string
	}{
		{nil, config.DockerfileImage},
		{[]string{"-image", ref}, ref},
	} {
		t.Run(tc.image, func(t *testing.T) {
			t.Chdir(t.TempDir())
			var stderr strings.Builder
			if code := run(tc.args, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			data, err := os.ReadFile("action.yml")
			if err != nil {
				t.Fatal(err)
			}
			want, err := config.ActionYAMLImage(tc.image)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != want {
				t.Fatalf("action.yml written differs from config.ActionYAMLImage(%q)", tc.image)
			}
		})
	}
}

// A tag instead of a digest writes nothing.
func TestGenRefusesATag(t *testing.T) {
	t.Chdir(t.TempDir())
	var stderr strings.Builder
	if code := run([]string{"-image", "docker://ghcr.io/openclaw/clawdinator-bundle:v1"}, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "a digest, no tag") {
		t.Errorf("stderr: %s", stderr.String())
	}
	if _, err := os.Stat("action.yml"); !os.IsNotExist(err) {
		t.Fatalf("action.yml written (%v)", err)
	}
}
