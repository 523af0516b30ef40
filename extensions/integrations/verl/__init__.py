"""verl adapter: the reward hook and the launcher."""
