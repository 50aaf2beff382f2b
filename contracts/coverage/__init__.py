"""Coverage: who each contract covers, and how many of them were served."""
