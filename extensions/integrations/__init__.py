"""Adapters to trainer libraries. Each imports its library lazily and holds no reward logic."""
