"""carepact: purchased care services for people in special hardship, and proof of delivery."""

__version__ = "0.1.0"
