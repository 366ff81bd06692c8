//! The query history behind `stv_recents` and `sys_query_history`: one row per statement the engine runs, in the
//! database's `redshift_system.query_history` (see `dialect/system.sql`).
//!
//! Written over the administrator's connection the database was prepared with, not the statement's own: a row
//! survives the rollback of the statement's transaction and a failed statement (as Redshift's history does), the
//! statements' role cannot forge it, and the statement's session sees no extra command. Two round trips per
//! statement (an insert as it starts, so a running statement is listed, and an update as it ends), pipelined on
//! one connection per database. The table holds this server's statements only: it is emptied when a server first
//! prepares the database, since query ids start over with each server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_postgres::Client;

/// A statement as it starts.
pub(super) struct Started<'a> {
    pub(super) database: &'a str,
    pub(super) query_id: i64,
    /// The database user: the request's `DbUser`, else the role statements run as.
    pub(super) user: &'a str,
    /// The PostgreSQL role the statement runs as, for `user_id`.
    pub(super) role: &'a str,
    pub(super) pid: i64,
    /// The SQL as the caller sent it (Redshift shows the text it was given).
    pub(super) sql: &'a str,
}

/// How a statement ended, in `sys_query_history`'s words.
#[derive(Debug, Clone, Copy)]
pub(super) enum Outcome {
    /// `success`.
    Success,
    /// `failed`.
    Failed,
    /// `canceled`.
    Canceled,
}

/// The administrator's connection of each prepared database.
#[derive(Default)]
pub(super) struct History {
    clients: Mutex<HashMap<String, Arc<Client>>>,
}

impl History {
    /// Keeps `client` (the administrator's, on `database`) for the history, emptied of an earlier server's rows.
    pub(super) async fn keep(&self, database: &str, client: Client) {
        if let Err(e) = client
            .batch_execute("DELETE FROM redshift_system.query_history")
            .await
        {
            tracing::warn!(database, error = %e, "could not reset the query history");
        }
        self.clients
            .lock()
            .expect("history lock")
            .insert(database.to_string(), Arc::new(client));
    }

    fn client(&self, database: &str) -> Option<Arc<Client>> {
        self.clients
            .lock()
            .expect("history lock")
            .get(database)
            .cloned()
    }

    /// Records a statement as running.
    pub(super) async fn started(&self, s: &Started<'_>) {
        let Some(client) = self.client(s.database) else {
            return;
        };
        let pid = i32::try_from(s.pid).ok();
        let written = client
            .execute(
                "INSERT INTO redshift_system.query_history (query_id, user_name, user_id, database_name, \
                 session_pid, query_type, status, start_time, query_text) \
                 VALUES ($1, $2, (SELECT oid::int FROM pg_roles WHERE rolname = $3), $4, $5, $6, 'running', \
                 clock_timestamp() AT TIME ZONE 'UTC', $7) ON CONFLICT (query_id) DO NOTHING",
                &[
                    &s.query_id,
                    &s.user,
                    &s.role,
                    &s.database,
                    &pid,
                    &query_type(s.sql),
                    &s.sql,
                ],
            )
            .await;
        if let Err(e) = written {
            tracing::warn!(database = s.database, error = %e, "could not record a statement's start");
        }
    }

    /// Records how a statement ended: its status, error text and the rows it returned.
    pub(super) async fn ended(
        &self,
        database: &str,
        query_id: i64,
        outcome: Outcome,
        error: Option<&str>,
        returned_rows: i64,
    ) {
        let Some(client) = self.client(database) else {
            return;
        };
        let status = match outcome {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
            Outcome::Canceled => "canceled",
        };
        let written = client
            .execute(
                "UPDATE redshift_system.query_history SET status = $2, end_time = clock_timestamp() AT TIME ZONE \
                 'UTC', error_message = $3, returned_rows = $4 WHERE query_id = $1",
                &[&query_id, &status, &error, &returned_rows],
            )
            .await;
        if let Err(e) = written {
            tracing::warn!(database, error = %e, "could not record a statement's end");
        }
    }
}

/// `sys_query_history.query_type` from the statement's first words: SELECT, INSERT, UPDATE, DELETE, COPY, UNLOAD,
/// CTAS (`CREATE TABLE ... AS`), DDL (`CREATE`, `ALTER`, `DROP`, `TRUNCATE`, `COMMENT`, `GRANT`, `REVOKE`), UTILITY
/// otherwise (the types the "SYS_QUERY_HISTORY" page lists).
fn query_type(sql: &str) -> &'static str {
    let lower = sql.trim_start().to_ascii_lowercase();
    let first = lower
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or_default();
    match first {
        "select" | "with" => "SELECT",
        "insert" => "INSERT",
        "update" => "UPDATE",
        "delete" => "DELETE",
        "copy" => "COPY",
        "unload" => "UNLOAD",
        "create" if lower.contains(" table ") && is_ctas(&lower) => "CTAS",
        "create" | "alter" | "drop" | "truncate" | "comment" | "grant" | "revoke" => "DDL",
        _ => "UTILITY",
    }
}

/// Whether a `CREATE ... TABLE` statement (lowercased) has `AS` followed by its query.
fn is_ctas(lower: &str) -> bool {
    let words: Vec<&str> = lower.split_whitespace().collect();
    words.windows(2).any(|w| {
        w[0] == "as"
            && (w[1].starts_with("select") || w[1].starts_with("with") || w[1].starts_with('('))
    })
}

#[cfg(test)]
mod tests {
    use super::query_type;

    #[test]
    fn query_types_follow_the_first_words() {
        for (sql, want) in [
            ("select 1", "SELECT"),
            ("  WITH t AS (select 1) select * from t", "SELECT"),
            ("insert into t values (1)", "INSERT"),
            ("create table t (a int)", "DDL"),
            ("create table t distkey(a) as select 1 as a", "CTAS"),
            ("drop table t", "DDL"),
            (
                "create table t (id int generated by default as identity)",
                "DDL",
            ),
            ("copy t from 's3://b/k' iam_role default", "COPY"),
            ("vacuum", "UTILITY"),
        ] {
            assert_eq!(query_type(sql), want, "{sql}");
        }
    }
}
