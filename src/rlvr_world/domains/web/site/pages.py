"""The pages of the simulated sites: `build_page(site, url, view) -> Page`, a tree of
`Element`s built from the live site data for one visit's `View` (scroll offset, typed values,
open popups, focus, tooltip, message).

A page is a tree of `Element`s: role, name, ordered props, children, a `key` that identifies
the element on its page (keys starting with "@" identify header elements shared by every page
of a site, so they keep their ids across navigation), and what the element does: `click` and
`enter` are effects (`("nav", url)`, `("toggle",)`, `("check",)`, `("choose", key, value)`,
`("do", handler, arg)`: a form handler of forms.py), `field` marks a text ("text") or number
("number") input, `hover` is "menu" (hovering opens its popup) or the text of a tooltip.

Long lists (product listings, the orders of a page, the forum's posts) show `Layout.window`
rows at a time from the view's scroll offset (a scroll moves half a window); everything else
on a page is always in the tree (a sticky layout). Pages show the live site data (another
tab's changes appear on its next render).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from rlvr_world.domains.web.site.model import (
    CATEGORIES,
    STATUSES,
    Order,
    Post,
    Product,
    Site,
    money,
)
from rlvr_world.domains.web.site.routes import (
    ADMIN,
    FORUM,
    HOMES,
    ORDER_COLUMNS,
    ORDERS_PER_PAGE,
    SHOP,
    SORTS,
    Route,
    listing_url,
    order_listing,
    orders_url,
    post_listing,
    product_listing,
    route,
    visible_range,
)

__all__ = ["FOCUSABLE", "Element", "Page", "View", "build_page"]

LATEST_ORDERS = 5
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _long_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


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
