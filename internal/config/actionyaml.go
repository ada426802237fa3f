package config

import (
	"fmt"
	"strings"
)

// ActionYAML renders action.yml from the option table.
func ActionYAML() string {
	var b strings.Builder
	b.WriteString(`# Generated from internal/config/config.go by "go run ./internal/config/gen"; edit the table, not this file.
name: clawdinator-bundle
description: Build, upload and prove CLAWDINATOR bootstrap bundles (age identity, age-encrypted secrets, repo seeds) in S3.
author: openclaw
branding:
  icon: lock
  color: green
inputs:
`)
	for _, o := range Options {
		fmt.Fprintf(&b, "  %s:\n    description: %s\n    required: false\n", o.Name, quote(o.Description))
		if o.Default != "" {
			fmt.Fprintf(&b, "    default: %s\n", quote(o.Default))
		}
	}
	b.WriteString("outputs:\n")
	for _, o := range Outputs {
		fmt.Fprintf(&b, "  %s:\n    description: %s\n", o.Name, quote(o.Description))
	}
	b.WriteString("runs:\n  using: docker\n  image: Dockerfile\n")
	return b.String()
}

// quote renders s as a YAML double-quoted scalar.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
