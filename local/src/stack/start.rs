//! Starting the stack: the peers, the template deployed on them, and the functions configured from their
//! deployed environment.

use super::poller::queue_arn;
use super::{sdk_config, sdk_config_as, Stack, StackOptions, ROLE};
use crate::deploy::Deployment;
use crate::front::{Front, Handler};
use crate::moto::Moto;
use crate::names::{CLUSTER, DATABASE, DB_USER, REGION};
use crate::postgres::Postgres;
use aws_config::SdkConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tasker_aws::runtime::Function;
use tasker_core::Settings;

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
        let mut parameters: Vec<(&str, String)> = vec![
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
        if options.cdk_template.is_some() {
            // The synthesized template has its parameters' values in it (the app's props).
            parameters.clear();
        }
        let deployment = Deployment::deploy(
            &moto.url(),
            &options.prefix,
            options.cdk_template.as_deref(),
            &parameters,
        )
        .await?;
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
            canceller_settings,
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
            pollers: options.pollers.max(1),
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
}
