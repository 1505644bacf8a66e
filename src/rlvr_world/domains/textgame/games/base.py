"""The machinery every text game shares: objects in containers, generic actions, one tick.

A game keeps its objects as `Thing`s keyed by uuid; each `Thing` lists the uuids it contains
and knows its parent (None = lying in the room). `state()` renders the ByteSized32 schema:
objects in uuid order, then `{"score", "gameOver", "gameWon"}`.

UUIDs: `uuid_base` is the *next* uuid to assign (ByteSized32's `max_UUID`): max uuid ever
assigned + 1. New objects created during a step take `uuid_base`, `uuid_base + 1`, ...

Step semantics (ByteSized32): the action is applied, then one tick of world dynamics, then the
score is recomputed. An unknown or impossible action has no effect, but the tick still happens.
Once the game is over, `step` changes nothing (no action, no tick).

Every dynamic quantity lives in a visible property, so the next state is a function of the
current state, the action and the rules text: no hidden counters, no randomness after `reset`.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

ROOM_TEMPERATURE = 20

Handler = Callable[[], None]

GENERIC_RULES = """\
General rules:
- Each object has a name with its ID, a uuid, a type, properties and `contains`: the names of
  the objects directly inside it. Objects not inside anything lie in the room. The agent is a
  container: the objects inside it are your inventory.
- An object is reachable unless it is inside a closed container (isOpen false).
Generic actions (an action that is not possible has no effect):
- look around, inventory, wait: change nothing.
- take X: move a reachable movable object X (isMoveable true, not a liquid) into the agent.
- put X in Y / put X on Y: move a reachable movable object X into a reachable, open container Y
  (the preposition is "on" for stoves and plates, "in" otherwise); liquids only go into
  containers that hold liquids, and some containers accept only some types (listed below).
- open X / close X: set isOpen of a reachable openable container.
- turn on X / turn off X: set isOn of a reachable device.
After every action one time step passes (the tick rules below), then the score is updated.
New objects take uuids from the current UUID base, in order. After the game is over, nothing
changes.
"""


@dataclass
class Thing:
    """One game object. Only `type`, `properties` and `contains` are visible in the state;
    the flags below are fixed per object kind and explained by the game's rules text."""

    uuid: int
    name: str  # base name, unique within a game, e.g. "pot"
    type: str
    properties: dict[str, Any]
    contains: list[int] = field(default_factory=list)
    container: bool = False
    preposition: str = "in"
    portable: bool = False  # can be taken or put
    liquid: bool = False  # can be put (into liquid holders) but not taken
    holds_liquid: bool = False
    accepts: tuple[str, ...] | None = None  # types this container accepts; None = any
    device: bool = False  # has isOn and can be turned on/off

    @property
    def full_name(self) -> str:
        return f"{self.name} (ID: {self.uuid})"


class TextGame:
    """Base class of the ByteSized32-style games; one subclass per game.

    Subclasses set `name`, `rules` and implement `_setup(rng)`, `_tick()`, `_update_score()`
    and optionally `_game_actions()` and `expert_action()`.
    """

    name: ClassVar[str] = ""
    rules: ClassVar[str] = ""

    def __init__(self) -> None:
        self._rng = random.Random()
        self.reset()

    # ----------------------------------------------------------------------------- public API

    def reset(self, seed: int | None = None) -> list[dict]:
        """Start a new episode; randomised initial conditions, deterministic under `seed`."""
        if seed is not None:
            self._rng = random.Random(seed)
        self._things: dict[int, Thing] = {}
        self._parent: dict[int, int | None] = {}
        self._next_uuid = 0
        self._score = 0
        self._game_over = False
        self._game_won = False
        self._lost = False
        self.task_description = ""
        self._setup(self._rng)
        self._update_score()
        return self.state()

    def step(self, action: str) -> list[dict]:
        """Apply `action`, then one tick, then the score. Never raises."""
        if self._game_over:
            return self.state()
        handler = self._actions().get(_normalise(action))
        if handler is not None:
            handler()
        self._tick()
        self._update_score()
        return self.state()

    def legal_actions(self) -> list[str]:
        """Actions that have an effect now (tick aside), sorted; none once the game is over."""
        if self._game_over:
            return []
        return sorted(a for a, handler in self._actions().items() if handler is not None)

    def all_actions(self) -> list[str]:
        """Every action string the game recognises now, possible or not, sorted."""
        return sorted(self._actions())

    def expert_action(self) -> str:
        """An action that makes progress towards winning (a scripted solver)."""
        return "wait"

    def state(self) -> list[dict]:
        """A fresh deep copy of the state: objects in uuid order, then the score dict."""
        objects = [
            {
                "name": thing.full_name,
                "uuid": thing.uuid,
                "type": thing.type,
                "properties": copy.deepcopy(thing.properties),
                "contains": [self._things[uuid].full_name for uuid in thing.contains],
            }
            for _, thing in sorted(self._things.items())
        ]
        score = {"score": self._score, "gameOver": self._game_over, "gameWon": self._game_won}
        return [*objects, score]

    @property
    def uuid_base(self) -> int:
        """The next uuid a new object takes (max uuid ever assigned + 1)."""
        return self._next_uuid

    @property
    def done(self) -> bool:
        return self._game_over

    # ----------------------------------------------------------------------- subclass hooks

    def _setup(self, rng: random.Random) -> None:
        raise NotImplementedError

    def _tick(self) -> None:
        """World dynamics of one time step."""

    def _update_score(self) -> None:
        raise NotImplementedError

    def _game_actions(self) -> dict[str, Handler | None]:
        """Game-specific actions: string -> handler, or None when not possible now."""
        return {}

    # ------------------------------------------------------------------------------ objects

    def _add(
        self, name: str, type: str, properties: dict[str, Any], parent: Thing | None = None, **flags
    ) -> Thing:
        thing = Thing(self._next_uuid, name, type, dict(properties), **flags)
        self._next_uuid += 1
        self._things[thing.uuid] = thing
        self._parent[thing.uuid] = None
        if parent is not None:
            self._move(thing, parent)
        return thing

    def _add_agent(self) -> Thing:
        return self._add(
            "agent", "Agent", {"isContainer": True, "isMoveable": False}, container=True
        )

    def _remove(self, thing: Thing) -> None:
        for child_uuid in list(thing.contains):
            self._remove(self._things[child_uuid])
        self._detach(thing)
        del self._things[thing.uuid]
        del self._parent[thing.uuid]

    def _replace(
        self, old: Thing, name: str, type: str, properties: dict[str, Any], **flags
    ) -> Thing:
        """Remove `old` and create a new object (new uuid) in the same place."""
        parent = self.parent(old)
        self._remove(old)
        return self._add(name, type, properties, parent, **flags)

    def _detach(self, thing: Thing) -> None:
        parent_uuid = self._parent.get(thing.uuid)
        if parent_uuid is not None:
            self._things[parent_uuid].contains.remove(thing.uuid)
        self._parent[thing.uuid] = None

    def _move(self, thing: Thing, destination: Thing | None) -> None:
        self._detach(thing)
        if destination is not None:
            destination.contains.append(thing.uuid)
            self._parent[thing.uuid] = destination.uuid

    def find(self, name: str) -> Thing | None:
        """The object with this base name, if present."""
        for thing in self._things.values():
            if thing.name == name:
                return thing
        return None

    def things(self, type: str | None = None) -> list[Thing]:
        return [t for _, t in sorted(self._things.items()) if type is None or t.type == type]

    def parent(self, thing: Thing) -> Thing | None:
        parent_uuid = self._parent.get(thing.uuid)
        return None if parent_uuid is None else self._things[parent_uuid]

    def ancestors(self, thing: Thing) -> list[Thing]:
        chain, parent = [], self.parent(thing)
        while parent is not None:
            chain.append(parent)
            parent = self.parent(parent)
        return chain

    def inside(self, thing: Thing, container: Thing | None) -> bool:
        """Whether `thing` is (directly or indirectly) inside `container`."""
        return container is not None and container in self.ancestors(thing)

    def reachable(self, thing: Thing) -> bool:
        return all(a.properties.get("isOpen", True) for a in self.ancestors(thing))

    def in_inventory(self, thing: Thing) -> bool:
        parent = self.parent(thing)
        return parent is not None and parent.type == "Agent"

    # ------------------------------------------------------------------------------ actions

    def _can_take(self, thing: Thing) -> bool:
        return (
            thing.portable
            and not thing.liquid
            and self.reachable(thing)
            and not self.in_inventory(thing)
        )

    def _can_put(self, thing: Thing, container: Thing) -> bool:
        return (
            (thing.portable or thing.liquid)
            and container.container
            and container.type != "Agent"
            and thing is not container
            and self.parent(thing) is not container
            and not self.inside(container, thing)
            and self.reachable(thing)
            and self.reachable(container)
            and container.properties.get("isOpen", True)
            and (not thing.liquid or container.holds_liquid)
            and (container.accepts is None or thing.type in container.accepts)
        )

    def _actions(self) -> dict[str, Handler | None]:
        def noop() -> None:
            return None

        def when(condition: bool, handler: Handler) -> Handler | None:
            return handler if condition else None

        def setter(thing: Thing, key: str, value: Any) -> Handler:
            return lambda: self._set_property(thing, key, value)

        actions: dict[str, Handler | None] = {"look around": noop, "inventory": noop, "wait": noop}
        agent = self.find("agent")
        things = self.things()
        for thing in things:
            if thing.portable and not thing.liquid:
                actions[f"take {thing.name}"] = when(
                    self._can_take(thing), lambda t=thing: self._move(t, agent)
                )
            # boolean switches: (property, verb that sets it, verb that clears it)
            switches = [("isOpen", "open", "close")] if "isOpen" in thing.properties else []
            switches += [("isOn", "turn on", "turn off")] if thing.device else []
            for key, set_verb, clear_verb in switches:
                value, reachable = thing.properties[key], self.reachable(thing)
                actions[f"{set_verb} {thing.name}"] = when(
                    reachable and not value, setter(thing, key, True)
                )
                actions[f"{clear_verb} {thing.name}"] = when(
                    reachable and value, setter(thing, key, False)
                )
            if thing.portable or thing.liquid:
                for container in things:
                    if container.container and container.type != "Agent" and container is not thing:
                        actions[f"put {thing.name} {container.preposition} {container.name}"] = (
                            when(
                                self._can_put(thing, container),
                                lambda t=thing, c=container: self._put(t, c),
                            )
                        )
        actions.update(self._game_actions())
        return actions

    def _put(self, thing: Thing, container: Thing) -> None:
        self._move(thing, container)

    def _set_property(self, thing: Thing, key: str, value: Any) -> None:
        thing.properties[key] = value


def approach(value: int, target: int, rate: int) -> int:
    """Move `value` towards `target` by at most `rate`."""
    if value < target:
        return min(target, value + rate)
    return max(target, value - rate)


def _normalise(action: Any) -> str:
    return " ".join(action.lower().split()) if isinstance(action, str) else ""
