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

use super::url::PgUrl;

/// Everything of totpctl's schema and tables, one row per object: its kind, its
/// name, and what decides how it behaves (built-in type OIDs and access methods are
/// fixed by PostgreSQL; operator classes are named, since some are not).
pub(super) const QUERY: &str = "
WITH ns AS (
    SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = 'totpctl'
), rel AS (
    SELECT c.oid, c.relname, c.relkind, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,
           c.relispartition, c.reloftype, c.relam
      FROM pg_catalog.pg_class c WHERE c.relnamespace = (SELECT oid FROM ns)
)
SELECT 'relation' AS kind, r.relname::text AS name,
       pg_catalog.format('kind=%s persistence=%s row_security=%s/%s partition=%s of_type=%s \
access_method=%s', r.relkind, r.relpersistence, r.relrowsecurity, r.relforcerowsecurity,
                 r.relispartition, r.reloftype, r.relam) AS detail
  FROM rel r
UNION ALL
SELECT 'column', a.attrelid::pg_catalog.regclass::text || '.' || a.attname::text,
       pg_catalog.format('position=%s type=%s type_oid=%s typmod=%s not_null=%s collation=%s \
generated=%s identity=%s default=%s', a.attnum, a.atttypid::pg_catalog.regtype, a.atttypid,
                 a.atttypmod, a.attnotnull, a.attcollation, a.attgenerated, a.attidentity,
                 (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
                   FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum))
  FROM pg_catalog.pg_attribute a
 WHERE a.attrelid IN (SELECT oid FROM rel WHERE relkind = 'r') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'index', i.relname::text,
       pg_catalog.format('on=%s columns=%s classes=%s collations=%s unique=%s primary=%s \
valid=%s expressions=%s where=%s', x.indrelid::pg_catalog.regclass, x.indkey,
                 (SELECT pg_catalog.string_agg(o.opcname::text, ',' ORDER BY u.n)
                    FROM pg_catalog.unnest(x.indclass::pg_catalog.oid[]) WITH ORDINALITY u(oid, n)
                    JOIN pg_catalog.pg_opclass o ON o.oid = u.oid),
                 x.indcollation, x.indisunique, x.indisprimary,
                 x.indisvalid AND x.indisready AND x.indislive,
                 pg_catalog.pg_get_expr(x.indexprs, x.indrelid),
                 pg_catalog.pg_get_expr(x.indpred, x.indrelid))
  FROM pg_catalog.pg_index x JOIN rel i ON i.oid = x.indexrelid
UNION ALL
SELECT 'constraint', r.relname::text || '.' || c.conname::text,
       pg_catalog.format('type=%s columns=%s references=%s referenced=%s on_delete=%s \
on_update=%s deferrable=%s deferred=%s validated=%s check=%s', c.contype, c.conkey,
                 NULLIF(c.confrelid, 0)::pg_catalog.regclass, c.confkey, c.confdeltype,
                 c.confupdtype, c.condeferrable, c.condeferred, c.convalidated,
                 pg_catalog.pg_get_expr(c.conbin, c.conrelid))
  FROM pg_catalog.pg_constraint c JOIN rel r ON r.oid = c.conrelid
 WHERE c.contype <> 'n'
UNION ALL
SELECT 'trigger', g.tgrelid::pg_catalog.regclass::text || '.' || g.tgname::text, g.tgenabled::text
  FROM pg_catalog.pg_trigger g
 WHERE g.tgrelid IN (SELECT oid FROM rel)
   AND (NOT g.tgisinternal OR g.tgenabled <> 'O' OR g.tgconstrrelid NOT IN (SELECT oid FROM rel))
UNION ALL
SELECT 'reference', c.conrelid::pg_catalog.regclass::text || '.' || c.conname::text,
       'to ' || c.confrelid::pg_catalog.regclass::text
  FROM pg_catalog.pg_constraint c
 WHERE c.confrelid IN (SELECT oid FROM rel) AND c.conrelid NOT IN (SELECT oid FROM rel)
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
const EXPECTED: &str = "\
column totpctl.backup_codes.hash position=2 type=bytea type_oid=17 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.backup_codes.totp_id position=1 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.backup_codes.used_at position=3 type=text type_oid=25 typmod=-1 not_null=f collation=100 generated= identity= default=
column totpctl.config.key position=1 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.config.value position=2 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.events.account position=4 type=text type_oid=25 typmod=-1 not_null=f collation=100 generated= identity= default=
column totpctl.events.actor position=7 type=text type_oid=25 typmod=-1 not_null=f collation=100 generated= identity= default=
column totpctl.events.at position=2 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.events.detail position=6 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.events.event position=3 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.events.hash position=9 type=bytea type_oid=17 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.events.mac position=10 type=bytea type_oid=17 typmod=-1 not_null=f collation=0 generated= identity= default=
column totpctl.events.seq position=1 type=bigint type_oid=20 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.events.state position=8 type=bytea type_oid=17 typmod=-1 not_null=f collation=0 generated= identity= default=
column totpctl.events.totp_id position=5 type=text type_oid=25 typmod=-1 not_null=f collation=100 generated= identity= default=
column totpctl.log_head.hash position=3 type=bytea type_oid=17 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.log_head.id position=1 type=integer type_oid=23 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.log_head.mac position=4 type=bytea type_oid=17 typmod=-1 not_null=f collation=0 generated= identity= default=
column totpctl.log_head.seq position=2 type=bigint type_oid=20 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.meta.key position=1 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.meta.value position=2 type=bytea type_oid=17 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.migrations.applied_at position=2 type=timestamp with time zone type_oid=1184 typmod=-1 not_null=t collation=0 generated= identity= default=now()
column totpctl.migrations.version position=1 type=bigint type_oid=20 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.tokens.created_at position=4 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.tokens.expires_at position=5 type=text type_oid=25 typmod=-1 not_null=f collation=100 generated= identity= default=
column totpctl.tokens.hash position=2 type=bytea type_oid=17 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.tokens.last_used_at position=6 type=text type_oid=25 typmod=-1 not_null=f collation=100 generated= identity= default=
column totpctl.tokens.mac position=7 type=bytea type_oid=17 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.tokens.name position=1 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.tokens.scopes position=3 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.totps.account position=2 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.totps.algorithm position=4 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.totps.created_at position=13 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.totps.digits position=5 type=integer type_oid=23 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.totps.failed_attempts position=11 type=integer type_oid=23 typmod=-1 not_null=t collation=0 generated= identity= default=0
column totpctl.totps.id position=1 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.totps.issuer position=3 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.totps.last_step position=9 type=bigint type_oid=20 typmod=-1 not_null=f collation=0 generated= identity= default=
column totpctl.totps.last_used_at position=10 type=text type_oid=25 typmod=-1 not_null=f collation=100 generated= identity= default=
column totpctl.totps.locked_until position=12 type=text type_oid=25 typmod=-1 not_null=f collation=100 generated= identity= default=
column totpctl.totps.mac position=15 type=bytea type_oid=17 typmod=-1 not_null=f collation=0 generated= identity= default=
column totpctl.totps.period position=6 type=integer type_oid=23 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.totps.secret position=7 type=bytea type_oid=17 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.totps.skeleton position=16 type=text type_oid=25 typmod=-1 not_null=f collation=100 generated= identity= default=
column totpctl.totps.updated_at position=14 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.totps.verified position=8 type=boolean type_oid=16 typmod=-1 not_null=t collation=0 generated= identity= default=false
column totpctl.vault.id position=1 type=integer type_oid=23 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.vault.kdf position=3 type=text type_oid=25 typmod=-1 not_null=f collation=100 generated= identity= default=
column totpctl.vault.protection position=2 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.vault.salt position=4 type=bytea type_oid=17 typmod=-1 not_null=f collation=0 generated= identity= default=
column totpctl.vault.updated_at position=7 type=text type_oid=25 typmod=-1 not_null=t collation=100 generated= identity= default=
column totpctl.vault.version position=6 type=bigint type_oid=20 typmod=-1 not_null=t collation=0 generated= identity= default=
column totpctl.vault.wrapped position=5 type=bytea type_oid=17 typmod=-1 not_null=t collation=0 generated= identity= default=
constraint backup_codes.backup_codes_pkey type=p columns={1,2} references= referenced= on_delete=  on_update=  deferrable=f deferred=f validated=t check=
constraint backup_codes.backup_codes_totp_id_fkey type=f columns={1} references=totpctl.totps referenced={1} on_delete=c on_update=a deferrable=f deferred=f validated=t check=
constraint config.config_pkey type=p columns={1} references= referenced= on_delete=  on_update=  deferrable=f deferred=f validated=t check=
constraint events.events_pkey type=p columns={1} references= referenced= on_delete=  on_update=  deferrable=f deferred=f validated=t check=
constraint log_head.log_head_id_check type=c columns={1} references= referenced= on_delete=  on_update=  deferrable=f deferred=f validated=t check=(id = 1)
constraint log_head.log_head_pkey type=p columns={1} references= referenced= on_delete=  on_update=  deferrable=f deferred=f validated=t check=
constraint meta.meta_pkey type=p columns={1} references= referenced= on_delete=  on_update=  deferrable=f deferred=f validated=t check=
constraint migrations.migrations_pkey type=p columns={1} references= referenced= on_delete=  on_update=  deferrable=f deferred=f validated=t check=
constraint tokens.tokens_hash_key type=u columns={2} references= referenced= on_delete=  on_update=  deferrable=f deferred=f validated=t check=
constraint tokens.tokens_pkey type=p columns={1} references= referenced= on_delete=  on_update=  deferrable=f deferred=f validated=t check=
constraint totps.totps_account_key type=u columns={2} references= referenced= on_delete=  on_update=  deferrable=f deferred=f validated=t check=
constraint totps.totps_pkey type=p columns={1} references= referenced= on_delete=  on_update=  deferrable=f deferred=f validated=t check=
constraint vault.vault_id_check type=c columns={1} references= referenced= on_delete=  on_update=  deferrable=f deferred=f validated=t check=(id = 1)
constraint vault.vault_pkey type=p columns={1} references= referenced= on_delete=  on_update=  deferrable=f deferred=f validated=t check=
index backup_codes_pkey on=totpctl.backup_codes columns=1 2 classes=text_ops,bytea_ops collations=100 0 unique=t primary=t valid=t expressions= where=
index config_pkey on=totpctl.config columns=1 classes=text_ops collations=100 unique=t primary=t valid=t expressions= where=
index events_account on=totpctl.events columns=4 classes=text_ops collations=100 unique=f primary=f valid=t expressions= where=
index events_at on=totpctl.events columns=2 classes=text_ops collations=100 unique=f primary=f valid=t expressions= where=
index events_config_changes on=totpctl.events columns=1 classes=int8_ops collations=0 unique=f primary=f valid=t expressions= where=(event = 'config_changed'::text)
index events_pkey on=totpctl.events columns=1 classes=int8_ops collations=0 unique=t primary=t valid=t expressions= where=
index events_restores on=totpctl.events columns=1 classes=int8_ops collations=0 unique=f primary=f valid=t expressions= where=(event = 'restore_accepted'::text)
index events_tokens on=totpctl.events columns=1 classes=int8_ops collations=0 unique=f primary=f valid=t expressions= where=(event = ANY (ARRAY['token_created'::text, 'token_revoked'::text]))
index events_totp on=totpctl.events columns=5 1 classes=text_ops,int8_ops collations=100 0 unique=f primary=f valid=t expressions= where=
index log_head_pkey on=totpctl.log_head columns=1 classes=int4_ops collations=0 unique=t primary=t valid=t expressions= where=
index meta_pkey on=totpctl.meta columns=1 classes=text_ops collations=100 unique=t primary=t valid=t expressions= where=
index migrations_pkey on=totpctl.migrations columns=1 classes=int8_ops collations=0 unique=t primary=t valid=t expressions= where=
index tokens_hash_key on=totpctl.tokens columns=2 classes=bytea_ops collations=0 unique=t primary=f valid=t expressions= where=
index tokens_pkey on=totpctl.tokens columns=1 classes=text_ops collations=100 unique=t primary=t valid=t expressions= where=
index totps_account_key on=totpctl.totps columns=2 classes=text_ops collations=100 unique=t primary=f valid=t expressions= where=
index totps_issuer on=totpctl.totps columns=0 2 classes=text_ops,text_ops collations=100 100 unique=f primary=f valid=t expressions=lower(issuer) where=
index totps_locked on=totpctl.totps columns=12 classes=text_ops collations=100 unique=f primary=f valid=t expressions= where=(locked_until IS NOT NULL)
index totps_pkey on=totpctl.totps columns=1 classes=text_ops collations=100 unique=t primary=t valid=t expressions= where=
index totps_skeleton on=totpctl.totps columns=16 classes=text_ops collations=100 unique=f primary=f valid=t expressions= where=
index vault_pkey on=totpctl.vault columns=1 classes=int4_ops collations=0 unique=t primary=t valid=t expressions= where=
relation backup_codes kind=r persistence=p row_security=f/f partition=f of_type=0 access_method=2
relation backup_codes_pkey kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation config kind=r persistence=p row_security=f/f partition=f of_type=0 access_method=2
relation config_pkey kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation events kind=r persistence=p row_security=f/f partition=f of_type=0 access_method=2
relation events_account kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation events_at kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation events_config_changes kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation events_pkey kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation events_restores kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation events_tokens kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation events_totp kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation log_head kind=r persistence=p row_security=f/f partition=f of_type=0 access_method=2
relation log_head_pkey kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation meta kind=r persistence=p row_security=f/f partition=f of_type=0 access_method=2
relation meta_pkey kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation migrations kind=r persistence=p row_security=f/f partition=f of_type=0 access_method=2
relation migrations_pkey kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation tokens kind=r persistence=p row_security=f/f partition=f of_type=0 access_method=2
relation tokens_hash_key kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation tokens_pkey kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation totps kind=r persistence=p row_security=f/f partition=f of_type=0 access_method=2
relation totps_account_key kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation totps_issuer kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation totps_locked kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation totps_pkey kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation totps_skeleton kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
relation vault kind=r persistence=p row_security=f/f partition=f of_type=0 access_method=2
relation vault_pkey kind=i persistence=p row_security=f/f partition=f of_type=0 access_method=403
";

/// The objects version 2 added: left out of what a version 1 store must have.
/// [`EXPECTED`] as (kind, name, detail), one object a line.
fn expected() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    EXPECTED.lines().filter_map(|line| {
        let (kind, rest) = line.split_once(' ')?;
        let (name, detail) = rest.split_once(' ').unwrap_or((rest, ""));
        Some((kind, name, detail))
    })
}

const ADDED_IN_2: &[&str] = &[
    "totpctl.totps.skeleton",
    "totps_skeleton",
    "events_restores",
];

/// The objects version 3 added (the API tokens): left out of what an older store
/// must have.
fn added_in_3(name: &str) -> bool {
    matches!(
        name,
        "tokens" | "tokens_pkey" | "tokens_hash_key" | "events_tokens"
    ) || name.starts_with("totpctl.tokens.")
        || name.starts_with("tokens.")
}

/// The session settings [`QUERY`] reports, as `session_options` sets them.
const SETTINGS: &str = "pg_catalog,pg_temp on off off origin";

/// Checks the store's definitions outside a transaction (before a migration).
pub fn check(client: &mut postgres::Client, url: &PgUrl, version: i64) -> Result<()> {
    check_in(client, url, version)
}

/// Checks the store's definitions in the transaction (or on the client) given.
pub fn check_in(client: &mut impl GenericClient, url: &PgUrl, version: i64) -> Result<()> {
    let rows = client.query(QUERY, &[]).map_err(|e| waiting(url, e))?;
    check_rows(&rows, url, version)
}

/// What a failed catalog query waited for.
pub(super) fn waiting(url: &PgUrl, e: postgres::Error) -> anyhow::Error {
    super::connect::pg_err_waiting(
        url,
        e,
        "the locks on totpctl's tables, to check their definitions",
    )
}

/// Checks the rows of [`QUERY`] (run by the caller, perhaps as a statement it
/// prepared once) against the schema `version` has.
pub(super) fn check_rows(rows: &[postgres::Row], url: &PgUrl, version: i64) -> Result<()> {
    let mut found: Vec<(String, String, String)> = Vec::with_capacity(rows.len());
    let mut settings = String::new();
    for row in rows {
        let (kind, name, detail): (String, String, Option<String>) =
            (row.get(0), row.get(1), row.get(2));
        if kind == "setting" {
            settings = detail.unwrap_or_default();
        } else {
            found.push((kind, name, detail.unwrap_or_default()));
        }
    }
    found.sort();
    let expected: Vec<(&str, &str, &str)> = expected()
        .filter(|(_, name, _)| version >= 2 || !ADDED_IN_2.contains(name))
        .filter(|(_, name, _)| version >= 3 || !added_in_3(name))
        .collect();
    let mut problems = Vec::new();
    if settings != SETTINGS {
        problems.push(format!(
            "the session's settings are {:?}, not the {SETTINGS:?} totpctl set: the server \
             changed them (search_path, synchronous_commit, row_security, \
             transform_null_equals, session_replication_role)",
            crate::base::text::sanitize(&settings)
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
    if problems.is_empty() || super::super::engine::schema_check_skipped() {
        return Ok(());
    }
    Err(crate::base::error::integrity_error(format!(
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
    let name = |s: &str| crate::base::text::sanitize(s);
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
