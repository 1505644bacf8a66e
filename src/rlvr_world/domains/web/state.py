"""The state of the simulated browser: the sites' data, the tabs with their histories and
last rendered trees, the active tab, and how the episode ended. `WebSimulator` (sim.py) owns
and changes it; browsing goals (goals.py) read it to judge success and progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rlvr_world.domains.web.site.model import Site
from rlvr_world.domains.web.site.pages import Element, View
from rlvr_world.domains.web.site.routes import Route, route

__all__ = ["Entry", "Node", "Tab", "WebState"]


@dataclass
class Node:
    """One accessibility-tree element. `props` are ordered (`focused` first when present)."""

    id: int
    role: str
    name: str
    props: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)


@dataclass
class Entry:
    """One page in a tab's history: its URL and the state of the visit."""

    url: str
    view: View = field(default_factory=View)


@dataclass
class Tab:
    """A tab: its history, the position in it, and the last render (ids by element identity,
    the tree, its elements by id and the length of its scrollable list)."""

    history: list[Entry]
    index: int = 0
    title: str = ""
    ids: dict[str, int] = field(default_factory=dict)
    root: Node | None = None
    tree: str = ""
    elements: dict[int, Element] = field(default_factory=dict)
    rows: int = 0

    @property
    def entry(self) -> Entry:
        return self.history[self.index]


@dataclass
class WebState:
    """Everything the simulator knows: the sites' data, the tabs, the active tab, and whether
    `stop` was called with which answer. Tasks read it (read-only)."""

    site: Site
    tabs: list[Tab]
    active: int = 0
    done: bool = False
    answer: str | None = None

    @property
    def tab(self) -> Tab:
        return self.tabs[self.active]

    @property
    def url(self) -> str:
        return self.tab.entry.url

    @property
    def view(self) -> View:
        return self.tab.entry.view

    @property
    def route(self) -> Route:
        return route(self.site, self.url)
