"""The forecaster: the chorale backbones applied to time series (Hands-On ML, ch. 15)."""
