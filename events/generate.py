"""Write ``events/schemas/<source>/<DetailType>.json`` from the domain event models (``make schemas``).

The schemas are the published contract for consumers outside this code base (EventBridge schema registry, partner
integrations). ``tests/unit/test_event_schemas.py`` fails when a model and its committed schema drift apart.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

import functions
from functions.shared.events import DomainEvent, registered

SCHEMAS = Path(__file__).resolve().parent / "schemas"


def load_event_modules() -> None:
    """Import every context's ``events`` module so its models register themselves."""
    for info in pkgutil.iter_modules(functions.__path__):
        if info.ispkg:
            try:
                importlib.import_module(f"functions.{info.name}.events")
            except ModuleNotFoundError as exc:
                if exc.name != f"functions.{info.name}.events":
                    raise


def schema_for(source: str, detail_type: str, model: type[DomainEvent]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:shop:events:{source}:{detail_type}",
        "x-eventbridge": {"source": source, "detail-type": detail_type},
        **schema,
    }


def expected() -> dict[Path, str]:
    load_event_modules()
    files = {}
    for (source, detail_type), model in sorted(registered().items()):
        text = json.dumps(schema_for(source, detail_type, model), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        files[SCHEMAS / source / f"{detail_type}.json"] = text
    return files


def main() -> int:
    files = expected()
    for path in SCHEMAS.rglob("*.json"):
        if path not in files:
            path.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} event schemas under {SCHEMAS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
