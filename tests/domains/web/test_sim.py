"""The simulated browser: tree format, id stability, every action's effect, invalid actions,
determinism, the site's pages, and a property test that no string makes `step` raise."""

from __future__ import annotations

import copy
import doctest
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlvr_world.domains.web import sim as sim_module
from rlvr_world.domains.web import site as site_module
from rlvr_world.domains.web.policies import RandomPolicy
from rlvr_world.domains.web.sim import (
    Action,
    WebSimulator,
    find_nodes,
    parse_action,
    render,
)
from rlvr_world.domains.web.site import ADMIN, FORUM, SHOP, WINDOW, Layout
from rlvr_world.domains.web.state import Node

# `[id] role 'name' key: value ...` after the tab indentation; ids of 3-4 digits like WebArena's
LINE_RE = re.compile(r"^(\t*)\[(\d{3,4})\] ([A-Za-z]+) '([^\n\t]*)'((?: [A-Za-z]+: [^\n\t]*)*)$")


def parse_tree(tree: str) -> dict[int, str]:
    """id -> the line without indentation; checks the format, unique ids and the nesting."""
    items: dict[int, str] = {}
    depth = -1
    for index, line in enumerate(tree.split("\n")):
        match = LINE_RE.match(line)
        assert match, f"bad line {line!r}"
        new_depth = len(match.group(1))
        assert new_depth <= depth + 1, f"indentation jumps at {line!r}"
        assert (new_depth == 0) == (index == 0), "exactly the root is at depth 0"
        depth = new_depth
        node_id = int(match.group(2))
        assert node_id not in items, f"duplicate id {node_id}"
        items[node_id] = line.lstrip("\t")
    assert tree.split("\n")[0].split("] ")[1].startswith("RootWebArea '")
    assert tree.count("focused: True") == 1
    return items


def node(sim: WebSimulator, role: str, name: str | None = None) -> Node:
    found = find_nodes(sim.root, role, name)
    assert found, f"no {role} {name!r} on {sim.url}"
    return found[0]


def click(sim: WebSimulator, role: str, name: str | None = None):
    return sim.step(f"click [{node(sim, role, name).id}]")


def new_sim(task: str = "add_to_cart", seed: int = 0) -> WebSimulator:
    sim = WebSimulator()
    sim.reset(seed=seed, task=task)
    return sim


def assert_invalid(sim: WebSimulator, action: str, fragment: str = "") -> None:
    before_tree, before_url = sim.observation().tree, sim.url
    before_tabs = [tab.title for tab in sim.state.tabs]
    observation = sim.step(action)
    assert observation.message, action
    assert fragment in observation.message
    assert observation.tree == before_tree and observation.url == before_url
    assert observation.tabs == before_tabs and not observation.done


def test_doctests():
    for module in (sim_module, site_module):
        assert doctest.testmod(module).failed == 0


# ------------------------------------------------------------------------------ rendering


def test_render_format_and_escaping():
    root = Node(101, "RootWebArea", "Title", {"focused": "True"})
    root.children = [Node(102, "list", "", {}, [Node(103, "StaticText", "two\nlines\there")])]
    root.children.append(Node(104, "textbox", "Q", {"required": "False", "value": "a\nb"}))
    assert render(root).split("\n") == [
        "[101] RootWebArea 'Title' focused: True",
        "\t[102] list ''",
        "\t\t[103] StaticText 'two lines here'",
        "\t[104] textbox 'Q' required: False value: a b",
    ]


def test_every_page_type_renders_in_format():
    """Crawl each site's pages with a random policy; every tree parses."""
    sim = WebSimulator()
    seen_pages = set()
    for task in ("add_to_cart", "update_status", "reply_post"):
        for seed in range(4):
            observation = sim.reset(seed=seed, task=task)
            policy = RandomPolicy(seed=seed)
            for _ in range(25):
                parse_tree(observation.tree)
                seen_pages.add((sim.state.route.site, sim.state.route.page))
                observation = sim.step(policy.act(sim))
                if observation.done:
                    break
    assert {("shop", "home"), ("admin", "dashboard"), ("forum", "home")} <= seen_pages
    for url in (
        f"{SHOP}/cart",
        f"{SHOP}/checkout",
        f"{SHOP}/search?q=mug",
        f"{SHOP}/nope",
        f"{ADMIN}/orders?page=2&sort=total",
        f"{FORUM}/post/1",
        "http://elsewhere.example/",
        "about:blank",
    ):
        parse_tree(sim.step(f"goto [{url}]").tree)


def test_tree_sizes_are_webarena_like():
    sim = new_sim()
    sizes = {}
    for url in (f"{SHOP}/", f"{SHOP}/category/kitchen", f"{ADMIN}/orders", f"{FORUM}/"):
        sizes[url] = len(sim.step(f"goto [{url}]").tree.split("\n"))
    assert all(20 <= size <= 120 for size in sizes.values()), sizes


# -------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "text, expected",
    [
        ("click [12]", Action("click", ("12",))),  # plain
        ("  ```click [12]```  ", Action("click", ("12",))),  # backticks and spaces around
        ("```\nclick [12]\n```", Action("click", ("12",))),  # a fenced block
        ("CLICK [ 7 ]", Action("click", ("7",))),  # case, spaces in brackets
        ("type [5] [red mug] [0]", Action("type", ("5", "red mug", "0"))),
        ("type [5] [red mug]", Action("type", ("5", "red mug", "1"))),  # Enter by default
        ("type [5] [a [b] c] [1]", Action("type", ("5", "a [b] c", "1"))),  # brackets in text
        ("type [5] []", Action("type", ("5", "", "1"))),  # empty text
        ("hover [3]", Action("hover", ("3",))),
        ("press [Control+a]", Action("press", ("Control+a",))),
        ("scroll [down]", Action("scroll", ("down",))),
        ("scroll [direction=up]", Action("scroll", ("up",))),  # WebArena's long form
        ("goto [http://shop.local/cart]", Action("goto", ("http://shop.local/cart",))),
        ("go_back", Action("go_back")),
        ("go_forward", Action("go_forward")),
        ("new_tab", Action("new_tab")),
        ("tab_focus [1]", Action("tab_focus", ("1",))),
        ("close_tab", Action("close_tab")),
        ("stop [Shipped]", Action("stop", ("Shipped",))),
        ("stop []", Action("stop", ("",))),
        ("stop", Action("stop", ("",))),  # no answer
        ("", None),  # empty
        ("click", None),  # no id
        ("click [abc]", None),  # not an id
        ("click [12] please", None),  # trailing words
        ("scroll [left]", None),  # not a direction
        ("type [5] [x] [2]", Action("type", ("5", "x] [2", "1"))),  # flag not 0/1: text
        ("fly [3]", None),  # unknown action
        ("click [" + "9" * 5000 + "]", None),  # absurd id: no int() overflow
    ],
)
def test_parse_action(text, expected):
    assert parse_action(text) == expected


def test_parse_action_non_strings_and_canonical_form():
    assert parse_action(None) is None and parse_action(12) is None
    assert str(parse_action("type [5] [red mug]")) == "type [5] [red mug] [1]"
    assert str(parse_action("go_back")) == "go_back"


# ------------------------------------------------------------------------- action effects


def test_click_link_navigates_and_keeps_header_ids():
    sim = new_sim()
    before = parse_tree(sim.observation().tree)
    header = {i for i, line in before.items() if "'Shop'" in line or "textbox 'Search'" in line}
    observation = click(sim, "link", "Kitchen")
    assert observation.url == f"{SHOP}/category/kitchen" and observation.message == ""
    after = parse_tree(observation.tree)
    assert header <= set(after)  # the site header stays with its ids
    new_ids = set(after) - set(before)
    assert new_ids and min(new_ids) > max(before)  # fresh ids for the new content
    root_id = next(iter(before))
    assert root_id in after and after[root_id] != before[root_id]  # the root's title changed


def test_type_sets_value_and_enter_submits_search():
    sim = new_sim()
    box = node(sim, "textbox", "Search")
    observation = sim.step(f"type [{box.id}] [red mug] [0]")
    assert observation.url == f"{SHOP}/"
    line = parse_tree(observation.tree)[box.id]
    assert line == f"[{box.id}] textbox 'Search' focused: True required: False value: red mug"
    observation = sim.step("press [Enter]")
    assert observation.url == f"{SHOP}/search?q=red+mug"
    assert "Search results for: red mug" in observation.tree
    # type with Enter (the default) submits at once; the box keeps its id and shows the query
    observation = sim.step(f"type [{box.id}] [lamp]")
    assert observation.url == f"{SHOP}/search?q=lamp"
    assert parse_tree(observation.tree)[box.id].endswith("value: lamp")


def test_hover_opens_menu_and_tooltip():
    sim = new_sim()
    menu = node(sim, "button", "Categories")
    observation = sim.step(f"hover [{menu.id}]")
    assert "expanded: True" in parse_tree(observation.tree)[menu.id]
    assert len(find_nodes(sim.root, "menuitem")) == 4
    cart = next(n for n in find_nodes(sim.root, "link") if n.name.startswith("Cart ("))
    observation = sim.step(f"hover [{cart.id}]")  # elsewhere: the menu closes, a tooltip shows
    assert not find_nodes(sim.root, "menuitem")
    assert find_nodes(sim.root, "tooltip")[0].name.startswith("0 items in your cart")
    observation = sim.step("press [Escape]")
    assert not find_nodes(sim.root, "tooltip")


def test_click_toggles_menu_and_menuitem_navigates():
    sim = new_sim()
    click(sim, "button", "Categories")
    assert node(sim, "button", "Categories").props["expanded"] == "True"
    assert click(sim, "menuitem", "Office").url == f"{SHOP}/category/office"
    click(sim, "button", "Categories")
    click(sim, "button", "Categories")
    assert node(sim, "button", "Categories").props["expanded"] == "False"


def test_press_keys():
    sim = new_sim()
    tree = sim.observation().tree
    assert sim.step("press [Control+a]").tree == tree  # a valid shortcut that shows nothing
    assert_invalid(sim, "press [NoSuchKey]", "unknown key")
    assert_invalid(sim, "press [Hyper+x]", "unknown key")
    observation = sim.step("press [Tab]")  # focus moves to the first focusable element
    assert "focused: True" in parse_tree(observation.tree)[node(sim, "link", "Shop").id]
    sim.step("press [Shift+Tab]")
    last = find_nodes(sim.root, "link")[-1]  # wraps around to the last featured product
    assert last.props.get("focused") == "True"
    observation = sim.step("press [Enter]")  # activates the focused link
    assert observation.url.startswith(f"{SHOP}/product/")
    # on a product page: arrows change the focused spinbutton, typed characters append
    quantity = node(sim, "spinbutton", "Qty")
    sim.step(f"click [{quantity.id}]")
    sim.step("press [ArrowUp]")
    sim.step("press [ArrowUp]")
    assert node(sim, "spinbutton", "Qty").props["value"] == "3"
    sim.step("press [Backspace]")
    sim.step("press [7]")
    assert node(sim, "spinbutton", "Qty").props["value"] == "7"
    click(sim, "button", "Add to Cart")
    assert sum(sim.state.site.cart.values()) == 7


def test_layout_sets_page_sizes():
    sim = WebSimulator(layout=Layout(window=3, featured=2, related=1))
    sim.reset(seed=1, task="open_product")
    assert len(find_nodes(sim.root, "listitem")) == 2  # featured products on the home page
    sim.step(f"goto [{SHOP}/category/kitchen]")
    items = [n.id for n in find_nodes(sim.root, "listitem")]
    assert len(items) == 3
    sim.step("scroll [down]")  # half a window: one row moves out, one in
    assert [n.id for n in find_nodes(sim.root, "listitem")][:2] == items[1:]
    link = find_nodes(sim.root, "link", None)[-1]
    sim.step(f"click [{link.id}]")
    related = find_nodes(sim.root, "heading", "Related products")
    assert related and sim.state.route.page == "product"
    after_heading = sim.observation().tree.split("heading 'Related products'")[1]
    assert len(after_heading.strip().split("\n")) == 1  # one related product link
    with pytest.raises(ValueError, match="window"):
        Layout(window=0)


def test_scroll_reveals_new_rows_and_hides_old_ones():
    sim = new_sim()
    observation = sim.step(f"goto [{SHOP}/category/kitchen]")
    rows = sim.state.tab.rows
    assert rows > WINDOW + 5
    before = parse_tree(observation.tree)
    items = [n.id for n in find_nodes(sim.root, "listitem")]
    assert len(items) == WINDOW
    observation = sim.step("scroll [down]")
    after = parse_tree(observation.tree)
    items_after = [n.id for n in find_nodes(sim.root, "listitem")]
    assert items_after[:5] == items[5:]  # rows that stay keep their ids
    assert not set(items[:5]) & set(after)  # rows scrolled out leave the tree
    assert min(items_after[5:]) > max(before)  # rows scrolled in are new elements
    assert f"Showing 6-15 of {rows} products" in observation.tree
    sim.step("scroll [up]")
    observation = sim.step("scroll [up]")  # at the top: nothing moves, not an error
    assert observation.message == "" and f"Showing 1-10 of {rows}" in observation.tree
    back = [n.id for n in find_nodes(sim.root, "listitem")]
    assert back[5:] == items[5:]  # never left the tree
    assert min(back[:5]) > max(items_after)  # scrolled back in: fresh ids
    for _ in range(10):
        observation = sim.step("press [PageDown]")
    assert f"Showing {rows - 9}-{rows} of {rows}" in observation.tree


def test_goto_history_and_error_pages():
    sim = new_sim()
    sim.step(f"goto [{SHOP}/cart]")
    assert sim.step("goto [shop.local/checkout]").url == "http://shop.local/checkout"
    observation = sim.step(f"goto [{SHOP}/no/such/page]")
    assert "404 Not Found" in observation.tree and observation.message == ""
    observation = sim.step("goto [http://www.example.com/]")
    assert "This site cannot be reached" in observation.tree
    assert_invalid(sim, "goto []", "URL")
    assert sim.step("go_back").url == f"{SHOP}/no/such/page"
    assert sim.step("go_back").url == "http://shop.local/checkout"
    assert sim.step("go_forward").url == f"{SHOP}/no/such/page"
    sim.step(f"goto [{FORUM}/]")  # a new page drops the forward history
    assert_invalid(sim, "go_forward", "cannot go forward")
    for _ in range(4):
        sim.step("go_back")
    assert sim.url == f"{SHOP}/"
    assert_invalid(sim, "go_back", "cannot go back")


def test_tabs():
    sim = new_sim()
    first_tree = sim.observation().tree
    observation = sim.step("new_tab")
    assert observation.tabs == [observation.tabs[0], "New Tab"] and observation.active_tab == 1
    assert observation.url == "about:blank" and len(observation.tree.split("\n")) == 1
    sim.step(f"goto [{FORUM}/]")
    observation = sim.step("tab_focus [0]")
    assert observation.tree == first_tree and observation.url == f"{SHOP}/"
    assert_invalid(sim, "tab_focus [5]", "no tab 5")
    sim.step("tab_focus [1]")
    observation = sim.step("close_tab")
    assert observation.tabs == [observation.tabs[0]] and observation.url == f"{SHOP}/"
    assert observation.tree == first_tree
    assert_invalid(sim, "close_tab", "last tab")


def test_stop_ends_the_episode():
    sim = new_sim(task="order_status")
    tree = sim.observation().tree
    observation = sim.step("stop [Pending]")
    assert observation.done and observation.tree == tree
    assert sim.state.answer == "Pending" and sim.legal_actions() == []
    observation = sim.step("click [500]")
    assert observation.done and "ended" in observation.message and observation.tree == tree


@pytest.mark.parametrize(
    "action, fragment",
    [
        ("click [1]", "not on the page"),  # unknown id
        ("hover [99999]", "not on the page"),
        ("type [99999] [x] [1]", "not on the page"),
        ("click me", "cannot parse"),  # bad syntax
        ("asdf qwerty", "cannot parse"),  # garbage
        ("", "cannot parse"),  # empty string
        ("scroll [sideways]", "cannot parse"),
        ("tab_focus [-1]", "cannot parse"),
        ("close_tab", "last tab"),
        ("go_back", "cannot go back"),
    ],
)
def test_invalid_actions_change_nothing(action, fragment):
    assert_invalid(new_sim(), action, fragment)


def test_typing_into_a_non_field_is_invalid():
    sim = new_sim()
    assert_invalid(sim, f"type [{node(sim, 'button', 'Search').id}] [x] [1]", "not a text field")
    assert_invalid(sim, f"type [{node(sim, 'heading').id}] [x] [0]", "not a text field")
    sim.step(f"goto [{SHOP}/product/{sim.state.site.products[0].pid}]")
    quantity = node(sim, "spinbutton", "Qty").id
    assert_invalid(sim, f"type [{quantity}] [many] [0]", "whole number")
    assert_invalid(sim, f"type [{quantity}] [0] [0]", "whole number")


def test_ids_are_stable_and_fresh_ids_are_never_reused():
    sim = new_sim()
    product = sim.state.site.products[0]
    sim.step(f"goto [{SHOP}/product/{product.pid}]")
    before = parse_tree(sim.observation().tree)
    used = set(before)
    add = node(sim, "button", "Add to Cart").id
    observation = sim.step(f"click [{add}]")
    after = parse_tree(observation.tree)
    assert set(before) <= set(after)  # nothing left the page
    changed = {i for i in before if before[i] != after[i]}
    cart = node(sim, "link", "Cart (1)").id
    assert cart in changed and add in changed  # updated in place: name, focus
    new = set(after) - set(before)
    assert len(new) == 1 and "You added" in after[new.pop()]
    # walk elsewhere and back: everything that appears is new, ids never repeat
    for action in ("go_back", "go_forward", f"goto [{SHOP}/cart]", "go_back"):
        tree = parse_tree(sim.step(action).tree)
        header = {i for i in tree if i in after and "navigation" in after[i]}
        assert header  # the header keeps its ids
        fresh = set(tree) - set(after)
        assert not fresh & used
        used |= set(tree)
        after = tree


def test_determinism_same_seed_same_trees():
    def play(seed: int) -> list[str]:
        sim = WebSimulator()
        policy = RandomPolicy(seed=7, invalid_rate=0.2)
        trees = [sim.reset(seed=seed, task="checkout").tree]
        for _ in range(40):
            trees.append(sim.step(policy.act(sim)).tree)
        return trees

    assert play(3) == play(3)
    assert play(3) != play(4)
    # reset() without a seed continues the constructor's generator
    a, b = WebSimulator(seed=5), WebSimulator(seed=5)
    assert [a.reset().tree for _ in range(3)] == [b.reset().tree for _ in range(3)]


def test_unknown_task_and_use_before_reset():
    with pytest.raises(ValueError, match="known: add_to_cart"):
        WebSimulator().reset(seed=0, task="fly")
    with pytest.raises(RuntimeError):
        WebSimulator().step("click [1]")


# -------------------------------------------------------------------------------- pages


def test_listing_sort_combobox():
    sim = new_sim()
    sim.step(f"goto [{SHOP}/category/home]")
    combobox = node(sim, "combobox", "Sort by")
    assert combobox.props["value"] == "Relevance" and combobox.props["expanded"] == "False"
    click(sim, "combobox", "Sort by")
    options = find_nodes(sim.root, "option")
    assert [o.name for o in options][:2] == ["Relevance", "Price (low to high)"]
    observation = click(sim, "option", "Price (low to high)")
    assert observation.url == f"{SHOP}/category/home?sort=price_asc"
    prices = [float(n.name[1:]) for n in find_nodes(sim.root, "StaticText") if n.name[:1] == "$"]
    assert prices == sorted(prices) and len(prices) == WINDOW


def test_cart_checkout_and_confirmation():
    sim = new_sim(task="checkout")
    site = sim.state.site
    first, second = site.products[0], site.products[1]
    for product in (first, second):
        sim.step(f"goto [{SHOP}/product/{product.pid}]")
        click(sim, "button", "Add to Cart")
    sim.step(f"goto [{SHOP}/cart]")
    assert f"Total: ${(first.price + second.price) / 100:.2f}" in sim.observation().tree
    remove = find_nodes(find_nodes(sim.root, "listitem")[1], "button", "Remove")[0]
    observation = sim.step(f"click [{remove.id}]")
    assert second.name not in [n.name for n in find_nodes(sim.root, "link")]
    assert f"You removed {second.name}" in observation.tree
    click(sim, "button", "Proceed to Checkout")
    orders = len(site.orders)
    observation = click(sim, "button", "Place Order")  # required fields empty: refused
    assert "Please fill in the required field: Full name" in observation.tree
    assert len(site.orders) == orders
    name, address = node(sim, "textbox", "Full name"), node(sim, "textbox", "Address")
    assert name.props["required"] == "True"
    gift = click(sim, "checkbox", "Gift wrap")
    assert node(sim, "checkbox", "Gift wrap").props["checked"] == "true" and gift.message == ""
    sim.step(f"type [{name.id}] [Ada Lovelace] [0]")
    observation = sim.step(f"type [{address.id}] [1 Main Street] [1]")  # Enter submits
    order = site.orders[-1]
    assert observation.url == f"{SHOP}/order/{order.number}"
    assert f"Your order number is #{order.number}." in observation.tree
    assert (order.customer, order.address, order.items) == (
        "Ada Lovelace",
        "1 Main Street",
        [(first.pid, 1)],
    )
    assert order.gift_wrap and order.status == "Pending" and site.cart == {}
    assert "Cart (0)" in observation.tree
    # the new order shows in the admin panel
    observation = sim.step(f"goto [{ADMIN}/order/{order.number}]")
    assert "Customer: Ada Lovelace" in observation.tree


def test_admin_orders_table_sort_pages_and_status():
    sim = new_sim(task="update_status")
    observation = click(sim, "link", "Orders")
    assert observation.url == f"{ADMIN}/orders"
    assert len(find_nodes(sim.root, "row")) == WINDOW + 1  # header row + a window of rows
    date = node(sim, "columnheader", "Date")
    assert date.props == {"sort": "descending"}
    dates = [r.children[1].name for r in find_nodes(sim.root, "row")[1:]]
    assert dates == sorted(dates, reverse=True)
    observation = click(sim, "columnheader", "Total")
    assert observation.url == f"{ADMIN}/orders?sort=total"
    assert node(sim, "columnheader", "Total").props == {"sort": "descending"}
    observation = click(sim, "columnheader", "Total")
    assert observation.url == f"{ADMIN}/orders?sort=total&dir=asc"
    observation = click(sim, "link", "Next page")
    assert observation.url == f"{ADMIN}/orders?sort=total&dir=asc&page=2"
    assert "Page 2 of" in observation.tree
    # an order's page: choose a status, save it
    number = sim.state.site.orders[0].number
    sim.step(f"goto [{ADMIN}/order/{number}]")
    click(sim, "combobox", "Change status")
    target = "Canceled" if sim.state.site.orders[0].status != "Canceled" else "Shipped"
    click(sim, "option", target)
    assert node(sim, "combobox", "Change status").props["value"] == target
    assert sim.state.site.orders[0].status != target  # not saved yet
    observation = click(sim, "button", "Save")
    assert sim.state.site.orders[0].status == target and f"Status: {target}" in observation.tree
    # admin search
    box = node(sim, "textbox", "Search orders")
    observation = sim.step(f"type [{box.id}] [{number}]")
    assert observation.url == f"{ADMIN}/orders?q={number}"
    assert [r.children[0].name for r in find_nodes(sim.root, "row")[1:]] == [f"#{number}"]


def test_forum_reply_appends():
    sim = new_sim(task="reply_post")
    newest = site_module.post_listing(sim.state.site)[0]
    observation = click(sim, "link", newest.title)
    assert observation.url == f"{FORUM}/post/{newest.pid}"
    before = parse_tree(observation.tree)
    observation = click(sim, "button", "Post")
    assert "Your reply is empty." in observation.tree
    box = node(sim, "textbox", "Write a reply")
    sim.step(f"type [{box.id}] [Nice\npost] [0]")
    observation = click(sim, "button", "Post")
    after = parse_tree(observation.tree)
    assert newest.replies[-1].text == "Nice post" and newest.replies[-1].author == "shopper"
    assert "StaticText 'Nice post'" in "\n".join(after.values())
    assert "value:" not in after[box.id]  # the box is cleared
    assert min(set(after) - set(before)) > max(before)
    assert f"Replies ({len(newest.replies)})" in observation.tree


def test_legal_actions_are_valid():
    sim = new_sim(task="checkout")
    for url in (f"{SHOP}/", f"{SHOP}/category/kitchen", f"{ADMIN}/orders", f"{FORUM}/post/1"):
        sim.step(f"goto [{url}]")
        actions = sim.legal_actions()
        assert len(actions) == len(set(actions)) and "stop []" in actions
        for action in actions:
            assert copy.deepcopy(sim).step(action).message == "", action


def test_odd_digits_urls_and_line_breaks_never_raise():
    sim = new_sim()
    quantity_page = f"{SHOP}/product/{sim.state.site.products[0].pid}"
    for action in (
        "click [\u0663]",  # an Arabic-Indic digit is not an id
        f"goto [{SHOP}/product/\u00b2]",
        f"goto [{SHOP}/product/{'9' * 5000}]",
        f"goto [{ADMIN}/orders?page=\u00b2&sort=nope&dir=up]",
        "goto [http://[::1/]",
        "goto [javascript:alert(1)]",
        f"goto [{quantity_page}]",
    ):
        parse_tree(sim.step(action).tree)
    quantity = node(sim, "spinbutton", "Qty").id
    assert_invalid(sim, f"type [{quantity}] [\u00b2] [1]", "whole number")
    sim.step(f"click [{quantity}]")
    tree = sim.step("press [\u00b2]").tree  # not a digit a number field takes
    assert node(sim, "spinbutton", "Qty").props["value"] == "1"
    box = node(sim, "textbox", "Search").id
    tree = sim.step(f"type [{box}] [a\u2028b\x0bc\td] [0]").tree
    assert len(tree.splitlines()) == len(tree.split("\n"))
    assert node(sim, "textbox", "Search").props["value"] == "a\u2028b\x0bc\td"  # kept as typed
    assert "value: a b c d" in tree  # rendered on one line


# --------------------------------------------------------------------------- properties

ACTION_TEXT = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda kind, a, b, c: f"{kind} [{a}] [{b}] [{c}]",
        st.sampled_from(["click", "type", "hover", "press", "goto", "tab_focus", "stop", "scroll"]),
        st.one_of(st.integers(-5, 3000).map(str), st.text(max_size=8)),
        st.text(max_size=12),
        st.sampled_from(["0", "1", "2", ""]),
    ),
    st.builds(
        lambda kind, a: f"{kind} [{a}]",
        st.sampled_from(["click", "hover", "press", "goto", "tab_focus", "scroll", "stop"]),
        st.one_of(st.integers(0, 3000).map(str), st.text(max_size=12)),
    ),
    st.sampled_from(["go_back", "go_forward", "new_tab", "close_tab", "press [Enter]"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    actions=st.lists(ACTION_TEXT, min_size=1, max_size=8),
    task=st.sampled_from(["checkout", "order_status", "reply_post"]),
)
def test_random_action_strings_never_raise(actions, task):
    sim = WebSimulator()
    sim.reset(seed=1, task=task)
    for action in actions:
        observation = sim.step(action)
        assert isinstance(observation.message, str)
        parse_tree(observation.tree)
        parse_action(action)
