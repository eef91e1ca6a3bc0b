"""Create every AWS resource the manifest declares, against whatever endpoint boto3 is pointed at (the moto server
for the local platform, in-process moto for integration tests), and return the environment the functions need.

This mirrors what ``infra/`` declares in CDK for the same manifest: tables with their indexes, streams and TTL,
buckets, secrets, KMS keys, the event bus, one queue + dead-letter queue + rule per consumer, the user pool with its
client and groups, and a REST API with a stage for the partner apps' API keys and usage plans to attach to (the
local gateway reads the usage plans back from it and enforces them).
"""

from __future__ import annotations

import json
import secrets as pysecrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import boto3

from functions.accounts.domain import PASSWORD_POLICY
from functions.shared.wiring import Consumer, Platform, Table

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp.type_defs import PasswordPolicyTypeTypeDef


LOCAL_STAGE = "local"


@dataclass
class Created:
    env: dict[str, str] = field(default_factory=dict)
    stream_arns: dict[str, str] = field(default_factory=dict)  # table name -> stream ARN
    queue_urls: dict[str, str] = field(default_factory=dict)  # consumer name -> queue URL
    dlq_urls: dict[str, str] = field(default_factory=dict)  # consumer name -> dead-letter queue URL
    user_pool_id: str = ""
    user_pool_client_id: str = ""


def physical(prefix: str, name: str) -> str:
    return f"{prefix}-{name}"


def _create_table(ddb: Any, name: str, table: Table) -> str | None:
    attrs = {table.partition_key: "S"}
    keys = [{"AttributeName": table.partition_key, "KeyType": "HASH"}]
    if table.sort_key:
        attrs[table.sort_key] = "S"
        keys.append({"AttributeName": table.sort_key, "KeyType": "RANGE"})
    gsis = []
    for index in table.indexes:
        schema = [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
        attrs[index.partition_key] = "S"
        if index.sort_key:
            attrs[index.sort_key] = "S"
            schema.append({"AttributeName": index.sort_key, "KeyType": "RANGE"})
        gsis.append({"IndexName": index.name, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}})
    kwargs: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": t} for a, t in attrs.items()],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if gsis:
        kwargs["GlobalSecondaryIndexes"] = gsis
    if table.stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    description = ddb.create_table(**kwargs)["TableDescription"]
    if table.ttl_attribute:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
        )
    arn: str | None = description.get("LatestStreamArn")
    return arn


def _create_consumer_queue(sqs: Any, events: Any, bus: str, prefix: str, consumer: Consumer, created: Created) -> None:
    dlq_url = sqs.create_queue(QueueName=physical(prefix, f"{consumer.name}-dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(consumer.max_receive_count)}
    url = sqs.create_queue(
        QueueName=physical(prefix, consumer.name),
        Attributes={
            "VisibilityTimeout": str(consumer.visibility_timeout_s),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {
        "source": sorted({p.source for p in consumer.patterns}),
        "detail-type": sorted({d for p in consumer.patterns for d in p.detail_types}),
    }
    rule = physical(prefix, consumer.name)
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    created.queue_urls[consumer.name] = url
    created.dlq_urls[consumer.name] = dlq_url


def create_all(platform: Platform, prefix: str = "shop-local", session: boto3.Session | None = None) -> Created:
    """Create the platform's resources; boto3 clients follow ``AWS_ENDPOINT_URL`` like the handlers do."""
    session = session or boto3.Session()
    ddb, s3, sm = session.client("dynamodb"), session.client("s3"), session.client("secretsmanager")
    sqs, events, idp = session.client("sqs"), session.client("events"), session.client("cognito-idp")
    created = Created()
    env = created.env

    for table in platform.tables:
        name = physical(prefix, table.name)
        stream_arn = _create_table(ddb, name, table)
        if stream_arn:
            created.stream_arns[table.name] = stream_arn
        env[f"{table.name.upper()}_TABLE_NAME"] = name

    for bucket in platform.buckets:
        name = physical(prefix, bucket.name)
        s3.create_bucket(Bucket=name)
        if bucket.browser_uploads:
            s3.put_bucket_cors(
                Bucket=name,
                CORSConfiguration={
                    "CORSRules": [
                        {"AllowedMethods": ["POST", "PUT", "GET"], "AllowedOrigins": ["*"], "AllowedHeaders": ["*"]}
                    ]
                },
            )
        env[f"{bucket.name.upper()}_BUCKET_NAME"] = name

    for secret in platform.secrets:
        arn = sm.create_secret(
            Name=physical(prefix, secret.name), SecretString=pysecrets.token_urlsafe(32), Description=secret.description
        )["ARN"]
        env[f"{secret.name.upper()}_SECRET_ARN"] = arn

    if platform.keys:
        kms = session.client("kms")
        for key in platform.keys:
            key_id = kms.create_key(Description=key.description or key.name)["KeyMetadata"]["KeyId"]
            env[f"{key.name.upper()}_KEY_ID"] = key_id

    # Usage plans attach to a deployed stage; moto needs a method on the API before it deploys one.
    apigw = session.client("apigateway")
    api_id = apigw.create_rest_api(name=physical(prefix, "api"))["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    apigw.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api_id, stageName=LOCAL_STAGE)
    env["REST_API_ID"] = api_id
    env["API_STAGE_NAME"] = LOCAL_STAGE

    bus = physical(prefix, "events")
    events.create_event_bus(Name=bus)
    env["EVENT_BUS_NAME"] = bus
    for context in platform.contexts:
        for consumer in context.consumers:
            _create_consumer_queue(sqs, events, bus, prefix, consumer, created)

    pool = idp.create_user_pool(
        PoolName=physical(prefix, "users"),
        Policies={"PasswordPolicy": cast("PasswordPolicyTypeTypeDef", PASSWORD_POLICY.as_cognito())},
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
    )["UserPool"]
    created.user_pool_id = pool["Id"]
    created.user_pool_client_id = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName=physical(prefix, "web"),
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    for group in platform.user_groups:
        idp.create_group(UserPoolId=pool["Id"], GroupName=group)
    env["USER_POOL_ID"] = created.user_pool_id
    env["USER_POOL_CLIENT_ID"] = created.user_pool_client_id
    return created
