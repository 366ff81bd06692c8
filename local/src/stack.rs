//! The whole local stack: the peers, the SAM template deployed on them (`deploy.rs`), the functions run as the
//! deployed stack would run them (configured from their deployed environment, invoked through the front by their
//! deployed ARNs, driven from the deployed event source mapping and schedule), and helpers that drive executions.

use crate::deploy::Deployment;
use crate::front::{Front, Handler};
use crate::moto::Moto;
use crate::postgres::Postgres;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tasker_core::config::{Settings, Target};

/// Account and region moto uses.
pub const ACCOUNT: &str = "123456789012";
/// The region every client and the template's deploy use.
pub const REGION: &str = "us-east-1";
/// The local "cluster" and its user: the target the starter is configured with.
pub const CLUSTER: &str = "local-cluster";
/// The database statements run in (a PostgreSQL database of the same name).
pub const DATABASE: &str = "dev";
/// The database user the template's `DbUser` names.
pub const DB_USER: &str = "etl";

/// Knobs of a stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The stack name and `StatementPrefix` of the deploy (statement names start with it).
    pub prefix: String,
    /// SQS visibility timeout: how soon a message the completer left comes back.
    pub visibility_timeout: u32,
    /// The event queue's `maxReceiveCount` before the DLQ.
    pub max_receive_count: u32,
    /// redshift-local's rows per result page.
    pub page_rows: usize,
    /// The template's `SweepGraceSeconds`.
    pub sweep_grace_seconds: u64,
    /// Run the SQS poller that drives the completer (or start it later with [`Stack::start_polling`]).
    pub poll: bool,
    /// Run the completer's sweeper this often, as its schedule would.
    pub sweep_every: Option<Duration>,
    /// Serve the functions with the real binaries in this directory (`starter`, `completer`, `canceller`)
    /// behind a local Runtime API, instead of in-process handlers.
    pub binaries: Option<std::path::PathBuf>,
    /// With `binaries`: write each function's stdout (its log: JSON events and metric documents) to
    /// `<dir>/<function>.log`.
    pub function_logs: Option<std::path::PathBuf>,
    /// The starter's `FAST_PATH_SECONDS`.
    pub fast_path_seconds: u32,
    /// The poller's `MaximumBatchingWindowInSeconds`: once a message is in, keep gathering up to 10 for this
    /// long before invoking the completer, as Lambda does. The template sets none (zero); the bench measures
    /// what one would cost.
    pub batching_window: Duration,
    /// The template's `StarterReservedConcurrency` (its default, 40, when `None`): the starter's slots, beyond
    /// which an invocation is throttled.
    pub starter_reserved_concurrency: Option<u32>,
    /// The template's `LogLevel` (the functions' `RUST_LOG`; its default, `info`, when `None`).
    pub log_level: Option<String>,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            prefix: "tasker-test".into(),
            visibility_timeout: 2,
            max_receive_count: 3,
            page_rows: 1000,
            sweep_grace_seconds: 300,
            poll: true,
            sweep_every: None,
            binaries: None,
            function_logs: None,
            fast_path_seconds: 0,
            batching_window: Duration::ZERO,
            starter_reserved_concurrency: None,
            log_level: None,
        }
    }
}

/// A running local stack. Field order is drop order: the poller and front stop before the servers.
pub struct Stack {
    background: Vec<tokio::task::JoinHandle<()>>,
    /// The binaries' processes, when the stack runs them: held so that they stop with the stack.
    functions: Vec<crate::runtime_api::Function>,
    /// What the SQS poller and the sweeper invoke: the completer, in-process or its binary.
    completer_handler: Handler,
    batching_window: Duration,
    /// The endpoint every client uses (and its call log and faults).
    pub front: Front,
    /// The local Data API.
    pub redshift: redshift_local::Server,
    /// The moto server behind the front.
    pub moto: Moto,
    /// The PostgreSQL cluster the statements run on.
    pub postgres: Postgres,
    /// The tests' own client configuration (through the front, signed as `test`).
    pub sdk: SdkConfig,
    /// The functions' settings, read from their deployed environment.
    pub settings: Settings,
    /// The starter's target, read from its deployed environment.
    pub target: Target,
    /// The deployed state table's name.
    pub table: String,
    /// The queue the deployed event source mapping polls.
    pub queue_url: String,
    /// The deployed dead-letter queue.
    pub dlq_url: String,
    /// The in-process starter (what the front runs unless `binaries` is set).
    pub starter: Arc<starter::Starter>,
    /// The in-process completer.
    pub completer: Arc<completer::Completer>,
    /// The in-process canceller.
    pub canceller: Arc<canceller::Canceller>,
    /// The deployed template: its outputs, resources and wiring.
    pub deployment: Deployment,
}

impl Drop for Stack {
    fn drop(&mut self) {
        for task in self.background.drain(..) {
            task.abort();
        }
    }
}

/// The SDK configuration the tests' own clients use: all calls go to the front, signed as `test`.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    signed_as(endpoint, "test", None)
}

/// The IAM role all three functions run as (the template's `TaskerRole`): the Data API scopes a statement to the
/// identity that ran it, which redshift-local enforces by the access key id.
pub const ROLE: &str = "tasker-role";

/// The SDK configuration of one function: signed with the shared role's access key id (the identity the Data API
/// sees) and the function's name as the session token, so the front can tell which function made each call.
pub fn sdk_config_as(endpoint: &str, function: &str) -> SdkConfig {
    signed_as(endpoint, ROLE, Some(function))
}

/// An SDK configuration signed with `access_key` (and a session token, when given).
pub fn signed_as(endpoint: &str, access_key: &str, session: Option<&str>) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new(
                access_key,
                "test",
                session.map(str::to_string),
                None,
                "local-stack",
            ),
        ))
        .build()
}

/// A function's deployed environment (the template's), pointed at the local stack and signed as the role with the
/// function's own session token (see [`sdk_config_as`]).
fn function_env(
    endpoint: &str,
    name: &str,
    deployed: &HashMap<String, String>,
) -> Vec<(String, String)> {
    let local = [
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_REGION", REGION.to_string()),
        ("AWS_ACCESS_KEY_ID", ROLE.to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_SESSION_TOKEN", name.to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ];
    deployed
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain(local.into_iter().map(|(k, v)| (k.to_string(), v)))
        .collect()
}

/// The stack output naming a function's deployed name: `starter` -> `StarterFunctionName`.
fn name_output(name: &str) -> String {
    let mut chars = name.chars();
    let first = chars
        .next()
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or_default();
    format!("{first}{}FunctionName", chars.as_str())
}

/// The test knobs the template has no parameter for: a short visibility timeout and a small `maxReceiveCount`,
/// so that redelivery and the DLQ happen within a test (the deployed queue keeps everything else).
async fn tune_queue(
    sdk: &SdkConfig,
    queue_url: &str,
    dlq_url: &str,
    options: &StackOptions,
) -> anyhow::Result<()> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let dlq_arn = queue_arn(&sqs, dlq_url).await?;
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": options.max_receive_count.to_string()});
    // moto's SetQueueAttributes drops a policy it is not given again: the deployed one is sent back unchanged.
    let policy = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::Policy)
        .send()
        .await?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::Policy).cloned());
    let mut set = sqs
        .set_queue_attributes()
        .queue_url(queue_url)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            options.visibility_timeout.to_string(),
        )
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string());
    if let Some(policy) = policy {
        set = set.attributes(QueueAttributeName::Policy, policy);
    }
    set.send().await?;
    Ok(())
}

fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Value) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Value, tasker_core::TaskerError>> + Send + 'static,
{
    Arc::new(move |v| {
        let fut = f(v);
        Box::pin(async move { fut.await.map_err(crate::front::FunctionError::from) })
    })
}

impl Stack {
    /// Starts everything and creates the resources.
    pub async fn start(options: StackOptions) -> anyhow::Result<Stack> {
        let postgres = Postgres::start().await?;
        let front_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let front_port = front_listener.local_addr()?.port();
        let moto = Moto::start(front_port).await?;
        let redshift = redshift_local::serve(
            tokio::net::TcpListener::bind("127.0.0.1:0").await?,
            redshift_local::Options {
                postgres: postgres.config(),
                eventbridge_endpoint: Some(moto.url()),
                s3_endpoint: Some(moto.url()),
                region: REGION.into(),
                page_rows: options.page_rows,
                faults: Default::default(),
                statement_retention: redshift_local::DEFAULT_STATEMENT_RETENTION,
            },
        )
        .await?;
        let front = Front::serve(front_listener, moto.url(), redshift.url());
        let sdk = sdk_config(&front.url());
        front.check_models(crate::front::model_check::Models::shared()?);
        let mut parameters = vec![
            ("ClusterIdentifier", CLUSTER.to_string()),
            ("Database", DATABASE.into()),
            ("DbUser", DB_USER.into()),
            ("StatementPrefix", options.prefix.clone()),
            ("SweepGraceSeconds", options.sweep_grace_seconds.to_string()),
            ("FastPathSeconds", options.fast_path_seconds.to_string()),
            ("DeployExampleStateMachine", "true".into()),
        ];
        if let Some(level) = &options.log_level {
            parameters.push(("LogLevel", level.clone()));
        }
        if let Some(n) = options.starter_reserved_concurrency {
            parameters.push(("StarterReservedConcurrency", n.to_string()));
        }
        let deployment = Deployment::deploy(&moto.url(), &options.prefix, &parameters).await?;
        let mapping = deployment
            .wiring
            .event_source_mappings
            .first()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the deployed stack has no event source mapping"))?;
        let queue_url = mapping.queue_url.clone();
        let dlq_url = deployment.output("DeadLetterQueueUrl")?.to_string();
        tune_queue(&sdk, &queue_url, &dlq_url, &options).await?;
        // Each function configured from its deployed environment, as Lambda would start it.
        let environment = |output: &str| -> anyhow::Result<HashMap<String, String>> {
            Ok(deployment.function(output)?.1.environment.clone())
        };
        let lookup = |env: HashMap<String, String>| move |k: &str| env.get(k).cloned();
        let starter_config = starter::Starter::config(lookup(environment("StarterFunctionName")?))?;
        let settings = Settings::from_lookup(lookup(environment("CompleterFunctionName")?))?;
        let canceller_settings =
            Settings::from_lookup(lookup(environment("CancellerFunctionName")?))?;
        let target = starter_config.target.clone();
        let table = settings.table_name.clone();
        let as_function = |name: &str| sdk_config_as(&front.url(), name);
        let starter = Arc::new(starter::Starter::new(
            &as_function("starter"),
            starter_config,
        ));
        let completer = Arc::new(completer::Completer::new(
            &as_function("completer"),
            settings.clone(),
        ));
        let canceller = Arc::new(canceller::Canceller::new(
            &as_function("canceller"),
            &canceller_settings,
        ));
        let s = starter.clone();
        let c = completer.clone();
        let k = canceller.clone();
        let mut handlers: Vec<(&str, Handler)> = vec![
            (
                "starter",
                handler(move |v| {
                    let s = s.clone();
                    async move { s.handle(&v).await }
                }),
            ),
            (
                "completer",
                handler(move |v| {
                    let c = c.clone();
                    async move { c.handle(&v).await }
                }),
            ),
            (
                "canceller",
                handler(move |v| {
                    let k = k.clone();
                    async move { k.handle(&v).await }
                }),
            ),
        ];
        let mut functions = Vec::new();
        if let Some(dir) = &options.binaries {
            for (name, h) in handlers.iter_mut() {
                let (_, deployed) = deployment.function(&name_output(name))?;
                let env = function_env(&front.url(), name, &deployed.environment);
                let arn = deployed.arn.clone();
                let binary = dir.join(*name);
                let f = match &options.function_logs {
                    Some(logs) => {
                        let log = logs.join(format!("{name}.log"));
                        crate::runtime_api::Function::start_logging(&binary, name, &arn, &env, &log)
                            .await?
                    }
                    None => crate::runtime_api::Function::start(&binary, name, &arn, &env).await?,
                };
                *h = f.handler();
                functions.push(f);
            }
        }
        for (name, h) in handlers {
            let (deployed_name, deployed) = deployment.function(&name_output(name))?;
            front.register(name, h);
            front.limit(name, deployed.limits());
            front.route_function(deployed_name, name);
        }
        // The event source mapping and the schedule invoke it as Lambda does: within its limits.
        let completer_handler = front.invoker("completer");
        let mut stack = Stack {
            background: Vec::new(),
            functions,
            completer_handler,
            batching_window: match options.batching_window {
                Duration::ZERO => Duration::from_secs(mapping.batching_window_seconds),
                window => window,
            },
            front,
            redshift,
            moto,
            postgres,
            sdk,
            settings,
            target,
            table,
            queue_url,
            dlq_url,
            starter,
            completer,
            canceller,
            deployment,
        };
        if options.poll {
            stack.start_polling();
        }
        if let Some(every) = options.sweep_every {
            // The deployed schedule's event, on the test's own clock (moto fires no schedule).
            let schedule = stack
                .deployment
                .wiring
                .schedules
                .first()
                .ok_or_else(|| anyhow::anyhow!("the deployed stack has no schedule"))?;
            let (input, completer) = (schedule.input.clone(), stack.completer_handler.clone());
            stack.background.push(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let _ = completer(input.clone()).await;
                }
            }));
        }
        Ok(stack)
    }

    /// Starts (another) SQS poller driving the stack's completer.
    pub fn start_polling(&mut self) {
        self.background.push(tokio::spawn(poll(
            self.sdk.clone(),
            self.queue_url.clone(),
            self.completer_handler.clone(),
            self.batching_window,
        )));
    }

    /// How many times a binary's sandbox was reset (an invocation cut off at its timeout while the process ran
    /// it); always 0 with in-process handlers.
    pub fn sandbox_resets(&self) -> u32 {
        self.functions.iter().map(|f| f.resets()).sum()
    }

    /// A Step Functions client through the front.
    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.sdk)
    }

    /// A DynamoDB client through the front.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    /// An SQS client through the front.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    /// A Data API client straight to redshift-local.
    /// A Data API client signed as the functions' role, so it may read their statements (the Data API shows a
    /// statement only to the identity that ran it).
    pub fn redshift_data(&self) -> aws_sdk_redshiftdata::Client {
        aws_sdk_redshiftdata::Client::new(&signed_as(&self.redshift.url(), ROLE, Some("test")))
    }

    /// The state table's adapter, to read records as the code sees them.
    pub fn state_table(&self) -> tasker_aws::DynamoStateTable {
        tasker_aws::DynamoStateTable::new(self.dynamodb(), &self.table)
    }

    /// A PostgreSQL client on the database the statements run in, as the role they run as (no superuser), so that
    /// what it creates the statements may use, and the other way round.
    pub async fn sql(&self) -> anyhow::Result<tokio_postgres::Client> {
        let mut config = self.redshift.engine.statement_config().clone();
        config.dbname(DATABASE);
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// Sets how long redshift-local keeps a statement after it ended (24 hours by default, as the Data API), so a
    /// test sees statements expire.
    pub fn statement_retention(&self, retention: Duration) {
        self.redshift.engine.set_statement_retention(retention);
    }

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
    ) -> anyhow::Result<tasker_core::record::StatementRecord> {
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

    /// The records of an execution, newest first.
    pub async fn records(
        &self,
        execution_arn: &str,
    ) -> anyhow::Result<Vec<tasker_core::record::StatementRecord>> {
        use tasker_core::ports::StateStore;
        Ok(self.state_table().by_execution(execution_arn).await?)
    }

    /// redshift-local's counters.
    pub async fn redshift_stats(&self) -> anyhow::Result<Value> {
        Ok(
            reqwest::get(format!("{}/_local/stats", self.redshift.url()))
                .await?
                .json()
                .await?,
        )
    }

    /// Waits until redshift-local has dropped `n` completion events (its fault setting), so that a test knows
    /// the statement ended without its event.
    pub async fn events_dropped(&self, n: u64, timeout: Duration) -> anyhow::Result<()> {
        crate::eventually(&format!("{n} events dropped"), timeout, || async {
            let stats = self.redshift_stats().await.map_err(|e| e.to_string())?;
            (stats["events"]["dropped"] == n)
                .then_some(())
                .ok_or(stats.to_string())
        })
        .await
    }

    /// Sets redshift-local's event faults.
    pub fn event_faults(&self, faults: redshift_local::EventFaults) {
        self.redshift.engine.set_faults(faults);
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

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<String> {
    let a = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?;
    Ok(a.attributes()
        .and_then(|m| m.get(&QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_default())
}

/// Up to `max` messages from the queue, waiting at most `wait_seconds` for the first.
async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    max: i32,
    wait_seconds: i32,
) -> Vec<aws_sdk_sqs::types::Message> {
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(max)
        .wait_time_seconds(wait_seconds)
        .send()
        .await;
    match received {
        Ok(r) => r.messages.unwrap_or_default(),
        Err(_) => {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Vec::new()
        }
    }
}

/// Drives the completer from the queue as Lambda's SQS event source mapping does: batches of up to 10 (gathered
/// for up to `window` once the first message is in), deleting only the messages not reported in
/// `batchItemFailures`.
async fn poll(sdk: SdkConfig, queue_url: String, completer: Handler, window: Duration) {
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    loop {
        let mut messages = receive(&sqs, &queue_url, 10, 1).await;
        if messages.is_empty() {
            continue;
        }
        // Short polls, so that no receive is cut off holding messages it took.
        let gathering = Instant::now() + window;
        while messages.len() < 10 && Instant::now() < gathering {
            let more = receive(&sqs, &queue_url, 10 - messages.len() as i32, 0).await;
            if more.is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            messages.extend(more);
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                       "eventSource": "aws:sqs", "awsRegion": REGION, "attributes": {}, "messageAttributes": {}})
            })
            .collect();
        let response = completer(json!({"Records": records})).await;
        let failed: Vec<String> = match &response {
            Ok(v) => v["batchItemFailures"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            Err(_) => messages
                .iter()
                .filter_map(|m| m.message_id().map(str::to_string))
                .collect(),
        };
        for m in &messages {
            if m.message_id()
                .is_some_and(|id| failed.iter().any(|f| f == id))
            {
                continue;
            }
            if let Some(handle) = m.receipt_handle() {
                let _ = sqs
                    .delete_message()
                    .queue_url(&queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
    }
}

/// Waits until a Data API statement has ended (`FINISHED`, `FAILED` or `ABORTED`); its description.
pub async fn statement_end(
    c: &aws_sdk_redshiftdata::Client,
    id: &str,
) -> anyhow::Result<aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput> {
    use aws_sdk_redshiftdata::types::StatusString;
    crate::eventually(
        &format!("statement {id} ends"),
        Duration::from_secs(30),
        || async {
            let d = c
                .describe_statement()
                .id(id)
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
            match d.status() {
                Some(StatusString::Finished | StatusString::Failed | StatusString::Aborted) => {
                    Ok(d)
                }
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

/// An `ExecuteStatement` of `sql` on the local cluster, database and user, for a test to add to and send.
pub fn execute_on_cluster(
    c: &aws_sdk_redshiftdata::Client,
    sql: &str,
) -> aws_sdk_redshiftdata::operation::execute_statement::builders::ExecuteStatementFluentBuilder {
    c.execute_statement()
        .cluster_identifier(CLUSTER)
        .database(DATABASE)
        .db_user(DB_USER)
        .sql(sql)
}

/// Runs one statement on the local cluster to its end; its description (the SDK's error text if refused).
pub async fn run_statement(
    c: &aws_sdk_redshiftdata::Client,
    sql: &str,
) -> Result<aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput, String> {
    let started = execute_on_cluster(c, sql)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    statement_end(c, started.id().unwrap_or_default())
        .await
        .map_err(|e| e.to_string())
}
