"""Command groups: each parses its arguments, calls the domain, renders the result."""
