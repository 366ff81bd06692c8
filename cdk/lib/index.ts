// SfnRedshiftTasker, the seed's construct, rebuilt on the one definition of the deployment: it includes
// infra/sam-template.yaml (cloudformation-include's CfnInclude) instead of declaring its resources a second time,
// turns its props into the template's parameter values, and points the three functions at assets of the arm64
// `bootstrap`s that `sam build` makes. README: "Migrating from the construct" and the design notes.
import * as fs from 'fs';
import * as path from 'path';
import { CfnParameter, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cfninc from 'aws-cdk-lib/cloudformation-include';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** The Redshift target the statements run on: fixed per deployment, never taken from a payload. */
export interface RedshiftTargetProps {
  /** Provisioned cluster (the seed's prop). Set this or `workgroupName`. @default - none */
  readonly clusterIdentifier?: string;
  /** Database user of a cluster, through redshift:GetClusterCredentials (the seed's prop). @default - none */
  readonly dbUser?: string;
  /** Database the statements run in (the seed's prop). */
  readonly dbName: string;
  /** Redshift Serverless workgroup. Set this or `clusterIdentifier`. @default - none */
  readonly workgroupName?: string;
  /** The workgroup's id (a UUID): IAM names workgroups by id. Required with `workgroupName`. @default - none */
  readonly workgroupId?: string;
  /** Complete ARN of a Secrets Manager secret with the database credentials (instead of `dbUser`). @default - none */
  readonly secretArn?: string;
}

/** The seed's props (`redshiftTargetProps`, `logLevel`) and the template's other parameters. */
export interface SfnRedshiftTaskerProps {
  /** The target (the seed's prop, plus workgroups and secrets). */
  readonly redshiftTargetProps: RedshiftTargetProps;
  /**
   * The functions' log level: error, warn, info, debug or a tracing filter. The seed's Python levels (INFO,
   * WARNING, CRITICAL, ...) are accepted and mapped. @default 'info' (the template's default)
   */
  readonly logLevel?: string;
  /** Prefix of this deployment's statement names (at most 31 of [A-Za-z0-9-]). @default - the stack name */
  readonly statementPrefix?: string;
  /** Seconds a start waits for its statement to end and answers itself (0 to 30; 0 is off). @default 0 */
  readonly fastPathSeconds?: number;
  /** Topic the alarms notify. @default - the alarms only change state */
  readonly alarmTopic?: sns.ITopic;
  /** p99 callback latency (ms) above which SlowCallbacksAlarm fires. @default 60000 */
  readonly slowCallbackMilliseconds?: number;
  /** Also deploy a CloudWatch dashboard. @default false */
  readonly deployDashboard?: boolean;
  /** The starter's reserved concurrency. @default 40 */
  readonly starterReservedConcurrency?: number;
  /** Days a statement's record stays in the state table. @default 7 */
  readonly recordTtlDays?: number;
  /** How often the completer sweeps for lost events (`rate(...)` or `cron(...)`). @default 'rate(5 minutes)' */
  readonly sweepSchedule?: string;
  /** How long an unsettled record stays unchanged before the sweeper asks about it (0 to 900 s). @default 300 */
  readonly sweepGraceSeconds?: number;
  /** Days the functions' log groups keep their events (a CloudWatch Logs retention value). @default 30 */
  readonly logRetentionDays?: number;
  /**
   * A directory laid out as `sam build` lays its build directory: `StarterFunction/bootstrap`,
   * `CompleterFunction/bootstrap`, `CancellerFunction/bootstrap` (arm64). `bash scripts/build-functions.sh` makes
   * `target/sam-build`. @default - the repository's target/sam-build, else the package's own functions/
   */
  readonly codeDirectory?: string;
}

/** The template's functions, by logical id; their output props below. */
const FUNCTIONS = ['StarterFunction', 'CompleterFunction', 'CancellerFunction'] as const;

/** Template parameters whose values the template's Rules compare: they must be literal strings here, since
 * CloudFormation Rules may reference parameters only, never resources ("Rules" section of the template anatomy:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html). */
const LITERAL_ONLY = ['ClusterIdentifier', 'WorkgroupName', 'WorkgroupId', 'DbUser', 'SecretArn'];

/** The seed's Python logging levels, as the functions' tracing filter. */
const SEED_LOG_LEVELS: Record<string, string> = {
  CRITICAL: 'error', ERROR: 'error', WARNING: 'warn', WARN: 'warn', INFO: 'info', DEBUG: 'debug',
};

/** The package's root (this file is dist/lib/index.js). */
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

/** The one definition: the repository's template when the package sits in the repository, else the copy
 * `npm pack` put in the package (scripts/bundle.ts). */
export function templateFile(): string {
  const inRepo = path.resolve(PACKAGE_ROOT, '..', 'infra', 'sam-template.yaml');
  return fs.existsSync(inRepo) ? inRepo : path.join(PACKAGE_ROOT, 'template', 'sam-template.yaml');
}

function defaultCodeDirectory(): string {
  const inRepo = path.resolve(PACKAGE_ROOT, '..', 'target', 'sam-build');
  return fs.existsSync(inRepo) ? inRepo : path.join(PACKAGE_ROOT, 'functions');
}

/** Each template parameter's value from the props; `undefined` leaves the template's default. */
function parameterValues(props: SfnRedshiftTaskerProps): Record<string, string | number | undefined> {
  const t = props.redshiftTargetProps;
  const level = props.logLevel === undefined ? undefined : SEED_LOG_LEVELS[props.logLevel] ?? props.logLevel;
  const flag = (b?: boolean) => (b === undefined ? undefined : String(b));
  return {
    ClusterIdentifier: t.clusterIdentifier,
    WorkgroupName: t.workgroupName,
    WorkgroupId: t.workgroupId,
    Database: t.dbName,
    DbUser: t.dbUser,
    SecretArn: t.secretArn,
    StatementPrefix: props.statementPrefix,
    FastPathSeconds: props.fastPathSeconds,
    AlarmTopicArn: props.alarmTopic?.topicArn,
    SlowCallbackMilliseconds: props.slowCallbackMilliseconds,
    DeployDashboard: flag(props.deployDashboard),
    StarterReservedConcurrency: props.starterReservedConcurrency,
    RecordTtlDays: props.recordTtlDays,
    SweepSchedule: props.sweepSchedule,
    SweepGraceSeconds: props.sweepGraceSeconds,
    LogLevel: level,
    LogRetentionDays: props.logRetentionDays,
    // The example state machine is the SAM app's demo: a CDK user writes their own (see the example app).
    DeployExampleStateMachine: 'false',
  };
}

/** The checks CloudFormation makes of a parameter's value (AllowedValues, AllowedPattern, MinValue, MaxValue),
 * which a value set by CfnInclude's `parameters` no longer gets: it replaces the parameter by the value. */
function constraintErrors(name: string, p: CfnParameter, value: string | number): string[] {
  if (Token.isUnresolved(value)) return [];
  const text = String(value);
  const errors: string[] = [];
  if (p.allowedValues && !p.allowedValues.map(String).includes(text)) {
    errors.push(`${name}=${JSON.stringify(text)} is not one of ${p.allowedValues.join(', ')}`);
  }
  if (p.allowedPattern && !new RegExp(`^(?:${p.allowedPattern})$`).test(text)) {
    errors.push(`${name}=${JSON.stringify(text)} does not match ${p.allowedPattern}`);
  }
  if (p.type === 'Number') {
    const n = Number(text);
    if (text.trim() === '' || Number.isNaN(n)) errors.push(`${name}=${JSON.stringify(text)} is not a number`);
    else if (p.minValue !== undefined && n < p.minValue) errors.push(`${name}=${n} is below ${p.minValue}`);
    else if (p.maxValue !== undefined && n > p.maxValue) errors.push(`${name}=${n} is above ${p.maxValue}`);
  }
  return errors;
}

const STACKS_WITH_A_TASKER = new WeakSet<Stack>();

/**
 * The Step Functions -> Redshift tasker: the deployment of infra/sam-template.yaml inside this stack. Call SQL from
 * a state with `LambdaInvoke(..., {lambdaFunction: tasker.lambdaFunction, integrationPattern: WAIT_FOR_TASK_TOKEN})`.
 *
 * One per stack: the template names its log groups, key alias and rule after the stack, and keeps its logical ids
 * (the same as a `sam deploy` of it). The stack gets the `AWS::Serverless-2016-10-31` transform.
 */
export class SfnRedshiftTasker extends Construct {
  /** The starter (the seed's property name): invoke it with `lambda:invoke.waitForTaskToken`. */
  public readonly lambdaFunction: lambda.IFunction;
  /** The completer: SQS completion events and the sweep schedule drive it. */
  public readonly completerFunction: lambda.IFunction;
  /** The canceller: invoke it from a `cancelSlowQuery` state with `{"executionArn.$": "$$.Execution.Id"}`. */
  public readonly cancellerFunction: lambda.IFunction;
  /** The state table (the seed's property name), with its customer managed key. */
  public readonly trackingTable: dynamodb.ITable;
  /** The included template: every resource by its template logical id (`getResource('EventQueue')`, ...). */
  public readonly template: cfninc.CfnInclude;

  constructor(scope: Construct, id: string, props: SfnRedshiftTaskerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (STACKS_WITH_A_TASKER.has(stack)) {
      throw new Error(
        `${this.node.path}: one SfnRedshiftTasker per stack (the template names its log groups, key alias and ` +
          'completion rule after the stack, and keeps its logical ids); put another one in its own stack',
      );
    }
    STACKS_WITH_A_TASKER.add(stack);
    const code = props.codeDirectory ?? defaultCodeDirectory();
    const missing = FUNCTIONS.map((f) => path.join(code, f, 'bootstrap')).filter((b) => !fs.existsSync(b));
    if (missing.length > 0) {
      throw new Error(
        `SfnRedshiftTasker: the functions' code is missing (${missing.join(', ')}). Build the arm64 bootstraps ` +
          'with `bash scripts/build-functions.sh` (sam build, cargo-lambda) in the sfn-redshift-tasker repository, ' +
          'or pass `codeDirectory`: a directory with StarterFunction/bootstrap, CompleterFunction/bootstrap and ' +
          'CancellerFunction/bootstrap.',
      );
    }
    for (const name of LITERAL_ONLY) {
      const v = parameterValues(props)[name];
      if (v !== undefined && Token.isUnresolved(v)) {
        throw new Error(`SfnRedshiftTasker: ${name} must be a literal string (the template's Rules compare it)`);
      }
    }

    // Every parameter gets a value (the template's default when the props leave it), so that the user's stack
    // gains no parameter of its own. Defaults are read from the template, never restated here.
    const file = templateFile();
    const templateParameters = new Map(
      new cfninc.CfnInclude(new Stack(), 'Probe', { templateFile: file }).node
        .findAll()
        .filter((c): c is CfnParameter => c instanceof CfnParameter)
        .map((p) => [p.node.id, p]),
    );
    const values = parameterValues(props);
    const parameters: Record<string, string | number> = {};
    const errors: string[] = Object.keys(values)
      .filter((name) => !templateParameters.has(name))
      .map((name) => `the template has no parameter ${name}`);
    for (const [name, p] of templateParameters) {
      if (!(name in values)) errors.push(`the template's parameter ${name} has no prop`);
      const value = values[name] ?? p.default;
      if (value === undefined) {
        errors.push(`${name} is required`);
        continue;
      }
      errors.push(...constraintErrors(name, p, value));
      parameters[name] = value;
    }
    if (errors.length > 0) throw new Error(`SfnRedshiftTasker: ${errors.join('; ')}`);

    // The transform turns the template's AWS::Serverless::Function into Lambda functions, roles and event
    // sources at deploy time. CfnInclude copies a template's Transform section, and "if your template uses
    // ... the AWS::Serverless transform ... the stack must use it too": aws-cdk-lib/cloudformation-include README.
    stack.addTransform('AWS::Serverless-2016-10-31');
    this.template = new cfninc.CfnInclude(this, 'Template', { templateFile: file, parameters });
    // Parameters replaced by values make some of the template's conditions constant (IsCluster, HasSecret, ...):
    // CDK's template validation warns about each (W8001 unused, W8003 constant, W9053 equivalent conditions).
    // They are what props mean here, not mistakes; CDK reports them on the stack, so that is where they are
    // acknowledged (which also hides those three warnings about the stack's own conditions).
    for (const [code, why] of [
      ['W8001', 'DeployExample is false: the example state machine is removed'],
      ['W8003', 'the props are the values of the parameters these conditions compare'],
      ['W9053', 'conditions over different parameters are equal for these props'],
    ]) {
      Validations.of(stack).acknowledge({ id: `CloudFormation-Validate::${code}`, reason: `SfnRedshiftTasker: ${why}` });
    }
    // The SAM app's demo machine reads its definition from a local file (DefinitionUri) that only `sam package`
    // uploads; with DeployExampleStateMachine false it would never deploy, but the transform still reads it.
    removeOutput(this.template, 'ExampleStateMachineArn');
    this.template.node.tryRemoveChild('ExampleStateMachine');

    const functions = FUNCTIONS.map((logicalId) => {
      const fn = this.template.getResource(logicalId);
      const asset = new s3assets.Asset(this, `${logicalId}Code`, { path: path.join(code, logicalId) });
      // A function's own CodeUri wins over the Globals' `..`: the transform merges a global and a local value of
      // different types by keeping the local one (aws-sam-translator, samtranslator/plugins/globals/globals.py,
      // `_do_merge` -> `_prefer_local`).
      fn.addPropertyOverride('CodeUri', { Bucket: asset.s3BucketName, Key: asset.s3ObjectKey });
      asset.addResourceMetadata(fn, 'CodeUri');
      // SAM names the Lambda function it generates after the SAM resource's logical id: GetAtt Arn is its ARN.
      return lambda.Function.fromFunctionAttributes(this, logicalId.replace('Function', ''), {
        functionArn: fn.getAtt('Arn').toString(),
        sameEnvironment: true,
      });
    });
    [this.lambdaFunction, this.completerFunction, this.cancellerFunction] = functions;
    this.trackingTable = dynamodb.Table.fromTableAttributes(this, 'Table', {
      tableArn: this.template.getResource('StateTable').getAtt('Arn').toString(),
      globalIndexes: ['byExecution', 'unsettled', 'byStatementId'],
      encryptionKey: kms.Key.fromKeyArn(this, 'Key', this.template.getResource('Key').getAtt('Arn').toString()),
    });
  }
}

function removeOutput(include: cfninc.CfnInclude, logicalId: string): void {
  const output = include.getOutput(logicalId);
  output.node.scope?.node.tryRemoveChild(output.node.id);
}

