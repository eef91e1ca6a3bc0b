"""The committed event schemas are the contract: they must match the models exactly (run `make schemas`)."""

import json
from pathlib import Path

import pytest

from events import generate
from functions.shared.events import parse, registered

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "samples"


def test_every_event_model_has_an_up_to_date_schema():
    expected = generate.expected()
    assert expected, "no domain events registered"
    stale = [str(p) for p, text in expected.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    assert not stale, f"schemas differ from their models, run `make schemas`: {stale}"


def test_no_schema_is_left_without_a_model():
    expected = set(generate.expected())
    extra = [p for p in generate.SCHEMAS.rglob("*.json") if p not in expected]
    assert not extra


def test_the_schema_drift_check_would_notice_a_changed_model(tmp_path, monkeypatch):
    (source, detail_type), model = next(iter(sorted(registered().items())))
    schema = generate.schema_for(source, detail_type, model)
    schema["properties"].pop("event_id")
    assert schema != generate.schema_for(source, detail_type, model)


def test_the_eventbridge_sample_is_a_valid_product_created():
    sample = json.loads((SAMPLES / "eventbridge" / "ProductCreated.json").read_text(encoding="utf-8"))
    event = parse(sample["source"], sample["detail-type"], sample["detail"])
    assert event.product.variants[0].sku == "HW-P60-BLK-256"


def test_the_sqs_sample_carries_an_eventbridge_event_in_its_body():
    sample = json.loads((SAMPLES / "sqs" / "ProductCreated.json").read_text(encoding="utf-8"))
    envelope = json.loads(sample["Records"][0]["body"])
    assert parse(envelope["source"], envelope["detail-type"], envelope["detail"]).product.version == 1


def test_unknown_event_types_are_refused():
    with pytest.raises(KeyError):
        parse("shop.catalog", "ProductTeleported", {})
