"""The sequence models: Keras networks, the run folder, training and evaluation."""
