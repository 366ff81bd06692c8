//! Sessions: one connection kept, one statement at a time, and a caller lists only its own.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_keeps_its_connection_and_runs_one_statement_at_a_time() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let first = exec(&c, "create temp table kept as select 42 as x")
        .session_keep_alive_seconds(60)
        .send()
        .await
        .unwrap();
    let session = first.session_id().expect("a session id").to_string();
    let d = wait_done(&c, first.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Finished), "{d:?}");
    assert_eq!(d.session_id(), Some(session.as_str()));
    // The next statement on the session sees the temporary table; no target is named again.
    let read = on_session(&c, &session, "select x from kept")
        .send()
        .await
        .unwrap();
    assert_eq!(read.session_id(), Some(session.as_str()));
    wait_done(&c, read.id().unwrap()).await;
    let rows = c
        .get_statement_result()
        .id(read.id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rows.records()[0][0], Field::LongValue(42));
    // Outside the session the table does not exist.
    let outside = exec(&c, "select x from kept").send().await.unwrap();
    let d = wait_done(&c, outside.id().unwrap()).await;
    assert_eq!(d.status(), Some(&StatusString::Failed));
    // One statement at a time: a second one while the first runs is refused.
    let slow = on_session(&c, &session, "select pg_sleep(2)")
        .send()
        .await
        .unwrap();
    let busy = on_session(&c, &session, "select 1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(busy.code(), Some("ValidationException"), "{busy:?}");
    wait_done(&c, slow.id().unwrap()).await;
    // Another identity cannot use it; an unknown session is not found.
    let theirs = Client::new(&signed_as(&stack.redshift.url(), "another-role", None));
    let refused = on_session(&theirs, &session, "select 1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("ResourceNotFoundException"));
    let unknown = c
        .execute_statement()
        .sql("select 1")
        .session_id("0b8c5d5e-8d6e-4f43-a0f4-5e8b1c2d3e4f")
        .send()
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some("ResourceNotFoundException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn list_sessions_shows_the_callers_sessions_only() {
    let stack = stack().await;
    let mine = stack.redshift_data();
    let theirs = Client::new(&signed_as(&stack.redshift.url(), "another-role", None));
    let first = exec(&mine, "select 1")
        .session_keep_alive_seconds(60)
        .send()
        .await
        .unwrap();
    let sid = first.session_id().unwrap().to_string();
    wait_done(&mine, first.id().unwrap()).await;
    let other = exec(&theirs, "select 1")
        .session_keep_alive_seconds(60)
        .send()
        .await
        .unwrap();
    let their_sid = other.session_id().unwrap().to_string();
    wait_done(&theirs, other.id().unwrap()).await;

    let listed = mine.list_sessions().send().await.unwrap();
    let ids: Vec<_> = listed.sessions().iter().map(|s| s.session_id()).collect();
    assert_eq!(ids, [sid.as_str()], "only the caller's session");
    let s = &listed.sessions()[0];
    assert_eq!(s.status(), &SessionStatusString::Available);
    assert_eq!(s.database(), Some(DATABASE));
    assert_eq!(s.cluster_identifier(), Some(CLUSTER));
    assert_eq!(s.db_user(), Some(DB_USER));
    assert_eq!(s.session_alive_seconds(), Some(60));
    assert!(s.session_ttl().is_some() && s.updated_at().is_some());
    let theirs_listed = theirs.list_sessions().send().await.unwrap();
    let ids: Vec<_> = theirs_listed
        .sessions()
        .iter()
        .map(|s| s.session_id())
        .collect();
    assert_eq!(ids, [their_sid.as_str()]);
    let e = theirs
        .list_sessions()
        .session_id(&sid)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));

    // Busy while a statement runs on it, naming that statement.
    let slow = on_session(&mine, &sid, "select pg_sleep(1)")
        .send()
        .await
        .unwrap();
    let one = mine.list_sessions().session_id(&sid).send().await.unwrap();
    assert_eq!(one.sessions()[0].status(), &SessionStatusString::Busy);
    assert_eq!(one.sessions()[0].current_statement_id(), slow.id());
    wait_done(&mine, slow.id().unwrap()).await;

    // Filters: target, status; a second session pages.
    let short = exec(&mine, "select 1")
        .session_keep_alive_seconds(0)
        .send()
        .await
        .unwrap();
    let short_sid = short.session_id().unwrap().to_string();
    wait_done(&mine, short.id().unwrap()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let closed = mine
        .list_sessions()
        .status(SessionStatusString::Closed)
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = closed.sessions().iter().map(|s| s.session_id()).collect();
    assert_eq!(
        ids,
        [short_sid.as_str()],
        "a session past its keep-alive is closed"
    );
    let open = mine.list_sessions().max_results(1).send().await.unwrap();
    assert_eq!(open.sessions().len(), 1);
    assert!(
        open.next_token().is_none(),
        "the closed session is not listed by default"
    );
    let none = mine
        .list_sessions()
        .workgroup_name("other-wg")
        .send()
        .await
        .unwrap();
    assert!(none.sessions().is_empty());
    let e = on_session(&mine, &short_sid, "select 1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some("ResourceNotFoundException"),
        "a closed session runs nothing"
    );
    let e = mine
        .list_sessions()
        .session_id(&sid)
        .status(SessionStatusString::Available)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));
    let e = mine
        .list_sessions()
        .next_token("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));
}
