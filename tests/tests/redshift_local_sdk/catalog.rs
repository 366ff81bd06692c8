//! The catalog operations (`ListDatabases`, `ListSchemas`, `ListTables`, `DescribeTable`) answered from PostgreSQL.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalog_operations_answer_from_postgres() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let setup = batch(
        &c,
        &[
            "create schema cat_a",
            "create schema cat_b",
            "create table cat_a.t1(id int not null, name varchar(20) default 'x', amount numeric(10,2))",
            "create table cat_a.t2(i bigint)",
            "create view cat_a.v1 as select id from cat_a.t1",
            "create table cat_b.t3(ok boolean)",
        ],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        wait_done(&c, setup.id().unwrap()).await.status(),
        Some(&StatusString::Finished)
    );

    // ListDatabases, one at a time.
    let all = c
        .list_databases()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .send()
        .await
        .unwrap();
    assert!(all.databases().iter().any(|d| d == DATABASE), "{all:?}");
    let mut paged = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_databases()
            .cluster_identifier(CLUSTER)
            .database(DATABASE)
            .db_user(DB_USER)
            .max_results(1)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert_eq!(page.databases().len(), 1);
        paged.extend(page.databases().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(paged, all.databases());

    // ListSchemas: LIKE patterns, paged.
    let schemas = |pattern: &str| {
        c.list_schemas()
            .cluster_identifier(CLUSTER)
            .database(DATABASE)
            .db_user(DB_USER)
            .schema_pattern(pattern)
    };
    assert_eq!(
        schemas("cat\\_%").send().await.unwrap().schemas(),
        ["cat_a", "cat_b"]
    );
    assert_eq!(
        schemas("cat__").send().await.unwrap().schemas(),
        ["cat_a", "cat_b"]
    );
    let first = schemas("cat%").max_results(1).send().await.unwrap();
    assert_eq!(first.schemas(), ["cat_a"]);
    let second = schemas("cat%")
        .max_results(1)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.schemas(), ["cat_b"]);
    assert!(second.next_token().is_none());
    let everything = c
        .list_schemas()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .send()
        .await
        .unwrap();
    assert!(everything.schemas().iter().any(|s| s == "public"));

    // ListTables: name, schema and type.
    let tables = |schema: &str, table: &str| {
        c.list_tables()
            .cluster_identifier(CLUSTER)
            .database(DATABASE)
            .db_user(DB_USER)
            .schema_pattern(schema)
            .table_pattern(table)
    };
    let triple = |t: &aws_sdk_redshiftdata::types::TableMember| {
        (
            t.schema().unwrap().to_string(),
            t.name().unwrap().to_string(),
            t.r#type().unwrap().to_string(),
        )
    };
    let listed: Vec<_> = tables("cat_a", "%")
        .send()
        .await
        .unwrap()
        .tables()
        .iter()
        .map(triple)
        .collect();
    assert_eq!(
        listed,
        [
            ("cat_a".into(), "t1".into(), "TABLE".into()),
            ("cat_a".into(), "t2".into(), "TABLE".into()),
            ("cat_a".into(), "v1".into(), "VIEW".into()),
        ]
    );
    let t_one: Vec<_> = tables("cat%", "t_")
        .send()
        .await
        .unwrap()
        .tables()
        .iter()
        .map(triple)
        .collect();
    assert_eq!(
        t_one.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
        ["t1", "t2", "t3"]
    );
    let first = tables("cat%", "t%").max_results(1).send().await.unwrap();
    assert_eq!(first.tables()[0].name(), Some("t1"));
    let second = tables("cat%", "t%")
        .max_results(1)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.tables()[0].name(), Some("t2"));
    // A token of another listing is refused.
    let e = tables("cat%", "t%")
        .next_token(schemas_token(&c).await)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));

    // DescribeTable: column types, sizes, nullability and defaults, paged.
    let describe = || {
        c.describe_table()
            .cluster_identifier(CLUSTER)
            .database(DATABASE)
            .db_user(DB_USER)
            .schema("cat_a")
            .table("t1")
    };
    let d = describe().send().await.unwrap();
    assert_eq!(d.table_name(), Some("t1"));
    let cols: Vec<_> = d
        .column_list()
        .iter()
        .map(|m| {
            (
                m.name().unwrap().to_string(),
                m.type_name().unwrap().to_string(),
                m.nullable(),
                m.precision(),
                m.scale(),
                m.length(),
            )
        })
        .collect();
    assert_eq!(
        cols,
        [
            ("id".into(), "int4".into(), 0, 10, 0, 0),
            ("name".into(), "varchar".into(), 1, 20, 0, 20),
            ("amount".into(), "numeric".into(), 1, 10, 2, 0),
        ]
    );
    assert_eq!(
        d.column_list()[1].column_default(),
        Some("'x'::character varying")
    );
    assert_eq!(d.column_list()[0].schema_name(), Some("cat_a"));
    assert_eq!(d.column_list()[0].table_name(), Some("t1"));
    let first = describe().max_results(1).send().await.unwrap();
    assert_eq!(first.column_list()[0].name(), Some("id"));
    let second = describe()
        .max_results(1)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.column_list()[0].name(), Some("name"));

    // The target is checked as for statements; an unknown database cannot be connected to.
    let e = c
        .list_databases()
        .cluster_identifier(CLUSTER)
        .db_user(DB_USER)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Some("ValidationException"), Some("Database: required"))
    );
    let e = c
        .list_schemas()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.message().unwrap().contains("DbUser or SecretArn"),
        "{e:?}"
    );
    let e = c
        .list_tables()
        .workgroup_name("local-wg")
        .database("no_such_database")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("DatabaseConnectionException"), "{e:?}");
    assert!(!e.message().unwrap().contains("no_such_database"));
}

/// A `NextToken` of `ListSchemas`.
async fn schemas_token(c: &Client) -> String {
    c.list_schemas()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .max_results(1)
        .send()
        .await
        .unwrap()
        .next_token()
        .unwrap()
        .to_string()
}
