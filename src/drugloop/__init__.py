"""drugloop: AI-driven small-molecule discovery."""

__version__ = "0.1.0"
