"""The stack of one stage (``Shop-dev``, ``Shop-prod``): the shared resources, and one nested stack per context.

Shared here: the Cognito user pool (email sign-in, the staff groups of DESIGN.md §4) and its app client, the
EventBridge bus with its archive, the platform's secrets, and the REST API (``infra/api.py``). Each context with
anything to deploy becomes a ``ContextStack``. Everything is generated from a ``Platform`` manifest: nothing in
``infra/`` names a route, table or function.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack, Tags
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from functions.accounts.domain import PASSWORD_POLICY, PasswordPolicy
from functions.shared.wiring import Platform
from infra.api import ShopApi
from infra.components.monitoring import PlatformMonitoring
from infra.config import StageConfig
from infra.context_stack import ContextStack, has_infrastructure, pascal
from infra.grants import SharedResources

SECRET_LENGTH = 64

# Exactly what functions/accounts/cognito.py sends with the public SignUp call (email, name): Cognito refuses a
# sign-up that sets an attribute its app client may not write ("A client attempted to write unauthorized
# attribute"). A shopper's access token can change these two with UpdateUserAttributes; an email change then only
# takes effect once verified (keep_original). phone_number is written by PUT /me only, with AdminUpdateUserAttributes.
WEB_CLIENT_WRITE_ATTRIBUTES = frozenset({"email", "name"})
# What the API reads from the ID token (email; email_verified for the verification follow-up), plus what the client
# writes. GET /me reads the profile with AdminGetUser, which these do not limit.
WEB_CLIENT_READ_ATTRIBUTES = WEB_CLIENT_WRITE_ATTRIBUTES | {"email_verified"}

_STANDARD_ATTRIBUTES = {
    "email": "email",
    "email_verified": "email_verified",
    "name": "fullname",
    "phone_number": "phone_number",
}


def stack_name(stage: StageConfig) -> str:
    return f"Shop-{stage.name}"


def password_policy(policy: PasswordPolicy = PASSWORD_POLICY) -> cognito.PasswordPolicy:
    """The accounts context's policy, which the local platform's pool is built from too, so a password accepted
    locally is accepted in AWS and the sign-up handler's own check says exactly what the pool wants."""
    return cognito.PasswordPolicy(
        min_length=policy.minimum_length,
        require_uppercase=policy.require_uppercase,
        require_lowercase=policy.require_lowercase,
        require_digits=policy.require_numbers,
        require_symbols=policy.require_symbols,
    )


def client_attributes(names: frozenset[str]) -> cognito.ClientAttributes:
    """Cognito attribute names (``name``) as CDK's mask (``fullname``)."""
    unknown = names - _STANDARD_ATTRIBUTES.keys()
    if unknown:
        raise ValueError(f"no standard attribute mapping for {sorted(unknown)}")
    return cognito.ClientAttributes().with_standard_attributes(
        **{_STANDARD_ATTRIBUTES[name]: True for name in sorted(names)}
    )


class ShopStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: StageConfig, platform: Platform, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Serverless shop ({stage.name}): API, user pool, event bus and one nested stack per context",
            termination_protection=stage.deletion_protection,
            **kwargs,
        )
        platform.validate()
        self.stage_config = stage
        self.platform = platform
        Tags.of(self).add("project", "serverless-shop")
        Tags.of(self).add("stage", stage.name)

        self._user_pool(platform)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"shop-{stage.name}-events")
        self.bus.archive(
            "Archive",
            description=f"Every event on shop-{stage.name}-events, for replay",
            # An archive needs a pattern; the account matches every event put on the bus.
            event_pattern=events.EventPattern(account=[self.account]),
            retention=Duration.days(stage.bus_archive_retention_days),
        )
        self.secrets: dict[str, secretsmanager.Secret] = {}
        for secret in platform.secrets:
            self.secrets[secret.name] = secretsmanager.Secret(
                self,
                f"{pascal(secret.name)}Secret",
                description=secret.description,
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    password_length=SECRET_LENGTH, exclude_punctuation=True
                ),
                removal_policy=stage.removal_policy,
            )
            NagSuppressions.add_resource_suppressions(
                self.secrets[secret.name],
                [
                    NagPackSuppression(
                        id="AwsSolutions-SMG4",
                        reason="A generated HMAC key read once per container (e.g. the cursor signing key): "
                        "rotating it invalidates every outstanding token signed with it, so it is rotated by "
                        "a planned change, not on a timer.",
                    )
                ],
            )
        self.api = (
            ShopApi(self, "Api", stage=stage, routes=platform.routes, user_pool=self.user_pool)
            if platform.routes
            else None
        )
        # Every alarm of the stage notifies this topic; operators subscribe to it (docs/operations.md).
        self.alarm_topic = sns.Topic(
            self,
            "Alarms",
            display_name=f"shop-{stage.name} alarms",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )
        shared = SharedResources(
            bus=self.bus,
            user_pool=self.user_pool,
            user_pool_client=self.user_pool_client,
            secrets=self.secrets,
            rest_api_id=self.api.rest_api.rest_api_id if self.api else "",
            stage_name=stage.name,
            alarm_topic=self.alarm_topic,
        )
        # The context with the partner authorizer first: the partner routes of the others refer to it.
        ordered = sorted(platform.contexts, key=lambda c: not c.authorizers)
        self.contexts: dict[str, ContextStack] = {}
        for context in ordered:
            if not has_infrastructure(context):
                continue
            self.contexts[context.name] = ContextStack(
                self,
                pascal(context.name),
                context=context,
                stage=stage,
                shared=shared,
                api=self.api.handles if self.api else None,
            )
            authorizer = platform.partner_authorizer
            if self.api and authorizer is not None and authorizer in context.authorizers:
                function = self.contexts[context.name].functions[authorizer.name].target
                self.api.add_partner_authorizer(function, authorizer.identity_headers)
        self.monitoring = PlatformMonitoring(
            self, "Monitoring", stage=stage.name, api_name=f"shop-{stage.name}", topic=self.alarm_topic
        )
        if self.api:
            api_stage = self.api.deploy(c for c in self.contexts.values() if c.methods)
            CfnOutput(self, "ApiUrl", value=api_stage.url_for_path("/"), description="Base URL of the REST API")

        CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.user_pool_client.user_pool_client_id)
        CfnOutput(self, "EventBusName", value=self.bus.event_bus_name)
        for context_stack in self.contexts.values():
            for bucket, distribution in context_stack.distributions.items():
                CfnOutput(
                    self,
                    f"{pascal(bucket)}BaseUrl",
                    value=f"https://{distribution.distribution_domain_name}",
                    description=f"Public base URL of the {bucket} bucket (CloudFront)",
                )

    def _user_pool(self, platform: Platform) -> None:
        stage = self.stage_config
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"shop-{stage.name}-users",
            # The API's SignUp route calls Cognito's public SignUp, then confirms and groups the user as admin.
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            # Ann@Example.com and ann@example.com are one account, at sign-up and at login.
            sign_in_case_sensitive=False,
            # An email change stays pending, the old address in force, until the new one is proven with a code.
            # Cognito only accepts that for an auto-verified attribute ("All attributes in
            # AttributesRequireVerificationBeforeUpdate must exist in AutoVerifiedAttributes"), so email stays
            # auto-verified although the API confirms sign-ups itself: see WEB_CLIENT_WRITE_ATTRIBUTES.
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            keep_original=cognito.KeepOriginalAttrs(email=True),
            # Sent for a changed address, and (while auto-verify is on) once at sign-up, whose code nobody needs.
            user_verification=cognito.UserVerificationConfig(
                email_subject="Your shop verification code",
                email_body="Your verification code is {####}. Enter it in the shop to confirm this email address.",
                email_style=cognito.VerificationEmailStyle.CODE,
            ),
            password_policy=password_policy(),
            # Server-confirmed users have email_verified=false until they verify it, so until then a forgotten
            # password can only be reset by an operator.
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=stage.deletion_protection,
            removal_policy=stage.removal_policy,
        )
        self.user_pool_client = self.user_pool.add_client(
            "WebClient",
            user_pool_client_name=f"shop-{stage.name}-web",
            # Login/refresh go through the API with email + password; no hosted UI, no OAuth redirects.
            auth_flows=cognito.AuthFlow(user_password=True),
            disable_o_auth=True,
            generate_secret=False,
            prevent_user_existence_errors=True,
            # What a token from this client lets its holder write with UpdateUserAttributes, and also what the
            # public SignUp call may set; the server writes everything else with the admin APIs.
            write_attributes=client_attributes(WEB_CLIENT_WRITE_ATTRIBUTES),
            read_attributes=client_attributes(WEB_CLIENT_READ_ATTRIBUTES),
        )
        for group in platform.user_groups:
            cognito.UserPoolGroup(
                self,
                f"{pascal(group)}Group",
                user_pool=self.user_pool,
                group_name=group,
                description=f"Role {group!r} (DESIGN.md §4)",
            )
        NagSuppressions.add_resource_suppressions(
            self.user_pool,
            [
                NagPackSuppression(
                    id="AwsSolutions-COG1",
                    reason="The policy is the platform's sign-up contract, shared with the local pool "
                    "(functions/accounts/domain.PASSWORD_POLICY): at least 8 characters with upper, lower case "
                    "and digits; symbols are not required.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-COG2",
                    reason="The contract's POST /auth/login exchanges email + password for tokens in one call "
                    "(DESIGN.md §5); MFA needs a challenge step the API does not have yet.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-COG8",
                    reason="Cognito threat protection needs the Plus feature plan, a pricing decision for the "
                    "operators; until then the API is throttled per stage.",
                ),
            ],
        )
