"""POST /admin/promotions: a flash sale. Its units are taken out of the SKU's sellable stock at once and spread over
stock shards sized for ``expected_peak_per_second``; unsold units return when it ends (SettlePromotions)."""

from functions.checkout.manifest import MANIFEST
from functions.checkout.model import Promotion, PromotionInput
from functions.checkout.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/admin/promotions", summary="Create a flash sale", status_code=201)
def create_promotion(body: PromotionInput) -> Promotion:
    return service().create_promotion(body)


handler = entrypoint(app)
