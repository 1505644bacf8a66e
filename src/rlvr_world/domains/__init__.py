"""Domains: each one folder and one entry in `DOMAINS` (a `Domain` bundle, `domains.base`).

A user's own domain plugs in the same way: `DOMAINS.register("mine", "my_pkg.domain:DOMAIN")`,
or name it in a config as `data.domain=my_pkg.domain:DOMAIN`.

>>> sorted(DOMAINS.names())
['robot', 'textgame', 'web']
>>> get_domain("web").name
'web'
"""

from __future__ import annotations

from rlvr_world.core.registry import Registry
from rlvr_world.domains.base import Domain, DomainError

DOMAINS = Registry(
    "domain",
    {
        "textgame": "rlvr_world.domains.textgame.domain:DOMAIN",
        "robot": "rlvr_world.domains.robot.domain:DOMAIN",
        "web": "rlvr_world.domains.web.domain:DOMAIN",
    },
)
"""Domain name -> `"module:attr"` of its `Domain` bundle."""


def get_domain(name: str) -> Domain:
    """The bundle of a registered domain, or of a `"module:attr"` path; an unknown name is a
    `DomainError` listing the known ones."""
    try:
        bundle = DOMAINS.get(name)
    except KeyError as error:
        raise DomainError(str(error).strip("\"'")) from None
    if not isinstance(bundle, Domain):
        raise DomainError(f"domain {name!r} is a {type(bundle).__name__}, not a Domain bundle")
    return bundle


__all__ = ["DOMAINS", "Domain", "DomainError", "get_domain"]
