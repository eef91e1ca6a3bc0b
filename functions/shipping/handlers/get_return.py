"""GET /returns/{return_id}: one of my returns, its status and history (requested, approved or rejected, received,
refunded or exchanged). Another shopper's return is a 404."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.shared.http import current_auth, entrypoint, make_resolver
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import ReturnRecord
from functions.shipping.service import service

app = make_resolver(MANIFEST)


@app.get("/returns/<return_id>", summary="One of my returns")
def get_return(return_id: Annotated[str, Path(max_length=64)]) -> ReturnRecord:
    return service().get_return(return_id, str(current_auth(app).user_id))


handler = entrypoint(app)
