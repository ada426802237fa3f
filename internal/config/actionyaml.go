package config

import (
	"fmt"
	"regexp"
	"strings"
)

// DockerfileImage is the image of action.yml on main: the runner builds the
// repository's Dockerfile, so `uses: ./` and forks work from any commit.
const DockerfileImage = "Dockerfile"

// ActionYAML renders action.yml from the option table, with the image main
// keeps (DockerfileImage).
func ActionYAML() string {
	s, err := ActionYAMLImage(DockerfileImage)
	if err != nil {
		panic(err) // DockerfileImage is always valid
	}
	return s
}

// ActionYAMLImage renders action.yml with runs.image set to image: either
// DockerfileImage or a prebuilt image named by digest,
// docker://REGISTRY/REPOSITORY@sha256:<64 hex> (a release commit). Any other
// reference is refused: a tag can be moved, a digest cannot.
func ActionYAMLImage(image string) (string, error) {
	if err := CheckImage(image); err != nil {
		return "", err
	}
	return actionYAML(image), nil
}

// imageRef is docker://HOST[:PORT]/PATH@sha256:DIGEST, PATH lowercase
// components as the distribution reference grammar spells them.
var imageRef = regexp.MustCompile(`^docker://` +
	`[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?` +
	`(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+` +
	`@sha256:[0-9a-f]{64}$`)

// CheckImage reports whether image can be action.yml's runs.image: the
// Dockerfile, or a prebuilt image pinned by digest.
func CheckImage(image string) error {
	if image == DockerfileImage || imageRef.MatchString(image) {
		return nil
	}
	return fmt.Errorf("image %q: want %s or docker://REGISTRY/REPOSITORY@sha256:<64 lowercase hex> (a digest, no tag)", image, DockerfileImage)
}

func actionYAML(image string) string {
	var b strings.Builder
	gen := "go run ./internal/config/gen"
	if image != DockerfileImage {
		gen += " -image " + image
	}
	fmt.Fprintf(&b, "# Generated from internal/config/config.go by %q; edit the table, not this file.\n", gen)
	b.WriteString(`name: clawdinator-bundle
description: Build, upload and prove CLAWDINATOR bootstrap bundles (age identity, age-encrypted secrets, repo seeds) in S3.
author: openclaw
branding:
  icon: lock
  color: green
inputs:
`)
	for _, o := range Options {
		if o.CLIOnly {
			continue
		}
		fmt.Fprintf(&b, "  %s:\n    description: %s\n    required: false\n", o.Name, quote(o.Description))
		if o.Default != "" {
			fmt.Fprintf(&b, "    default: %s\n", quote(o.Default))
		}
	}
	b.WriteString("outputs:\n")
	for _, o := range Outputs {
		fmt.Fprintf(&b, "  %s:\n    description: %s\n", o.Name, quote(o.Description))
	}
	fmt.Fprintf(&b, "runs:\n  using: docker\n  image: %s\n", image)
	return b.String()
}

// quote renders s as a YAML double-quoted scalar.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
