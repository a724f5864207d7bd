"""A result worked out for one model set never answers for another, even one that reuses the
garbage-collected set's id; the memo keeps no set alive."""

from __future__ import annotations

from twin_server.modeling.memo import PerModelSet
from twin_server.modeling.model import ModelSet


def test_a_result_is_found_for_its_own_set_only() -> None:
    memo: PerModelSet[str] = PerModelSet()
    first, second = ModelSet(), ModelSet()
    memo.keep(first, "dtmi:x;1", "of the first")
    assert memo.find(first, "dtmi:x;1") == "of the first"
    assert memo.find(second, "dtmi:x;1") is None
    assert memo.find(first, "dtmi:y;1") is None


def test_a_new_set_with_a_dead_sets_id_gets_no_stale_result() -> None:
    memo: PerModelSet[str] = PerModelSet()
    reused = None
    for _ in range(100):  # CPython soon hands a freed object's memory (and id) to a new one
        old = ModelSet()
        old_id = id(old)
        memo.keep(old, "k", "stale")
        del old  # freed at once (nothing else refers to it)
        new = ModelSet()
        if id(new) == old_id:
            reused = new
            break
    assert reused is not None, "no id was reused: the memo keeps the sets it has seen alive"
    assert memo.find(reused, "k") is None
    assert len(memo) == 0  # the dead sets' results went with them


def test_past_its_limit_a_set_starts_over() -> None:
    memo: PerModelSet[int] = PerModelSet(limit=3)
    models = ModelSet()
    for n in range(3):
        memo.keep(models, n, n)
    assert len(memo) == 3
    memo.keep(models, 3, 3)
    assert len(memo) == 1
    assert memo.find(models, 3) == 3
    assert memo.find(models, 0) is None
