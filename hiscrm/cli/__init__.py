"""The `hiscrm` console script: one module per command group, each with a `register` function."""
