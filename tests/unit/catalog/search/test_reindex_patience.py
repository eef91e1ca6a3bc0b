import pytest

from functions.catalog.search.dynamo import IndexBusy
from functions.catalog.search.reindex import BUSY_PAUSES_S, apply_patiently


class BusyThenFree:
    def __init__(self, busy_times: int) -> None:
        self.busy_times = busy_times
        self.calls = 0

    def apply(self, product: object) -> bool:
        self.calls += 1
        if self.calls <= self.busy_times:
            raise IndexBusy("locked by a live event")
        return True


def test_a_reindex_waits_out_a_live_lock_instead_of_failing_its_page():
    pauses: list[float] = []
    index = BusyThenFree(busy_times=2)
    assert apply_patiently(index, object(), sleep=pauses.append) is True  # type: ignore[arg-type]
    assert pauses == list(BUSY_PAUSES_S[:2])


def test_a_lock_that_outlasts_the_patience_fails_the_page_for_a_later_retry():
    index = BusyThenFree(busy_times=len(BUSY_PAUSES_S) + 1)
    with pytest.raises(IndexBusy):
        apply_patiently(index, object(), sleep=lambda _: None)  # type: ignore[arg-type]
    assert index.calls == len(BUSY_PAUSES_S) + 1
