//! A database writer still wins nothing (issue 17): each test plays an attacker who
//! can write the store with the real tools (the `sqlite3` shell, `psql`) but holds no
//! key, and makes the database *behave* differently, or puts back older rows that
//! carry valid MACs, instead of forging a MAC. Each must end with nothing gained (no
//! code accepted that the untouched store would refuse, no more wrong guesses than
//! `lockout-attempts` allows, no setting obeyed that the key holder did not make) and
//! with a refusal that names what was wrong. Every test runs on SQLite and on
//! PostgreSQL; codes come from oathtool.

mod common;

use common::{T0, TestEnv, oathtool, on_postgres, stderr};
use serde_json::Value;

fn at(t: i64) -> String {
    t.to_string()
}

/// `verify ACCOUNT CODE --at T`, in JSON, with the exit status it ended with.
fn verify(env: &TestEnv, account: &str, code: &str, t: i64) -> (Option<i32>, Value) {
    let out = env
        .cmd()
        .args(["--json", "verify", account, code, "--at", &at(t)])
        .write_stdin("")
        .output()
        .unwrap();
    (out.status.code(), common::parse_one_json(&out.stdout))
}

/// Expects `args` to be refused with `integrity_error`, its message naming each of
/// `names`; returns the message.
#[track_caller]
fn integrity(env: &TestEnv, args: &[&str], names: &[&str]) -> String {
    let e = env.json_status(args, 2);
    assert_eq!(e["error"]["code"], "integrity_error", "{args:?}: {e}");
    let message = e["error"]["message"].as_str().unwrap().to_string();
    for name in names {
        assert!(
            message.contains(name),
            "{args:?}: should name {name:?}: {message}"
        );
    }
    message
}

/// The number of events in the log, counted with the attacker's tools.
fn events(env: &TestEnv) -> i64 {
    env.count("SELECT count(*) FROM events")
}

// ---------------------------------------------------------------------------------
// The store's definitions are checked
// ---------------------------------------------------------------------------------

/// A trigger that puts a row's old values and MAC back after each update: the same
/// code would be accepted again and again. Refused before anything is read, naming
/// the trigger; once the trigger is gone, the untouched store refuses the replay.
#[test]
fn a_trigger_that_puts_the_row_back_is_refused_and_named() {
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    let t = T0 + 60;
    let code = oathtool(&alice.secret, t, &[]);
    env.attack(
        "CREATE TRIGGER keep_row AFTER UPDATE ON totps BEGIN \
           UPDATE totps SET last_step = OLD.last_step, mac = OLD.mac, \
                            updated_at = OLD.updated_at WHERE id = OLD.id; END;",
        "CREATE FUNCTION totpctl.keep_row() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN RETURN OLD; END $$; \
         CREATE TRIGGER keep_row BEFORE UPDATE ON totpctl.totps \
           FOR EACH ROW EXECUTE FUNCTION totpctl.keep_row();",
    );
    let before = events(&env);
    for _ in 0..3 {
        integrity(
            &env,
            &["verify", "alice", &code, "--at", &at(t)],
            &["keep_row", "trigger"],
        );
    }
    // Reading is refused too: the store may hide rows from a list.
    integrity(&env, &["list"], &["keep_row"]);
    integrity(&env, &["log", "--check"], &["keep_row"]);
    assert_eq!(events(&env), before, "nothing was written");
    env.attack(
        "DROP TRIGGER keep_row;",
        "DROP TRIGGER keep_row ON totpctl.totps; DROP FUNCTION totpctl.keep_row();",
    );
    let (status, v) = verify(&env, "alice", &code, t);
    assert_eq!(status, Some(0), "{v}");
    let (status, v) = verify(&env, "alice", &code, t);
    assert_eq!(
        (status, v["reason"].as_str()),
        (Some(1), Some("totp_replayed_code"))
    );
}

/// Triggers that revive used backup codes, hide one account's events, and keep the
/// failure count from growing: refused, so no backup code works twice and no guess
/// goes uncounted.
#[test]
fn triggers_on_backup_codes_events_and_lockout_are_refused() {
    let env = TestEnv::new();
    let (_, codes) = env.enroll_verified("alice", T0);
    env.set("lockout-attempts", "3");
    env.attack(
        "CREATE TRIGGER revive AFTER UPDATE ON backup_codes BEGIN \
           UPDATE backup_codes SET used_at = NULL WHERE totp_id = NEW.totp_id; END; \
         CREATE TRIGGER hide BEFORE INSERT ON events WHEN NEW.account = 'alice' \
           BEGIN SELECT RAISE(IGNORE); END;",
        "CREATE FUNCTION totpctl.revive() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN NEW.used_at := NULL; RETURN NEW; END $$; \
         CREATE TRIGGER revive BEFORE UPDATE ON totpctl.backup_codes \
           FOR EACH ROW EXECUTE FUNCTION totpctl.revive(); \
         CREATE FUNCTION totpctl.hide() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN IF NEW.account = 'alice' THEN RETURN NULL; END IF; RETURN NEW; END $$; \
         CREATE TRIGGER hide BEFORE INSERT ON totpctl.events \
           FOR EACH ROW EXECUTE FUNCTION totpctl.hide();",
    );
    for _ in 0..3 {
        integrity(&env, &["verify", "alice", &codes[0]], &["revive", "hide"]);
    }
    for i in 0..20 {
        let wrong = format!("{:06}", 100_000 + i);
        integrity(
            &env,
            &["verify", "alice", &wrong, "--at", &at(T0 + 90)],
            &[],
        );
    }
    env.attack(
        "DROP TRIGGER revive; DROP TRIGGER hide;",
        "DROP TRIGGER revive ON totpctl.backup_codes; DROP TRIGGER hide ON totpctl.events; \
         DROP FUNCTION totpctl.revive(); DROP FUNCTION totpctl.hide();",
    );
    // The refused attempts evaluated no code: the first backup code works once.
    assert_eq!(env.json(&["verify", "alice", &codes[0]])["valid"], true);
    let again = env.json_status(&["verify", "alice", &codes[0]], 1);
    assert_eq!(again["reason"], "backup_code_used", "{again}");
    assert_eq!(env.json(&["show", "alice"])["failedAttempts"], 1);
}

/// A trigger that puts the settings back after a change: `config` must not print a
/// value that did not stick.
#[test]
fn a_config_change_that_would_not_stick_is_refused() {
    let env = TestEnv::new();
    env.enroll("alice");
    env.attack(
        "CREATE TRIGGER stay AFTER UPDATE ON config BEGIN \
           UPDATE config SET value = OLD.value WHERE key = OLD.key; END;",
        "CREATE RULE stay AS ON UPDATE TO totpctl.config DO INSTEAD NOTHING;",
    );
    integrity(&env, &["config", "lockout-attempts", "3"], &["stay"]);
    env.attack("DROP TRIGGER stay;", "DROP RULE stay ON totpctl.config;");
    assert_eq!(env.json(&["config", "lockout-attempts"])["value"], 10);
}

/// With the schema check out of the way (a debug build's test switch), the second
/// line holds: every write is read back in its transaction, and a write the store
/// did not keep is refused and rolled back.
#[test]
fn a_write_the_store_did_not_keep_is_refused_by_the_read_back() {
    let env = TestEnv::new();
    let (alice, codes) = env.enroll_verified("alice", T0);
    env.attack(
        "CREATE TRIGGER keep_row AFTER UPDATE ON totps BEGIN \
           UPDATE totps SET last_step = OLD.last_step, mac = OLD.mac, \
                            updated_at = OLD.updated_at WHERE id = OLD.id; END; \
         CREATE TRIGGER revive AFTER UPDATE ON backup_codes BEGIN \
           UPDATE backup_codes SET used_at = NULL WHERE totp_id = NEW.totp_id; END;",
        "CREATE FUNCTION totpctl.keep_row() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN RETURN OLD; END $$; \
         CREATE TRIGGER keep_row BEFORE UPDATE ON totpctl.totps \
           FOR EACH ROW EXECUTE FUNCTION totpctl.keep_row(); \
         CREATE FUNCTION totpctl.revive() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN NEW.used_at := NULL; RETURN NEW; END $$; \
         CREATE TRIGGER revive BEFORE UPDATE ON totpctl.backup_codes \
           FOR EACH ROW EXECUTE FUNCTION totpctl.revive();",
    );
    let skip = |args: &[&str]| -> Value {
        let out = env
            .cmd()
            .env("TOTPCTL_TEST_SKIP_SCHEMA_CHECK", "1")
            .arg("--json")
            .args(args)
            .write_stdin("")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        common::parse_one_json(&out.stdout)
    };
    let t = T0 + 60;
    let code = oathtool(&alice.secret, t, &[]);
    let before = events(&env);
    for args in [
        &["verify", "alice", &code, "--at", &at(t)][..],
        &["verify", "alice", &codes[1]],
    ] {
        let e = skip(args);
        assert_eq!(e["error"]["code"], "integrity_error", "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("did not keep"),
            "{e}"
        );
    }
    assert_eq!(events(&env), before, "the refused writes were rolled back");
}

/// PostgreSQL: the role that owns the schema makes a domain with its own `=`, retypes
/// the account column to it, and alice's lookup answers with mallory's genuine row.
/// Refused (the schema names the domain and the retyped column; and the row must be
/// the account asked for), PAM included.
#[test]
fn a_retyped_column_with_its_own_operator_lets_nobody_in_as_someone_else() {
    if !on_postgres() {
        println!("skipped on SQLite: domains and operators are PostgreSQL's");
        return;
    }
    let env = TestEnv::new();
    env.enroll_verified("alice", T0);
    let (mallory, _) = env.enroll_verified("mallory", T0);
    env.attack(
        "",
        "CREATE DOMAIN totpctl.name AS text; \
         CREATE FUNCTION totpctl.any_eq(totpctl.name, text) RETURNS boolean \
           LANGUAGE sql IMMUTABLE AS $$ SELECT $1::text = 'mallory' $$; \
         CREATE OPERATOR totpctl.= (LEFTARG = totpctl.name, RIGHTARG = text, \
           FUNCTION = totpctl.any_eq); \
         ALTER TABLE totpctl.totps ALTER COLUMN account TYPE totpctl.name;",
    );
    let t = T0 + 60;
    let code = oathtool(&mallory.secret, t, &[]);
    integrity(
        &env,
        &["verify", "alice", &code, "--at", &at(t)],
        &["totpctl.totps.account", "type=totpctl.name", "operator ="],
    );
    // Even past the schema check (a debug build's test switch), the session's pinned
    // search_path never resolves the attacker's `=`: alice's own row answers, and
    // mallory's code is wrong for it.
    let out = env
        .cmd()
        .env("TOTPCTL_TEST_SKIP_SCHEMA_CHECK", "1")
        .args(["--json", "verify", "alice", &code, "--at", &at(t)])
        .output()
        .unwrap();
    let v = common::parse_one_json(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert_eq!(v["account"], "alice", "{v}");
    let out = env
        .cmd()
        .arg("verify")
        .arg("--pam")
        .args(env.pam_args())
        .env("PAM_USER", "alice")
        .write_stdin(format!("{}\0", oathtool(&mallory.secret, now(), &[])))
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    integrity(&env, &["log", "--check"], &["account"]);
}

/// PostgreSQL: rules, row-level security, a child table, an unlogged table, a
/// trigger that defers itself to commit, and the role's own settings.
#[test]
fn rules_policies_children_and_role_settings_change_nothing() {
    if !on_postgres() {
        println!("skipped on SQLite: these are PostgreSQL's");
        return;
    }
    let env = TestEnv::new();
    let (alice, _) = env.enroll_verified("alice", T0);
    let db = env.database.clone().unwrap();
    let t = T0 + 60;
    let code = oathtool(&alice.secret, t, &[]);
    for (attack, undo, named) in [
        (
            "CREATE RULE skip AS ON UPDATE TO totpctl.totps DO INSTEAD NOTHING",
            "DROP RULE skip ON totpctl.totps",
            "skip",
        ),
        (
            "ALTER TABLE totpctl.events ENABLE ROW LEVEL SECURITY; \
             ALTER TABLE totpctl.events FORCE ROW LEVEL SECURITY; \
             CREATE POLICY hide ON totpctl.events USING (account IS DISTINCT FROM 'alice')",
            "DROP POLICY hide ON totpctl.events; \
             ALTER TABLE totpctl.events NO FORCE ROW LEVEL SECURITY; \
             ALTER TABLE totpctl.events DISABLE ROW LEVEL SECURITY",
            "hide",
        ),
        (
            "CREATE TABLE public.extra () INHERITS (totpctl.backup_codes)",
            "DROP TABLE public.extra",
            "public.extra",
        ),
        (
            "CREATE FUNCTION public.later() RETURNS trigger LANGUAGE plpgsql AS \
               $$ BEGIN UPDATE totpctl.totps SET last_step = NULL; RETURN NULL; END $$; \
             CREATE CONSTRAINT TRIGGER later AFTER UPDATE ON totpctl.totps \
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.later()",
            "DROP TRIGGER later ON totpctl.totps; DROP FUNCTION public.later()",
            "later",
        ),
        (
            "CREATE INDEX sneaky ON totpctl.totps (issuer)",
            "DROP INDEX totpctl.sneaky",
            "sneaky",
        ),
    ] {
        env.attack("", attack);
        let before = events(&env);
        integrity(&env, &["verify", "alice", &code, "--at", &at(t)], &[named]);
        integrity(&env, &["list"], &[named]);
        assert_eq!(events(&env), before, "{attack}");
        env.attack("", undo);
    }
    // The role's own settings cannot reach totpctl's session: a search_path that puts
    // the attacker's schema first, and commits that are not durable.
    common::psql(
        &db,
        &format!(
            "CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$; \
             ALTER ROLE CURRENT_USER IN DATABASE {db} SET search_path = public, totpctl; \
             ALTER ROLE CURRENT_USER IN DATABASE {db} SET synchronous_commit = off"
        ),
    );
    let (status, v) = verify(&env, "alice", &code, t);
    common::psql(
        &db,
        &format!(
            "ALTER ROLE CURRENT_USER IN DATABASE {db} RESET ALL; DROP FUNCTION public.lower(text)"
        ),
    );
    assert_eq!(status, Some(0), "{v}");
    assert_eq!(env.json(&["log", "--check"])["intact"], true);
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
