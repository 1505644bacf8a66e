"""The BPE trained on simulator text: digits one per token, element ids whole when asked."""

import pytest

from rlvr_world.text.tokenizer import TextTokenizer, id_tokens, train_bpe
from rlvr_world.train.config import ConfigError, DataConfig

PAGE = (
    "[100] RootWebArea 'Shop'\n\t[101] link 'Cart (0)'\n\t[102] list 'Products'\n"
    "\t\t[103] link 'Red Mug'\n\t\t[104] StaticText '$12.99'\n"
)
ANSWER = "Deleted items:\n\t\t[103] link 'Red Mug'\n\t\t[104] StaticText '$12.99'\n"


def pieces(tokenizer: TextTokenizer, text: str) -> list[str]:
    return [tokenizer.decode([i]) for i in tokenizer.encode(text)]


def test_ids_are_spelled_digit_by_digit_by_default():
    tokenizer = train_bpe([PAGE, ANSWER] * 20, vocab_size=300)
    assert "[103]" not in pieces(tokenizer, ANSWER)
    assert {"1", "0", "3"} <= set(pieces(tokenizer, ANSWER))


def test_id_tokens_are_whole_and_no_merge_spans_them(tmp_path):
    tokenizer = train_bpe([PAGE, ANSWER] * 20, vocab_size=300, whole=id_tokens(200))
    assert id_tokens(3) == ["[0]", "[1]", "[2]"]
    split = pieces(tokenizer, ANSWER)
    assert "[103]" in split and "[104]" in split
    # the tokens around an id are the same in the page and the answer: a copy is a look-up
    page = pieces(tokenizer, PAGE)
    at = page.index("[103]")
    assert split[split.index("[103]") : split.index("[103]") + 3] == page[at : at + 3]
    # an id beyond the added ones is spelled out; every text round-trips
    assert "[250]" not in pieces(tokenizer, "[250] link 'x'")
    for text in (PAGE, ANSWER, "[250] link 'x'", "[7]x[8]"):
        assert tokenizer.decode(tokenizer.encode(text)) == text
    tokenizer.save(tmp_path)
    loaded = TextTokenizer.load(tmp_path)
    assert loaded.encode(PAGE) == tokenizer.encode(PAGE)
    assert loaded.vocab_size == tokenizer.vocab_size


def test_id_tokens_must_not_be_negative():
    with pytest.raises(ConfigError, match="data.id_tokens"):
        DataConfig(id_tokens=-1)
