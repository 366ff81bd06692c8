"""Deploy infra/sam-template.yaml itself onto a moto server's CloudFormation, as `sam deploy` would.

Why it exists: the local stack used to declare the template's resources a second time by hand (the key, the table
and its indexes, the queues and their redrive, the completion rule and its target), so the tests could pass while
the template drifted. This script deploys the template instead: it translates the SAM transform offline with
samtranslator (the library `sam` uses), "packages" it as `sam package` does (every function's code becomes an
object in moto's S3: a placeholder zip holding a `bootstrap`), creates the stack on moto and waits for it.

Run it with the interpreter that has samtranslator (`.venv-infra/bin/python`); boto3 is all the deploy needs:

    .venv-infra/bin/python local/deploy_template.py --endpoint http://127.0.0.1:PORT --stack-name tasker-test \
        --template infra/sam-template.yaml --parameter ClusterIdentifier=local-cluster --parameter Database=dev \
        --parameter DbUser=etl --parameter StatementPrefix=tasker-test --parameter DeployExampleStateMachine=true

A template synthesized by the CDK (`cdk synth` of cdk/example: the SfnRedshiftTasker construct includes this same
template, its parameters given as props) is deployed the same way with `--cdk-assembly cdk/cdk.out`: first what
`cdk bootstrap` and `cdk deploy`'s asset publishing would have done on AWS (the assets bucket, the bootstrap
version parameter, every file asset zipped and uploaded where the template's CodeUri points), then the same
validation, transform and bridges.

It prints ONE JSON document on stdout: `{"status", "outputs": {OutputKey: OutputValue}, "resources": {LogicalId:
{"type", "physicalId"}}, "absent": {LogicalId: type}, "seconds": {phase: seconds}}` ("absent": the template's
resources the stack lacks, skipped by moto or false by their Condition). Exit status: 0 on CREATE_COMPLETE; 1 when
the stack failed (the reasons on stderr); 2 when the parameters break the template's own constraints (checked
here, as CloudFormation would: moto does not). No call leaves the endpoint: the managed-policy lookup is offline
(samtranslator's bundled map, then an empty fallback) and the credentials are moto's dummies.

Moto 5.2.5's CloudFormation differs from AWS's where this template meets it; each difference is bridged by one
function of `moto_bridges` that says why (the template file itself is never changed):

* state machines: moto reads `DefinitionString` only (not `DefinitionS3Location`, what `sam package` makes of a
  local `DefinitionUri`, nor `DefinitionSubstitutions`), and puts the machine in a backend the Step Functions API
  does not serve when it executes state machines. The definition is inlined, its substitutions folded in, and the
  machine created through the API under the stack's physical id.
* KMS keys: a KeyPolicy object is passed as JSON text (moto keeps the object and DescribeKey then fails).
* SQS event source mappings: created disabled (moto would run them itself, consuming every message).
* schedule rules: given a pattern no event has (moto hands every event to a rule without pattern, and fails
  PutEvents on its Lambda target).
* Lambda environments: values made text (moto resolves a Number parameter to a number).
* `Fn::GetAtt` in its string form ("Resource.Attribute", which a CDK-synthesized template keeps): made a list.
* alarms and queue policies, which moto's CloudFormation skips: made through the CloudWatch and SQS APIs from the
  properties the stack resolved, listed with `"via": "api"`.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import re
import sys
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

Template = dict[str, Any]

PLACEHOLDER_BUCKET = "sfn-redshift-tasker-local-artifacts"
PLACEHOLDER_KEY = "placeholder/bootstrap.zip"
TERMINAL_SUFFIXES = ("_COMPLETE", "_FAILED")
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
BRIDGE_OUTPUT_PREFIX = "MotoBridge"
SCHEDULE_ONLY_SOURCE = "sfn-redshift-tasker.local.schedule-only"
MOTO_ACCOUNT = "123456789012"


# ---------------------------------------------------------------------------------------------------- arguments


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True, help="the moto server, http://127.0.0.1:PORT")
    p.add_argument("--stack-name", required=True)
    p.add_argument("--template", type=Path, default=Path("infra/sam-template.yaml"))
    p.add_argument("--parameter", action="append", default=[], metavar="Key=Value", help="repeatable")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for a terminal status")
    p.add_argument("--translated-out", type=Path, help="also write the translated template here (debugging)")
    p.add_argument(
        "--cdk-assembly",
        type=Path,
        help="the cloud assembly (cdk.out) the template is from: its assets are published to moto's S3 first",
    )
    return p.parse_args(argv)


def parse_parameters(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--parameter {pair!r}: expected Key=Value")
        params[key] = value
    return params


# ---------------------------------------------------------------------------------------------------- validation
# Moto's CreateStack checks only that each parameter without a default is given: it ignores AllowedValues,
# AllowedPattern, MinValue/MaxValue, MinLength/MaxLength, unknown parameter names and the template's Rules. These
# are CloudFormation's checks, made here before anything is created, so a test cannot deploy what AWS would refuse.


class InvalidParameters(ValueError):
    """Parameters CloudFormation would refuse."""


def parameter_values(
    template: Template, given: dict[str, str], ssm: Callable[[str], str] | None = None
) -> dict[str, str]:
    """Every parameter's value: given or default (an `AWS::SSM::Parameter::Value` parameter's is the SSM
    parameter's value, through `ssm`). Unknown and missing parameters are errors."""
    declared: Template = template.get("Parameters", {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise InvalidParameters(f"Parameters: {unknown} do not exist in the template")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given:
            values[name] = given[name]
        elif "Default" in spec:
            values[name] = str(spec["Default"])
        else:
            raise InvalidParameters(f"Parameters: [{name}] must have values")
        if ssm is not None and str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
            values[name] = ssm(values[name])
    return values


def parameter_errors(name: str, spec: Template, value: str) -> list[str]:
    errors: list[str] = []
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(v) for v in allowed]:
        errors.append(f"{name}={value!r} is not one of {allowed}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(pattern, value) is None:
        errors.append(f"{name}={value!r} does not match {pattern}")
    if spec.get("Type") == "Number":
        errors += number_errors(name, spec, value)
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        errors.append(f"{name}={value!r} is shorter than {spec['MinLength']}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        errors.append(f"{name}={value!r} is longer than {spec['MaxLength']}")
    return errors


def number_errors(name: str, spec: Template, value: str) -> list[str]:
    try:
        number = float(value)
    except ValueError:
        return [f"{name}={value!r} is not a number"]
    if "MinValue" in spec and number < float(spec["MinValue"]):
        return [f"{name}={value} is below MinValue {spec['MinValue']}"]
    if "MaxValue" in spec and number > float(spec["MaxValue"]):
        return [f"{name}={value} is above MaxValue {spec['MaxValue']}"]
    return []


def rule_value(expr: Any, values: dict[str, str]) -> Any:
    """A rule's expression (the condition functions and Ref) evaluated over the parameter values."""
    if not isinstance(expr, dict):
        return expr
    (fn, arg), = expr.items()
    evaluate: dict[str, Callable[[Any], Any]] = {
        "Ref": lambda a: values[a],
        "Fn::Equals": lambda a: str(rule_value(a[0], values)) == str(rule_value(a[1], values)),
        "Fn::Not": lambda a: not rule_value(a[0], values),
        "Fn::And": lambda a: all(rule_value(x, values) for x in a),
        "Fn::Or": lambda a: any(rule_value(x, values) for x in a),
        "Fn::Contains": lambda a: rule_value(a[1], values) in [rule_value(x, values) for x in a[0]],
    }
    if fn not in evaluate:
        raise ValueError(f"rule function {fn} is not supported here")
    return evaluate[fn](arg)


def rule_errors(template: Template, values: dict[str, str]) -> list[str]:
    errors: list[str] = []
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not rule_value(rule["RuleCondition"], values):
            continue
        for assertion in rule.get("Assertions", []):
            if not rule_value(assertion["Assert"], values):
                errors.append(f"rule {name}: {assertion.get('AssertDescription', 'assertion failed')}")
    return errors


def validate_parameters(
    template: Template, given: dict[str, str], stack_name: str, region: str, ssm: Callable[[str], str] | None = None
) -> None:
    """CloudFormation's parameter and Rules checks; InvalidParameters names every violation."""
    values = parameter_values(template, given, ssm)
    errors = [e for name, spec in template.get("Parameters", {}).items() for e in parameter_errors(name, spec, values[name])]
    pseudo = {"AWS::StackName": stack_name, "AWS::Region": region, "AWS::AccountId": MOTO_ACCOUNT}
    errors += rule_errors(template, {**values, **pseudo})
    if errors:
        raise InvalidParameters("; ".join(errors))


# ---------------------------------------------------------------------------------------------------- packaging


def load_sam_template(path: Path) -> Template:
    """The template with its short-form intrinsics (`!Ref`, `!Sub`...) in long form, as samtranslator reads it."""
    from samtranslator.yaml_helper import yaml_parse

    template: Template = yaml_parse(path.read_text())
    return template


def resources_of_type(template: Template, resource_type: str) -> dict[str, Template]:
    return {k: r for k, r in template.get("Resources", {}).items() if r.get("Type") == resource_type}


def is_local_path(uri: Any) -> bool:
    """A CodeUri that `sam package` would upload: a path, not an S3 location (an `s3://` URI or a
    `{Bucket, Key}` map, which a CDK-synthesized template has: its assets are published before the deploy)."""
    return isinstance(uri, str) and not uri.startswith("s3://")


def package(template: Template, template_dir: Path, code_uri: str) -> Template:
    """What `sam package` does to the template, minus the uploads moto cannot use: every function whose code is a
    local path gets `code_uri`, and a local DefinitionUri is inlined as `Definition` (moto ignores
    DefinitionS3Location)."""
    packaged = copy.deepcopy(template)
    globals_function = packaged.get("Globals", {}).get("Function", {})
    if is_local_path(globals_function.get("CodeUri")):
        globals_function["CodeUri"] = code_uri
    for function in resources_of_type(packaged, "AWS::Serverless::Function").values():
        props = function.setdefault("Properties", {})
        if is_local_path(props.get("CodeUri")) or ("CodeUri" not in props and "CodeUri" not in globals_function):
            props["CodeUri"] = code_uri
    for machine in resources_of_type(packaged, "AWS::Serverless::StateMachine").values():
        props = machine.get("Properties", {})
        uri = props.get("DefinitionUri")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            props["Definition"] = json.loads((template_dir / uri).read_text())
            del props["DefinitionUri"]
    return packaged


def translate(template: Template, params: dict[str, str], region: str) -> Template:
    """The SAM transform, offline. samtranslator resolves a managed policy name from the caller's map, then from
    its bundled map, and only then from `get_managed_policy_map` (IAM ListPolicies in `sam validate`); an empty
    fallback keeps it from calling AWS (the template names no managed policy anyway)."""
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    translator = Translator(
        managed_policy_map={},
        sam_parser=Parser(),
        boto_session=boto3.Session(region_name=region),
    )
    try:
        translated: Template = translator.translate(
            sam_template=template,
            parameter_values=dict(params),
            get_managed_policy_map=lambda: {},
        )
        translator.metrics.publish()  # a no-op publisher; unpublished metrics are a warning on stderr
        return translated
    except InvalidDocumentException as e:
        causes = "; ".join(str(c) for c in e.causes)
        raise SystemExit(f"the SAM transform refused the template: {e} {causes}") from e


# ---------------------------------------------------------------------------------------------------- moto bridges


def split_on_placeholders(text: str, substitutions: dict[str, Any]) -> list[Any]:
    """`text` as a list of literal pieces and substitution values, `${Key}` replaced for the given keys only."""
    parts: list[Any] = []
    rest = text
    while True:
        hits = [(rest.find("${" + k + "}"), k) for k in substitutions if "${" + k + "}" in rest]
        if not hits:
            break
        at, key = min(hits)
        parts.append(rest[:at])
        parts.append(substitutions[key])
        rest = rest[at + len(key) + 3 :]
    parts.append(rest)
    return [p for p in parts if p != ""]


def fold_definition_substitutions(template: Template) -> None:
    """Moto creates a state machine from `DefinitionString` alone; apply `DefinitionSubstitutions` into it."""
    for machine in resources_of_type(template, "AWS::StepFunctions::StateMachine").values():
        props = machine.get("Properties", {})
        substitutions = props.pop("DefinitionSubstitutions", None)
        if not substitutions:
            continue
        definition = props.get("DefinitionString")
        if isinstance(definition, dict) and "Fn::Join" in definition:
            sep, pieces = definition["Fn::Join"]
            definition = sep.join(pieces) if all(isinstance(p, str) for p in pieces) else None
        if not isinstance(definition, str):
            raise SystemExit("a state machine's DefinitionString is not literal: cannot apply its substitutions")
        props["DefinitionString"] = {"Fn::Join": ["", split_on_placeholders(definition, substitutions)]}


def key_policies_as_json_text(template: Template) -> None:
    """Moto keeps a KeyPolicy object as a dict where its KMS API expects JSON text (DescribeKey then fails with a
    500, TypeError in moto.kms.policy_validator); CloudFormation accepts the policy as JSON text too."""
    for key in resources_of_type(template, "AWS::KMS::Key").values():
        props = key.get("Properties", {})
        if isinstance(props.get("KeyPolicy"), dict):
            props["KeyPolicy"] = {"Fn::ToJsonString": props["KeyPolicy"]}


def disable_event_source_mappings(template: Template) -> None:
    """Moto runs an enabled SQS event source mapping itself: each SendMessage to the queue (EventBridge's too)
    invokes moto's stand-in of the function and deletes the message, so nothing reaches the local poller that plays
    Lambda's poller. Disabled, the mapping still exists with its settings (batch size, response types) to read."""
    for mapping in resources_of_type(template, "AWS::Lambda::EventSourceMapping").values():
        mapping.setdefault("Properties", {})["Enabled"] = False


def schedule_rules_receive_no_events(template: Template) -> None:
    """Moto hands every PutEvents event to every rule of the bus whose pattern matches, and a rule without a
    pattern (a schedule rule) matches all; its Lambda target then makes PutEvents fail with a 500
    (NotImplementedError in moto.events.models.Rule.send_to_targets), for every event of every stack on that
    server. In AWS a schedule rule gets no bus events: a pattern no event has gives moto the same behaviour."""
    for rule in resources_of_type(template, "AWS::Events::Rule").values():
        props = rule.get("Properties", {})
        if "ScheduleExpression" in props and "EventPattern" not in props:
            props["EventPattern"] = {"source": [SCHEDULE_ONLY_SOURCE]}


def export_state_machines(template: Template) -> None:
    """Moto's CloudFormation creates a state machine in its plain Step Functions backend, which the API does not
    serve once `execute_state_machine` is on (moto.stepfunctions.responses.get_backend), so describe and start
    fail with StateMachineDoesNotExist. Each machine's definition and role (resolved by moto's CloudFormation)
    are exported as outputs, from which `materialise_state_machines` creates it through the API."""
    outputs = template.setdefault("Outputs", {})
    for logical_id, machine in resources_of_type(template, "AWS::StepFunctions::StateMachine").items():
        props = machine.get("Properties", {})
        for attribute in ("DefinitionString", "RoleArn"):
            output: Template = {"Value": props.get(attribute, "")}
            if "Condition" in machine:
                output["Condition"] = machine["Condition"]
            outputs[f"{BRIDGE_OUTPUT_PREFIX}{logical_id}{attribute}"] = output


def environment_values_as_text(template: Template) -> None:
    """Moto resolves a Ref to a Number parameter as a number, and a function's environment then holds numbers
    (GetFunction answers `"RECORD_TTL_DAYS": 7`, which an SDK expecting a map of strings refuses); CloudFormation
    gives the Lambda API strings. `Fn::Join` of the one value is moto's way to a string."""
    for function in resources_of_type(template, "AWS::Lambda::Function").values():
        variables = function.get("Properties", {}).get("Environment", {}).get("Variables", {})
        for name, value in variables.items():
            if not isinstance(value, str):
                variables[name] = {"Fn::Join": ["", [value]]}


def export_api_made_resources(template: Template) -> None:
    """Moto's CloudFormation skips AWS::CloudWatch::Alarm and AWS::SQS::QueuePolicy (a warning in its log, a blank
    row in ListStackResources), though its CloudWatch and SQS APIs have them. Each one's properties, resolved by
    moto's CloudFormation, are exported as JSON text; `make_api_resources` makes them through the API."""
    outputs = template.setdefault("Outputs", {})
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") not in API_MADE_TYPES:
            continue
        output: Template = {"Value": {"Fn::ToJsonString": resource.get("Properties", {})}}
        if "Condition" in resource:
            output["Condition"] = resource["Condition"]
        outputs[f"{BRIDGE_OUTPUT_PREFIX}{logical_id}Properties"] = output


def getatt_strings_as_lists(node: Any) -> Any:
    """CloudFormation takes `Fn::GetAtt` as `"Resource.Attribute"` as well as a list, in JSON too (aws/aws-cdk
    pull request 10546, which makes CfnInclude keep the string form: a CDK-synthesized template has it), but moto's
    output validation indexes it as a list (moto.cloudformation.parsing.ResourceMap.validate_outputs, a TypeError
    and a 500). The string form becomes the list form, split at the first dot."""
    if isinstance(node, list):
        return [getatt_strings_as_lists(item) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::GetAtt"} and isinstance(node["Fn::GetAtt"], str):
        resource, _, attribute = node["Fn::GetAtt"].partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {key: getatt_strings_as_lists(value) for key, value in node.items()}


def moto_bridges(template: Template) -> Template:
    """The translated template, changed only where moto's CloudFormation would otherwise get it wrong."""
    bridged = getatt_strings_as_lists(copy.deepcopy(template))
    fold_definition_substitutions(bridged)
    key_policies_as_json_text(bridged)
    disable_event_source_mappings(bridged)
    schedule_rules_receive_no_events(bridged)
    export_state_machines(bridged)
    environment_values_as_text(bridged)
    export_api_made_resources(bridged)
    return bridged


# ---------------------------------------------------------------------------------------------------- CDK assets
# A `cdk synth` output names its assets' S3 locations (DefaultStackSynthesizer: a bucket of the bootstrap stack,
# a key per asset hash) and, in `<stack>.assets.json`, where each comes from: `cdk deploy` publishes them first
# (cloud-assembly-schema, "assets.json": files with `packaging: zip` are directories zipped, `file` uploaded as
# is). The bootstrap stack's parts the template refers to are made the way `cdk bootstrap` would leave them.


def stack_artifact(assembly: Path, template: Path) -> tuple[Template, list[Path]]:
    """The assembly's stack artifact whose template is `template` (manifest.json), and its asset manifests (the
    `cdk:asset-manifest` artifacts it depends on)."""
    artifacts = json.loads((assembly / "manifest.json").read_text()).get("artifacts", {})
    for artifact in artifacts.values():
        props = artifact.get("properties", {})
        if artifact.get("type") == "aws:cloudformation:stack" and props.get("templateFile") == template.name:
            dependencies = [artifacts.get(d, {}) for d in artifact.get("dependencies", [])]
            manifests = [
                assembly / d["properties"]["file"] for d in dependencies if d.get("type") == "cdk:asset-manifest"
            ]
            return dict(artifact), manifests
    raise SystemExit(f"{assembly}/manifest.json has no stack with template {template.name}")


def zip_directory(directory: Path) -> bytes:
    """A directory as cdk-assets zips it: every file at its relative path, its mode kept (a `bootstrap` must stay
    executable: Lambda runs it as is)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(directory)))
            info.external_attr = (path.stat().st_mode & 0o777) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())
    return buffer.getvalue()


def placeholders(text: str, region: str) -> str:
    """The `${AWS::AccountId}`/`${AWS::Region}` of an asset destination, as cdk-assets fills them."""
    return text.replace("${AWS::AccountId}", MOTO_ACCOUNT).replace("${AWS::Region}", region)


def publish_cdk_assets(args: argparse.Namespace) -> list[str]:
    """Bootstraps moto as `cdk bootstrap` would for this stack and uploads its file assets; their s3:// URIs."""
    artifact, manifests = stack_artifact(args.cdk_assembly, args.template)
    props = artifact["properties"]
    ssm_parameter = props.get("bootstrapStackVersionSsmParameter")
    if ssm_parameter:
        # The oldest bootstrap version the stack accepts (its CheckBootstrapVersion rule refuses older ones).
        version = str(props.get("requiresBootstrapStackVersion", 6))
        client("ssm", args.endpoint, args.region).put_parameter(
            Name=ssm_parameter, Value=version, Type="String", Overwrite=True
        )
    s3 = client("s3", args.endpoint, args.region)
    published: list[str] = []
    for manifest_path in manifests:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("dockerImages"):
            raise SystemExit(f"{manifest_path}: container image assets are not supported here")
        for asset in manifest.get("files", {}).values():
            source = args.cdk_assembly / asset["source"]["path"]
            packaging = asset["source"].get("packaging", "file")
            body = zip_directory(source) if packaging == "zip" else source.read_bytes()
            for destination in asset["destinations"].values():
                bucket = placeholders(destination["bucketName"], args.region)
                try:
                    s3.create_bucket(Bucket=bucket)
                except s3.exceptions.BucketAlreadyOwnedByYou:
                    pass
                s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=body)
                published.append(f"s3://{bucket}/{destination['objectKey']}")
    return published


# ---------------------------------------------------------------------------------------------------- deploy


def client(service: str, endpoint: str, region: str) -> Any:
    """A client of one moto service, with moto's dummy credentials."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 2}),
    )


def placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        z.writestr(info, "#!/bin/sh\necho 'placeholder: the local stack serves this function itself' >&2\nexit 1\n")
    return buffer.getvalue()


def upload_placeholder(s3: Any) -> str:
    """The placeholder code in moto's S3; its s3:// URI."""
    try:
        s3.create_bucket(Bucket=PLACEHOLDER_BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_object(Bucket=PLACEHOLDER_BUCKET, Key=PLACEHOLDER_KEY, Body=placeholder_zip())
    return f"s3://{PLACEHOLDER_BUCKET}/{PLACEHOLDER_KEY}"


def create_stack(cfn: Any, name: str, template: Template, params: dict[str, str]) -> None:
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=CAPABILITIES,
    )


def wait_terminal(cfn: Any, name: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stack: dict[str, Any] = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if stack["StackStatus"].endswith(TERMINAL_SUFFIXES):
            return stack
        if time.monotonic() > deadline:
            raise TimeoutError(f"stack {name} still {stack['StackStatus']} after {timeout} s")
        time.sleep(0.2)


def failure_reasons(cfn: Any, name: str) -> list[str]:
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    return [
        f"{e['LogicalResourceId']} ({e['ResourceType']}): {e['ResourceStatus']} {e.get('ResourceStatusReason', '')}"
        for e in reversed(events)
        if e["ResourceStatus"].endswith("_FAILED") or e.get("ResourceStatusReason")
    ]


def stack_resources(cfn: Any, name: str) -> dict[str, dict[str, str]]:
    """The stack's resources. Moto lists a resource type it does not support as a row with no logical id, type or
    physical id (it was skipped, with a warning in moto's log); those rows are dropped here."""
    resources: dict[str, dict[str, str]] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=name):
        for r in page["StackResourceSummaries"]:
            if r.get("LogicalResourceId"):
                resources[r["LogicalResourceId"]] = {
                    "type": r["ResourceType"],
                    "physicalId": r.get("PhysicalResourceId", ""),
                }
    return resources


def absent_resources(template: Template, resources: dict[str, dict[str, str]]) -> dict[str, str]:
    """Resources of the template the stack does not have: types moto skips, and resources whose Condition is
    false."""
    return {k: r["Type"] for k, r in template.get("Resources", {}).items() if k not in resources}


def outputs_of(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def materialise_state_machines(sfn: Any, resources: dict[str, dict[str, str]], outputs: dict[str, str]) -> None:
    """Creates through the API each state machine moto's CloudFormation put where the API cannot see it, under the
    stack's physical id (so its ARN is the stack's), with the definition and role the stack resolved."""
    for logical_id, resource in resources.items():
        if resource["type"] != "AWS::StepFunctions::StateMachine":
            continue
        arn = resource["physicalId"]
        try:
            sfn.describe_state_machine(stateMachineArn=arn)
            continue
        except sfn.exceptions.StateMachineDoesNotExist:
            pass
        created = sfn.create_state_machine(
            name=arn.rsplit(":", 1)[1],
            definition=outputs[f"{BRIDGE_OUTPUT_PREFIX}{logical_id}DefinitionString"],
            roleArn=outputs[f"{BRIDGE_OUTPUT_PREFIX}{logical_id}RoleArn"],
        )
        if created["stateMachineArn"] != arn:
            raise SystemExit(f"{logical_id}: created {created['stateMachineArn']}, the stack says {arn}")


def put_alarm(endpoint: str, region: str, stack_name: str, logical_id: str, props: Template) -> str:
    """An AWS::CloudWatch::Alarm through PutMetricAlarm (its properties are the call's parameters); its name."""
    name = props.pop("AlarmName", None) or f"{stack_name}-{logical_id}"
    client("cloudwatch", endpoint, region).put_metric_alarm(AlarmName=name, **props)
    return name


def put_queue_policy(endpoint: str, region: str, stack_name: str, logical_id: str, props: Template) -> str:
    """An AWS::SQS::QueuePolicy as each queue's Policy attribute."""
    sqs = client("sqs", endpoint, region)
    for queue_url in props["Queues"]:
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
    return f"{stack_name}-{logical_id}"


API_MADE_TYPES: dict[str, Callable[[str, str, str, str, Template], str]] = {
    "AWS::CloudWatch::Alarm": put_alarm,
    "AWS::SQS::QueuePolicy": put_queue_policy,
}


def make_api_resources(
    args: argparse.Namespace, template: Template, outputs: dict[str, str]
) -> dict[str, dict[str, str]]:
    """The resources moto's CloudFormation skipped, made through the API from their exported properties (a false
    Condition exports nothing); marked `"via": "api"`."""
    made: dict[str, dict[str, str]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        exported = outputs.get(f"{BRIDGE_OUTPUT_PREFIX}{logical_id}Properties")
        if resource.get("Type") not in API_MADE_TYPES or exported is None:
            continue
        make = API_MADE_TYPES[resource["Type"]]
        physical_id = make(args.endpoint, args.region, args.stack_name, logical_id, json.loads(exported))
        made[logical_id] = {"type": resource["Type"], "physicalId": physical_id, "via": "api"}
    return made


def of_type(resources: dict[str, dict[str, str]], resource_type: str) -> list[str]:
    """The physical ids of the deployed resources of one type."""
    return [r["physicalId"] for r in resources.values() if r["type"] == resource_type and r["physicalId"]]


def functions_wiring(lam: Any, resources: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Each deployed function as Lambda would run it: its ARN, its environment (the template's), its timeout and
    its reserved concurrency (none when it reserves none)."""
    functions = {}
    for name in of_type(resources, "AWS::Lambda::Function"):
        config = lam.get_function_configuration(FunctionName=name)
        reserved = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
        functions[name] = {
            "arn": config["FunctionArn"],
            "environment": {k: str(v) for k, v in config.get("Environment", {}).get("Variables", {}).items()},
            "timeout": int(config.get("Timeout", 3)),
            "reservedConcurrency": None if reserved is None else int(reserved),
        }
    return functions


def event_source_wiring(lam: Any, sqs: Any, resources: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """What Lambda's pollers would do (moto does not): which queue drives which function, in what batches."""
    mappings = []
    for uuid in of_type(resources, "AWS::Lambda::EventSourceMapping"):
        m = lam.get_event_source_mapping(UUID=uuid)
        queue_name = m["EventSourceArn"].rsplit(":", 1)[-1]
        mappings.append(
            {
                "functionName": m["FunctionArn"].rsplit(":", 1)[-1],
                "queueUrl": sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
                "batchSize": m.get("BatchSize", 10),
                "batchingWindowSeconds": m.get("MaximumBatchingWindowInSeconds", 0),
                "reportBatchItemFailures": "ReportBatchItemFailures" in m.get("FunctionResponseTypes", []),
            }
        )
    return mappings


def schedule_wiring(events: Any, resources: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """What EventBridge's scheduler would do (moto does not): which function each schedule invokes, with what."""
    schedules = []
    for rule in of_type(resources, "AWS::Events::Rule"):
        expression = events.describe_rule(Name=rule).get("ScheduleExpression")
        if not expression:
            continue
        for target in events.list_targets_by_rule(Rule=rule)["Targets"]:
            schedules.append(
                {
                    "rule": rule,
                    "scheduleExpression": expression,
                    "functionName": target["Arn"].rsplit(":", 1)[-1],
                    "input": json.loads(target.get("Input", "{}")),
                }
            )
    return schedules


def wiring(args: argparse.Namespace, resources: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The deployed stack as the local emulation needs it: functions, event source mappings, schedules."""
    lam = client("lambda", args.endpoint, args.region)
    return {
        "functions": functions_wiring(lam, resources),
        "eventSourceMappings": event_source_wiring(lam, client("sqs", args.endpoint, args.region), resources),
        "schedules": schedule_wiring(client("events", args.endpoint, args.region), resources),
    }


def report(
    stack: dict[str, Any],
    resources: dict[str, dict[str, str]],
    absent: dict[str, str],
    timings: dict[str, float],
    wired: dict[str, Any] | None = None,
) -> dict[str, Any]:
    outputs = {k: v for k, v in outputs_of(stack).items() if not k.startswith(BRIDGE_OUTPUT_PREFIX)}
    return {
        "status": stack["StackStatus"],
        "outputs": outputs,
        "resources": resources,
        "absent": absent,
        "wiring": wired or {},
        "seconds": {**{k: round(v, 3) for k, v in timings.items()}, "total": round(sum(timings.values()), 3)},
    }


class Clock:
    """Seconds spent in each phase of the deploy."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.monotonic()

    def lap(self, phase: str) -> None:
        now = time.monotonic()
        self.timings[phase] = now - self._last
        self._last = now


def moto_template(args: argparse.Namespace, params: dict[str, str], clock: Clock) -> Template:
    """The template as moto's CloudFormation gets it: validated, packaged, translated and bridged."""
    sam_template = load_sam_template(args.template)
    ssm = None
    if args.cdk_assembly:
        publish_cdk_assets(args)
        clock.lap("publishAssets")
        ssm_client = client("ssm", args.endpoint, args.region)
        ssm = lambda name: str(ssm_client.get_parameter(Name=name)["Parameter"]["Value"])  # noqa: E731
    validate_parameters(sam_template, params, args.stack_name, args.region, ssm)
    clock.lap("validate")
    code_uri = upload_placeholder(client("s3", args.endpoint, args.region))
    clock.lap("upload")
    packaged = package(sam_template, args.template.resolve().parent, code_uri)
    template = moto_bridges(translate(packaged, params, args.region))
    clock.lap("translate")
    if args.translated_out:
        args.translated_out.write_text(json.dumps(template, indent=2))
    return template


def finish_bridges(args: argparse.Namespace, template: Template, stack: dict[str, Any]) -> dict[str, dict[str, str]]:
    """After CREATE_COMPLETE: what the stack could not make on moto, made through the APIs; all its resources."""
    cfn = client("cloudformation", args.endpoint, args.region)
    resources = stack_resources(cfn, args.stack_name)
    materialise_state_machines(client("stepfunctions", args.endpoint, args.region), resources, outputs_of(stack))
    resources.update(make_api_resources(args, template, outputs_of(stack)))
    return resources


def deploy(args: argparse.Namespace, params: dict[str, str]) -> int:
    clock = Clock()
    template = moto_template(args, params, clock)
    cfn = client("cloudformation", args.endpoint, args.region)
    try:
        create_stack(cfn, args.stack_name, template, params)
        stack = wait_terminal(cfn, args.stack_name, args.timeout)
    except (ClientError, TimeoutError) as e:
        return create_failed(cfn, args.stack_name, e)
    clock.lap("createStack")
    if stack["StackStatus"] != "CREATE_COMPLETE":
        print(json.dumps(report(stack, stack_resources(cfn, args.stack_name), {}, clock.timings), indent=2))
        print("\n".join(failure_reasons(cfn, args.stack_name)), file=sys.stderr)
        return 1
    resources = finish_bridges(args, template, stack)
    clock.lap("bridges")
    wired = wiring(args, resources)
    clock.lap("wiring")
    print(json.dumps(report(stack, resources, absent_resources(template, resources), clock.timings, wired), indent=2))
    return 0


def create_failed(cfn: Any, name: str, error: ClientError | TimeoutError) -> int:
    """Moto creates a stack's resources inside CreateStack, and a resource that fails makes CreateStack itself
    fail with that resource's service error (no CREATE_FAILED status, no event naming the resource; the stack is
    left half made, and describe_stacks of it answers 500). Prints what there is to know."""
    if isinstance(error, ClientError):
        reason = f"CreateStack failed: {error.response['Error'].get('Code')}: {error.response['Error'].get('Message')}"
    else:
        reason = str(error)
    try:
        reasons = failure_reasons(cfn, name)
    except ClientError:
        reasons = []
    print(json.dumps({"status": "CREATE_FAILED", "outputs": {}, "resources": {}, "error": reason}, indent=2))
    print("\n".join([reason, *reasons]), file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return deploy(args, parse_parameters(args.parameter))
    except InvalidParameters as e:
        print(f"invalid parameters: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
