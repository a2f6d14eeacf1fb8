"""Collections and their images: open the store, create, list, rename settings, delete, page
through images. Each of these is one store query or transaction, so this module names them for
the web app and the CLI, which reach the database only through ``pixclass.services``."""

from __future__ import annotations

from pixclass.store.browse import (
    collection_by_id,
    collection_covers,
    images_page,
)
from pixclass.store.collections import (
    CollectionInfo,
    create_collection,
    delete_collection,
    find_collection_id,
    get_collection,
    list_collections,
    update_collection_settings,
)
from pixclass.store.connect import (
    open_store,
)
from pixclass.store.db import (
    DatabaseUnavailableError,
    Store,
)
from pixclass.store.images import (
    ImageRecord,
    get_image,
    get_thumbnail,
    image_names,
    list_images,
    read_image_bytes,
)

__all__ = [
    "CollectionInfo",
    "DatabaseUnavailableError",
    "ImageRecord",
    "Store",
    "collection_by_id",
    "collection_covers",
    "create_collection",
    "delete_collection",
    "find_collection_id",
    "get_collection",
    "get_image",
    "get_thumbnail",
    "image_names",
    "images_page",
    "list_collections",
    "list_images",
    "open_store",
    "read_image_bytes",
    "update_collection_settings",
]
