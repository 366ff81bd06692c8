//! What a Redshift user reaches for on day one (issue #25), through aws-sdk-redshiftdata against redshift-local:
//! the system views (`pg_table_def`, `svv_table_info`, `svv_tables`, `svv_columns`, `stv_recents`,
//! `sys_query_history`) answering what the DDL declared and the statements ran, and `median`, `percentile_cont` /
//! `percentile_disc` / `ratio_to_report` windows and unaliased derived tables, value by value against values
//! computed here.

use aws_sdk_redshiftdata::types::{Field, StatusString};
use aws_sdk_redshiftdata::Client;
use tasker_tests::stack::{
    execute_on_cluster, run_finished, statement_end, Stack, StackOptions, CLUSTER, DATABASE,
    DB_USER,
};

async fn stack() -> Stack {
    Stack::start(StackOptions {
        poll: false,
        prefix: "views".into(),
        ..Default::default()
    })
    .await
    .expect("local stack")
}

/// Runs one statement to its end; its error text when it failed.
async fn run(c: &Client, sql: &str) -> Result<String, String> {
    Ok(run_finished(c, sql).await?.id().to_string())
}

/// Every row of a statement's result, each field as text (`NULL` for a null).
async fn rows(c: &Client, sql: &str) -> Vec<Vec<String>> {
    let id = run(c, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let r = c.get_statement_result().id(&id).send().await.unwrap();
    r.records()
        .iter()
        .map(|record| record.iter().map(text).collect())
        .collect()
}

fn text(f: &Field) -> String {
    match f {
        Field::IsNull(_) => "NULL".to_string(),
        Field::LongValue(n) => n.to_string(),
        Field::DoubleValue(d) => d.to_string(),
        Field::BooleanValue(b) => b.to_string(),
        Field::StringValue(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pg_table_def_and_svv_views_show_what_the_ddl_declared() {
    let stack = stack().await;
    let c = stack.redshift_data();
    // The database's first statement opens a session: its connection, held by the engine, has the search path.
    let first = execute_on_cluster(&c, "show search_path")
        .session_keep_alive_seconds(60)
        .send()
        .await
        .unwrap();
    let d = statement_end(&c, first.id().unwrap()).await.unwrap();
    assert_eq!(d.status(), Some(&StatusString::Finished), "{:?}", d.error());
    let path = c
        .get_statement_result()
        .id(first.id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        text(&path.records()[0][0]),
        "\"$user\", public, redshift_system"
    );
    let in_session = c
        .execute_statement()
        .session_id(first.session_id().unwrap())
        .sql("select count(*) from pg_table_def")
        .send()
        .await
        .unwrap();
    let d = statement_end(&c, in_session.id().unwrap()).await.unwrap();
    assert_eq!(d.status(), Some(&StatusString::Finished), "{:?}", d.error());

    for sql in [
        "create table sales_def (a int not null, b varchar(20) encode zstd, c date, d double precision) \
         distkey(a) compound sortkey(b, c)",
        "create table inter_def (p int, q int, r int) diststyle even interleaved sortkey(p, q, r)",
        "create table plain_def (s varchar(5), n bigint)",
        "create schema hidden_def",
        "create table hidden_def.t (i int sortkey)",
        "insert into sales_def values (1, 'x', '2026-01-01', 1.5), (2, 'y', '2026-01-02', null)",
        "insert into plain_def values ('a', 1)",
        "insert into hidden_def.t values (1), (2), (3)",
    ] {
        run(&c, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    assert_eq!(
        rows(
            &c,
            "select \"column\", type, trim(encoding), distkey, sortkey, \"notnull\" from pg_table_def \
             where tablename = 'sales_def' order by \"column\""
        )
        .await,
        [
            ["a", "integer", "az64", "true", "0", "true"],
            ["b", "character varying(20)", "zstd", "false", "1", "false"],
            ["c", "date", "none", "false", "2", "false"],
            ["d", "double precision", "none", "false", "0", "false"],
        ]
    );
    // Interleaved sort key positions alternate in sign; nothing declared: Redshift's automatic encodings.
    assert_eq!(
        rows(
            &c,
            "select \"column\", sortkey from pg_table_def where tablename = 'inter_def' order by 1"
        )
        .await,
        [["p", "-1"], ["q", "2"], ["r", "-3"]]
    );
    assert_eq!(
        rows(&c, "select \"column\", trim(encoding), sortkey from pg_table_def where tablename = 'plain_def' order by 1")
            .await,
        [["n", "az64", "0"], ["s", "lzo", "0"]]
    );
    // Only schemas on the search path, as on Redshift.
    assert_eq!(
        rows(
            &c,
            "select count(*) from pg_table_def where schemaname = 'hidden_def'"
        )
        .await,
        [["0"]]
    );

    assert_eq!(
        rows(
            &c,
            "select schema, \"table\", diststyle, sortkey1, encoded, sortkey_num, tbl_rows, max_varchar, \
             database from svv_table_info where \"table\" like '%\\_def' or schema = 'hidden_def' order by 1, 2"
        )
        .await,
        [
            ["hidden_def", "t", "AUTO(EVEN)", "i", "Y, AUTO(ENCODE)", "1", "3", "NULL", DATABASE],
            ["public", "plain_def", "AUTO(EVEN)", "AUTO(SORTKEY)", "Y, AUTO(ENCODE)", "0", "1", "5", DATABASE],
            ["public", "sales_def", "KEY(a)", "b", "Y", "2", "2", "20", DATABASE],
        ],
        "inter_def is empty: svv_table_info leaves it out"
    );
    assert_eq!(
        rows(
            &c,
            "select table_schema, table_name, table_type from svv_tables \
             where table_name in ('sales_def', 't') order by 1"
        )
        .await,
        [
            ["hidden_def", "t", "BASE TABLE"],
            ["public", "sales_def", "BASE TABLE"]
        ]
    );
    assert_eq!(
        rows(
            &c,
            "select column_name, data_type, character_maximum_length, is_nullable from svv_columns \
             where table_name = 'sales_def' order by ordinal_position"
        )
        .await,
        [
            ["a", "integer", "NULL", "NO"],
            ["b", "character varying", "20", "YES"],
            ["c", "date", "NULL", "YES"],
            ["d", "double precision", "NULL", "YES"],
        ]
    );
    // A dropped and re-created table answers its new declaration.
    run(&c, "drop table sales_def").await.unwrap();
    run(&c, "create table sales_def (a int, b int sortkey)")
        .await
        .unwrap();
    assert_eq!(
        rows(&c, "select \"column\", distkey, sortkey from pg_table_def where tablename = 'sales_def' order by 1")
            .await,
        [["a", "false", "0"], ["b", "false", "1"]]
    );

    // The Data API's catalog shows no redshift_system schema (Redshift keeps these views in pg_catalog).
    let schemas = c
        .list_schemas()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .send()
        .await
        .unwrap();
    assert!(schemas.schemas().contains(&"public".to_string()));
    assert!(!schemas.schemas().contains(&"redshift_system".to_string()));
}

/// PERCENTILE_CONT as Redshift documents it: RN = 1 + p * (n - 1) over the sorted non-NULL values, interpolated.
fn cont(p: f64, values: &[Option<i64>]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().flatten().map(|x| *x as f64).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return None;
    }
    let rn = 1.0 + p * (v.len() - 1) as f64;
    let (lo, hi) = (rn.floor() as usize, rn.ceil() as usize);
    Some(v[lo - 1] + (v[hi - 1] - v[lo - 1]) * (rn - rn.floor()))
}

/// PERCENTILE_DISC: the first sorted non-NULL value whose cumulative distribution reaches p.
fn disc(p: f64, values: &[Option<i64>]) -> Option<f64> {
    let mut v: Vec<i64> = values.iter().flatten().copied().collect();
    v.sort();
    let k = ((p * v.len() as f64).ceil() as usize).max(1);
    v.get(k - 1).map(|x| *x as f64)
}

fn number(s: &str) -> Option<f64> {
    (s != "NULL").then(|| s.parse().unwrap_or_else(|_| panic!("{s} is no number")))
}

#[track_caller]
fn close(got: &str, want: Option<f64>, what: &str) {
    match (number(got), want) {
        (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9, "{what}: {g} != {w}"),
        (g, w) => assert_eq!(g, w, "{what}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn median_and_percentile_windows_agree_with_their_definitions() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let data: &[(i64, &[Option<i64>])] = &[
        (1, &[Some(10), Some(10), Some(30)]),
        (2, &[Some(20), Some(20)]),
        (3, &[Some(10), Some(15), Some(20), Some(30), None]),
        (4, &[None]),
        (
            5,
            &[Some(-7), Some(3), Some(3), Some(3), Some(100), Some(42)],
        ),
    ];
    run(&c, "create table w (g int, x int)").await.unwrap();
    let values: Vec<String> = data
        .iter()
        .flat_map(|(g, xs)| {
            xs.iter().map(move |x| match x {
                Some(x) => format!("({g}, {x})"),
                None => format!("({g}, null)"),
            })
        })
        .collect();
    run(&c, &format!("insert into w values {}", values.join(", ")))
        .await
        .unwrap();

    // MEDIAN as an aggregate, and PostgreSQL's own ordered-set aggregates for the percentiles.
    let groups = rows(
        &c,
        "select g, median(x), percentile_cont(0.25) within group (order by x), \
         percentile_disc(0.25) within group (order by x) from w group by g order by g",
    )
    .await;
    assert_eq!(groups.len(), data.len());
    for ((g, xs), row) in data.iter().zip(&groups) {
        assert_eq!(row[0], g.to_string());
        close(&row[1], cont(0.5, xs), &format!("median of group {g}"));
        close(
            &row[2],
            cont(0.25, xs),
            &format!("percentile_cont of group {g}"),
        );
        close(
            &row[3],
            disc(0.25, xs),
            &format!("percentile_disc of group {g}"),
        );
    }

    // The window forms, row by row, against the same definitions.
    let windows = rows(
        &c,
        "select g, x, median(x) over (partition by g), \
         percentile_cont(0.25) within group (order by x) over (partition by g), \
         percentile_disc(0.25) within group (order by x) over (partition by g), \
         percentile_cont(0.9) within group (order by x) over (), \
         ratio_to_report(x) over (partition by g) \
         from w order by g, x",
    )
    .await;
    let all: Vec<Option<i64>> = data.iter().flat_map(|(_, xs)| xs.iter().copied()).collect();
    assert_eq!(windows.len(), all.len());
    for row in &windows {
        let g: i64 = row[0].parse().unwrap();
        let xs = data.iter().find(|(k, _)| *k == g).unwrap().1;
        let what = format!("row {row:?}");
        close(&row[2], cont(0.5, xs), &what);
        close(&row[3], cont(0.25, xs), &what);
        close(&row[4], disc(0.25, xs), &what);
        close(&row[5], cont(0.9, &all), &what);
        let sum: i64 = xs.iter().flatten().sum();
        let ratio = number(&row[1]).map(|x| x / sum as f64);
        close(&row[6], ratio, &what);
    }

    // A derived table without an alias, as Redshift allows (the TICKIT tutorial writes them).
    assert_eq!(
        rows(
            &c,
            "select count(*) from (select g from w where x is not null), (select 1 as one)"
        )
        .await,
        [["15"]]
    );
    // Redshift's timezone date parts (the session's time zone is UTC, Redshift's default).
    assert_eq!(
        rows(
            &c,
            "select date_part(timezone_hour, '2026-01-01 10:00:00+03'::timestamptz)"
        )
        .await,
        [["0"]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stv_recents_and_sys_query_history_list_the_statements_run() {
    let stack = stack().await;
    let c = stack.redshift_data();
    run(&c, "select 42 as history_marker_one").await.unwrap();
    let failed = run(&c, "select * from no_such_table_marker_two").await;
    assert!(failed.is_err());

    let done = rows(
        &c,
        "select trim(status), trim(query_type), returned_rows, elapsed_time >= 0, end_time >= start_time, \
         trim(database_name), error_message is null, query_id > 0 from sys_query_history \
         where query_text like '%history_marker_one%' and query_text not like '%sys_query_history%'",
    )
    .await;
    assert_eq!(
        done,
        [["success", "SELECT", "1", "true", "true", DATABASE, "true", "true"]]
    );
    let failed = rows(
        &c,
        "select trim(status), trim(error_message) from sys_query_history \
         where query_text like '%no_such_table_marker_two%' and query_text not like '%sys_query_history%'",
    )
    .await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0][0], "failed");
    assert!(
        failed[0][1].contains("no_such_table_marker_two"),
        "{failed:?}"
    );

    // STV_RECENTS: the querying statement itself is running (its pid set), the earlier one done (pid -1).
    assert_eq!(
        rows(
            &c,
            "select trim(status), pid > 0, trim(user_name) from stv_recents where query like '%stv_self_marker%'"
        )
        .await,
        [["Running", "true", DB_USER]]
    );
    assert_eq!(
        rows(
            &c,
            "select trim(status), pid, duration >= 0 from stv_recents \
             where query like 'select 42 as history_marker_one%'"
        )
        .await,
        [["Done", "-1", "true"]]
    );
}
