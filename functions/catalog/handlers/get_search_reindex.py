"""GET /admin/search/reindex/{job_id}: a reindex job's progress (status, pages, products), read consistently."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.catalog.manifest import MANIFEST
from functions.catalog.search.reindex import ReindexJob, reindex_jobs
from functions.shared.errors import NotFound
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/admin/search/reindex/<job_id>", summary="A search reindex job's progress")
def get_search_reindex(job_id: Annotated[str, Path(max_length=64)]) -> ReindexJob:
    job = reindex_jobs().get(job_id, consistent=True)
    if job is None:
        raise NotFound(f"no reindex job {job_id}", code="REINDEX_JOB_NOT_FOUND")
    return job


handler = entrypoint(app)
