// Package host holds what a CLAWDINATOR host runs besides the binary, and
// the tests that prove it, no Go code:
//
//   - systemd/: clawdinator-bootstrap.service (install at boot, in the
//     fleet's bootstrap unit's place), clawdinator-bundle-refresh.service
//     and .timer (install newer bundles on a running host), and bundle.env,
//     the file both read;
//   - nixos/module.nix: the NixOS module that declares the same units;
//   - module_test.go holds the module's units equal to systemd/, directive
//     for directive (nix-instantiate from Debian's nix-bin);
//   - systemd_test.go boots systemd as PID 1 in podman with those units,
//     stand-ins for the fleet's agenix and clawdinator-repo-seed declared as
//     the fleet declares them, and versitygw as the bucket:
//     go test ./host/ -run TestSystemd -v
//
// docs/host.md describes the units and what the fleet changes in its module.
package host
