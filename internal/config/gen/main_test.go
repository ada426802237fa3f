package main

import (
	"os"
	"testing"

	"github.com/openclaw/clawdinator-bundle/internal/config"
)

// gen writes action.yml, in the working directory, from the table.
func TestGenWritesActionYAML(t *testing.T) {
	t.Chdir(t.TempDir())
	main()
	data, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != config.ActionYAML() {
		t.Fatal("action.yml written differs from config.ActionYAML()")
	}
}
