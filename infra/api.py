"""The REST API, split across stacks the way the aws-apigateway README ("Breaking up Methods and Resources across
Stacks") describes.

The shared stack owns the ``RestApi``, the *whole* resource tree (every path part of every manifest route, built
once, because two nested stacks creating the same path part such as ``/admin`` fail at deploy), the CORS
preflights, the Cognito authorizer, the gateway responses, and the deployment + stage. Each context's nested stack
imports the API and the resources its routes sit on and adds only its methods, each integrated with that route's
own function. The deployment depends on every nested stack and its logical id changes whenever an API-shaped input
changes (routes, authorizer, responses, or any nested template), so CloudFormation redeploys the stage exactly then.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsii
from aws_cdk import CfnStack, Duration, NestedStack, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from functions.shared.wiring import PUBLIC, Route
from infra.config import StageConfig, WafConfig

# Mirrors functions.shared.http.CORS (what the handlers answer with); tests/infra keeps the two equal.
CORS_ALLOW_ORIGINS = ("*",)
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Cart-Token")
CORS_EXPOSE_HEADERS = ("Retry-After",)
CORS_MAX_AGE_S = 600


@dataclass(frozen=True)
class ErrorResponse:
    """An answer API Gateway gives by itself (before or instead of a function), in the DESIGN.md §4 error shape."""

    type: apigw.ResponseType
    code: str
    message: str | None  # None: API Gateway's own message, JSON-quoted by $context.error.messageString
    status: str | None = None  # None: keep API Gateway's status
    headers: Mapping[str, str] = field(default_factory=dict)  # static values, quoted as API Gateway wants them

    def body(self) -> str:
        message = "$context.error.messageString" if self.message is None else json.dumps(self.message)
        return f'{{"error":{{"code":{json.dumps(self.code)},"message":{message},"details":[]}}}}'


GATEWAY_RESPONSES: tuple[ErrorResponse, ...] = (
    ErrorResponse(apigw.ResponseType.UNAUTHORIZED, "UNAUTHORIZED", "authentication required", "401"),
    ErrorResponse(apigw.ResponseType.ACCESS_DENIED, "FORBIDDEN", "not allowed", "403"),
    # A gateway response can only carry static headers: a second for a throttled call (a token bucket refills in
    # less), an hour for a spent daily quota (the local gateway, which can, gives the exact seconds to midnight UTC).
    ErrorResponse(
        apigw.ResponseType.THROTTLED, "THROTTLED", "too many requests, retry later", "429", {"Retry-After": "'1'"}
    ),
    ErrorResponse(
        apigw.ResponseType.QUOTA_EXCEEDED,
        "QUOTA_EXCEEDED",
        "daily request quota used up",
        "429",
        {"Retry-After": "'3600'"},
    ),
    ErrorResponse(apigw.ResponseType.REQUEST_TOO_LARGE, "PAYLOAD_TOO_LARGE", "request body is too large", "413"),
    # A REST API answers an unknown path or method with 403 "Missing Authentication Token"; the contract says 404.
    ErrorResponse(apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "NOT_FOUND", "no such route", "404"),
    ErrorResponse(apigw.ResponseType.RESOURCE_NOT_FOUND, "NOT_FOUND", "no such route", "404"),
    ErrorResponse(apigw.ResponseType.INTEGRATION_TIMEOUT, "TIMEOUT", "the request timed out", "504"),
    ErrorResponse(apigw.ResponseType.DEFAULT_4_XX, "BAD_REQUEST", None),
    # Never API Gateway's or a crashed function's own text: it may describe internals.
    ErrorResponse(apigw.ResponseType.DEFAULT_5_XX, "INTERNAL_ERROR", "internal error"),
)


def cors_response_headers() -> dict[str, str]:
    """Gateway responses need CORS headers too, or a browser cannot read a 401/403/429 body."""
    return {
        "Access-Control-Allow-Origin": f"'{','.join(CORS_ALLOW_ORIGINS)}'",
        "Access-Control-Allow-Headers": f"'{','.join(CORS_ALLOW_HEADERS)}'",
        "Access-Control-Expose-Headers": f"'{','.join(CORS_EXPOSE_HEADERS)}'",
    }


def path_prefixes(path: str) -> list[str]:
    """``/admin/products/{id}`` -> ``["/admin", "/admin/products", "/admin/products/{id}"]``."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def is_protected(route: Route) -> bool:
    """Any route that is not PUBLIC needs a verified Cognito token; roles are checked by the function itself."""
    return route.auth is not PUBLIC


@jsii.implements(apigw.IAuthorizer)
class AuthorizerRef:
    """The shared stack's Cognito authorizer, seen from a nested stack (an ``Authorizer`` object can attach to
    one API object only, and each nested stack has its own imported API object)."""

    def __init__(
        self, authorizer_id: str, authorization_type: apigw.AuthorizationType = apigw.AuthorizationType.COGNITO
    ) -> None:
        self._authorizer_id = authorizer_id
        self._authorization_type = authorization_type

    @property
    def authorizer_id(self) -> str:
        return self._authorizer_id

    @property
    def authorization_type(self) -> apigw.AuthorizationType | None:
        return self._authorization_type


@dataclass(frozen=True)
class ApiHandles:
    """What a nested stack needs to add methods to the shared API."""

    rest_api: apigw.IRestApi
    resources: Mapping[str, apigw.IResource]
    authorizer_id: str
    partner_authorizer_id: str = ""


class ShopApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        routes: Sequence[Route],
        user_pool: cognito.IUserPool,
    ) -> None:
        super().__init__(scope, construct_id)
        if not routes:
            raise ValueError("the platform declares no routes: there is no API to build")
        self._stage_config = stage
        self._routes = tuple(routes)
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"shop-{stage.name}",
            description=f"Serverless shop API ({stage.name})",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Partner apps are metered by usage plans through the key the partner authorizer names, never by a key
            # a client sends (an X-API-Key header is ignored).
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER,
            deploy=False,  # the deployment must wait for the nested stacks' methods: see deploy()
            fail_on_warnings=True,
            # Access and execution logs need the account-level CloudWatch role. RETAIN: it is one setting per
            # account and region, shared with any other stage deployed there.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
        )
        self.resources = self._build_tree()
        self.authorizer = apigw.CfnAuthorizer(
            self,
            "CognitoAuthorizer",
            rest_api_id=self.rest_api.rest_api_id,
            name="cognito",
            type="COGNITO_USER_POOLS",
            identity_source="method.request.header.Authorization",
            provider_arns=[user_pool.user_pool_arn],
        )
        self.gateway_responses = [
            self.rest_api.add_gateway_response(
                response.type.response_type,
                type=response.type,
                status_code=response.status,
                response_headers={**cors_response_headers(), **response.headers},
                templates={"application/json": response.body()},
            )
            for response in GATEWAY_RESPONSES
        ]
        self.handles = ApiHandles(self.rest_api, self.resources, self.authorizer.ref)
        self.deployment: apigw.Deployment | None = None
        self.stage: apigw.Stage | None = None
        NagSuppressions.add_resource_suppressions(
            self.rest_api,
            [
                NagPackSuppression(
                    id="AwsSolutions-APIG2",
                    reason=(
                        "Requests are validated in every function from the same pydantic models that produce the "
                        "OpenAPI document, with the DESIGN.md §4 error shape and per-field details (400/422); an "
                        "API Gateway validator would duplicate the schemas and answer in another shape."
                    ),
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM4",
                    reason=(
                        "The account-level API Gateway logging role uses AmazonAPIGatewayPushToCloudWatchLogs, the "
                        "policy API Gateway documents for it; the log groups it writes are created by API Gateway "
                        "per API and stage at run time, so they cannot be named in a narrower policy."
                    ),
                    applies_to=[
                        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                    ],
                ),
            ],
            apply_to_children=True,
        )

    def add_partner_authorizer(self, function: lambda_.IFunction, identity_headers: Sequence[str]) -> ApiHandles:
        """The Lambda REQUEST authorizer of the partner routes; returns the handles with its id. No result cache
        (TTL 0): every signed request has a fresh nonce, so only a replay could ever hit a cache."""
        stack = Stack.of(self)
        authorizer = apigw.CfnAuthorizer(
            self,
            "PartnerAuthorizer",
            rest_api_id=self.rest_api.rest_api_id,
            name="partner-signature",
            type="REQUEST",
            authorizer_uri=(
                f"arn:{stack.partition}:apigateway:{stack.region}:lambda:path/2015-03-31/functions/"
                f"{function.function_arn}/invocations"
            ),
            identity_source=",".join(f"method.request.header.{h}" for h in identity_headers),
            authorizer_result_ttl_in_seconds=0,
        )
        lambda_.CfnPermission(
            self,
            "PartnerAuthorizerInvoke",
            action="lambda:InvokeFunction",
            function_name=function.function_arn,
            principal="apigateway.amazonaws.com",
            source_arn=stack.format_arn(
                service="execute-api", resource=self.rest_api.rest_api_id, resource_name=f"authorizers/{authorizer.ref}"
            ),
        )
        self.partner_authorizer = authorizer
        self.handles = ApiHandles(self.rest_api, self.resources, self.authorizer.ref, authorizer.ref)
        return self.handles

    def _build_tree(self) -> dict[str, apigw.IResource]:
        resources: dict[str, apigw.IResource] = {"/": self.rest_api.root}
        methods_by_path: dict[str, set[str]] = {}
        for route in self._routes:
            methods_by_path.setdefault(route.path, set()).add(route.method.upper())
            for prefix in path_prefixes(route.path):
                if prefix not in resources:
                    parent = resources[prefix.rsplit("/", 1)[0] or "/"]
                    resources[prefix] = parent.add_resource(prefix.rsplit("/", 1)[1])
        # Preflight only where there is something to call, with exactly the methods that exist there.
        for path, methods in sorted(methods_by_path.items()):
            resources[path].add_cors_preflight(
                allow_origins=list(CORS_ALLOW_ORIGINS),
                allow_headers=list(CORS_ALLOW_HEADERS),
                expose_headers=list(CORS_EXPOSE_HEADERS),
                allow_methods=[*sorted(methods), "OPTIONS"],
                max_age=Duration.seconds(CORS_MAX_AGE_S),
            )
        return resources

    def deploy(self, method_stacks: Iterable[NestedStack]) -> apigw.Stage:
        """Deployment + stage, after every nested stack that adds methods."""
        config = self._stage_config
        stacks = list(method_stacks)
        self.deployment = apigw.Deployment(self, "Deployment", api=self.rest_api, description=f"shop-{config.name}")
        # Gateway responses only take effect through a deployment made after them.
        self.deployment.node.add_dependency(*stacks, *self.gateway_responses)
        self.deployment.add_to_logical_id(self._fingerprint())
        for stack in stacks:
            # The nested template's URL carries its content hash: any change to a method, integration or
            # function ARN there gives the deployment a new logical id.
            resource = stack.nested_stack_resource
            if not isinstance(resource, CfnStack):
                raise TypeError(f"{stack.node.path} has no CloudFormation stack resource")
            self.deployment.add_to_logical_id({stack.node.id: resource.template_url})

        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=config.log_retention, removal_policy=config.removal_policy
        )
        self.stage = apigw.Stage(
            self,
            "Stage",
            deployment=self.deployment,
            stage_name=config.name,
            throttling_rate_limit=config.api_rate_limit,
            throttling_burst_limit=config.api_burst_limit,
            method_options=self._route_throttles(),
            tracing_enabled=True,
            metrics_enabled=True,
            logging_level=apigw.MethodLoggingLevel.ERROR,
            data_trace_enabled=False,  # full request/response logging would put tokens and personal data in logs
            access_log_destination=apigw.LogGroupLogDestination(access_logs),
            access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                caller=False,
                http_method=True,
                ip=True,
                protocol=True,
                request_time=True,
                resource_path=True,
                response_length=True,
                status=True,
                user=True,
            ),
        )
        self.rest_api.deployment_stage = self.stage
        if config.waf is not None:
            self.web_acl = self._web_acl(config.waf, self.stage)
        return self.stage

    def _web_acl(self, waf: WafConfig, stage: apigw.Stage) -> wafv2.CfnWebACL:
        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            )

        def managed(name: str, priority: int, count_only: tuple[str, ...] = ()) -> wafv2.CfnWebACL.RuleProperty:
            overrides = [
                wafv2.CfnWebACL.RuleActionOverrideProperty(
                    name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                )
                for rule in count_only
            ]
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name, rule_action_overrides=overrides or None
                    )
                ),
                visibility_config=visibility(name),
            )

        def per_ip(name: str, priority: int, limit: int, path_prefix: str | None) -> wafv2.CfnWebACL.RuleProperty:
            scope_down = None
            if path_prefix is not None:
                scope_down = wafv2.CfnWebACL.StatementProperty(
                    byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                        field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                        positional_constraint="STARTS_WITH",
                        search_string=path_prefix,
                        text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                    )
                )
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                action=wafv2.CfnWebACL.RuleActionProperty(
                    block=wafv2.CfnWebACL.BlockActionProperty(
                        custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                            response_code=429,
                            custom_response_body_key="throttled",
                            response_headers=[
                                wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Retry-After", value="300")
                            ],
                        )
                    )
                ),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=limit, aggregate_key_type="IP", scope_down_statement=scope_down
                    )
                ),
                visibility_config=visibility(name),
            )

        throttled = ErrorResponse(apigw.ResponseType.THROTTLED, "THROTTLED", "too many requests, retry later").body()
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility(f"shop-{self._stage_config.name}"),
            custom_response_bodies={
                "throttled": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=throttled
                )
            },
            rules=[
                per_ip("AuthPerIp", 0, waf.auth_requests_per_5_minutes_per_ip, "/auth/"),
                per_ip("PerIp", 1, waf.requests_per_5_minutes_per_ip, None),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
                # Its 8 KB body limit would refuse a product with many variants; the functions allow 256 KB.
                managed("AWSManagedRulesCommonRuleSet", 3, count_only=("SizeRestrictions_BODY",)),
            ],
        )
        wafv2.CfnWebACLAssociation(self, "WebAclAssociation", resource_arn=stage.stage_arn, web_acl_arn=acl.attr_arn)
        return acl

    def _route_throttles(self) -> dict[str, apigw.MethodDeploymentOptions]:
        by_name = {r.name: r for r in self._routes}
        unknown = sorted(set(self._stage_config.route_throttles) - set(by_name))
        if unknown:
            raise ValueError(f"route throttles for routes that do not exist: {unknown}")
        options = {}
        for name, throttle in sorted(self._stage_config.route_throttles.items()):
            if throttle.rate > self._stage_config.api_rate_limit:
                raise ValueError(f"{name}'s throttle is above the stage's")
            route = by_name[name]
            options[f"{route.path}/{route.method.upper()}"] = apigw.MethodDeploymentOptions(
                throttling_rate_limit=throttle.rate, throttling_burst_limit=throttle.burst
            )
        return options

    def _fingerprint(self) -> dict[str, Any]:
        routes = sorted((r.method.upper(), r.path, r.name, is_protected(r), r.is_partner) for r in self._routes)
        responses = [(r.type.response_type, r.status, r.body(), sorted(r.headers.items())) for r in GATEWAY_RESPONSES]
        digest = hashlib.sha256(
            json.dumps(
                {
                    "routes": routes,
                    "responses": responses,
                    "cors": [CORS_ALLOW_ORIGINS, CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_S],
                },
                sort_keys=True,
            ).encode()
        ).hexdigest()
        return {"api": digest}


def import_api(scope: Construct, handles: ApiHandles, paths: Iterable[str]) -> dict[str, apigw.IResource]:
    """Inside a nested stack: the shared API and the resources at ``paths``, by reference (ids only)."""
    rest_api = apigw.RestApi.from_rest_api_attributes(
        scope,
        "Api",
        rest_api_id=handles.rest_api.rest_api_id,
        root_resource_id=handles.rest_api.rest_api_root_resource_id,
    )
    imported: dict[str, apigw.IResource] = {}
    for path in sorted(set(paths)):
        if path not in handles.resources:
            raise ValueError(f"path {path} is not in the shared API tree")
        imported[path] = apigw.Resource.from_resource_attributes(
            scope,
            "Resource" + hashlib.sha256(path.encode()).hexdigest()[:8],
            resource_id=handles.resources[path].resource_id,
            rest_api=rest_api,
            path=path,
        )
    return imported
