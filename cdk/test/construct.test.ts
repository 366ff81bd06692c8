// The construct's synthesized template, checked with aws-cdk-lib/assertions: the SAM template's resources under
// their logical ids, the role's grants for each kind of target, each prop as the parameter it sets, the code as
// assets of the `sam build` bootstraps, and the errors at synth. Needs target/sam-build (scripts/build-functions.sh).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cfninc from 'aws-cdk-lib/cloudformation-include';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { SfnRedshiftTasker, SfnRedshiftTaskerProps, templateFile } from '../lib';

const SEED = { redshiftTargetProps: { clusterIdentifier: 'my-cluster', dbUser: 'etl', dbName: 'dev' } };

function synth(props: SfnRedshiftTaskerProps = SEED): { stack: Stack; tasker: SfnRedshiftTasker; template: Template } {
  const stack = new Stack(new App(), 'Etl');
  const tasker = new SfnRedshiftTasker(stack, 'Tasker', props);
  return { stack, tasker, template: Template.fromStack(stack) };
}

/** The SAM template's resources as CfnInclude reads them, without the construct. */
function samResources(): Record<string, { Type: string }> {
  const stack = new Stack(new App(), 'Sam');
  new cfninc.CfnInclude(stack, 'T', { templateFile: templateFile() });
  return Template.fromStack(stack).toJSON().Resources;
}

function statements(template: Template): any[] {
  return template.toJSON().Resources.TaskerRole.Properties.Policies[0].PolicyDocument.Statement;
}

function statement(template: Template, sid: string): any {
  for (const s of statements(template)) {
    if (s.Sid === sid) return s;
    const branch = s['Fn::If'];
    if (branch && branch[1].Sid === sid) return { condition: branch[0], ...branch[1] };
  }
  throw new Error(`no statement ${sid}`);
}

describe('the template, included', () => {
  const { template } = synth();
  const json = template.toJSON();

  test('every resource of infra/sam-template.yaml but the SAM app demo machine, with its logical id and type', () => {
    const expected = Object.entries(samResources()).filter(([id]) => id !== 'ExampleStateMachine');
    expect(expected.length).toBeGreaterThan(20);
    for (const [id, resource] of expected) expect(json.Resources[id]?.Type).toBe(resource.Type);
    expect(Object.keys(json.Resources).sort()).toEqual(expected.map(([id]) => id).sort());
    expect(json.Outputs.ExampleStateMachineArn).toBeUndefined();
    template.resourceCountIs('AWS::Serverless::Function', 3);
  });

  test('the stack gets the serverless transform and no parameter of the template', () => {
    expect(json.Transform).toBe('AWS::Serverless-2016-10-31');
    // BootstrapVersion is the DefaultStackSynthesizer's own.
    expect(Object.keys(json.Parameters ?? {})).toEqual(['BootstrapVersion']);
    expect(JSON.stringify(json.Resources)).not.toContain('"Ref":"ClusterIdentifier"');
  });

  test("each function's code is an asset of its sam build bootstrap; Globals keep the rest", () => {
    for (const fn of ['StarterFunction', 'CompleterFunction', 'CancellerFunction']) {
      const props = json.Resources[fn].Properties;
      expect(props.CodeUri).toEqual({
        Bucket: { 'Fn::Sub': expect.stringMatching(/^cdk-[a-z0-9]+-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}$/) },
        Key: expect.stringMatching(/^[0-9a-f]{64}\.zip$/),
      });
    }
    expect(json.Globals.Function).toMatchObject({ Runtime: 'provided.al2023', Architectures: ['arm64'], Handler: 'bootstrap' });
  });
});

describe("the role's grants", () => {
  test('a cluster with a database user: GetClusterCredentials for that user and database only', () => {
    const { template } = synth();
    expect(statement(template, 'RunStatementsOnTheTarget').Resource['Fn::If'][1]).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:redshift:${AWS::Region}:${AWS::AccountId}:cluster:my-cluster',
    });
    const credentials = statement(template, 'ClusterCredentialsForTheDbUser');
    expect(credentials.Action).toBe('redshift:GetClusterCredentials');
    expect(credentials.Resource).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:redshift:${AWS::Region}:${AWS::AccountId}:dbuser:my-cluster/etl' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:redshift:${AWS::Region}:${AWS::AccountId}:dbname:my-cluster/dev' },
    ]);
    expect(template.toJSON().Conditions.HasDbUser).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['etl', ''] }] });
    expect(template.toJSON().Conditions.HasSecret).toEqual({ 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] });
  });

  test('a workgroup with a secret: the secret and the workgroup by id', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:etl-AbCdEf';
    const workgroupId = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
    const { template } = synth({
      redshiftTargetProps: { workgroupName: 'etl-wg', workgroupId, dbName: 'dev', secretArn },
    });
    expect(statement(template, 'DatabaseSecret')).toMatchObject({ Action: 'secretsmanager:GetSecretValue', Resource: secretArn });
    expect(statement(template, 'RunStatementsOnTheTarget').Resource['Fn::If'][2]).toEqual({
      'Fn::Sub': `arn:\${AWS::Partition}:redshift-serverless:\${AWS::Region}:\${AWS::AccountId}:workgroup/${workgroupId}`,
    });
    const starter = template.toJSON().Resources.StarterFunction.Properties.Environment.Variables;
    expect(starter).toMatchObject({ WORKGROUP_NAME: 'etl-wg', SECRET_ARN: secretArn, CLUSTER_IDENTIFIER: '', DB_USER: '' });
  });

  test('a state machine calling tasker.lambdaFunction with WAIT_FOR_TASK_TOKEN may invoke the starter', () => {
    const stack = new Stack(new App(), 'Etl');
    const tasker = new SfnRedshiftTasker(stack, 'Tasker', SEED);
    new sfn.StateMachine(stack, 'Machine', {
      definitionBody: sfn.DefinitionBody.fromChainable(
        new tasks.LambdaInvoke(stack, 'RunSql', {
          lambdaFunction: tasker.lambdaFunction,
          integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
          payload: sfn.TaskInput.fromObject({ taskToken: sfn.JsonPath.taskToken, sqlStatement: 'select 1' }),
        }),
      ),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'lambda:InvokeFunction',
            Resource: Match.arrayWith([{ 'Fn::GetAtt': ['StarterFunction', 'Arn'] }]),
          }),
        ]),
      },
    });
    const definition = JSON.stringify(template.findResources('AWS::StepFunctions::StateMachine'));
    expect(definition).toContain('lambda:invoke.waitForTaskToken');
    expect(definition).toContain('StarterFunction');
  });
});

describe('the props are the parameters', () => {
  const topic = (stack: Stack) => new sns.Topic(stack, 'Alarms');

  test('each prop sets its parameter where the template uses it', () => {
    const stack = new Stack(new App(), 'Etl');
    new SfnRedshiftTasker(stack, 'Tasker', {
      ...SEED,
      logLevel: 'debug',
      statementPrefix: 'etl-prod',
      fastPathSeconds: 5,
      alarmTopic: topic(stack),
      slowCallbackMilliseconds: 5000,
      deployDashboard: true,
      starterReservedConcurrency: 7,
      recordTtlDays: 3,
      sweepSchedule: 'rate(10 minutes)',
      sweepGraceSeconds: 120,
      logRetentionDays: 90,
    });
    const json = Template.fromStack(stack).toJSON();
    const r = json.Resources;
    expect(json.Globals.Function.Environment.Variables).toMatchObject({
      RUST_LOG: 'debug', RECORD_TTL_DAYS: 3, SWEEP_GRACE_SECONDS: 120,
    });
    expect(json.Conditions.PrefixIsStackName).toEqual({ 'Fn::Equals': ['etl-prod', ''] });
    expect(r.StarterFunction.Properties).toMatchObject({ ReservedConcurrentExecutions: 7 });
    expect(String(r.StarterFunction.Properties.Environment.Variables.FAST_PATH_SECONDS)).toBe('5');
    expect(r.SlowCallbacksAlarm.Properties.Threshold).toBe(5000);
    expect(json.Conditions.HasAlarmTopic).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: expect.stringMatching(/^Alarms/) }, ''] }] });
    expect(json.Conditions.WithDashboard).toEqual({ 'Fn::Equals': ['true', 'true'] });
    expect(r.CompleterFunction.Properties.Events.Sweep.Properties.Schedule).toBe('rate(10 minutes)');
    for (const group of ['StarterLogGroup', 'CompleterLogGroup', 'CancellerLogGroup']) {
      expect(r[group].Properties.RetentionInDays).toBe(90);
    }
  });

  test("the defaults are the template's", () => {
    const json = synth().template.toJSON();
    expect(json.Globals.Function.Environment.Variables).toMatchObject({ RUST_LOG: 'info', RECORD_TTL_DAYS: 7, SWEEP_GRACE_SECONDS: 300 });
    expect(json.Resources.StarterFunction.Properties.ReservedConcurrentExecutions).toBe(40);
    expect(json.Resources.CompleterFunction.Properties.Events.Sweep.Properties.Schedule).toBe('rate(5 minutes)');
    expect(json.Conditions.PrefixIsStackName).toEqual({ 'Fn::Equals': ['', ''] });
  });

  test("the seed's Python log levels map to the functions' filter", () => {
    for (const [seed, ours] of [['INFO', 'info'], ['WARNING', 'warn'], ['CRITICAL', 'error'], ['DEBUG', 'debug']]) {
      const json = synth({ ...SEED, logLevel: seed }).template.toJSON();
      expect(json.Globals.Function.Environment.Variables.RUST_LOG).toBe(ours);
    }
  });
});

describe('errors at synth', () => {
  test('missing bootstraps name the build command', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'tasker-code-'));
    expect(() => synth({ ...SEED, codeDirectory: empty })).toThrow(/scripts\/build-functions\.sh.*codeDirectory/s);
  });

  test("values the template's parameters refuse", () => {
    expect(() => synth({ redshiftTargetProps: { clusterIdentifier: 'My_Cluster', dbUser: 'etl', dbName: 'dev' } })).toThrow(
      /ClusterIdentifier="My_Cluster" does not match/,
    );
    expect(() => synth({ ...SEED, fastPathSeconds: 31 })).toThrow(/FastPathSeconds=31 is above 30/);
    expect(() => synth({ ...SEED, logRetentionDays: 2 })).toThrow(/LogRetentionDays="2" is not one of/);
    expect(() => synth({ ...SEED, statementPrefix: 'x'.repeat(32) })).toThrow(/StatementPrefix/);
  });

  test('a target named by a token', () => {
    const stack = new Stack(new App(), 'Etl');
    const name = new sns.Topic(stack, 'T').topicName;
    expect(() => new SfnRedshiftTasker(stack, 'Tasker', { redshiftTargetProps: { clusterIdentifier: name, dbUser: 'etl', dbName: 'dev' } })).toThrow(
      /ClusterIdentifier must be a literal/,
    );
  });

  test('a second tasker in the same stack', () => {
    const stack = new Stack(new App(), 'Etl');
    new SfnRedshiftTasker(stack, 'One', SEED);
    expect(() => new SfnRedshiftTasker(stack, 'Two', SEED)).toThrow(/one SfnRedshiftTasker per stack/);
  });
});
