"""Audit samples: reproducible random draws of verified visits, checked by call-back or re-visit."""
