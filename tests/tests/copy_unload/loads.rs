//! `COPY`'s formats and failures, and `UNLOAD`'s round trip through the local S3.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copy_loads_csv_gzip_json_and_pipe_text_from_every_object_under_the_prefix() {
    let (stack, s3) = stack().await;
    let c = stack.redshift_data();
    ok(
        &c,
        "create table sales (id int, region varchar(20), amount decimal(8,2), note varchar(50))",
    )
    .await;

    // CSV with a delimiter and two header lines; quoted fields keep their delimiters and quotes.
    put(
        &s3,
        "csv/sales.csv",
        "sales export\nid;region;amount;note\n1;eu;10.50;\"a;b\"\n2;us;;\"say \"\"hi\"\"\"\n",
    )
    .await;
    let loaded = ok(
        &c,
        &format!(
            "copy sales from 's3://{BUCKET}/csv/sales' {ROLE} csv delimiter ';' ignoreheader 2 region 'us-east-1'"
        ),
    )
    .await;
    assert_eq!(loaded, 2);
    assert_eq!(
        rows(
            &stack,
            "select id, region, amount, note from sales order by id"
        )
        .await,
        table(&[
            &["1", "eu", "10.50", "a;b"],
            &["2", "us", "NULL", "say \"hi\""]
        ])
    );

    // GZIP CSV, default delimiter, into a column list.
    ok(&c, "truncate sales").await;
    put(&s3, "gz/part.csv.gz", gzip(b"7,\"x,y\"\n8,z\n")).await;
    ok(
        &c,
        &format!(
            "copy sales (id, note) from 's3://{BUCKET}/gz/' iam_role default format as csv gzip"
        ),
    )
    .await;
    assert_eq!(
        rows(&stack, "select id, region, note from sales order by id").await,
        table(&[&["7", "NULL", "x,y"], &["8", "NULL", "z"]])
    );

    // Pipe-delimited text (no format option), a prefix with two objects: both load, in key order.
    ok(&c, "truncate sales").await;
    put(&s3, "pipe/sales_00", "1|eu|1.00|\n2|\\N|2.00|two\n").await;
    put(&s3, "pipe/sales_01", "3|us|3.00|a,b\n").await;
    put(&s3, "other/sales_02", "99|no|9.00|not under the prefix\n").await;
    let loaded = ok(
        &c,
        &format!(
            "copy sales from 's3://{BUCKET}/pipe/sales_' credentials 'aws_iam_role=arn:aws:iam::123456789012:role/R'"
        ),
    )
    .await;
    assert_eq!(loaded, 3);
    assert_eq!(
        rows(
            &stack,
            "select id, region, amount, note from sales order by id"
        )
        .await,
        table(&[
            &["1", "eu", "1.00", ""],
            &["2", "NULL", "2.00", "two"],
            &["3", "us", "3.00", "a,b"],
        ])
    );

    // JSON 'auto': keys are matched to the (lowercase) column names; 'auto ignorecase' ignores case.
    ok(&c, "truncate sales").await;
    put(
        &s3,
        "json/sales.json",
        r#"{"id": 1, "region": "eu", "amount": 2.5, "extra": true}
{"id": 2, "note": "no region", "region": null}
{"ID": 3, "Region": "us"}"#,
    )
    .await;
    ok(
        &c,
        &format!("copy sales from 's3://{BUCKET}/json/' {ROLE} format as json 'auto'"),
    )
    .await;
    assert_eq!(
        rows(
            &stack,
            "select id, region, amount, note from sales order by id nulls last"
        )
        .await,
        table(&[
            &["1", "eu", "2.50", "NULL"],
            &["2", "NULL", "NULL", "no region"],
            &["NULL", "NULL", "NULL", "NULL"],
        ])
    );
    ok(&c, "truncate sales").await;
    ok(
        &c,
        &format!("copy sales from 's3://{BUCKET}/json/' {ROLE} json 'auto ignorecase'"),
    )
    .await;
    assert_eq!(
        rows(&stack, "select id, region from sales order by id").await,
        table(&[&["1", "eu"], &["2", "NULL"], &["3", "us"]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copy_failures_carry_redshifts_error_and_postgresqls_reason() {
    let (stack, s3) = stack().await;
    let c = stack.redshift_data();
    ok(&c, "create table t (id int, name varchar(10))").await;

    let err = run(
        &c,
        &format!("copy t from 's3://{BUCKET}/missing/part' {ROLE} csv"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        "ERROR: The specified S3 prefix 'missing/part' does not exist"
    );

    let err = run(
        &c,
        &format!("copy t from 's3://no-such-bucket/x' {ROLE} csv"),
    )
    .await
    .unwrap_err();
    assert!(
        err.starts_with(
            "ERROR: S3ServiceException:The specified bucket does not exist,Status 404,Error NoSuchBucket,"
        ),
        "{err}"
    );

    put(&s3, "t/data.csv", "1,a\n").await;
    let err = run(
        &c,
        &format!("copy t from 's3://{BUCKET}/t/' iam_role 'RedshiftLoader' csv"),
    )
    .await
    .unwrap_err();
    assert!(
        err.starts_with("ERROR: Invalid credentials. Must be of the format"),
        "{err}"
    );

    let err = run(&c, &format!("copy nope from 's3://{BUCKET}/t/' {ROLE} csv"))
        .await
        .unwrap_err();
    assert_eq!(err, "ERROR: Cannot COPY into nonexistent table nope");

    let err = run(
        &c,
        &format!("copy t from 's3://{BUCKET}/t/' {ROLE} format as parquet"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        "ERROR: FORMAT AS PARQUET is not supported by redshift-local"
    );

    // A row with too many fields: Redshift's load failure (the row is in stl_load_errors), and nothing is loaded
    // (one COPY for all objects).
    put(&s3, "bad/a.csv", "1,a\n").await;
    put(&s3, "bad/b.csv", "2,b,extra\n").await;
    let err = run(&c, &format!("copy t from 's3://{BUCKET}/bad/' {ROLE} csv"))
        .await
        .unwrap_err();
    assert!(
        err.starts_with(
            "ERROR: Load into table 't' failed. Check 'stl_load_errors' system table for details."
        ) && err.contains("s3://loads/bad/b.csv line 1: Extra column(s) found"),
        "{err}"
    );
    assert!(rows(&stack, "select * from t").await.is_empty());

    // A value of the wrong type: PostgreSQL's reason, in Redshift's load failure.
    put(&s3, "type/a.csv", "x,a\n").await;
    let err = run(&c, &format!("copy t from 's3://{BUCKET}/type/' {ROLE} csv"))
        .await
        .unwrap_err();
    assert!(
        err.contains("invalid input syntax for type integer"),
        "{err}"
    );

    // GZIP on a file that is not gzip.
    let err = run(
        &c,
        &format!("copy t from 's3://{BUCKET}/t/' {ROLE} csv gzip"),
    )
    .await
    .unwrap_err();
    assert!(
        err.starts_with(
            "ERROR: Load into table 't' failed. Check 'stl_load_errors' system table for details."
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unload_round_trips_through_s3_and_refuses_to_overwrite() {
    let (stack, s3) = stack().await;
    let c = stack.redshift_data();
    ok(
        &c,
        "create table src (id int, name varchar(20), day date, amount decimal(6,2))",
    )
    .await;
    ok(
        &c,
        "insert into src values (1, 'a,b', '2026-11-01', 1.50), (2, 'it''s', '2026-11-02', null), \
         (3, null, '2026-11-03', 3.00)",
    )
    .await;

    // CSV with a header, PARALLEL OFF: one file named <prefix>000. The quoted query is Redshift SQL with ''.
    let unloaded = ok(
        &c,
        &format!(
            "unload ('select id, nvl(name, ''?'') as name, day, amount from src where id < 3 order by id') \
             to 's3://{BUCKET}/unload/src_' {ROLE} csv header parallel off"
        ),
    )
    .await;
    assert_eq!(unloaded, 2);
    assert_eq!(keys(&s3, "unload/").await, ["unload/src_000"]);
    assert_eq!(
        String::from_utf8(get(&s3, "unload/src_000").await).unwrap(),
        "id,name,day,amount\n1,\"a,b\",2026-11-01,1.50\n2,it's,2026-11-02,\n"
    );

    // Pipe-delimited GZIP with PARALLEL ON (the default): <prefix>0000_part_00.gz, NULL as an empty field.
    ok(
        &c,
        &format!("unload ('select * from src order by id') to 's3://{BUCKET}/pipe/' {ROLE} gzip"),
    )
    .await;
    assert_eq!(keys(&s3, "pipe/").await, ["pipe/0000_part_00.gz"]);
    let mut text = String::new();
    flate2::read::GzDecoder::new(get(&s3, "pipe/0000_part_00.gz").await.as_slice())
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(
        text,
        "1|a,b|2026-11-01|1.50\n2|it's|2026-11-02|\n3||2026-11-03|3.00\n"
    );

    // COPY it back into another table: the same rows (an empty amount is NULL, an empty name an empty string).
    ok(&c, "create table back (like src)").await;
    ok(
        &c,
        &format!("copy back from 's3://{BUCKET}/pipe/' {ROLE} gzip"),
    )
    .await;
    assert_eq!(
        rows(&stack, "select * from back order by id").await,
        table(&[
            &["1", "a,b", "2026-11-01", "1.50"],
            &["2", "it's", "2026-11-02", "NULL"],
            &["3", "", "2026-11-03", "3.00"],
        ])
    );
    ok(&c, "create table back_csv (like src)").await;
    ok(
        &c,
        &format!("copy back_csv from 's3://{BUCKET}/unload/src_' {ROLE} csv ignoreheader 1"),
    )
    .await;
    assert_eq!(
        rows(&stack, "select * from back_csv order by id").await,
        rows(
            &stack,
            "select id, coalesce(name, '?'), day, amount from src where id < 3 order by id"
        )
        .await
    );

    // Onto existing objects without ALLOWOVERWRITE: Redshift's error, and the file is untouched.
    let err = run(
        &c,
        &format!("unload ('select 9') to 's3://{BUCKET}/unload/src_' {ROLE} csv parallel off"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        "ERROR: Specified unload destination on S3 is not empty. Consider using a different bucket / prefix, \
         manually removing the target files in S3, or using the ALLOWOVERWRITE option."
    );
    assert!(String::from_utf8(get(&s3, "unload/src_000").await)
        .unwrap()
        .starts_with("id,name"));
    ok(
        &c,
        &format!(
            "unload ('select 9 as n') to 's3://{BUCKET}/unload/src_' {ROLE} csv parallel off allowoverwrite"
        ),
    )
    .await;
    assert_eq!(get(&s3, "unload/src_000").await, b"9\n");

    let err = run(
        &c,
        &format!("unload ('select 1') to 's3://{BUCKET}/pq/' {ROLE} format as parquet"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        "ERROR: FORMAT AS PARQUET is not supported by redshift-local"
    );
}
