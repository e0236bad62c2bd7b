//! The PostgreSQL store's own definitions, checked against exactly what this version
//! creates, at the start of every transaction (see `Engine` in engine.rs).
//!
//! A database writer who owns the schema could otherwise make the store behave
//! differently without touching a row: a trigger that puts a row back, a rule or a
//! policy that hides one, a column retyped to a domain with its own `=`, a child table
//! that adds rows to a read, an unlogged table that loses accepted codes on a crash.
//! One catalog query lists everything of totpctl's schema, and everything attached to
//! its tables, with what decides how it behaves; it must be exactly [`EXPECTED`] (less
//! what later versions added, for an older store being migrated). The session's
//! settings are checked with it. Measured in BENCHMARKS.md ("The schema check").

use anyhow::Result;
use postgres::GenericClient;

use super::postgres_url::PgUrl;

/// Everything of totpctl's schema and tables, one row per object: its kind, its
/// name, and what decides how it behaves (built-in type OIDs and access methods are
/// fixed by PostgreSQL; operator classes are named, since some are not).
const QUERY: &str = "
WITH ns AS (
    SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = 'totpctl'
), rel AS (
    SELECT c.oid, c.relname, c.relkind, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,
           c.relispartition, c.reloftype, c.relam
      FROM pg_catalog.pg_class c WHERE c.relnamespace = (SELECT oid FROM ns)
)
SELECT 'relation' AS kind, r.relname::text AS name,
       concat_ws(' ', r.relkind, r.relpersistence, r.relrowsecurity, r.relforcerowsecurity,
                 r.relispartition, r.reloftype, r.relam) AS detail
  FROM rel r
UNION ALL
SELECT 'column', a.attrelid::pg_catalog.regclass::text || '.' || a.attname::text,
       concat_ws(' ', a.attnum, a.atttypid, a.atttypmod, a.attnotnull, a.attcollation,
                 a.atthasdef, a.attgenerated, a.attidentity,
                 CASE WHEN a.atthasdef THEN (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
                   FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum) END)
  FROM pg_catalog.pg_attribute a
 WHERE a.attrelid IN (SELECT oid FROM rel WHERE relkind = 'r') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index', i.relname::text,
       concat_ws(' ', x.indrelid::pg_catalog.regclass, x.indkey,
                 (SELECT pg_catalog.string_agg(o.opcname::text, ',' ORDER BY u.n)
                    FROM pg_catalog.unnest(x.indclass::pg_catalog.oid[]) WITH ORDINALITY u(oid, n)
                    JOIN pg_catalog.pg_opclass o ON o.oid = u.oid),
                 x.indcollation,
                 x.indisunique, x.indisprimary, x.indisvalid AND x.indisready AND x.indislive,
                 pg_catalog.pg_get_expr(x.indexprs, x.indrelid), pg_catalog.pg_get_expr(x.indpred, x.indrelid))
  FROM pg_catalog.pg_index x JOIN rel i ON i.oid = x.indexrelid
UNION ALL
SELECT 'constraint', r.relname::text || '.' || c.conname::text,
       concat_ws(' ', c.contype, c.conkey, c.confrelid::pg_catalog.regclass, c.confkey, c.confdeltype,
                 c.confupdtype, c.condeferrable, c.condeferred, c.convalidated,
                 pg_catalog.pg_get_expr(c.conbin, c.conrelid))
  FROM pg_catalog.pg_constraint c JOIN rel r ON r.oid = c.conrelid
 WHERE c.contype <> 'n'
UNION ALL
SELECT 'trigger', g.tgrelid::pg_catalog.regclass::text || '.' || g.tgname::text, g.tgenabled::text
  FROM pg_catalog.pg_trigger g
 WHERE g.tgrelid IN (SELECT oid FROM rel) AND (NOT g.tgisinternal OR g.tgenabled <> 'O')
UNION ALL
SELECT 'rule', w.ev_class::pg_catalog.regclass::text || '.' || w.rulename::text, ''
  FROM pg_catalog.pg_rewrite w WHERE w.ev_class IN (SELECT oid FROM rel)
UNION ALL
SELECT 'policy', p.polrelid::pg_catalog.regclass::text || '.' || p.polname::text, ''
  FROM pg_catalog.pg_policy p WHERE p.polrelid IN (SELECT oid FROM rel)
UNION ALL
SELECT 'inheritance', h.inhrelid::pg_catalog.regclass::text, h.inhparent::pg_catalog.regclass::text
  FROM pg_catalog.pg_inherits h
 WHERE h.inhparent IN (SELECT oid FROM rel) OR h.inhrelid IN (SELECT oid FROM rel)
UNION ALL
SELECT 'function', p.proname::text, '' FROM pg_catalog.pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'operator', o.oprname::text, '' FROM pg_catalog.pg_operator o WHERE o.oprnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'type', t.typname::text, t.typtype::text
  FROM pg_catalog.pg_type t
 WHERE t.typnamespace = (SELECT oid FROM ns) AND t.typtype <> 'c' AND t.typcategory <> 'A'
UNION ALL
SELECT 'collation', c.collname::text, '' FROM pg_catalog.pg_collation c WHERE c.collnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'operator class', c.opcname::text, '' FROM pg_catalog.pg_opclass c WHERE c.opcnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'operator family', f.opfname::text, '' FROM pg_catalog.pg_opfamily f WHERE f.opfnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'conversion', c.conname::text, '' FROM pg_catalog.pg_conversion c WHERE c.connamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'text search', c.cfgname::text, '' FROM pg_catalog.pg_ts_config c WHERE c.cfgnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'text search', d.dictname::text, '' FROM pg_catalog.pg_ts_dict d WHERE d.dictnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'text search', p.prsname::text, '' FROM pg_catalog.pg_ts_parser p WHERE p.prsnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'text search', t.tmplname::text, '' FROM pg_catalog.pg_ts_template t WHERE t.tmplnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'statistics', s.stxname::text, '' FROM pg_catalog.pg_statistic_ext s WHERE s.stxnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'extension', e.extname::text, '' FROM pg_catalog.pg_extension e WHERE e.extnamespace = (SELECT oid FROM ns)
UNION ALL
SELECT 'constraint', c.conname::text, 'of a type' FROM pg_catalog.pg_constraint c
 WHERE c.connamespace = (SELECT oid FROM ns) AND c.conrelid = 0
UNION ALL
SELECT 'setting', 'session', concat_ws(' ', pg_catalog.current_setting('search_path'),
       pg_catalog.current_setting('synchronous_commit'), pg_catalog.current_setting('row_security'),
       pg_catalog.current_setting('transform_null_equals'), pg_catalog.current_setting('session_replication_role'))
";

/// What [`QUERY`] finds in a store of this build's version, in its order of kind and
/// name (generated from a fresh store; `totpctl` names the differences).
const EXPECTED: &[(&str, &str, &str)] = &[
    ("column", "totpctl.backup_codes.hash", "2 17 -1 t 0 f  "),
    (
        "column",
        "totpctl.backup_codes.totp_id",
        "1 25 -1 t 100 f  ",
    ),
    (
        "column",
        "totpctl.backup_codes.used_at",
        "3 25 -1 f 100 f  ",
    ),
    ("column", "totpctl.config.key", "1 25 -1 t 100 f  "),
    ("column", "totpctl.config.value", "2 25 -1 t 100 f  "),
    ("column", "totpctl.events.account", "4 25 -1 f 100 f  "),
    ("column", "totpctl.events.actor", "7 25 -1 f 100 f  "),
    ("column", "totpctl.events.at", "2 25 -1 t 100 f  "),
    ("column", "totpctl.events.detail", "6 25 -1 t 100 f  "),
    ("column", "totpctl.events.event", "3 25 -1 t 100 f  "),
    ("column", "totpctl.events.hash", "9 17 -1 t 0 f  "),
    ("column", "totpctl.events.mac", "10 17 -1 f 0 f  "),
    ("column", "totpctl.events.seq", "1 20 -1 t 0 f  "),
    ("column", "totpctl.events.state", "8 17 -1 f 0 f  "),
    ("column", "totpctl.events.totp_id", "5 25 -1 f 100 f  "),
    ("column", "totpctl.log_head.hash", "3 17 -1 t 0 f  "),
    ("column", "totpctl.log_head.id", "1 23 -1 t 0 f  "),
    ("column", "totpctl.log_head.mac", "4 17 -1 f 0 f  "),
    ("column", "totpctl.log_head.seq", "2 20 -1 t 0 f  "),
    ("column", "totpctl.meta.key", "1 25 -1 t 100 f  "),
    ("column", "totpctl.meta.value", "2 17 -1 t 0 f  "),
    (
        "column",
        "totpctl.migrations.applied_at",
        "2 1184 -1 t 0 t   now()",
    ),
    ("column", "totpctl.migrations.version", "1 20 -1 t 0 f  "),
    ("column", "totpctl.totps.account", "2 25 -1 t 100 f  "),
    ("column", "totpctl.totps.algorithm", "4 25 -1 t 100 f  "),
    ("column", "totpctl.totps.created_at", "13 25 -1 t 100 f  "),
    ("column", "totpctl.totps.digits", "5 23 -1 t 0 f  "),
    (
        "column",
        "totpctl.totps.failed_attempts",
        "11 23 -1 t 0 t   0",
    ),
    ("column", "totpctl.totps.id", "1 25 -1 t 100 f  "),
    ("column", "totpctl.totps.issuer", "3 25 -1 t 100 f  "),
    ("column", "totpctl.totps.last_step", "9 20 -1 f 0 f  "),
    ("column", "totpctl.totps.last_used_at", "10 25 -1 f 100 f  "),
    ("column", "totpctl.totps.locked_until", "12 25 -1 f 100 f  "),
    ("column", "totpctl.totps.mac", "15 17 -1 f 0 f  "),
    ("column", "totpctl.totps.period", "6 23 -1 t 0 f  "),
    ("column", "totpctl.totps.secret", "7 17 -1 t 0 f  "),
    ("column", "totpctl.totps.skeleton", "16 25 -1 f 100 f  "),
    ("column", "totpctl.totps.updated_at", "14 25 -1 t 100 f  "),
    ("column", "totpctl.totps.verified", "8 16 -1 t 0 t   false"),
    ("column", "totpctl.vault.id", "1 23 -1 t 0 f  "),
    ("column", "totpctl.vault.kdf", "3 25 -1 f 100 f  "),
    ("column", "totpctl.vault.protection", "2 25 -1 t 100 f  "),
    ("column", "totpctl.vault.salt", "4 17 -1 f 0 f  "),
    ("column", "totpctl.vault.updated_at", "7 25 -1 t 100 f  "),
    ("column", "totpctl.vault.version", "6 20 -1 t 0 f  "),
    ("column", "totpctl.vault.wrapped", "5 17 -1 t 0 f  "),
    (
        "constraint",
        "backup_codes.backup_codes_pkey",
        "p {1,2} -     f f t",
    ),
    (
        "constraint",
        "backup_codes.backup_codes_totp_id_fkey",
        "f {1} totpctl.totps {1} c a f f t",
    ),
    ("constraint", "config.config_pkey", "p {1} -     f f t"),
    ("constraint", "events.events_pkey", "p {1} -     f f t"),
    (
        "constraint",
        "log_head.log_head_id_check",
        "c {1} -     f f t (id = 1)",
    ),
    ("constraint", "log_head.log_head_pkey", "p {1} -     f f t"),
    ("constraint", "meta.meta_pkey", "p {1} -     f f t"),
    (
        "constraint",
        "migrations.migrations_pkey",
        "p {1} -     f f t",
    ),
    ("constraint", "totps.totps_account_key", "u {2} -     f f t"),
    ("constraint", "totps.totps_pkey", "p {1} -     f f t"),
    (
        "constraint",
        "vault.vault_id_check",
        "c {1} -     f f t (id = 1)",
    ),
    ("constraint", "vault.vault_pkey", "p {1} -     f f t"),
    (
        "index",
        "backup_codes_pkey",
        "totpctl.backup_codes 1 2 text_ops,bytea_ops 100 0 t t t",
    ),
    (
        "index",
        "config_pkey",
        "totpctl.config 1 text_ops 100 t t t",
    ),
    (
        "index",
        "events_account",
        "totpctl.events 4 text_ops 100 f f t",
    ),
    ("index", "events_at", "totpctl.events 2 text_ops 100 f f t"),
    (
        "index",
        "events_config_changes",
        "totpctl.events 1 int8_ops 0 f f t (event = 'config_changed'::text)",
    ),
    ("index", "events_pkey", "totpctl.events 1 int8_ops 0 t t t"),
    (
        "index",
        "events_totp",
        "totpctl.events 5 1 text_ops,int8_ops 100 0 f f t",
    ),
    (
        "index",
        "log_head_pkey",
        "totpctl.log_head 1 int4_ops 0 t t t",
    ),
    ("index", "meta_pkey", "totpctl.meta 1 text_ops 100 t t t"),
    (
        "index",
        "migrations_pkey",
        "totpctl.migrations 1 int8_ops 0 t t t",
    ),
    (
        "index",
        "totps_account_key",
        "totpctl.totps 2 text_ops 100 t f t",
    ),
    (
        "index",
        "totps_issuer",
        "totpctl.totps 0 2 text_ops,text_ops 100 100 f f t lower(issuer)",
    ),
    (
        "index",
        "totps_locked",
        "totpctl.totps 12 text_ops 100 f f t (locked_until IS NOT NULL)",
    ),
    ("index", "totps_pkey", "totpctl.totps 1 text_ops 100 t t t"),
    (
        "index",
        "totps_skeleton",
        "totpctl.totps 16 text_ops 100 f f t",
    ),
    ("index", "vault_pkey", "totpctl.vault 1 int4_ops 0 t t t"),
    ("relation", "backup_codes", "r p f f f 0 2"),
    ("relation", "backup_codes_pkey", "i p f f f 0 403"),
    ("relation", "config", "r p f f f 0 2"),
    ("relation", "config_pkey", "i p f f f 0 403"),
    ("relation", "events", "r p f f f 0 2"),
    ("relation", "events_account", "i p f f f 0 403"),
    ("relation", "events_at", "i p f f f 0 403"),
    ("relation", "events_config_changes", "i p f f f 0 403"),
    ("relation", "events_pkey", "i p f f f 0 403"),
    ("relation", "events_totp", "i p f f f 0 403"),
    ("relation", "log_head", "r p f f f 0 2"),
    ("relation", "log_head_pkey", "i p f f f 0 403"),
    ("relation", "meta", "r p f f f 0 2"),
    ("relation", "meta_pkey", "i p f f f 0 403"),
    ("relation", "migrations", "r p f f f 0 2"),
    ("relation", "migrations_pkey", "i p f f f 0 403"),
    ("relation", "totps", "r p f f f 0 2"),
    ("relation", "totps_account_key", "i p f f f 0 403"),
    ("relation", "totps_issuer", "i p f f f 0 403"),
    ("relation", "totps_locked", "i p f f f 0 403"),
    ("relation", "totps_pkey", "i p f f f 0 403"),
    ("relation", "totps_skeleton", "i p f f f 0 403"),
    ("relation", "vault", "r p f f f 0 2"),
    ("relation", "vault_pkey", "i p f f f 0 403"),
];

/// The objects version 2 added: left out of what a version 1 store must have.
const ADDED_IN_2: &[&str] = &["totpctl.totps.skeleton", "totps_skeleton"];

/// The session settings [`QUERY`] reports, as `session_options` sets them.
const SETTINGS: &str = "pg_catalog,pg_temp on off off origin";

/// Checks the store's definitions outside a transaction (before a migration).
pub fn check(client: &mut postgres::Client, url: &PgUrl, version: i64) -> Result<()> {
    check_in(client, url, version)
}

/// Checks the store's definitions in the transaction (or on the client) given.
pub fn check_in(client: &mut impl GenericClient, url: &PgUrl, version: i64) -> Result<()> {
    let rows = client
        .query(QUERY, &[])
        .map_err(|e| super::postgres::pg_err_waiting(url, e, "the check of totpctl's schema"))?;
    let mut found: Vec<(String, String, String)> = Vec::with_capacity(rows.len());
    let mut settings = String::new();
    for row in &rows {
        let (kind, name, detail): (String, String, Option<String>) =
            (row.get(0), row.get(1), row.get(2));
        if kind == "setting" {
            settings = detail.unwrap_or_default();
        } else {
            found.push((kind, name, detail.unwrap_or_default()));
        }
    }
    found.sort();
    let expected: Vec<(&str, &str, &str)> = EXPECTED
        .iter()
        .copied()
        .filter(|(_, name, _)| version >= 2 || !ADDED_IN_2.contains(name))
        .collect();
    let mut problems = Vec::new();
    if settings != SETTINGS {
        problems.push(format!(
            "the session's settings are {:?}, not the {SETTINGS:?} totpctl set: the server \
             changed them (search_path, synchronous_commit, row_security, \
             transform_null_equals, session_replication_role)",
            crate::output::sanitize(&settings)
        ));
    }
    let same = found.len() == expected.len()
        && found
            .iter()
            .zip(&expected)
            .all(|(f, e)| f.0 == e.0 && f.1 == e.1 && f.2 == e.2);
    if !same {
        problems.extend(differences(&expected, &found));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(crate::error::integrity_error(format!(
        "{}: the store's schema is not the one totpctl creates: {}; a database writer may have \
         changed how it behaves, so nothing was read or written; restore it from a backup, \
         or remove what was added (and give totpctl a role that cannot change its schema: see \
         the README)",
        url.redacted(),
        problems.join("; ")
    )))
}

/// Each object found that is not expected or differs, then each missing.
fn differences(expected: &[(&str, &str, &str)], found: &[(String, String, String)]) -> Vec<String> {
    let name = |s: &str| crate::output::sanitize(s);
    let mut parts = Vec::new();
    for (kind, n, detail) in found {
        match expected.iter().find(|e| e.0 == kind && e.1 == n) {
            None => parts.push(format!("{kind} {} is not one totpctl creates", name(n))),
            Some(e) if e.2 != detail => parts.push(format!(
                "{kind} {} was changed ({}, not {})",
                name(n),
                name(detail.trim()),
                e.2.trim()
            )),
            Some(_) => {}
        }
    }
    for (kind, n, _) in expected {
        if !found.iter().any(|f| f.0 == *kind && f.1 == *n) {
            parts.push(format!("{kind} {n} is missing"));
        }
    }
    parts
}
