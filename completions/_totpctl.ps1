
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'totpctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'totpctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'totpctl' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('enroll', 'enroll', [CompletionResultType]::ParameterValue, 'Enroll an account: a fresh secret, its otpauth:// URI and a QR code, shown once')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check a TOTP code or a backup code for an account')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List enrollments for audit; never shows a secret, URI or backup code')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one enrollment: the fields of `list`, never a secret')
            [CompletionResult]::new('backup-codes', 'backup-codes', [CompletionResultType]::ParameterValue, 'Replace an account''s backup codes with a fresh set, printed once')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Delete an account''s TOTP and its backup codes')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Clear an account''s lockout and its count of rejected codes')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show or change the store''s settings')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'Show the store''s append-only, hash-chained audit trail')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Enroll existing secrets in bulk from otpauth:// URIs, one a line')
            [CompletionResult]::new('rekey', 'rekey', [CompletionResultType]::ParameterValue, 'Replace the key that seals the store''s secrets, without losing any enrollment')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Show where the store and its key are, the schema version and the counts')
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy the whole store into a new one, in either engine')
            [CompletionResult]::new('upgrade', 'upgrade', [CompletionResultType]::ParameterValue, 'Authenticate a version 1 store: give every row, setting and event its MAC')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Make, list and revoke the API tokens of `totpctl serve`')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the store over HTTPS to applications and hosts holding API tokens')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'totpctl;enroll' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'The issuer shown in authenticator apps [default: the store''s `issuer` setting]')
            [CompletionResult]::new('--algorithm', '--algorithm', [CompletionResultType]::ParameterName, 'The HMAC algorithm [default: the store''s `algorithm` setting, SHA1]')
            [CompletionResult]::new('--digits', '--digits', [CompletionResultType]::ParameterName, 'Digits per code, 6 to 8 [default: the store''s `digits` setting, 6]')
            [CompletionResult]::new('--period', '--period', [CompletionResultType]::ParameterName, 'Seconds per code, 1 to 3600 [default: the store''s `period` setting, 30]')
            [CompletionResult]::new('--secret-size', '--secret-size', [CompletionResultType]::ParameterName, 'Length of the secret in bytes, 16 to 64')
            [CompletionResult]::new('--qr', '--qr', [CompletionResultType]::ParameterName, 'When to draw the QR code on the terminal')
            [CompletionResult]::new('--qr-file', '--qr-file', [CompletionResultType]::ParameterName, 'Also write the QR code to an image file (.png or .svg)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace a verified TOTP (and drop its backup codes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;verify' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--at', '--at', [CompletionResultType]::ParameterName, 'Check the code as if it were this time (unix seconds or RFC 3339). A past time is checked and recorded as usual; a future one is only checked (nothing changes but the audit trail), so the replay watermark never passes the real clock')
            [CompletionResult]::new('--window', '--window', [CompletionResultType]::ParameterName, 'Accept codes this many steps before or after now [default: the store''s `window`]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('--pam', '--pam', [CompletionResultType]::ParameterName, 'Called by pam_exec (expose_authtok): account from $PAM_USER, code from stdin, nothing on stdout, exit 0 only for an accepted code; needs --store')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;list' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--issuer', '--issuer', [CompletionResultType]::ParameterName, 'Only accounts of this issuer: the whole name, ignoring the case of ASCII letters (acme matches Acme, not Acme Corp)')
            [CompletionResult]::new('--unused-since', '--unused-since', [CompletionResultType]::ParameterName, 'Only accounts never used, or last used before TIME: a span before now (30m, 24h, 90d), unix seconds or RFC 3339')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('--verified', '--verified', [CompletionResultType]::ParameterName, 'Only accounts whose TOTP is verified')
            [CompletionResult]::new('--unverified', '--unverified', [CompletionResultType]::ParameterName, 'Only accounts whose TOTP is not verified yet')
            [CompletionResult]::new('--locked', '--locked', [CompletionResultType]::ParameterName, 'Only accounts that are locked out now')
            [CompletionResult]::new('--no-backup-codes', '--no-backup-codes', [CompletionResultType]::ParameterName, 'Only accounts without a backup code left')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;show' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;backup-codes' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'How many codes, 1 to 100 [default: the store''s `backup-code-count`]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;remove' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;unlock' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;config' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;log' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only events at or after this time: a span before now (30m, 24h, 7d), unix seconds or RFC 3339')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Only events at or before this time (as --since)')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'Only events of this kind (enrolled, code_accepted, code_rejected, verified, locked, unlocked, backup_codes_generated, backup_code_used, removed, imported, config_changed, rekeyed); repeat it for several')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Only the newest N of the matching events, still printed oldest first')
            [CompletionResult]::new('--head', '--head', [CompletionResultType]::ParameterName, 'Alone: print the log''s head (SEQ:HASH) to keep elsewhere. With --check H: also prove that the log still extends the head H kept earlier, which catches a whole store rolled back to an older copy')
            [CompletionResult]::new('--accept-restore', '--accept-restore', [CompletionResultType]::ParameterName, 'After restoring a backup on purpose: accept the store as it is, at HEAD (as `log --head` prints it), so that every host takes it from now on instead of refusing it as rolled back. Checks the whole store first')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Check the whole store with its key instead of listing: the keyed hash chain, every enrollment against its MAC and its last event, and the settings')
            [CompletionResult]::new('--full', '--full', [CompletionResultType]::ParameterName, 'With --check: check the whole chain and every enrollment, not only what changed since this host last checked')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;import' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--google-authenticator', '--google-authenticator', [CompletionResultType]::ParameterName, 'Import google-authenticator-libpam files (~/.google_authenticator) instead')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'The account for a single --google-authenticator file [default: the OS user who owns it]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('--unverified', '--unverified', [CompletionResultType]::ParameterName, 'Import the TOTPs as not yet verified')
            [CompletionResult]::new('--skip-existing', '--skip-existing', [CompletionResultType]::ParameterName, 'Skip accounts that already exist instead of failing')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Check every line (or file) and report what would be imported, changing nothing (needs no key, creates no store)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;rekey' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('--passphrase', '--passphrase', [CompletionResultType]::ParameterName, 'Protect the store with a passphrase instead of a key file')
            [CompletionResult]::new('--key-file', '--key-file', [CompletionResultType]::ParameterName, 'Protect the store with a fresh key file (the default)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;info' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;copy' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;upgrade' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;token' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a token and print it, once (on stdout, alone: redirect it to a file)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the tokens: names, scopes, creation, last use and expiry, never a token')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a token: the next request that presents it is refused')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'totpctl;token;create' {
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'What the token may do; repeat for several')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'How long the token lives (90d, 12h, 1y, …) [default: until revoked]')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;token;list' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;token;revoke' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;token;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a token and print it, once (on stdout, alone: redirect it to a file)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the tokens: names, scopes, creation, last use and expiry, never a token')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a token: the next request that presents it is refused')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'totpctl;token;help;create' {
            break
        }
        'totpctl;token;help;list' {
            break
        }
        'totpctl;token;help;revoke' {
            break
        }
        'totpctl;token;help;help' {
            break
        }
        'totpctl;serve' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'The address and port to listen on')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'The server''s certificate chain (PEM)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The server''s private key (PEM), readable by its owner only')
            [CompletionResult]::new('--rate-limit', '--rate-limit', [CompletionResultType]::ParameterName, 'Requests per second each token may make (0: no limit); more get 429')
            [CompletionResult]::new('--max-body', '--max-body', [CompletionResultType]::ParameterName, 'The largest request body, in bytes; larger ones get 413')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'Seconds a client has to send a request''s headers, and its body')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Connections open at once; more wait to be accepted')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Engine sessions (connections to the store) for requests other than verifies, which have one of their own')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('--allow-plain-http', '--allow-plain-http', [CompletionResultType]::ParameterName, 'Speak plain HTTP on an address other than loopback (tokens then cross the network in the clear: only behind a TLS proxy on the same host)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;completions' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The store: an SQLite file, a postgresql:// URL, or a totpctl server''s https:// URL [default: totpctl.db in the per-user data directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The key file that seals the store''s secrets [default: the SQLite store''s path + .key; a postgresql:// store needs it or a passphrase]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where this host keeps what it has seen of each store, to refuse one rolled back [default: totpctl-state beside the key file]')
            [CompletionResult]::new('--password-file', '--password-file', [CompletionResultType]::ParameterName, 'A PostgreSQL password file (.pgpass lines), checked like the key file')
            [CompletionResult]::new('--ca-file', '--ca-file', [CompletionResultType]::ParameterName, 'The CA a PostgreSQL or totpctl server''s certificate must chain to')
            [CompletionResult]::new('--token-file', '--token-file', [CompletionResultType]::ParameterName, 'The API token for a totpctl server store (--store https://HOST:PORT)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long to wait for the store, in seconds: for verify, the whole command [default: 5]; for other commands, each wait for a lock [default: 30]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON value on stdout: no colour, no QR, no prompt')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'totpctl;help' {
            [CompletionResult]::new('enroll', 'enroll', [CompletionResultType]::ParameterValue, 'Enroll an account: a fresh secret, its otpauth:// URI and a QR code, shown once')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check a TOTP code or a backup code for an account')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List enrollments for audit; never shows a secret, URI or backup code')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one enrollment: the fields of `list`, never a secret')
            [CompletionResult]::new('backup-codes', 'backup-codes', [CompletionResultType]::ParameterValue, 'Replace an account''s backup codes with a fresh set, printed once')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Delete an account''s TOTP and its backup codes')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Clear an account''s lockout and its count of rejected codes')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show or change the store''s settings')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'Show the store''s append-only, hash-chained audit trail')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Enroll existing secrets in bulk from otpauth:// URIs, one a line')
            [CompletionResult]::new('rekey', 'rekey', [CompletionResultType]::ParameterValue, 'Replace the key that seals the store''s secrets, without losing any enrollment')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Show where the store and its key are, the schema version and the counts')
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy the whole store into a new one, in either engine')
            [CompletionResult]::new('upgrade', 'upgrade', [CompletionResultType]::ParameterValue, 'Authenticate a version 1 store: give every row, setting and event its MAC')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Make, list and revoke the API tokens of `totpctl serve`')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the store over HTTPS to applications and hosts holding API tokens')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'totpctl;help;enroll' {
            break
        }
        'totpctl;help;verify' {
            break
        }
        'totpctl;help;list' {
            break
        }
        'totpctl;help;show' {
            break
        }
        'totpctl;help;backup-codes' {
            break
        }
        'totpctl;help;remove' {
            break
        }
        'totpctl;help;unlock' {
            break
        }
        'totpctl;help;config' {
            break
        }
        'totpctl;help;log' {
            break
        }
        'totpctl;help;import' {
            break
        }
        'totpctl;help;rekey' {
            break
        }
        'totpctl;help;info' {
            break
        }
        'totpctl;help;copy' {
            break
        }
        'totpctl;help;upgrade' {
            break
        }
        'totpctl;help;token' {
            break
        }
        'totpctl;help;serve' {
            break
        }
        'totpctl;help;completions' {
            break
        }
        'totpctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
