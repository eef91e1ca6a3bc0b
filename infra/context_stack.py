"""One nested stack per bounded context: its tables and buckets, one function per route / consumer / stream
consumer / schedule, the API methods of its routes, and the event plumbing of its consumers.

A context gets its own stack to keep every template far from CloudFormation's 500-resource limit (DESIGN.md §2);
what it shares (bus, user pool, secrets, the API and its resource tree) comes from the parent as references.
"""

from __future__ import annotations

import re

from aws_cdk import Duration, NestedStack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_logs_destinations as log_destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from functions.shared.wiring import (
    MAX_SUBSCRIPTIONS_PER_LOG_GROUP,
    Authorizer,
    Bucket,
    Consumer,
    ContextManifest,
    Key,
    LogSubscription,
    Route,
    Schedule,
    StreamConsumer,
    Table,
)
from infra.api import CORS_ALLOW_ORIGINS, ApiHandles, AuthorizerRef, import_api, is_protected
from infra.components.code import function_code, powertools_layer
from infra.components.function import ShopFunction
from infra.components.monitoring import audit_undelivered_filter, queue_alarms, table_alarm
from infra.config import StageConfig
from infra.grants import Resources, SharedResources, TableBinding, logical_id

# A stream batch that keeps failing is split (bisect) and retried this often before its position goes to the
# failure queue; outbox items stay in the table for a day, so a stuck record can be replayed from there.
STREAM_RETRY_ATTEMPTS = 10
# SQS long enough to inspect and redrive what failed.
DEAD_LETTER_RETENTION = Duration.days(14)
# A timer fires again soon: a tick that keeps failing is dropped rather than piling up behind newer ticks.
SCHEDULE_RETRY_ATTEMPTS = 2


def pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", name) if part)


def has_infrastructure(context: ContextManifest) -> bool:
    return bool(context.functions or context.tables or context.buckets or context.keys)


def is_public(bucket: Bucket) -> bool:
    """Served to anonymous shoppers through CloudFront. The manifest has no flag of its own for that yet: the one
    kind of bucket browsers upload to (product images) is the kind they read back."""
    return bucket.browser_uploads


def secure_queue(
    scope: Construct,
    construct_id: str,
    *,
    retention_period: Duration | None = None,
    visibility_timeout: Duration | None = None,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=retention_period,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=dead_letter_queue,
    )


class ContextStack(NestedStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: ContextManifest,
        stage: StageConfig,
        shared: SharedResources,
        api: ApiHandles | None,
    ) -> None:
        super().__init__(scope, construct_id, description=f"shop-{stage.name} {context.name}: {context.description}")
        self.context = context
        self.stage_config = stage
        self.tables: dict[str, dynamodb.Table] = {t.name: self._table(t) for t in context.tables}
        self.alarm_topic = shared.alarm_topic
        if self.alarm_topic is not None:
            for name, table in self.tables.items():
                table_alarm(self, pascal(name), table, self.alarm_topic)
        self.buckets: dict[str, s3.Bucket] = {b.name: self._bucket(b) for b in context.buckets}
        self.keys: dict[str, kms.Key] = {k.name: self._key(k) for k in context.keys}
        self.distributions: dict[str, cloudfront.Distribution] = {
            b.name: self._distribution(b, self.buckets[b.name]) for b in context.buckets if is_public(b)
        }
        self.resources = Resources(
            shared,
            tables={
                t.name: TableBinding(self.tables[t.name], tuple(i.name for i in t.indexes)) for t in context.tables
            },
            buckets=self.buckets,
            keys=self.keys,
            public_urls={name: f"https://{d.distribution_domain_name}" for name, d in self.distributions.items()},
        )
        self._code = function_code()
        self._layer = powertools_layer(self)

        self.functions: dict[str, ShopFunction] = {}
        for authorizer in context.authorizers:
            self._function(authorizer, description="Checks signed partner requests (API Gateway REQUEST authorizer)")
        for route in context.routes:
            summary = f"{route.method.upper()} {route.path}" + (f": {route.summary}" if route.summary else "")
            self._function(route, description=summary)
        for consumer in context.consumers:
            self._consumer(consumer, self._function(consumer))
        for stream_consumer in context.stream_consumers:
            self._stream_consumer(stream_consumer, self._function(stream_consumer))
        for schedule in context.schedules:
            self._schedule(schedule, self._function(schedule))
        self.subscription_filters: dict[str, list[logs.SubscriptionFilter]] = {}
        for subscription in context.log_subscriptions:
            self._log_subscription(subscription, self._function(subscription))

        self.methods: dict[str, apigw.Method] = {}
        if context.routes:
            if api is None:
                raise ValueError(f"context {context.name} has routes but no API was given")
            self._methods(context.routes, api)

    # --- storage ------------------------------------------------------------------------------------------------

    def _table(self, spec: Table) -> dynamodb.Table:
        stage = self.stage_config
        table = dynamodb.Table(
            self,
            f"{pascal(spec.name)}Table",
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=(
                dynamodb.Attribute(name=spec.sort_key, type=dynamodb.AttributeType.STRING) if spec.sort_key else None
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=stage.point_in_time_recovery
            ),
            deletion_protection=stage.deletion_protection,
            removal_policy=stage.removal_policy,
            stream=dynamodb.StreamViewType.NEW_IMAGE if spec.stream else None,
            time_to_live_attribute=spec.ttl_attribute,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(name=index.partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=(
                    dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING)
                    if index.sort_key
                    else None
                ),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        if not stage.point_in_time_recovery:
            NagSuppressions.add_resource_suppressions(
                table,
                [
                    NagPackSuppression(
                        id="AwsSolutions-DDB3",
                        reason=f"Stage {stage.name} is disposable (DESTROY on delete, re-seeded by the seed data); "
                        "point-in-time recovery is enabled where data matters (prod, infra/config.py).",
                    )
                ],
            )
        return table

    def _key(self, spec: Key) -> kms.Key:
        return kms.Key(
            self,
            f"{pascal(spec.name)}Key",
            description=f"shop-{self.stage_config.name} {spec.description or spec.name}",
            enable_key_rotation=True,
            removal_policy=self.stage_config.removal_policy,
        )

    def _bucket(self, spec: Bucket) -> s3.Bucket:
        stage = self.stage_config
        cors = (
            [
                # Presigned POST uploads straight from the back-office browser (mirrors local/resources.py).
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST, s3.HttpMethods.PUT, s3.HttpMethods.GET],
                    allowed_origins=list(CORS_ALLOW_ORIGINS),
                    allowed_headers=["*"],
                )
            ]
            if spec.browser_uploads
            else None
        )
        bucket = s3.Bucket(
            self,
            f"{pascal(spec.name)}Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            cors=cors,
            removal_policy=stage.removal_policy,
            # A non-empty bucket cannot be deleted: in a disposable stage, empty it with the stack.
            auto_delete_objects=stage.is_disposable,
        )
        NagSuppressions.add_resource_suppressions(
            bucket,
            [
                NagPackSuppression(
                    id="AwsSolutions-S1",
                    reason="Writes only happen through presigned uploads issued by a function that logs the staff "
                    "user, product and object key; reads go through the API. Server access logs would duplicate "
                    "that audit trail in a second bucket.",
                )
            ],
        )
        return bucket

    def _distribution(self, spec: Bucket, bucket: s3.Bucket) -> cloudfront.Distribution:
        """The bucket stays private (BLOCK_ALL): only this distribution reads it, signed with Origin Access Control
        (the bucket policy's AWS:SourceArn condition names the distribution)."""
        distribution = cloudfront.Distribution(
            self,
            f"{pascal(spec.name)}Cdn",
            comment=f"shop-{self.stage_config.name} {spec.name} (public, read only)",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(
                    bucket, origin_access_levels=[cloudfront.AccessLevel.READ]
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                # Keys are generated per upload and never rewritten, so an object may be cached as long as it lives.
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
        )
        NagSuppressions.add_resource_suppressions(
            distribution,
            [
                NagPackSuppression(
                    id="AwsSolutions-CFR1",
                    reason=f"The {spec.name} distribution serves public product images to any storefront visitor; "
                    "where the shop sells is decided at checkout and shipping, not by hiding pictures.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-CFR2",
                    reason=f"The {spec.name} distribution only answers GET/HEAD for static objects of a private "
                    "bucket (no application behind it, no query strings or cookies forwarded): a WAF would have "
                    "nothing to inspect but would be billed per request.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-CFR3",
                    reason=f"The {spec.name} distribution serves anonymous, public images (no personal data, no "
                    "credentials); CloudFront's built-in CloudWatch metrics cover traffic and errors, and every "
                    "write is logged by the upload function. Standard logs would need an ACL-enabled log bucket.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-CFR4",
                    reason="With the default *.cloudfront.net certificate CloudFront fixes the viewer security policy "
                    "at TLSv1 and it cannot be raised; a custom domain with an ACM certificate (us-east-1) is an "
                    "operator decision. The content is public, served HTTPS only, and no credential travels on it.",
                ),
            ],
        )
        return distribution

    # --- functions ----------------------------------------------------------------------------------------------

    def _function(
        self,
        spec: Route | Consumer | StreamConsumer | Schedule | LogSubscription | Authorizer,
        description: str = "",
    ) -> ShopFunction:
        function = ShopFunction(
            self,
            spec.name,
            spec=spec,
            service=self.context.name,
            stage=self.stage_config,
            code=self._code,
            layer=self._layer,
            environment={**self.resources.environment(spec.uses), **self._settings()},
            description=description,
        )
        for use in spec.uses:
            self.resources.grant(function.function, use)
        if isinstance(spec, Route) and spec.audited:
            audit_undelivered_filter(function, function.log_group)
        self.functions[spec.name] = function
        return function

    def _settings(self) -> dict[str, str]:
        """The shop settings this context declares, as this stage sets them (infra/config.py)."""
        return {k: v for k, v in self.stage_config.shop_settings.items() if k in self.context.settings}

    def _methods(self, routes: tuple[Route, ...], api: ApiHandles) -> None:
        resources = import_api(self, api, [r.path for r in routes])
        cognito_authorizer = AuthorizerRef(api.authorizer_id)
        for route in routes:
            protected = is_protected(route)
            authorizer: AuthorizerRef | None = cognito_authorizer if protected else None
            if route.is_partner:
                if not api.partner_authorizer_id:
                    raise ValueError(f"{route.name} is a partner route but the API has no partner authorizer")
                authorizer = AuthorizerRef(api.partner_authorizer_id, apigw.AuthorizationType.CUSTOM)
            method = resources[route.path].add_method(
                route.method.upper(),
                # Only this route's function, and its permission only for this method and path.
                apigw.LambdaIntegration(self.functions[route.name].target, allow_test_invoke=False),
                authorization_type=authorizer.authorization_type if authorizer else apigw.AuthorizationType.NONE,
                authorizer=authorizer,
                # Partner calls are metered by the app's usage plan; the key comes from the authorizer.
                api_key_required=route.is_partner,
                operation_name=route.name,
            )
            if route.is_partner:
                NagSuppressions.add_resource_suppressions(
                    method,
                    [
                        NagPackSuppression(
                            id="AwsSolutions-COG4",
                            reason=f"{route.name} is a partner route: partner apps are not Cognito users; every "
                            "request is checked by the partner REQUEST authorizer (HMAC-SHA256 signature, "
                            "timestamp window, single-use nonce, scope) and metered by the app's usage plan.",
                        )
                    ],
                )
            elif not protected:
                NagSuppressions.add_resource_suppressions(
                    method,
                    [
                        NagPackSuppression(
                            id=rule,
                            reason=f"{route.name} is PUBLIC in the {self.context.name} manifest: anonymous "
                            "storefront reads, sign-up/login/refresh, or sender-signed callbacks that the "
                            "function verifies itself.",
                        )
                        for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4")
                    ],
                )
            self.methods[route.name] = method

    # --- event plumbing -----------------------------------------------------------------------------------------

    def _consumer(self, spec: Consumer, function: ShopFunction) -> None:
        if not spec.patterns:
            raise ValueError(f"consumer {spec.name} subscribes to no events")
        if spec.visibility_timeout_s < spec.timeout_s:
            # Lambda refuses an SQS event source whose visibility timeout is shorter than the function timeout.
            raise ValueError(f"consumer {spec.name}: visibility_timeout_s must be >= timeout_s")
        scope = Construct(self, f"{spec.name}Events")
        dead_letters = secure_queue(scope, "DeadLetters", retention_period=DEAD_LETTER_RETENTION)
        queue = secure_queue(
            scope,
            "Queue",
            visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=spec.max_receive_count, queue=dead_letters),
        )
        # One rule with the union of the patterns, exactly as local/resources.py subscribes the local queue.
        events.Rule(
            scope,
            "Rule",
            event_bus=self.resources.shared.bus,
            description=f"{spec.name} ({self.context.name})",
            event_pattern=events.EventPattern(
                source=sorted({p.source for p in spec.patterns}),
                detail_type=sorted({d for p in spec.patterns for d in p.detail_types}),
            ),
            targets=[targets.SqsQueue(queue)],
        )
        if self.alarm_topic is not None:
            queue_alarms(scope, spec.name, queue, dead_letters, self.alarm_topic)
        if spec.timer:
            # A timer consumer postpones messages on its own queue (the event source's grant covers the call).
            function.function.add_environment("CONSUMER_QUEUE_URL", queue.queue_url)
        function.function.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=spec.batch_size,
                report_batch_item_failures=True,
                max_concurrency=spec.max_concurrency,
                # Batches above 10 messages are only possible with a batching window.
                max_batching_window=Duration.seconds(1) if spec.batch_size > 10 else None,
            )
        )

    def _stream_consumer(self, spec: StreamConsumer, function: ShopFunction) -> None:
        table_spec = next((t for t in self.context.tables if t.name == spec.table), None)
        if table_spec is None or not table_spec.stream:
            raise ValueError(f"{spec.name} reads the stream of {spec.table!r}, which has no stream")
        pattern: dict[str, object] = {"eventName": lambda_.FilterRule.or_(*spec.event_names)}
        if spec.key_prefix:
            pattern["dynamodb"] = {
                "Keys": {table_spec.partition_key: {"S": lambda_.FilterRule.begins_with(spec.key_prefix)}}
            }
        table = self.tables[spec.table]
        stream_arn = table.table_stream_arn
        if stream_arn is None:
            raise ValueError(f"table {spec.table} has no stream")
        # What the event source needs, on this table's stream only (CDK's DynamoEventSource would add
        # dynamodb:ListStreams on "*"). AWS documents ListStreams scoped to <table>/stream/*.
        function.role.add_to_policy(
            iam.PolicyStatement(
                actions=["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                resources=[stream_arn],
            )
        )
        function.role.add_to_policy(
            iam.PolicyStatement(actions=["dynamodb:ListStreams"], resources=[f"{table.table_arn}/stream/*"])
        )
        NagSuppressions.add_resource_suppressions(
            function.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason=f"dynamodb:ListStreams on the streams of the {spec.table} table only, the scope AWS "
                    "documents for a Lambda stream consumer; a stream's own ARN is not known before it exists.",
                    applies_to=[f"Resource::<{logical_id(table)}.Arn>/stream/*"],
                )
            ],
            apply_to_children=True,
        )
        failures = secure_queue(self, f"{spec.name}Failures", retention_period=DEAD_LETTER_RETENTION)
        if self.alarm_topic is not None:
            queue_alarms(Construct(self, f"{spec.name}Alarms"), spec.name, None, failures, self.alarm_topic)
        NagSuppressions.add_resource_suppressions(
            failures,
            [
                NagPackSuppression(
                    id="AwsSolutions-SQS3",
                    reason=f"This queue is itself the dead-letter destination of {spec.name}'s stream event "
                    "source (on-failure destination of records that exhausted their retries).",
                )
            ],
        )
        function.function.add_event_source_mapping(
            "StreamSource",
            event_source_arn=stream_arn,
            # From the oldest record still in the stream: events written before the mapping existed (first
            # deploy, a replaced mapping) are still delivered; consumers de-duplicate on event_id.
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=spec.batch_size,
            bisect_batch_on_error=True,
            retry_attempts=STREAM_RETRY_ATTEMPTS,
            report_batch_item_failures=True,
            on_failure=sources.SqsDlq(failures),
            filters=[lambda_.FilterCriteria.filter(pattern)],
        )

    def _schedule(self, spec: Schedule, function: ShopFunction) -> None:
        if spec.rate_minutes < 1:
            raise ValueError(f"schedule {spec.name}: rate_minutes must be at least 1")
        events.Rule(
            self,
            f"{spec.name}Timer",
            description=f"{spec.name} every {spec.rate_minutes} min",
            schedule=events.Schedule.rate(Duration.minutes(spec.rate_minutes)),
            targets=[
                targets.LambdaFunction(
                    function.function,
                    retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
                    max_event_age=Duration.minutes(max(1, spec.rate_minutes)),
                )
            ],
        )

    def _log_subscription(self, spec: LogSubscription, function: ShopFunction) -> None:
        """One subscription filter per source log group, delivering the JSON lines with any of the keys."""
        if not spec.sources or not spec.keys:
            raise ValueError(f"log subscription {spec.name} needs sources and keys")
        pattern = logs.FilterPattern.any(*(logs.FilterPattern.exists(f"$.{key}") for key in spec.keys))
        destination = log_destinations.LambdaDestination(function.function)
        for source in spec.sources:
            if source not in self.functions:
                raise ValueError(f"log subscription {spec.name}: no function {source} in {self.context.name}")
            made = self.subscription_filters.setdefault(source, [])
            if len(made) >= MAX_SUBSCRIPTIONS_PER_LOG_GROUP:
                # CloudWatch Logs refuses a third filter at deploy time; fail at synth instead.
                raise ValueError(
                    f"{source}'s log group would get more than {MAX_SUBSCRIPTIONS_PER_LOG_GROUP} subscription filters"
                )
            made.append(
                logs.SubscriptionFilter(
                    self,
                    f"{spec.name}From{source}",
                    log_group=self.functions[source].log_group,
                    destination=destination,
                    filter_pattern=pattern,
                    filter_name=f"{spec.name}-{source}",
                )
            )
