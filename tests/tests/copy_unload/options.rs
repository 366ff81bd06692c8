//! `COPY`'s and `UNLOAD`'s options: date and time formats, `MAXERROR` and `stl_load_errors`, the text options,
//! manifests, identity values, and a `COPY` after other statements.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dateformat_and_timeformat_read_patterns_auto_and_epochs() {
    let (stack, s3) = stack().await;
    let c = stack.redshift_data();
    ok(&c, "create table events (id int, day date, at timestamp)").await;

    put(
        &s3,
        "dt/pattern.txt",
        "1|03/31/2003|03/31/2003 18:45:05\n2|12/01/1999|12/01/1999 06:07:08.25\n",
    )
    .await;
    let loaded = ok(
        &c,
        &format!(
            "copy events from 's3://{BUCKET}/dt/pattern' {ROLE} dateformat 'MM/DD/YYYY' \
             timeformat 'MM/DD/YYYY HH:MI:SS'"
        ),
    )
    .await;
    assert_eq!(loaded, 2);
    put(
        &s3,
        "dt/epoch.csv",
        "3,2003-03-31,1049136305\n4,2003-04-01,0\n",
    )
    .await;
    ok(
        &c,
        &format!("copy events from 's3://{BUCKET}/dt/epoch' {ROLE} csv timeformat 'epochsecs'"),
    )
    .await;
    put(&s3, "dt/millis.csv", "5,,1049136305123\n").await;
    ok(
        &c,
        &format!(
            "copy events from 's3://{BUCKET}/dt/millis' {ROLE} csv timeformat as 'epochmillisecs'"
        ),
    )
    .await;
    // 'auto' recognises what Redshift's automatic recognition lists: ISO 8601, Julian days, YYYYMMDD HHMISS.
    put(
        &s3,
        "dt/auto.txt",
        "6|J2451187|2019-02-11T05:09:12.195Z\n7|1996.008|19960108 040809\n",
    )
    .await;
    ok(
        &c,
        &format!(
            "copy events from 's3://{BUCKET}/dt/auto' {ROLE} dateformat 'auto' timeformat 'auto'"
        ),
    )
    .await;
    assert_eq!(
        rows(&stack, "select id, day, at from events order by id").await,
        table(&[
            &["1", "2003-03-31", "2003-03-31 18:45:05"],
            &["2", "1999-12-01", "1999-12-01 06:07:08.25"],
            &["3", "2003-03-31", "2003-03-31 18:45:05"],
            &["4", "2003-04-01", "1970-01-01 00:00:00"],
            &["5", "NULL", "2003-03-31 18:45:05.123"],
            &["6", "1999-01-08", "2019-02-11 05:09:12.195"],
            &["7", "1996-01-08", "1996-01-08 04:08:09"],
        ])
    );

    // A value that does not match the pattern is a rejected row (1205), recorded in stl_load_errors.
    put(&s3, "dt/bad.txt", "8|2003-03-31|03/31/2003 18:45:05\n").await;
    let err = run(
        &c,
        &format!(
            "copy events from 's3://{BUCKET}/dt/bad' {ROLE} dateformat 'MM/DD/YYYY' \
             timeformat 'MM/DD/YYYY HH:MI:SS'"
        ),
    )
    .await
    .unwrap_err();
    assert!(
        err.starts_with(
            "ERROR: Load into table 'events' failed. Check 'stl_load_errors' system table for details."
        ),
        "{err}"
    );
    assert_eq!(
        load_errors(&stack, "dt/bad.txt").await,
        table(&[&[
            "1",
            "day",
            "date",
            "",
            "1205",
            "Date value did not match format specified [MM/DD/YYYY]",
            "2003-03-31",
            "8|2003-03-31|03/31/2003 18:45:05"
        ]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn maxerror_skips_rejected_rows_and_stl_load_errors_records_them() {
    let (stack, s3) = stack().await;
    let c = stack.redshift_data();
    ok(&c, "create table people (id int, name varchar(5))").await;
    // Line 1 is a header; 3 is no integer (PostgreSQL rejects it), 4 is too long (5 characters but 6 bytes: 'é'
    // is two), 6 has an extra field.
    put(
        &s3,
        "me/a.txt",
        "id|name\n1|ann\nx|bob\n3|zoé12\n4|eve\n5|max|extra\n",
    )
    .await;
    // "If the load returns the error_count number of errors or greater, the load fails": 3 rejected rows pass
    // with MAXERROR 4.
    let sql = format!("copy people from 's3://{BUCKET}/me/a' {ROLE} ignoreheader 1 maxerror 4");
    let (loaded, query) = run(&c, &sql).await.unwrap();
    assert_eq!(loaded, 2);
    assert_eq!(
        rows(&stack, "select id, name from people order by id").await,
        table(&[&["1", "ann"], &["4", "eve"]])
    );
    assert_eq!(
        load_errors(&stack, "me/a.txt").await,
        table(&[
            &[
                "3",
                "id",
                "integer",
                "",
                "1207",
                "invalid input syntax for type integer: \"x\"",
                "x",
                "x|bob"
            ],
            &[
                "4",
                "name",
                "character",
                "5",
                "1204",
                "String length exceeds DDL length",
                "zoé12",
                "3|zo.12"
            ],
            &[
                "6",
                "",
                "",
                "",
                "1202",
                "Extra column(s) found",
                "",
                "5|max|extra"
            ],
        ])
    );
    // Each row names the load: its table, query id and session.
    let meta = rows(
        &stack,
        &format!(
            "select distinct tbl = 'people'::regclass::oid::int, query, session > 0, userid > 0, slice, \
             starttime <= now() at time zone 'utc' from redshift_system.stl_load_errors \
             where trim(filename) = 's3://{BUCKET}/me/a.txt'"
        ),
    )
    .await;
    assert_eq!(
        meta,
        table(&[&["t", &query.to_string(), "t", "t", "0", "t"]])
    );

    // As many rejected rows as MAXERROR: the load fails and loads nothing, its rows are recorded.
    ok(&c, "truncate people").await;
    put(&s3, "me/b.txt", "1|ann\nx|bob\ny|cy\n").await;
    let err = run(
        &c,
        &format!("copy people from 's3://{BUCKET}/me/b' {ROLE} maxerror 2"),
    )
    .await
    .unwrap_err();
    assert!(
        err.starts_with(
            "ERROR: Load into table 'people' failed. Check 'stl_load_errors' system table for details."
        ),
        "{err}"
    );
    assert!(rows(&stack, "select * from people").await.is_empty());
    assert_eq!(load_errors(&stack, "me/b.txt").await.len(), 2);

    // Without MAXERROR the first bad row fails the load, and is recorded too.
    put(&s3, "me/c.txt", "1|ann\n2|toolong\n").await;
    let err = run(&c, &format!("copy people from 's3://{BUCKET}/me/c' {ROLE}"))
        .await
        .unwrap_err();
    assert!(err.contains("Check 'stl_load_errors'"), "{err}");
    assert!(rows(&stack, "select * from people").await.is_empty());
    assert_eq!(
        load_errors(&stack, "me/c.txt").await[0][..5],
        ["2", "name", "character", "5", "1204"]
    );

    // Inside a transaction (a batch in one transaction), rejected rows roll back to a savepoint and the rest of
    // the batch commits.
    put(&s3, "me/d.txt", "7|ok\nx|bad\n9|fine\n").await;
    let batch = c
        .batch_execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .sqls("insert into people values (6, 'six')")
        .sqls(format!(
            "copy people from 's3://{BUCKET}/me/d' {ROLE} maxerror 2"
        ))
        .sqls("insert into people values (10, 'ten')")
        .send()
        .await
        .unwrap();
    let d = statement_end(&c, batch.id().unwrap()).await.unwrap();
    assert_eq!(d.status(), Some(&StatusString::Finished), "{:?}", d.error());
    assert_eq!(
        rows(&stack, "select id, name from people order by id").await,
        table(&[&["6", "six"], &["7", "ok"], &["9", "fine"], &["10", "ten"]])
    );
    // The system table is found without its schema too (it is on the database's search_path).
    let (n, _) = run(
        &c,
        &format!("select * from stl_load_errors where trim(filename) = 's3://{BUCKET}/me/d.txt'"),
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copy_text_options_manifest_explicit_ids_and_copy_after_other_statements() {
    let (stack, s3) = stack().await;
    let c = stack.redshift_data();
    ok(
        &c,
        "create table notes (id int, body varchar(6), tag char(2))",
    )
    .await;

    // ACCEPTINVCHARS: each byte of invalid UTF-8 becomes the replacement; TRUNCATECOLUMNS cuts to the length in
    // bytes without splitting a character.
    put(
        &s3,
        "n/inv.txt",
        b"1|a\xe2\x82b|x\n2|h\xc3\xa9llo w|yz\n".to_vec(),
    )
    .await;
    ok(
        &c,
        &format!(
            "copy notes from 's3://{BUCKET}/n/inv' {ROLE} acceptinvchars as '^' truncatecolumns"
        ),
    )
    .await;
    // Without ACCEPTINVCHARS, invalid UTF-8 fails the load and is recorded (1220, on its line).
    put(&s3, "n/bad_utf8.txt", b"1|ok|a\n2|b\xff|b\n".to_vec()).await;
    let err = run(
        &c,
        &format!("copy notes from 's3://{BUCKET}/n/bad_utf8' {ROLE}"),
    )
    .await
    .unwrap_err();
    assert!(err.contains("Check 'stl_load_errors'"), "{err}");
    assert_eq!(
        load_errors(&stack, "n/bad_utf8.txt").await[0][..5],
        ["2", "", "", "", "1220"]
    );

    // ESCAPE: backslashes make delimiters, line breaks and backslashes data; REMOVEQUOTES keeps what is inside.
    put(&s3, "n/esc.txt", "3|a\\|b\\\\|q\n4|two\\\nln|r\n").await;
    ok(
        &c,
        &format!("copy notes from 's3://{BUCKET}/n/esc' {ROLE} escape"),
    )
    .await;
    put(&s3, "n/quoted.txt", "5|\"x|y\"|\"s\"\n").await;
    ok(
        &c,
        &format!("copy notes from 's3://{BUCKET}/n/quoted' {ROLE} removequotes"),
    )
    .await;
    assert_eq!(
        rows(&stack, "select id, body, tag from notes order by id").await,
        table(&[
            &["1", "a^^b", "x "],
            &["2", "héllo", "yz"],
            &["3", "a|b\\", "q "],
            &["4", "two\nln", "r "],
            &["5", "x|y", "s "],
        ])
    );

    // MANIFEST: the listed files in order; a missing optional one is skipped, a missing mandatory one fails.
    put(&s3, "m/one.txt", "6|six|m\n").await;
    put(&s3, "m/two.txt", "7|seven|m\n").await;
    put(
        &s3,
        "m/load.manifest",
        format!(
            r#"{{"entries": [{{"url": "s3://{BUCKET}/m/two.txt", "mandatory": true}},
                {{"url": "s3://{BUCKET}/m/one.txt"}}, {{"url": "s3://{BUCKET}/m/gone.txt", "mandatory": false}}]}}"#
        ),
    )
    .await;
    let loaded = ok(
        &c,
        &format!("copy notes from 's3://{BUCKET}/m/load.manifest' {ROLE} manifest truncatecolumns"),
    )
    .await;
    assert_eq!(loaded, 2);
    put(
        &s3,
        "m/bad.manifest",
        format!(r#"{{"entries": [{{"url": "s3://{BUCKET}/m/gone.txt", "mandatory": true}}]}}"#),
    )
    .await;
    let err = run(
        &c,
        &format!("copy notes from 's3://{BUCKET}/m/bad.manifest' {ROLE} manifest"),
    )
    .await
    .unwrap_err();
    assert!(err.contains("is mandatory and does not exist"), "{err}");

    // A COPY after another statement in the same text runs after it.
    put(&s3, "n/again.txt", "9|nine|z\n").await;
    ok(
        &c,
        &format!("delete from notes where id < 7; copy notes from 's3://{BUCKET}/n/again' {ROLE}"),
    )
    .await;
    assert_eq!(
        rows(&stack, "select id from notes order by id").await,
        table(&[&["7"], &["9"]])
    );

    // EXPLICIT_IDS: the data's identity values are loaded; without it the identity column is not in the data.
    ok(
        &c,
        "create table items (id bigint identity(1, 1), name varchar(10))",
    )
    .await;
    put(&s3, "i/explicit.txt", "100|hundred\n").await;
    ok(
        &c,
        &format!("copy items from 's3://{BUCKET}/i/explicit' {ROLE} explicit_ids"),
    )
    .await;
    put(&s3, "i/generated.txt", "generated\n").await;
    ok(
        &c,
        &format!("copy items from 's3://{BUCKET}/i/generated' {ROLE}"),
    )
    .await;
    assert_eq!(
        rows(&stack, "select id, name from items order by id").await,
        table(&[&["1", "generated"], &["100", "hundred"]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unload_addquotes_escape_and_manifest_round_trip() {
    let (stack, s3) = stack().await;
    let c = stack.redshift_data();
    ok(&c, "create table src (id int, body varchar(20))").await;
    ok(
        &c,
        "insert into src values (1, 'a|b'), (2, 'say \"hi\"'), (3, null), (4, 'back' || chr(92) || 'slash')",
    )
    .await;
    let unloaded = ok(
        &c,
        &format!(
            "unload ('select id, body from src order by id') to 's3://{BUCKET}/u/src_' {ROLE} addquotes \
             escape manifest parallel off"
        ),
    )
    .await;
    assert_eq!(unloaded, 4);
    assert_eq!(
        get_text(&s3, "u/src_000").await,
        "\"1\"|\"a\\|b\"\n\"2\"|\"say \\\"hi\\\"\"\n\"3\"|\n\"4\"|\"back\\\\slash\"\n"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&get_text(&s3, "u/src_manifest").await).unwrap();
    assert_eq!(
        manifest,
        serde_json::json!({"entries": [{"url": format!("s3://{BUCKET}/u/src_000")}]})
    );
    // The unloaded file loads back through its own manifest with REMOVEQUOTES and ESCAPE.
    ok(&c, "create table back (id int, body varchar(20))").await;
    ok(
        &c,
        &format!(
            "copy back from 's3://{BUCKET}/u/src_manifest' {ROLE} manifest removequotes escape emptyasnull"
        ),
    )
    .await;
    assert_eq!(
        rows(
            &stack,
            "select id, coalesce(body, 'NULL') from back order by id"
        )
        .await,
        rows(
            &stack,
            "select id, coalesce(body, 'NULL') from src order by id"
        )
        .await
    );
}
