"""The ground floor: errors, the registry, and pure numerics. Imports nothing else of the project."""
