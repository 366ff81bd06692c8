"""redshift-local through boto3, a client no one here wrote.

Run by tests/tests/redshift_local_boto3.rs, which starts the local stack and sets REDSHIFT_LOCAL_URL.
"""
import os
import time

import boto3
import botocore
import botocore.config
import botocore.exceptions
import pytest

URL = os.environ["REDSHIFT_LOCAL_URL"]
TARGET = dict(ClusterIdentifier="local-cluster", Database="dev", DbUser="etl")


@pytest.fixture(scope="module")
def client():
    return boto3.client(
        "redshift-data",
        endpoint_url=URL,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def wait(client, statement_id):
    deadline = time.time() + 30
    while time.time() < deadline:
        d = client.describe_statement(Id=statement_id)
        if d["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return d
        time.sleep(0.02)
    raise AssertionError(f"{statement_id} did not end")


def test_execute_describe_results(client):
    r = client.execute_statement(Sql="select 1 as one, 'x'::text as s, null::int as z, 2.5::float8 as d, true as b", StatementName="py-one", **TARGET)
    d = wait(client, r["Id"])
    assert d["Status"] == "FINISHED"
    assert d["HasResultSet"] is True
    assert d["ResultRows"] == 1
    assert d["CreatedAt"].year >= 2026
    res = client.get_statement_result(Id=r["Id"])
    assert res["TotalNumRows"] == 1
    assert [c["name"] for c in res["ColumnMetadata"]] == ["one", "s", "z", "d", "b"]
    assert res["Records"] == [[{"longValue": 1}, {"stringValue": "x"}, {"isNull": True}, {"doubleValue": 2.5}, {"booleanValue": True}]]


def test_batch_and_list(client):
    r = client.batch_execute_statement(Sqls=["create table py_t(i int)", "insert into py_t values (1)"], StatementName="py-batch", **TARGET)
    d = wait(client, r["Id"])
    assert d["Status"] == "FINISHED"
    assert [s["Id"] for s in d["SubStatements"]] == [r["Id"] + ":1", r["Id"] + ":2"]
    listed = client.list_statements(StatementName="py-")["Statements"]
    assert {s["StatementName"] for s in listed} >= {"py-one", "py-batch"}


def test_error_shapes(client):
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_statement(Id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(client.exceptions.ValidationException) as e:
        client.execute_statement(Sql="select 1", ClusterIdentifier="local-cluster", DbUser="etl")
    assert "Database" in str(e.value)
    r = client.execute_statement(Sql="select * from nope", **TARGET)
    d = wait(client, r["Id"])
    assert d["Status"] == "FAILED"
    assert d["Error"] == 'ERROR: relation "nope" does not exist'
    with pytest.raises(client.exceptions.ValidationException):
        client.cancel_statement(Id=r["Id"])


def test_client_token_and_cancel(client):
    a = client.execute_statement(Sql="select pg_sleep(60)", ClientToken="py-token", **TARGET)
    b = client.execute_statement(Sql="select pg_sleep(60)", ClientToken="py-token", **TARGET)
    assert a["Id"] == b["Id"]
    deadline = time.time() + 10
    while client.describe_statement(Id=a["Id"])["Status"] != "STARTED":
        assert time.time() < deadline
        time.sleep(0.02)
    assert client.cancel_statement(Id=a["Id"])["Status"] is True
    assert wait(client, a["Id"])["Status"] == "ABORTED"


def test_csv_results_and_format_mismatch(client):
    r = client.execute_statement(Sql="select 1 as id, 'a, \"b\"' as s, null::text as z", ResultFormat="CSV", **TARGET)
    d = wait(client, r["Id"])
    assert d["ResultFormat"] == "CSV"
    res = client.get_statement_result_v2(Id=r["Id"])
    assert res["ResultFormat"] == "CSV"
    assert res["TotalNumRows"] == 1
    assert res["Records"] == [{"CSVRecords": 'id,s,z\n1,"a, ""b""",\n'}]
    assert [c["name"] for c in res["ColumnMetadata"]] == ["id", "s", "z"]
    with pytest.raises(client.exceptions.ValidationException) as e:
        client.get_statement_result(Id=r["Id"])
    assert "GetStatementResultV2" in str(e.value)
    described = client.describe_statement(Id=r["Id"], WaitTimeSeconds=1)
    assert described["Status"] == "FINISHED"


def test_list_sessions(client):
    r = client.execute_statement(Sql="select 1", SessionKeepAliveSeconds=60, **TARGET)
    wait(client, r["Id"])
    sessions = client.list_sessions()["Sessions"]
    mine = [s for s in sessions if s["SessionId"] == r["SessionId"]]
    assert len(mine) == 1
    assert mine[0]["Status"] == "AVAILABLE"
    assert mine[0]["SessionAliveSeconds"] == 60
    assert mine[0]["CreatedAt"].year >= 2026
    one = client.list_sessions(SessionId=r["SessionId"])["Sessions"]
    assert [s["SessionId"] for s in one] == [r["SessionId"]]


def test_batch_execution_mode_and_parameters(client):
    r = client.batch_execute_statement(
        Sqls=["create table py_em(i int primary key)", "insert into py_em values (:v)", "insert into py_em values (:v)"],
        Parameters=[{"name": "v", "value": "7"}],
        ExecutionMode="AUTO_COMMIT",
        **TARGET,
    )
    d = wait(client, r["Id"])
    assert d["Status"] == "FAILED"
    assert d["ExecutionMode"] == "AUTO_COMMIT"
    assert [s["Status"] for s in d["SubStatements"]] == ["FINISHED", "FINISHED", "FAILED"]
    count = client.execute_statement(Sql="select count(*) from py_em", **TARGET)
    wait(client, count["Id"])
    assert client.get_statement_result(Id=count["Id"])["Records"] == [[{"longValue": 1}]]


def test_catalog_operations(client):
    r = client.batch_execute_statement(Sqls=["create schema py_cat", "create table py_cat.t(id int not null, name varchar(9))", "create view py_cat.v as select id from py_cat.t"], **TARGET)
    assert wait(client, r["Id"])["Status"] == "FINISHED"
    assert "dev" in client.list_databases(**TARGET)["Databases"]
    assert client.list_schemas(SchemaPattern="py\\_%", **TARGET)["Schemas"] == ["py_cat"]
    first = client.list_tables(SchemaPattern="py_cat", TablePattern="%", MaxResults=1, **TARGET)
    assert first["Tables"] == [{"name": "t", "schema": "py_cat", "type": "TABLE"}]
    second = client.list_tables(SchemaPattern="py_cat", TablePattern="%", MaxResults=1, NextToken=first["NextToken"], **TARGET)
    assert second["Tables"] == [{"name": "v", "schema": "py_cat", "type": "VIEW"}]
    assert "NextToken" not in second
    table = client.describe_table(Schema="py_cat", Table="t", **TARGET)
    assert table["TableName"] == "t"
    assert [(c["name"], c["typeName"], c["nullable"], c["length"]) for c in table["ColumnList"]] == [("id", "int4", 0, 0), ("name", "varchar", 1, 9)]
    with pytest.raises(client.exceptions.ValidationException):
        client.list_tables(NextToken="bogus", **TARGET)


def test_unsigned_request_is_refused():
    # AWS refuses a request without a SigV4 signature (MissingAuthenticationToken, HTTP 403) before reading it.
    unsigned = boto3.client(
        "redshift-data",
        endpoint_url=URL,
        region_name="us-east-1",
        config=botocore.config.Config(signature_version=botocore.UNSIGNED),
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        unsigned.list_statements()
    assert e.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
