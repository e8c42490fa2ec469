"""tokendoctor: find out why AWS calls fail with ExpiredToken, and what to change."""

__version__ = "0.1.0"
