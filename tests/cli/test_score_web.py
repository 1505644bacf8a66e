"""`rlvr-world score web`: item F1 of any model's predicted page changes."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlvr_world.cli import main
from rlvr_world.text.records import DataError

GOLD = {
    "a": "New items:\n[5] alert 'Saved'\n[6] button 'OK'\n\nDeleted items:\nNone\n\n"
    "Updated items:\nNone",
    "b": "New items:\nNone\n\nDeleted items:\n[3] link 'Home'\n\nUpdated items:\nNone",
}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_score_web_jsonl(tmp_path, capsys):
    data = write_jsonl(
        tmp_path / "d.jsonl", [{"id": k, "ground_truth": v} for k, v in GOLD.items()]
    )
    # a: half right (worked out below); b: exact; z: no such row
    pred_a = "I click Save.\nNew items:\n[5] alert 'Saved'\n[9] dialog 'x'\n\nDeleted items:\nNone"
    preds = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": "a", "response": pred_a},
            {"id": "b", "response": GOLD["b"]},
            {"id": "z", "response": ""},
        ],
    )
    out = tmp_path / "s.jsonl"
    assert (
        main(["score", "web", "--data", str(data), "--predictions", str(preds), "--out", str(out)])
        == 0
    )
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    # a: predicted {new: alert, dialog; deleted: None} (3 items), gold {new: alert, OK;
    # deleted: None; updated: None} (4 items); matches alert + None = 2: P 2/3, R 2/4
    assert rows["a"]["precision"] == pytest.approx(2 / 3)
    assert rows["a"]["recall"] == pytest.approx(0.5)
    assert rows["a"]["reward"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert rows["b"]["reward"] == 1.0
    summary = json.loads(capsys.readouterr().out)
    assert summary["scored"] == 2 and summary["unknown_ids"] == 1
    assert summary["f1"] == pytest.approx((rows["a"]["reward"] + 1.0) / 2)


def test_score_web_rl_parquet(tmp_path):
    data = tmp_path / "d.parquet"
    rows = [
        {
            "prompt": [{"role": "user", "content": "Q"}],
            "reward_model": {"ground_truth": GOLD["b"]},
            "extra_info": {"index": 3},
        }
    ]
    pq.write_table(pa.Table.from_pylist(rows), data)
    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": "3", "response": GOLD["b"]}])
    out = tmp_path / "s.jsonl"
    assert (
        main(["score", "web", "--data", str(data), "--predictions", str(preds), "--out", str(out)])
        == 0
    )
    assert json.loads(out.read_text())["reward"] == 1.0


def test_score_web_bad_data_names_the_line(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "ground_truth": GOLD["a"]}, {"id": "b"}])
    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "response": ""}])
    from rlvr_world.domains.web.score import score_web_files

    with pytest.raises(DataError, match=r"d.jsonl:2: field 'ground_truth'"):
        score_web_files(data, preds)
