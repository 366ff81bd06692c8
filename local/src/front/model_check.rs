//! The service models' input constraints, checked on every JSON-protocol request crossing the front before moto or
//! redshift-local sees it, and refused as the service refuses it.
//!
//! The rules are not hand-picked: they are read once, at start-up, from the botocore models that the pinned venv
//! ships (`botocore/data/<service>/<version>/service-2.json[.gz]`), and one generic walk applies them: a
//! structure's `required` members, a string's or blob's `min`/`max` length, an integer's or a double's `min`/`max`
//! value, a string's `enum`, a list's or map's `min`/`max` size, recursively through structures, lists and maps.
//! `X-Amz-Target: <targetPrefix>.<Operation>` names the service (by the model's `targetPrefix`) and the operation.
//!
//! The refusal is the one AWS's request validation answers: HTTP 400, `ValidationException`, and a message in its
//! form (`1 validation error detected: Value at 'taskToken' failed to satisfy constraint: Member must have length
//! less than or equal to 2048`), except that the value is never echoed (tokens, SQL and parameters stay out of
//! answers and logs). SQS, a query-compatible service (`awsQueryCompatible`), answers its query-era codes instead:
//! `MissingParameter` for a missing member and `InvalidParameterValue` for the rest (SQS API reference, Common
//! Errors). `pattern` is not checked (Java regular expressions), nor are types (AWS answers
//! `SerializationException`; the peers refuse those themselves).

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The botocore services whose models the front checks: every JSON-protocol service it forwards.
pub const SERVICES: &[&str] = &[
    "dynamodb",
    "sqs",
    "events",
    "kms",
    "stepfunctions",
    "redshift-data",
];

/// One service's model: its shapes, its operations' input shapes, and how it names a validation failure.
#[derive(Debug, Clone)]
pub struct ServiceModel {
    shapes: Map<String, Value>,
    /// Operation name to its input shape's name.
    inputs: HashMap<String, String>,
    query_compatible: bool,
}

/// The models of the checked services, by `targetPrefix` (`AWSStepFunctions`, `RedshiftData`, ...).
#[derive(Debug, Clone, Default)]
pub struct Models {
    services: HashMap<String, ServiceModel>,
}

/// A request the model refuses: what the front answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The error code (`ValidationException`, or SQS's `MissingParameter` / `InvalidParameterValue`).
    pub code: String,
    /// The message, in AWS's form, without the values.
    pub message: String,
    /// The service is query-compatible (SQS): its answer also carries `x-amzn-query-error`.
    pub query_compatible: bool,
}

impl ServiceModel {
    /// A model from the parsed `service-2.json`.
    pub fn from_json(model: &Value) -> anyhow::Result<ServiceModel> {
        let shapes = model["shapes"]
            .as_object()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("a model without shapes"))?;
        let inputs = model["operations"]
            .as_object()
            .ok_or_else(|| anyhow::anyhow!("a model without operations"))?
            .iter()
            .filter_map(|(name, op)| {
                Some((name.clone(), op["input"]["shape"].as_str()?.to_string()))
            })
            .collect();
        Ok(ServiceModel {
            shapes,
            inputs,
            query_compatible: model["metadata"].get("awsQueryCompatible").is_some(),
        })
    }

    /// The constraint violations of `operation`'s input `body`, as AWS phrases them (member paths, no values);
    /// empty when it passes or the operation is unknown.
    pub fn violations(&self, operation: &str, body: &Value) -> Vec<Violation> {
        let mut found = Vec::new();
        if let Some(input) = self.inputs.get(operation) {
            self.walk(input, body, "", &mut found);
        }
        found
    }

    /// The refusal of `operation`'s input `body`, if the model refuses it.
    pub fn check(&self, operation: &str, body: &Value) -> Option<Refusal> {
        let found = self.violations(operation, body);
        if found.is_empty() {
            return None;
        }
        let code = match (self.query_compatible, found.iter().all(|v| v.missing)) {
            (false, _) => "ValidationException",
            (true, true) => "MissingParameter",
            (true, false) => "InvalidParameterValue",
        };
        let n = found.len();
        let what: Vec<String> = found.iter().map(Violation::to_string).collect();
        let message = format!(
            "{n} validation error{} detected: {}",
            if n == 1 { "" } else { "s" },
            what.join("; ")
        );
        Some(Refusal {
            code: code.to_string(),
            message,
            query_compatible: self.query_compatible,
        })
    }

    fn walk(&self, shape_name: &str, value: &Value, path: &str, found: &mut Vec<Violation>) {
        let Some(shape) = self.shapes.get(shape_name) else {
            return;
        };
        let bound = |key: &str| shape.get(key).and_then(Value::as_f64);
        let (min, max) = (bound("min"), bound("max"));
        // The node's own broken constraints first, then its members'.
        let mut broken = Vec::new();
        match (shape["type"].as_str().unwrap_or_default(), value) {
            ("string", Value::String(s)) => {
                length(s.chars().count() as f64, min, max, &mut broken);
                if let Some(allowed) = shape["enum"].as_array() {
                    if !allowed.iter().any(|a| a.as_str() == Some(s)) {
                        let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                        broken.push(format!(
                            "Member must satisfy enum value set: [{}]",
                            names.join(", ")
                        ));
                    }
                }
            }
            ("blob", Value::String(s)) => {
                // Base64 on the wire: the limits bound the decoded bytes.
                let padding = s.bytes().rev().take_while(|b| *b == b'=').count();
                let len = (s.len() / 4 * 3).saturating_sub(padding) as f64;
                length(len, min, max, &mut broken);
            }
            ("integer" | "long" | "double" | "float", Value::Number(n)) => {
                let n = n.as_f64().unwrap_or_default();
                if let Some(min) = min.filter(|m| n < *m) {
                    broken.push(format!(
                        "Member must have value greater than or equal to {}",
                        number(min)
                    ));
                }
                if let Some(max) = max.filter(|m| n > *m) {
                    broken.push(format!(
                        "Member must have value less than or equal to {}",
                        number(max)
                    ));
                }
            }
            ("list", Value::Array(items)) => length(items.len() as f64, min, max, &mut broken),
            ("map", Value::Object(entries)) => length(entries.len() as f64, min, max, &mut broken),
            _ => {}
        }
        found.extend(broken.into_iter().map(|constraint| Violation {
            path: path.to_string(),
            constraint,
            missing: false,
        }));
        match (shape["type"].as_str().unwrap_or_default(), value) {
            ("structure", Value::Object(members)) => {
                for required in shape["required"].as_array().into_iter().flatten() {
                    let Some(name) = required.as_str() else {
                        continue;
                    };
                    if members.get(name).is_none_or(Value::is_null) {
                        found.push(Violation {
                            path: join(path, name),
                            constraint: "Member must not be null".into(),
                            missing: true,
                        });
                    }
                }
                for (name, member) in shape["members"].as_object().into_iter().flatten() {
                    let (Some(v), Some(target)) = (members.get(name), member["shape"].as_str())
                    else {
                        continue;
                    };
                    if !v.is_null() {
                        self.walk(target, v, &join(path, name), found);
                    }
                }
            }
            ("list", Value::Array(items)) => {
                if let Some(member) = shape["member"]["shape"].as_str() {
                    for (i, item) in items.iter().enumerate() {
                        self.walk(member, item, &format!("{path}.{}.member", i + 1), found);
                    }
                }
            }
            ("map", Value::Object(entries)) => {
                let key = shape["key"]["shape"].as_str();
                let value = shape["value"]["shape"].as_str();
                for (k, v) in entries {
                    if let Some(key) = key {
                        self.walk(
                            key,
                            &Value::String(k.clone()),
                            &format!("{path}.key"),
                            found,
                        );
                    }
                    if let Some(value) = value {
                        self.walk(value, v, &format!("{path}.{k}.member"), found);
                    }
                }
            }
            // A value of another type: the service's deserialiser refuses it (not checked here).
            _ => {}
        }
    }
}

fn length(len: f64, min: Option<f64>, max: Option<f64>, broken: &mut Vec<String>) {
    if let Some(min) = min.filter(|m| len < *m) {
        broken.push(format!(
            "Member must have length greater than or equal to {}",
            number(min)
        ));
    }
    if let Some(max) = max.filter(|m| len > *m) {
        broken.push(format!(
            "Member must have length less than or equal to {}",
            number(max)
        ));
    }
}

/// A bound as AWS prints it: `30`, not `30.0`.
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// A member path as AWS's validation names it: the member name with its first letter in lower case.
fn join(path: &str, member: &str) -> String {
    let mut chars = member.chars();
    let lowered: String = chars
        .next()
        .map(|c| c.to_ascii_lowercase())
        .into_iter()
        .chain(chars)
        .collect();
    match path {
        "" => lowered,
        _ => format!("{path}.{lowered}"),
    }
}

/// One broken constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The member's path (`taskToken`, `sqls.2.member`).
    pub path: String,
    /// What it fails, in AWS's words (`Member must have length less than or equal to 2048`).
    pub constraint: String,
    /// A required member is absent.
    pub missing: bool,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.missing { "Value null" } else { "Value" };
        write!(
            f,
            "{value} at '{}' failed to satisfy constraint: {}",
            self.path, self.constraint
        )
    }
}

impl Models {
    /// The models of [`SERVICES`] as the venv's botocore ships them (the newest version of each).
    pub fn load(venv: &Path) -> anyhow::Result<Models> {
        let data = botocore_data(venv)?;
        let mut models = Models::default();
        for service in SERVICES {
            let model = read_model(&data.join(service))?;
            let prefix = model["metadata"]["targetPrefix"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("{service}: no targetPrefix"))?
                .to_string();
            models
                .services
                .insert(prefix, ServiceModel::from_json(&model)?);
        }
        Ok(models)
    }

    /// The models of the venv (`crate::venv()`), read once per process.
    pub fn shared() -> anyhow::Result<Arc<Models>> {
        static MODELS: OnceLock<Result<Arc<Models>, String>> = OnceLock::new();
        MODELS
            .get_or_init(|| {
                Models::load(&crate::venv())
                    .map(Arc::new)
                    .map_err(|e| format!("{e:#}"))
            })
            .clone()
            .map_err(|e| anyhow::anyhow!("reading the botocore models: {e}"))
    }

    /// Adds a service's model under its `targetPrefix` (tests build small ones).
    pub fn insert(&mut self, target_prefix: &str, model: ServiceModel) {
        self.services.insert(target_prefix.to_string(), model);
    }

    /// The refusal of a request with `X-Amz-Target: target` and JSON `body`, if its model refuses it.
    pub fn check(&self, target: &str, body: &Value) -> Option<Refusal> {
        let (prefix, operation) = target.split_once('.')?;
        self.services.get(prefix)?.check(operation, body)
    }
}

/// `lib/python3.*/site-packages/botocore/data` in the venv.
fn botocore_data(venv: &Path) -> anyhow::Result<PathBuf> {
    let lib = venv.join("lib");
    for entry in std::fs::read_dir(&lib)
        .map_err(|e| anyhow::anyhow!("{}: {e}", lib.display()))?
        .flatten()
    {
        let data = entry.path().join("site-packages/botocore/data");
        if data.is_dir() {
            return Ok(data);
        }
    }
    anyhow::bail!("no botocore in {}", lib.display())
}

/// The newest `<version>/service-2.json[.gz]` of a service directory, parsed.
fn read_model(service_dir: &Path) -> anyhow::Result<Value> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir(service_dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", service_dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("service-2.json").exists() || p.join("service-2.json.gz").exists())
        .collect();
    versions.sort();
    let newest = versions
        .pop()
        .ok_or_else(|| anyhow::anyhow!("{}: no service-2.json", service_dir.display()))?;
    let plain = newest.join("service-2.json");
    let text = if plain.exists() {
        std::fs::read_to_string(&plain)?
    } else {
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(newest.join("service-2.json.gz"))?)
            .read_to_string(&mut text)?;
        text
    };
    Ok(serde_json::from_str(&text)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model(query_compatible: bool) -> ServiceModel {
        let mut metadata = json!({"targetPrefix": "Small"});
        if query_compatible {
            metadata["awsQueryCompatible"] = json!({});
        }
        ServiceModel::from_json(&json!({
            "metadata": metadata,
            "operations": {"Put": {"input": {"shape": "PutInput"}}},
            "shapes": {
                "PutInput": {"type": "structure", "required": ["Token", "Items"], "members": {
                    "Token": {"shape": "Token"}, "Wait": {"shape": "Wait"}, "Mode": {"shape": "Mode"},
                    "Items": {"shape": "Items"}, "Tags": {"shape": "Tags"}, "Data": {"shape": "Data"}}},
                "Token": {"type": "string", "min": 1, "max": 8},
                "Wait": {"type": "integer", "box": true, "min": 1, "max": 30},
                "Mode": {"type": "string", "enum": ["FAST", "SLOW"]},
                "Items": {"type": "list", "member": {"shape": "Item"}, "min": 1, "max": 2},
                "Item": {"type": "structure", "required": ["Name"], "members": {"Name": {"shape": "Token"}}},
                "Tags": {"type": "map", "key": {"shape": "Token"}, "value": {"shape": "Token"}, "max": 1},
                "Data": {"type": "blob", "max": 3}
            }
        }))
        .unwrap()
    }

    fn violations(body: Value) -> Vec<String> {
        model(false)
            .violations("Put", &body)
            .iter()
            .map(Violation::to_string)
            .collect()
    }

    #[test]
    fn a_request_within_the_model_passes() {
        let body = json!({"Token": "abc", "Wait": 30, "Mode": "FAST", "Items": [{"Name": "x"}],
                          "Tags": {"k": "v"}, "Data": "AAAA", "Unknown": "ignored"});
        assert_eq!(violations(body), Vec::<String>::new());
        assert_eq!(model(false).check("Other", &json!({})), None);
    }

    #[test]
    fn required_members_lengths_ranges_enums_and_sizes_are_refused_with_the_member_path() {
        let body = json!({"Token": "123456789", "Wait": 31, "Mode": "MEDIUM",
                          "Items": [{"Name": ""}, {}, {"Name": "z"}], "Tags": {"a": "1", "b": "2"}, "Data": "AAAAAA=="});
        assert_eq!(
            violations(body),
            [
                "Value at 'data' failed to satisfy constraint: Member must have length less than or equal to 3",
                "Value at 'items' failed to satisfy constraint: Member must have length less than or equal to 2",
                "Value at 'items.1.member.name' failed to satisfy constraint: Member must have length greater than or equal to 1",
                "Value null at 'items.2.member.name' failed to satisfy constraint: Member must not be null",
                "Value at 'mode' failed to satisfy constraint: Member must satisfy enum value set: [FAST, SLOW]",
                "Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 1",
                "Value at 'token' failed to satisfy constraint: Member must have length less than or equal to 8",
                "Value at 'wait' failed to satisfy constraint: Member must have value less than or equal to 30",
            ]
        );
    }

    #[test]
    fn the_refusal_is_a_validation_exception_counting_its_errors() {
        let refusal = model(false)
            .check("Put", &json!({"Items": [], "Wait": 0}))
            .unwrap();
        assert_eq!(refusal.code, "ValidationException");
        assert_eq!(
            refusal.message,
            "3 validation errors detected: Value null at 'token' failed to satisfy constraint: Member must not be null; \
             Value at 'items' failed to satisfy constraint: Member must have length greater than or equal to 1; \
             Value at 'wait' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
    }

    #[test]
    fn a_query_compatible_service_answers_its_query_codes() {
        let missing = model(true).check("Put", &json!({"Items": [{"Name": "a"}]}));
        assert_eq!(missing.unwrap().code, "MissingParameter");
        let invalid = model(true).check("Put", &json!({"Token": "a", "Items": [], "Wait": 99}));
        assert_eq!(invalid.unwrap().code, "InvalidParameterValue");
    }

    #[test]
    fn models_are_found_by_target_prefix() {
        let mut models = Models::default();
        models.insert("Small", model(false));
        assert!(models.check("Small.Put", &json!({})).is_some());
        assert!(models.check("Other.Put", &json!({})).is_none());
        assert!(models.check("Small", &json!({})).is_none());
    }

    #[test]
    fn the_venv_models_bound_the_callbacks_and_the_data_api_as_aws_does() {
        let Ok(models) = Models::load(&crate::venv()) else {
            panic!("the venv's botocore models (scripts/setup.sh)");
        };
        let refused = |target: &str, body: Value| models.check(target, &body).map(|r| r.message);
        let token = "t".repeat(2049);
        assert!(refused(
            "AWSStepFunctions.SendTaskSuccess",
            json!({"taskToken": token, "output": "{}"})
        )
        .unwrap()
        .ends_with("Value at 'taskToken' failed to satisfy constraint: Member must have length less than or equal to 2048"));
        let failure = refused(
            "AWSStepFunctions.SendTaskFailure",
            json!({"taskToken": "t", "error": "e".repeat(257), "cause": "c".repeat(32769)}),
        )
        .unwrap();
        assert!(
            failure.starts_with("2 validation errors detected: "),
            "{failure}"
        );
        assert!(failure.contains("Value at 'cause' failed to satisfy constraint: Member must have length less than or equal to 32768"));
        assert!(failure.contains("Value at 'error' failed to satisfy constraint: Member must have length less than or equal to 256"));
        assert_eq!(
            refused(
                "AWSStepFunctions.SendTaskFailure",
                json!({"taskToken": "t", "error": "e".repeat(256), "cause": "c".repeat(32768)})
            ),
            None
        );
        assert_eq!(
            refused(
                "AWSStepFunctions.SendTaskSuccess",
                json!({"taskToken": "t", "output": "o".repeat(262_144)})
            ),
            None
        );
        assert!(refused(
            "RedshiftData.ExecuteStatement",
            json!({"Sql": "select 1", "WaitTimeSeconds": 31})
        )
        .unwrap()
        .contains("'waitTimeSeconds'"));
        let sqs = models.check("AmazonSQS.ReceiveMessage", &json!({}));
        assert_eq!(sqs.unwrap().code, "MissingParameter");
    }
}
