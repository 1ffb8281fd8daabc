"""The config file: bytes to YAML, YAML to typed, frozen Settings, every problem with its line."""
