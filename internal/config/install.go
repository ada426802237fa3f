package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// DefaultPrefixFile is where a host's image may put a bootstrap prefix that
// replaces the PREFIX argument, as the boot script reads it.
const DefaultPrefixFile = "/etc/clawdinator/bootstrap-prefix"

// Install is the configuration of `clawdinator-bundle install`, the boot
// script's drop-in: its positional arguments, in its order, and flags.
type Install struct {
	Bucket, Prefix                string
	SecretsDir, SeedsDir, KeyPath string
	SecretsArchive, SeedsArchive  string
	// PrefixFile is the file whose content replaced the PREFIX argument,
	// or "".
	PrefixFile string
	// Pin is the recipient the bundled key must match ("" when none was
	// given); PinSource says where it came from.
	Pin, PinSource string
	Endpoint       string
	AllowUnpinned  bool
}

// InstallHelp is the help of the install command.
const InstallHelp = `usage: clawdinator-bundle install [flags] BUCKET PREFIX SECRETS_DIR REPO_SEEDS_DIR AGE_KEY_PATH [SECRETS_ARCHIVE] [SEEDS_ARCHIVE]

Install a host's bundle, the boot script's drop-in (same arguments, in the
same order): fetch s3://BUCKET/PREFIX/SECRETS_ARCHIVE (default
secrets.tar.zst), prove it against the pinned key, fetch the repo-seeds
object its statement names (SEEDS_ARCHIVE, default repo-seeds.tar.zst),
and swap the key, the .age files and the seeds tree into place only when
everything checked. A failure leaves the previous installation as it was.

The pin: --expected-recipient or --expected-recipient-file; without one,
the key already installed at AGE_KEY_PATH; with neither, install refuses
unless --allow-unpinned-first-boot is given.

flags (before or after the arguments):
`

// installFooter follows the flags in the help.
const installFooter = `
environment:
  BOOTSTRAP_PREFIX_FILE  a non-empty file whose content replaces PREFIX (default ` + DefaultPrefixFile + `)
  AWS_REGION, AWS_*      region and credentials: the AWS default chain (on EC2, the instance role; the region from instance metadata when none is set)

exit status: 0 installed or already installed, 1 refused (nothing changed), 2 bad usage, 3 could not complete (nothing changed)
`

// InstallFromArgs reads the install command's arguments and flags. The
// environment gives BOOTSTRAP_PREFIX_FILE. With --help it writes the help
// to usage and returns ErrHelp.
func InstallFromArgs(args []string, getenv func(string) string, usage io.Writer) (*Install, error) {
	flags := pflag.NewFlagSet("install", pflag.ContinueOnError)
	flags.SetOutput(io.Discard)
	var c Install
	var pinFile string
	flags.StringVar(&c.Pin, "expected-recipient", "", "the `age1...` recipient the bundled key must match")
	flags.StringVar(&pinFile, "expected-recipient-file", "", "a file holding that recipient (one age1... line; # comments allowed), such as one an image bakes in")
	flags.StringVar(&c.Endpoint, "s3-endpoint", "", "an S3-compatible endpoint `URL` instead of AWS")
	flags.BoolVar(&c.AllowUnpinned, "allow-unpinned-first-boot", false, "with no pin and no installed key, install whatever key the bundle holds (discouraged: pin the key instead)")
	help := flags.BoolP("help", "h", false, "show this help")
	if err := flags.Parse(args); err != nil {
		return nil, usagef("%v (see clawdinator-bundle install --help)", err)
	}
	if *help {
		fmt.Fprint(usage, InstallHelp+flags.FlagUsages()+installFooter)
		return nil, ErrHelp
	}
	pos := flags.Args()
	if len(pos) < 5 || len(pos) > 7 {
		return nil, usagef("install takes 5 to 7 arguments (BUCKET PREFIX SECRETS_DIR REPO_SEEDS_DIR AGE_KEY_PATH [SECRETS_ARCHIVE] [SEEDS_ARCHIVE]), got %d (see clawdinator-bundle install --help)", len(pos))
	}
	c.Bucket, c.Prefix, c.SecretsDir, c.SeedsDir, c.KeyPath = pos[0], pos[1], pos[2], pos[3], pos[4]
	c.SecretsArchive, c.SeedsArchive = "secrets.tar.zst", "repo-seeds.tar.zst"
	if len(pos) > 5 {
		c.SecretsArchive = pos[5]
	}
	if len(pos) > 6 {
		c.SeedsArchive = pos[6]
	}
	for _, a := range []struct{ what, v string }{{"BUCKET", c.Bucket}, {"SECRETS_ARCHIVE", c.SecretsArchive}, {"SEEDS_ARCHIVE", c.SeedsArchive}} {
		if a.v == "" {
			return nil, usagef("%s is empty", a.what)
		}
	}

	prefixFile := getenv("BOOTSTRAP_PREFIX_FILE")
	if prefixFile == "" {
		prefixFile = DefaultPrefixFile
	}
	switch data, err := os.ReadFile(prefixFile); {
	case err == nil && strings.TrimSpace(string(data)) != "":
		c.Prefix, c.PrefixFile = strings.TrimSpace(string(data)), prefixFile
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, usagef("BOOTSTRAP_PREFIX_FILE %s: %v", prefixFile, unwrapPath(err))
	}

	switch {
	case c.Pin != "" && pinFile != "":
		return nil, usagef("give --expected-recipient or --expected-recipient-file, not both")
	case c.Pin != "":
		c.Pin = strings.TrimSpace(c.Pin)
		c.PinSource = "--expected-recipient"
		if err := CheckRecipient("expected-recipient", c.Pin); err != nil {
			return nil, err
		}
	case pinFile != "":
		r, err := readRecipientFile(pinFile)
		if err != nil {
			return nil, err
		}
		c.Pin, c.PinSource = r, "--expected-recipient-file "+pinFile
	}
	if c.Endpoint != "" && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://") {
		return nil, usagef("s3-endpoint must be an http:// or https:// URL, got %q", c.Endpoint)
	}
	return &c, nil
}

// readRecipientFile reads the one recipient of a pin file: blank lines and
// # comments are skipped.
func readRecipientFile(p string) (string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", usagef("expected-recipient-file %s: %v", p, unwrapPath(err))
	}
	if len(data) > 64<<10 {
		return "", usagef("expected-recipient-file %s: larger than 64 KiB, not a recipient", p)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		return "", usagef("expected-recipient-file %s: want exactly one age1... line, found %d", p, len(lines))
	}
	if err := CheckRecipient("expected-recipient-file "+p, lines[0]); err != nil {
		return "", err
	}
	return lines[0], nil
}
