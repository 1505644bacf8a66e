"""Policies for the web simulator and the rollouts whose steps become (state, action, next
state) transitions for the web world model.

- `ExpertPolicy(noise)`: a scripted solver for every goal in `GOALS`. Each step it reads the
  simulator's state (the goal's target, the route of the page, the site data) and the current
  tree (element ids, field values) and takes the next step towards the goal, so it recovers
  from any detour; with probability `noise` it takes a random legal action instead. Per episode
  it draws a strategy (search or browse menus and pages, Enter or a button to submit, read the
  answer off the table or open the order) so that its trajectories vary.
- `RandomPolicy`: a uniformly random legal action (optionally, at `invalid_rate`, an invalid
  one, which leaves the page unchanged with a message).
- `rollout(sim, policy, task, seed, max_steps) -> list[Step]`.

>>> from rlvr_world.domains.web.sim import WebSimulator
>>> sim = WebSimulator()
>>> steps = rollout(sim, ExpertPolicy(noise=0.0), task="open_product", seed=3, max_steps=20)
>>> steps[0].previous_action, steps[-1].action, sim.success()
('None', 'stop []', True)
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from typing import Protocol

from rlvr_world.domains.web.sim import WebSimulator, find_nodes
from rlvr_world.domains.web.site.routes import (
    HOMES,
    SHOP,
    SORTS,
    Route,
    order_listing,
    post_listing,
    product_listing,
    visible_range,
)
from rlvr_world.domains.web.state import Node

__all__ = ["ExpertPolicy", "Policy", "RandomPolicy", "Step", "rollout"]

SITE_LINKS = {"shop": "Shop", "admin": "Admin", "forum": "Forum"}


@dataclass
class Step:
    """One transition. previous_action: the action before this one ("None" at the first step,
    WebArena's prompt convention). message: why `action` was invalid, or ''. done: the episode
    ended with this action (`stop`)."""

    url: str
    objective: str
    previous_action: str
    tree: str
    action: str
    next_tree: str
    next_url: str
    message: str
    done: bool = False


class Policy(Protocol):
    def reset(self, seed: int | None = None) -> None:
        """Start an episode (seeds the policy's own generator)."""

    def act(self, sim: WebSimulator) -> str:
        """The next action string for the simulator's current state."""


class RandomPolicy:
    """A random legal action; with probability `invalid_rate` an invalid one instead (an id not
    on the page, typing into a non-field, an unknown key or an unparsable string)."""

    def __init__(self, invalid_rate: float = 0.0, seed: int | None = None) -> None:
        if not 0.0 <= invalid_rate <= 1.0:
            raise ValueError(f"invalid_rate: expected a probability, got {invalid_rate}")
        self.invalid_rate = invalid_rate
        self.rng = random.Random(seed)

    def reset(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)

    def act(self, sim: WebSimulator) -> str:
        if self.rng.random() < self.invalid_rate:
            return _invalid_action(sim, self.rng)
        return self.rng.choice(sim.legal_actions() or ["stop []"])  # none once stopped


def _invalid_action(sim: WebSimulator, rng: random.Random) -> str:
    ids = [node.id for node in find_nodes(sim.root)]
    plain = [node.id for node in find_nodes(sim.root) if node.role in ("StaticText", "heading")]
    choices = [
        f"click [{max(ids) + rng.randint(1000, 5000)}]",
        "press [NoSuchKey]",
        rng.choice(("click the button", "scroll [left]", "type [x] [y]", "")),
    ]
    if plain:
        choices.append(f"type [{rng.choice(plain)}] [hello] [1]")
    return rng.choice(choices)


def _click(node: Node) -> str:
    return f"click [{node.id}]"


def _first(root: Node | None, role: str, name: str | None = None) -> Node | None:
    found = find_nodes(root, role, name)
    return found[0] if found else None


class ExpertPolicy:
    """The scripted solver (module docstring); `noise` = probability of a random legal action."""

    def __init__(self, noise: float = 0.0, seed: int | None = None) -> None:
        if not 0.0 <= noise <= 1.0:
            raise ValueError(f"noise: expected a probability, got {noise}")
        self.noise = noise
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.browse = self.rng.random() < 0.5  # menus and pages instead of the search boxes
        self.enter = self.rng.random() < 0.5  # submit with Enter instead of the button
        self.read_table = self.rng.random() < 0.5  # answer from the orders table's row

    def act(self, sim: WebSimulator) -> str:
        if self.noise and self.rng.random() < self.noise:
            return self.rng.choice(sim.legal_actions() or ["stop []"])
        return self.expert_action(sim)

    def expert_action(self, sim: WebSimulator) -> str:
        """The noise-free next action."""
        goal = sim.goal
        if goal.name != "order_status" and goal.check(sim.state, None):
            return "stop []"
        return getattr(self, f"_{goal.name}")(sim, goal)

    # -------------------------------------------------------------------------- tasks

    def _add_to_cart(self, sim: WebSimulator, goal) -> str:
        return self._reach_product(sim, goal.pid, goal.texts[0], goal.sort) or self._add(sim)

    def _open_product(self, sim: WebSimulator, goal) -> str:
        return self._reach_product(sim, goal.pid, goal.texts[0]) or "stop []"

    def _checkout(self, sim: WebSimulator, goal) -> str:
        state, route = sim.state, sim.state.route
        cart = state.site.cart
        keep = next((pid for pid, n in cart.items() if pid in goal.pids and n == 1), None)
        wrong = [pid for pid in cart if pid != keep]
        if wrong:
            if route.site == "shop" and route.page == "cart":
                return self._remove(sim, state.site.product(wrong[0]).name)
            return self._open_cart(sim)
        if not cart:
            target = goal.pids[0]
            return self._reach_product(sim, target, goal.texts[0]) or self._add(sim)
        if route.site == "shop" and route.page == "checkout":
            name = _first(sim.root, "textbox", "Full name")
            address = _first(sim.root, "textbox", "Address")
            if name.props.get("value") != goal.customer:
                return f"type [{name.id}] [{goal.customer}] [0]"
            if address.props.get("value") != goal.address:
                return f"type [{address.id}] [{goal.address}] [{int(self.enter)}]"
            return _click(_first(sim.root, "button", "Place Order"))
        if route.site == "shop" and route.page == "cart":
            return _click(_first(sim.root, "button", "Proceed to Checkout"))
        return self._open_cart(sim)

    def _order_status(self, sim: WebSimulator, goal) -> str:
        route = sim.state.route
        if route.site == "admin" and route.page == "order" and route.arg == str(goal.number):
            status = next(
                n.name for n in find_nodes(sim.root, "StaticText") if n.name.startswith("Status: ")
            )
            return f"stop [{status.removeprefix('Status: ')}]"
        row = self._visible_row(sim, goal.number)
        if row is not None and self.read_table:
            status = [child for child in row.children if child.role == "cell"][2]
            return f"stop [{status.name}]"
        return self._reach_order(sim, goal.number)

    def _update_status(self, sim: WebSimulator, goal) -> str:
        route = sim.state.route
        if route.site == "admin" and route.page == "order" and route.arg == str(goal.number):
            combobox = _first(sim.root, "combobox", "Change status")
            if combobox.props.get("value") == goal.status:
                return _click(_first(sim.root, "button", "Save"))
            if combobox.props.get("expanded") == "True":
                return _click(_first(combobox, "option", goal.status))
            return _click(combobox)
        return self._reach_order(sim, goal.number)

    def _reply_post(self, sim: WebSimulator, goal) -> str:
        state, route = sim.state, sim.state.route
        if route.site == "forum" and route.page == "post" and route.arg == str(goal.post_id):
            box = _first(sim.root, "textbox", "Write a reply")
            if box.props.get("value") != goal.text:
                return f"type [{box.id}] [{goal.text}] [{int(self.enter)}]"
            return _click(_first(sim.root, "button", "Post"))
        if route.site == "forum" and route.page == "home":
            posts = post_listing(state.site)
            index = next(i for i, post in enumerate(posts) if post.pid == goal.post_id)
            return self._reach_row(sim, index, len(posts), posts[index].title)
        if route.site == "forum":
            return _click(_first(sim.root, "link", "Latest posts"))
        return self._to_site(sim, "forum")

    # ------------------------------------------------------------------------ helpers

    def _to_site(self, sim: WebSimulator, site: str) -> str:
        link = _first(_first(sim.root, "navigation", "Sites"), "link", SITE_LINKS[site])
        return _click(link) if link is not None else f"goto [{HOMES[site]}]"

    def _reach_row(self, sim: WebSimulator, index: int, rows: int, link_name: str) -> str:
        """Scroll a long list until row `index` is in the tree, then click its link."""
        window = visible_range(sim.state.view.scroll, rows, sim.layout.window)
        if index in window:
            link = _first(sim.root, "link", link_name)
            if link is not None:
                return _click(link)
        return "scroll [down]" if index >= window.stop else "scroll [up]"

    def _reach_product(
        self, sim: WebSimulator, pid: int, query: str, sort: str | None = None
    ) -> str | None:
        """The next step towards product `pid`'s page, or None when on it."""
        state, route = sim.state, sim.state.route
        product = state.site.product(pid)
        if route.site == "shop" and route.page == "product" and route.arg == str(pid):
            return None
        if route.site == "shop" and route.page in ("search", "category"):
            listed = [p.pid for p in product_listing(state.site, route)]
            if pid in listed:
                if self.browse and sort and route.page == "category" and route.sort != sort:
                    return self._choose_sort(sim, SORTS[sort])
                return self._reach_row(sim, listed.index(pid), len(listed), product.name)
        if route.site != "shop":
            return self._to_site(sim, "shop")
        if self.browse:
            button = _first(sim.root, "button", "Categories")
            if button.props.get("expanded") == "True":
                return _click(_first(sim.root, "menuitem", product.category))
            return f"hover [{button.id}]"
        box = _first(sim.root, "textbox", "Search")
        return f"type [{box.id}] [{query}] [1]"

    def _choose_sort(self, sim: WebSimulator, label: str) -> str:
        combobox = _first(sim.root, "combobox", "Sort by")
        if combobox.props.get("expanded") == "True":
            return _click(_first(combobox, "option", label))
        return _click(combobox)

    def _add(self, sim: WebSimulator) -> str:
        quantity = _first(sim.root, "spinbutton", "Qty")
        if quantity.props.get("value") != "1":
            return f"type [{quantity.id}] [1] [0]"
        return _click(_first(sim.root, "button", "Add to Cart"))

    def _open_cart(self, sim: WebSimulator) -> str:
        if sim.state.route.site == "shop":
            link = next(
                (n for n in find_nodes(sim.root, "link") if n.name.startswith("Cart (")), None
            )
            if link is not None:
                return _click(link)
        return f"goto [{SHOP}/cart]"

    def _remove(self, sim: WebSimulator, product_name: str) -> str:
        for item in find_nodes(_first(sim.root, "list", "Cart items"), "listitem"):
            if _first(item, "link", product_name) is not None:
                return _click(_first(item, "button", "Remove"))
        return f"goto [{SHOP}/cart]"

    def _visible_row(self, sim: WebSimulator, number: int) -> Node | None:
        """The orders table's row of order `number`, if it is in the tree."""
        for row in find_nodes(_first(sim.root, "table", "Orders"), "row"):
            if _first(row, "link", f"#{number}") is not None:
                return row
        return None

    def _reach_order(self, sim: WebSimulator, number: int) -> str:
        """The next step towards order `number`'s admin page."""
        state, route = sim.state, sim.state.route
        if route.site == "admin" and route.page == "orders":
            orders, _, pages = order_listing(state.site, route)
            numbers = [o.number for o in orders]
            if number in numbers:
                return self._reach_row(sim, numbers.index(number), len(numbers), f"#{number}")
            default = (route.query, route.sort, route.direction) == ("", "date", "desc")
            if self.browse and default:
                target = _default_page(state.site, number)
                name = "Next page" if target > min(route.page_number, pages) else "Previous page"
                return _click(_first(sim.root, "link", name))
        if route.site != "admin":
            return self._to_site(sim, "admin")
        if self.browse:
            latest = _first(sim.root, "link", f"#{number}") if route.page == "dashboard" else None
            return _click(latest or _first(sim.root, "link", "Orders"))
        box = _first(sim.root, "textbox", "Search orders")
        return f"type [{box.id}] [{number}] [1]"


def _default_page(site, number: int) -> int:
    """The page of the default orders table (newest first) that lists order `number`."""
    page = 1
    while True:
        listing = Route("admin", "orders", sort="date", direction="desc", page_number=page)
        orders, _, pages = order_listing(site, listing)
        if any(o.number == number for o in orders) or page >= pages:
            return page
        page += 1


def rollout(
    sim: WebSimulator,
    policy: Policy,
    task: str | None = None,
    seed: int = 0,
    max_steps: int = 30,
) -> list[Step]:
    """Play one episode from `sim.reset(seed=seed, task=task)` until `stop` or `max_steps`
    steps, and return its steps. The policy is reset with a seed derived from `seed`."""
    observation = sim.reset(seed=seed, task=task)
    policy.reset(zlib.crc32(f"policy:{seed}".encode()))
    steps: list[Step] = []
    previous = "None"
    for _ in range(max_steps):
        if observation.done:
            break
        action = policy.act(sim)
        following = sim.step(action)
        steps.append(
            Step(
                url=observation.url,
                objective=sim.objective,
                previous_action=previous,
                tree=observation.tree,
                action=action,
                next_tree=following.tree,
                next_url=following.url,
                message=following.message,
                done=following.done,
            )
        )
        previous, observation = action, following
    return steps
