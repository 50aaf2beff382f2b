"""The supplier's side: organisations' staff, visits and their evidence, residents' records."""
