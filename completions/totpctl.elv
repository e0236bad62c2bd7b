
use builtin;
use str;

set edit:completion:arg-completer[totpctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'totpctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'totpctl'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand enroll 'Enroll an account: a fresh secret, its otpauth:// URI and a QR code, shown once'
            cand verify 'Check a TOTP code or a backup code for an account'
            cand list 'List enrollments for audit; never shows a secret, URI or backup code'
            cand show 'Show one enrollment: the fields of `list`, never a secret'
            cand backup-codes 'Replace an account''s backup codes with a fresh set, printed once'
            cand remove 'Delete an account''s TOTP and its backup codes'
            cand unlock 'Clear an account''s lockout and its count of rejected codes'
            cand config 'Show or change the store''s settings'
            cand log 'Show the store''s append-only, hash-chained audit trail'
            cand import 'Enroll existing secrets in bulk from otpauth:// URIs, one a line'
            cand rekey 'Replace the key that seals the store''s secrets, without losing any enrollment'
            cand info 'Show where the store and its key are, the schema version and the counts'
            cand copy 'Copy the whole store into a new one, in either engine'
            cand upgrade 'Authenticate a version 1 store: give every row, setting and event its MAC'
            cand token 'Make, list and revoke the API tokens of `totpctl serve`'
            cand serve 'Serve the store over HTTPS to applications and hosts holding API tokens'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'totpctl;enroll'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --issuer 'The issuer shown in authenticator apps [default: the store''s `issuer` setting]'
            cand --algorithm 'The HMAC algorithm [default: the store''s `algorithm` setting, SHA1]'
            cand --digits 'Digits per code, 6 to 8 [default: the store''s `digits` setting, 6]'
            cand --period 'Seconds per code, 1 to 3600 [default: the store''s `period` setting, 30]'
            cand --secret-size 'Length of the secret in bytes, 16 to 64'
            cand --qr 'When to draw the QR code on the terminal'
            cand --qr-file 'Also write the QR code to an image file (.png or .svg)'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand --force 'Replace a verified TOTP (and drop its backup codes)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;verify'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --at 'Check the code as if it were this time (unix seconds or RFC 3339). A past time is checked and recorded as usual; a future one is only checked (nothing changes but the audit trail), so the replay watermark never passes the real clock'
            cand --window 'Accept codes this many steps before or after now [default: the store''s `window`]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand --pam 'Called by pam_exec (expose_authtok): account from $PAM_USER, code from stdin, nothing on stdout, exit 0 only for an accepted code; needs --store'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;list'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --issuer 'Only accounts of this issuer: the whole name, ignoring the case of ASCII letters (acme matches Acme, not Acme Corp)'
            cand --unused-since 'Only accounts never used, or last used before TIME: a span before now (30m, 24h, 90d), unix seconds or RFC 3339'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand --verified 'Only accounts whose TOTP is verified'
            cand --unverified 'Only accounts whose TOTP is not verified yet'
            cand --locked 'Only accounts that are locked out now'
            cand --no-backup-codes 'Only accounts without a backup code left'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;show'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;backup-codes'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --count 'How many codes, 1 to 100 [default: the store''s `backup-code-count`]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;remove'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;unlock'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;config'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;log'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --since 'Only events at or after this time: a span before now (30m, 24h, 7d), unix seconds or RFC 3339'
            cand --until 'Only events at or before this time (as --since)'
            cand --event 'Only events of this kind (enrolled, code_accepted, code_rejected, verified, locked, unlocked, backup_codes_generated, backup_code_used, removed, imported, config_changed, rekeyed); repeat it for several'
            cand --limit 'Only the newest N of the matching events, still printed oldest first'
            cand --head 'Alone: print the log''s head (SEQ:HASH) to keep elsewhere. With --check H: also prove that the log still extends the head H kept earlier, which catches a whole store rolled back to an older copy'
            cand --accept-restore 'After restoring a backup on purpose: accept the store as it is, at HEAD (as `log --head` prints it), so that every host takes it from now on instead of refusing it as rolled back. Checks the whole store first'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand --check 'Check the whole store with its key instead of listing: the keyed hash chain, every enrollment against its MAC and its last event, and the settings'
            cand --full 'With --check: check the whole chain and every enrollment, not only what changed since this host last checked'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;import'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --google-authenticator 'Import google-authenticator-libpam files (~/.google_authenticator) instead'
            cand --account 'The account for a single --google-authenticator file [default: the OS user who owns it]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand --unverified 'Import the TOTPs as not yet verified'
            cand --skip-existing 'Skip accounts that already exist instead of failing'
            cand --dry-run 'Check every line (or file) and report what would be imported, changing nothing (needs no key, creates no store)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;rekey'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand --passphrase 'Protect the store with a passphrase instead of a key file'
            cand --key-file 'Protect the store with a fresh key file (the default)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;info'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;copy'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;upgrade'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;token'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand create 'Make a token and print it, once (on stdout, alone: redirect it to a file)'
            cand list 'List the tokens: names, scopes, creation, last use and expiry, never a token'
            cand revoke 'Revoke a token: the next request that presents it is refused'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'totpctl;token;create'= {
            cand --scope 'What the token may do; repeat for several'
            cand --expires 'How long the token lives (90d, 12h, 1y, …) [default: until revoked]'
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;token;list'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;token;revoke'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;token;help'= {
            cand create 'Make a token and print it, once (on stdout, alone: redirect it to a file)'
            cand list 'List the tokens: names, scopes, creation, last use and expiry, never a token'
            cand revoke 'Revoke a token: the next request that presents it is refused'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'totpctl;token;help;create'= {
        }
        &'totpctl;token;help;list'= {
        }
        &'totpctl;token;help;revoke'= {
        }
        &'totpctl;token;help;help'= {
        }
        &'totpctl;serve'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --listen 'The address and port to listen on'
            cand --tls-cert 'The server''s certificate chain (PEM)'
            cand --tls-key 'The server''s private key (PEM), readable by its owner only'
            cand --rate-limit 'Requests per second each token may make (0: no limit); more get 429'
            cand --max-body 'The largest request body, in bytes; larger ones get 413'
            cand --client-timeout 'Seconds a client has to send a request''s headers, and its body'
            cand --max-connections 'Connections open at once; more wait to be accepted'
            cand --workers 'Engine sessions (connections to the store) for requests other than verifies, which have one of their own'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand --allow-plain-http 'Speak plain HTTP on an address other than loopback (tokens then cross the network in the clear: only behind a TLS proxy on the same host)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;completions'= {
            cand --store 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]'
            cand --color 'When to use colour'
            cand --key 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]'
            cand --state-dir 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]'
            cand --password-file 'A PostgreSQL password file (.pgpass lines), checked like the key file'
            cand --ca-file 'The CA a PostgreSQL or totpctl server''s certificate must chain to'
            cand --token-file 'The API token for a totpctl server store (--store https://HOST:PORT)'
            cand --timeout 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]'
            cand --json 'Print exactly one JSON value on stdout: no colour, no QR, no prompt'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'totpctl;help'= {
            cand enroll 'Enroll an account: a fresh secret, its otpauth:// URI and a QR code, shown once'
            cand verify 'Check a TOTP code or a backup code for an account'
            cand list 'List enrollments for audit; never shows a secret, URI or backup code'
            cand show 'Show one enrollment: the fields of `list`, never a secret'
            cand backup-codes 'Replace an account''s backup codes with a fresh set, printed once'
            cand remove 'Delete an account''s TOTP and its backup codes'
            cand unlock 'Clear an account''s lockout and its count of rejected codes'
            cand config 'Show or change the store''s settings'
            cand log 'Show the store''s append-only, hash-chained audit trail'
            cand import 'Enroll existing secrets in bulk from otpauth:// URIs, one a line'
            cand rekey 'Replace the key that seals the store''s secrets, without losing any enrollment'
            cand info 'Show where the store and its key are, the schema version and the counts'
            cand copy 'Copy the whole store into a new one, in either engine'
            cand upgrade 'Authenticate a version 1 store: give every row, setting and event its MAC'
            cand token 'Make, list and revoke the API tokens of `totpctl serve`'
            cand serve 'Serve the store over HTTPS to applications and hosts holding API tokens'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'totpctl;help;enroll'= {
        }
        &'totpctl;help;verify'= {
        }
        &'totpctl;help;list'= {
        }
        &'totpctl;help;show'= {
        }
        &'totpctl;help;backup-codes'= {
        }
        &'totpctl;help;remove'= {
        }
        &'totpctl;help;unlock'= {
        }
        &'totpctl;help;config'= {
        }
        &'totpctl;help;log'= {
        }
        &'totpctl;help;import'= {
        }
        &'totpctl;help;rekey'= {
        }
        &'totpctl;help;info'= {
        }
        &'totpctl;help;copy'= {
        }
        &'totpctl;help;upgrade'= {
        }
        &'totpctl;help;token'= {
        }
        &'totpctl;help;serve'= {
        }
        &'totpctl;help;completions'= {
        }
        &'totpctl;help;help'= {
        }
    ]
    $completions[$command]
}
