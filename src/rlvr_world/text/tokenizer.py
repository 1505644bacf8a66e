"""Strings <-> token ids with Hugging Face `tokenizers`.

Tiny presets train a byte-level BPE on simulator text. Digits are split one per token (so
numbers are spelled the same wherever they occur); everything else may merge freely, so
frequent JSON chunks such as `","properties":{"` become single tokens and sequences stay
short enough for a CPU. The tokenizer is saved as a standard `tokenizer.json` (+ a
`PreTrainedTokenizerFast` folder), so a checkpoint loads with `AutoTokenizer` anywhere.

A pretrained language model brings its own tokenizer (`PretrainedTokenizer`, any
`AutoTokenizer`): prompts go through its chat template, answers end with its EOS.
`load_text_tokenizer` reads either kind back from a run folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
PRETRAINED_MARKER = "pretrained_tokenizer.json"
"""Written beside a pretrained model's tokenizer files in a run folder (with its settings)."""


class TextTokenizer:
    """A `core.protocols.Tokenizer` over strings, backed by a `tokenizers.Tokenizer`."""

    def __init__(self, backend) -> None:  # backend: tokenizers.Tokenizer
        self.backend = backend
        ids = {name: backend.token_to_id(name) for name in (PAD, BOS, EOS)}
        missing = [name for name, idx in ids.items() if idx is None]
        if missing:
            raise ValueError(f"tokenizer lacks special tokens {missing}")
        self.pad_id, self.bos_id, self.eos_id = ids[PAD], ids[BOS], ids[EOS]

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.backend.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.backend.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return self.backend.decode(list(ids), skip_special_tokens=True)

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        return self.backend.decode_batch([list(ids) for ids in batch], skip_special_tokens=True)

    def encode_prompts(self, texts: Sequence[str]) -> list[list[int]]:
        """Question texts -> question ids: BOS, then the text."""
        return [[self.bos_id, *ids] for ids in self.encode_batch(texts)]

    def save(self, folder: str | Path) -> None:
        """Write `tokenizer.json` and the `PreTrainedTokenizerFast` files into `folder`."""
        from transformers import PreTrainedTokenizerFast

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        fast = PreTrainedTokenizerFast(
            tokenizer_object=self.backend, pad_token=PAD, bos_token=BOS, eos_token=EOS
        )
        fast.save_pretrained(str(folder))

    @classmethod
    def load(cls, folder: str | Path) -> TextTokenizer:
        from tokenizers import Tokenizer

        path = Path(folder)
        path = path / "tokenizer.json" if path.is_dir() else path
        if not path.exists():
            raise FileNotFoundError(f"no tokenizer.json at {path}")
        return cls(Tokenizer.from_file(str(path)))


ID_PATTERN = r"\[\d+\]"
"""An accessibility-tree element id, `[123]`."""


def id_tokens(count: int) -> list[str]:
    """The element ids `[0]` .. `[count - 1]`, each to be one token (`train_bpe(whole=...)`)."""
    return [f"[{i}]" for i in range(count)]


def train_bpe(
    texts: Iterable[str],
    vocab_size: int = 2048,
    min_frequency: int = 2,
    whole: Sequence[str] = (),
) -> TextTokenizer:
    """Train a byte-level BPE with single-digit pre-splitting on `texts`.

    whole: strings that are each one token on top of the `vocab_size` learned ones, e.g. the
    element ids of web pages (`id_tokens`). Copying a line of the page is then a look-up of
    one id token that occurs once in the page, where a spelled-out id repeats its digits
    across the page. Merges are then learned with every id pattern (`ID_PATTERN`) split off,
    so they never span an id."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE())
    split = [pre_tokenizers.Split(Regex(ID_PATTERN), behavior="isolated")] if whole else []
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            *split,
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[PAD, BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    if whole:
        backend.add_tokens(list(whole))
    return TextTokenizer(backend)


class PretrainedTokenizer:
    """A `core.protocols.Tokenizer` over strings, backed by a pretrained model's own
    `transformers` tokenizer (`AutoTokenizer.from_pretrained`).

    Prompts are wrapped in the tokenizer's chat template as one user turn followed by the
    assistant header (`chat_template=False`, or a tokenizer without one: BOS, if it has one, then
    the text). Answers end with `eos_id`, the tokenizer's EOS, which chat models emit at the end
    of a turn. Without a pad token, EOS pads (padding is always masked).
    """

    def __init__(self, hf_tokenizer, chat_template: bool = True) -> None:
        self.hf = hf_tokenizer
        if hf_tokenizer.eos_token_id is None:
            raise ValueError("a pretrained tokenizer needs an EOS token to end answers")
        self.eos_id = int(hf_tokenizer.eos_token_id)
        pad = hf_tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else self.eos_id
        bos = hf_tokenizer.bos_token_id
        self.bos_id = int(bos) if bos is not None else self.eos_id
        self.has_bos = bos is not None
        self.chat_template = chat_template and bool(getattr(hf_tokenizer, "chat_template", None))

    @property
    def vocab_size(self) -> int:
        return len(self.hf)

    def encode(self, text: str) -> list[int]:
        return list(self.hf(text, add_special_tokens=False)["input_ids"])

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        return [list(ids) for ids in self.hf(list(texts), add_special_tokens=False)["input_ids"]]

    def decode(self, ids: Sequence[int]) -> str:
        return self.hf.decode(list(ids), skip_special_tokens=True)

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        return [self.decode(ids) for ids in batch]

    def encode_prompts(self, texts: Sequence[str]) -> list[list[int]]:
        """Question texts -> question ids, through the chat template when there is one."""
        if not self.chat_template:
            head = [self.bos_id] if self.has_bos else []
            return [[*head, *ids] for ids in self.encode_batch(texts)]
        out = []
        for text in texts:
            ids = self.hf.apply_chat_template(
                [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=True
            )
            out.append(list(ids["input_ids"] if isinstance(ids, Mapping) else ids))
        return out

    def save(self, folder: str | Path) -> None:
        """`save_pretrained` into `folder` (tokenizer.json, tokenizer_config.json, template)."""
        Path(folder).mkdir(parents=True, exist_ok=True)
        self.hf.save_pretrained(str(folder))
        (Path(folder) / PRETRAINED_MARKER).write_text(
            json.dumps({"chat_template": self.chat_template}) + "\n"
        )

    @classmethod
    def load(
        cls, path: str | Path, gguf_file: str | None = None, chat_template: bool = True
    ) -> PretrainedTokenizer:
        """From a model folder (or a GGUF file inside it); never downloads."""
        from transformers import AutoTokenizer

        kwargs = {"gguf_file": gguf_file} if gguf_file else {}
        hf = AutoTokenizer.from_pretrained(str(path), local_files_only=True, **kwargs)
        return cls(hf, chat_template=chat_template)


def load_text_tokenizer(folder: str | Path):
    """The tokenizer saved in a run folder: a pretrained model's (`PretrainedTokenizer.save`
    marks it) or ours."""
    marker = Path(folder) / PRETRAINED_MARKER
    if marker.exists():
        settings = json.loads(marker.read_text())
        return PretrainedTokenizer.load(folder, chat_template=settings["chat_template"])
    return TextTokenizer.load(folder)
