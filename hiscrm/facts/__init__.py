"""Domain facts: the catalogue, their subjects and their wire codec."""
