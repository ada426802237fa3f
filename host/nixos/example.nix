# A host of the fleet with clawdinator-bundle's module (README, "NixOS"),
# parsed in CI. module.nix is a copy of host/nixos/module.nix at the
# release's tag, beside this file.
{ pkgs, ... }:
let
  # The release's static binary for the host's platform; the hash is its
  # line in the release's SHA256SUMS.
  clawdinator-bundle = pkgs.runCommand "clawdinator-bundle-1.0.0" {
    src = pkgs.fetchurl {
      url = "https://github.com/openclaw/clawdinator-bundle/releases/download/v1.0.0/clawdinator-bundle-linux-amd64";
      sha256 = "0000000000000000000000000000000000000000000000000000";
    };
  } "install -D -m 0755 $src $out/bin/clawdinator-bundle";
in
{
  imports = [ ./module.nix ];
  services.clawdinator-bundle = {
    enable = true;
    package = clawdinator-bundle;
    bucket = "BUCKET";
    prefix = "bootstrap/clawdinator-1";
    # The fleet key's recipient, baked into the image: the pin.
    expectedRecipient = "age1...";
    # What decrypts the secrets again after the timer installed a newer
    # bundle, then what reads them (docs/host.md, "The units").
    decryptUnit = "clawdinator-agenix-refresh.service";
    restartUnits = [ "clawdinator.service" ];
  };
}
