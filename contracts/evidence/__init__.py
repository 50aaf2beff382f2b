"""Evidence bundles: one ZIP of a household's, a provider's or a contract's visits, photos, findings and agreements."""
