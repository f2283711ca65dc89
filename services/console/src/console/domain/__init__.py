"""Pure view rules of the console: Korean formatting, labels, paging, role → navigation."""
