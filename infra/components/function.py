"""The Lambda factory: every function of the app is made here, so runtime, architecture, Powertools settings,
tracing, logging and the role are identical everywhere and differ only by what the manifest says.

Each function gets its own role with no managed policies: it may write to its own log group and send traces, and
every other permission is granted from the manifest's ``uses`` (``infra/grants.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from aws_cdk import Annotations, Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from functions.shared.wiring import Function
from infra.components.code import ARCHITECTURE, FUNCTIONS_DIR, RUNTIME
from infra.config import HotPathScaling, StageConfig

METRICS_NAMESPACE = "Shop"


def handler_source_exists(handler: str) -> bool:
    """Whether the handler's module is in ``functions/`` (read from disk: infra never imports handler code)."""
    module = handler.rsplit(".", 1)[0]
    parts = module.split(".")
    if parts[0] != FUNCTIONS_DIR.name:
        return False
    base = FUNCTIONS_DIR.joinpath(*parts[1:])
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def powertools_environment(service: str, stage: StageConfig) -> dict[str, str]:
    return {
        "POWERTOOLS_SERVICE_NAME": service,
        # Metrics raise at the end of an invocation without a namespace (DESIGN.md §8).
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": stage.log_level,
        # Responses carry personal data (emails, addresses); traces must not copy them.
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "STAGE": stage.name,
    }


class ShopFunction(Construct):
    """One manifest function: log group, role, function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: Function,
        service: str,
        stage: StageConfig,
        code: lambda_.Code,
        layer: lambda_.ILayerVersion,
        environment: Mapping[str, str],
        description: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        clash = set(environment) & set(powertools_environment(service, stage))
        if clash:
            raise ValueError(f"{spec.name}: resource variables {sorted(clash)} clash with the factory's own")

        self.log_group = logs.LogGroup(self, "Logs", retention=stage.log_retention, removal_policy=stage.removal_policy)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{spec.name} ({service}): only what its manifest entry uses",
        )
        # The function's own log group only, instead of AWSLambdaBasicExecutionRole's logs:* on every group.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=code,
            layers=[layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
            environment={**environment, **powertools_environment(service, stage)},
            description=(description or spec.name)[:256],
            # Only where the stage keeps capacity (prod): a new account's concurrency limit can be as low as 10, and
            # AWS refuses a reservation that leaves less than 100 unreserved.
            reserved_concurrent_executions=spec.reserved_concurrency if stage.hot_path is not None else None,
        )
        # What the API, the authorizer or an event source invokes: the function, or its `live` alias when the stage
        # keeps hot functions warm (provisioned concurrency lives on an alias or version, never on $LATEST).
        self.target: lambda_.IFunction = self.function
        self.alias: lambda_.Alias | None = None
        if spec.hot and stage.hot_path is not None:
            self.alias = self._provision(stage.hot_path)
            self.target = self.alias
        if not handler_source_exists(spec.handler):
            Annotations.of(self).add_warning_v2(
                "shop:missing-handler",
                f"{spec.handler}: module not found under functions/; the function will fail when invoked",
            )
        NagSuppressions.add_resource_suppressions(
            self,
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason=(
                        "Pinned to python3.11 on purpose: the shipped bytecode is compiled by the build machine's "
                        "Python 3.11 and the Powertools layer is the python3.11 build; moving runtimes is a "
                        "deliberate change of infra/components/code.RUNTIME and the toolchain together."
                    ),
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason=(
                        "X-Ray PutTraceSegments/PutTelemetryRecords (added by active tracing) support no "
                        "resource-level permissions, so their resource can only be '*'."
                    ),
                    applies_to=["Resource::*"],
                ),
            ],
            apply_to_children=True,
        )

    def _provision(self, scaling: HotPathScaling) -> lambda_.Alias:
        alias = lambda_.Alias(
            self,
            "Live",
            alias_name="live",
            version=self.function.current_version,
            provisioned_concurrent_executions=scaling.provisioned,
        )
        capacity = alias.add_auto_scaling(min_capacity=scaling.provisioned, max_capacity=scaling.maximum)
        capacity.scale_on_utilization(utilization_target=scaling.target_utilization)
        now = datetime.now(UTC)
        for promotion in scaling.promotions:
            if promotion.ends_at <= now:
                continue  # over: a schedule in the past would never fire, and clutters the template
            peak = max(promotion.provisioned, scaling.provisioned)
            capacity.scale_on_schedule(
                f"{promotion.name}Up",
                schedule=appscaling.Schedule.at(promotion.scale_up_at),
                min_capacity=peak,
                max_capacity=max(peak, scaling.maximum),
            )
            capacity.scale_on_schedule(
                f"{promotion.name}Down",
                schedule=appscaling.Schedule.at(promotion.ends_at.astimezone(UTC)),
                min_capacity=scaling.provisioned,
                max_capacity=scaling.maximum,
            )
        return alias

    @property
    def name(self) -> str:
        return self.spec.name
