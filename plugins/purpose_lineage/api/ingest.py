"""``POST /api/v1/lineage``: OpenLineage ingestion, compatible with the OpenLineage HTTP transport
and Marquez (201 on success), so that Spark, dbt, Flink or another Airflow feed the same graph.

Point a producer at ``<airflow>/purpose-lineage/`` (trailing slash: the client joins its
``endpoint`` to this URL). Gzip bodies (``compression: gzip``) are accepted. A malformed event
gets 400 and a reason, and nothing of it is stored: the event is parsed whole, then written in
one transaction (or spooled, when the store is unreachable: still 201, ``status: spooled``).

No ``from __future__ import annotations``: FastAPI reads the annotations at runtime.
"""

import gzip
import json
import logging
import zlib

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

from purpose_lineage.api.deps import StoreDep, require_auth
from purpose_lineage.api.schemas import IngestResponse
from purpose_lineage.errors import LineageEventError, StoreError
from purpose_lineage.store.ol_events import parse_event

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024

ingest_router = APIRouter(tags=["ingestion"], dependencies=[Depends(require_auth)])


@ingest_router.post(
    "/api/v1/lineage",
    status_code=status.HTTP_201_CREATED,
    response_model=IngestResponse,
    responses={400: {"description": "Malformed event; nothing was stored"}},
)
async def post_lineage(request: Request, store: StoreDep) -> IngestResponse:
    """Store one OpenLineage event (RunEvent, JobEvent or DatasetEvent), all or nothing."""
    body = await request.body()
    encoding = request.headers.get("content-encoding", "").lower()
    if encoding in ("gzip", "deflate"):
        try:
            body = gzip.decompress(body) if encoding == "gzip" else zlib.decompress(body)
        except (OSError, EOFError, zlib.error):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"body is not valid {encoding}") from None
    if len(body) > MAX_BODY:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "event larger than 64 MiB")
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is not a JSON document") from None
    try:
        batch = parse_event(doc)
    except LineageEventError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"malformed OpenLineage event: {exc}") from None
    try:
        stored = await run_in_threadpool(store.record_batch, batch)
    except StoreError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"event cannot be stored: {exc}") from None
    return IngestResponse(
        status="stored" if stored else "spooled", run_id=batch.run.run_id if batch.run else None
    )
