from functions.shared.ids import is_id, new_id, prefixed


def test_ids_are_26_url_safe_characters():
    value = new_id()
    assert len(value) == 26 and is_id(value)


def test_ids_sort_by_creation_time():
    earlier, later = new_id(now_ms=1_700_000_000_000), new_id(now_ms=1_700_000_000_001)
    assert earlier < later


def test_ids_made_in_the_same_millisecond_differ():
    assert len({new_id(now_ms=1) for _ in range(1000)}) == 1000


def test_prefixed_ids_name_their_kind():
    assert prefixed("prd").startswith("prd_")
