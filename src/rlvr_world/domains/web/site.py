"""The simulated websites behind `WebSimulator` (sim.py): generated content, URL routes and
page building. The browser (tabs, history, element ids, actions) lives in sim.py.

Three sites, each generated from a seed with small word lists:

- **shop** (`http://shop.local`): home with categories and featured products, category and
  search listings (`/category/kitchen`, `/search?q=red+mug`, `&sort=price_asc`), product pages
  (`/product/123`: price, colour, rating, description, a `Qty` spinbutton, `Add to Cart`), the
  cart (`/cart`: items with `Remove` buttons and a total), the checkout form (`/checkout`:
  required `Full name` and `Address`, a `Gift wrap` checkbox, `Place Order`) and the order
  confirmation (`/order/1234`).
- **admin** (`http://admin.local`): dashboard, the orders table (`/orders?page=2`, `sort`,
  `dir`, `q`: order #, date, customer, status, total; sortable column headers; 20 orders a
  page) and order pages (`/order/1234`) with a status combobox and `Save`.
- **forum** (`http://forum.local`): posts newest first, post pages (`/post/7`) with replies,
  a reply textbox and `Post`.

A page is a tree of `Element`s: role, name, ordered props, children, a `key` that identifies
the element on its page (keys starting with "@" identify header elements shared by every page
of a site, so they keep their ids across navigation), and what the element does: `click` and
`enter` are effects (`("nav", url)`, `("toggle",)`, `("check",)`, `("choose", key, value)`,
`("do", handler, arg)`), `field` marks a text ("text") or number ("number") input, `hover` is
"menu" (hovering opens its popup) or the text of a tooltip.

Long lists (product listings, the orders of a page, the forum's posts) show `Layout.window`
rows at a time from the view's scroll offset (a scroll moves half a window); everything else on a page is always in the tree (a sticky
layout). Pages show the live site data (another tab's changes appear on its next render).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

__all__ = [
    "ADMIN",
    "BLANK",
    "FORUM",
    "ORDERS_PER_PAGE",
    "Layout",
    "SHOP",
    "SORTS",
    "STATUSES",
    "USERNAME",
    "WINDOW",
    "Element",
    "Order",
    "Page",
    "Post",
    "Product",
    "Reply",
    "Route",
    "Site",
    "View",
    "build_page",
    "generate_site",
    "money",
    "order_listing",
    "orders_url",
    "post_listing",
    "product_listing",
    "route",
    "run_handler",
    "visible_range",
    "whole_number",
]

SHOP = "http://shop.local"
ADMIN = "http://admin.local"
FORUM = "http://forum.local"
BLANK = "about:blank"
HOSTS = {"shop.local": "shop", "admin.local": "admin", "forum.local": "forum"}
HOMES = {"shop": SHOP + "/", "admin": ADMIN + "/", "forum": FORUM + "/"}

WINDOW = 10  # rows of a long list in the tree at once
ORDERS_PER_PAGE = 20
LATEST_ORDERS = 5
USERNAME = "shopper"  # the signed-in user: author of forum replies posted in the simulator

STATUSES = ("Pending", "Processing", "Shipped", "Complete", "Canceled")
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

# category -> (product kind, base price in dollars)
CATEGORIES = {
    "Kitchen": (("Mug", 9), ("Kettle", 35), ("Teapot", 25), ("Bowl", 12)),
    "Home": (("Lamp", 40), ("Cushion", 18), ("Vase", 22), ("Clock", 30)),
    "Office": (("Notebook", 6), ("Desk Chair", 120), ("Stapler", 11), ("Pen Set", 14)),
    "Outdoor": (("Backpack", 45), ("Tent", 150), ("Water Bottle", 16), ("Hammock", 60)),
}
COLOURS = ("Red", "Blue", "Green", "Black", "White", "Yellow", "Grey", "Pink", "Orange", "Purple")
ADJECTIVES = tuple("Classic Modern Rustic Compact Deluxe Nordic Vintage Urban Cozy Sturdy".split())
FEATURES = (
    "Made from durable materials and easy to clean.",
    "A customer favourite with a two-year warranty.",
    "Lightweight, practical and built to last.",
    "Designed in a small studio and tested for daily use.",
    "Ships in recycled packaging within two days.",
)
STORE_NAMES = ("One Stop Market", "Corner Goods", "Maple Market", "Blue Door Shop")
FORUM_NAMES = ("Shoppers Forum", "Deal Hunters", "Home and Living Talk")
FIRST_NAMES = tuple(
    "Alex Maria James Priya Chen Sofia Omar Emma Lucas Aisha Noah Yuki Daniel Fatima Leo Grace".split()
)
LAST_NAMES = tuple(
    "Kim Garcia Smith Patel Wang Rossi Haddad Brown Silva Khan Miller Tanaka Jones Ali Martin Lee".split()
)
STREETS = ("Oak Street", "Maple Avenue", "Pine Road", "Cedar Lane", "Elm Drive", "River Street")
CITIES = ("Springfield", "Riverton", "Lakeside", "Fairview", "Greenville")
POST_TITLES = (
    "Is the {product} worth it?",
    "Looking for a good {kind}",
    "How do I clean my {kind}?",
    "{Kind} recommendations for a small flat",
    "Shipping took {days} days",
    "Best {category} deals this month",
    "Review: {product}",
    "{Kind} or {kind2}: which one?",
    "Tips for choosing a {kind}",
    "My {product} arrived damaged",
)
POST_BODIES = (
    "I am thinking about buying one for my {room}. Any advice?",
    "Has anyone here used it for more than a year? I would love to hear how it held up.",
    "The description says one thing but the photos say another. What do you think?",
    "I finally ordered one last week and wanted to share my first impressions.",
)
ROOMS = ("kitchen", "office", "living room", "garden", "bedroom")
REPLIES = (
    "Great question!",
    "I had the same problem.",
    "Thanks for sharing.",
    "Mine arrived in {days} days.",
    "I would recommend the {product}.",
    "Check the sale section, it is often cheaper there.",
    "Same here, very happy with it.",
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ------------------------------------------------------------------------------- content


@dataclass(frozen=True)
class Product:
    pid: int
    name: str  # "{adjective} {colour} {kind}", unique in a site
    colour: str
    kind: str
    category: str
    price: int  # cents
    rating: float  # 1.0-5.0, one decimal
    reviews: int
    description: str


@dataclass
class Order:
    number: int
    date: str  # ISO date
    customer: str
    address: str
    status: str
    items: list[tuple[int, int]]  # (product id, quantity)
    total: int  # cents
    placed_by_user: bool = False  # placed in this episode through the shop's checkout
    gift_wrap: bool = False


@dataclass
class Reply:
    author: str
    text: str
    date: str


@dataclass
class Post:
    pid: int  # increases with the date: the newest post has the largest id
    title: str
    author: str
    date: str
    body: str
    replies: list[Reply]


@dataclass(frozen=True)
class Layout:
    """Page sizes: rows of a long list in the tree at once, products featured on the shop's
    home page, related products on a product page. The defaults are WebArena-like; smaller
    pages make shorter trees and diffs for models trained from scratch on a CPU."""

    window: int = WINDOW
    featured: int = 4
    related: int = 3

    def __post_init__(self) -> None:
        for name in ("window", "featured", "related"):
            if getattr(self, name) < 1:
                raise ValueError(f"Layout.{name} must be >= 1, got {getattr(self, name)}")

    @property
    def scroll_step(self) -> int:
        """Rows one `scroll` moves: half a window, so some rows stay and some change."""
        return max(1, self.window // 2)


@dataclass
class Site:
    """All the data of the three sites; `cart` (product id -> quantity), `orders` and the posts'
    replies change during an episode."""

    store_name: str
    forum_name: str
    today: str
    products: list[Product]  # in relevance order
    featured: list[int]
    orders: list[Order]  # oldest first
    posts: list[Post]  # oldest first
    cart: dict[int, int] = field(default_factory=dict)
    layout: Layout = field(default_factory=Layout)

    def product(self, pid: int) -> Product | None:
        return next((p for p in self.products if p.pid == pid), None)

    def order(self, number: int) -> Order | None:
        return next((o for o in self.orders if o.number == number), None)

    def post(self, pid: int) -> Post | None:
        return next((p for p in self.posts if p.pid == pid), None)

    def cart_total(self) -> int:
        return sum(self.product(pid).price * qty for pid, qty in self.cart.items())


def money(cents: int) -> str:
    """$1,234.56 from cents."""
    return f"${cents // 100:,}.{cents % 100:02d}"


def _long_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _address(rng: random.Random) -> str:
    return f"{rng.randint(1, 99)} {rng.choice(STREETS)}, {rng.choice(CITIES)}"


def generate_site(rng: random.Random, layout: Layout | None = None) -> Site:
    """A fresh site: ~80 products (2-3 colours per kind, 1-3 products per kind and colour with
    distinct prices), 32-48 orders over the last 60 days, 14-22 forum posts with 0-4 replies."""
    today = date(2024, rng.randint(1, 12), rng.randint(1, 28))
    products: list[Product] = []
    pids = iter(rng.sample(range(100, 1000), 200))
    for category, kinds in CATEGORIES.items():
        for kind, base in kinds:
            for colour in rng.sample(COLOURS, rng.randint(2, 3)):
                prices: set[int] = set()
                for adjective in rng.sample(ADJECTIVES, rng.choice((1, 2, 2, 3))):
                    price = int(base * rng.uniform(0.6, 1.8)) * 100 + 99
                    while price in prices:  # distinct, so "the cheapest" is one product
                        price += 100
                    prices.add(price)
                    products.append(
                        Product(
                            pid=next(pids),
                            name=f"{adjective} {colour} {kind}",
                            colour=colour,
                            kind=kind,
                            category=category,
                            price=price,
                            rating=round(rng.uniform(2.0, 5.0), 1),
                            reviews=rng.randint(0, 250),
                            description=f"A {adjective.lower()} {colour.lower()} "
                            f"{kind.lower()}. {rng.choice(FEATURES)}",
                        )
                    )
    rng.shuffle(products)
    layout = layout or Layout()
    featured = [p.pid for p in rng.sample(products, layout.featured)]

    orders: list[Order] = []
    number = rng.randint(1000, 8000)
    offsets = sorted((rng.randint(1, 60) for _ in range(rng.randint(32, 48))), reverse=True)
    for offset in offsets:
        items = [(p.pid, rng.randint(1, 3)) for p in rng.sample(products, rng.randint(1, 3))]
        weights = (1, 2, 3, 4, 1) if offset > 14 else (4, 3, 2, 1, 1)
        orders.append(
            Order(
                number=number,
                date=(today - timedelta(days=offset)).isoformat(),
                customer=_person(rng),
                address=_address(rng),
                status=rng.choices(STATUSES, weights)[0],
                items=items,
                total=sum(next(p.price for p in products if p.pid == pid) * q for pid, q in items),
            )
        )
        number += rng.randint(1, 3)

    posts: list[Post] = []
    titles: set[str] = set()
    authors = [f"{first.lower()}{rng.randint(1, 99)}" for first in rng.sample(FIRST_NAMES, 10)]
    post_offsets = sorted((rng.randint(0, 40) for _ in range(rng.randint(14, 22))), reverse=True)
    for pid, offset in enumerate(post_offsets, start=1):
        title = ""
        while not title or title in titles:
            product = rng.choice(products)
            kind, kind2 = rng.sample([k for kinds in CATEGORIES.values() for k, _ in kinds], 2)
            title = rng.choice(POST_TITLES).format(
                product=product.name,
                kind=kind.lower(),
                Kind=kind,
                kind2=kind2.lower(),
                category=rng.choice(list(CATEGORIES)).lower(),
                days=rng.randint(2, 21),
            )
        titles.add(title)
        posted = today - timedelta(days=offset)
        replies = [
            Reply(
                author=rng.choice(authors),
                text=rng.choice(REPLIES).format(
                    days=rng.randint(2, 14), product=rng.choice(products).name
                ),
                date=(posted + timedelta(days=rng.randint(0, offset))).isoformat(),
            )
            for _ in range(rng.randint(0, 4))
        ]
        replies.sort(key=lambda reply: reply.date)
        posts.append(
            Post(
                pid=pid,
                title=title,
                author=rng.choice(authors),
                date=posted.isoformat(),
                body=rng.choice(POST_BODIES).format(room=rng.choice(ROOMS)),
                replies=replies,
            )
        )
    return Site(
        store_name=rng.choice(STORE_NAMES),
        forum_name=rng.choice(FORUM_NAMES),
        today=today.isoformat(),
        products=products,
        featured=featured,
        orders=orders,
        posts=posts,
        layout=layout,
    )


# --------------------------------------------------------------------------------- routes


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


def _url(base: str, path: str, **params: str | int) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in ("", None)})
    return f"{base}{path}" + (f"?{query}" if query else "")


def listing_url(route_: Route, sort: str) -> str:
    """The shop listing `route_` sorted by `sort` (a key of SORTS)."""
    sort = "" if sort == "relevance" else sort
    if route_.page == "search":
        return _url(SHOP, "/search", q=route_.query, sort=sort)
    return _url(SHOP, f"/category/{route_.arg.lower()}", sort=sort)


def orders_url(query: str = "", sort: str = "date", direction: str = "", page: int = 1) -> str:
    """The admin orders listing; default parameters are left out of the URL."""
    default_direction = "desc" if sort in ("date", "total") else "asc"
    return _url(
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


# ---------------------------------------------------------------------------------- pages


@dataclass
class View:
    """The state of one page visit (one history entry): scroll offset, typed values and
    combobox choices by element key, checkbox states, open popups, focus, tooltip and the
    message shown after an action (`flash`). Going back or forward starts a fresh view."""

    scroll: int = 0
    values: dict[str, str] = field(default_factory=dict)
    checked: dict[str, bool] = field(default_factory=dict)
    expanded: list[str] = field(default_factory=list)
    focus: str | None = None
    tooltip: str | None = None
    flash: str = ""


@dataclass
class Element:
    """One accessibility node of a page before ids are assigned (see the module docstring)."""

    role: str
    name: str = ""
    key: str = ""
    props: dict[str, str] = field(default_factory=dict)
    children: list[Element] = field(default_factory=list)
    click: tuple[str, ...] = ()
    enter: tuple[str, ...] = ()
    field: str = ""
    hover: str = ""


@dataclass
class Page:
    title: str
    root: Element
    rows: int = 0  # length of the page's scrollable list (0: nothing to scroll)


def _text(key: str, text: str) -> Element:
    return Element("StaticText", text, key)


def _link(key: str, name: str, url: str, hover: str = "") -> Element:
    return Element("link", name, key, click=("nav", url), hover=hover)


def _field(key: str, name: str, view: View, default: str = "", required: bool = False, **kw):
    value = view.values.get(key, default)
    props = {"required": str(required)}
    if value:
        props["value"] = value
    return Element("textbox", name, key, props, field="text", **kw)


def _combobox(key: str, name: str, view: View, value: str, options: list[tuple[str, tuple]]):
    """A select: clicking it toggles a listbox of options; each option's effect is given."""
    expanded = key in view.expanded
    combobox = Element(
        "combobox",
        name,
        key,
        {"value": value, "hasPopup": "listbox", "expanded": str(expanded)},
        click=("toggle",),
    )
    if expanded:
        combobox.children.append(
            Element(
                "listbox",
                name,
                f"{key}:list",
                children=[
                    Element(
                        "option",
                        label,
                        f"{key}:{label}",
                        {"selected": str(label == value)},
                        click=effect,
                    )
                    for label, effect in options
                ],
            )
        )
    return combobox


def _site_nav() -> Element:
    return Element(
        "navigation",
        "Sites",
        "@sites",
        children=[
            _link("@sites:shop", "Shop", HOMES["shop"]),
            _link("@sites:admin", "Admin", HOMES["admin"]),
            _link("@sites:forum", "Forum", HOMES["forum"]),
        ],
    )


def _shop_header(site: Site, route_: Route, view: View) -> list[Element]:
    menu_open = "@shop:menu" in view.expanded
    items = [_site_nav(), _link("@shop:logo", site.store_name, HOMES["shop"])]
    items.append(
        Element(
            "button",
            "Categories",
            "@shop:menu",
            {"hasPopup": "menu", "expanded": str(menu_open)},
            click=("toggle",),
            hover="menu",
        )
    )
    if menu_open:
        items.append(
            Element(
                "menu",
                "Categories",
                "@shop:menu:list",
                children=[
                    Element(
                        "menuitem",
                        category,
                        f"@shop:menu:{category.lower()}",
                        click=("nav", f"{SHOP}/category/{category.lower()}"),
                    )
                    for category in CATEGORIES
                ],
            )
        )
    query = route_.query if route_.page == "search" else ""
    search = ("do", "shop_search", "")
    items.append(_field("@shop:search", "Search", view, query, enter=search))
    items.append(Element("button", "Search", "@shop:search-go", click=search))
    count = sum(site.cart.values())
    tip = f"{count} items in your cart, total {money(site.cart_total())}"
    items.append(_link("@shop:cart", f"Cart ({count})", f"{SHOP}/cart", hover=tip))
    return items


def _shop_home(site: Site) -> tuple[str, list[Element], int]:
    content = [
        Element("heading", f"Welcome to {site.store_name}", "welcome"),
        Element("heading", "Shop by category", "categories-heading"),
        Element(
            "list",
            "Categories",
            "categories",
            children=[
                _link(f"category:{c.lower()}", c, f"{SHOP}/category/{c.lower()}")
                for c in CATEGORIES
            ],
        ),
        Element("heading", "Featured products", "featured-heading"),
    ]
    featured = []
    for pid in site.featured:
        product = site.product(pid)
        featured.append(
            Element(
                "listitem",
                "",
                f"featured:{pid}",
                children=[
                    _link(f"featured:{pid}:link", product.name, f"{SHOP}/product/{pid}"),
                    _text(f"featured:{pid}:price", money(product.price)),
                ],
            )
        )
    content.append(Element("list", "Featured products", "featured", children=featured))
    return site.store_name, content, 0


def _shop_listing(site: Site, route_: Route, view: View) -> tuple[str, list[Element], int]:
    products = product_listing(site, route_)
    if route_.page == "search":
        title = f"Search results for: {route_.query}" if route_.query else "Search"
    else:
        title = route_.arg
    shown = visible_range(view.scroll, len(products), site.layout.window)
    if products:
        summary = f"Showing {shown.start + 1}-{shown.stop} of {len(products)} products"
    elif route_.query or route_.page == "category":
        summary = "No products match your search."
    else:
        summary = "Enter a search term to find products."
    options = [(label, ("nav", listing_url(route_, sort))) for sort, label in SORTS.items()]
    content = [
        Element("heading", title, "title"),
        _text("summary", summary),
        _combobox("sort", "Sort by", view, SORTS[route_.sort], options),
    ]
    rows = []
    for index in shown:
        product = products[index]
        key = f"row:{product.pid}"
        rows.append(
            Element(
                "listitem",
                "",
                key,
                children=[
                    _link(f"{key}:link", product.name, f"{SHOP}/product/{product.pid}"),
                    _text(f"{key}:price", money(product.price)),
                    _text(f"{key}:rating", f"Rating: {product.rating}/5"),
                ],
            )
        )
    if rows:
        content.append(Element("list", "Products", "products", children=rows))
    return f"{title} - {site.store_name}", content, len(products)


def _shop_product(site: Site, product: Product, view: View) -> list[Element]:
    add = ("do", "add_to_cart", str(product.pid))
    quantity = view.values.get("qty", "1")
    related = [p for p in site.products if p.category == product.category and p.pid != product.pid]
    related = related[: site.layout.related]
    return [
        Element("heading", product.name, "title"),
        _text("price", money(product.price)),
        _text("colour", f"Colour: {product.colour}"),
        _link("category", product.category, f"{SHOP}/category/{product.category.lower()}"),
        _text("rating", f"Rating: {product.rating}/5 ({product.reviews} reviews)"),
        _text("description", product.description),
        Element(
            "spinbutton",
            "Qty",
            "qty",
            {"required": "False", "value": quantity},
            field="number",
            enter=add,
        ),
        Element("button", "Add to Cart", "add", click=add),
        Element("heading", "Related products", "related-heading"),
        *(_link(f"related:{p.pid}", p.name, f"{SHOP}/product/{p.pid}") for p in related),
    ]


def _shop_cart(site: Site) -> list[Element]:
    content = [Element("heading", "Shopping Cart", "title")]
    if not site.cart:
        content.append(_text("empty", "You have no items in your shopping cart."))
        return content
    items = []
    for pid, quantity in site.cart.items():
        product = site.product(pid)
        key = f"item:{pid}"
        items.append(
            Element(
                "listitem",
                "",
                key,
                children=[
                    _link(f"{key}:link", product.name, f"{SHOP}/product/{pid}"),
                    _text(f"{key}:quantity", f"{money(product.price)} x {quantity}"),
                    Element("button", "Remove", f"{key}:remove", click=("do", "remove", str(pid))),
                ],
            )
        )
    content.append(Element("list", "Cart items", "items", children=items))
    content.append(_text("total", f"Total: {money(site.cart_total())}"))
    content.append(
        Element("button", "Proceed to Checkout", "checkout", click=("nav", f"{SHOP}/checkout"))
    )
    return content


def _shop_checkout(site: Site, view: View) -> list[Element]:
    content = [Element("heading", "Checkout", "title")]
    if not site.cart:
        content.append(_text("empty", "Your cart is empty."))
        content.append(_link("continue", "Continue shopping", HOMES["shop"]))
        return content
    place = ("do", "place_order", "")
    count = sum(site.cart.values())
    content += [
        _text("summary", f"Order summary: {count} items, total {money(site.cart_total())}"),
        _field("name", "Full name", view, required=True, enter=place),
        _field("address", "Address", view, required=True, enter=place),
        Element(
            "checkbox",
            "Gift wrap",
            "gift",
            {"checked": "true" if view.checked.get("gift", False) else "false"},
            click=("check",),
        ),
        Element("button", "Place Order", "place", click=place),
    ]
    return content


def _admin_header(view: View, route_: Route) -> list[Element]:
    search = ("do", "admin_search", "")
    query = route_.query if route_.page == "orders" else ""
    return [
        _site_nav(),
        _link("@admin:dashboard", "Dashboard", HOMES["admin"]),
        _link("@admin:orders", "Orders", orders_url()),
        _field(
            "@admin:search",
            "Search orders",
            view,
            query,
            enter=search,
            hover="Search by order number or customer name",
        ),
        Element("button", "Search", "@admin:search-go", click=search),
    ]


def _admin_dashboard(site: Site) -> list[Element]:
    pending = sum(o.status == "Pending" for o in site.orders)
    revenue = sum(o.total for o in site.orders if o.status != "Canceled")
    latest = []
    for order in reversed(site.orders[-LATEST_ORDERS:]):
        key = f"latest:{order.number}"
        latest.append(
            Element(
                "listitem",
                "",
                key,
                children=[
                    _link(f"{key}:link", f"#{order.number}", f"{ADMIN}/order/{order.number}"),
                    _text(f"{key}:info", f"{order.customer}, {money(order.total)}, {order.status}"),
                ],
            )
        )
    return [
        Element("heading", "Dashboard", "title"),
        _text("count", f"Total orders: {len(site.orders)}"),
        _text("pending", f"Pending orders: {pending}"),
        _text("revenue", f"Revenue: {money(revenue)}"),
        Element("heading", "Latest orders", "latest-heading"),
        Element("list", "Latest orders", "latest", children=latest),
    ]


def _admin_orders(site: Site, route_: Route, view: View) -> tuple[list[Element], int]:
    orders, matches, pages = order_listing(site, route_)
    page = min(route_.page_number, pages)
    shown = visible_range(view.scroll, len(orders), site.layout.window)
    first = (page - 1) * ORDERS_PER_PAGE
    if orders:
        summary = f"{matches} orders found, showing {first + shown.start + 1}-{first + shown.stop}"
    else:
        summary = "No orders found."
    headers = []
    for column, label in ORDER_COLUMNS.items():
        props = {}
        if column == route_.sort:
            props["sort"] = "ascending" if route_.direction == "asc" else "descending"
            direction = "desc" if route_.direction == "asc" else "asc"
        else:
            direction = "desc" if column in ("date", "total") else "asc"
        url = orders_url(route_.query, column, direction)
        headers.append(Element("columnheader", label, f"col:{column}", props, click=("nav", url)))
    rows = [Element("row", "", "head", children=headers)]
    for index in shown:
        order = orders[index]
        key = f"order:{order.number}"
        rows.append(
            Element(
                "row",
                "",
                key,
                children=[
                    _link(f"{key}:link", f"#{order.number}", f"{ADMIN}/order/{order.number}"),
                    Element("cell", order.date, f"{key}:date"),
                    Element("cell", order.customer, f"{key}:customer"),
                    Element("cell", order.status, f"{key}:status"),
                    Element("cell", money(order.total), f"{key}:total"),
                ],
            )
        )
    content = [
        Element("heading", "Orders", "title"),
        _text("summary", summary),
        Element("table", "Orders", "table", children=rows),
    ]
    if page > 1:
        url = orders_url(route_.query, route_.sort, route_.direction, page - 1)
        content.append(_link("previous", "Previous page", url))
    content.append(_text("page", f"Page {page} of {pages}"))
    if page < pages:
        url = orders_url(route_.query, route_.sort, route_.direction, page + 1)
        content.append(_link("next", "Next page", url))
    return content, len(orders)


def _admin_order(site: Site, order: Order, view: View) -> list[Element]:
    items = []
    for index, (pid, quantity) in enumerate(order.items):
        product = site.product(pid)
        line = f"{product.name} x {quantity}: {money(product.price * quantity)}"
        items.append(
            Element("listitem", "", f"item:{index}", children=[_text(f"item:{index}:text", line)])
        )
    selected = view.values.get("status-select", order.status)
    options = [(status, ("choose", "status-select", status)) for status in STATUSES]
    return [
        Element("heading", f"Order #{order.number}", "title"),
        _text("date", f"Date: {order.date}"),
        _text("customer", f"Customer: {order.customer}"),
        _text("address", f"Address: {order.address}"),
        _text("status", f"Status: {order.status}"),
        Element("list", "Items", "items", children=items),
        _text("total", f"Total: {money(order.total)}"),
        _combobox("status-select", "Change status", view, selected, options),
        Element("button", "Save", "save", click=("do", "save_status", str(order.number))),
        _link("back", "Back to orders", orders_url()),
    ]


def _forum_header(site: Site) -> list[Element]:
    return [
        _site_nav(),
        _link("@forum:logo", site.forum_name, HOMES["forum"]),
        _link("@forum:latest", "Latest posts", HOMES["forum"]),
    ]


def _forum_home(site: Site, view: View) -> tuple[list[Element], int]:
    posts = post_listing(site)
    shown = visible_range(view.scroll, len(posts), site.layout.window)
    rows = []
    for index in shown:
        post = posts[index]
        key = f"post:{post.pid}"
        count = len(post.replies)
        meta = f"by {post.author} on {_long_date(post.date)}, {count} repl{'y' if count == 1 else 'ies'}"
        rows.append(
            Element(
                "listitem",
                "",
                key,
                children=[
                    _link(f"{key}:link", post.title, f"{FORUM}/post/{post.pid}"),
                    _text(f"{key}:meta", meta),
                ],
            )
        )
    return [
        Element("heading", "Latest posts", "title"),
        _text("summary", f"Showing {shown.start + 1}-{shown.stop} of {len(posts)} posts"),
        Element("list", "Posts", "posts", children=rows),
    ], len(posts)


def _forum_post(post: Post, view: View) -> list[Element]:
    post_reply = ("do", "post_reply", str(post.pid))
    content = [
        Element("heading", post.title, "title"),
        _text("meta", f"by {post.author} on {_long_date(post.date)}"),
        _text("body", post.body),
        Element("heading", f"Replies ({len(post.replies)})", "replies-heading"),
    ]
    if post.replies:
        replies = [
            Element(
                "listitem",
                "",
                f"reply:{i}",
                children=[
                    _text(f"reply:{i}:meta", f"{reply.author} on {_long_date(reply.date)}"),
                    _text(f"reply:{i}:text", reply.text),
                ],
            )
            for i, reply in enumerate(post.replies)
        ]
        content.append(Element("list", "Replies", "replies", children=replies))
    else:
        content.append(_text("no-replies", "No replies yet."))
    content.append(_field("reply", "Write a reply", view, enter=post_reply))
    content.append(Element("button", "Post", "post", click=post_reply))
    return content


def _not_found(site_name: str) -> list[Element]:
    return [
        Element("heading", "404 Not Found", "title"),
        _text("text", "The page you requested was not found."),
        _link("home", "Go to the home page", HOMES[site_name]),
    ]


FOCUSABLE = {"link", "button", "textbox", "spinbutton", "combobox", "checkbox", "menuitem"}
FOCUSABLE |= {"option", "columnheader"}


def _walk(element: Element):
    yield element
    for child in element.children:
        yield from _walk(child)


def _decorate(root: Element, view: View) -> None:
    """Mark the focused element (`focused: True` first; the root when nothing else has focus)
    and add the hovered element's tooltip."""
    focused = None
    for element in _walk(root):
        if element.key == view.focus and element is not root:
            focused = element
        if element.key == view.tooltip and element.hover and element.hover != "menu":
            element.children.append(Element("tooltip", element.hover, f"{element.key}:tooltip"))
    target = focused or root
    target.props = {"focused": "True", **target.props}


def build_page(site: Site, url: str, view: View) -> Page:
    """The page `url` shows for this view (see the module docstring). Never raises."""
    route_ = route(site, url)
    rows = 0
    if route_.site == "blank":
        return Page("New Tab", _finish(Element("RootWebArea", "", "@root"), view))
    if route_.site == "unreachable":
        root = Element(
            "RootWebArea",
            route_.host,
            "@root",
            children=[
                Element("heading", "This site cannot be reached", "title"),
                _text("text", f"{route_.host} could not be found."),
            ],
        )
        return Page(route_.host, _finish(root, view))
    if route_.site == "shop":
        header = _shop_header(site, route_, view)
        title = site.store_name
        if route_.page == "home":
            title, content, rows = _shop_home(site)
        elif route_.page in ("search", "category"):
            title, content, rows = _shop_listing(site, route_, view)
        elif route_.page == "product":
            product = site.product(int(route_.arg))
            title, content = (
                f"{product.name} - {site.store_name}",
                _shop_product(site, product, view),
            )
        elif route_.page == "cart":
            title, content = f"Shopping Cart - {site.store_name}", _shop_cart(site)
        elif route_.page == "checkout":
            title, content = f"Checkout - {site.store_name}", _shop_checkout(site, view)
        elif route_.page == "confirmation":
            title = f"Order Confirmation - {site.store_name}"
            content = [
                Element("heading", "Thank you for your purchase!", "title"),
                _text("number", f"Your order number is #{route_.arg}."),
                _link("continue", "Continue Shopping", HOMES["shop"]),
            ]
        else:
            title, content = f"Page Not Found - {site.store_name}", _not_found("shop")
    elif route_.site == "admin":
        header = _admin_header(view, route_)
        if route_.page == "dashboard":
            title, content = "Dashboard - Admin Panel", _admin_dashboard(site)
        elif route_.page == "orders":
            content, rows = _admin_orders(site, route_, view)
            title = "Orders - Admin Panel"
        elif route_.page == "order":
            order = site.order(int(route_.arg))
            title, content = f"Order #{order.number} - Admin Panel", _admin_order(site, order, view)
        else:
            title, content = "Page Not Found - Admin Panel", _not_found("admin")
    else:
        header = _forum_header(site)
        if route_.page == "home":
            content, rows = _forum_home(site, view)
            title = f"Latest posts - {site.forum_name}"
        elif route_.page == "post":
            post = site.post(int(route_.arg))
            title, content = f"{post.title} - {site.forum_name}", _forum_post(post, view)
        else:
            title, content = f"Page Not Found - {site.forum_name}", _not_found("forum")
    flash = [_text("flash", view.flash)] if view.flash else []
    root = Element("RootWebArea", title, "@root", children=header + flash + content)
    return Page(title, _finish(root, view), rows)


def _finish(root: Element, view: View) -> Element:
    _decorate(root, view)
    return root


# ------------------------------------------------------------------------------- handlers


def _shop_search(site: Site, fields: dict[str, str], view: View, arg: str) -> tuple[str, str]:
    query = fields.get("@shop:search", "").strip()
    if not query:
        return "flash", "Please enter a search term."
    return "nav", _url(SHOP, "/search", q=query)


def _add_to_cart(site: Site, fields: dict[str, str], view: View, arg: str) -> tuple[str, str]:
    product = site.product(int(arg))
    quantity = fields.get("qty", "1")
    quantity = whole_number(quantity) or 1
    site.cart[product.pid] = site.cart.get(product.pid, 0) + quantity
    return "flash", f"You added {product.name} to your shopping cart."


def _remove(site: Site, fields: dict[str, str], view: View, arg: str) -> tuple[str, str]:
    product = site.product(int(arg))
    site.cart.pop(product.pid, None)
    return "flash", f"You removed {product.name} from your shopping cart."


def _place_order(site: Site, fields: dict[str, str], view: View, arg: str) -> tuple[str, str]:
    if not site.cart:
        return "flash", "Your cart is empty."
    for key, label in (("name", "Full name"), ("address", "Address")):
        if not fields.get(key, "").strip():
            return "flash", f"Please fill in the required field: {label}."
    order = Order(
        number=max(o.number for o in site.orders) + 1,
        date=site.today,
        customer=fields["name"].strip(),
        address=fields["address"].strip(),
        status="Pending",
        items=list(site.cart.items()),
        total=site.cart_total(),
        placed_by_user=True,
        gift_wrap=fields.get("gift") == "true",
    )
    site.orders.append(order)
    site.cart.clear()
    return "nav", f"{SHOP}/order/{order.number}"


def _admin_search(site: Site, fields: dict[str, str], view: View, arg: str) -> tuple[str, str]:
    return "nav", orders_url(fields.get("@admin:search", "").strip())


def _save_status(site: Site, fields: dict[str, str], view: View, arg: str) -> tuple[str, str]:
    order = site.order(int(arg))
    status = fields.get("status-select", order.status)
    order.status = status
    return "flash", f"Order #{order.number} saved with status {status}."


def _post_reply(site: Site, fields: dict[str, str], view: View, arg: str) -> tuple[str, str]:
    post = site.post(int(arg))
    text = " ".join(fields.get("reply", "").split())
    if not text:
        return "flash", "Your reply is empty."
    post.replies.append(Reply(USERNAME, text, site.today))
    view.values.pop("reply", None)
    return "flash", "Your reply has been posted."


HANDLERS: dict[str, Callable[[Site, dict[str, str], View, str], tuple[str, str]]] = {
    "shop_search": _shop_search,
    "add_to_cart": _add_to_cart,
    "remove": _remove,
    "place_order": _place_order,
    "admin_search": _admin_search,
    "save_status": _save_status,
    "post_reply": _post_reply,
}


def run_handler(site: Site, name: str, arg: str, fields: dict[str, str], view: View):
    """Run a page's ("do", name, arg) effect: ("nav", url) to load a page, or ("flash", text)
    to stay and show a message. `fields` holds the page's current input values by key
    (textbox/spinbutton/combobox `value`, checkbox `checked`)."""
    return HANDLERS[name](site, fields, view, arg)
