"""The programme budget: committed, delivered and paid."""
