package host

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeNixIsParsed: every ```nix block of README.md and docs/ is lines
// of a file of nixos/, which TestNixParses parses and, for module.nix,
// TestModuleMatchesUnits evaluates: no untested Nix in the docs.
func TestReadmeNixIsParsed(t *testing.T) {
	files, _ := filepath.Glob("nixos/*.nix")
	var sources []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, string(b))
	}
	docs, _ := filepath.Glob("../docs/*.md")
	blocks := 0
	for _, d := range append([]string{"../README.md"}, docs...) {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile("(?s)```nix\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
			blocks++
			found := false
			for _, src := range sources {
				if strings.HasPrefix(src, m[1]) || strings.Contains(src, "\n"+m[1]) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: a nix block is not lines of host/nixos/*.nix:\n%s", d, m[1])
			}
		}
	}
	if blocks == 0 {
		t.Error("README.md has no nix block")
	}
}
