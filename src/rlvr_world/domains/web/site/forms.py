"""The forms of the simulated sites: what a page's ("do", handler, arg) effect does when it
is submitted (search, add to cart, remove, place an order, search orders, save a status, post
a reply): `run_handler` changes the site data and says which page to load or which message
to show.
"""

from __future__ import annotations

from collections.abc import Callable

from rlvr_world.domains.web.site.model import USERNAME, Order, Reply, Site
from rlvr_world.domains.web.site.pages import View
from rlvr_world.domains.web.site.routes import SHOP, orders_url, url_with_query, whole_number

__all__ = ["HANDLERS", "run_handler"]


def _shop_search(site: Site, fields: dict[str, str], view: View, arg: str) -> tuple[str, str]:
    query = fields.get("@shop:search", "").strip()
    if not query:
        return "flash", "Please enter a search term."
    return "nav", url_with_query(SHOP, "/search", q=query)


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
