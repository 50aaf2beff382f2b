"""What the buyer's side stores. Contracts, coverage and settlement arrive with their issue."""
