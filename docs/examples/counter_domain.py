"""A minimal domain: a counter. The state is a number n in 0..99, an action adds k, and the
world model predicts the next state, (n + k) mod 100. The whole domain is this file: records,
a text task, a reward, a preset and the bundle that registers them.

Use it from Python (`DOMAINS.register("counter", "counter_domain:DOMAIN")`, then
`rlvr-world train mle --preset counter-debug`) or name it in any config:
`data.domain=counter_domain:DOMAIN`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

from rlvr_world.domains.base import DEBUG_RUN, Domain
from rlvr_world.text.run_data import prepare_text_data
from rlvr_world.text.task import TextTask


def simulate(seed: int, count: int) -> list[dict]:
    """`count` transitions {"id", "state", "add", "next"} from one seed."""
    rng = random.Random(seed)
    records = []
    for i in range(count):
        state, add = rng.randrange(100), rng.randrange(1, 10)
        records.append(
            {"id": f"{seed}-{i}", "state": state, "add": add, "next": (state + add) % 100}
        )
    return records


def save(path: Path, records: Sequence[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line]


def exact(predictions: Sequence[str], references: Sequence[int], contexts=None) -> list[float]:
    """The reward: 1 for the right next state, else 0 (malformed text scores 0, never raises)."""
    return [float(p.strip() == str(r)) for p, r in zip(predictions, references)]


class CounterTask(TextTask):
    """`core.protocols.Task` for the counter: the text parts come from `TextTask`."""

    name = "counter"

    def question(self, record: dict) -> str:
        return f"{record['state']} + {record['add']} ="

    def answer(self, record: dict) -> str:
        return str(record["next"])

    def reference(self, record: dict) -> int:
        return record["next"]

    def context(self, record: dict) -> dict:
        return {"id": record["id"]}

    def score(self, predictions: Sequence[str], examples) -> list[dict]:
        rewards = exact(predictions, [e.reference for e in examples])
        return [{"exact": r} for r in rewards]

    def reward(self, name: str):
        if name != "exact":
            raise ValueError(f"unknown counter reward {name!r}; known: exact")
        return exact

    def summarize(self, scores: Sequence[Mapping[str, float]], examples) -> dict:
        accuracy = sum(s["exact"] for s in scores) / max(len(scores), 1)
        return {"accuracy": accuracy, "selection": accuracy, "examples": len(scores)}


def prepare_task(config, run_dir: Path, init_dir: Path | None = None, log=None) -> CounterTask:
    """The run's data (simulated, or copied from `init_dir`), its BPE and the task."""
    sizes = {"train": 200, "valid": 20, "test": 20}
    splits, tokenizer = prepare_text_data(
        config,
        run_dir,
        init_dir,
        make_splits=lambda: {
            s: simulate(config.seed + i, n) for i, (s, n) in enumerate(sizes.items())
        },
        load=load,
        save=save,
        texts=lambda r: (CounterTask.question(None, r), CounterTask.answer(None, r)),
    )
    return CounterTask(splits, tokenizer)


DOMAIN = Domain(
    name="counter",
    description="a counter: predict n + k mod 100",
    prepare_task=f"{__name__}:prepare_task",
    presets={
        "counter-debug": {
            **DEBUG_RUN,
            "data": {"vocab_size": 300},
            "rlvr": {**DEBUG_RUN["rlvr"], "reward": "exact", "max_new_tokens": 4},
            "eval": {"max_new_tokens": 4},
        }
    },
    quickstart_preset="counter-debug",
)
