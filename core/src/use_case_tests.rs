//! The use cases' decision paths, against mockall mocks of the ports: a mock with no expectation for a call fails
//! the test if the call is made, so "nothing written" and "no callback" are checked as strictly as what is done.

use crate::completer::{complete_event, CompleterPorts, Disposition};
use crate::config::{ClusterAuth, Settings, Target};
use crate::event::StatusChange;
use crate::naming::StatementPrefix;
use crate::ports::{
    Claim, Created, FaultKind, Lock, MockDataApi, MockSingletonLocks, MockStateStore,
    MockTaskCallbacks, PortError, Settled,
};
use crate::record::{RecordStatus, StatementRecord};
use crate::starter::{handle, Invocation, StarterConfig, StarterPorts};
use crate::statement::{DataApiStatus, Description, Ending, Executed};
use crate::TaskerError;
use chrono::Utc;
use serde_json::json;

fn settings() -> Settings {
    config().settings
}

fn config() -> StarterConfig {
    StarterConfig {
        settings: Settings {
            table_name: "t".into(),
            prefix: StatementPrefix::parse("etl").unwrap(),
            record_ttl_days: 7,
            sweep_grace_seconds: 300,
        },
        target: Target::Cluster {
            identifier: "c".into(),
            database: "dev".into(),
            auth: ClusterAuth::DbUser("u".into()),
        },
        fast_path_seconds: 0,
    }
}

fn record(status: RecordStatus, token: Option<&str>) -> StatementRecord {
    StatementRecord {
        statement_name: "etl-00000000000000000000000000000000".into(),
        execution_arn: Some("arn:exec".into()),
        state_name: Some("S".into()),
        task_token: token.map(str::to_string),
        statement_id: (status != RecordStatus::Submitted).then(|| "id-1".to_string()),
        status,
        sql_digest: "digest".into(),
        result_rows: 0,
        result_max_bytes: crate::payload::DEFAULT_RESULT_MAX_BYTES,
        singleton: false,
        created_at: Utc::now(),
        updated_at: Utc::now(),
        settled_at: None,
        cancel_requested_at: None,
        error: None,
        expires_at: 0,
    }
}

/// Runs the starter on `payload` with these mocks and the test configuration (no lock may be touched).
async fn start(
    data: &MockDataApi,
    store: &MockStateStore,
    callbacks: &MockTaskCallbacks,
    payload: &serde_json::Value,
) -> Result<serde_json::Value, TaskerError> {
    start_locking(data, store, &MockSingletonLocks::new(), callbacks, payload).await
}

/// [`start`] with these singleton locks.
async fn start_locking(
    data: &MockDataApi,
    store: &MockStateStore,
    locks: &MockSingletonLocks,
    callbacks: &MockTaskCallbacks,
    payload: &serde_json::Value,
) -> Result<serde_json::Value, TaskerError> {
    let ports = StarterPorts {
        data,
        store,
        locks,
        callbacks,
    };
    let invocation = Invocation {
        now: Utc::now(),
        id: "invocation-1",
    };
    handle(&ports, &config(), payload, invocation).await
}

fn payload() -> serde_json::Value {
    json!({"taskToken": "tok-new", "executionArn": "arn:exec", "stateName": "S", "sqlStatement": "select 1"})
}

fn finished(id: &str) -> Description {
    let mut d = Description::new(id, DataApiStatus::Finished);
    d.duration_ns = Some(5_000_000);
    d.has_result_set = Some(true);
    d.result_rows = Some(1);
    d
}

#[tokio::test]
async fn a_new_entry_is_recorded_then_started_with_its_name_as_client_token() {
    let mut store = MockStateStore::new();
    let mut data = MockDataApi::new();
    let callbacks = MockTaskCallbacks::new();
    store.expect_create().times(1).returning(|r| {
        assert_eq!(r.status, RecordStatus::Submitted);
        assert_eq!(r.task_token.as_deref(), Some("tok-new"));
        Ok(Created::New)
    });
    data.expect_execute().times(1).returning(|call| {
        assert!(call.with_event);
        assert!(call.statement_name.starts_with("etl-"));
        Ok(Executed {
            id: "id-1".into(),
            status: None,
            session_id: None,
        })
    });
    store
        .expect_mark_started()
        .withf(|_, id, _, _| id == "id-1")
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    let out = start(&data, &store, &callbacks, &payload()).await.unwrap();
    assert_eq!(out["statementId"], "id-1");
    assert_eq!(out["Id"], "id-1");
}

#[tokio::test]
async fn invalid_input_touches_nothing() {
    let (store, data, callbacks) = (
        MockStateStore::new(),
        MockDataApi::new(),
        MockTaskCallbacks::new(),
    );
    let err = start(
        &data,
        &store,
        &callbacks,
        &json!({"executionArn": "a", "sqlStatement": ""}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "InvalidInput");
}

#[tokio::test]
async fn a_failed_start_leaves_the_record_submitted_and_keeps_the_error_name() {
    let mut store = MockStateStore::new();
    let mut data = MockDataApi::new();
    let callbacks = MockTaskCallbacks::new();
    store.expect_create().returning(|_| Ok(Created::New));
    data.expect_execute().returning(|_| {
        Err(PortError::new(
            FaultKind::Retryable,
            "ActiveStatementsExceededException",
            "too many",
        ))
    });
    // A retryable fault may hide a statement that started: it is looked up by name first.
    data.expect_find_by_name().times(1).returning(|_| Ok(None));
    let err = start(&data, &store, &callbacks, &payload())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "ActiveStatementsExceededException");
}

#[tokio::test]
async fn a_retry_of_a_running_entry_stores_the_new_token_and_starts_nothing() {
    let mut store = MockStateStore::new();
    let (data, callbacks) = (MockDataApi::new(), MockTaskCallbacks::new());
    store.expect_create().returning(|_| {
        Ok(Created::Existing(Box::new(record(
            RecordStatus::Started,
            Some("tok-old"),
        ))))
    });
    store
        .expect_set_token()
        .withf(|_, t, _| t == "tok-new")
        .times(1)
        .returning(|_, _, _| Ok(record(RecordStatus::Started, Some("tok-new"))));
    let out = start(&data, &store, &callbacks, &payload()).await.unwrap();
    assert_eq!(out["statementId"], "id-1");
}

#[tokio::test]
async fn a_retry_after_the_statement_settled_calls_back_the_new_token_at_once() {
    let mut store = MockStateStore::new();
    let mut data = MockDataApi::new();
    let mut callbacks = MockTaskCallbacks::new();
    store.expect_create().returning(|_| {
        Ok(Created::Existing(Box::new(record(
            RecordStatus::Finished,
            Some("tok-old"),
        ))))
    });
    store
        .expect_set_token()
        .returning(|_, _, _| Ok(record(RecordStatus::Finished, Some("tok-new"))));
    data.expect_describe().returning(|id| Ok(finished(id)));
    callbacks
        .expect_succeed()
        .withf(|t, _| t == "tok-new")
        .times(1)
        .returning(|_, _| Ok(()));
    start(&data, &store, &callbacks, &payload()).await.unwrap();
}

#[tokio::test]
async fn a_singleton_refuses_while_its_holder_runs() {
    let mut store = MockStateStore::new();
    let mut locks = MockSingletonLocks::new();
    let (data, callbacks) = (MockDataApi::new(), MockTaskCallbacks::new());
    locks.expect_lock().returning(|_, _, _, _| {
        Ok(Lock::HeldBy {
            owner: "etl-holder".into(),
            since: Some(Utc::now()),
        })
    });
    store
        .expect_get()
        .returning(|name| Ok((name == "etl-holder").then(|| record(RecordStatus::Started, None))));
    let mut p = payload();
    p["singleton"] = json!(true);
    let err = start_locking(&data, &store, &locks, &callbacks, &p)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TaskerError::ConcurrentExecution(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_singleton_refuses_while_its_holder_has_just_locked_and_not_yet_recorded() {
    // Ten Parallel branches at once: the holder took the lock, its record is not written yet.
    let mut store = MockStateStore::new();
    let mut locks = MockSingletonLocks::new();
    let (data, callbacks) = (MockDataApi::new(), MockTaskCallbacks::new());
    locks.expect_lock().returning(|_, _, _, _| {
        Ok(Lock::HeldBy {
            owner: "etl-holder".into(),
            since: Some(Utc::now()),
        })
    });
    store.expect_get().returning(|_| Ok(None));
    let mut p = payload();
    p["singleton"] = json!(true);
    let err = start_locking(&data, &store, &locks, &callbacks, &p)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "ConcurrentExecution");
}

#[tokio::test]
async fn a_singleton_whose_start_failed_gives_the_lock_back() {
    let mut store = MockStateStore::new();
    let mut locks = MockSingletonLocks::new();
    let mut data = MockDataApi::new();
    let callbacks = MockTaskCallbacks::new();
    store.expect_get().returning(|_| Ok(None));
    locks
        .expect_lock()
        .returning(|_, _, _, _| Ok(Lock::Acquired));
    store.expect_create().returning(|_| Ok(Created::New));
    data.expect_execute().returning(|_| {
        Err(PortError::new(
            FaultKind::Rejected,
            "ValidationException",
            "bad",
        ))
    });
    locks.expect_unlock().times(1).returning(|_, _| Ok(()));
    let mut p = payload();
    p["singleton"] = json!(true);
    let err = start_locking(&data, &store, &locks, &callbacks, &p)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "ValidationException");
}

/// Runs the completer on one event that ended `ending`, with these mocks.
async fn complete(
    data: &MockDataApi,
    store: &MockStateStore,
    callbacks: &MockTaskCallbacks,
    ending: Ending,
) -> Result<Disposition, TaskerError> {
    let locks = MockSingletonLocks::new();
    let ports = CompleterPorts {
        data,
        store,
        locks: &locks,
        callbacks,
    };
    complete_event(&ports, &settings(), &change(ending), Utc::now()).await
}

fn change(ending: Ending) -> StatusChange {
    StatusChange {
        statement_name: record(RecordStatus::Started, None).statement_name,
        statement_id: "id-1".into(),
        ending,
        rows: Some(1),
        time: None,
        detail: json!({"state": ending.as_str(), "rows": 1, "principal": "p"}),
    }
}

#[tokio::test]
async fn finished_is_claimed_called_back_and_settled() {
    let mut store = MockStateStore::new();
    let mut data = MockDataApi::new();
    let mut callbacks = MockTaskCallbacks::new();
    store
        .expect_claim()
        .returning(|_, _, _, _| Ok(Claim::Won(record(RecordStatus::Started, Some("tok")))));
    data.expect_describe()
        .times(1)
        .returning(|id| Ok(finished(id)));
    callbacks.expect_succeed().times(1).returning(|_, output| {
        let v: serde_json::Value = serde_json::from_str(output).unwrap();
        assert_eq!(v["durationMs"], 5);
        Ok(())
    });
    store
        .expect_settle()
        .withf(|_, s, lease| s.status == RecordStatus::Finished && lease.is_some())
        .times(1)
        .returning(|_, _, _| Ok(Settled::Done));
    assert_eq!(
        complete(&data, &store, &callbacks, Ending::Finished)
            .await
            .unwrap(),
        Disposition::Settled(RecordStatus::Finished)
    );
}

#[tokio::test]
async fn duplicates_and_strangers_cause_no_callback() {
    let mut store = MockStateStore::new();
    let (data, callbacks) = (MockDataApi::new(), MockTaskCallbacks::new());
    let mut seq = mockall::Sequence::new();
    store
        .expect_claim()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(Claim::Settled(record(RecordStatus::Finished, Some("t")))));
    store
        .expect_claim()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(Claim::Missing));
    store
        .expect_claim()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(Claim::Busy(record(RecordStatus::Started, Some("t")))));
    assert_eq!(
        complete(&data, &store, &callbacks, Ending::Finished)
            .await
            .unwrap(),
        Disposition::Duplicate
    );
    assert_eq!(
        complete(&data, &store, &callbacks, Ending::Finished)
            .await
            .unwrap(),
        Disposition::NotOurs
    );
    assert_eq!(
        complete(&data, &store, &callbacks, Ending::Finished)
            .await
            .unwrap(),
        Disposition::Busy
    );
}

#[tokio::test]
async fn a_gone_token_settles_orphaned_unless_a_newer_one_waits() {
    let mut store = MockStateStore::new();
    let mut data = MockDataApi::new();
    let mut callbacks = MockTaskCallbacks::new();
    store
        .expect_claim()
        .returning(|_, _, _, _| Ok(Claim::Won(record(RecordStatus::Started, Some("old")))));
    data.expect_describe().returning(|id| {
        let mut d = Description::new(id, DataApiStatus::Failed);
        d.error = Some("ERROR: boom".into());
        Ok(d)
    });
    let mut seq = mockall::Sequence::new();
    callbacks
        .expect_fail()
        .withf(|t, e, _| t == "old" && e == "FAILED")
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Err(PortError::new(FaultKind::TokenGone, "TaskTimedOut", "gone")));
    // ORPHANED only if the record still holds the token that was found gone: a retried start stored a new one.
    store
        .expect_settle()
        .withf(|_, s, _| s.status == RecordStatus::Orphaned && s.if_token.as_deref() == Some("old"))
        .times(1)
        .returning(|_, _, _| {
            Ok(Settled::Refused(Some(Box::new(record(
                RecordStatus::Started,
                Some("new"),
            )))))
        });
    callbacks
        .expect_fail()
        .withf(|t, _, _| t == "new")
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(()));
    store
        .expect_settle()
        .withf(|_, s, _| {
            s.status == RecordStatus::Failed
                && s.error.as_deref() == Some("ERROR: boom")
                && s.if_token.as_deref() == Some("new")
        })
        .times(1)
        .returning(|_, _, _| Ok(Settled::Done));
    assert_eq!(
        complete(&data, &store, &callbacks, Ending::Failed)
            .await
            .unwrap(),
        Disposition::Settled(RecordStatus::Failed)
    );

    let mut store = MockStateStore::new();
    let mut data = MockDataApi::new();
    let mut callbacks = MockTaskCallbacks::new();
    store
        .expect_claim()
        .returning(|_, _, _, _| Ok(Claim::Won(record(RecordStatus::Started, Some("old")))));
    data.expect_describe()
        .returning(|id| Ok(Description::new(id, DataApiStatus::Aborted)));
    callbacks
        .expect_fail()
        .returning(|_, _, _| Err(PortError::new(FaultKind::TokenGone, "TaskTimedOut", "gone")));
    store
        .expect_settle()
        .withf(|_, s, _| s.status == RecordStatus::Orphaned)
        .times(1)
        .returning(|_, _, _| Ok(Settled::Done));
    assert_eq!(
        complete(&data, &store, &callbacks, Ending::Aborted)
            .await
            .unwrap(),
        Disposition::Settled(RecordStatus::Orphaned)
    );
}

#[tokio::test]
async fn an_event_that_disagrees_with_the_record_settles_nothing() {
    // Another statement id than the record's.
    let mut store = MockStateStore::new();
    let (data, callbacks) = (MockDataApi::new(), MockTaskCallbacks::new());
    store.expect_claim().returning(|_, _, _, _| {
        let mut r = record(RecordStatus::Started, Some("tok"));
        r.statement_id = Some("id-other".into());
        Ok(Claim::Won(r))
    });
    store.expect_release().times(1).returning(|_, _| Ok(()));
    assert_eq!(
        complete(&data, &store, &callbacks, Ending::Finished)
            .await
            .unwrap(),
        Disposition::Mismatch
    );
    // The right id, but the statement is still running: the event lied about its state.
    let mut store = MockStateStore::new();
    let mut data = MockDataApi::new();
    store
        .expect_claim()
        .returning(|_, _, _, _| Ok(Claim::Won(record(RecordStatus::Started, Some("tok")))));
    data.expect_describe()
        .returning(|id| Ok(Description::new(id, DataApiStatus::Started)));
    store.expect_release().times(1).returning(|_, _| Ok(()));
    assert_eq!(
        complete(&data, &store, &callbacks, Ending::Finished)
            .await
            .unwrap(),
        Disposition::StillRunning
    );
}

#[tokio::test]
async fn throttled_callbacks_give_the_claim_back_for_a_retry() {
    let mut store = MockStateStore::new();
    let mut data = MockDataApi::new();
    let mut callbacks = MockTaskCallbacks::new();
    store
        .expect_claim()
        .returning(|_, _, _, _| Ok(Claim::Won(record(RecordStatus::Started, Some("tok")))));
    data.expect_describe()
        .returning(|id| Ok(Description::new(id, DataApiStatus::Aborted)));
    callbacks.expect_fail().returning(|_, _, _| {
        Err(PortError::new(
            FaultKind::Retryable,
            "ThrottlingException",
            "slow down",
        ))
    });
    store.expect_release().times(1).returning(|_, _| Ok(()));
    let err = complete(&data, &store, &callbacks, Ending::Aborted)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "CallbackError");
}
