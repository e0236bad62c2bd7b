# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_totpctl_global_optspecs
    string join \n store= json color= key= state-dir= password-file= ca-file= token-file= timeout= h/help V/version
end

function __fish_totpctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_totpctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_totpctl_using_subcommand
    set -l cmd (__fish_totpctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c totpctl -n "__fish_totpctl_needs_command" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_needs_command" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_needs_command" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_needs_command" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_needs_command" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_needs_command" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_needs_command" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_needs_command" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_needs_command" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_needs_command" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "enroll" -d 'Enroll an account: a fresh secret, its otpauth:// URI and a QR code, shown once'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "verify" -d 'Check a TOTP code or a backup code for an account'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "list" -d 'List enrollments for audit; never shows a secret, URI or backup code'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "show" -d 'Show one enrollment: the fields of `list`, never a secret'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "backup-codes" -d 'Replace an account\'s backup codes with a fresh set, printed once'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "remove" -d 'Delete an account\'s TOTP and its backup codes'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "unlock" -d 'Clear an account\'s lockout and its count of rejected codes'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "config" -d 'Show or change the store\'s settings'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "log" -d 'Show the store\'s append-only, hash-chained audit trail'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "import" -d 'Enroll existing secrets in bulk from otpauth:// URIs, one a line'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "rekey" -d 'Replace the key that seals the store\'s secrets, without losing any enrollment'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "info" -d 'Show where the store and its key are, the schema version and the counts'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "copy" -d 'Copy the whole store into a new one, in either engine'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "upgrade" -d 'Authenticate a version 1 store: give every row, setting and event its MAC'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "token" -d 'Make, list and revoke the API tokens of `totpctl serve`'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "serve" -d 'Serve the store over HTTPS to applications and hosts holding API tokens'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c totpctl -n "__fish_totpctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l issuer -d 'The issuer shown in authenticator apps [default: the store\'s `issuer` setting]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l algorithm -d 'The HMAC algorithm [default: the store\'s `algorithm` setting, SHA1]' -r -f -a "SHA1\t''
SHA256\t''
SHA512\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l digits -d 'Digits per code, 6 to 8 [default: the store\'s `digits` setting, 6]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l period -d 'Seconds per code, 1 to 3600 [default: the store\'s `period` setting, 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l secret-size -d 'Length of the secret in bytes, 16 to 64' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l qr -d 'When to draw the QR code on the terminal' -r -f -a "auto\t'Only when stdout is a terminal'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l qr-file -d 'Also write the QR code to an image file (.png or .svg)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -l force -d 'Replace a verified TOTP (and drop its backup codes)'
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand enroll" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -l at -d 'Check the code as if it were this time (unix seconds or RFC 3339). A past time is checked and recorded as usual; a future one is only checked (nothing changes but the audit trail), so the replay watermark never passes the real clock' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -l window -d 'Accept codes this many steps before or after now [default: the store\'s `window`]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -l pam -d 'Called by pam_exec (expose_authtok): account from $PAM_USER, code from stdin, nothing on stdout, exit 0 only for an accepted code; needs --store'
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand verify" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l issuer -d 'Only accounts of this issuer: the whole name, ignoring the case of ASCII letters (acme matches Acme, not Acme Corp)' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l unused-since -d 'Only accounts never used, or last used before TIME: a span before now (30m, 24h, 90d), unix seconds or RFC 3339' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l verified -d 'Only accounts whose TOTP is verified'
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l unverified -d 'Only accounts whose TOTP is not verified yet'
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l locked -d 'Only accounts that are locked out now'
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -l no-backup-codes -d 'Only accounts without a backup code left'
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand list" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand show" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand show" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand show" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand show" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand show" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand show" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand show" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand show" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand show" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand show" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand backup-codes" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand backup-codes" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand backup-codes" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand backup-codes" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand backup-codes" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand backup-codes" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand backup-codes" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand backup-codes" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand backup-codes" -l count -d 'How many codes, 1 to 100 [default: the store\'s `backup-code-count`]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand backup-codes" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand backup-codes" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand backup-codes" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand remove" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand remove" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand remove" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand remove" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand remove" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand remove" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand remove" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand remove" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand remove" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand remove" -s y -l yes -d 'Do not ask for confirmation'
complete -c totpctl -n "__fish_totpctl_using_subcommand remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand remove" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand unlock" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand unlock" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand unlock" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand unlock" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand unlock" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand unlock" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand unlock" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand unlock" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand unlock" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand unlock" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand unlock" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand config" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand config" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand config" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand config" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand config" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand config" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand config" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand config" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand config" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand config" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l since -d 'Only events at or after this time: a span before now (30m, 24h, 7d), unix seconds or RFC 3339' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l until -d 'Only events at or before this time (as --since)' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l event -d 'Only events of this kind (enrolled, code_accepted, code_rejected, verified, locked, unlocked, backup_codes_generated, backup_code_used, removed, imported, config_changed, rekeyed); repeat it for several' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l limit -d 'Only the newest N of the matching events, still printed oldest first' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l head -d 'Alone: print the log\'s head (SEQ:HASH) to keep elsewhere. With --check H: also prove that the log still extends the head H kept earlier, which catches a whole store rolled back to an older copy' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l accept-restore -d 'After restoring a backup on purpose: accept the store as it is, at HEAD (as `log --head` prints it), so that every host takes it from now on instead of refusing it as rolled back. Checks the whole store first' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l check -d 'Check the whole store with its key instead of listing: the keyed hash chain, every enrollment against its MAC and its last event, and the settings'
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -l full -d 'With --check: check the whole chain and every enrollment, not only what changed since this host last checked'
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand log" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l google-authenticator -d 'Import google-authenticator-libpam files (~/.google_authenticator) instead' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l account -d 'The account for a single --google-authenticator file [default: the OS user who owns it]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l unverified -d 'Import the TOTPs as not yet verified'
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l skip-existing -d 'Skip accounts that already exist instead of failing'
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -l dry-run -d 'Check every line (or file) and report what would be imported, changing nothing (needs no key, creates no store)'
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand import" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand rekey" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand rekey" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand rekey" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand rekey" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand rekey" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand rekey" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand rekey" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand rekey" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand rekey" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand rekey" -l passphrase -d 'Protect the store with a passphrase instead of a key file'
complete -c totpctl -n "__fish_totpctl_using_subcommand rekey" -l key-file -d 'Protect the store with a fresh key file (the default)'
complete -c totpctl -n "__fish_totpctl_using_subcommand rekey" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand rekey" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand info" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand info" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand info" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand info" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand info" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand info" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand info" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand info" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand info" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand info" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand info" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand copy" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand copy" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand copy" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand copy" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand copy" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand copy" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand copy" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand copy" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand copy" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand copy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand copy" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand upgrade" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand upgrade" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand upgrade" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand upgrade" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand upgrade" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand upgrade" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand upgrade" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand upgrade" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand upgrade" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand upgrade" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand upgrade" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "create" -d 'Make a token and print it, once (on stdout, alone: redirect it to a file)'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "list" -d 'List the tokens: names, scopes, creation, last use and expiry, never a token'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "revoke" -d 'Revoke a token: the next request that presents it is refused'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and not __fish_seen_subcommand_from create list revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from create" -l scope -d 'What the token may do; repeat for several' -r -f -a "verify\t'Check TOTP and backup codes'
read\t'List, show, log, info'
enroll\t'Create or replace an unverified enrollment'
admin\t'Everything'"
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from create" -l expires -d 'How long the token lives (90d, 12h, 1y, …) [default: until revoked]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from create" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from create" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from create" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from create" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from create" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from create" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from create" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from create" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from create" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from list" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from list" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from list" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from list" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from list" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from list" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from list" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from list" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from list" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from revoke" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "create" -d 'Make a token and print it, once (on stdout, alone: redirect it to a file)'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the tokens: names, scopes, creation, last use and expiry, never a token'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke a token: the next request that presents it is refused'
complete -c totpctl -n "__fish_totpctl_using_subcommand token; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l listen -d 'The address and port to listen on' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l tls-cert -d 'The server\'s certificate chain (PEM)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l tls-key -d 'The server\'s private key (PEM), readable by its owner only' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l rate-limit -d 'Requests per second each token may make (0: no limit); more get 429' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l max-body -d 'The largest request body, in bytes; larger ones get 413' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l client-timeout -d 'Seconds a client has to send a request\'s headers, and its body' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l max-connections -d 'Connections open at once; more wait to be accepted' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l workers -d 'Engine sessions (connections to the store) for requests other than verifies, which have one of their own' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -l allow-plain-http -d 'Speak plain HTTP on an address other than loopback (tokens then cross the network in the clear: only behind a TLS proxy on the same host)'
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand serve" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand completions" -l store -d 'The store: an SQLite file, a postgresql:// URL, or a totpctl server\'s https:// URL [default: totpctl.db in the per-user data directory]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand completions" -l color -d 'When to use colour' -r -f -a "auto\t'Colour on a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c totpctl -n "__fish_totpctl_using_subcommand completions" -l key -d 'The key file that seals the store\'s secrets [default: the SQLite store\'s path + .key; a postgresql:// store needs it or a passphrase]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand completions" -l state-dir -d 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand completions" -l password-file -d 'A PostgreSQL password file (.pgpass lines), checked like the key file' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand completions" -l ca-file -d 'The CA a PostgreSQL or totpctl server\'s certificate must chain to' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand completions" -l token-file -d 'The API token for a totpctl server store (--store https://HOST:PORT)' -r -F
complete -c totpctl -n "__fish_totpctl_using_subcommand completions" -l timeout -d 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]' -r
complete -c totpctl -n "__fish_totpctl_using_subcommand completions" -l json -d 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
complete -c totpctl -n "__fish_totpctl_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c totpctl -n "__fish_totpctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "enroll" -d 'Enroll an account: a fresh secret, its otpauth:// URI and a QR code, shown once'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "verify" -d 'Check a TOTP code or a backup code for an account'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "list" -d 'List enrollments for audit; never shows a secret, URI or backup code'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "show" -d 'Show one enrollment: the fields of `list`, never a secret'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "backup-codes" -d 'Replace an account\'s backup codes with a fresh set, printed once'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "remove" -d 'Delete an account\'s TOTP and its backup codes'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "unlock" -d 'Clear an account\'s lockout and its count of rejected codes'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "config" -d 'Show or change the store\'s settings'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "log" -d 'Show the store\'s append-only, hash-chained audit trail'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "import" -d 'Enroll existing secrets in bulk from otpauth:// URIs, one a line'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "rekey" -d 'Replace the key that seals the store\'s secrets, without losing any enrollment'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "info" -d 'Show where the store and its key are, the schema version and the counts'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "copy" -d 'Copy the whole store into a new one, in either engine'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "upgrade" -d 'Authenticate a version 1 store: give every row, setting and event its MAC'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "token" -d 'Make, list and revoke the API tokens of `totpctl serve`'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "serve" -d 'Serve the store over HTTPS to applications and hosts holding API tokens'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c totpctl -n "__fish_totpctl_using_subcommand help; and not __fish_seen_subcommand_from enroll verify list show backup-codes remove unlock config log import rekey info copy upgrade token serve completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
