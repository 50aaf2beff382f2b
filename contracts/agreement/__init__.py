"""The standard dispersed-care agreement: versioned templates, household agreements, sick episodes, the engine."""
