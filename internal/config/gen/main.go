// Command gen writes action.yml from the option table in internal/config.
package main

import (
	"log"
	"os"

	"github.com/openclaw/clawdinator-bundle/internal/config"
)

func main() {
	if err := os.WriteFile("action.yml", []byte(config.ActionYAML()), 0o644); err != nil {
		log.Fatal(err)
	}
}
