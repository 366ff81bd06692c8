//! State machines created and run to their end through the front.

use super::Stack;
use crate::names::ACCOUNT;
use serde_json::{json, Value};
use std::time::Duration;

impl Stack {
    /// Creates a state machine from an ASL definition, filling `${StarterFunctionArn}`-style substitutions as the
    /// SAM template's `DefinitionSubstitutions` do.
    pub async fn create_state_machine(
        &self,
        name: &str,
        definition: &str,
    ) -> anyhow::Result<String> {
        let mut definition = definition.to_string();
        for key in [
            "StarterFunctionArn",
            "CompleterFunctionArn",
            "CancellerFunctionArn",
        ] {
            definition = definition.replace(&format!("${{{key}}}"), self.deployment.output(key)?);
        }
        let out = self
            .sfn()
            .create_state_machine()
            .name(name)
            .definition(definition)
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/tasker-example"))
            .send()
            .await?;
        Ok(out.state_machine_arn)
    }

    /// Creates a state machine of one recommended SQL step ([`crate::asl::sql_state`]) with `payload`.
    pub async fn sql_machine(&self, name: &str, payload: Value) -> anyhow::Result<String> {
        let definition = crate::asl::machine(
            json!({"RunSql": crate::asl::sql_state(payload, "Done")}),
            "RunSql",
        );
        self.create_state_machine(name, &definition).await
    }

    /// Starts an execution with a unique name, without waiting for it.
    pub async fn start_execution(
        &self,
        state_machine: &str,
        input: Value,
    ) -> anyhow::Result<String> {
        let started = self
            .sfn()
            .start_execution()
            .state_machine_arn(state_machine)
            .name(format!("x{}", uuid::Uuid::new_v4().simple()))
            .input(input.to_string())
            .send()
            .await?;
        Ok(started.execution_arn)
    }

    /// Starts an execution (with a unique name) and waits until it leaves RUNNING.
    pub async fn run(
        &self,
        state_machine: &str,
        input: Value,
        timeout: Duration,
    ) -> anyhow::Result<Execution> {
        let arn = self.start_execution(state_machine, input).await?;
        self.wait(&arn, timeout).await
    }

    /// Waits until the newest record of an execution is settled; that record.
    pub async fn settled(
        &self,
        execution_arn: &str,
        timeout: Duration,
    ) -> anyhow::Result<tasker_core::StatementRecord> {
        crate::eventually(&format!("{execution_arn} settles"), timeout, || async {
            let records = self
                .records(execution_arn)
                .await
                .map_err(|e| e.to_string())?;
            match records.first() {
                Some(r) if r.status.is_settled() => Ok(r.clone()),
                _ => Err(format!("{records:?}")),
            }
        })
        .await
    }

    /// Waits for an execution to end.
    pub async fn wait(&self, execution_arn: &str, timeout: Duration) -> anyhow::Result<Execution> {
        let what = format!("execution {execution_arn} ends");
        let d = crate::eventually_every(&what, timeout, Duration::from_millis(200), || async {
            let d = self
                .sfn()
                .describe_execution()
                .execution_arn(execution_arn)
                .send()
                .await
                .map_err(|e| format!("{e:#}"))?;
            match d.status().as_str() {
                "RUNNING" => Err("RUNNING".to_string()),
                _ => Ok(d),
            }
        })
        .await?;
        let status = d.status().as_str().to_string();
        let cause = match status.as_str() {
            "FAILED" => Some(format!(
                "{}; first failure inside: {}",
                d.cause().unwrap_or_default(),
                self.first_task_failure(execution_arn).await?
            )),
            _ => None,
        };
        Ok(Execution {
            arn: execution_arn.to_string(),
            status,
            output: d
                .output()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or(Value::Null),
            error: d.error().map(str::to_string),
            cause,
        })
    }

    /// The first task failure in an execution's history (a failed `Map` or `Parallel` hides it behind
    /// `States.Runtime`).
    async fn first_task_failure(&self, execution_arn: &str) -> anyhow::Result<String> {
        let history = self
            .sfn()
            .get_execution_history()
            .execution_arn(execution_arn)
            .send()
            .await?;
        Ok(history
            .events()
            .iter()
            .find_map(|e| e.task_failed_event_details())
            .map(|d| format!("{:?}: {:?}", d.error(), d.cause()))
            .unwrap_or_default())
    }

    /// The payload of the first invocation of `function` (for one execution, when given) that Step Functions made.
    pub async fn invocation_payload(
        &self,
        function: &str,
        execution_arn: Option<&str>,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let operation = format!("Lambda.Invoke:{function}");
        crate::eventually(&format!("{operation} is invoked"), timeout, || async {
            self.front
                .calls()
                .into_iter()
                .find(|c| {
                    c.operation == operation
                        && execution_arn.is_none_or(|arn| c.body["executionArn"] == json!(arn))
                })
                .map(|c| c.body)
                .ok_or_else(|| format!("{} calls, none of them it", self.front.calls().len()))
        })
        .await
    }
}

/// The end of an execution, as `DescribeExecution` tells it.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The execution's ARN.
    pub arn: String,
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// Its output (`null` when it has none).
    pub output: Value,
    /// Its error, when it failed.
    pub error: Option<String>,
    /// Why it failed, as Step Functions says (printed with a failed assertion's `{run:?}`).
    pub cause: Option<String>,
}
