"""The pinned moto server as the local stack runs it, with the one mapping moto lacks.

Step Functions names the Redshift Data API `redshiftdata` in `arn:aws:states:::aws-sdk:redshiftdata:<action>`,
while boto3 names it `redshift-data`; moto looks the task's service up in boto3 by the Step Functions name and
fails such a task with `States.Runtime`. Adding the name to moto's own override table (where it already maps
`sfn` to `stepfunctions`) lets native Data API tasks run locally: moto then calls them on `MOTO_PORT`, the local
stack's front, which routes them to redshift-local. And a second gap those tasks meet: moto puts boto3's
parsed timestamps (`datetime`) into the state's output and then fails to serialise it; Step Functions hands
timestamps of SDK integrations to the state as ISO-8601 strings, which is what this does. Arguments are
moto_server's.
"""

import datetime
import sys

from moto.server import main
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)

StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES["redshiftdata"] = "redshift-data"


def _iso(value):
    """Step Functions' rendering of a timestamp, recursively through the response."""
    if isinstance(value, datetime.datetime):
        utc = value.astimezone(datetime.timezone.utc)
        return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


_eval_service_task = StateTaskServiceAwsSdk._eval_service_task


def _eval_with_iso_timestamps(self, env, *args, **kwargs):
    _eval_service_task(self, env, *args, **kwargs)
    env.stack.append(_iso(env.stack.pop()))


StateTaskServiceAwsSdk._eval_service_task = _eval_with_iso_timestamps


if __name__ == "__main__":
    sys.exit(main())
