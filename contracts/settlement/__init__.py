"""Monthly settlement statements: compute, confirm, pay, adjust, print."""
