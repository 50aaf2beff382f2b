"""What the supplier's side stores. Visits and residents' records arrive with their issues."""
