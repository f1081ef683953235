"""`hiscrm bench`: the performance suite, every figure a ratio against a raw limit measured in the same run."""
