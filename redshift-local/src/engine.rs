//! Statements and their lifecycle: `SUBMITTED` -> `PICKED` -> `STARTED` -> `FINISHED` / `FAILED` / `ABORTED`,
//! each run on its own PostgreSQL connection in the background.

use crate::error::ApiError;
use crate::events::{Completion, EventSender};
use crate::paging::{Listing, Page};
use crate::values::{Cell, Column};
use crate::Options;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_postgres::{CancelToken, NoTls};

mod history;
mod request;
mod run;
mod sessions;
mod view;

use history::Outcome;
pub(crate) use request::{
    ExecutionMode, NewStatement, ResultFormat, SessionUse, Target, TargetFilter,
};
use run::{error_text, run_one};
use sessions::close_expired_sessions;
pub(crate) use sessions::SessionFilter;
pub(crate) use view::{
    BatchView, Description, Lifecycle, ResultPage, SessionView, StatementSummary, StatementView,
    Stats, SubStatementView, Submitted,
};

/// How long the Data API remembers a `ClientToken`.
const CLIENT_TOKEN_LIFE: Duration = Duration::from_secs(8 * 3600);

/// How long the Data API keeps a statement after it ended: "The maximum retention time for query results is 24
/// hours" (Amazon Redshift Management Guide, "Considerations when calling the Amazon Redshift Data API",
/// <https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html>). Past it, `DescribeStatement`, the result
/// operations and `CancelStatement` answer `ApiError::expired` and `ListStatements` no longer shows it.
pub const DEFAULT_STATEMENT_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Which of the caller's statements `ListStatements` shows (`RoleLevel`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SessionScope<'a> {
    /// Every statement of the caller's role (access key): `RoleLevel` true, the default.
    Role,
    /// Only those run in this IAM session (session token): `RoleLevel` false.
    Only(Option<&'a str>),
}

/// A session: its connection (opened by its first statement), kept while statements come within its keep-alive.
struct Session {
    owner: String,
    target: Target,
    client: Option<Arc<tokio_postgres::Client>>,
    busy: bool,
    keep_alive: std::time::Duration,
    idle_since: Instant,
    /// Wall-clock times `ListSessions` reports.
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// When its keep-alive ran out: a closed session is listed (`CLOSED`) for a day but runs nothing.
    closed_at: Option<DateTime<Utc>>,
}

impl Session {
    fn expired(&self) -> bool {
        !self.busy && self.idle_since.elapsed() > self.keep_alive
    }
}

/// Where a statement (or a batch's sub-statement) is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Accepted, not yet picked up.
    Submitted,
    /// Getting its connection.
    Picked,
    /// Running on PostgreSQL.
    Started,
    /// Ended without error.
    Finished,
    /// Ended with an error.
    Failed,
    /// Cancelled, or not run because an earlier statement of its batch failed.
    Aborted,
}

impl Status {
    /// The wire name, as `Status` filters and replies spell it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "SUBMITTED",
            Status::Picked => "PICKED",
            Status::Started => "STARTED",
            Status::Finished => "FINISHED",
            Status::Failed => "FAILED",
            Status::Aborted => "ABORTED",
        }
    }

    /// Whether it ended (finished, failed or aborted): nothing changes it any more.
    pub(crate) fn ended(self) -> bool {
        matches!(self, Status::Finished | Status::Failed | Status::Aborted)
    }
}

/// A statement's rows, kept until the server stops.
struct ResultSet {
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
}

struct Sub {
    sql: String,
    status: Status,
    error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    started: Option<Instant>,
    duration_ns: i64,
    result_rows: i64,
    result_size: i64,
    query_id: i64,
    result: Option<ResultSet>,
}

struct Stmt {
    new: NewStatement,
    status: Status,
    error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    started: Option<Instant>,
    duration_ns: i64,
    pid: Option<i64>,
    subs: Vec<Sub>,
    cancel: Option<CancelToken>,
    cancel_requested: bool,
    /// The session it runs on, if any.
    session_id: Option<String>,
    /// When it ended: the retention runs from there.
    ended_at: Option<Instant>,
}

impl Stmt {
    /// Whether it ended longer than `retention` ago: the Data API no longer describes it.
    fn expired(&self, retention: Duration) -> bool {
        self.ended_at.is_some_and(|at| at.elapsed() >= retention)
    }

    /// Refuses a statement past the retention, after the owner check (another identity learns nothing of it).
    fn check_retained(&self, retention: Duration) -> Result<(), ApiError> {
        if self.expired(retention) {
            Err(ApiError::expired())
        } else {
            Ok(())
        }
    }

    /// Refuses a caller other than the identity that ran the statement.
    fn check_owner(&self, id: &str, caller: &str) -> Result<(), ApiError> {
        if self.new.owner == caller {
            Ok(())
        } else {
            Err(ApiError::not_owner(id))
        }
    }
}

#[derive(Default)]
struct Inner {
    statements: HashMap<String, Stmt>,
    order: Vec<String>,
    /// `ClientToken`s by the identity (access key) that gave them: a token is one caller's, another identity's
    /// same token is a new request.
    tokens: HashMap<(String, String), (String, Instant)>,
    sessions: HashMap<String, Session>,
}

/// The statements of this server and the counters tests and benches read.
pub struct Engine {
    options: Options,
    /// The PostgreSQL connection statements run on: a role without superuser (see [`crate::sql_role`]).
    statement_config: tokio_postgres::Config,
    /// How long an ended statement is kept ([`DEFAULT_STATEMENT_RETENTION`] unless set), in milliseconds.
    retention_ms: AtomicU64,
    events: EventSender,
    inner: Mutex<Inner>,
    query_ids: AtomicI64,
    statements_run: AtomicU64,
    calls: Mutex<BTreeMap<String, u64>>,
    /// Databases that have Redshift's functions ([`crate::dialect::SETUP_SQL`]); held while one is set up.
    redshift_ready: tokio::sync::Mutex<std::collections::HashSet<String>>,
    /// The statements run, for `stv_recents` and `sys_query_history`.
    history: history::History,
}

impl std::fmt::Debug for Engine {
    /// Its options and counters; the statements and sessions it holds are too many to print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("options", &self.options)
            .field("statements_run", &self.statements_run)
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub(crate) fn new(
        options: Options,
        statement_config: tokio_postgres::Config,
        events: EventSender,
    ) -> Self {
        Engine {
            retention_ms: AtomicU64::new(options.statement_retention.as_millis() as u64),
            options,
            statement_config,
            events,
            inner: Mutex::new(Inner::default()),
            query_ids: AtomicI64::new(1000),
            statements_run: AtomicU64::new(0),
            calls: Mutex::new(BTreeMap::new()),
            redshift_ready: tokio::sync::Mutex::new(std::collections::HashSet::new()),
            history: history::History::default(),
        }
    }

    /// Before a database's first statement (once per server), as the configured (administrator) user: lets the
    /// statements' role use it ([`crate::sql_role::grant`]), creates Redshift's functions and system views in it
    /// ([`crate::dialect::SYSTEM_SQL`], which sets the database's search path), and keeps the connection for the
    /// query history. It runs before the statement's connection opens, so that connection has the search path.
    async fn prepare_database(&self, database: &str) {
        let mut ready = self.redshift_ready.lock().await;
        if ready.contains(database) {
            return;
        }
        let mut config = self.options.postgres.clone();
        config.dbname(database);
        let prepared = async {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(connection);
            crate::sql_role::grant(&client, &self.options.postgres, &self.statement_config).await?;
            client.batch_execute(crate::dialect::SETUP_SQL).await?;
            client.batch_execute(crate::dialect::SYSTEM_SQL).await?;
            client.batch_execute(crate::copy::LOAD_ERRORS_SQL).await?;
            Ok::<_, tokio_postgres::Error>(client)
        };
        match prepared.await {
            Ok(client) => {
                self.history.keep(database, client).await;
                ready.insert(database.to_string());
            }
            Err(e) => tracing::warn!(database, error = %e, "could not prepare the database"),
        }
    }

    /// The PostgreSQL connection settings statements run with (database left to the caller): the local stack's
    /// own SQL client uses them, so that what it creates belongs to the same role as what statements create.
    pub fn statement_config(&self) -> &tokio_postgres::Config {
        &self.statement_config
    }

    /// How long an ended statement stays described, listed and readable.
    fn retention(&self) -> Duration {
        Duration::from_millis(self.retention_ms.load(Ordering::Relaxed))
    }

    /// Changes the statement retention (a test shortens it to see statements expire).
    pub fn set_statement_retention(&self, retention: Duration) {
        self.retention_ms
            .store(retention.as_millis() as u64, Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("engine lock")
    }

    /// The PostgreSQL the catalog operations read (each on its own connection, outside any statement).
    pub(crate) fn postgres_config(&self) -> &tokio_postgres::Config {
        &self.options.postgres
    }

    /// Counts an API call (for the tests' and the bench's call counts).
    pub(crate) fn count_call(&self, operation: &str) {
        *self
            .calls
            .lock()
            .expect("calls lock")
            .entry(operation.to_string())
            .or_default() += 1;
    }

    /// Calls per operation, statements really run, and what happened to events.
    pub(crate) fn stats(&self) -> Stats {
        let c = &self.events.counts;
        Stats {
            calls: self.calls.lock().expect("calls lock").clone(),
            statements_run: self.statements_run.load(Ordering::Relaxed),
            events_sent: c.sent.load(Ordering::Relaxed),
            events_dropped: c.dropped.load(Ordering::Relaxed),
            events_duplicated: c.duplicated.load(Ordering::Relaxed),
            events_failed: c.failed.load(Ordering::Relaxed),
        }
    }

    /// Replaces the event fault setting: lets a test make events misbehave (or stop) mid-run.
    pub fn set_faults(&self, faults: crate::EventFaults) {
        *self.events.faults.lock().expect("faults lock") = faults;
    }

    /// Accepts a statement and starts it in the background; the same `ClientToken` from the same identity within
    /// 8 hours returns the first statement's id and runs nothing. Answers the statement's id, creation time and
    /// session.
    pub(crate) fn submit(self: &Arc<Self>, mut new: NewStatement) -> Result<Submitted, ApiError> {
        let now = Utc::now();
        let mut inner = self.lock();
        let token_key = new
            .client_token
            .as_ref()
            .map(|token| (new.owner.clone(), token.clone()));
        if let Some(key) = &token_key {
            if let Some((id, at)) = inner.tokens.get(key) {
                if at.elapsed() < CLIENT_TOKEN_LIFE {
                    let s = inner.statements.get(id);
                    return Ok(Submitted {
                        id: id.clone(),
                        created_at: s.map_or(now, |s| s.created_at),
                        session_id: s.and_then(|s| s.session_id.clone()),
                    });
                }
            }
        }
        close_expired_sessions(&mut inner.sessions);
        let session_id = match &new.session {
            SessionUse::None => None,
            SessionUse::Start { keep_alive_seconds } => {
                let sid = uuid::Uuid::new_v4().to_string();
                inner.sessions.insert(
                    sid.clone(),
                    Session {
                        owner: new.owner.clone(),
                        target: new.target.clone(),
                        client: None,
                        busy: true,
                        keep_alive: std::time::Duration::from_secs(*keep_alive_seconds),
                        idle_since: Instant::now(),
                        created_at: now,
                        updated_at: now,
                        closed_at: None,
                    },
                );
                Some(sid)
            }
            SessionUse::Use(sid) => {
                let session = inner
                    .sessions
                    .get_mut(sid)
                    .filter(|s| s.owner == new.owner && s.closed_at.is_none())
                    .ok_or_else(|| ApiError::session_not_found(sid))?;
                if session.busy {
                    return Err(ApiError::validation(format!(
                        "Session {sid} is busy: it runs one statement at a time"
                    )));
                }
                session.busy = true;
                session.updated_at = now;
                new.target = session.target.clone();
                Some(sid.clone())
            }
        };
        let id = uuid::Uuid::new_v4().to_string();
        let subs = new
            .sqls
            .iter()
            .map(|sql| Sub {
                sql: sql.clone(),
                status: Status::Submitted,
                error: None,
                created_at: now,
                updated_at: now,
                started: None,
                duration_ns: -1,
                result_rows: -1,
                result_size: -1,
                query_id: -1,
                result: None,
            })
            .collect();
        if let Some(key) = token_key {
            inner.tokens.insert(key, (id.clone(), Instant::now()));
        }
        inner.statements.insert(
            id.clone(),
            Stmt {
                new,
                status: Status::Submitted,
                error: None,
                created_at: now,
                updated_at: now,
                started: None,
                duration_ns: -1,
                pid: None,
                subs,
                cancel: None,
                cancel_requested: false,
                session_id: session_id.clone(),
                ended_at: None,
            },
        );
        inner.order.push(id.clone());
        drop(inner);
        self.statements_run.fetch_add(1, Ordering::Relaxed);
        let engine = self.clone();
        let run_id = id.clone();
        tokio::spawn(async move {
            engine.run(&run_id).await;
            engine.release_session(&run_id);
        });
        Ok(Submitted {
            id,
            created_at: now,
            session_id,
        })
    }

    /// Frees a statement's session for the next statement and starts its keep-alive.
    fn release_session(&self, id: &str) {
        let mut inner = self.lock();
        let Some(sid) = inner.statements.get(id).and_then(|s| s.session_id.clone()) else {
            return;
        };
        if let Some(session) = inner.sessions.get_mut(&sid) {
            session.busy = false;
            session.idle_since = Instant::now();
            session.updated_at = Utc::now();
        }
    }

    /// The connection a statement runs on: its session's (opened by the session's first statement), or its own.
    async fn connection(
        &self,
        id: &str,
        database: &str,
    ) -> Result<Arc<tokio_postgres::Client>, tokio_postgres::Error> {
        let session = self
            .lock()
            .statements
            .get(id)
            .and_then(|s| s.session_id.clone());
        if let Some(sid) = &session {
            if let Some(client) = self.lock().sessions.get(sid).and_then(|s| s.client.clone()) {
                return Ok(client);
            }
        }
        let mut config = self.statement_config.clone();
        config.dbname(database);
        let (client, connection) = config.connect(NoTls).await?;
        tokio::spawn(connection);
        let client = Arc::new(client);
        if let Some(sid) = session {
            if let Some(s) = self.lock().sessions.get_mut(&sid) {
                s.client = Some(client.clone());
            }
        }
        Ok(client)
    }

    fn set_status(&self, id: &str, status: Status) {
        if let Some(s) = self.lock().statements.get_mut(id) {
            s.status = status;
            s.updated_at = Utc::now();
            if status == Status::Started {
                s.started = Some(Instant::now());
            }
        }
    }

    async fn run(self: &Arc<Self>, id: &str) {
        let id = id.to_string();
        // in_tx: a batch in TRANSACTION mode runs between BEGIN and COMMIT (ROLLBACK on a failure).
        let Some((sqls, params, database, in_tx, db_user)) =
            self.lock().statements.get(&id).map(|s| {
                (
                    s.new.sqls.clone(),
                    s.new.parameters.clone(),
                    s.new.target.database.clone(),
                    s.new.is_batch && s.new.execution_mode == ExecutionMode::Transaction,
                    s.new.target.db_user.clone(),
                )
            })
        else {
            return;
        };
        self.set_status(&id, Status::Picked);
        self.prepare_database(&database).await;
        let client = match self.connection(&id, &database).await {
            Ok(client) => client,
            Err(e) => return self.finish(&id, Status::Failed, Some(error_text(&e))).await,
        };
        let pid = match client.query_one("select pg_backend_pid()", &[]).await {
            Ok(row) => i64::from(row.get::<_, i32>(0)),
            Err(e) => return self.finish(&id, Status::Failed, Some(error_text(&e))).await,
        };
        let cancelled_early = {
            let mut inner = self.lock();
            let Some(s) = inner.statements.get_mut(&id) else {
                return;
            };
            s.cancel = Some(client.cancel_token());
            s.pid = Some(pid);
            s.cancel_requested
        };
        if cancelled_early {
            return self
                .finish(&id, Status::Aborted, Some("Query was cancelled.".into()))
                .await;
        }
        self.set_status(&id, Status::Started);
        if in_tx {
            if let Err(e) = client.batch_execute("BEGIN").await {
                return self.finish(&id, Status::Failed, Some(error_text(&e))).await;
            }
        }
        for (k, sql) in sqls.iter().enumerate() {
            let query_id = self.query_ids.fetch_add(1, Ordering::Relaxed);
            self.update_sub(&id, k, |sub| {
                sub.status = Status::Started;
                sub.started = Some(Instant::now());
                sub.query_id = query_id;
            });
            let role = self.statement_config.get_user().unwrap_or_default();
            self.history
                .started(&history::Started {
                    database: &database,
                    query_id,
                    user: db_user.as_deref().unwrap_or(role),
                    role,
                    pid,
                    sql,
                })
                .await;
            // A cancel that came while this connection was idle (PostgreSQL drops those) still stops the statement:
            // the request is remembered, and checked here, just before the statement goes to the server.
            let cancelled_before = self
                .lock()
                .statements
                .get(&id)
                .is_some_and(|s| s.cancel_requested);
            let ran = if cancelled_before {
                Err(run::RunFailure {
                    text: "Query was cancelled.".into(),
                    cancelled: true,
                })
            } else {
                run_one(&client, sql, &params, &self.options, query_id).await
            };
            match ran {
                Ok((rows, result)) => {
                    let returned = result.as_ref().map_or(0, |r| r.rows.len() as i64);
                    self.history
                        .ended(&database, query_id, Outcome::Success, None, returned)
                        .await;
                    self.update_sub(&id, k, |sub| {
                        sub.status = Status::Finished;
                        sub.result_rows = rows;
                        sub.result_size = result
                            .as_ref()
                            .map_or(0, |r| crate::records::records_size(&r.rows));
                        sub.result = result;
                    })
                }
                Err(failure) => {
                    let requested = self
                        .lock()
                        .statements
                        .get(&id)
                        .is_some_and(|s| s.cancel_requested);
                    let cancelled = failure.cancelled && requested;
                    let status = if cancelled {
                        Status::Aborted
                    } else {
                        Status::Failed
                    };
                    let text = if cancelled {
                        "Query was cancelled.".to_string()
                    } else {
                        failure.text
                    };
                    let outcome = if cancelled {
                        Outcome::Canceled
                    } else {
                        Outcome::Failed
                    };
                    self.history
                        .ended(&database, query_id, outcome, Some(&text), 0)
                        .await;
                    self.update_sub(&id, k, |sub| {
                        sub.status = status;
                        sub.error = Some(text.clone());
                    });
                    for later in k + 1..sqls.len() {
                        self.update_sub(&id, later, |sub| sub.status = Status::Aborted);
                    }
                    if in_tx {
                        let _ = client.batch_execute("ROLLBACK").await;
                    }
                    return self.finish(&id, status, Some(text)).await;
                }
            }
        }
        if in_tx {
            if let Err(e) = client.batch_execute("COMMIT").await {
                return self.finish(&id, Status::Failed, Some(error_text(&e))).await;
            }
        }
        self.finish(&id, Status::Finished, None).await
    }

    fn update_sub(&self, id: &str, k: usize, f: impl FnOnce(&mut Sub)) {
        if let Some(sub) = self
            .lock()
            .statements
            .get_mut(id)
            .and_then(|s| s.subs.get_mut(k))
        {
            f(sub);
            sub.updated_at = Utc::now();
            if sub.status.ended() {
                sub.duration_ns = sub.started.map_or(0, |t| t.elapsed().as_nanos() as i64);
            }
        }
    }

    async fn finish(&self, id: &str, status: Status, error: Option<String>) {
        let event = {
            let mut inner = self.lock();
            let Some(s) = inner.statements.get_mut(id) else {
                return;
            };
            s.status = status;
            s.error = error;
            s.updated_at = Utc::now();
            s.ended_at = Some(Instant::now());
            s.duration_ns = s.started.map_or(0, |t| t.elapsed().as_nanos() as i64);
            s.cancel = None;
            for sub in s.subs.iter_mut().filter(|sub| !sub.status.ended()) {
                sub.status = Status::Aborted;
            }
            s.new.with_event.then(|| Completion {
                owner: s.new.owner.clone(),
                name: s.new.name.clone(),
                id: id.to_string(),
                query_id: s.subs.last().map_or(-1, |sub| sub.query_id),
                state: status.as_str(),
                rows: s.subs.iter().map(|sub| sub.result_rows.max(0)).sum(),
                cluster_identifier: s.new.target.cluster_identifier.clone(),
                workgroup_name: s.new.target.workgroup_name.clone(),
            })
        };
        if let Some(completion) = event {
            self.events.emit(completion).await;
        }
    }

    /// `DescribeStatement`: a statement, or a batch's sub-statement (`Id:N`), of `caller`.
    pub(crate) fn describe(&self, id: &str, caller: &str) -> Result<Description, ApiError> {
        let inner = self.lock();
        let (base, sub) = split_id(id);
        let s = inner
            .statements
            .get(base)
            .ok_or_else(|| ApiError::not_found(id))?;
        s.check_owner(id, caller)?;
        s.check_retained(self.retention())?;
        if let Some(k) = sub {
            let sub = s
                .subs
                .get(k.wrapping_sub(1))
                .ok_or_else(|| ApiError::not_found(id))?;
            return Ok(Description::Sub(sub_view(&format!("{base}:{k}"), sub)));
        }
        let batch = s.new.is_batch.then(|| BatchView {
            execution_mode: s.new.execution_mode,
            subs: s
                .subs
                .iter()
                .enumerate()
                .map(|(k, sub)| sub_view(&format!("{base}:{}", k + 1), sub))
                .collect(),
        });
        Ok(Description::Statement(Box::new(StatementView {
            lifecycle: Lifecycle {
                id: base.to_string(),
                status: s.status,
                error: s.error.clone(),
                created_at: s.created_at,
                updated_at: s.updated_at,
            },
            duration_ns: if s.status.ended() { s.duration_ns } else { -1 },
            has_result_set: s.subs.iter().any(|sub| sub.result.is_some()),
            query_string: s.new.sqls.join("; "),
            result_rows: s
                .subs
                .iter()
                .map(|sub| sub.result_rows)
                .max()
                .unwrap_or(-1)
                .max(-1),
            result_size: s.subs.iter().map(|sub| sub.result_size).max().unwrap_or(-1),
            query_id: s.subs.last().map_or(-1, |sub| sub.query_id),
            pid: s.pid,
            session_id: s.session_id.clone(),
            target: s.new.target.clone(),
            parameters: s.new.parameters.clone(),
            result_format: s.new.result_format,
            batch,
        })))
    }

    /// `GetStatementResult` (`format` JSON) or `GetStatementResultV2` (`format` CSV): one page of `page_rows`
    /// rows of a finished statement (or batch sub-statement, `Id:N`) of `caller`.
    pub(crate) fn result(
        &self,
        id: &str,
        next_token: Option<&str>,
        caller: &str,
        format: ResultFormat,
    ) -> Result<ResultPage, ApiError> {
        self.with_result(id, caller, format, |result| {
            let (offset, end) = self.page(result, next_token)?;
            Ok(ResultPage {
                columns: result.columns.clone(),
                records: result.rows[offset..end].to_vec(),
                total_rows: result.rows.len(),
                next_token: (end < result.rows.len()).then(|| format!("rows-{end}")),
            })
        })
    }

    /// The rows of a finished statement (or batch sub-statement, `Id:N`) of `caller`, read in `format`: the
    /// service serves a result only through the operation of the format it was run with.
    fn with_result<T>(
        &self,
        id: &str,
        caller: &str,
        format: ResultFormat,
        read: impl FnOnce(&ResultSet) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let inner = self.lock();
        let (base, sub) = split_id(id);
        let s = inner
            .statements
            .get(base)
            .ok_or_else(|| ApiError::not_found(id))?;
        s.check_owner(id, caller)?;
        s.check_retained(self.retention())?;
        let k = match (sub, s.new.is_batch) {
            (Some(k), _) => k.wrapping_sub(1),
            (None, false) => 0,
            (None, true) => {
                return Err(ApiError::validation(
                    "Id: this is a batch; get results with a sub-statement id (Id:N, see DescribeStatement's SubStatements)",
                ))
            }
        };
        let sub = s.subs.get(k).ok_or_else(|| ApiError::not_found(id))?;
        if s.new.result_format != format {
            return Err(ApiError::validation(format!(
                "The statement was run with ResultFormat {}: get its result with {}",
                s.new.result_format.as_str(),
                s.new.result_format.operation()
            )));
        }
        let result =
            match (&sub.result, sub.status) {
                (Some(r), Status::Finished) if s.status == Status::Finished => r,
                _ => return Err(ApiError::validation(
                    "Query does not have result. Please check query status with DescribeStatement.",
                )),
            };
        read(result)
    }

    /// The rows `[offset, end)` of the page a `NextToken` (`rows-N`) starts.
    fn page(
        &self,
        result: &ResultSet,
        next_token: Option<&str>,
    ) -> Result<(usize, usize), ApiError> {
        let offset = match next_token {
            None => 0,
            Some(t) => t
                .strip_prefix("rows-")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n <= result.rows.len())
                .ok_or_else(|| ApiError::validation("NextToken: invalid token"))?,
        };
        Ok((
            offset,
            (offset + self.options.page_rows).min(result.rows.len()),
        ))
    }

    /// `CancelStatement`: a real cancel request to the server running the query.
    pub(crate) async fn cancel(&self, id: &str, caller: &str) -> Result<(), ApiError> {
        let retention = self.retention();
        let token = {
            let mut inner = self.lock();
            let s = inner
                .statements
                .get_mut(split_id(id).0)
                .ok_or_else(|| ApiError::not_found(id))?;
            s.check_owner(id, caller)?;
            s.check_retained(retention)?;
            if s.status.ended() {
                return Err(ApiError::validation(format!(
                    "Could not cancel a query that is already in {} state with ID: {id}",
                    s.status.as_str()
                )));
            }
            s.cancel_requested = true;
            s.cancel.clone()
        };
        if let Some(token) = token {
            token
                .cancel_query(NoTls)
                .await
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
        Ok(())
    }

    /// `ListStatements`: the caller's statements still retained (of its role, or of its session only), newest
    /// first, by name prefix, status (`ALL` or one status) and target, paged.
    pub(crate) fn list(
        &self,
        caller: &str,
        session: SessionScope<'_>,
        name_prefix: Option<&str>,
        status: &str,
        target: &TargetFilter,
        page: &Page,
    ) -> Listing<StatementSummary> {
        let retention = self.retention();
        let inner = self.lock();
        let matching: Vec<(&String, &Stmt)> = inner
            .order
            .iter()
            .rev()
            .map(|id| (id, &inner.statements[id]))
            .filter(|(_, s)| {
                let name_ok = name_prefix
                    .is_none_or(|p| s.new.name.as_deref().is_some_and(|n| n.starts_with(p)));
                let status_ok = status == "ALL" || status == s.status.as_str();
                let session_ok = match session {
                    SessionScope::Role => true,
                    SessionScope::Only(token) => s.new.owner_session.as_deref() == token,
                };
                s.new.owner == caller
                    && session_ok
                    && name_ok
                    && status_ok
                    && target.matches(&s.new.target)
                    && !s.expired(retention)
            })
            .collect();
        let (window, next_token) = page.window(matching.len());
        let items = matching[window]
            .iter()
            .map(|(id, s)| StatementSummary {
                lifecycle: Lifecycle {
                    id: id.to_string(),
                    status: s.status,
                    error: None,
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                },
                is_batch: s.new.is_batch,
                sqls: s.new.sqls.clone(),
                name: s.new.name.clone(),
                secret_arn: s.new.target.secret_arn.clone(),
                parameters: s.new.parameters.clone(),
                result_format: s.new.result_format,
                session_id: s.session_id.clone(),
            })
            .collect();
        Listing { items, next_token }
    }
}

/// A batch's sub-statement as `DescribeStatement` reports it.
fn sub_view(id: &str, sub: &Sub) -> SubStatementView {
    SubStatementView {
        lifecycle: Lifecycle {
            id: id.to_string(),
            status: sub.status,
            error: sub.error.clone(),
            created_at: sub.created_at,
            updated_at: sub.updated_at,
        },
        duration_ns: sub.duration_ns,
        sql: sub.sql.clone(),
        result_rows: sub.result_rows,
        result_size: sub.result_size,
        query_id: sub.query_id,
        has_result_set: sub.result.is_some(),
    }
}

/// `uuid` or `uuid:N` (a batch's N-th sub-statement, from 1).
fn split_id(id: &str) -> (&str, Option<usize>) {
    match id.split_once(':') {
        Some((base, n)) => (base, Some(n.parse().unwrap_or(0))),
        None => (id, None),
    }
}
