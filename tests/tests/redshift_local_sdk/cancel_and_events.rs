//! What ends a statement from outside, and what its end sends: a real cancellation, and the completion event reaching SQS through the prefix rule.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_aborts_a_running_query_for_real() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let s = exec(&c, "select pg_sleep(60)").send().await.unwrap();
    let id = s.id().unwrap().to_string();
    let db = stack.sql().await.unwrap();
    let running = || async {
        let n: i64 = db
            .query_one("select count(*) from pg_stat_activity where query = 'select pg_sleep(60)' and state = 'active'", &[])
            .await
            .unwrap()
            .get(0);
        n
    };
    tasker_tests::eventually("the query starts", Duration::from_secs(10), || async {
        match running().await {
            0 => Err("not in pg_stat_activity yet".to_string()),
            _ => Ok(()),
        }
    })
    .await
    .unwrap();
    let cancelled_at = Instant::now();
    let out = c.cancel_statement().id(&id).send().await.unwrap();
    assert_eq!(out.status(), Some(true));
    let d = wait_done(&c, &id).await;
    assert_eq!(d.status(), Some(&StatusString::Aborted));
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(1),
        "aborted in {:?}",
        cancelled_at.elapsed()
    );
    assert_eq!(
        running().await,
        0,
        "the query is gone from pg_stat_activity"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_event_reaches_sqs_through_the_prefix_rule() {
    let stack = stack().await;
    let c = stack.redshift_data();
    let ours = exec(&c, "select 1")
        .statement_name("conf-abc")
        .with_event(true)
        .send()
        .await
        .unwrap();
    let theirs = exec(&c, "select 2")
        .statement_name("elsewhere-abc")
        .with_event(true)
        .send()
        .await
        .unwrap();
    wait_done(&c, ours.id().unwrap()).await;
    wait_done(&c, theirs.id().unwrap()).await;
    let json = |bodies: Vec<String>| -> Vec<Value> {
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect()
    };
    let mut bodies =
        tasker_tests::eventually("our event arrives", Duration::from_secs(10), || async {
            let got = json(stack.drain_queue(&stack.queue_url).await.unwrap());
            if got.is_empty() {
                Err("no message yet".to_string())
            } else {
                Ok(got)
            }
        })
        .await
        .unwrap();
    // Give a stray event time to arrive, then check there is none.
    bodies.extend(json(stack.drain_queue(&stack.queue_url).await.unwrap()));
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let e = &bodies[0];
    assert_eq!(e["source"], "aws.redshift-data");
    assert_eq!(e["detail-type"], "Redshift Data Statement Status Change");
    assert_eq!(e["detail"]["statementName"], "conf-abc");
    assert_eq!(e["detail"]["statementId"], ours.id().unwrap());
    assert_eq!(e["detail"]["state"], "FINISHED");
    assert_eq!(e["detail"]["rows"], 1);
    for k in ["principal", "redshiftQueryId", "expireAt"] {
        assert!(e["detail"].get(k).is_some(), "detail.{k}");
    }
}
