"""Business metrics (issue 8): counts the dashboard and the alarms read, as CloudWatch embedded-metric-format log
lines (Powertools), so recording one costs no API call and nothing the response waits on.

Namespace ``POWERTOOLS_METRICS_NAMESPACE`` (``Shop``), one dimension ``service`` (the context, as the CDK factory
sets ``POWERTOOLS_SERVICE_NAME``). The names are infra/components/monitoring.BUSINESS_METRICS'.
"""

from __future__ import annotations

import os

from aws_lambda_powertools.metrics import MetricUnit, single_metric

ORDERS_PLACED = "OrdersPlaced"
PAYMENTS_SUCCEEDED = "PaymentsSucceeded"
PAYMENTS_FAILED = "PaymentsFailed"
STOCK_OUTS = "StockOuts"


def count(name: str, value: int = 1) -> None:
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "shop")
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Shop")
    with single_metric(
        name=name, unit=MetricUnit.Count, value=value, namespace=namespace, default_dimensions={"service": service}
    ):
        pass
