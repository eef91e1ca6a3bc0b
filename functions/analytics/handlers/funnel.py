"""GET /admin/analytics/funnel: product views -> add to cart -> orders placed -> orders paid over the period, each
step's rate from the one before and the overall rate. Counts of events, not of shoppers. Analysts and admins."""

from functions.analytics.handlers._params import From, To
from functions.analytics.manifest import MANIFEST
from functions.analytics.model import FunnelReport
from functions.analytics.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/admin/analytics/funnel", summary="Conversion funnel")
def funnel_report(from_: From = None, to: To = None) -> FunnelReport:
    return service().funnel(from_, to)


handler = entrypoint(app)
