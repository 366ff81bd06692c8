"""The pinned moto server as the local stack runs it, with bridges where moto's Step Functions differs from AWS.

Each bridge below says what moto 5.2.5 does, what AWS does, and its source. Arguments are moto_server's.

1. `aws-sdk:redshiftdata:*` tasks. Step Functions names the Redshift Data API `redshiftdata` in
   `arn:aws:states:::aws-sdk:redshiftdata:<action>`, while boto3 names it `redshift-data`; moto looks the task's
   service up in boto3 by the Step Functions name and fails such a task with `States.Runtime`. Adding the name to
   moto's own override table (where it already maps `sfn` to `stepfunctions`) lets native Data API tasks run
   locally: moto then calls them on `MOTO_PORT`, the local stack's front, which routes them to redshift-local.
2. Their timestamps: moto puts boto3's parsed timestamps (`datetime`) into the state's output and then fails to
   serialise it; Step Functions hands timestamps of SDK integrations to the state as ISO-8601 strings.
3. Closed tasks (`TaskTimedOut`). moto keeps a task's callback endpoint open after the task timed out, failed or
   was answered, so a late answer is accepted and dropped while the execution runs (`SendTaskFailure` even after
   it ended), and its own error mapping raises `TaskTimedOut()` without the message its constructor needs. AWS answers
   `TaskTimedOut`, "The task token has either expired or the task associated with the token has already been
   closed" (botocore's `stepfunctions` model, shape `TaskTimedOut`; `TaskDoesNotExist` is documented there as
   "The activity does not exist", `InvalidToken` as "The provided token is not valid"), with the message
   "Task Timed Out: 'Provided task does not exist anymore'" for a late and for a duplicate answer (observed on
   AWS in andybalham/blog-source-code, blog-posts/step-function-task-tokens-failures.md).
4. JSONPath with an array index. moto's `extract_json` (changed for moto issue 7825, a filter) returns a list
   whenever the matched node's parent is an array element: `$.x.records[0].n` gives `[2]`, so a Choice
   `NumericEquals` on it fails. On AWS a path of names and literal indices identifies a single node and gives its
   value, while a filter gives a list (`$.jar[?(@.a >= 5)] => [{"a": 5}, {"a": 7}]`): "Paths", AWS Step Functions
   developer guide (amazon-states-language-paths.html). Other paths (filters, wildcards, slices) keep moto's
   answer.
5. JSONata. moto 5.2.5 parses `QueryLanguage: JSONata` but leaves the evaluator hook
   `moto.stepfunctions.parser.asl.jsonata.jsonata._eval_jsonata` unset (LocalStack, where the code comes from,
   evaluates with a JVM), so every JSONata machine fails with `States.Runtime`. The hook gets one whole expression
   (moto composes `$states` and variables into it) and returns JSON; `jsonata-python` (PyPI, a pure-Python port of
   the jsonata-java port of the reference `jsonata` npm package) evaluates it here.
"""

import datetime
import json
import re
import sys
import threading

from jsonpath_ng.ext import parse  # what moto's extract_json parses with

from moto.core.exceptions import AWSError
from moto.server import main
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

# 1. aws-sdk:redshiftdata -> boto3's redshift-data.
StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES["redshiftdata"] = "redshift-data"


# 2. ISO-8601 timestamps in SDK task results.
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


# 3. Closed tasks. A task's token is open during each attempt of its state (moto's `_eval_execution`: the
# invocation, then the wait for the token; a `Retry` runs it again with the same token) while the environment of
# that attempt runs (a `TimeoutSeconds` or the end of the execution ends it before moto's waiting thread notices);
# otherwise it is closed.
_tokens_lock = threading.Lock()
_waiting = {}  # token -> the environment its attempt runs in
_closed = set()  # tokens whose attempt ended

_eval_execution = StateTaskServiceCallback._eval_execution


def _eval_execution_tracked(self, env, *args, **kwargs):
    token = None
    if self.resource.condition == ResourceCondition.WaitForTaskToken:
        # Set by this very state on entry (a stale one of an earlier state may linger for other tasks).
        token = (env.states.context_object.context_object_data.get("Task") or {}).get("Token")
    if token:
        with _tokens_lock:
            _closed.discard(token)
            _waiting[token] = env
    try:
        return _eval_execution(self, env, *args, **kwargs)
    finally:
        if token:
            with _tokens_lock:
                _waiting.pop(token, None)
                _closed.add(token)


StateTaskServiceCallback._eval_execution = _eval_execution_tracked


def _refuse_closed(token):
    with _tokens_lock:
        env = _waiting.get(token)
        closed = token in _closed or (env is not None and not env.is_running())
    if closed:
        raise AWSError("Task Timed Out: 'Provided task does not exist anymore'", "TaskTimedOut", 400)


def _refusing_closed(operation):
    def answer(self, task_token, *args, **kwargs):
        _refuse_closed(task_token)
        return operation(self, task_token, *args, **kwargs)

    return answer


for _name in ("send_task_success", "send_task_failure", "send_task_heartbeat"):
    setattr(StepFunctionsParserBackend, _name, _refusing_closed(getattr(StepFunctionsParserBackend, _name)))


# 4. A definite JSONPath (only names and literal indices) selects one node: its value, never a list.
_DEFINITE_PATH = re.compile(r"\$(?:\.[^.\[\]*?@,:()'\"]+|\[\d+\]|\['[^']*'\]|\[\"[^\"]*\"\])*")
_extract_json = json_path.extract_json


def _extract_json_as_aws(path, data):
    if _DEFINITE_PATH.fullmatch(path.strip()):
        matches = parse(path).find(data)
        if len(matches) == 1:
            return matches[0].value
    return _extract_json(path, data)  # indefinite paths, and the error for a missing node


# Modules import `extract_json` by name: replace it in every loaded one, and in `json_path` for those loaded later.
for _module in list(sys.modules.values()):
    if getattr(_module, "extract_json", None) is _extract_json:
        _module.extract_json = _extract_json_as_aws


# 5. JSONata through jsonata-python.
def _eval_jsonata(expression):
    from jsonata import Jsonata

    try:
        result = Jsonata(expression).evaluate(None)
        # Plain JSON, as the JVM bridge's `writeValueAsString` then `json.loads` gave moto.
        return json.loads(json.dumps(result))
    except Exception as ex:  # moto's own evaluator raises this for any failure
        raise moto_jsonata.JSONataException("UNKNOWN", str(ex)) from ex


moto_jsonata._eval_jsonata = _eval_jsonata


if __name__ == "__main__":
    sys.exit(main())
