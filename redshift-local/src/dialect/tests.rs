//! The whole pipeline's tests: Redshift SQL in, PostgreSQL SQL out (or the text exactly as it came).

use super::token_rules::{ANALYZE_COMPRESSION, NO_OP};
use super::*;

/// Asserts the translation of `redshift`.
#[track_caller]
fn check(redshift: &str, postgres: &str) {
    assert_eq!(to_postgres(redshift), postgres, "translating {redshift:?}");
}

/// Asserts that `sql` goes out byte for byte.
#[track_caller]
fn unchanged(sql: &str) {
    assert_eq!(to_postgres(sql), sql);
}

#[test]
fn postgres_sql_passes_through_byte_for_byte() {
    for sql in [
        "",
        "   ",
        ";",
        "-- just a comment",
        "select 1",
        "select pg_sleep(60)",
        "select pg_sleep(0.5)",
        "select generate_series(1, 5) as n",
        "select i, repeat('r', 1000) as pad from generate_series(1, 1000) as i",
        "insert into hits select 1 from pg_sleep(2)",
        "insert into etl.sales select date '2026-11-01' + g % 7, g * 1.25 from generate_series(1, 1000) g",
        "create procedure etl.load_day() language sql as $$ create table if not exists etl.daily as select day, \
         sum(amount) total from etl.sales group by day $$",
        "call etl.load_day()",
        "select count(*) from seed_runs where tag = $1",
        "select $1::text, $2::int",
        "select :id::int, ':id', 'it''s :id'",
        "insert into items(id, name) values (:id, :name)",
        "select count(*) from pg_stat_activity where query = 'select pg_sleep(60)' and state = 'active'",
        "select day::text as day, total from etl.daily order by day",
        "create table t(i int, b bigint, n numeric(10,2), d double precision, ok boolean, s text, day date, at timestamp)",
        "create temp table t (i int)",
        "create table sales(id int, amount numeric(10,2)); insert into sales values (1, 10.50), (2, 3.25)",
        "select getdate()",
        "SELECT GETDATE() AS now",
        "select len(name), charindex('a', name), strtol('ff', 16) from t",
        "select datediff('day', a, b), dateadd('month', 1, d), date_trunc('day', ts), date_part('year', ts) from t",
        "select decode('aGk=', 'base64')",
        "select trunc(1.57, 1), trunc(x) from t",
        "select coalesce(a, b) from t",
        "select E'a\\tb'",
        "select x from t where y ~ '^a' and j #>> '{a}' = '1'",
        "vacuum",
        "vacuum t",
        "vacuum (verbose, analyze) t",
        "analyze t",
        "analyze verbose t (a, b)",
        "set search_path to public",
        "begin",
        "commit",
        "drop table if exists t",
        "select 'unterminated",
        "select (",
        "select \u{e9}t\u{e9} from caf\u{e9}",
    ] {
        unchanged(sql);
    }
}

#[test]
fn copy_and_unload_are_left_alone() {
    unchanged("copy t from 's3://bucket/key' iam_role 'arn:aws:iam::1:role/r' csv ignoreheader 1");
    unchanged("COPY t FROM 's3://b/k' IAM_ROLE default FORMAT AS PARQUET");
    unchanged(
        "unload ('select nvl(a, b) from t') to 's3://b/p' iam_role 'arn:aws:iam::1:role/r' csv",
    );
}

#[test]
fn getdate_is_a_function_and_sysdate_is_the_transaction_start() {
    unchanged("select getdate()");
    check("select sysdate", "SELECT LOCALTIMESTAMP");
    check(
        "select trunc(sysdate) - 120",
        "SELECT trunc(LOCALTIMESTAMP) - 120",
    );
    check(
        r#"select "sysdate" from t where x < sysdate"#,
        r#"SELECT "sysdate" FROM t WHERE x < LOCALTIMESTAMP"#,
    );
}

#[test]
fn nvl_and_nvl2() {
    check("select nvl(a, b) from t", "SELECT coalesce(a, b) FROM t");
    check(
        "select NVL(a, b, 0) from t",
        "SELECT coalesce(a, b, 0) FROM t",
    );
    check(
        "select nvl2(a, 'set', 'unset') from t",
        "SELECT CASE WHEN a IS NOT NULL THEN 'set' ELSE 'unset' END FROM t",
    );
    check(
        "select nvl2(a + 1, b, c) from t",
        "SELECT CASE WHEN (a + 1) IS NOT NULL THEN b ELSE c END FROM t",
    );
}

#[test]
fn redshift_decode_becomes_case_and_postgres_decode_stays() {
    check(
        "select decode(catname, 'NHL', 'Hockey', 'MLB', 'Baseball', 'Unknown') from category",
        "SELECT CASE catname WHEN 'NHL' THEN 'Hockey' WHEN 'MLB' THEN 'Baseball' ELSE 'Unknown' END FROM category",
    );
    check(
        "select decode(caldate, '2008-06-01', 'June 1st') from d",
        "SELECT CASE caldate WHEN '2008-06-01' THEN 'June 1st' END FROM d",
    );
    // A NULL search matches a NULL expression in Redshift.
    check(
        "select decode(x, null, 'none', y, 'same', 'other') from t",
        "SELECT CASE WHEN x IS NULL THEN 'none' WHEN x IS NOT DISTINCT FROM y THEN 'same' ELSE 'other' END FROM t",
    );
    unchanged("select decode(payload, 'base64') from t");
}

#[test]
fn len_charindex_strtol_months_between_add_months_are_functions() {
    unchanged("select len(s), charindex('dog', s), strtol(s, 16), months_between(a, b), add_months(d, 1) from t");
    check(
        "select months_between('1969-01-18', '1969-03-18'), add_months('2008-02-29', 1)",
        "SELECT months_between(CAST('1969-01-18' AS TIMESTAMP), CAST('1969-03-18' AS TIMESTAMP)), \
         add_months(CAST('2008-02-29' AS TIMESTAMP), 1)",
    );
}

#[test]
fn date_parts_are_quoted_and_normalized() {
    check(
        "select datediff(day, start_at, end_at) from t",
        "SELECT datediff('day', start_at, end_at) FROM t",
    );
    check(
        "select datediff(hours, a, b), datediff(yr, a, b), datediff(w, a, b), datediff(qtr, a, b) from t",
        "SELECT datediff('hour', a, b), datediff('year', a, b), datediff('week', a, b), \
         datediff('quarter', a, b) FROM t",
    );
    check(
        "select datediff(day, '2026-01-01 23:00', '2026-01-02 01:00')",
        "SELECT datediff('day', CAST('2026-01-01 23:00' AS TIMESTAMP), CAST('2026-01-02 01:00' AS TIMESTAMP))",
    );
    check(
        "select datediff(hour, '08:30:00', '10:00:00')",
        "SELECT datediff('hour', CAST('08:30:00' AS TIME), CAST('10:00:00' AS TIME))",
    );
    check(
        "select datediff(days, 'Jun 1,2008 09:59:59 EST', 'Jul 4,2008 09:59:59 EST')",
        "SELECT datediff('day', CAST('Jun 1,2008 09:59:59 EST' AS TIMESTAMPTZ), \
         CAST('Jul 4,2008 09:59:59 EST' AS TIMESTAMPTZ))",
    );
    check(
        "select dateadd(month, 1, '2008-01-31'), dateadd(d, -1, current_date)",
        "SELECT dateadd('month', 1, CAST('2008-01-31' AS TIMESTAMP)), dateadd('day', -1, current_date)",
    );
    // Quoted parts of datediff/dateadd are normalized by the functions themselves.
    unchanged("select dateadd('mins', 5, ts) from t");
    check(
        "select date_part(dow, ts), date_part(yr, '2026-11-28'), pgdate_part(w, ts) from t",
        "SELECT date_part('dow', ts), date_part('year', CAST('2026-11-28' AS TIMESTAMP)), date_part('week', ts) FROM t",
    );
    check(
        "select date_part('dayofweek', ts), date_trunc(mon, ts), date_trunc('week', '2026-11-28 10:00') from t",
        "SELECT date_part('dow', ts), date_trunc('month', ts), date_trunc('week', CAST('2026-11-28 10:00' AS TIMESTAMP)) \
         FROM t",
    );
    // Not a date part: could be a column holding one.
    unchanged("select date_trunc(grain, ts) from t");
}

#[test]
fn trunc_of_a_timestamp_literal_and_convert_timezone() {
    check(
        "select trunc('2026-11-28 10:11:12')",
        "SELECT trunc(CAST('2026-11-28 10:11:12' AS TIMESTAMP))",
    );
    unchanged("select trunc(getdate()), trunc(ts), trunc(1.5), trunc(x, 2) from t");
    unchanged("select trunc('1.5')");
    check(
        "select convert_timezone('UTC', 'America/New_York', '2026-07-01 12:00')",
        "SELECT convert_timezone('UTC', 'America/New_York', CAST('2026-07-01 12:00' AS TIMESTAMP))",
    );
    unchanged("select convert_timezone('EST', ts), convert_timezone('UTC', 'PST', ts) from t");
}

#[test]
fn listagg_becomes_string_agg() {
    check(
        "select listagg(name, ', ') within group (order by name desc) from t",
        "SELECT string_agg(CAST(name AS TEXT), ', ' ORDER BY name DESC) FROM t",
    );
    check(
        "select listagg(name) from t",
        "SELECT string_agg(CAST(name AS TEXT), '') FROM t",
    );
    check(
        "select listagg(distinct name, ',') within group (order by name) from t",
        "SELECT string_agg(DISTINCT CAST(name AS TEXT), ',' ORDER BY CAST(name AS TEXT)) FROM t",
    );
    check(
        "select listagg(name, ',') within group (order by id) over (partition by g) from t",
        "SELECT string_agg(CAST(name AS TEXT), ',') OVER (PARTITION BY g ORDER BY id ROWS BETWEEN UNBOUNDED \
         PRECEDING AND UNBOUNDED FOLLOWING) FROM t",
    );
}

#[test]
fn approximate_count_is_exact() {
    check(
        "select approximate count(distinct x) from t",
        "select count(distinct x) from t",
    );
    check(
        "select approximate count(distinct x), nvl(y, 0) from t group by 2",
        "SELECT count(DISTINCT x), coalesce(y, 0) FROM t GROUP BY 2",
    );
}

#[test]
fn top_and_minus() {
    check(
        "select top 10 a from t order by a",
        "SELECT a FROM t ORDER BY a LIMIT 10",
    );
    check(
        "select * from (select top 1 a from t) q",
        "SELECT * FROM (SELECT a FROM t LIMIT 1) q",
    );
    check(
        "select a from t minus select a from u",
        "SELECT a FROM t EXCEPT SELECT a FROM u",
    );
    check(
        "select a from t minus select a from u minus select a from v",
        "SELECT a FROM t EXCEPT SELECT a FROM u EXCEPT SELECT a FROM v",
    );
}

#[test]
fn create_table_attributes_are_stripped() {
    check(
        "create table t (a int, b int) diststyle key distkey(b) sortkey(a)",
        "create table t (a int, b int)",
    );
    check(
        "create table t (a int encode az64 distkey, b varchar(10) encode zstd sortkey not null) \
         diststyle even compound sortkey(a, b) backup no",
        "create table t (a int, b varchar(10) not null)",
    );
    check(
        "create table t (a int) interleaved sortkey (a)\nbackup yes",
        "create table t (a int)",
    );
    check(
        "CREATE TABLE t (a INT) DISTSTYLE AUTO SORTKEY AUTO ENCODE AUTO",
        "CREATE TABLE t (a INT)",
    );
    // Columns may be called sortkey or distkey.
    check(
        "create table t (sortkey int, distkey int encode raw)",
        "create table t (sortkey int, distkey int)",
    );
    check(
        "create table sortkey (a int) sortkey (a)",
        "create table sortkey (a int)",
    );
    check(
        "create table s.distkey (a int) distkey (a)",
        "create table s.distkey (a int)",
    );
    check(
        "create table t (b varchar(20) collate case_insensitive)",
        "create table t (b varchar(20))",
    );
    // Never inside strings, quoted names or comments.
    check(
        "create table \"distkey\" (a varchar(9) default 'sortkey(a)' /* encode az64 */ encode az64) distkey(a)",
        "create table \"distkey\" (a varchar(9) default 'sortkey(a)' /* encode az64 */)",
    );
}

#[test]
fn identity_columns() {
    check(
        "create table t (id int identity(1, 1), v text)",
        "create table t (id int GENERATED BY DEFAULT AS IDENTITY (START WITH 1 INCREMENT BY 1), v text)",
    );
    check(
        "create table t (id bigint identity(0,1) not null)",
        "create table t (id bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 0 INCREMENT BY 1 MINVALUE 0) \
         not null)",
    );
    check(
        "create table t (id int identity(-1, -1))",
        "create table t (id int GENERATED BY DEFAULT AS IDENTITY (START WITH -1 INCREMENT BY -1))",
    );
    check(
        "create table t (id int generated by default as identity(100, 5))",
        "create table t (id int generated by default as IDENTITY (START WITH 100 INCREMENT BY 5))",
    );
    unchanged("create table t (id int generated always as identity (start with 1))");
}

#[test]
fn like_ctas_and_temp_tables() {
    unchanged("create table t2 (like t1)");
    unchanged("create table t2 (like t1 including defaults)");
    check(
        "create table t2 (like t1) diststyle all",
        "create table t2 (like t1)",
    );
    check(
        "create table t2 distkey(a) sortkey(b) as select * from t1",
        "create table t2 as select * from t1",
    );
    check(
        "create table t2 diststyle even as select nvl(a, 0) as a from t1",
        "CREATE TABLE t2 AS SELECT coalesce(a, 0) AS a FROM t1",
    );
    check(
        "create table #stage (a int)",
        "create TEMP table \"#stage\" (a int)",
    );
    check(
        "create temp table #Stage (a int)",
        "create temp table \"#stage\" (a int)",
    );
    check(
        "insert into #stage select 1",
        "insert into \"#stage\" select 1",
    );
    check(
        "select * into #s2 from #stage",
        "select * into TEMP \"#s2\" from \"#stage\"",
    );
}

#[test]
fn varchar_max() {
    check(
        "create table t (a varchar(max), b character varying(max), c char(max), d nvarchar(max))",
        "create table t (a varchar(65535), b character varying(65535), c char(4096), d varchar(65535))",
    );
    check(
        "select cast(x as varchar(max)) from t",
        "select cast(x as varchar(65535)) from t",
    );
}

#[test]
fn alter_table() {
    for sql in [
        "alter table t alter diststyle even",
        "alter table t alter distkey b",
        "alter table t alter sortkey (a, b)",
        "alter table t alter compound sortkey (a)",
        "alter table t alter encode auto",
        "alter table t alter column b encode az64",
    ] {
        check(sql, NO_OP);
    }
    check(
        "alter table t add column c varchar(max) encode zstd default 'x'",
        "alter table t add column c varchar(65535) default 'x'",
    );
    unchanged("alter table t add column c int");
    unchanged("alter table t alter column c type bigint");
}

#[test]
fn vacuum_and_analyze() {
    check("vacuum full t to 99 percent", "VACUUM t");
    check("vacuum delete only t", "VACUUM t");
    check("VACUUM SORT ONLY", "VACUUM");
    check("vacuum reindex s.t", "VACUUM s.t");
    check("vacuum recluster t", "VACUUM t");
    check("vacuum t to 75 percent boost", "VACUUM t");
    check("analyze t predicate columns", "analyze t");
    check("analyze t (a, b) all columns", "analyze t (a, b)");
    check("analyze compression t", ANALYZE_COMPRESSION);
    check("analyze compression", ANALYZE_COMPRESSION);
}

#[test]
fn redshift_only_settings_are_no_ops() {
    check("set query_group to 'etl'", NO_OP);
    check("SET wlm_query_slot_count TO 3", NO_OP);
    check("set enable_result_cache_for_session to off", NO_OP);
    check("reset query_group", NO_OP);
    unchanged("set statement_timeout to 1000");
}

#[test]
fn procedures_keep_their_text_and_get_their_bodies_translated() {
    unchanged(
        "create or replace procedure p(a int) as $$ begin insert into t values (a); end; $$ language plpgsql",
    );
    check(
        "create or replace procedure p() nonatomic as $$\nbegin\n  select datediff(day, a, b) into d from t;\n  \
         create temp table s (x int encode az64) diststyle even;\n  raise info 'now %', sysdate;\nend;\n$$ \
         language plpgsql",
        "create or replace procedure p() as $$\nbegin\n  select datediff('day', a, b) into d from t;\n  \
         create temp table s (x int);\n  raise info 'now %', LOCALTIMESTAMP;\nend;\n$$ language plpgsql",
    );
    check(
        "create function f(int) returns int stable as $body$ select nvl($1, 0) $body$ language sql",
        "create function f(int) returns int stable as $body$ select coalesce($1, 0) $body$ language sql",
    );
    unchanged("call p(1, 'a')");
    check("call p(sysdate)", "CALL p(LOCALTIMESTAMP)");
}

#[test]
fn backslash_escapes_read_as_redshift_reads_them() {
    check(r"select 'a\\b', 'it\'s'", "select 'a\\b', 'it''s'");
    check(
        r"select nvl(x, 'a\\b') from t",
        r"SELECT coalesce(x, 'a\b') FROM t",
    );
    check(r"select '\n'", "select '\n'");
}

#[test]
fn statements_the_parser_refuses_still_get_token_rewrites() {
    // FILTER is PostgreSQL syntax the Redshift grammar does not read.
    check(
        "select count(*) filter (where x > 1), nvl(y, 0), datediff(day, a, b), sysdate from t",
        "select count(*) filter (where x > 1), coalesce(y, 0), datediff('day', a, b), LOCALTIMESTAMP from t",
    );
    check(
        "select E'\\t', nvl(a, b) from t",
        "select E'\\t', coalesce(a, b) from t",
    );
}

#[test]
fn several_statements_are_translated_one_by_one() {
    check(
        "select 1; select nvl(a, b) from t;\ncreate table x (a int) diststyle even;",
        "select 1; SELECT coalesce(a, b) FROM t;\ncreate table x (a int);",
    );
}

#[test]
fn blanks_around_a_printed_statement_are_kept() {
    check(
        "\n  select nvl(a, b) from t  \n",
        "\n  SELECT coalesce(a, b) FROM t  \n",
    );
}

#[test]
fn placeholders_survive_a_rewrite() {
    check(
        "select nvl(:name, 'x'), $1 from t where id = :id",
        "SELECT coalesce(:name, 'x'), $1 FROM t WHERE id = :id",
    );
}

#[test]
fn odd_input_never_panics() {
    for sql in [
        "$$",
        "'",
        "\"",
        "/*",
        "create table",
        "create table t (",
        "create table t (a int identity(",
        "create table t (a int identity(1,",
        "vacuum full",
        "vacuum to",
        "analyze",
        "select top",
        "select decode(",
        "select listagg(",
        "select nvl2(a)",
        "alter table",
        "set",
        "create or replace procedure p() as $$",
        "select \u{1F600}, nvl(a, b) from t",
        "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1",
    ] {
        let _ = to_postgres(sql);
    }
}

#[test]
fn derived_tables_without_an_alias_get_one() {
    for (redshift, postgres) in [
        (
            "select count(*) from (select 1 as a)",
            "SELECT count(*) FROM (SELECT 1 AS a) AS unnamed_subquery_1",
        ),
        (
            "select * from (select 1 as a), (select 2 as b)",
            "SELECT * FROM (SELECT 1 AS a) AS unnamed_subquery_1, (SELECT 2 AS b) AS unnamed_subquery_2",
        ),
        (
            "select s.a from (select 1 as a) s, (select 2 as b)",
            "SELECT s.a FROM (SELECT 1 AS a) s, (SELECT 2 AS b) AS unnamed_subquery_1",
        ),
    ] {
        check(redshift, postgres);
    }
    unchanged("select a from (select 1 as a) t");
}

#[test]
fn percentile_and_ratio_windows_become_partition_functions() {
    for (redshift, postgres) in [
        (
            "select percentile_cont(0.5) within group (order by x) over (partition by g) from t",
            "SELECT public.redshift_percentile_cont(0.5, array_agg(x) OVER (PARTITION BY g)) FROM t",
        ),
        (
            "select percentile_disc(0.25) within group (order by x asc) over (partition by g, h) from t",
            "SELECT public.redshift_percentile_disc(0.25, array_agg(x) OVER (PARTITION BY g, h)) FROM t",
        ),
        (
            "select percentile_cont(0.9) within group (order by a + b) over () from t",
            "SELECT public.redshift_percentile_cont(0.9, array_agg(a + b) OVER ()) FROM t",
        ),
        (
            "select ratio_to_report(qty) over (partition by seller) from t",
            "SELECT CAST(qty AS DOUBLE PRECISION) / sum(qty) OVER (PARTITION BY seller) FROM t",
        ),
        (
            "select ratio_to_report(a + b) over () from t",
            "SELECT CAST(a + b AS DOUBLE PRECISION) / sum(a + b) OVER () FROM t",
        ),
    ] {
        check(redshift, postgres);
    }
    // PostgreSQL's own forms, MEDIAN (a real aggregate) and what Redshift does not allow in these windows stay.
    for sql in [
        "select percentile_cont(0.5) within group (order by x) from t",
        "select median(x), median(x) over (partition by g) from t",
        "select percentile_cont(0.5) within group (order by x desc) over (partition by g) from t",
        "select ratio_to_report(x) over (partition by g order by y) from t",
        "select sum(x) over (partition by g) from t",
    ] {
        unchanged(sql);
    }
}

#[test]
fn create_table_attributes_are_kept_for_the_system_views() {
    let declared = |sql: &str| declared_attributes(sql).unwrap_or_else(|| panic!("{sql}"));
    let a = declared(
        "create table if not exists etl.\"Sales\" (id int encode az64, Region varchar(10) encode ZSTD, \
         day date) diststyle key distkey(region) interleaved sortkey(day, \"Region\")",
    );
    assert_eq!(a.table, "\"etl\".\"Sales\"");
    assert!(a.if_not_exists);
    assert_eq!(a.diststyle.as_deref(), Some("KEY"));
    assert_eq!(a.distkey.as_deref(), Some("region"));
    assert_eq!(a.sortkey_style.as_deref(), Some("INTERLEAVED"));
    assert_eq!(a.sortkey, ["day", "Region"]);
    assert_eq!(
        a.encodings,
        [
            ("id".to_string(), "az64".to_string()),
            ("region".to_string(), "zstd".to_string())
        ]
    );
    let b = declared("create temp table #stage (a int distkey, sortkey int sortkey)");
    assert_eq!(b.table, "\"#stage\"");
    assert_eq!(b.distkey.as_deref(), Some("a"));
    assert_eq!(b.sortkey_style.as_deref(), Some("COMPOUND"));
    assert_eq!(b.sortkey, ["sortkey"]);
    let c = declared("CREATE TABLE t DISTSTYLE EVEN SORTKEY AUTO AS SELECT 1 AS a");
    assert_eq!(c.diststyle.as_deref(), Some("EVEN"));
    assert_eq!(c.sortkey_style.as_deref(), Some("AUTO"));
    assert!(c.sortkey.is_empty());
    let d = declared("create table t (a int, b int) compound sortkey(b, a)");
    assert_eq!(d.sortkey, ["b", "a"]);
    assert_eq!(d.sortkey_style.as_deref(), Some("COMPOUND"));
    for other in [
        "select 1",
        "create view v as select 1",
        "create table a (i int); create table b (i int)",
        "insert into t values (1)",
    ] {
        assert_eq!(declared_attributes(other), None, "{other}");
    }
}

#[test]
fn timezone_date_parts_are_known() {
    check(
        "select date_part(timezone_hour, ts) from t",
        "SELECT date_part('timezone_hour', ts) FROM t",
    );
}
