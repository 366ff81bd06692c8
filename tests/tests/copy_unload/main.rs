//! Redshift's `COPY ... FROM 's3://...'` and `UNLOAD ... TO 's3://...'` through aws-sdk-redshiftdata on the local
//! stack: objects put in and read back from moto's S3 with aws-sdk-s3, loaded rows checked value by value in
//! PostgreSQL, failures checked for Redshift's own error text, and rejected rows in `stl_load_errors`. One binary,
//! a file per concern: `loads` (formats, failures, `UNLOAD`'s round trip) and `options` (`DATEFORMAT` /
//! `TIMEFORMAT`, `MAXERROR`, `ACCEPTINVCHARS`, `TRUNCATECOLUMNS`, `ESCAPE`, `REMOVEQUOTES`, `MANIFEST`,
//! `EXPLICIT_IDS`, a `COPY` after other statements, `UNLOAD`'s `ADDQUOTES`, `ESCAPE` and `MANIFEST`); the helpers
//! both use live here.

use aws_sdk_redshiftdata::types::StatusString;
use aws_sdk_redshiftdata::Client;
use std::io::{Read, Write};
use tasker_tests::stack::{
    run_finished, statement_end, Stack, StackOptions, CLUSTER, DATABASE, DB_USER,
};

const ROLE: &str = "IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftLoader'";
const BUCKET: &str = "loads";

/// A stack and an S3 client on its moto, with the bucket made.
async fn stack() -> (Stack, aws_sdk_s3::Client) {
    let stack = Stack::start(StackOptions {
        poll: false,
        prefix: "copy".into(),
        ..Default::default()
    })
    .await
    .expect("local stack");
    let s3 = stack.s3();
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    (stack, s3)
}

async fn put(s3: &aws_sdk_s3::Client, key: &str, body: impl Into<Vec<u8>>) {
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(body.into().into())
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
}

async fn get(s3: &aws_sdk_s3::Client, key: &str) -> Vec<u8> {
    let out = s3
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

async fn keys(s3: &aws_sdk_s3::Client, prefix: &str) -> Vec<String> {
    let out = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// An object's body as text.
async fn get_text(s3: &aws_sdk_s3::Client, key: &str) -> String {
    String::from_utf8(get(s3, key).await).unwrap()
}

/// Runs one statement to its end: `(ResultRows, RedshiftQueryId)` when it finished, its `Error` otherwise.
async fn run(c: &Client, sql: &str) -> Result<(i64, i64), String> {
    let d = run_finished(c, sql).await?;
    Ok((d.result_rows(), d.redshift_query_id()))
}

async fn ok(c: &Client, sql: &str) -> i64 {
    run(c, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}")).0
}

/// Every row of a query as text fields ("NULL" for NULL), read in PostgreSQL directly.
async fn rows(stack: &Stack, sql: &str) -> Vec<Vec<String>> {
    stack.text_rows(sql).await.unwrap()
}

fn table(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

/// The `stl_load_errors` rows of one data file: line, column, type, length, code, reason, raw field, raw line.
async fn load_errors(stack: &Stack, file: &str) -> Vec<Vec<String>> {
    rows(
        stack,
        &format!(
            "select line_number, trim(colname), trim(type), trim(col_length), err_code, trim(err_reason), \
             trim(raw_field_value), trim(raw_line) from redshift_system.stl_load_errors \
             where trim(filename) = 's3://{BUCKET}/{file}' order by line_number"
        ),
    )
    .await
}

mod loads;
mod options;
