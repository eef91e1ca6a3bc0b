from functions.shared.relay import PUT_EVENTS_MAX_BYTES, chunks, entry_size


def entry(detail_bytes: int) -> dict:
    return {
        "EventBusName": "bus",
        "Source": "shop.catalog",
        "DetailType": "ProductUpdated",
        "Detail": "x" * detail_bytes,
    }


def test_chunks_hold_at_most_ten_entries():
    pending = [(str(i), entry(100)) for i in range(25)]
    assert [len(c) for c in chunks(pending)] == [10, 10, 5]


def test_chunks_stay_under_the_put_events_request_limit():
    big = [(str(i), entry(120_000)) for i in range(5)]
    sizes = [sum(entry_size(e) for _, e in c) for c in chunks(big)]
    assert all(size <= PUT_EVENTS_MAX_BYTES for size in sizes)
    assert [len(c) for c in chunks(big)] == [2, 2, 1]


def test_chunking_keeps_the_stream_order():
    pending = [(str(i), entry(60_000 if i % 2 else 10)) for i in range(12)]
    assert [seq for c in chunks(pending) for seq, _ in c] == [str(i) for i in range(12)]
