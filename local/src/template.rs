//! `infra/sam-template.yaml` read with its intrinsic functions evaluated for one set of parameters, so that a test
//! can compare what would be deployed with what the code does.
//!
//! Only what the template uses is evaluated: `Ref` (parameters, pseudo parameters, resources), `Sub` (both
//! forms), `GetAtt`, `If`, `Equals`, `Not`, `And`, `Or`, `Condition` and `AWS::NoValue`. A resource's `Ref` reads
//! `Ref:<LogicalId>` and a `GetAtt` reads `GetAtt:<LogicalId>.<Attribute>`, so references can be asserted.

use anyhow::{anyhow, bail, Context};
use serde_json::{Map, Value};
use serde_yaml::Value as Yaml;
use std::collections::BTreeMap;

/// Pseudo parameters as the tests deploy: moto's account and region.
pub const ACCOUNT: &str = "123456789012";
/// The region of the offline evaluation.
pub const REGION: &str = "us-east-1";

/// The template with the parameters of one deployment.
#[derive(Debug)]
pub struct Template {
    root: Yaml,
    stack_name: String,
    params: BTreeMap<String, String>,
}

/// What `AWS::NoValue` evaluates to before it is dropped from its parent.
const NO_VALUE: &str = "\u{0}AWS::NoValue";

impl Template {
    /// Reads the template, with `params` over the parameters' defaults; a missing required parameter is an error.
    pub fn load(stack_name: &str, params: &[(&str, &str)]) -> anyhow::Result<Template> {
        let path = crate::workspace_root().join("infra/sam-template.yaml");
        let text = std::fs::read_to_string(&path).with_context(|| format!("{path:?}"))?;
        let root: Yaml = serde_yaml::from_str(&text)?;
        let mut values = BTreeMap::new();
        let declared = root
            .get("Parameters")
            .and_then(Yaml::as_mapping)
            .ok_or_else(|| anyhow!("no Parameters"))?;
        for (name, spec) in declared {
            let name = name.as_str().unwrap_or_default().to_string();
            let given = params
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string());
            let default = spec.get("Default").map(|d| match d {
                Yaml::String(s) => s.clone(),
                other => serde_yaml::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            });
            let value = given
                .or(default)
                .ok_or_else(|| anyhow!("parameter {name} has no default and was not given"))?;
            values.insert(name, value);
        }
        for (k, _) in params {
            if !values.contains_key(*k) {
                bail!("the template has no parameter {k}");
            }
        }
        Ok(Template {
            root,
            stack_name: stack_name.to_string(),
            params: values,
        })
    }

    /// A resource's `Properties`, evaluated.
    pub fn properties(&self, logical_id: &str) -> anyhow::Result<Value> {
        let resource = self.resource(logical_id)?;
        self.eval(resource.get("Properties").unwrap_or(&Yaml::Null))
    }

    /// A resource as written (its `Type`, `Metadata`, `Condition`), not evaluated.
    pub fn resource(&self, logical_id: &str) -> anyhow::Result<&Yaml> {
        self.root
            .get("Resources")
            .and_then(|r| r.get(logical_id))
            .ok_or_else(|| anyhow!("no resource {logical_id}"))
    }

    /// The logical ids of the resources of one type.
    pub fn resources_of_type(&self, type_name: &str) -> Vec<String> {
        self.root
            .get("Resources")
            .and_then(Yaml::as_mapping)
            .map(|m| {
                m.iter()
                    .filter(|(_, r)| r.get("Type").and_then(Yaml::as_str) == Some(type_name))
                    .filter_map(|(k, _)| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A function's environment as Lambda would see it: `Globals` under the function's own variables.
    pub fn environment(&self, function: &str) -> anyhow::Result<BTreeMap<String, String>> {
        let global = self
            .root
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .map(|v| self.eval(v))
            .transpose()?
            .unwrap_or(Value::Null);
        let own = self.properties(function)?["Environment"]["Variables"].clone();
        let mut env = BTreeMap::new();
        for vars in [global, own] {
            for (k, v) in vars.as_object().into_iter().flatten() {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                env.insert(k.clone(), v);
            }
        }
        Ok(env)
    }

    /// Whether a named condition holds for these parameters.
    pub fn condition(&self, name: &str) -> anyhow::Result<bool> {
        let c = self
            .root
            .get("Conditions")
            .and_then(|c| c.get(name))
            .ok_or_else(|| anyhow!("no condition {name}"))?;
        truth(&self.eval(c)?)
    }

    /// Evaluates a piece of the template.
    pub fn eval(&self, v: &Yaml) -> anyhow::Result<Value> {
        Ok(match v {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Number(n) => serde_json::to_value(n)?,
            Yaml::String(s) => Value::String(s.clone()),
            Yaml::Sequence(items) => {
                let mut out = Vec::new();
                for item in items {
                    let e = self.eval(item)?;
                    if e != Value::String(NO_VALUE.into()) {
                        out.push(e);
                    }
                }
                Value::Array(out)
            }
            Yaml::Mapping(m) => {
                if m.len() == 1 {
                    let (k, arg) = m.iter().next().expect("one entry");
                    if let Some(f) = k.as_str().and_then(intrinsic_name) {
                        return self.intrinsic(f, arg);
                    }
                }
                let mut out = Map::new();
                for (k, item) in m {
                    let e = self.eval(item)?;
                    if e != Value::String(NO_VALUE.into()) {
                        out.insert(k.as_str().unwrap_or_default().to_string(), e);
                    }
                }
                Value::Object(out)
            }
            Yaml::Tagged(t) => {
                let tag = t.tag.to_string();
                let f = tag.trim_start_matches('!');
                self.intrinsic(f, &t.value)?
            }
        })
    }

    fn intrinsic(&self, f: &str, arg: &Yaml) -> anyhow::Result<Value> {
        let args = || arg.as_sequence().cloned().unwrap_or_default();
        Ok(match f {
            "Ref" => Value::String(self.reference(arg.as_str().unwrap_or_default())?),
            "GetAtt" => {
                let target = match arg {
                    Yaml::Sequence(parts) => parts
                        .iter()
                        .filter_map(Yaml::as_str)
                        .collect::<Vec<_>>()
                        .join("."),
                    other => other.as_str().unwrap_or_default().to_string(),
                };
                Value::String(format!("GetAtt:{target}"))
            }
            "Sub" => match arg {
                Yaml::String(s) => Value::String(self.substitute(s, &BTreeMap::new())?),
                Yaml::Sequence(parts) => {
                    let text = parts.first().and_then(Yaml::as_str).unwrap_or_default();
                    let mut vars = BTreeMap::new();
                    if let Some(m) = parts.get(1).and_then(Yaml::as_mapping) {
                        for (k, v) in m {
                            let v = self.eval(v)?;
                            vars.insert(
                                k.as_str().unwrap_or_default().to_string(),
                                v.as_str().unwrap_or_default().to_string(),
                            );
                        }
                    }
                    Value::String(self.substitute(text, &vars)?)
                }
                other => bail!("Sub of {other:?}"),
            },
            "If" => {
                let a = args();
                let name = a.first().and_then(Yaml::as_str).unwrap_or_default();
                let branch = if self.condition(name)? { 1 } else { 2 };
                self.eval(
                    a.get(branch)
                        .ok_or_else(|| anyhow!("If without branches"))?,
                )?
            }
            "Equals" => {
                let a = args();
                Value::Bool(self.eval(&a[0])? == self.eval(&a[1])?)
            }
            "Not" => Value::Bool(!truth(&self.eval(&args()[0])?)?),
            "And" => Value::Bool(self.truths(&args())?.into_iter().all(|b| b)),
            "Or" => Value::Bool(self.truths(&args())?.into_iter().any(|b| b)),
            "Condition" => Value::Bool(self.condition(arg.as_str().unwrap_or_default())?),
            other => bail!("intrinsic function {other} is not evaluated by the tests"),
        })
    }

    fn truths(&self, conditions: &[Yaml]) -> anyhow::Result<Vec<bool>> {
        conditions
            .iter()
            .map(|c| self.eval(c).and_then(|v| truth(&v)))
            .collect()
    }

    fn reference(&self, name: &str) -> anyhow::Result<String> {
        Ok(match name {
            "AWS::StackName" => self.stack_name.clone(),
            "AWS::Region" => REGION.into(),
            "AWS::AccountId" => ACCOUNT.into(),
            "AWS::Partition" => "aws".into(),
            "AWS::NoValue" => NO_VALUE.into(),
            _ => match self.params.get(name) {
                Some(v) => v.clone(),
                None => {
                    self.resource(name)?;
                    format!("Ref:{name}")
                }
            },
        })
    }

    fn substitute(&self, text: &str, vars: &BTreeMap<String, String>) -> anyhow::Result<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| anyhow!("unclosed ${{ in {text}"))?;
            let name = &rest[start + 2..start + end];
            let value = match vars.get(name) {
                Some(v) => v.clone(),
                None if name.contains('.') && !name.starts_with("AWS::") => {
                    format!("GetAtt:{name}")
                }
                None => self.reference(name)?,
            };
            out.push_str(&value);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn intrinsic_name(key: &str) -> Option<&str> {
    if key == "Ref" || key == "Condition" {
        Some(key)
    } else {
        key.strip_prefix("Fn::")
    }
}

fn truth(v: &Value) -> anyhow::Result<bool> {
    v.as_bool()
        .ok_or_else(|| anyhow!("a condition evaluated to {v}, not a boolean"))
}
