"""The sampler: NumPy steppers over exported weights, sampling controls, harmonization."""
