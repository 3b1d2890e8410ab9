"""wallboard: a live wallboard for contact centres that runs in a terminal.

Data flows one way: feed -> store -> engine -> snapshot -> screen.
"""
