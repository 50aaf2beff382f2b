"""The buyer's side: contracts, coverage, the agreement and its enforcement, settlement, audit."""
