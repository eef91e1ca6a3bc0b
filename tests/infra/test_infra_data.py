"""State and shared resources in the templates: tables, buckets, bus, secrets, user pool, the outbox relay's
stream mapping, per-stage data protection and the per-stack resource budget."""

from __future__ import annotations

import json

from shop_templates import (
    Json,
    Synth,
    function_ids_by_handler_name,
    get_att_targets,
    logical_id_of,
    props,
    resources,
    role_statements,
)

from functions.accounts.domain import PASSWORD_POLICY
from functions.manifest import PLATFORM
from functions.shared.wiring import ContextManifest
from infra.config import STAGES
from infra.context_stack import STREAM_RETRY_ATTEMPTS, is_public
from infra.grants import PUBLIC_BASE_URL_ENV
from infra.shop_stack import WEB_CLIENT_READ_ATTRIBUTES

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
            logical_id = logical_id_of(stage.stack.contexts[context.name].tables[table.name])
            p = props(stage.nested[context.name]["Resources"][logical_id])
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


def test_shoppers_cannot_rewrite_their_identity_with_their_own_tokens(stage: Synth) -> None:
    """An access token from the web client may call UpdateUserAttributes on whatever the client can write, so the
    client writes exactly what the public SignUp call sends (functions/accounts/cognito.py: email and name; Cognito
    refuses a sign-up that sets anything else), never phone_number or a verification flag, and an email change
    only takes effect once the new address is verified."""
    (pool,) = resources(stage.parent, "AWS::Cognito::UserPool").values()
    p = props(pool)
    (client,) = resources(stage.parent, "AWS::Cognito::UserPoolClient").values()
    c = props(client)
    assert sorted(c["WriteAttributes"]) == ["email", "name"]
    assert set(c["ReadAttributes"]) == set(WEB_CLIENT_READ_ATTRIBUTES) == {"email", "email_verified", "name"}
    assert p["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}
    # Cognito rejects a pool whose update-verified attributes are not auto-verified (InvalidParameterException).
    assert set(p["UserAttributeUpdateSettings"]["AttributesRequireVerificationBeforeUpdate"]) <= set(
        p["AutoVerifiedAttributes"]
    )
    assert p["UsernameConfiguration"] == {"CaseSensitive": False}
    assert p["AccountRecoverySetting"] == {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]}
    assert "{####}" in p["VerificationMessageTemplate"]["EmailMessage"]
    assert "new account" not in p["VerificationMessageTemplate"]["EmailMessage"]  # it also confirms a changed address


def _distribution_of(template: Json, bucket_id: str) -> tuple[str, Json]:
    distributions = resources(template, "AWS::CloudFront::Distribution")
    found = [
        (logical_id, props(d)["DistributionConfig"])
        for logical_id, d in distributions.items()
        if any(
            get_att_targets(o["DomainName"], "RegionalDomainName") == [bucket_id]
            for o in props(d)["DistributionConfig"]["Origins"]
        )
    ]
    assert len(found) == 1, f"{bucket_id} should sit behind exactly one distribution"
    return found[0]


def test_public_buckets_are_served_by_cloudfront_over_https_with_origin_access_control(stage: Synth) -> None:
    public = [(c, b) for c in PLATFORM.contexts for b in c.buckets if is_public(b)]
    assert public, "the manifest should have a publicly served bucket (product images) to check"
    for context, bucket in public:
        template = stage.nested[context.name]
        bucket_id = logical_id_of(stage.stack.contexts[context.name].buckets[bucket.name])
        distribution_id, config = _distribution_of(template, bucket_id)
        (origin,) = config["Origins"]
        (oac_id,) = get_att_targets(origin["OriginAccessControlId"], "Id")
        oac = props(template["Resources"][oac_id])["OriginAccessControlConfig"]
        assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"]) == ("s3", "always")
        assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy identity
        behaviour = config["DefaultCacheBehavior"]
        assert behaviour["ViewerProtocolPolicy"] == "https-only"
        assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
        assert behaviour["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"  # Managed-CachingOptimized
        # The bucket itself stays private; only this distribution may read it, and only read.
        (policy,) = resources(template, "AWS::S3::BucketPolicy").values()
        allows = [s for s in props(policy)["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
        assert all(s["Principal"] not in ("*", {"AWS": "*"}) for s in allows), allows
        # (dev's other Allow is CDK's bucket emptier, which runs when the stack is deleted.)
        (grant,) = [s for s in allows if s["Principal"] == {"Service": "cloudfront.amazonaws.com"}]
        assert grant["Action"] == "s3:GetObject"
        assert distribution_id in json.dumps(grant["Condition"]["StringEquals"]["AWS:SourceArn"])


def test_functions_using_a_public_bucket_learn_its_cdn_url(dev: Synth) -> None:
    functions = function_ids_by_handler_name(dev)
    checked = 0
    for context in PLATFORM.contexts:
        public = {b.name for b in context.buckets if is_public(b)}
        for spec in context.functions:
            _, function_id = functions[spec.name]
            template = dev.nested[context.name]
            env = props(template["Resources"][function_id])["Environment"]["Variables"]
            served = {u.name for u in spec.uses if u.kind == "bucket"} & public
            if not served:
                assert PUBLIC_BASE_URL_ENV not in env, spec.name
                continue
            (name,) = served
            bucket_id = logical_id_of(dev.stack.contexts[context.name].buckets[name])
            distribution_id, _ = _distribution_of(template, bucket_id)
            assert env[PUBLIC_BASE_URL_ENV] == {
                "Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}]]
            }, spec.name
            checked += 1
    assert checked, "some function should upload to or read a public bucket"


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
