# Evaluates host/nixos/module.nix without nixpkgs, for the test that holds
# its units equal to host/systemd/: a stand-in for the few lib functions the
# module uses, the options' defaults overridden by `set`, and optionally a
# fetch-ec2-metadata unit, as the fleet's images define one.
{ set ? { }, metadata ? true }:
let
  lib = {
    mkOption = o: o;
    mkEnableOption = d: { default = false; description = d; };
    mkIf = c: v: if c then v else { };
    optional = c: v: if c then [ v ] else [ ];
    types = {
      str = "str";
      package = "package";
      listOf = t: "listOf";
      nullOr = t: "nullOr";
    };
  };
  module = import ../nixos/module.nix;
  evaluated = module { inherit lib config; };
  defaults = builtins.mapAttrs (n: o: o.default or null) evaluated.options.services.clawdinator-bundle;
  config = {
    services.clawdinator-bundle = defaults // set;
    systemd.services = if metadata then { fetch-ec2-metadata = { }; } else { };
  };
in
evaluated.config
