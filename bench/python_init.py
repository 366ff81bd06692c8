"""The seed's runtime floor: Python 3 + boto3 building the same four clients as our binaries, then asking the
Lambda Runtime API for its first event (the moment init ends). Run by tests/examples/init_bench.rs."""
import os
import urllib.request

import boto3

clients = [boto3.client(name) for name in ("redshift-data", "dynamodb", "stepfunctions", "sqs")]
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next").read()
