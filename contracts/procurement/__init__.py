"""Procurement: contracts, their amendments and coverage, documents."""
