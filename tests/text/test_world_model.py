"""TextWorldModel: greedy answers to question strings, cached, long questions answered empty."""

import torch

from rlvr_world.bench.addition import CharTokenizer
from rlvr_world.core.model import ModelConfig, build_llama
from rlvr_world.text.world_model import TextWorldModel


class Tokenizer(CharTokenizer):
    def encode_prompts(self, texts):
        return [[self.bos_id, *self.encode(t)] for t in texts]


def test_greedy_answers_are_cached_and_too_long_questions_get_none():
    torch.manual_seed(0)
    tokenizer = Tokenizer()
    config = ModelConfig(
        hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, max_positions=64
    )
    model = build_llama(config, tokenizer.vocab_size, 0, 1, 2)
    wm = TextWorldModel(model, tokenizer, max_new_tokens=8, batch_size=2, max_positions=64)
    first = wm(["1+2=", "3+4=", "1+2="])
    assert first[0] == first[2] and wm.generated == 2 and len(first[1]) > 0
    assert wm(["3+4="]) == [first[1]] and wm.generated == 2  # from the cache
    assert wm(["9" * 60]) == [""] and wm.generated == 2  # no room to answer: empty
    alone = TextWorldModel(model, tokenizer, max_new_tokens=8)(["3+4="])
    assert alone == [first[1]]  # batching with another question does not change the answer
