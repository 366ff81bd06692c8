//! Redshift's SQL on the laptop: statements as Redshift writes them run through redshift-local (translated by
//! `redshift_local::dialect`, executed for real on PostgreSQL) and return the values Redshift would. Checked
//! through aws-sdk-redshiftdata, value by value, not only by status.

use aws_sdk_redshiftdata::types::Field;
use aws_sdk_redshiftdata::Client;
use tasker_tests::stack::{run_finished, Stack, StackOptions};

async fn stack() -> Stack {
    Stack::start(StackOptions {
        poll: false,
        prefix: "sql".into(),
        ..Default::default()
    })
    .await
    .expect("local stack")
}

/// Runs one statement to its end; its error text when it failed.
async fn run(c: &Client, sql: &str) -> Result<String, String> {
    Ok(run_finished(c, sql).await?.id().to_string())
}

/// The first row of a statement's result, each field as text.
async fn row(c: &Client, sql: &str) -> Vec<String> {
    let id = run(c, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let r = c.get_statement_result().id(&id).send().await.unwrap();
    r.records()
        .first()
        .unwrap_or_else(|| panic!("{sql}: no row"))
        .iter()
        .map(|f| match f {
            Field::IsNull(_) => "NULL".to_string(),
            Field::LongValue(n) => n.to_string(),
            Field::DoubleValue(d) => d.to_string(),
            Field::BooleanValue(b) => b.to_string(),
            Field::StringValue(s) => s.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redshift_functions_return_redshifts_values() {
    let stack = stack().await;
    let c = stack.redshift_data();
    for (sql, want) in [
        ("select nvl(null, 'x')", "x"),
        ("select nvl2(null, 'a', 'b')", "b"),
        ("select decode(2, 1, 'one', 2, 'two', 'other')", "two"),
        ("select decode(9, 1, 'one', 'other')", "other"),
        ("select len('abc')", "3"),
        ("select charindex('c', 'abc')", "3"),
        ("select datediff(day, '2026-01-01 23:00', '2026-01-02 01:00')", "1"),
        ("select datediff('month', '2026-01-31', '2026-02-01')", "1"),
        ("select datediff(hour, '2023-01-01', '2023-01-03 05:04:03')", "53"),
        ("select dateadd(month, 1, '2008-01-31')", "2008-02-29 00:00:00"),
        ("select date_part(year, '2026-11-28'::date)", "2026"),
        ("select date_trunc('month', '2026-11-28 13:14:15'::timestamp)", "2026-11-01 00:00:00"),
        ("select trunc('2026-11-28 13:14:15'::timestamp)", "2026-11-28"),
        (
            "select convert_timezone('UTC', 'America/New_York', '2026-01-01 12:00:00')",
            "2026-01-01 07:00:00",
        ),
        (
            "select listagg(x, ',') within group (order by x) from (select 'b' as x union all select 'a') t",
            "a,b",
        ),
        (
            "select approximate count(distinct x) from (select 1 as x union all select 1 union all select 2) t",
            "2",
        ),
        ("select strtol('ff', 16)", "255"),
        ("select months_between('2009-03-31', '2009-01-31')", "2"),
        ("select add_months('2008-01-31', 1)", "2008-02-29 00:00:00"),
    ] {
        let got = row(&c, sql).await;
        assert_eq!(got[0], want, "{sql}");
    }
    // getdate(): now, in whole seconds, as a timestamp without time zone; sysdate too.
    let now = row(&c, "select getdate(), sysdate").await;
    assert_eq!(now[0].len(), "2026-11-28 12:00:00".len(), "{now:?}");
    let parsed = chrono::NaiveDateTime::parse_from_str(&now[0], "%Y-%m-%d %H:%M:%S").unwrap();
    let drift = (chrono::Utc::now().naive_utc() - parsed)
        .num_seconds()
        .abs();
    assert!(drift < 120, "getdate() is now: {now:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redshift_ddl_and_statements_run() {
    let stack = stack().await;
    let c = stack.redshift_data();
    for sql in [
        "create schema etl",
        "create table etl.sales (id bigint identity(1, 1), region varchar(max) encode zstd, day date not null, \
         amount decimal(12, 2)) diststyle key distkey(region) compound sortkey(day, region) backup no",
        "create table etl.by_day (day date sortkey, total bigint encode az64) diststyle even",
        "insert into etl.sales (region, day, amount) values ('eu', '2026-11-01', 10), ('us', '2026-11-01', 5), \
         ('eu', '2026-11-02', 7)",
        "create table etl.sales_copy (like etl.sales)",
        "create table etl.top_regions distkey(region) as select region, sum(amount) as total from etl.sales group by region",
        "analyze etl.sales",
        "vacuum etl.sales",
        "create or replace procedure etl.load_day(d date) as $$ begin insert into etl.by_day \
         select day, sum(amount) from etl.sales where day = d group by day; end; $$ language plpgsql",
        "call etl.load_day('2026-11-01')",
    ] {
        run(&c, sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    assert_eq!(
        row(&c, "select count(*), min(id), max(id) from etl.sales").await,
        ["3", "1", "3"],
        "identity(1, 1) numbered the rows"
    );
    assert_eq!(
        row(
            &c,
            "select top 1 region from etl.top_regions order by total desc"
        )
        .await,
        ["eu"]
    );
    assert_eq!(
        row(
            &c,
            "select count(*) from (select region from etl.sales minus select 'us') t"
        )
        .await,
        ["1"]
    );
    assert_eq!(row(&c, "select total from etl.by_day").await, ["15"]);
    assert_eq!(
        row(&c, "select count(*) from etl.sales_copy").await,
        ["0"],
        "(like t) copied the shape"
    );
    // What PostgreSQL accepts keeps working unchanged.
    assert_eq!(
        row(&c, "select count(*) from generate_series(1, 3)").await,
        ["3"]
    );
    // A genuine error keeps PostgreSQL's text.
    let err = run(&c, "select * from etl.nope").await.unwrap_err();
    assert!(
        err.contains("etl.nope") && err.contains("does not exist"),
        "{err}"
    );
}
