//! The catalog operations (`ListDatabases`, `ListSchemas`, `ListTables`, `DescribeTable`), answered from
//! PostgreSQL's own catalogs on the request's `Database`, paged by `MaxResults` and `NextToken`.
//!
//! Patterns are SQL `LIKE` patterns (`%` any run, `_` one character), as the service documents them. Each call
//! opens its own short connection: the service answers them synchronously, outside any statement or session.

use crate::error::ApiError;
use crate::paging::{Listing, Page};
use crate::values::Column;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row};

/// Schemas never listed: PostgreSQL's TOAST storage and other connections' temporary schemas are no user's
/// objects (Redshift shows neither), and `redshift_system` holds what Redshift keeps in `pg_catalog` (its system
/// views) plus redshift-local's own bookkeeping: Redshift lists no such schema.
const HIDDEN_SCHEMAS: &str = concat!(
    r"nspname not like 'pg\_toast%' and nspname not like 'pg\_temp\_%'",
    " and nspname <> 'redshift_system'"
);

/// A table, view or the like, as `ListTables` reports it (`TableMember`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableMember {
    /// Its name.
    pub(crate) name: String,
    /// Its schema.
    pub(crate) schema: String,
    /// The JDBC table type Redshift reports: `TABLE`, `VIEW`, `SYSTEM TABLE`, ...
    pub(crate) kind: String,
}

/// Which database a catalog call reads, and which it connects to (`ConnectedDatabase`, else the same).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    /// The `Database` whose catalog is read.
    pub(crate) database: &'a str,
    /// The `ConnectedDatabase`, when the request names one.
    pub(crate) connected_database: Option<&'a str>,
}

/// `ListDatabases`: the databases one can connect to, by name.
pub(crate) async fn list_databases(
    config: &tokio_postgres::Config,
    database: &str,
    page: &Page,
) -> Result<Listing<String>, ApiError> {
    let client = connect(config, database).await?;
    let (limit, offset) = page.bounds();
    let rows = query(
        &client,
        "select datname::text from pg_database where datallowconn and not datistemplate \
         order by datname limit $1 offset $2",
        &[&limit, &offset],
    )
    .await?;
    Ok(page.finish(rows.iter().map(|r| r.get(0)).collect()))
}

/// `ListSchemas`: the schemas of the database whose names match `SchemaPattern`.
pub(crate) async fn list_schemas(
    config: &tokio_postgres::Config,
    scope: Scope<'_>,
    schema_pattern: Option<&str>,
    page: &Page,
) -> Result<Listing<String>, ApiError> {
    let client = catalog_client(config, scope).await?;
    let (limit, offset) = page.bounds();
    let sql = format!(
        "select nspname::text from pg_namespace where {HIDDEN_SCHEMAS} \
         and ($1::text is null or nspname like $1) order by nspname limit $2 offset $3"
    );
    let rows = query(&client, &sql, &[&schema_pattern, &limit, &offset]).await?;
    Ok(page.finish(rows.iter().map(|r| r.get(0)).collect()))
}

/// `ListTables`: tables, views and the like whose schema and name match the patterns, as `TableMember`s
/// (`TABLE`, `VIEW`, `MATERIALIZED VIEW`, `EXTERNAL TABLE`, and `SYSTEM TABLE`/`SYSTEM VIEW` in the system
/// schemas, the JDBC table types Redshift reports).
pub(crate) async fn list_tables(
    config: &tokio_postgres::Config,
    scope: Scope<'_>,
    schema_pattern: Option<&str>,
    table_pattern: Option<&str>,
    page: &Page,
) -> Result<Listing<TableMember>, ApiError> {
    let client = catalog_client(config, scope).await?;
    let (limit, offset) = page.bounds();
    let sql = format!(
        "select c.relname::text, n.nspname::text, \
           case when n.nspname in ('pg_catalog', 'information_schema') then \
                  case c.relkind when 'v' then 'SYSTEM VIEW' else 'SYSTEM TABLE' end \
                else case c.relkind when 'v' then 'VIEW' when 'm' then 'MATERIALIZED VIEW' \
                                    when 'f' then 'EXTERNAL TABLE' else 'TABLE' end end \
         from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where c.relkind in ('r', 'p', 'v', 'm', 'f') and {HIDDEN_SCHEMAS} \
           and ($1::text is null or n.nspname like $1) and ($2::text is null or c.relname like $2) \
         order by n.nspname, c.relname limit $3 offset $4"
    );
    let rows = query(
        &client,
        &sql,
        &[&schema_pattern, &table_pattern, &limit, &offset],
    )
    .await?;
    let tables = rows
        .iter()
        .map(|r| TableMember {
            name: r.get(0),
            schema: r.get(1),
            kind: r.get(2),
        })
        .collect();
    Ok(page.finish(tables))
}

/// `DescribeTable`: the columns of the named table (all tables of the schema, or of every schema, when a name
/// is left out), in table order, as `ColumnMetadata` with Redshift's type names, sizes and defaults.
pub(crate) async fn describe_table(
    config: &tokio_postgres::Config,
    scope: Scope<'_>,
    schema: Option<&str>,
    table: Option<&str>,
    page: &Page,
) -> Result<Listing<Column>, ApiError> {
    let client = catalog_client(config, scope).await?;
    let (limit, offset) = page.bounds();
    let sql = format!(
        "select c.table_schema::text, c.table_name::text, c.column_name::text, c.udt_name::text, \
           (c.is_nullable = 'YES'), c.column_default::text, \
           coalesce(c.character_maximum_length, 0)::int, \
           (case c.udt_name when 'int2' then 5 when 'int4' then 10 when 'int8' then 19 \
              when 'float4' then 8 when 'float8' then 17 when 'numeric' then coalesce(c.numeric_precision, 0) \
              else coalesce(c.character_maximum_length, 0) end)::int, \
           (case when c.udt_name = 'numeric' then coalesce(c.numeric_scale, 0) else 0 end)::int \
         from information_schema.columns c \
         where c.table_schema::text in (select nspname::text from pg_namespace where {HIDDEN_SCHEMAS}) \
           and ($1::text is null or c.table_schema::text = $1) \
           and ($2::text is null or c.table_name::text = $2) \
         order by c.table_schema, c.table_name, c.ordinal_position limit $3 offset $4"
    );
    let rows = query(&client, &sql, &[&schema, &table, &limit, &offset]).await?;
    Ok(page.finish(rows.iter().map(described_column).collect()))
}

/// One described column's `ColumnMetadata`, from a row of `describe_table`'s query.
fn described_column(r: &Row) -> Column {
    let type_name: String = r.get(3);
    Column {
        schema_name: r.get(0),
        table_name: r.get(1),
        name: r.get(2),
        nullable: r.get(4),
        default: r.get(5),
        length: r.get(6),
        precision: r.get(7),
        scale: r.get(8),
        case_sensitive: matches!(
            type_name.as_str(),
            "text" | "varchar" | "bpchar" | "name" | "char"
        ),
        signed: matches!(
            type_name.as_str(),
            "int2" | "int4" | "int8" | "float4" | "float8" | "numeric"
        ),
        type_name,
    }
}

/// A connection to `database`; one that cannot be made is the model's `DatabaseConnectionException` (its
/// message names no request value).
async fn connect(config: &tokio_postgres::Config, database: &str) -> Result<Client, ApiError> {
    let mut config = config.clone();
    config.dbname(database);
    match config.connect(NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            Ok(client)
        }
        Err(e) => {
            tracing::info!(error = %e, "catalog connection failed");
            Err(ApiError {
                code: "DatabaseConnectionException",
                message: "Database connection failed".into(),
                resource_id: None,
            })
        }
    }
}

/// The connection whose catalog answers: the `ConnectedDatabase` must be reachable, and the catalog read is the
/// `Database`'s (PostgreSQL keeps one catalog per database, so a second connection when they differ).
async fn catalog_client(
    config: &tokio_postgres::Config,
    scope: Scope<'_>,
) -> Result<Client, ApiError> {
    match scope.connected_database {
        Some(connected) if connected != scope.database => {
            connect(config, connected).await?;
            connect(config, scope.database).await
        }
        _ => connect(config, scope.database).await,
    }
}

/// Runs a catalog query; a bad pattern (PostgreSQL's data exceptions, class 22) is the caller's
/// `ValidationException`, anything else the service's `InternalServerException`.
async fn query(
    client: &Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, ApiError> {
    client.query(sql, params).await.map_err(|e| {
        let data_exception = e.code().is_some_and(|c| c.code().starts_with("22"));
        let text = e
            .as_db_error()
            .map_or_else(|| e.to_string(), |db| db.message().to_string());
        if data_exception {
            ApiError::validation(format!("ERROR: {text}"))
        } else {
            ApiError::internal(format!("ERROR: {text}"))
        }
    })
}
