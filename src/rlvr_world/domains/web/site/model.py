"""The data of the simulated sites and its generator: products, orders, forum posts, the
cart (`Site`), the page sizes (`Layout`), and `generate_site(rng)`, which makes a fresh `Site`
from small word lists. Everything an episode changes (the cart, orders, replies) lives here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

__all__ = [
    "CATEGORIES",
    "STATUSES",
    "USERNAME",
    "WINDOW",
    "Layout",
    "Order",
    "Post",
    "Product",
    "Reply",
    "Site",
    "generate_site",
    "money",
]

WINDOW = 10  # rows of a long list in the tree at once
USERNAME = "shopper"  # the signed-in user: author of forum replies posted in the simulator

STATUSES = ("Pending", "Processing", "Shipped", "Complete", "Canceled")

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
