"""Data-parallel training on `torch.distributed`, launched by `torchrun`.

    torchrun --nproc-per-node 2 -m rlvr_world.cli train rlvr --preset ... --init RUN --out OUT

Every rank builds the same model from the same seed (and receives rank 0's parameters), walks
the same data stream, and takes its contiguous share of each global batch: MLE examples, or
GRPO questions (a question's group of samples lives on one rank, so its advantages are local).
After each backward the gradients are summed across ranks in one flat all-reduce, and the
trainers divide every loss by its *global* denominator (all tokens of the global batch), so one
optimiser step equals the single-process step on the same global batch up to float rounding.
Rank 0 alone logs, evaluates and writes checkpoints; checkpoints hold nothing rank-specific,
so a run resumes under any world size.

Gradients are reduced explicitly rather than by `DistributedDataParallel`: after GRPO drops
zero-variance groups a rank may hold no rows of a mini-batch (it contributes zeros), and the
shared-prefix log-probability pass runs two forwards per backward; neither fits DDP's hooks.
Backend: NCCL with CUDA devices, gloo on CPUs.

With `fsdp=true`, PyTorch's FSDP (`fully_shard`, one unit per decoder layer) holds each rank's
shard of the weights, gradients and optimiser state, for models that do not fit one device.
FSDP's collectives run inside every forward and backward, so every rank must run the same
ones: sampling, evaluation and the no-grad log-probabilities run on gathered weights
(`World.gathered`: one all-gather, then no collectives, so ranks may differ in work), and each
update runs exactly one forward and backward per rank (a rank without rows runs a zero-weight
one). Gradients are summed by FSDP's reduce-scatter (divide factor 1); checkpoints gather the
full state, so they are the same standard folders as without FSDP.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from rlvr_world.core.losses import response_logprobs


@dataclass(frozen=True)
class World:
    """This process's place among the data-parallel ranks (size 1 = a plain single process)."""

    rank: int = 0
    size: int = 1
    device: str = "cpu"
    """Where collective buffers live (NCCL needs this rank's GPU)."""
    fsdp: bool = False
    """Weights, gradients and optimiser state are sharded with FSDP (see the module doc)."""

    @property
    def main(self) -> bool:
        """Rank 0: logs, evaluates, writes checkpoints."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1

    def share(self, n: int) -> slice:
        """This rank's contiguous share of `n` items (n must divide evenly)."""
        if n % self.size:
            raise ValueError(f"a batch of {n} does not split over {self.size} processes")
        per = n // self.size
        return slice(self.rank * per, (self.rank + 1) * per)

    def rows(self, questions: int, group_size: int) -> slice:
        """This rank's rows of a GRPO step of `questions` groups of `group_size` rows each
        (group-contiguous): the rows of its `share` of the questions."""
        share = self.share(questions)
        return slice(share.start * group_size, share.stop * group_size)

    def local_groups(self, groups: Sequence[int], questions: int) -> list[int]:
        """Of `groups` (question indices into a whole step of `questions`), the ones this rank
        holds, as indices into its own share."""
        share = self.share(questions)
        return [g - share.start for g in groups if share.start <= g < share.stop]

    def update_logprobs(self, model: torch.nn.Module, batch: tuple, with_entropy: bool):
        """`core.losses.response_logprobs` of a training forward (-> logp, entropy). With FSDP
        each update runs exactly one forward on every rank: no length buckets, no forward of
        a shared prefix."""
        return response_logprobs(
            model,
            *batch,
            with_entropy=with_entropy,
            bucketed=not self.fsdp,
            share_prefix=not self.fsdp,
        )

    def backward_without_rows(self, model: torch.nn.Module, batch: tuple) -> None:
        """For a rank that holds no rows of a mini-batch. FSDP's collectives run inside every
        forward and backward, so it still runs one, of zero weight, on `batch` (any one row of
        its own); without FSDP it has nothing to do (its gradients count as zeros)."""
        if not self.fsdp:
            return
        logp, _ = response_logprobs(model, *batch)
        (logp.sum() * 0.0).backward()

    def all_reduce_grads(self, model: torch.nn.Module) -> None:
        """Sum the gradients of `model`'s trainable parameters over ranks (one flat buffer;
        a parameter without a gradient on some rank counts as zeros)."""
        if not self.active or self.fsdp:  # FSDP reduce-scatters in the backward itself
            return
        params = [p for p in model.parameters() if p.requires_grad]
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        torch.distributed.all_reduce(flat)
        offset = 0
        for p in params:
            n = p.numel()
            p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
            offset += n

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of a few numbers over ranks."""
        if not self.active:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(tensor)
        return tensor.tolist()

    def gather_rows(self, tensor: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
        """[n, ...] on every rank -> [size * n, ...] in rank order, every rank's rows padded
        along dim 1 (if any) to the widest rank's with `fill`."""
        if not self.active:
            return tensor
        tensor = tensor.to(self.device).contiguous()
        if tensor.dim() > 1:
            width = torch.tensor([tensor.shape[1]], device=self.device)
            torch.distributed.all_reduce(width, op=torch.distributed.ReduceOp.MAX)
            pad = int(width) - tensor.shape[1]
            if pad:  # F.pad counts dims from the last: (0, 0) for each dim after dim 1
                sides = (0, 0) * (tensor.dim() - 2) + (0, pad)
                tensor = torch.nn.functional.pad(tensor, sides, value=fill)
        parts = [torch.empty_like(tensor) for _ in range(self.size)]
        torch.distributed.all_gather(parts, tensor)
        return torch.cat(parts).cpu()

    def broadcast_flag(self, flag: bool) -> bool:
        """Rank 0's decision (e.g. stop early), on every rank."""
        if not self.active:
            return flag
        tensor = torch.tensor([int(flag)], device=self.device)
        torch.distributed.broadcast(tensor, src=0)
        return bool(tensor.item())

    def broadcast_parameters(self, model: torch.nn.Module) -> None:
        """Every rank starts from rank 0's weights."""
        if not self.active:
            return
        with torch.no_grad():
            for tensor in [*model.parameters(), *model.buffers()]:
                torch.distributed.broadcast(tensor.data, src=0)

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()

    def shard(self, model: torch.nn.Module) -> torch.nn.Module:
        """With `fsdp`: one FSDP unit per decoder layer (the model's `_no_split_modules`), one
        for the rest; gradients summed, not averaged. Otherwise `model` unchanged."""
        if not self.fsdp:
            return model
        from torch.distributed.fsdp import fully_shard

        blocks = set(getattr(model, "_no_split_modules", None) or ())
        units = [m for m in model.modules() if type(m).__name__ in blocks]
        for module in units:
            fully_shard(module)
        fully_shard(model)
        for unit in [*units, model]:
            unit.set_gradient_divide_factor(1.0)
            unit.set_force_sum_reduction_for_comms(True)  # plain sums: gloo has no PREMUL_SUM
        return model

    @contextlib.contextmanager
    def gathered(self, *models: torch.nn.Module):
        """Every rank holds the models' whole weights inside the block, and forwards run no
        collectives (work may differ between ranks: sampling, evaluation on rank 0). A no-op
        without FSDP."""
        if not self.fsdp:
            yield
            return
        from torch.distributed.fsdp import FSDPModule

        units = [
            m
            for model in models
            if isinstance(model, torch.nn.Module)
            for m in model.modules()
            if isinstance(m, FSDPModule)
        ]
        for unit in units:
            unit.set_reshard_after_forward(False, recurse=False)
            unit.unshard()
        try:
            yield
        finally:
            for unit in units:
                unit.reshard()
                unit.set_reshard_after_forward(True, recurse=False)

    def full_state(self, model: torch.nn.Module) -> dict | None:
        """The whole model state dict on CPU (collective with FSDP); None = use the model's."""
        if not self.fsdp:
            return None
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        return get_model_state_dict(model, options=options)

    def optimizer_state(self, model: torch.nn.Module, optimizer) -> dict:
        """The optimiser's whole state dict (collective with FSDP). Before the first step it
        has no state to gather (and gathering would initialise it with a step of lr 0, which
        moves AdamW's step count)."""
        if not self.fsdp or not optimizer.state:
            return optimizer.state_dict()
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_optimizer_state_dict,
        )

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        return get_optimizer_state_dict(model, optimizer, options=options)

    def load_optimizer_state(self, model: torch.nn.Module, optimizer, state: dict) -> None:
        """Either layout into either kind of model: FSDP checkpoints key the state by parameter
        name, plain ones by index (`optimizer.state_dict()`)."""
        by_name = any(isinstance(key, str) for key in state.get("state", {}))
        if not by_name and (not self.fsdp or not state.get("state")):
            optimizer.load_state_dict(state)
            return
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_optimizer_state_dict,
        )

        options = StateDictOptions(full_state_dict=True)
        set_optimizer_state_dict(model, optimizer, state, options=options)

    def load_model_state(self, model: torch.nn.Module, state: dict) -> None:
        if not self.fsdp:
            model.load_state_dict(state)
            return
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

        set_model_state_dict(model, state, options=StateDictOptions(full_state_dict=True))


SINGLE = World()
"""One process, no process group."""


def launched_processes() -> int:
    """How many processes `torchrun` launched for this job (WORLD_SIZE; 1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_world(device: str = "cpu") -> World:
    """The world `torchrun` describes in the environment (WORLD_SIZE, RANK, LOCAL_RANK,
    MASTER_ADDR...); joins the process group on first call. Without torchrun: a single
    process. `device` `cuda` becomes this rank's GPU, `cuda:LOCAL_RANK`."""
    size = launched_processes()
    if size <= 1:
        return World(device=device)
    rank = int(os.environ["RANK"])
    if device == "cuda":
        device = f"cuda:{os.environ.get('LOCAL_RANK', '0')}"
        torch.cuda.set_device(torch.device(device))
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(
            backend="nccl" if device.startswith("cuda") else "gloo"
        )
    return World(rank=rank, size=size, device=device)


def shutdown(world: World) -> None:
    if world.active and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
