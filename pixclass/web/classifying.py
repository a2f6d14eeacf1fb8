"""Classifying uploaded images: receive them, then ``services.classify.classify_files``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from pixclass.errors import InputError
from pixclass.io.imageset import SkippedImage
from pixclass.services.classify import Classified, classify_files, classify_target
from pixclass.web.uploads import UploadLimits, receive_upload, upload_folder

if TYPE_CHECKING:
    from pixclass.web.deps import AppContext

# Classifying is for a few images at a time; more belong in an upload and a run.
MAX_CLASSIFY_FILES = 1000
ZIP_REFUSED = "a .zip cannot be classified here; add it on the Upload page"


async def classify_upload(
    request: Request, ctx: AppContext, collection_id: int, run_id: int | None
) -> tuple[list[Classified], int]:
    """Receive the request's files and classify them; returns the results and the run used."""
    collection, chosen = await run_in_threadpool(classify_target, ctx.store, collection_id, run_id)
    limits = UploadLimits.from_settings(ctx.settings)
    with upload_folder(ctx.settings) as folder:
        received = await receive_upload(request, folder, limits)
        images = received.images()
        refused = [
            *received.rejected,
            *(SkippedImage(name, ZIP_REFUSED) for name in received.zips_named()),
        ]
        if not images and not refused:
            raise InputError("choose one or more image files to classify")
        if len(images) > MAX_CLASSIFY_FILES:
            raise InputError(
                f"classify at most {MAX_CLASSIFY_FILES} images at once; upload larger sets "
                "on the Upload page and start a run"
            )
        files = [(name, folder / name) for name in images]
        results = []
        if files:
            results = await run_in_threadpool(
                classify_files, ctx.store, collection.name, chosen, files, ctx.settings
            )
    skipped = [Classified(s.path, None, False, None, None, 0.0, False, s.reason) for s in refused]
    return results + skipped, chosen
