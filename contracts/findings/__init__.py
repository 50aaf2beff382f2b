"""Findings: breaches of a household agreement, their evidence, explanation, decision and deduction."""
