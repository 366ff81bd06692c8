// The example app: the seed's usage (`new SfnRedshiftTasker(this, 'Tasker', {redshiftTargetProps})` and
// `tasker.lambdaFunction` in a LambdaInvoke with WAIT_FOR_TASK_TOKEN), plus the canceller for a step that ran past
// its heartbeat. `npx cdk synth` synthesizes it; the target comes from context (-c clusterIdentifier=...), which
// is how CI points it at the local stack (scripts/check-cdk.sh).
import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { SfnRedshiftTasker } from '../lib';

const app = new App();
const context = (key: string, fallback: string): string => app.node.tryGetContext(key) ?? fallback;
const stack = new Stack(app, 'SfnRedshiftTaskerExample');

const tasker = new SfnRedshiftTasker(stack, 'Tasker', {
  redshiftTargetProps: {
    clusterIdentifier: context('clusterIdentifier', 'my-cluster'),
    dbUser: context('dbUser', 'etl'),
    dbName: context('dbName', 'dev'),
  },
  statementPrefix: app.node.tryGetContext('statementPrefix'),
});

// The payload the starter reads (docs/design.md, "Payload"): the token and the state's identity make the
// statement name (stateEnteredTime makes a retried state run its statement once).
const runSql = new tasks.LambdaInvoke(stack, 'RunSql', {
  lambdaFunction: tasker.lambdaFunction,
  integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
  payload: sfn.TaskInput.fromObject({
    taskToken: sfn.JsonPath.taskToken,
    executionArn: sfn.JsonPath.executionId,
    stateName: sfn.JsonPath.stateName,
    stateEnteredTime: sfn.JsonPath.stringAt('$$.State.EnteredTime'),
    sqlStatement: sfn.JsonPath.stringAt('$.sql'),
  }),
  heartbeatTimeout: sfn.Timeout.duration(Duration.hours(1)),
  taskTimeout: sfn.Timeout.duration(Duration.hours(24)),
  resultPath: '$.result',
});
runSql.addRetry({ errors: ['Lambda.TooManyRequestsException'], interval: Duration.seconds(1), maxAttempts: 10, backoffRate: 1.5 });

const cancel = new tasks.LambdaInvoke(stack, 'cancelSlowQuery', {
  lambdaFunction: tasker.cancellerFunction,
  payload: sfn.TaskInput.fromObject({ executionArn: sfn.JsonPath.executionId }),
  resultSelector: { 'cancelled.$': '$.Payload.cancelled' },
  resultPath: '$.cancel',
}).next(new sfn.Fail(stack, 'SqlTimedOut', { error: 'SqlTimedOut', cause: 'The SQL step ran past its heartbeat and was cancelled.' }));
runSql.addCatch(cancel, { errors: [sfn.Errors.TIMEOUT], resultPath: '$.error' });
runSql.addCatch(new sfn.Fail(stack, 'SqlFailed', { error: 'SqlFailed', cause: "The SQL failed; see the FAILED error's cause." }), {
  errors: ['FAILED'],
  resultPath: '$.error',
});

const machine = new sfn.StateMachine(stack, 'Etl', {
  definitionBody: sfn.DefinitionBody.fromChainable(runSql.next(new sfn.Succeed(stack, 'Done'))),
});
new CfnOutput(stack, 'EtlStateMachineArn', { value: machine.stateMachineArn });
