"""Model selection's validation subset: `eval.max_examples` examples spread over the split."""

from rlvr_world.core.subsets import spread


def test_spread_takes_evenly_spaced_examples_from_first_to_last():
    assert spread(list(range(10)), 4) == [0, 3, 6, 9]
    assert spread(list(range(10)), 3) == [0, 5, 9]
    assert spread(list(range(6)), 5) == [0, 1, 3, 4, 5]
    assert spread(list(range(3)), 1) == [0]


def test_spread_keeps_everything_when_the_count_covers_it_or_is_zero():
    assert spread(list(range(5)), 0) == list(range(5))
    assert spread(list(range(5)), 5) == list(range(5))
    assert spread(list(range(5)), 9) == list(range(5))
    assert spread([], 3) == []


def test_spread_sees_every_task_of_a_split_listed_task_by_task():
    # 3 tasks x 36 windows, 32 examples: a prefix would see the first task only
    split = [(task, window) for task in ("push", "lift", "place") for window in range(36)]
    chosen = spread(split, 32)
    assert len(set(chosen)) == 32
    counts = {task: sum(t == task for t, _ in chosen) for task in ("push", "lift", "place")}
    assert all(10 <= n <= 11 for n in counts.values()), counts
