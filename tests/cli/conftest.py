"""What the command-line tests share."""

import pytest

HEADLINE_FIELDS = {"metric", "higher_is_better", "mle", "rlvr", "relative_gain", "ci95", "examples"}


@pytest.fixture
def headline_of():
    """A bench or quickstart result's `headline`, checked to hold every field."""

    def read(result: dict) -> dict:
        head = result["headline"]
        assert HEADLINE_FIELDS <= set(head), sorted(head)
        return head

    return read
