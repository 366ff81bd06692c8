//! The SAM template deployed on moto's CloudFormation as `sam deploy` would deploy it, so that the local stack
//! runs what the template declares and nothing declared a second time: `local/deploy_template.py` translates
//! `infra/sam-template.yaml` with `samtranslator`, creates the stack on moto and prints its outputs, resources and
//! wiring (the functions' environments, the SQS event source mapping, the schedule), which this module reads.
//!
//! A template synthesized by the CDK construct of `cdk/` (which includes the SAM template) deploys the same way,
//! its assets first published to moto's S3 from the cloud assembly (`StackOptions::cdk_template`).
//!
//! What moto cannot do with a deployed stack (run the functions' code, poll SQS for Lambda, fire schedules) the
//! local stack emulates from that wiring (`stack.rs`: the front runs the handlers, `poll` the event source
//! mapping, `sweep_every` the schedule).

use serde::Deserialize;
use std::collections::HashMap;
use std::process::Command;

/// A deployed stack, as `deploy_template.py` reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct Deployment {
    /// `CREATE_COMPLETE` once deployed.
    pub status: String,
    /// The stack's outputs (`StateTableName`, `EventQueueUrl`, `StarterFunctionArn`, ...).
    pub outputs: HashMap<String, String>,
    /// Every resource by logical id.
    pub resources: HashMap<String, DeployedResource>,
    /// What the emulation needs to run the deployed stack.
    pub wiring: Wiring,
}

/// One deployed resource.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedResource {
    /// Its CloudFormation type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Its physical id (a name, URL, ARN or id, as CloudFormation gives it).
    pub physical_id: String,
}

/// The deployed stack as Lambda's and EventBridge's machinery would run it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wiring {
    /// Each function by its deployed name.
    pub functions: HashMap<String, DeployedFunction>,
    /// The SQS event source mappings (the completer's queue).
    pub event_source_mappings: Vec<EventSourceMapping>,
    /// The scheduled rules and the function each invokes (the sweeper).
    pub schedules: Vec<Schedule>,
}

/// A deployed function.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedFunction {
    /// Its ARN, which state machines name.
    pub arn: String,
    /// Its environment, as the template sets it.
    pub environment: HashMap<String, String>,
    /// Its `Timeout`, in seconds.
    pub timeout: u64,
    /// Its `ReservedConcurrentExecutions` (none when it reserves none).
    pub reserved_concurrency: Option<u32>,
}

impl DeployedFunction {
    /// The limits Lambda runs it within.
    pub fn limits(&self) -> crate::front::FunctionLimits {
        crate::front::FunctionLimits {
            reserved_concurrency: self.reserved_concurrency,
            timeout: std::time::Duration::from_secs(self.timeout),
        }
    }
}

/// An SQS event source mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventSourceMapping {
    /// The function it invokes.
    pub function_name: String,
    /// The queue it polls.
    pub queue_url: String,
    /// Messages per invocation, at most.
    pub batch_size: u32,
    /// `MaximumBatchingWindowInSeconds`.
    pub batching_window_seconds: u64,
    /// Whether the function reports partial batch failures.
    pub report_batch_item_failures: bool,
}

/// A scheduled rule's target.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// The rule's name.
    pub rule: String,
    /// `rate(...)` or `cron(...)`.
    pub schedule_expression: String,
    /// The function it invokes.
    pub function_name: String,
    /// The event it invokes it with.
    pub input: serde_json::Value,
}

impl Deployment {
    /// Deploys `infra/sam-template.yaml`, or a CDK-synthesized template (`cdk_template`: its assets are
    /// published from the cloud assembly it is in), as stack `stack_name` on the moto server at `moto_url`.
    pub async fn deploy(
        moto_url: &str,
        stack_name: &str,
        cdk_template: Option<&std::path::Path>,
        parameters: &[(&str, String)],
    ) -> anyhow::Result<Deployment> {
        let root = crate::workspace_root();
        let mut cmd = Command::new(crate::venv().join("bin/python"));
        cmd.arg(root.join("local/deploy_template.py"))
            .args(["--endpoint", moto_url, "--stack-name", stack_name])
            .arg("--template");
        match cdk_template {
            Some(template) => {
                let assembly = template.parent().unwrap_or(std::path::Path::new("."));
                anyhow::ensure!(
                    template.exists(),
                    "no synthesized template at {} (run `bash scripts/check-cdk.sh`: npm ci, jest, cdk synth)",
                    template.display()
                );
                cmd.arg(template).arg("--cdk-assembly").arg(assembly)
            }
            None => cmd.arg(root.join("infra/sam-template.yaml")),
        };
        for (k, v) in parameters {
            cmd.args(["--parameter", &format!("{k}={v}")]);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output()).await??;
        anyhow::ensure!(
            out.status.success(),
            "deploying the template on moto failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let deployment: Deployment = serde_json::from_slice(&out.stdout)?;
        anyhow::ensure!(
            deployment.status == "CREATE_COMPLETE",
            "the stack ended {}",
            deployment.status
        );
        Ok(deployment)
    }

    /// A stack output.
    pub fn output(&self, key: &str) -> anyhow::Result<&str> {
        self.outputs
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| anyhow::anyhow!("the deployed stack has no output {key}"))
    }

    /// A deployed function by the output naming it (`StarterFunctionName`, ...): its name and deployment.
    pub fn function(&self, name_output: &str) -> anyhow::Result<(&str, &DeployedFunction)> {
        let name = self.output(name_output)?;
        let function = self
            .wiring
            .functions
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("no deployed function {name}"))?;
        Ok((name, function))
    }
}
