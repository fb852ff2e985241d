"""mloop: a command-line mentoring-program tracker."""

__version__ = "0.1.0"
