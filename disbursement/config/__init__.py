"""Configuration as data: rules (rounds and criteria), policies, priority lists, settings, vocabulary."""
