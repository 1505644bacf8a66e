"""The simulated websites behind `WebSimulator` (sim.py): generated content, URL routes, page
building and form handling. The browser (tabs, history, element ids, actions) lives in sim.py.

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

Modules, each using only the ones before it:

- model.py: the data (`Site`, `Product`, `Order`, `Post`, `Reply`, `Layout`) and
  `generate_site`;
- routes.py: what a URL shows (`route -> Route`), listing URLs and the lists a listing shows;
- pages.py: `build_page(site, url, view) -> Page`, a tree of `Element`s for one visit's `View`;
- forms.py: `run_handler`, what submitting a page's form does to the site data.
"""

from rlvr_world.domains.web.site.forms import run_handler
from rlvr_world.domains.web.site.model import (
    STATUSES,
    USERNAME,
    WINDOW,
    Layout,
    Order,
    Post,
    Product,
    Reply,
    Site,
    generate_site,
    money,
)
from rlvr_world.domains.web.site.pages import FOCUSABLE, Element, Page, View, build_page
from rlvr_world.domains.web.site.routes import (
    ADMIN,
    BLANK,
    FORUM,
    HOMES,
    ORDERS_PER_PAGE,
    SHOP,
    SORTS,
    Route,
    order_listing,
    orders_url,
    post_listing,
    product_listing,
    route,
    visible_range,
    whole_number,
)

__all__ = [
    "ADMIN",
    "BLANK",
    "FOCUSABLE",
    "FORUM",
    "HOMES",
    "ORDERS_PER_PAGE",
    "SHOP",
    "SORTS",
    "STATUSES",
    "USERNAME",
    "WINDOW",
    "Element",
    "Layout",
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
