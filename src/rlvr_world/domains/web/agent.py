"""A web agent that plans with a world model (SPEC §4's MPC agent on the simulated sites).

Each step `core.planning.MPCPlanner` asks a proposal policy for N candidate actions, keeps the
k most frequent, has a world model predict the page after each, scores every predicted page
with a value function and takes the best. Here:

- **proposals** (`propose`): a weak policy. Each of the N samples is the scripted expert's
  action with probability 1 - noise, else a uniformly random legal action other than `stop`
  (a random `stop` would end most episodes at once; the expert stops when it is done).
- **world models**: `SimulatorWorldModel` (the oracle: a copy of the simulator takes the
  action) and `LanguageWorldModel` (a trained run: its greedy diff is applied to the current
  tree with `diff.apply_diff`). Both return the next tree as text, so one value function
  judges them all. Any `predict(state, actions) -> trees` callable plugs in.
- **value** (`tree_progress`): how far the objective is along on a tree, read from the tree's
  text alone (the page title, headings, links, messages, field values), since a predicted page
  has no simulator state behind it. `Goal` holds what the objective names (the product, the
  order, the post, the texts). Levels follow the simulator's own progress measure
  (`goals.py`), as far as a page shows them:

| task | 1.0 | 0.8 / 0.7 | 0.6 | 0.5 / 0.4 | 0.3 / 0.2 / 0.1 | 0 |
| --- | --- | --- | --- | --- | --- | --- |
| add_to_cart | "You added <target> ..." message | | target's product page | 0.4 a link to the target | 0.1 another shop page | elsewhere |
| open_product | target's product page | | | 0.5 a link to the target | 0.1 another shop page | elsewhere |
| checkout | order confirmation page | 0.7 + 0.1 per filled field (name, address) on the checkout page with one item | "You added <a match> ..." message, or the cart page listing a match | 0.4 a match's product page | 0.3 a link to a match; 0.1 another shop page | elsewhere |
| order_status | | 0.7 the order's page, or its row (link `#n`) in the table | | 0.5 the orders table | 0.2 another admin page | elsewhere |
| update_status | saved message with the new status, or the order's page showing it | 0.8 the order's page with the new status chosen | the order's page | 0.5 its row in the table; 0.4 the orders table | 0.2 another admin page | elsewhere |
| reply_post | the post's page showing the reply text | 0.8 the post's page with the text typed in the reply box | the post's page | 0.4 a link to the post | 0.2 another forum page | elsewhere |

A user's own value function (any `value(state, action, tree) -> float`) replaces it in
`make_planner(value=...)`.

>>> sim = WebSimulator(layout=Layout(window=3, featured=2, related=2))
>>> episode = run_episode(sim, make_planner(SimulatorWorldModel()), "open_product", seed=3)
>>> episode.success
True
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rlvr_world.core.planning import Decision, MPCPlanner
from rlvr_world.core.planning import describe as show_decision
from rlvr_world.domains.web.data import WebTransition
from rlvr_world.domains.web.diff import apply_diff, diff_sections
from rlvr_world.domains.web.policies import ExpertPolicy
from rlvr_world.domains.web.prompts import question_text
from rlvr_world.domains.web.sim import WebSimulator
from rlvr_world.domains.web.site.model import Layout  # noqa: F401  (the doctest's page sizes)

__all__ = [
    "AgentState",
    "Episode",
    "Goal",
    "LanguageWorldModel",
    "SimulatorWorldModel",
    "describe",
    "goal_of",
    "make_planner",
    "run_episode",
    "tree_progress",
]


@dataclass
class AgentState:
    """What the planner sees at a step: the live simulator (read only: the proposal policy
    reads it, the oracle copies it), the previous action, the objective's `Goal` and the
    expert behind the proposal policy (its strategy drawn once per episode)."""

    sim: WebSimulator
    previous_action: str
    goal: Goal
    expert: ExpertPolicy


# ------------------------------------------------------------------------------ value


@dataclass(frozen=True)
class Goal:
    """What a browsing goal's objective names, as a page's text shows it, for `tree_progress`:
    the web task, target product names, an order number and status, a post title, the texts to
    type, and the sites' names."""

    task: str
    products: tuple[str, ...] = ()
    number: int | None = None
    status: str | None = None
    post: str | None = None
    text: str | None = None
    customer: str | None = None
    address: str | None = None
    store: str = ""
    forum: str = ""


def goal_of(sim: WebSimulator) -> Goal:
    """The `Goal` of the simulator's current browsing goal (what its objective text names)."""
    goal, site = sim.goal, sim.state.site
    pids = getattr(goal, "pids", None) or ((goal.pid,) if hasattr(goal, "pid") else ())
    post = site.post(goal.post_id).title if hasattr(goal, "post_id") else None
    return Goal(
        task=goal.name,
        products=tuple(site.product(pid).name for pid in pids),
        number=getattr(goal, "number", None),
        status=getattr(goal, "status", None),
        post=post,
        text=getattr(goal, "text", None),
        customer=getattr(goal, "customer", None),
        address=getattr(goal, "address", None),
        store=site.store_name,
        forum=site.forum_name,
    )


_LINE = re.compile(r"^\[\d+\] (\S+) '(.*)'(?: (.*))?$")
_PROP = re.compile(r"(?:^| )([A-Za-z]+): ")


@dataclass
class _Page:
    """A tree's lines as (role, name, props); `title` is the root's name."""

    items: list[tuple[str, str, dict[str, str]]]
    title: str = ""

    @classmethod
    def parse(cls, tree: str) -> _Page:
        items = []
        for line in tree.split("\n"):
            match = _LINE.match(line.strip())
            if match is None:
                continue
            role, name, rest = match.group(1), match.group(2), match.group(3) or ""
            parts = _PROP.split(rest)
            props = dict(zip(parts[1::2], parts[2::2]))
            items.append((role, name, props))
        title = next((name for role, name, _ in items if role == "RootWebArea"), "")
        return cls(items, title)

    def has(self, role: str, name: str) -> bool:
        return any(r == role and n == name for r, n, _ in self.items)

    def value(self, role: str, name: str) -> str | None:
        return next((p.get("value") for r, n, p in self.items if r == role and n == name), None)

    def text(self, prefix: str) -> bool:
        return any(r == "StaticText" and n.startswith(prefix) for r, n, _ in self.items)

    def site_page(self, site_name: str) -> bool:
        return self.title == site_name or self.title.endswith(f" - {site_name}")


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.strip().casefold() == b.strip().casefold()


def tree_progress(goal: Goal, tree: str) -> float:
    """How far along `goal` the page with accessibility tree `tree` is, in [0, 1] (the
    module's table). Reads only the tree's text; never raises on a malformed tree."""
    page = _Page.parse(tree)
    shop, admin = page.site_page(goal.store), page.site_page("Admin Panel")
    forum = page.site_page(goal.forum)
    if goal.task in ("add_to_cart", "open_product", "checkout"):
        products = goal.products
        on_product = any(page.title == f"{name} - {goal.store}" for name in products)
        linked = any(page.has("link", name) for name in products)
        if goal.task == "open_product":
            return 1.0 if on_product else 0.5 if linked else 0.1 if shop else 0.0
        added = any(page.text(f"You added {name} to") for name in products)
        if goal.task == "add_to_cart":
            return 1.0 if added else 0.6 if on_product else 0.4 if linked else 0.1 if shop else 0
        if page.title == f"Order Confirmation - {goal.store}":
            return 1.0
        if page.title == f"Checkout - {goal.store}" and page.text("Order summary: 1 items"):
            filled = _same(page.value("textbox", "Full name"), goal.customer) + _same(
                page.value("textbox", "Address"), goal.address
            )
            return 0.7 + 0.1 * filled
        in_cart = page.title == f"Shopping Cart - {goal.store}" and any(
            page.has("link", name) or page.text(name) for name in products
        )
        if added or in_cart:
            return 0.6
        return 0.4 if on_product else 0.3 if linked else 0.1 if shop else 0.0
    if goal.task in ("order_status", "update_status"):
        on_order = page.title == f"Order #{goal.number} - Admin Panel"
        row = page.has("link", f"#{goal.number}")
        table = page.title == "Orders - Admin Panel"
        if goal.task == "order_status":
            return 0.7 if on_order or row else 0.5 if table else 0.2 if admin else 0.0
        saved = page.text(f"Order #{goal.number} saved with status {goal.status}")
        if saved or (on_order and page.text(f"Status: {goal.status}")):
            return 1.0
        if on_order:
            return 0.8 if _same(page.value("combobox", "Change status"), goal.status) else 0.6
        return 0.5 if row else 0.4 if table else 0.2 if admin else 0.0
    if goal.task == "reply_post":
        on_post = page.title == f"{goal.post} - {goal.forum}"
        if on_post and any(r == "StaticText" and _same(n, goal.text) for r, n, _ in page.items):
            return 1.0
        if on_post:
            return 0.8 if _same(page.value("textbox", "Write a reply"), goal.text) else 0.6
        return 0.4 if page.has("link", goal.post) else 0.2 if forum else 0.0
    raise ValueError(f"tree_progress: no value function for web task {goal.task!r}")


# ------------------------------------------------------------------------- world models


class SimulatorWorldModel:
    """The oracle world model: a copy of the simulator takes each action; the true next tree
    (after a `stop`, the page as it is)."""

    def __call__(self, state: AgentState, actions: Sequence[str]) -> list[str]:
        out = []
        for action in actions:
            sim = copy.deepcopy(state.sim)
            out.append(sim.step(action).tree)
        return out


class LanguageWorldModel:
    """A trained language world model: the question is the run's prompt (style as it was
    trained) for the current page and each action; the predicted diff is applied to the tree.

    answer: questions -> answer texts (e.g. `text.world_model.TextWorldModel`). The raw answers
    of the last call are kept in `last_answers` (for `rlvr-world plan` to show)."""

    def __init__(self, answer: Callable[[Sequence[str]], list[str]], style: str = "compact"):
        self.answer = answer
        self.style = style
        self.last_answers: list[str] = []

    def __call__(self, state: AgentState, actions: Sequence[str]) -> list[str]:
        sim, tree = state.sim, state.sim.observation().tree
        questions = [
            question_text(
                WebTransition(
                    id="",
                    url=sim.url,
                    objective=sim.objective,
                    previous_action=state.previous_action,
                    tree=tree,
                    action=action,
                    answer="",
                ),
                self.style,
            )
            for action in actions
        ]
        self.last_answers = list(self.answer(questions))
        return [apply_diff(tree, answer) for answer in self.last_answers]


# ------------------------------------------------------------------------------ agent


def propose(noise: float) -> Callable[[AgentState, int, random.Random], list[str]]:
    """The weak proposal policy (module doc) with this noise."""

    def sample(state: AgentState, n: int, rng: random.Random) -> list[str]:
        best = state.expert.expert_action(state.sim)
        others = [a for a in state.sim.legal_actions() if not a.startswith("stop")] or [best]
        return [rng.choice(others) if rng.random() < noise else best for _ in range(n)]

    return sample


def make_planner(
    world_model: Callable[[AgentState, Sequence[str]], list[str]] | None,
    *,
    noise: float = 0.8,
    num_samples: int = 20,
    top_k: int = 3,
    value: Callable[[AgentState, str, str], float] | None = None,
) -> MPCPlanner:
    """The MPC web agent. world_model None = the `random` baseline (uniform choice among the
    k candidates); value None = `tree_progress` of the predicted tree."""
    return MPCPlanner(
        propose=propose(noise),
        predict=world_model or (lambda state, actions: [""] * len(actions)),
        value=value or (lambda state, action, tree: tree_progress(state.goal, tree)),
        num_samples=num_samples,
        top_k=top_k,
        is_stop=lambda action: str(action).startswith("stop"),
        choose_randomly=world_model is None,
    )


@dataclass
class Episode:
    """One planned episode: the objective, each step's decision and page, and the outcome."""

    task: str
    seed: int
    objective: str
    decisions: list[Decision] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    success: bool = False
    progress: float = 0.0


def run_episode(
    sim: WebSimulator,
    planner: MPCPlanner,
    task: str,
    seed: int,
    max_steps: int = 20,
    on_step: Callable[[Episode, Decision], None] | None = None,
) -> Episode:
    """Plan through one episode of `task` from `sim.reset(seed, task)` until `stop` or
    `max_steps`; `on_step` sees every decision as it is made. The planner's own draws come from
    a generator seeded with `seed`."""
    sim.reset(seed=seed, task=task)
    state = AgentState(sim, "None", goal_of(sim), ExpertPolicy(seed=seed))
    episode = Episode(task=task, seed=seed, objective=sim.objective)
    rng = random.Random(seed)
    for _ in range(max_steps):
        if sim.state.done:
            break
        decision = planner.decide(state, rng)
        episode.decisions.append(decision)
        episode.urls.append(sim.url)
        if on_step is not None:
            on_step(episode, decision)
        sim.step(str(decision.action))
        state.previous_action = str(decision.action)
    episode.success = sim.success()
    episode.progress = sim.progress()
    return episode


def describe(decision: Decision, tree: str, width: int = 100) -> list[str]:
    """Lines showing one decision on the page with tree `tree` (`core.planning.describe`):
    a predicted page is shown as counts of new, deleted and updated lines and the first
    changed line."""

    def change(predicted: str) -> str:
        new, deleted, updated = diff_sections(tree, predicted)
        return f"+{len(new)} -{len(deleted)} ~{len(updated)}  {(updated or new or [''])[0]}"

    return show_decision(decision, change, width)
