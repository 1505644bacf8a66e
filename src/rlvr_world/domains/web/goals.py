"""Browsing goals: objectives over the simulated sites whose success the simulator checks from
its own state (`WebState` in state.py), and a verifiable progress measure for planning.

Each web task (the names `web.tasks` and `--task` take: add_to_cart, checkout, ...) is a kind
of goal. A goal is sampled from the generated site (`GOALS[name].sample(site, rng)`, or
`make_goal`) and has an `objective` (the text an agent reads), a `start_url`, a few `texts` an
agent might type (for `legal_actions`), `check(state, answer) -> bool` and
`progress(state) -> float` in [0, 1].

`progress` is a function of the state alone, meant as a planner's value function: 0 far from
the goal, rising with each sub-goal on the way, 1 exactly when `check` holds. Once the episode
has ended with `stop`, progress is 1.0 if the task is solved and 0.0 otherwise (nothing more
can happen). Before that, by task ("listing" = a shop category or search page, "visible" =
in the tree at the current scroll offset, pages are those of the active tab):

| task | 1.0 | then | ... | 0.0 |
| --- | --- | --- | --- | --- |
| add_to_cart | target in the cart | 0.6 its product page | 0.4 listing, target visible; 0.3 listing with it not visible; 0.1 another shop page | elsewhere |
| open_product | active page is the target's product page | - | 0.5 listing, target visible; 0.4 listing with it not visible; 0.1 another shop page | elsewhere |
| checkout | an order placed with exactly one matching item, to the right name and address | 0.7 + 0.1 per correctly filled field (name, address) on the checkout page with the right cart; 0.6 right cart (exactly one matching product, quantity 1) elsewhere | 0.4 a matching product's page; 0.3 listing, a match visible; 0.25 listing with a match not visible; 0.1 another shop page | elsewhere |
| order_status | stopped with the right status | 0.7 status readable: the order's page, or its row visible in the orders table | 0.5 orders table containing it, not visible; 0.3 another orders table page; 0.2 another admin page | elsewhere |
| update_status | the order has the new status | 0.8 on its page with the new status chosen, not saved; 0.6 on its page | 0.5 its row visible in the orders table; 0.4 table containing it, not visible; 0.3 another orders table page; 0.2 another admin page | elsewhere |
| reply_post | the post has a reply by the user with the text | 0.8 on the post's page with the text typed in the reply box; 0.6 on the post's page | 0.4 forum list, post visible; 0.3 list with it not visible; 0.2 another forum page | elsewhere |

Answers and texts compare after stripping, case-insensitively (`_same`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from rlvr_world.domains.web.site.model import STATUSES, USERNAME, Product, Site
from rlvr_world.domains.web.site.routes import (
    HOMES,
    order_listing,
    post_listing,
    product_listing,
    visible_range,
)
from rlvr_world.domains.web.state import WebState

__all__ = [
    "GOALS",
    "REPLY_TEXTS",
    "AddToCart",
    "BrowsingGoal",
    "Checkout",
    "OpenProduct",
    "OrderStatus",
    "ReplyPost",
    "UpdateStatus",
    "make_goal",
]

REPLY_TEXTS = (
    "Thanks!",
    "Thanks for sharing!",
    "Great tip, thank you.",
    "I agree with this.",
    "Same here.",
)


class BrowsingGoal(Protocol):
    """A sampled goal. `needs_answer`: success is judged by the `stop` answer."""

    name: ClassVar[str]
    needs_answer: ClassVar[bool]
    objective: str
    start_url: str
    texts: tuple[str, ...]

    def check(self, state: WebState, answer: str | None) -> bool:
        """Whether the goal is reached in `state` (answer: the `stop` answer or None)."""

    def progress(self, state: WebState) -> float:
        """How far along the objective `state` is, in [0, 1] (module docstring)."""

    def answer_candidates(self, root: Any) -> list[str]:
        """Answers readable on the page with tree `root` (for `legal_actions`)."""


def _same(a: str | None, b: str) -> bool:
    return a is not None and a.strip().casefold() == b.strip().casefold()


def _product_position(state: WebState, pids: set[int]) -> tuple[bool, bool]:
    """(a shop listing in the active tab lists one of `pids`, one of them is visible)."""
    route = state.route
    if route.site != "shop" or route.page not in ("search", "category"):
        return False, False
    products = product_listing(state.site, route)
    indices = [i for i, p in enumerate(products) if p.pid in pids]
    window = visible_range(state.view.scroll, len(products), state.site.layout.window)
    return bool(indices), any(i in window for i in indices)


def _order_position(state: WebState, number: int) -> tuple[bool, bool, bool]:
    """(on an admin orders table page, the page lists the order, its row is visible)."""
    route = state.route
    if route.site != "admin" or route.page != "orders":
        return False, False, False
    orders, _, _ = order_listing(state.site, route)
    numbers = [o.number for o in orders]
    if number not in numbers:
        return True, False, False
    window = visible_range(state.view.scroll, len(orders), state.site.layout.window)
    return True, True, numbers.index(number) in window


def _on(state: WebState, site: str, page: str, arg: object = None) -> bool:
    route = state.route
    return route.site == site and route.page == page and (arg is None or route.arg == str(arg))


def _finished(goal: BrowsingGoal, state: WebState) -> float | None:
    """Progress of an ended episode (1 solved, 0 not), or None while it runs."""
    if state.done:
        return float(goal.check(state, state.answer))
    return None


def _group(site: Site, rng: random.Random, min_size: int) -> list[Product]:
    """The products of one (kind, colour) group with at least `min_size` products."""
    groups: dict[tuple[str, str], list[Product]] = {}
    for product in site.products:
        groups.setdefault((product.kind, product.colour), []).append(product)
    choices = [group for _, group in sorted(groups.items()) if len(group) >= min_size]
    return rng.choice(choices)


class NoAnswer:
    """A goal reached by acting, not by answering: `stop` carries no answer to check.

    Its `progress` is 1 or 0 once the episode has ended, 1 while `check` holds, else the
    task's `_on_the_way(state)` level (the module's table)."""

    needs_answer: ClassVar[bool] = False

    def answer_candidates(self, root: Any) -> list[str]:
        return []

    def progress(self, state: WebState) -> float:
        finished = _finished(self, state)
        if finished is not None:
            return finished
        return 1.0 if self.check(state, None) else self._on_the_way(state)

    def _on_the_way(self, state: WebState) -> float:
        raise NotImplementedError


@dataclass
class AddToCart(NoAnswer):
    """Add the cheapest (or most expensive) product of a colour and kind to the cart."""

    name: ClassVar[str] = "add_to_cart"
    pid: int
    sort: str  # the listing sort that puts the target first: price_asc or price_desc
    objective: str
    texts: tuple[str, ...]
    start_url: str = HOMES["shop"]

    @classmethod
    def sample(cls, site: Site, rng: random.Random) -> AddToCart:
        group = _group(site, rng, 2)
        cheapest = rng.random() < 0.7
        target = min(group, key=lambda p: p.price if cheapest else -p.price)
        which = "cheapest" if cheapest else "most expensive"
        query = f"{target.colour} {target.kind}".lower()
        return cls(
            pid=target.pid,
            sort="price_asc" if cheapest else "price_desc",
            objective=f"Add the {which} {query} to the cart.",
            texts=(query, target.kind.lower(), target.name),
        )

    def check(self, state: WebState, answer: str | None) -> bool:
        return state.site.cart.get(self.pid, 0) >= 1

    def _on_the_way(self, state: WebState) -> float:
        if _on(state, "shop", "product", self.pid):
            return 0.6
        listed, visible = _product_position(state, {self.pid})
        if listed:
            return 0.4 if visible else 0.3
        return 0.1 if state.route.site == "shop" else 0.0


@dataclass
class OpenProduct(NoAnswer):
    """Open the product page of a named product."""

    name: ClassVar[str] = "open_product"
    pid: int
    objective: str
    texts: tuple[str, ...]
    start_url: str = HOMES["shop"]

    @classmethod
    def sample(cls, site: Site, rng: random.Random) -> OpenProduct:
        target = rng.choice(site.products)
        return cls(
            pid=target.pid,
            objective=f"Open the product page of the {target.name}.",
            texts=(target.name, f"{target.colour} {target.kind}".lower(), target.kind.lower()),
        )

    def check(self, state: WebState, answer: str | None) -> bool:
        return _on(state, "shop", "product", self.pid)

    def _on_the_way(self, state: WebState) -> float:
        listed, visible = _product_position(state, {self.pid})
        if listed:
            return 0.5 if visible else 0.4
        return 0.1 if state.route.site == "shop" else 0.0


@dataclass
class Checkout(NoAnswer):
    """Buy exactly one product of a colour and kind, shipped to a given name and address."""

    name: ClassVar[str] = "checkout"
    pids: tuple[int, ...]  # the matching products, any of which will do
    customer: str
    address: str
    objective: str
    texts: tuple[str, ...]
    start_url: str = HOMES["shop"]

    @classmethod
    def sample(cls, site: Site, rng: random.Random) -> Checkout:
        group = _group(site, rng, 1)
        query = f"{group[0].colour} {group[0].kind}".lower()
        customer = f"{rng.choice(('Alex', 'Sam', 'Jordan', 'Taylor', 'Robin'))} " + rng.choice(
            ("Reed", "Stone", "Moss", "Lake", "Fox")
        )
        address = f"{rng.randint(1, 99)} {rng.choice(('Oak', 'Birch', 'Hill'))} Street, " + (
            rng.choice(("Springfield", "Riverton", "Lakeside"))
        )
        return cls(
            pids=tuple(p.pid for p in group),
            customer=customer,
            address=address,
            objective=f"Buy one {query} and ship it to {customer}, {address}.",
            texts=(query, customer, address),
        )

    def cart_ready(self, site: Site) -> bool:
        """The cart holds exactly one unit of one matching product."""
        return (
            len(site.cart) == 1
            and next(iter(site.cart.items()))[0] in self.pids
            and (next(iter(site.cart.values())) == 1)
        )

    def check(self, state: WebState, answer: str | None) -> bool:
        return any(
            order.placed_by_user
            and len(order.items) == 1
            and order.items[0][0] in self.pids
            and order.items[0][1] == 1
            and _same(order.customer, self.customer)
            and _same(order.address, self.address)
            for order in state.site.orders
        )

    def _on_the_way(self, state: WebState) -> float:
        if self.cart_ready(state.site):
            if _on(state, "shop", "checkout"):
                values = state.view.values
                filled = _same(values.get("name"), self.customer) + _same(
                    values.get("address"), self.address
                )
                return 0.7 + 0.1 * filled
            return 0.6
        route = state.route
        if route.site == "shop" and route.page == "product" and int(route.arg) in self.pids:
            return 0.4
        listed, visible = _product_position(state, set(self.pids))
        if listed:
            return 0.3 if visible else 0.25
        return 0.1 if route.site == "shop" else 0.0


def _admin_progress(state: WebState, number: int, levels: tuple[float, ...]) -> float:
    """Progress on the way to an order's page: levels = (row visible, listed not visible,
    another orders page, another admin page)."""
    on_table, listed, visible = _order_position(state, number)
    if visible:
        return levels[0]
    if listed:
        return levels[1]
    if on_table:
        return levels[2]
    return levels[3] if state.route.site == "admin" else 0.0


@dataclass
class OrderStatus:
    """Find the status of an order; answered with `stop [status]`."""

    name: ClassVar[str] = "order_status"
    needs_answer: ClassVar[bool] = True
    number: int
    objective: str
    texts: tuple[str, ...]
    start_url: str = HOMES["admin"]

    @classmethod
    def sample(cls, site: Site, rng: random.Random) -> OrderStatus:
        order = rng.choice(site.orders)
        return cls(
            number=order.number,
            objective=f"What is the status of order #{order.number}? Answer with the status.",
            texts=(str(order.number), order.customer),
        )

    def status(self, state: WebState) -> str:
        return state.site.order(self.number).status

    def check(self, state: WebState, answer: str | None) -> bool:
        return _same(answer, self.status(state))

    def progress(self, state: WebState) -> float:
        finished = _finished(self, state)
        if finished is not None:
            return finished
        if _on(state, "admin", "order", self.number):
            return 0.7
        return _admin_progress(state, self.number, (0.7, 0.5, 0.3, 0.2))

    def answer_candidates(self, root: Any) -> list[str]:
        """Statuses shown on the page (table cells, `Status: X`), at most three."""
        found: list[str] = []
        stack = [root] if root is not None else []
        while stack:
            node = stack.pop()
            text = node.name.removeprefix("Status: ")
            if text in STATUSES and node.role in ("cell", "StaticText") and text not in found:
                found.append(text)
            stack.extend(reversed(node.children))
        return found[:3]


@dataclass
class UpdateStatus(NoAnswer):
    """Change an order's status in the admin panel."""

    name: ClassVar[str] = "update_status"
    number: int
    status: str
    objective: str
    texts: tuple[str, ...]
    start_url: str = HOMES["admin"]

    @classmethod
    def sample(cls, site: Site, rng: random.Random) -> UpdateStatus:
        order = rng.choice(site.orders)
        status = rng.choice([s for s in STATUSES if s != order.status])
        return cls(
            number=order.number,
            status=status,
            objective=f"Change the status of order #{order.number} to {status}.",
            texts=(str(order.number), order.customer),
        )

    def check(self, state: WebState, answer: str | None) -> bool:
        return state.site.order(self.number).status == self.status

    def _on_the_way(self, state: WebState) -> float:
        if _on(state, "admin", "order", self.number):
            return 0.8 if state.view.values.get("status-select") == self.status else 0.6
        return _admin_progress(state, self.number, (0.5, 0.4, 0.3, 0.2))


@dataclass
class ReplyPost(NoAnswer):
    """Reply a given text to the newest forum post or to a post named by its title."""

    name: ClassVar[str] = "reply_post"
    post_id: int
    text: str
    objective: str
    texts: tuple[str, ...]
    start_url: str = HOMES["forum"]

    @classmethod
    def sample(cls, site: Site, rng: random.Random) -> ReplyPost:
        text = rng.choice(REPLY_TEXTS)
        if rng.random() < 0.5:
            post = post_listing(site)[0]
            objective = f"Reply '{text}' to the newest post."
        else:
            post = rng.choice(site.posts)
            objective = f"Reply '{text}' to the post titled '{post.title}'."
        return cls(
            post_id=post.pid,
            text=text,
            objective=objective,
            texts=(text, "Hello"),
        )

    def check(self, state: WebState, answer: str | None) -> bool:
        post = state.site.post(self.post_id)
        return any(r.author == USERNAME and _same(r.text, self.text) for r in post.replies)

    def _on_the_way(self, state: WebState) -> float:
        if _on(state, "forum", "post", self.post_id):
            return 0.8 if _same(state.view.values.get("reply"), self.text) else 0.6
        if _on(state, "forum", "home"):
            posts = post_listing(state.site)
            index = next(i for i, p in enumerate(posts) if p.pid == self.post_id)
            shown = visible_range(state.view.scroll, len(posts), state.site.layout.window)
            return 0.4 if index in shown else 0.3
        return 0.2 if state.route.site == "forum" else 0.0


GOALS: dict[str, type] = {
    goal.name: goal
    for goal in (AddToCart, OpenProduct, Checkout, OrderStatus, UpdateStatus, ReplyPost)
}


def make_goal(name: str, site: Site, rng: random.Random) -> BrowsingGoal:
    """Sample a goal of the web task called `name` on `site`; an unknown name lists the known
    ones."""
    if name not in GOALS:
        raise ValueError(f"unknown web task {name!r}; known: {', '.join(sorted(GOALS))}")
    sample: Callable[[Site, random.Random], BrowsingGoal] = GOALS[name].sample
    return sample(site, rng)
