-- Redshift's system views, created once per database by the administrator, in the schema redshift_system, which
-- every database puts on its search path after "$user" and public (Redshift has them in pg_catalog, always on the
-- path). The two tables behind them (what CREATE TABLE declared, the statements run) are the administrator's: the
-- statements' role reads them through the views and writes table attributes through a checked function only.
CREATE SCHEMA IF NOT EXISTS redshift_system;
GRANT USAGE ON SCHEMA redshift_system TO PUBLIC;

DO $do$ BEGIN
    EXECUTE format('ALTER DATABASE %I SET search_path = "$user", public, redshift_system', current_database());
END $do$;

-- What a CREATE TABLE declared and PostgreSQL has no place for, by table oid (a rename keeps it; rows of dropped
-- tables are ignored by the views and purged at the next record). sortkey_style: COMPOUND, INTERLEAVED or AUTO;
-- diststyle: EVEN, KEY, ALL or AUTO; NULL where nothing was declared. encodings: column name -> ENCODE keyword.
CREATE TABLE IF NOT EXISTS redshift_system.table_attributes (
    table_oid oid PRIMARY KEY,
    diststyle text,
    distkey text,
    sortkey_style text,
    sortkey text[] NOT NULL DEFAULT '{}',
    encodings jsonb NOT NULL DEFAULT '{}'
);
REVOKE ALL ON redshift_system.table_attributes FROM PUBLIC;

-- Records the attributes of the table `tbl` just created (its owner only); `replace` is false for CREATE TABLE IF
-- NOT EXISTS, which leaves an existing table's declaration as it was.
CREATE OR REPLACE FUNCTION redshift_system.record_table_attributes(
    tbl regclass, replace boolean, p_diststyle text, p_distkey text, p_sortkey_style text, p_sortkey text[],
    p_columns text[], p_encodings text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF tbl IS NULL OR NOT pg_has_role(session_user,
            (SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RETURN;
    END IF;
    DELETE FROM redshift_system.table_attributes a
    WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = a.table_oid);
    INSERT INTO redshift_system.table_attributes AS a
    VALUES (tbl, p_diststyle, p_distkey, p_sortkey_style, coalesce(p_sortkey, '{}'),
            coalesce(jsonb_object(p_columns, p_encodings), '{}'))
    ON CONFLICT (table_oid) DO UPDATE
        SET diststyle = excluded.diststyle, distkey = excluded.distkey, sortkey_style = excluded.sortkey_style,
            sortkey = excluded.sortkey, encodings = excluded.encodings
        WHERE replace;
END
$fn$;

-- The statements this server ran (written by the engine over the administrator's connection, not the statement's,
-- so a rolled-back transaction keeps its history as Redshift's does).
CREATE TABLE IF NOT EXISTS redshift_system.query_history (
    query_id bigint PRIMARY KEY,
    user_name text NOT NULL,
    user_id integer,
    database_name text NOT NULL,
    session_pid integer,
    query_type text NOT NULL,
    status text NOT NULL,
    start_time timestamp NOT NULL,
    end_time timestamp,
    error_message text,
    returned_rows bigint,
    query_text text NOT NULL
);
REVOKE ALL ON redshift_system.query_history FROM PUBLIC;

-- One row per user table column with what CREATE TABLE declared or Redshift would assign. The encoding of a column
-- nobody gave one is the one Redshift assigns ("Compression encodings": sort key columns and BOOLEAN, REAL,
-- DOUBLE PRECISION raw, integers/DECIMAL/DATE/TIMESTAMP[TZ] az64, CHAR/VARCHAR lzo). Interleaved sort key
-- positions alternate in sign ("PG_TABLE_DEF"), here from -1.
CREATE OR REPLACE VIEW redshift_system.column_attributes AS
SELECT c.oid AS table_oid, n.nspname AS schemaname, c.relname AS tablename, a.attnum, a.attname,
       a.atttypid, a.atttypmod, a.attnotnull,
       coalesce(a.attname = t.distkey, false) AS distkey,
       CAST(CASE WHEN k.pos IS NULL THEN 0
                 WHEN t.sortkey_style = 'INTERLEAVED' AND k.pos % 2 = 1 THEN -k.pos
                 ELSE k.pos END AS integer) AS sortkey,
       CASE WHEN t.encodings ? a.attname THEN lower(t.encodings ->> a.attname)
            WHEN k.pos IS NOT NULL THEN 'none'
            WHEN a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype,
                                'date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype) THEN 'az64'
            WHEN a.atttypid IN ('bpchar'::regtype, 'varchar'::regtype) THEN 'lzo'
            ELSE 'none' END AS encoding,
       t.table_oid IS NOT NULL AND t.encodings <> '{}' AS encode_declared
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN redshift_system.table_attributes t ON t.table_oid = c.oid
LEFT JOIN LATERAL (SELECT s.ord::integer AS pos FROM unnest(t.sortkey) WITH ORDINALITY AS s(col, ord)
                   WHERE s.col = a.attname) k ON true
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'redshift_system')
  AND n.nspname NOT LIKE 'pg\_toast%';

-- PG_TABLE_DEF (SQL reference, "PG_TABLE_DEF"): only tables visible through the search path, as on Redshift.
CREATE OR REPLACE VIEW redshift_system.pg_table_def AS
SELECT schemaname, tablename, attname AS "column", format_type(atttypid, atttypmod) AS type,
       CAST(encoding AS character(32)) AS encoding, distkey, sortkey, attnotnull AS "notnull"
FROM redshift_system.column_attributes
WHERE pg_table_is_visible(table_oid)
ORDER BY schemaname, tablename, attnum;

-- Rows of a table the caller may read (NULL otherwise): SVV_TABLE_INFO counts them exactly, where Redshift reads
-- its block metadata.
CREATE OR REPLACE FUNCTION redshift_system.table_rows(tbl regclass) RETURNS bigint
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    n bigint;
BEGIN
    IF NOT has_table_privilege(tbl, 'SELECT') THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', tbl) INTO n;
    RETURN n;
END
$fn$;

-- SVV_TABLE_INFO (SQL reference, "SVV_TABLE_INFO"): user tables with at least one row. Columns redshift-local has
-- no counterpart for (pct_used, unsorted, stats_off, skews, ...) are left out.
CREATE OR REPLACE VIEW redshift_system.svv_table_info AS
SELECT CAST(current_database() AS text) AS database, CAST(n.nspname AS text) AS schema, c.oid AS table_id,
       CAST(c.relname AS text) AS "table",
       CASE WHEN t.table_oid IS NULL OR t.encodings = '{}' THEN 'Y, AUTO(ENCODE)'
            WHEN EXISTS (SELECT 1 FROM redshift_system.column_attributes ca
                         WHERE ca.table_oid = c.oid AND ca.encoding NOT IN ('none', 'raw')) THEN 'Y'
            ELSE 'N' END AS encoded,
       CASE WHEN t.distkey IS NOT NULL THEN 'KEY(' || t.distkey || ')'
            WHEN t.diststyle IN ('EVEN', 'ALL') THEN t.diststyle
            ELSE 'AUTO(EVEN)' END AS diststyle,
       CASE WHEN cardinality(t.sortkey) > 0 THEN t.sortkey[1] ELSE 'AUTO(SORTKEY)' END AS sortkey1,
       CAST((SELECT max(ca.atttypmod - 4) FROM redshift_system.column_attributes ca
             WHERE ca.table_oid = c.oid AND ca.atttypid = 'varchar'::regtype) AS integer) AS max_varchar,
       CAST((SELECT ca.encoding FROM redshift_system.column_attributes ca
             WHERE ca.table_oid = c.oid AND ca.attname = t.sortkey[1]) AS character(32)) AS sortkey1_enc,
       CAST(coalesce(cardinality(t.sortkey), 0) AS integer) AS sortkey_num,
       CAST(ceil(pg_total_relation_size(c.oid) / 1048576.0) AS bigint) AS size,
       CAST(r.n AS numeric(38, 0)) AS tbl_rows,
       CAST(r.n AS numeric(38, 0)) AS estimated_visible_rows
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN redshift_system.table_attributes t ON t.table_oid = c.oid
CROSS JOIN LATERAL (SELECT redshift_system.table_rows(c.oid) AS n) r
WHERE c.relkind IN ('r', 'p') AND r.n > 0
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'redshift_system')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%';

-- SVV_TABLES (SQL reference, "SVV_TABLES"): tables and views, from information_schema, with their comments.
CREATE OR REPLACE VIEW redshift_system.svv_tables AS
SELECT CAST(t.table_catalog AS text) AS table_catalog, CAST(t.table_schema AS text) AS table_schema,
       CAST(t.table_name AS text) AS table_name, CAST(t.table_type AS text) AS table_type,
       CAST(obj_description(format('%I.%I', t.table_schema, t.table_name)::regclass, 'pg_class') AS text) AS remarks
FROM information_schema.tables t
WHERE t.table_schema <> 'redshift_system' AND t.table_type IN ('BASE TABLE', 'VIEW');

-- SVV_COLUMNS (SQL reference, "SVV_COLUMNS"): its documented columns, from information_schema.
CREATE OR REPLACE VIEW redshift_system.svv_columns AS
SELECT CAST(c.table_catalog AS text) AS table_catalog, CAST(c.table_schema AS text) AS table_schema,
       CAST(c.table_name AS text) AS table_name, CAST(c.column_name AS text) AS column_name,
       CAST(c.ordinal_position AS integer) AS ordinal_position, CAST(c.column_default AS text) AS column_default,
       CAST(c.is_nullable AS text) AS is_nullable, CAST(c.data_type AS text) AS data_type,
       CAST(c.character_maximum_length AS integer) AS character_maximum_length,
       CAST(c.numeric_precision AS integer) AS numeric_precision,
       CAST(c.numeric_precision_radix AS integer) AS numeric_precision_radix,
       CAST(c.numeric_scale AS integer) AS numeric_scale,
       CAST(c.datetime_precision AS integer) AS datetime_precision,
       CAST(c.interval_type AS text) AS interval_type, CAST(c.interval_precision AS text) AS interval_precision,
       CAST(c.character_set_catalog AS text) AS character_set_catalog,
       CAST(c.character_set_schema AS text) AS character_set_schema,
       CAST(c.character_set_name AS text) AS character_set_name,
       CAST(c.collation_catalog AS text) AS collation_catalog, CAST(c.collation_schema AS text) AS collation_schema,
       CAST(c.collation_name AS text) AS collation_name, CAST(c.domain_name AS text) AS domain_name,
       CAST(col_description(format('%I.%I', c.table_schema, c.table_name)::regclass, c.ordinal_position::int)
            AS text) AS remarks
FROM information_schema.columns c
WHERE c.table_schema <> 'redshift_system';

-- SYS_QUERY_HISTORY (SQL reference, "SYS_QUERY_HISTORY"): status running, success, failed or canceled; times in
-- microseconds. Columns with no counterpart here (queue, compile, spectrum, usage limits, ...) are left out.
CREATE OR REPLACE VIEW redshift_system.sys_query_history AS
SELECT user_id, query_id, CAST('default' AS character(320)) AS query_label,
       CAST(NULL AS bigint) AS transaction_id, session_pid AS session_id,
       CAST(database_name AS character(128)) AS database_name, CAST(query_type AS character(32)) AS query_type,
       CAST(status AS character(10)) AS status, false AS result_cache_hit, start_time, end_time,
       CAST(extract(epoch FROM coalesce(end_time, clock_timestamp() AT TIME ZONE 'UTC') - start_time) * 1000000
            AS bigint) AS elapsed_time,
       CAST(0 AS bigint) AS queue_time,
       CAST(extract(epoch FROM coalesce(end_time, clock_timestamp() AT TIME ZONE 'UTC') - start_time) * 1000000
            AS bigint) AS execution_time,
       CAST(error_message AS character(512)) AS error_message, returned_rows,
       CAST(left(query_text, 4000) AS character(4000)) AS query_text
FROM redshift_system.query_history;

-- STV_RECENTS (SQL reference, "STV_RECENTS"): Running or Done, duration in microseconds, pid -1 once done.
CREATE OR REPLACE VIEW redshift_system.stv_recents AS
SELECT user_id AS userid, CAST(CASE WHEN status = 'running' THEN 'Running' ELSE 'Done' END AS character(20)) AS status,
       start_time AS starttime,
       CAST(extract(epoch FROM coalesce(end_time, clock_timestamp() AT TIME ZONE 'UTC') - start_time) * 1000000
            AS integer) AS duration,
       CAST(user_name AS character(50)) AS user_name, CAST(database_name AS character(50)) AS db_name,
       CAST(left(query_text, 600) AS character(600)) AS query,
       CASE WHEN status = 'running' THEN session_pid ELSE -1 END AS pid
FROM redshift_system.query_history;

GRANT SELECT ON redshift_system.pg_table_def, redshift_system.svv_table_info, redshift_system.svv_tables,
    redshift_system.svv_columns, redshift_system.sys_query_history, redshift_system.stv_recents TO PUBLIC;
