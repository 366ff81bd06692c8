//! The PostgreSQL role statements run as: never a superuser, so that SQL reaching redshift-local cannot reach the
//! operating system of whoever runs it. Redshift gives a database user no access to the cluster's files or
//! programs (its `COPY` reads Amazon S3, DynamoDB, EMR or a remote host over SSH, never a local file or program);
//! PostgreSQL refuses `COPY ... FROM PROGRAM`, `COPY ... TO '/file'`, `pg_read_file(...)` and the like to a role
//! that is neither a superuser nor a member of `pg_execute_server_program` / `pg_write_server_files` /
//! `pg_read_server_files`, with its own "permission denied" error.
//!
//! When the configured user is a superuser (the local stack's `postgres`), redshift-local creates the role
//! [`ROLE`] (`LOGIN`, nothing else) and runs statements as it; a configured user that is no superuser is used as it
//! is. The configured user stays the administrator: it grants the role the use of each database (`ALL` on the
//! database and its `public` schema, which PostgreSQL 15 no longer opens to everyone, and `ALL` on what the
//! administrator creates there later), creates Redshift's functions ([`crate::dialect::SETUP_SQL`]) and answers
//! the catalog operations.

use tokio_postgres::{Client, Config, NoTls};

/// The role statements run as when the configured user is a superuser.
pub(crate) const ROLE: &str = "redshift_local";

/// Its password: the role is re-created with it at every start, so that a cluster with password authentication
/// works too. It is no secret (the role has no more rights than any local user), only a login.
const PASSWORD: &str = "redshift-local";

/// The connection settings statements run with: the role (created or updated now, and given every database that
/// exists) when `admin` is a superuser, `admin` itself otherwise.
pub(crate) async fn statement_config(admin: &Config) -> anyhow::Result<Config> {
    let client = connect(admin).await?;
    let superuser: bool = client
        .query_one(
            "select rolsuper from pg_roles where rolname = current_user",
            &[],
        )
        .await?
        .get(0);
    if !superuser {
        return Ok(admin.clone());
    }
    // Two servers on one cluster may create it at once: the loser's error is harmless.
    client
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE {ROLE}; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$; \
             ALTER ROLE {ROLE} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS \
             PASSWORD '{PASSWORD}';"
        ))
        .await?;
    let mut config = admin.clone();
    config.user(ROLE).password(PASSWORD);
    // Every database there is now, so that the role may create tables in them before its first statement (the
    // local stack's own SQL client runs as the role too); a database created later is granted at its first
    // statement.
    let databases = client
        .query(
            "select datname from pg_database where datallowconn and not datistemplate",
            &[],
        )
        .await?;
    for row in databases {
        let mut db = admin.clone();
        db.dbname(row.get::<_, &str>(0));
        grant(&connect(&db).await?, admin, &config).await?;
    }
    Ok(config)
}

/// Lets the statements' role (of `statement`) use the database `client` is connected to as the administrator
/// (of `admin`): `ALL` on it, on its `public` schema, and on what the administrator creates in `public` from now on.
/// Nothing when the statements run as the administrator.
pub(crate) async fn grant(
    client: &Client,
    admin: &Config,
    statement: &Config,
) -> Result<(), tokio_postgres::Error> {
    if statement.get_user() == admin.get_user() {
        return Ok(());
    }
    client
        .batch_execute(&format!(
            "DO $$ BEGIN EXECUTE format('GRANT ALL ON DATABASE %I TO {ROLE}', current_database()); END $$; \
             GRANT ALL ON SCHEMA public TO {ROLE}; \
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO {ROLE}; \
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO {ROLE};"
        ))
        .await
}

async fn connect(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}
