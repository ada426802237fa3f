//go:build linux

package containertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeYAMLIsLinted holds every ```yaml block of README.md equal to
// consecutive lines of a workflow file that scripts/ci/lint-workflows.sh
// checks against action.yml: examples/*.yml, or testdata/act/*.yml (which
// act also runs). A snippet edited in the README alone fails here.
func TestReadmeYAMLIsLinted(t *testing.T) {
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := yamlBlocks(string(readme))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```yaml block")
	}
	var files []string
	for _, pattern := range []string{"examples/*.yml", "testdata/act/*.yml"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	workflows := map[string][]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		workflows[rel] = strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	}
	for _, b := range blocks {
		found := ""
		for name, lines := range workflows {
			if containsRun(lines, b.lines) {
				found = name
				break
			}
		}
		if found == "" {
			t.Errorf("README.md:%d: this ```yaml block is in none of examples/*.yml, testdata/act/*.yml (as consecutive lines), so nothing lints it:\n%s",
				b.line, strings.Join(b.lines, "\n"))
		} else {
			t.Logf("README.md:%d: block of %d lines is in %s", b.line, len(b.lines), found)
		}
	}
}

type block struct {
	line  int // 1-based line of the opening fence
	lines []string
}

// yamlBlocks returns the ```yaml fenced blocks of a Markdown text.
func yamlBlocks(md string) []block {
	var out []block
	var cur *block
	for i, l := range strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n") {
		switch {
		case cur == nil && (strings.TrimSpace(l) == "```yaml" || strings.TrimSpace(l) == "```yml"):
			cur = &block{line: i + 1}
		case cur != nil && strings.TrimSpace(l) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, l)
		}
	}
	return out
}

// containsRun reports whether want occurs in lines as consecutive lines.
func containsRun(lines, want []string) bool {
	if len(want) == 0 {
		return false
	}
	for i := 0; i+len(want) <= len(lines); i++ {
		ok := true
		for j := range want {
			if lines[i+j] != want[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func TestContainsRun(t *testing.T) {
	lines := []string{"a", "b", "c", "d"}
	for _, c := range []struct {
		want []string
		ok   bool
	}{
		{[]string{"b", "c"}, true},
		{[]string{"a", "b", "c", "d"}, true},
		{[]string{"b", "d"}, false},
		{[]string{"d", "e"}, false},
		{nil, false},
	} {
		if got := containsRun(lines, c.want); got != c.ok {
			t.Errorf("containsRun(%q) = %v", c.want, got)
		}
	}
	bs := yamlBlocks("x\n```yaml\n  a: 1\n```\n```sh\nno\n```\n```yaml\nb\n```\n")
	if len(bs) != 2 || bs[0].line != 2 || strings.Join(bs[0].lines, "|") != "  a: 1" || bs[1].lines[0] != "b" {
		t.Errorf("yamlBlocks: %+v", bs)
	}
}
