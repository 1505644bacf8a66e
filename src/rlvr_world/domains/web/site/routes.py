"""URL routes of the simulated sites: what a URL shows (`route(site, url) -> Route`), the URLs
of listings, and the lists a listing page shows (products, orders, posts) with the rows of a
long list in view (`visible_range`).

Hosts: the shop (`http://shop.local`), its admin panel (`http://admin.local`) and the forum
(`http://forum.local`); `about:blank` is a new tab, any other host is unreachable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from rlvr_world.domains.web.site.model import (
    CATEGORIES,
    WINDOW,
    Order,
    Post,
    Product,
    Site,
)

__all__ = [
    "ADMIN",
    "BLANK",
    "FORUM",
    "HOMES",
    "HOSTS",
    "ORDERS_PER_PAGE",
    "ORDER_COLUMNS",
    "SHOP",
    "SORTS",
    "Route",
    "listing_url",
    "order_listing",
    "orders_url",
    "post_listing",
    "product_listing",
    "route",
    "url_with_query",
    "visible_range",
    "whole_number",
]

SHOP = "http://shop.local"
ADMIN = "http://admin.local"
FORUM = "http://forum.local"
BLANK = "about:blank"
HOSTS = {"shop.local": "shop", "admin.local": "admin", "forum.local": "forum"}
HOMES = {"shop": SHOP + "/", "admin": ADMIN + "/", "forum": FORUM + "/"}

ORDERS_PER_PAGE = 20
# listing sort parameter -> the label of its option in the "Sort by" combobox
SORTS = {
    "relevance": "Relevance",
    "price_asc": "Price (low to high)",
    "price_desc": "Price (high to low)",
    "rating": "Rating",
}
ORDER_COLUMNS = {
    "number": "Order #",
    "date": "Date",
    "customer": "Customer",
    "status": "Status",
    "total": "Total",
}


@dataclass(frozen=True)
class Route:
    """What a URL shows. site: shop/admin/forum/blank/unreachable. page: home, category,
    search, product, cart, checkout, confirmation (shop); dashboard, orders, order (admin);
    home, post (forum); not_found; blank; unreachable. arg: the category, product id, order
    number or post id. query, sort, direction, page_number: listing parameters (with defaults)."""

    site: str
    page: str
    arg: str = ""
    query: str = ""
    sort: str = ""
    direction: str = ""
    page_number: int = 1
    host: str = ""


def route(site: Site, url: str) -> Route:
    """Parse `url` against the site's data (unknown pages are `not_found`). Never raises."""
    if url == BLANK:
        return Route("blank", "blank")
    try:
        parts = urlsplit(url)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        host = (parts.hostname or "").lower()
    except ValueError:
        return Route("unreachable", "unreachable", host=url[:60])
    if parts.scheme not in ("http", "https") or host not in HOSTS:
        return Route("unreachable", "unreachable", host=host or url[:60])
    name = HOSTS[host]
    segments = [s for s in parts.path.split("/") if s]
    number = whole_number(segments[1]) if len(segments) == 2 else None
    not_found = Route(name, "not_found")
    if name == "shop":
        sort = params.get("sort", "relevance")
        sort = sort if sort in SORTS else "relevance"
        if not segments:
            return Route(name, "home")
        if segments == ["search"]:
            return Route(name, "search", query=params.get("q", "").strip(), sort=sort)
        if len(segments) == 2 and segments[0] == "category":
            category = next((c for c in CATEGORIES if c.lower() == segments[1].lower()), None)
            return Route(name, "category", arg=category, sort=sort) if category else not_found
        if segments[0] == "product" and number is not None and site.product(number):
            return Route(name, "product", arg=str(number))
        if segments in (["cart"], ["checkout"]):
            return Route(name, segments[0])
        if segments[0] == "order" and number is not None:
            order = site.order(number)
            return (
                Route(name, "confirmation", arg=str(number))
                if order and order.placed_by_user
                else not_found
            )
        return not_found
    if name == "admin":
        if not segments:
            return Route(name, "dashboard")
        if segments == ["orders"]:
            sort = params.get("sort", "date")
            sort = sort if sort in ORDER_COLUMNS else "date"
            direction = params.get("dir", "")
            if direction not in ("asc", "desc"):
                direction = "desc" if sort in ("date", "total") else "asc"
            page = params.get("page", "1")
            page_number = whole_number(page) or 1
            return Route(
                name,
                "orders",
                query=params.get("q", "").strip(),
                sort=sort,
                direction=direction,
                page_number=max(1, page_number),
            )
        if segments[0] == "order" and number is not None and site.order(number):
            return Route(name, "order", arg=str(number))
        return not_found
    if not segments:
        return Route(name, "home")
    if segments[0] == "post" and number is not None and site.post(number):
        return Route(name, "post", arg=str(number))
    return not_found


def whole_number(text: str) -> int | None:
    """The number an ASCII string of 1-9 digits spells, else None (never raises)."""
    return int(text) if re.fullmatch(r"[0-9]{1,9}", text) else None


def url_with_query(base: str, path: str, **params: str | int) -> str:
    """`base` + `path` with the non-empty `params` as its query string."""
    query = urlencode({k: v for k, v in params.items() if v not in ("", None)})
    return f"{base}{path}" + (f"?{query}" if query else "")


def listing_url(route_: Route, sort: str) -> str:
    """The shop listing `route_` sorted by `sort` (a key of SORTS)."""
    sort = "" if sort == "relevance" else sort
    if route_.page == "search":
        return url_with_query(SHOP, "/search", q=route_.query, sort=sort)
    return url_with_query(SHOP, f"/category/{route_.arg.lower()}", sort=sort)


def orders_url(query: str = "", sort: str = "date", direction: str = "", page: int = 1) -> str:
    """The admin orders listing; default parameters are left out of the URL."""
    default_direction = "desc" if sort in ("date", "total") else "asc"
    return url_with_query(
        ADMIN,
        "/orders",
        q=query,
        sort="" if sort == "date" else sort,
        dir="" if direction in ("", default_direction) else direction,
        page="" if page == 1 else page,
    )


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def product_listing(site: Site, route_: Route) -> list[Product]:
    """The products a category or search page lists, in the route's sort order. A search
    matches products whose name, colour and category contain every query word."""
    if route_.page == "category":
        products = [p for p in site.products if p.category == route_.arg]
    elif route_.page == "search" and route_.query:
        words = [_stem(w) for w in route_.query.lower().split()]
        products = [
            p
            for p in site.products
            if all(w in f"{p.name} {p.colour} {p.category}".lower() for w in words)
        ]
    else:
        return []
    if route_.sort == "price_asc":
        products = sorted(products, key=lambda p: p.price)
    elif route_.sort == "price_desc":
        products = sorted(products, key=lambda p: -p.price)
    elif route_.sort == "rating":
        products = sorted(products, key=lambda p: (-p.rating, p.name))
    return products


def order_listing(site: Site, route_: Route) -> tuple[list[Order], int, int]:
    """(the orders on the route's page, how many orders match, how many pages). The query
    matches an order number or a customer name; the page number is clamped to the pages."""
    query = route_.query.lower().lstrip("#")
    orders = [
        o for o in site.orders if query in str(o.number) or (query and query in o.customer.lower())
    ]
    column = route_.sort or "date"
    orders.sort(key=lambda o: (getattr(o, column), o.number), reverse=route_.direction == "desc")
    pages = max(1, -(-len(orders) // ORDERS_PER_PAGE))
    page = min(route_.page_number, pages)
    return orders[(page - 1) * ORDERS_PER_PAGE : page * ORDERS_PER_PAGE], len(orders), pages


def post_listing(site: Site) -> list[Post]:
    """The forum's posts, newest first."""
    return sorted(site.posts, key=lambda p: (p.date, p.pid), reverse=True)


def visible_range(scroll: int, rows: int, window: int = WINDOW) -> range:
    """The indices of a `rows`-long list that are in the tree at scroll offset `scroll`, with
    `window` rows shown at once (the site's `Layout.window`)."""
    start = max(0, min(scroll, rows - window))
    return range(start, min(rows, start + window))
