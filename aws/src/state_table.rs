//! The DynamoDB state table (docs/design.md, "State record").
//!
//! Key `statementName`; index [`BY_EXECUTION_INDEX`] (`executionArn`, `createdAt`) for the canceller and `LATEST`;
//! sparse index [`UNSETTLED_INDEX`] (`unsettled`, `updatedAt`) holding only unsettled records, for the sweeper;
//! index [`BY_STATEMENT_ID_INDEX`] (`statementId`) so the seed's actions by id accept only our own statements.
//! Every state change is a conditional write, so concurrent starters and completers cannot both win.

use crate::errors::port_error;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashMap;
use tasker_core::{
    Claim, Claimant, Created, FaultKind, Lock, LockSteal, PortError, RecordStatus, Settled,
    Settlement, SingletonLocks, StateStore, StatementRecord, UnsettledPage,
};

/// Partition key.
pub const KEY: &str = "statementName";
/// Index on `executionArn`, sorted by `createdAt`.
pub const BY_EXECUTION_INDEX: &str = "byExecution";
/// Index on `statementId` (sparse: only started records carry one).
pub const BY_STATEMENT_ID_INDEX: &str = "byStatementId";
/// Sparse index on unsettled records, sorted by `updatedAt`.
pub const UNSETTLED_INDEX: &str = "unsettled";
/// The attribute only unsettled records carry (the sparse index's key).
pub const UNSETTLED_ATTR: &str = "unsettled";
/// The TTL attribute.
pub const TTL_ATTR: &str = "expiresAt";

type Item = HashMap<String, AttributeValue>;

/// The state table through the SDK.
#[derive(Debug)]
pub struct DynamoStateTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStateTable {
    /// An adapter for one table.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoStateTable {
            client,
            table: table.into(),
        }
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Timestamps as fixed-width ISO 8601 (milliseconds, `Z`), so that they sort as strings in the indexes.
fn ts(t: DateTime<Utc>) -> AttributeValue {
    s(t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn get_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

fn get_t(item: &Item, k: &str) -> Option<DateTime<Utc>> {
    get_s(item, k)
        .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn get_n(item: &Item, k: &str) -> Option<i64> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn corrupt(what: &str) -> PortError {
    PortError::new(
        FaultKind::Rejected,
        "CorruptRecord",
        format!("state record without a valid {what}"),
    )
}

fn to_record(item: &Item) -> Result<StatementRecord, PortError> {
    Ok(StatementRecord {
        statement_name: get_s(item, KEY).ok_or_else(|| corrupt(KEY))?,
        execution_arn: get_s(item, "executionArn"),
        state_name: get_s(item, "stateName"),
        task_token: get_s(item, "taskToken"),
        statement_id: get_s(item, "statementId"),
        status: get_s(item, "status")
            .and_then(|v| RecordStatus::parse(&v))
            .ok_or_else(|| corrupt("status"))?,
        sql_digest: get_s(item, "sqlDigest").unwrap_or_default(),
        result_rows: get_n(item, "resultRows")
            .unwrap_or(0)
            .clamp(0, i64::from(u32::MAX)) as u32,
        result_max_bytes: get_n(item, "resultMaxBytes")
            .map(|n| n.clamp(0, i64::from(u32::MAX)) as u32)
            .unwrap_or(tasker_core::DEFAULT_RESULT_MAX_BYTES),
        singleton: item
            .get("singleton")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        created_at: get_t(item, "createdAt").ok_or_else(|| corrupt("createdAt"))?,
        updated_at: get_t(item, "updatedAt").ok_or_else(|| corrupt("updatedAt"))?,
        settled_at: get_t(item, "settledAt"),
        cancel_requested_at: get_t(item, "cancelRequestedAt"),
        error: get_s(item, "error"),
        expires_at: get_n(item, TTL_ATTR).unwrap_or(0),
    })
}

fn to_item(r: &StatementRecord) -> Item {
    let mut item: Item = HashMap::new();
    item.insert(KEY.into(), s(&r.statement_name));
    if let Some(v) = &r.execution_arn {
        item.insert("executionArn".into(), s(v));
    }
    if let Some(v) = &r.state_name {
        item.insert("stateName".into(), s(v));
    }
    if let Some(v) = &r.task_token {
        item.insert("taskToken".into(), s(v));
    }
    if let Some(v) = &r.statement_id {
        item.insert("statementId".into(), s(v));
    }
    item.insert("status".into(), s(r.status.as_str()));
    item.insert("sqlDigest".into(), s(&r.sql_digest));
    item.insert("resultRows".into(), n(r.result_rows));
    item.insert("resultMaxBytes".into(), n(r.result_max_bytes));
    item.insert("singleton".into(), AttributeValue::Bool(r.singleton));
    item.insert("createdAt".into(), ts(r.created_at));
    item.insert("updatedAt".into(), ts(r.updated_at));
    if let Some(v) = r.settled_at {
        item.insert("settledAt".into(), ts(v));
    }
    if let Some(v) = r.cancel_requested_at {
        item.insert("cancelRequestedAt".into(), ts(v));
    }
    if let Some(v) = &r.error {
        item.insert("error".into(), s(v));
    }
    item.insert(TTL_ATTR.into(), n(r.expires_at));
    if !r.status.is_settled() {
        item.insert(UNSETTLED_ATTR.into(), s("1"));
    }
    item
}

/// A page key (string attributes only, as this table's keys are) as an opaque JSON page token.
fn encode_page_key(key: &Item) -> String {
    let m: serde_json::Map<String, serde_json::Value> = key
        .iter()
        .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.clone(), serde_json::json!(v))))
        .collect();
    serde_json::Value::Object(m).to_string()
}

fn decode_page_key(token: &str) -> Result<Item, PortError> {
    let bad = || {
        PortError::new(
            FaultKind::Rejected,
            "InvalidPageToken",
            "bad sweep page token",
        )
    };
    let m: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(token).map_err(|_| bad())?;
    m.into_iter()
        .map(|(k, v)| v.as_str().map(|v| (k, s(v))).ok_or_else(bad))
        .collect()
}

fn lock_key(digest: &str) -> String {
    format!("lock#{digest}")
}

impl DynamoStateTable {
    /// Runs an update; `Ok(None)` when its condition failed (with the old item when DynamoDB returned it).
    async fn conditional_update(
        &self,
        builder: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<Result<Option<Item>, Option<Item>>, PortError> {
        match builder
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
        {
            Ok(out) => Ok(Ok(out.attributes)),
            Err(e) => {
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) {
                    if let UpdateItemError::ConditionalCheckFailedException(c) =
                        e.into_service_error()
                    {
                        return Ok(Err(c.item));
                    }
                    unreachable!("checked above");
                }
                Err(port_error(e))
            }
        }
    }

    /// Runs a put; `Ok(Err(old))` when its condition failed, with the item DynamoDB returned in its place.
    async fn conditional_put(
        &self,
        builder: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
    ) -> Result<Result<(), Option<Item>>, PortError> {
        match builder
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
        {
            Ok(_) => Ok(Ok(())),
            Err(e) => {
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) {
                    if let PutItemError::ConditionalCheckFailedException(c) = e.into_service_error()
                    {
                        return Ok(Err(c.item));
                    }
                    unreachable!("checked above");
                }
                Err(port_error(e))
            }
        }
    }

    fn update(
        &self,
        name: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(KEY, s(name))
    }
}

#[async_trait]
impl StateStore for DynamoStateTable {
    async fn create(&self, record: &StatementRecord) -> Result<Created, PortError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(record)))
            .condition_expression("attribute_not_exists(statementName)");
        match self.conditional_put(put).await? {
            Ok(()) => Ok(Created::New),
            Err(old) => {
                let existing = match old {
                    Some(item) => to_record(&item)?,
                    None => self
                        .get(&record.statement_name)
                        .await?
                        .ok_or_else(|| corrupt(KEY))?,
                };
                Ok(Created::Existing(Box::new(existing)))
            }
        }
    }

    async fn get(&self, statement_name: &str) -> Result<Option<StatementRecord>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, s(statement_name))
            .consistent_read(true)
            .send()
            .await
            .map_err(port_error)?;
        out.item.as_ref().map(to_record).transpose()
    }

    async fn set_token(
        &self,
        statement_name: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<StatementRecord, PortError> {
        let b = self
            .update(statement_name)
            .update_expression("SET taskToken = :t, updatedAt = :now")
            .condition_expression("attribute_exists(statementName)")
            .expression_attribute_values(":t", s(token))
            .expression_attribute_values(":now", ts(now))
            .return_values(ReturnValue::AllNew);
        match self.conditional_update(b).await? {
            Ok(Some(item)) => to_record(&item),
            _ => Err(PortError::new(
                FaultKind::NotFound,
                "RecordMissing",
                format!("no record {statement_name}"),
            )),
        }
    }

    async fn mark_started(
        &self,
        statement_name: &str,
        statement_id: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<bool, PortError> {
        let b = self
            .update(statement_name)
            .update_expression(
                "SET #s = :started, statementId = :id, updatedAt = :now, unsettled = :one, expiresAt = :exp \
                 REMOVE settledAt",
            )
            .condition_expression("#s IN (:submitted, :not_started)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":started", s(RecordStatus::Started.as_str()))
            .expression_attribute_values(":submitted", s(RecordStatus::Submitted.as_str()))
            .expression_attribute_values(":not_started", s(RecordStatus::NotStarted.as_str()))
            .expression_attribute_values(":id", s(statement_id))
            .expression_attribute_values(":one", s("1"))
            .expression_attribute_values(":exp", n(expires_at))
            .expression_attribute_values(":now", ts(now));
        Ok(self.conditional_update(b).await?.is_ok())
    }

    async fn revive(
        &self,
        statement_name: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<bool, PortError> {
        let b = self
            .update(statement_name)
            .update_expression(
                "SET #s = :submitted, createdAt = :now, updatedAt = :now, unsettled = :one, expiresAt = :exp \
                 REMOVE settledAt, #e",
            )
            .condition_expression(
                "#s = :not_started OR (#s = :submitted AND attribute_not_exists(statementId))",
            )
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#e", "error")
            .expression_attribute_values(":submitted", s(RecordStatus::Submitted.as_str()))
            .expression_attribute_values(":not_started", s(RecordStatus::NotStarted.as_str()))
            .expression_attribute_values(":one", s("1"))
            .expression_attribute_values(":exp", n(expires_at))
            .expression_attribute_values(":now", ts(now));
        Ok(self.conditional_update(b).await?.is_ok())
    }

    async fn claim(
        &self,
        statement_name: &str,
        by: Claimant,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Claim, PortError> {
        let free = match by {
            Claimant::Settler => "(attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
            Claimant::Restart => {
                "(attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseBy = :by)"
            }
        };
        let b = self
            .update(statement_name)
            .update_expression("SET leaseUntil = :lease, leaseBy = :by")
            .condition_expression(format!(
                "attribute_exists(statementName) AND attribute_exists(unsettled) AND {free}"
            ))
            .expression_attribute_values(":lease", ts(lease_until))
            .expression_attribute_values(":by", s(by.as_str()))
            .expression_attribute_values(":now", ts(now))
            .return_values(ReturnValue::AllNew);
        Ok(match self.conditional_update(b).await? {
            Ok(Some(item)) => Claim::Won(to_record(&item)?),
            Ok(None) => return Err(corrupt("claim result")),
            Err(None) => Claim::Missing,
            Err(Some(item)) => {
                let r = to_record(&item)?;
                if r.status.is_settled() {
                    Claim::Settled(r)
                } else {
                    Claim::Busy(r)
                }
            }
        })
    }

    async fn release(
        &self,
        statement_name: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let b = self
            .update(statement_name)
            .update_expression("REMOVE leaseUntil")
            .condition_expression("leaseUntil = :lease")
            .expression_attribute_values(":lease", ts(lease_until));
        self.conditional_update(b).await.map(|_| ())
    }

    async fn settle(
        &self,
        statement_name: &str,
        settlement: &Settlement,
        lease_until: Option<DateTime<Utc>>,
    ) -> Result<Settled, PortError> {
        let mut set = vec![
            "#s = :status",
            "settledAt = :at",
            "updatedAt = :at",
            "expiresAt = :exp",
        ];
        let mut b = self
            .update(statement_name)
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":status", s(settlement.status.as_str()))
            .expression_attribute_values(":at", ts(settlement.at))
            .expression_attribute_values(":exp", n(settlement.expires_at));
        if let Some(id) = &settlement.statement_id {
            set.push("statementId = :id");
            b = b.expression_attribute_values(":id", s(id));
        }
        if let Some(e) = &settlement.error {
            set.push("#e = :error");
            b = b
                .expression_attribute_names("#e", "error")
                .expression_attribute_values(":error", s(e));
        }
        b = b.update_expression(format!(
            "SET {} REMOVE unsettled, leaseUntil",
            set.join(", ")
        ));
        let mut conditions = vec!["attribute_exists(unsettled)"];
        if let Some(lease) = lease_until {
            conditions.push("leaseUntil = :lease");
            b = b.expression_attribute_values(":lease", ts(lease));
        }
        if let Some(token) = &settlement.if_token {
            conditions.push("taskToken = :tok");
            b = b.expression_attribute_values(":tok", s(token));
        }
        if settlement.if_no_statement {
            conditions.push("attribute_not_exists(statementId)");
        }
        b = b.condition_expression(conditions.join(" AND "));
        Ok(match self.conditional_update(b).await? {
            Ok(_) => Settled::Done,
            Err(old) => Settled::Refused(old.as_ref().map(to_record).transpose()?.map(Box::new)),
        })
    }

    async fn by_execution(&self, execution_arn: &str) -> Result<Vec<StatementRecord>, PortError> {
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_EXECUTION_INDEX)
                .key_condition_expression("executionArn = :arn")
                .expression_attribute_values(":arn", s(execution_arn))
                .scan_index_forward(false)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(port_error)?;
            for item in out.items() {
                records.push(to_record(item)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(records);
            }
        }
    }

    async fn by_statement_id(
        &self,
        statement_id: &str,
    ) -> Result<Option<StatementRecord>, PortError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_STATEMENT_ID_INDEX)
            .key_condition_expression("statementId = :id")
            .expression_attribute_values(":id", s(statement_id))
            .limit(1)
            .send()
            .await
            .map_err(port_error)?;
        out.items().first().map(to_record).transpose()
    }

    async fn unsettled_page(
        &self,
        cutoff: DateTime<Utc>,
        limit: usize,
        after: Option<String>,
    ) -> Result<UnsettledPage, PortError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(UNSETTLED_INDEX)
            .key_condition_expression("unsettled = :one AND updatedAt < :cutoff")
            .expression_attribute_values(":one", s("1"))
            .expression_attribute_values(":cutoff", ts(cutoff))
            .scan_index_forward(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(after.as_deref().map(decode_page_key).transpose()?)
            .send()
            .await
            .map_err(port_error)?;
        let mut page = UnsettledPage {
            next: out.last_evaluated_key().map(encode_page_key),
            ..Default::default()
        };
        for item in out.items() {
            match to_record(item) {
                Ok(r) => page.records.push(r),
                Err(_) => page
                    .undecodable
                    .push(get_s(item, KEY).unwrap_or_else(|| "?".into())),
            }
        }
        Ok(page)
    }

    async fn touch(&self, statement_name: &str, now: DateTime<Utc>) -> Result<(), PortError> {
        let b = self
            .update(statement_name)
            .update_expression("SET updatedAt = :now")
            .condition_expression("attribute_exists(unsettled)")
            .expression_attribute_values(":now", ts(now));
        self.conditional_update(b).await.map(|_| ())
    }

    async fn mark_cancel_requested(
        &self,
        statement_name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let b = self
            .update(statement_name)
            .update_expression("SET cancelRequestedAt = :now")
            .condition_expression("attribute_exists(unsettled)")
            .expression_attribute_values(":now", ts(now));
        self.conditional_update(b).await.map(|_| ())
    }
}

#[async_trait]
impl SingletonLocks for DynamoStateTable {
    async fn lock(
        &self,
        sql_digest: &str,
        owner: &str,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> Result<Lock, PortError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(KEY, s(lock_key(sql_digest)))
            .item("owner", s(owner))
            .item("takenAt", ts(now))
            .item(TTL_ATTR, n(expires_at))
            .condition_expression("attribute_not_exists(statementName) OR #o = :me")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":me", s(owner));
        Ok(match self.conditional_put(put).await? {
            Ok(()) => Lock::Acquired,
            Err(old) => Lock::HeldBy {
                owner: old
                    .as_ref()
                    .and_then(|i| get_s(i, "owner"))
                    .unwrap_or_default(),
                since: old.as_ref().and_then(|i| get_t(i, "takenAt")),
            },
        })
    }

    async fn steal_lock(&self, steal: &LockSteal) -> Result<bool, PortError> {
        let LockSteal {
            sql_digest,
            from,
            from_since,
            owner,
            now,
            expires_at,
        } = steal;
        let mut b = self
            .update(&lock_key(sql_digest))
            .update_expression("SET #o = :me, takenAt = :now, expiresAt = :exp");
        b = match from_since {
            Some(since) => b
                .condition_expression("#o = :from AND takenAt = :since")
                .expression_attribute_values(":since", ts(*since)),
            None => b.condition_expression("#o = :from AND attribute_not_exists(takenAt)"),
        };
        let b = b
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":me", s(owner))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":now", ts(*now))
            .expression_attribute_values(":exp", n(*expires_at));
        Ok(self.conditional_update(b).await?.is_ok())
    }

    async fn unlock(&self, sql_digest: &str, owner: &str) -> Result<(), PortError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(KEY, s(lock_key(sql_digest)))
            .condition_expression("#o = :me")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":me", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(port_error(e)),
        }
    }
}
