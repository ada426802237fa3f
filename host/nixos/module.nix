# NixOS module: clawdinator-bundle install in the fleet's bootstrap unit's
# place, and a timer that installs newer bundles on running hosts. It
# declares the units of host/systemd/ directive for directive (a test in
# host/ holds them equal) and writes /etc/clawdinator/bundle.env, which
# both units read, from its options.
#
# The units that read what install wrote (agenix, clawdinator-repo-seed,
# the agent) keep their own declarations; agenix and clawdinator-repo-seed
# may require clawdinator-bootstrap.service, as the fleet's do: this module
# never restarts it on a running host (restartIfChanged = false; the timer
# runs clawdinator-bundle-refresh.service instead).
{ config, lib, ... }:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.services.clawdinator-bundle;
  bin = "${cfg.package}/bin/clawdinator-bundle";
  # The seven arguments and the pin, from bundle.env (systemd expands them).
  args = "--expected-recipient-file \${CLAWDINATOR_RECIPIENT_FILE} $CLAWDINATOR_BUNDLE_FLAGS \${CLAWDINATOR_BUCKET} \${CLAWDINATOR_PREFIX} \${CLAWDINATOR_SECRETS_DIR} \${CLAWDINATOR_SEEDS_DIR} \${CLAWDINATOR_KEY_PATH} \${CLAWDINATOR_SECRETS_ARCHIVE} \${CLAWDINATOR_SEEDS_ARCHIVE}";
  # Runs install; on its line "clawdinator-bootstrap: done" restarts the
  # decrypting unit once, then the running readers.
  refresh = "/bin/sh -c 'out=$$(\"$$@\" 2>&1); rc=$$?; printf \"%%s\\\\n\" \"$$out\"; [ $$rc = 0 ] || exit $$rc; printf \"%%s\\\\n\" \"$$out\" | grep -q \"^clawdinator-bootstrap: done\" || exit 0; systemctl restart --job-mode=ignore-requirements -- \"$$CLAWDINATOR_DECRYPT_UNIT\" || exit; for u in $$CLAWDINATOR_RESTART_UNITS; do systemctl try-restart --job-mode=ignore-requirements -- \"$$u\" || exit; done' refresh";
  metadata = lib.optional (config.systemd.services ? fetch-ec2-metadata) "fetch-ec2-metadata.service";
  quote = v: "\"" + builtins.replaceStrings [ "\\" "\"" "$" "`" ] [ "\\\\" "\\\"" "\\$" "\\`" ] v + "\"";
  env = [
    { name = "CLAWDINATOR_BUCKET"; value = cfg.bucket; }
    { name = "CLAWDINATOR_PREFIX"; value = cfg.prefix; }
    { name = "CLAWDINATOR_SECRETS_DIR"; value = cfg.secretsDir; }
    { name = "CLAWDINATOR_SEEDS_DIR"; value = cfg.repoSeedsDir; }
    { name = "CLAWDINATOR_KEY_PATH"; value = cfg.ageKeyPath; }
    { name = "CLAWDINATOR_SECRETS_ARCHIVE"; value = cfg.secretsArchive; }
    { name = "CLAWDINATOR_SEEDS_ARCHIVE"; value = cfg.repoSeedsArchive; }
    { name = "CLAWDINATOR_RECIPIENT_FILE"; value = cfg.expectedRecipientFile; }
    { name = "CLAWDINATOR_BUNDLE_FLAGS"; value = builtins.concatStringsSep " " cfg.extraFlags; }
    { name = "CLAWDINATOR_DECRYPT_UNIT"; value = cfg.decryptUnit; }
    { name = "CLAWDINATOR_RESTART_UNITS"; value = builtins.concatStringsSep " " cfg.restartUnits; }
    { name = "AWS_REGION"; value = cfg.region; }
  ];
in
{
  options.services.clawdinator-bundle = {
    enable = mkEnableOption "clawdinator-bundle install at boot and on a timer";
    package = mkOption {
      type = types.package;
      description = "A package with bin/clawdinator-bundle (the release's static binary).";
    };
    bucket = mkOption {
      type = types.str;
      description = "S3 bucket holding the bundles.";
    };
    prefix = mkOption {
      type = types.str;
      description = "The instance's bootstrapPrefix; a non-empty /etc/clawdinator/bootstrap-prefix replaces it.";
    };
    region = mkOption {
      type = types.str;
      default = "eu-central-1";
      description = "AWS region of the bucket (AWS_REGION).";
    };
    secretsDir = mkOption {
      type = types.str;
      default = "/var/lib/clawd/nix-secrets";
      description = "Where the encrypted secrets are installed (SECRETS_DIR).";
    };
    repoSeedsDir = mkOption {
      type = types.str;
      default = "/var/lib/clawd/repo-seeds";
      description = "Where repo-seeds is installed (REPO_SEEDS_DIR).";
    };
    ageKeyPath = mkOption {
      type = types.str;
      default = "/etc/agenix/keys/clawdinator.agekey";
      description = "Where the age identity is installed (AGE_KEY_PATH).";
    };
    secretsArchive = mkOption {
      type = types.str;
      default = "secrets.tar.zst";
      description = "Secrets archive name under the prefix.";
    };
    repoSeedsArchive = mkOption {
      type = types.str;
      default = "repo-seeds.tar.zst";
      description = "Repo-seeds archive name under the prefix.";
    };
    expectedRecipient = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "The fleet key's age1... recipient, the pin; written to expectedRecipientFile when set.";
    };
    expectedRecipientFile = mkOption {
      type = types.str;
      default = "/etc/clawdinator/fleet-recipient";
      description = "File holding the pin (one age1... line); install refuses a bundle whose key has another recipient.";
    };
    extraFlags = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "More install flags, e.g. [ \"--s3-endpoint\" \"https://...\" ] (no spaces inside a flag).";
    };
    refreshInterval = mkOption {
      type = types.str;
      default = "15min";
      description = "How often a running host installs a newer bundle (OnBootSec and OnUnitActiveSec).";
    };
    decryptUnit = mkOption {
      type = types.str;
      default = "agenix.service";
      description = "Unit restarted, once, to decrypt the secrets again when the refresh installed a newer bundle.";
    };
    restartUnits = mkOption {
      type = types.listOf types.str;
      default = [ "clawdinator.service" ];
      description = "Units restarted, if running, after decryptUnit, when the refresh installed a newer bundle.";
    };
  };

  config = mkIf cfg.enable {
    environment.etc = {
      "clawdinator/bundle.env".text = ''
        # /etc/clawdinator/bundle.env: what clawdinator-bootstrap.service and
        # clawdinator-bundle-refresh.service pass to clawdinator-bundle install.
        # The NixOS module (host/nixos/module.nix) writes this file from its options.
      '' + builtins.concatStringsSep "" (map (e: "${e.name}=${quote e.value}\n") env);
    } // (if cfg.expectedRecipient == null then { } else {
      "clawdinator/fleet-recipient".text = "${cfg.expectedRecipient}\n";
    });

    systemd.services.clawdinator-bootstrap = {
      description = "CLAWDINATOR bootstrap (clawdinator-bundle install: secrets + repo seeds from S3)";
      wantedBy = [ "multi-user.target" ];
      after = [ "network-online.target" ] ++ metadata;
      wants = [ "network-online.target" ] ++ metadata;
      restartIfChanged = false;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        EnvironmentFile = "/etc/clawdinator/bundle.env";
        ExecStart = "${bin} install ${args}";
      };
    };

    systemd.services.clawdinator-bundle-refresh = {
      description = "CLAWDINATOR bundle refresh (install a newer bundle on a running host)";
      after = [ "clawdinator-bootstrap.service" "network-online.target" ];
      wants = [ "network-online.target" ];
      serviceConfig = {
        Type = "oneshot";
        EnvironmentFile = "/etc/clawdinator/bundle.env";
        ExecStart = "${refresh} ${bin} install --strict ${args}";
      };
    };

    systemd.timers.clawdinator-bundle-refresh = {
      description = "CLAWDINATOR bundle refresh timer";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnBootSec = cfg.refreshInterval;
        OnUnitActiveSec = cfg.refreshInterval;
        RandomizedDelaySec = "5min";
      };
    };
  };
}
