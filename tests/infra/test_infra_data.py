"""State and shared resources in the templates: tables, buckets, bus, secrets, user pool, the outbox relay's
stream mapping, per-stage data protection and the per-stack resource budget."""

from __future__ import annotations

import json

from shop_templates import Synth, function_ids_by_handler_name, get_att_targets, props, resources, role_statements

from functions.accounts.domain import PASSWORD_POLICY
from functions.manifest import PLATFORM
from functions.shared.wiring import ContextManifest
from infra.config import STAGES
from infra.context_stack import STREAM_RETRY_ATTEMPTS

# CloudFormation's hard limit is 500 per stack; DESIGN.md §2 wants every stack well under it.
RESOURCE_BUDGET = 400


def _context_with_tables() -> ContextManifest:
    return next(c for c in PLATFORM.contexts if c.tables)


def test_every_stack_stays_well_under_the_resource_limit(stage: Synth) -> None:
    for name, template in stage.templates.items():
        count = len(template["Resources"])
        assert count < RESOURCE_BUDGET, f"{name} has {count} resources"


def test_only_contexts_with_something_to_deploy_get_a_stack(dev: Synth) -> None:
    expected = {c.name for c in PLATFORM.contexts if c.functions or c.tables or c.buckets}
    assert set(dev.nested) == expected
    assert len(resources(dev.parent, "AWS::CloudFormation::Stack")) == len(expected)


def test_tables_follow_the_manifest(stage: Synth) -> None:
    for context in PLATFORM.contexts:
        for table in context.tables:
            (p,) = [
                props(t)
                for t in resources(stage.nested[context.name], "AWS::DynamoDB::Table").values()
                if props(t)["KeySchema"][0]["AttributeName"] == table.partition_key
            ]
            assert p["BillingMode"] == "PAY_PER_REQUEST"
            keys = [(k["AttributeName"], k["KeyType"]) for k in p["KeySchema"]]
            assert keys == [(table.partition_key, "HASH"), *([(table.sort_key, "RANGE")] if table.sort_key else [])]
            indexes = {i["IndexName"]: i for i in p.get("GlobalSecondaryIndexes", [])}
            assert set(indexes) == {i.name for i in table.indexes}
            for index in table.indexes:
                schema = [k["AttributeName"] for k in indexes[index.name]["KeySchema"]]
                assert schema == [index.partition_key, *([index.sort_key] if index.sort_key else [])]
            if table.stream:
                assert p["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
            else:
                assert "StreamSpecification" not in p
            if table.ttl_attribute:
                assert p["TimeToLiveSpecification"] == {"AttributeName": table.ttl_attribute, "Enabled": True}


def test_prod_protects_its_data_and_dev_is_disposable(dev: Synth, prod: Synth) -> None:
    context = _context_with_tables()
    for synth in (dev, prod):
        config = STAGES[synth.stage]
        for table in resources(synth.nested[context.name], "AWS::DynamoDB::Table").values():
            pitr = props(table).get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled", False)
            assert pitr is config.point_in_time_recovery
            assert props(table).get("DeletionProtectionEnabled", False) is config.deletion_protection
            assert table["DeletionPolicy"] == ("Retain" if synth.stage == "prod" else "Delete")
        (pool,) = resources(synth.parent, "AWS::Cognito::UserPool").values()
        assert pool["DeletionPolicy"] == ("Retain" if synth.stage == "prod" else "Delete")
    assert STAGES["prod"].point_in_time_recovery and STAGES["prod"].deletion_protection


def test_buckets_are_private_encrypted_and_tls_only(stage: Synth) -> None:
    for context in PLATFORM.contexts:
        for bucket in context.buckets:
            template = stage.nested[context.name]
            ((bucket_id, b),) = resources(template, "AWS::S3::Bucket").items()
            p = props(b)
            assert p["PublicAccessBlockConfiguration"] == {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            }
            assert p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
            if bucket.browser_uploads:
                (rule,) = p["CorsConfiguration"]["CorsRules"]
                assert "POST" in rule["AllowedMethods"]
            (policy,) = resources(template, "AWS::S3::BucketPolicy").values()
            denies = [
                s
                for s in props(policy)["PolicyDocument"]["Statement"]
                if s["Effect"] == "Deny"
                and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            ]
            assert denies, "bucket must refuse plain HTTP"
            assert get_att_targets(props(policy)["Bucket"], "Arn") or props(policy)["Bucket"] == {"Ref": bucket_id}


def test_the_bus_has_an_archive(stage: Synth) -> None:
    (bus_id,) = resources(stage.parent, "AWS::Events::EventBus")
    (archive,) = resources(stage.parent, "AWS::Events::Archive").values()
    assert get_att_targets(props(archive)["SourceArn"], "Arn") == [bus_id]
    assert props(archive)["RetentionDays"] == STAGES[stage.stage].bus_archive_retention_days
    assert "account" in props(archive)["EventPattern"]


def test_platform_secrets_are_generated(dev: Synth) -> None:
    secrets = resources(dev.parent, "AWS::SecretsManager::Secret")
    assert len(secrets) == len(PLATFORM.secrets)
    for secret in secrets.values():
        assert props(secret)["GenerateSecretString"]["PasswordLength"] >= 32


def test_user_pool_signs_in_by_email_with_the_local_password_policy_and_staff_groups(dev: Synth) -> None:
    ((pool_id, pool),) = resources(dev.parent, "AWS::Cognito::UserPool").items()
    p = props(pool)
    assert p["UsernameAttributes"] == ["email"]
    policy = p["Policies"]["PasswordPolicy"]
    assert policy == {**policy, **PASSWORD_POLICY.as_cognito()}
    assert p["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False  # the API's sign-up calls SignUp
    groups = {props(g)["GroupName"] for g in resources(dev.parent, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == set(PLATFORM.user_groups)
    (client,) = resources(dev.parent, "AWS::Cognito::UserPoolClient").values()
    c = props(client)
    assert set(c["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert c["GenerateSecret"] is False
    assert c["UserPoolId"] == {"Ref": pool_id}


def test_the_outbox_relay_reads_only_filtered_inserts_with_partial_failures(stage: Synth) -> None:
    functions = function_ids_by_handler_name(stage)
    relays = [(c, s) for c in PLATFORM.contexts for s in c.stream_consumers]
    assert relays, "the manifest declares an outbox relay"
    for context, relay in relays:
        template = stage.nested[context.name]
        _, function_id = functions[relay.name]
        (mapping,) = [
            props(m)
            for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
            if props(m)["FunctionName"] == {"Ref": function_id}
        ]
        table = next(t for t in context.tables if t.name == relay.table)
        (pattern,) = (json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"])
        assert pattern == {
            "eventName": list(relay.event_names),
            "dynamodb": {"Keys": {table.partition_key: {"S": [{"prefix": relay.key_prefix}]}}},
        }
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BisectBatchOnFunctionError"] is True
        assert mapping["MaximumRetryAttempts"] == STREAM_RETRY_ATTEMPTS
        assert mapping["BatchSize"] == relay.batch_size
        assert mapping["StartingPosition"] == "TRIM_HORIZON"
        (table_id,) = get_att_targets(mapping["EventSourceArn"], "StreamArn")
        assert template["Resources"][table_id]["Type"] == "AWS::DynamoDB::Table"
        (failures,) = get_att_targets(mapping["DestinationConfig"]["OnFailure"]["Destination"], "Arn")
        assert template["Resources"][failures]["Type"] == "AWS::SQS::Queue"
        statements = role_statements(template, function_id)
        stream_reads = [s for s in statements if "dynamodb:GetRecords" in s.actions]
        assert stream_reads and all(get_att_targets(s.resources, "StreamArn") == [table_id] for s in stream_reads)
