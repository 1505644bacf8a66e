"""A deterministic simulated browser over generated websites, observed as WebArena
accessibility trees: the web domain's simulator (SPEC §4).

The sites (a shop, its admin panel and a forum; see site/) are generated from the episode's
seed; browsing goals (goals.py) are checked against the simulator's own state (state.py). The
contract follows Gymnasium, with text in and out:

- `reset(seed=None, task=None) -> Observation`; `step(action) -> Observation`; an
  `Observation` holds the URL, the rendered tree, the tab titles, a message ('' or why the
  action was invalid) and `done` (after `stop`). `legal_actions()` lists useful concrete
  actions; `success()` and `progress()` judge the goal from the state.
- Actions are WebArena's strings: `click [id]`, `type [id] [text] [press_enter_after]` (1 or 0,
  default 1), `hover [id]`, `press [key_comb]`, `scroll [up]` / `scroll [down]`, `goto [url]`,
  `go_back`, `go_forward`, `new_tab`, `tab_focus [tab_index]`, `close_tab`, `stop [answer]`.
  `parse_action` reads them (tolerating whitespace and backticks) and never raises; `step`
  never raises either: an unparsable or impossible action leaves every tree unchanged and
  says why in `message`.
- The tree: one element a line, `[id] role 'name' key: value ...`, children indented one tab
  per level, the root `RootWebArea 'Title'` (`focused: True` when nothing else has focus).
  Ids are stable: an element keeps its id from one step to the next while it stays in the
  tab's tree (header elements stay across the pages of a site), and an element that appears
  takes a fresh id from a per-episode counter (never reused), so a diff between consecutive
  trees matches elements by id. Elements scrolled out and back in, and pages revisited, get
  fresh ids.
- Deterministic under a seed: `reset(seed=s)` and the same actions give the same trees. No
  global random state is used; `reset()` without a seed continues the generator seeded in
  the constructor (None = fresh entropy, as Gymnasium).

>>> sim = WebSimulator()
>>> observation = sim.reset(seed=0, task="order_status")
>>> sim.objective
'What is the status of order #5926? Answer with the status.'
>>> observation.tree.splitlines()[:2]
["[749] RootWebArea 'Dashboard - Admin Panel' focused: True", "\\t[750] navigation 'Sites'"]
>>> observation = sim.step("type [756] [5926] [1]")
>>> observation.url, observation.message
('http://admin.local/orders?q=5926', '')
>>> sim.step("click [1]").message
'element [1] is not on the page'
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from rlvr_world.domains.web.goals import GOALS, BrowsingGoal, make_goal
from rlvr_world.domains.web.site.forms import run_handler
from rlvr_world.domains.web.site.model import Layout, generate_site
from rlvr_world.domains.web.site.pages import FOCUSABLE, Element, build_page
from rlvr_world.domains.web.site.routes import BLANK, whole_number
from rlvr_world.domains.web.state import Entry, Node, Tab, WebState

__all__ = [
    "ACTION_KINDS",
    "Action",
    "Observation",
    "WebSimulator",
    "find_nodes",
    "parse_action",
    "render",
]

# ------------------------------------------------------------------------------ the tree

# characters that end a line for str.splitlines(), and the tab that indents the tree
_LINE_BREAKS = re.compile("\r\n|[\n\r\t\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _one_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text)


def render(root: Node) -> str:
    """WebArena's text form: `[id] role 'name' key: value ...`, one element a line, children
    indented by one tab per depth. Names and values are made single-line, nothing else escaped.

    >>> render(Node(1, "RootWebArea", "Home", {"focused": "True"}, [Node(2, "link", "Cart")]))
    "[1] RootWebArea 'Home' focused: True\\n\\t[2] link 'Cart'"
    """
    lines: list[str] = []

    def visit(node: Node, depth: int) -> None:
        props = "".join(f" {key}: {_one_line(value)}" for key, value in node.props.items())
        lines.append(f"{chr(9) * depth}[{node.id}] {node.role} '{_one_line(node.name)}'{props}")
        for child in node.children:
            visit(child, depth + 1)

    visit(root, 0)
    return "\n".join(lines)


def find_nodes(root: Node | None, role: str | None = None, name: str | None = None) -> list[Node]:
    """The nodes under (and including) `root` with this role and/or exact name, in tree order."""
    found: list[Node] = []
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if (role is None or node.role == role) and (name is None or node.name == name):
            found.append(node)
        stack.extend(reversed(node.children))
    return found


# ---------------------------------------------------------------------------- actions

ACTION_KINDS = (
    "click",
    "type",
    "hover",
    "press",
    "scroll",
    "goto",
    "go_back",
    "go_forward",
    "new_tab",
    "tab_focus",
    "close_tab",
    "stop",
)


@dataclass(frozen=True)
class Action:
    """A parsed action: `kind` (one of ACTION_KINDS) and its bracketed arguments as strings,
    e.g. Action("type", ("12", "red mug", "1")). `str()` gives WebArena's canonical form."""

    kind: str
    args: tuple[str, ...] = ()

    def __str__(self) -> str:
        return " ".join([self.kind, *(f"[{arg}]" for arg in self.args)])


_ID = r"\[\s*([0-9]{1,12})\s*\]"
_PATTERNS = {
    "click": re.compile(rf"^click\s*{_ID}$", re.I | re.S),
    "hover": re.compile(rf"^hover\s*{_ID}$", re.I | re.S),
    "type3": re.compile(rf"^type\s*{_ID}\s*\[(.*)\]\s*\[\s*([01])\s*\]$", re.I | re.S),
    "type2": re.compile(rf"^type\s*{_ID}\s*\[(.*)\]$", re.I | re.S),
    "press": re.compile(r"^press\s*\[(.*)\]$", re.I | re.S),
    "scroll": re.compile(r"^scroll\s*\[\s*(?:direction\s*=\s*)?(\w+)\s*\]$", re.I | re.S),
    "goto": re.compile(r"^goto\s*\[(.*)\]$", re.I | re.S),
    "tab_focus": re.compile(r"^tab_focus\s*\[\s*([0-9]{1,6})\s*\]$", re.I | re.S),
    "stop": re.compile(r"^stop\s*(?:\[(.*)\])?$", re.I | re.S),
}
_BARE = ("go_back", "go_forward", "new_tab", "close_tab")


def parse_action(text: Any) -> Action | None:
    """The action a string names, or None if it is not one (never raises).

    Surrounding whitespace and backticks are ignored and action names are case-insensitive.
    `type` without the flag presses Enter (1); `scroll [direction=down]` and `stop` without an
    answer are accepted.

    >>> parse_action("```click [12]```")
    Action(kind='click', args=('12',))
    >>> str(parse_action("type [5] [red mug]"))
    'type [5] [red mug] [1]'
    >>> parse_action("click the button") is None
    True
    """
    if not isinstance(text, str):
        return None
    text = text.strip().strip("`").strip()
    lowered = text.lower()
    if lowered in _BARE:
        return Action(lowered)
    for name, pattern in _PATTERNS.items():
        match = pattern.match(text)
        if match is None:
            continue
        if name == "type3":
            return Action("type", (match.group(1), match.group(2), match.group(3)))
        if name == "type2":
            return Action("type", (match.group(1), match.group(2), "1"))
        if name == "scroll":
            direction = match.group(1).lower()
            return Action("scroll", (direction,)) if direction in ("up", "down") else None
        if name == "stop":
            return Action("stop", (match.group(1) or "",))
        return Action(name, (match.group(1),))
    return None


MODIFIERS = {"control": "Control", "shift": "Shift", "alt": "Alt", "meta": "Meta"}
MODIFIERS["controlormeta"] = "ControlOrMeta"
NAMED_KEYS = (
    "Enter",
    "Tab",
    "Escape",
    "Backspace",
    "Delete",
    "Space",
    "ArrowUp",
    "ArrowDown",
    "ArrowLeft",
    "ArrowRight",
    "PageUp",
    "PageDown",
    "Home",
    "End",
    "Insert",
    *(f"F{i}" for i in range(1, 13)),
)
_KEYS = {key.lower(): key for key in NAMED_KEYS}


def _parse_keys(text: str) -> str | None:
    """Playwright's key combination `Mod+Mod+Key` in canonical form, or None if a part is not
    a modifier, a named key or one printable character."""
    parts = text.strip().split("+")
    if text.strip().endswith("++"):  # "Control++": the plus key
        parts = parts[:-2] + ["+"]
    if not parts or any(not part.strip() for part in parts):
        return None
    *modifiers, key = [part.strip() for part in parts]
    canonical = []
    for modifier in modifiers:
        if modifier.lower() not in MODIFIERS:
            return None
        canonical.append(MODIFIERS[modifier.lower()])
    if key.lower() in _KEYS:
        key = _KEYS[key.lower()]
    elif not (len(key) == 1 and key.isprintable()):
        return None
    return "+".join([*canonical, key])


# --------------------------------------------------------------------------- observations


@dataclass
class Observation:
    """What the agent sees after reset or a step. `message`: '' or why the action was invalid
    (then nothing changed). `done`: the episode ended with `stop`."""

    url: str
    tree: str
    tabs: list[str]
    message: str = ""
    done: bool = False
    active_tab: int = 0


# -------------------------------------------------------------------------- the browser


class WebSimulator:
    """The simulated browser (see the module docstring). seed: seeds the generator that
    `reset()` without a seed continues (None = fresh entropy)."""

    def __init__(self, seed: int | None = None, layout: Layout | None = None) -> None:
        self.layout = layout or Layout()
        self._rng = random.Random(seed)
        self._state: WebState | None = None
        self._goal: BrowsingGoal | None = None
        self._next_id = 0

    # ------------------------------------------------------------------------ contract

    def reset(self, seed: int | None = None, task: str | None = None) -> Observation:
        """Start an episode: generate the sites, sample a goal of the web task `task` (a name
        in `GOALS`; None = one drawn from the seed) and open its start page in a single tab."""
        if task is not None and task not in GOALS:
            raise ValueError(f"unknown web task {task!r}; known: {', '.join(sorted(GOALS))}")
        if seed is not None:
            self._rng = random.Random(seed)
        rng = self._rng
        name = task if task is not None else rng.choice(sorted(GOALS))
        site = generate_site(rng, self.layout)
        self._goal = make_goal(name, site, rng)
        self._next_id = rng.randrange(100, 1000)
        self._state = WebState(site=site, tabs=[Tab([Entry(self._goal.start_url)])])
        self._render()
        return self.observation()

    def step(self, action: str) -> Observation:
        """Apply one action string; never raises. An invalid action changes nothing and
        returns the reason in `message`."""
        state = self._require()
        if state.done:
            return self.observation("the episode has ended: stop was already called")
        parsed = parse_action(action)
        if parsed is None:
            shown = action if isinstance(action, str) else repr(action)
            shown = _one_line(shown.strip())
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            return self.observation(f"invalid action: cannot parse {shown!r}")
        message = self._apply(parsed)
        if not message and not state.done:
            self._render()
        return self.observation(message)

    def observation(self, message: str = "") -> Observation:
        """The current observation (what the last step returned, with this message)."""
        state = self._require()
        return Observation(
            url=state.url,
            tree=state.tab.tree,
            tabs=[tab.title for tab in state.tabs],
            message=message,
            done=state.done,
            active_tab=state.active,
        )

    @property
    def objective(self) -> str:
        self._require()
        return self._goal.objective

    @property
    def goal(self) -> BrowsingGoal:
        """The episode's browsing goal (goals.py)."""
        self._require()
        return self._goal

    @property
    def url(self) -> str:
        return self._require().url

    @property
    def state(self) -> WebState:
        """The live state (site data and tabs); read it, do not change it."""
        return self._require()

    @property
    def root(self) -> Node:
        """The active tab's current tree."""
        return self._require().tab.root

    def success(self) -> bool:
        """Whether the goal is reached (answer goals: by the `stop` answer)."""
        state = self._require()
        return bool(self._goal.check(state, state.answer))

    def progress(self) -> float:
        """The goal's progress in [0, 1] (see goals.py)."""
        return float(self._goal.progress(self._require()))

    def legal_actions(self) -> list[str]:
        """A useful list of valid actions on the current page, in tree order: `click` on every
        interactive element, `type` into each field with a few goal texts (press Enter),
        `hover` on elements that react to it, `press` Enter/Tab/Escape, `scroll` where the
        list can move, history and tab actions that are possible, and `stop` (with the answers
        the goal's answer check would read off the page, for answer goals)."""
        state = self._require()
        if state.done:
            return []
        tab = state.tab
        actions: list[str] = []
        hovers: list[str] = []
        for node_id, element in tab.elements.items():
            if element.click or element.field or element.role in FOCUSABLE:
                actions.append(f"click [{node_id}]")
            if element.field == "number":
                actions += [f"type [{node_id}] [{n}] [0]" for n in ("1", "2", "3")]
            elif element.field:
                actions += [f"type [{node_id}] [{text}] [1]" for text in self._goal.texts[:3]]
            if element.hover:
                hovers.append(f"hover [{node_id}]")
        actions += hovers + ["press [Enter]", "press [Tab]", "press [Escape]"]
        start, window = state.view.scroll, self.layout.window
        if tab.rows > window and start + window < tab.rows:
            actions.append("scroll [down]")
        if tab.rows > window and start > 0:
            actions.append("scroll [up]")
        if tab.index > 0:
            actions.append("go_back")
        if tab.index < len(tab.history) - 1:
            actions.append("go_forward")
        actions.append("new_tab")
        actions += [f"tab_focus [{i}]" for i in range(len(state.tabs)) if i != state.active]
        if len(state.tabs) > 1:
            actions.append("close_tab")
        answers = self._goal.answer_candidates(tab.root) if self._goal.needs_answer else []
        actions += [f"stop [{answer}]" for answer in answers] or ["stop []"]
        return actions

    # ------------------------------------------------------------------------ internals

    def _require(self) -> WebState:
        if self._state is None:
            raise RuntimeError("call reset() before using the simulator")
        return self._state

    def _render(self) -> None:
        """Rebuild the active tab's page: keep the id of every element (by identity) that was
        in this tab's previous tree, give new ones fresh ids in tree order."""
        state = self._state
        tab = state.tab
        entry = tab.entry
        page = build_page(state.site, entry.url, entry.view)
        new_ids: dict[str, int] = {}
        elements: dict[int, Element] = {}

        def convert(element: Element) -> Node:
            identity = element.key if element.key.startswith("@") else f"{entry.url}#{element.key}"
            while identity in new_ids:  # defensive: a duplicate key is another element
                identity += "'"
            node_id = tab.ids.get(identity)
            if node_id is None:
                node_id = self._next_id
                self._next_id += 1
            new_ids[identity] = node_id
            elements[node_id] = element
            node = Node(node_id, element.role, element.name, dict(element.props))
            node.children = [convert(child) for child in element.children]
            return node

        tab.root = convert(page.root)
        tab.ids, tab.elements, tab.rows, tab.title = new_ids, elements, page.rows, page.title
        tab.tree = render(tab.root)
        entry.view.scroll = max(0, min(entry.view.scroll, page.rows - self.layout.window))

    def _element(self, raw_id: str) -> tuple[Element | None, str]:
        element = self._state.tab.elements.get(int(raw_id))
        if element is None:
            return None, f"element [{int(raw_id)}] is not on the page"
        return element, ""

    def _fields(self) -> dict[str, str]:
        """The page's input values by key: what the last render showed, updated by what was
        typed, chosen or checked since (a `type` with Enter submits before the next render)."""
        values = {}
        for element in self._state.tab.elements.values():
            if "value" in element.props:
                values[element.key] = element.props["value"]
            elif element.role == "checkbox":
                values[element.key] = element.props.get("checked", "false")
        view = self._state.view
        values.update(view.values)
        values.update({key: "true" if on else "false" for key, on in view.checked.items()})
        return values

    def _navigate(self, url: str) -> None:
        """Load `url` in the active tab: a new history entry (dropping the forward history);
        loading the current URL again only resets its view."""
        tab = self._state.tab
        if url == tab.entry.url:
            tab.history[tab.index] = Entry(url)
            return
        tab.history = tab.history[: tab.index + 1] + [Entry(url)]
        tab.index += 1

    def _effect(self, element: Element, effect: tuple[str, ...]) -> None:
        view = self._state.view
        kind = effect[0]
        if kind == "nav":
            self._navigate(effect[1])
        elif kind == "toggle":
            was_open = element.key in view.expanded
            view.expanded = [] if was_open else [element.key]
            view.focus = element.key
        elif kind == "check":
            view.checked[element.key] = not view.checked.get(element.key, False)
            view.focus = element.key
        elif kind == "choose":
            view.values[effect[1]] = effect[2]
            view.expanded = []
            view.focus = effect[1]
        elif kind == "do":
            outcome, value = run_handler(
                self._state.site, effect[1], effect[2], self._fields(), view
            )
            if outcome == "nav":
                self._navigate(value)
            else:
                view.flash = value
                if element.role in FOCUSABLE:
                    view.focus = element.key

    def _click(self, element: Element) -> None:
        view = self._state.view
        view.tooltip = None
        if element.click and element.click[0] == "toggle":
            self._effect(element, element.click)
            return
        view.expanded = []
        if element.click:
            if element.role in FOCUSABLE:
                view.focus = element.key
            self._effect(element, element.click)
        elif element.field or element.role in FOCUSABLE:
            view.focus = element.key
        else:
            view.focus = None

    def _enter(self, element: Element | None) -> None:
        """Enter on the focused element: submit a field's form, or activate it."""
        if element is None:
            return
        if element.field:
            if element.enter:
                self._effect(element, element.enter)
        elif element.click and element.role != "checkbox":
            self._click(element)

    def _value(self, element: Element) -> str:
        """A field's current value: typed since the last render, else what it showed."""
        return self._state.view.values.get(element.key, element.props.get("value", ""))

    def _focused(self) -> Element | None:
        key = self._state.view.focus
        return next((e for e in self._state.tab.elements.values() if e.key == key), None)

    def _scroll(self, rows: int) -> None:
        view, tab = self._state.view, self._state.tab
        view.scroll = max(0, min(view.scroll + rows, tab.rows - self.layout.window))

    def _press(self, keys: str) -> None:
        view = self._state.view
        key = keys.split("+")[-1] if keys != "+" and not keys.endswith("++") else "+"
        modifiers = keys.split("+")[:-1]
        focused = self._focused()
        editing = focused is not None and bool(focused.field)
        if modifiers and modifiers != ["Shift"]:
            return  # shortcuts (Control+a, ...) change nothing a tree shows
        if key == "Enter":
            self._enter(focused)
        elif key == "Tab":
            order = [e for e in self._state.tab.elements.values() if e.role in FOCUSABLE]
            if order:
                index = next((i for i, e in enumerate(order) if e is focused), None)
                step = -1 if modifiers == ["Shift"] else 1
                if index is None:
                    index = -1 if step == 1 else 0
                view.focus = order[(index + step) % len(order)].key
        elif key == "Escape":
            view.expanded, view.tooltip = [], None
        elif key in ("ArrowUp", "ArrowDown") and editing and focused.field == "number":
            value = self._value(focused)
            number = whole_number(value) or 1
            number = number + (1 if key == "ArrowUp" else -1)
            view.values[focused.key] = str(max(1, min(99, number)))
        elif key == "Backspace" and editing:
            view.values[focused.key] = self._value(focused)[:-1]
        elif editing and (len(key) == 1 or key == "Space"):
            character = " " if key == "Space" else key
            if focused.field == "text" or (
                character in "0123456789" and len(self._value(focused)) < 2
            ):
                view.values[focused.key] = self._value(focused) + character
        elif not editing and key in ("PageDown", "PageUp", "Space", "Home", "End"):
            if key == "Space" and focused is not None and focused.click:
                self._click(focused)  # Space activates a focused button, link or checkbox
                return
            window = self.layout.window
            rows = {"PageDown": window, "PageUp": -window, "Space": window}
            rows |= {"Home": -(10**6), "End": 10**6}
            self._scroll(rows[key])

    def _apply(self, action: Action) -> str:
        """Carry out a parsed action; return '' or why it is invalid (then change nothing)."""
        state = self._state
        tab, view = state.tab, state.view
        kind, args = action.kind, action.args
        if kind in ("click", "hover", "type"):
            element, message = self._element(args[0])
            if element is None:
                return message
            if kind == "click":
                self._click(element)
            elif kind == "hover":
                view.tooltip = element.key if element.hover and element.hover != "menu" else None
                view.expanded = [
                    k
                    for k in view.expanded
                    if not k.startswith("@") or element.key == k or element.key.startswith(k + ":")
                ]
                if element.hover == "menu" and element.key not in view.expanded:
                    view.expanded.append(element.key)
            else:
                text, enter = args[1], args[2] == "1"
                if not element.field:
                    return (
                        f"element [{int(args[0])}] ({element.role} '{_one_line(element.name)}') "
                        "is not a text field"
                    )
                if element.field == "number" and not 1 <= (whole_number(text.strip()) or 0) <= 99:
                    return f"element [{int(args[0])}] takes a whole number from 1 to 99"
                view.expanded, view.tooltip = [], None
                view.focus = element.key
                view.values[element.key] = text.strip() if element.field == "number" else text
                if enter:
                    self._enter(element)
        elif kind == "press":
            keys = _parse_keys(args[0])
            if keys is None:
                return f"unknown key combination {_one_line(args[0])[:40]!r}"
            self._press(keys)
        elif kind == "scroll":
            step = self.layout.scroll_step
            self._scroll(step if args[0] == "down" else -step)
        elif kind == "goto":
            url = _one_line(args[0]).strip()
            if not url:
                return "goto needs a URL"
            if "://" not in url and url != BLANK:
                url = "http://" + url
            self._navigate(url)
        elif kind == "go_back":
            if tab.index == 0:
                return "cannot go back: this tab has no earlier page"
            tab.index -= 1
            tab.history[tab.index] = Entry(tab.entry.url)
        elif kind == "go_forward":
            if tab.index >= len(tab.history) - 1:
                return "cannot go forward: this tab has no later page"
            tab.index += 1
            tab.history[tab.index] = Entry(tab.entry.url)
        elif kind == "new_tab":
            state.tabs.append(Tab([Entry(BLANK)]))
            state.active = len(state.tabs) - 1
        elif kind == "tab_focus":
            index = int(args[0])
            if index >= len(state.tabs):
                return f"there is no tab {index} (tabs 0-{len(state.tabs) - 1})"
            state.active = index
        elif kind == "close_tab":
            if len(state.tabs) == 1:
                return "cannot close the last tab"
            del state.tabs[state.active]
            state.active = len(state.tabs) - 1
        elif kind == "stop":
            state.done, state.answer = True, args[0]
        return ""
