"""POST /admin/search/reindex: start rebuilding the search index from the catalogue table, while the shop stays live.
Answers 202 at once with the job; the SearchReindexer consumer does the work page by page (see
functions.catalog.search.reindex) and GET /admin/search/reindex/{job_id} shows its progress."""

from functions.catalog.manifest import MANIFEST
from functions.catalog.search.reindex import ReindexJob, reindex_jobs
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/admin/search/reindex", summary="Start a search reindex job", status_code=202)
def start_search_reindex() -> ReindexJob:
    caller = current_auth(app)
    return reindex_jobs().start(started_by=caller.user_id or "unknown")


handler = entrypoint(app)
