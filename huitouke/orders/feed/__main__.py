"""`python -m huitouke.orders.feed`: the parsing child process (`feed.process.main`)."""

from huitouke.orders.feed.process import main

main()
