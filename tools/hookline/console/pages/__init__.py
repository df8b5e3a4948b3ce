"""The console's pages, one module each: a Flask blueprint `bp` and, for the top bar, `NAV = (label, endpoint)`.

Adding a page = a module here + one line below (order = the order in the top bar).
"""

from hookline.console.pages import destinations, dlq, events, flowmap, overview, resend

PAGES = [overview, events, dlq, destinations, flowmap, resend]
