"""The county audit: dashboard figures, provider scorecards and the monthly county report."""
