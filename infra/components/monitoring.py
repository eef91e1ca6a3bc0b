"""Alarms and the dashboard (issue 8, observability): what an operator is paged for and what they look at.

Every alarm notifies the stage's alarm topic (SNS, TLS-only, encrypted); the operator subscribes to it (docs/
operations.md). Alarms, one rule each:

* API: 5xx responses above 1 % of requests for 5 minutes; p99 latency above 2 s for 5 minutes.
* Lambda: any throttled invocation in the account and region (the concurrency pool is shared by every function).
* Every consumer's dead-letter queue and every stream consumer's failure queue: a message in it (depth > 0).
* Every consumer queue: its oldest message older than 5 minutes (a consumer falling behind or failing).
* Every table: a throttled read or write.
* An audit record that could not be delivered (functions/shared/audit.py logs it whole instead): any, from any
  audited route's log group (a metric filter on each feeds one metric).
* Orders placed: outside the anomaly detection band (2 standard deviations) for 15 minutes, e.g. a storefront
  outage (too few) or a bot (too many).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

METRICS_NAMESPACE = "Shop"  # Powertools metrics (infra/components/function.py)
ORDERS_PLACED = "OrdersPlaced"
PAYMENTS_SUCCEEDED = "PaymentsSucceeded"
PAYMENTS_FAILED = "PaymentsFailed"
STOCK_OUTS = "StockOuts"
BUSINESS_METRICS = (ORDERS_PLACED, PAYMENTS_SUCCEEDED, PAYMENTS_FAILED, STOCK_OUTS)

AUDIT_UNDELIVERED = "AuditRecordsUndelivered"
AUDIT_UNDELIVERED_MESSAGE = "audit record not delivered"  # functions/shared/audit.py
OLDEST_MESSAGE_ALARM_S = 300
FIVE_MINUTES = Duration.minutes(5)
ONE_MINUTE = Duration.minutes(1)


def _notify(alarm: cloudwatch.Alarm | cloudwatch.CfnAlarm, topic: sns.ITopic) -> None:
    if isinstance(alarm, cloudwatch.Alarm):
        alarm.add_alarm_action(actions.SnsAction(topic))
        alarm.add_ok_action(actions.SnsAction(topic))


def queue_alarms(
    scope: Construct, name: str, queue: sqs.IQueue | None, dead_letters: sqs.IQueue, topic: sns.ITopic
) -> None:
    """A dead-letter (or failure) queue with anything in it, and a consumer queue whose oldest message waits."""
    dlq = cloudwatch.Alarm(
        scope,
        "DeadLettersAlarm",
        alarm_description=f"{name}: messages in its dead-letter queue; inspect and redrive (docs/operations.md)",
        metric=dead_letters.metric_approximate_number_of_messages_visible(period=ONE_MINUTE, statistic="Maximum"),
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    _notify(dlq, topic)
    if queue is None:
        return
    age = cloudwatch.Alarm(
        scope,
        "OldestMessageAlarm",
        alarm_description=f"{name}: its oldest message is over {OLDEST_MESSAGE_ALARM_S} s old (falling behind)",
        metric=queue.metric_approximate_age_of_oldest_message(period=ONE_MINUTE, statistic="Maximum"),
        threshold=OLDEST_MESSAGE_ALARM_S,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=5,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    _notify(age, topic)


def table_alarm(scope: Construct, name: str, table: dynamodb.ITable, topic: sns.ITopic) -> None:
    throttled = cloudwatch.MathExpression(
        expression="reads + writes",
        using_metrics={
            "reads": table.metric("ReadThrottleEvents", period=FIVE_MINUTES, statistic="Sum"),
            "writes": table.metric("WriteThrottleEvents", period=FIVE_MINUTES, statistic="Sum"),
        },
        label=f"{name} throttle events",
        period=FIVE_MINUTES,
    )
    alarm = cloudwatch.Alarm(
        scope,
        f"{name}ThrottleAlarm",
        alarm_description=f"table {name}: throttled reads or writes (a hot partition? docs/capacity.md)",
        metric=throttled,
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    _notify(alarm, topic)


def audit_undelivered_filter(scope: Construct, log_group: logs.ILogGroup) -> logs.MetricFilter:
    """Counts the audit records an audited route had to log instead of delivering (the log line keeps the record)."""
    return logs.MetricFilter(
        scope,
        "AuditUndelivered",
        log_group=log_group,
        metric_namespace=METRICS_NAMESPACE,
        metric_name=AUDIT_UNDELIVERED,
        filter_pattern=logs.FilterPattern.string_value("$.message", "=", AUDIT_UNDELIVERED_MESSAGE),
        metric_value="1",
        default_value=0,
    )


class PlatformMonitoring(Construct):
    """The API's and the account's alarms, the orders anomaly alarm and the stage's dashboard."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, api_name: str, topic: sns.ITopic) -> None:
        super().__init__(scope, construct_id)
        dims = {"ApiName": api_name, "Stage": stage}

        def api_metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/ApiGateway",
                metric_name=name,
                dimensions_map=dims,
                statistic=statistic,
                period=FIVE_MINUTES,
            )

        requests = api_metric("Count", "Sum")
        errors_5xx = api_metric("5XXError", "Sum")
        latency_p99 = api_metric("Latency", "p99")
        self.alarms: dict[str, cloudwatch.Alarm | cloudwatch.CfnAlarm] = {}
        self.alarms["Api5xxRate"] = cloudwatch.Alarm(
            self,
            "Api5xxRate",
            alarm_description="More than 1 % of API requests answered 5xx for 5 minutes",
            metric=cloudwatch.MathExpression(
                expression="IF(requests > 0, 100 * errors / requests, 0)",
                using_metrics={"requests": requests, "errors": errors_5xx},
                label="5xx %",
                period=FIVE_MINUTES,
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarms["ApiLatencyP99"] = cloudwatch.Alarm(
            self,
            "ApiLatencyP99",
            alarm_description="API p99 latency above 2 s for 5 minutes",
            metric=latency_p99,
            threshold=2000,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        lambda_throttles = cloudwatch.Metric(
            namespace="AWS/Lambda", metric_name="Throttles", statistic="Sum", period=FIVE_MINUTES
        )
        self.alarms["LambdaThrottles"] = cloudwatch.Alarm(
            self,
            "LambdaThrottles",
            alarm_description="Lambda throttled invocations in this account and region (the concurrency pool)",
            metric=lambda_throttles,
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        orders = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=ORDERS_PLACED,
            dimensions_map={"service": "checkout"},
            statistic="Sum",
            period=FIVE_MINUTES,
        )
        anomaly = cloudwatch.CfnAlarm(
            self,
            "OrdersPlacedAnomaly",
            alarm_description="Orders placed outside their usual band (2 standard deviations) for 15 minutes",
            comparison_operator="LessThanLowerOrGreaterThanUpperThreshold",
            evaluation_periods=3,
            threshold_metric_id="band",
            treat_missing_data="breaching",
            metrics=[
                cloudwatch.CfnAlarm.MetricDataQueryProperty(
                    id="orders",
                    return_data=True,
                    metric_stat=cloudwatch.CfnAlarm.MetricStatProperty(
                        metric=cloudwatch.CfnAlarm.MetricProperty(
                            namespace=METRICS_NAMESPACE,
                            metric_name=ORDERS_PLACED,
                            dimensions=[cloudwatch.CfnAlarm.DimensionProperty(name="service", value="checkout")],
                        ),
                        period=300,
                        stat="Sum",
                    ),
                ),
                cloudwatch.CfnAlarm.MetricDataQueryProperty(
                    id="band", expression="ANOMALY_DETECTION_BAND(orders, 2)", label="expected", return_data=True
                ),
            ],
            alarm_actions=[topic.topic_arn],
            ok_actions=[topic.topic_arn],
        )
        self.alarms["OrdersPlacedAnomaly"] = anomaly
        self.alarms["AuditUndelivered"] = cloudwatch.Alarm(
            self,
            "AuditUndelivered",
            alarm_description="Audit records that could not be delivered; recover them from the routes' logs "
            f"(search {AUDIT_UNDELIVERED_MESSAGE!r}, docs/audit.md)",
            metric=cloudwatch.Metric(
                namespace=METRICS_NAMESPACE, metric_name=AUDIT_UNDELIVERED, statistic="Sum", period=FIVE_MINUTES
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in self.alarms.values():
            _notify(alarm, topic)

        def business(name: str, service: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": service},
                statistic="Sum",
                period=FIVE_MINUTES,
            )

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"shop-{stage}")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Orders placed", left=[orders], width=8),
            cloudwatch.GraphWidget(
                title="Payments",
                left=[business(PAYMENTS_SUCCEEDED, "payments"), business(PAYMENTS_FAILED, "payments")],
                width=8,
            ),
            cloudwatch.GraphWidget(title="Stock-outs", left=[business(STOCK_OUTS, "checkout")], width=8),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[requests, api_metric("4XXError", "Sum"), errors_5xx],
                width=8,
            ),
            cloudwatch.GraphWidget(title="API latency", left=[api_metric("Latency", "p50"), latency_p99], width=8),
            cloudwatch.GraphWidget(
                title="Lambda",
                left=[
                    lambda_throttles,
                    cloudwatch.Metric(
                        namespace="AWS/Lambda", metric_name="Errors", statistic="Sum", period=FIVE_MINUTES
                    ),
                ],
                right=[
                    cloudwatch.Metric(
                        namespace="AWS/Lambda",
                        metric_name="ConcurrentExecutions",
                        statistic="Maximum",
                        period=ONE_MINUTE,
                    )
                ],
                width=8,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Dead-letter queues (depth)",
                left=[
                    cloudwatch.MathExpression(
                        expression='SEARCH(\'{AWS/SQS,QueueName} MetricName="ApproximateNumberOfMessagesVisible" '
                        "DeadLetters', 'Maximum', 60)",
                        label="",
                        period=ONE_MINUTE,
                    )
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Consumers: oldest message (s)",
                left=[
                    cloudwatch.MathExpression(
                        expression="SEARCH('{AWS/SQS,QueueName} MetricName=\"ApproximateAgeOfOldestMessage\"', "
                        "'Maximum', 60)",
                        label="",
                        period=ONE_MINUTE,
                    )
                ],
                width=12,
            ),
        )
