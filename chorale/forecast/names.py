"""The forecasting models by name: the chapter's lists for each task, light to import so the
CLI can list them without Keras."""

NEXT_MODELS = ("naive", "linear", "rnn", "deep-rnn", "deep-rnn-dense")  # the chapter's next-step list
AHEAD_MODELS = ("iterative", "naive", "linear", "seq2vec", "seq2seq", "ln-rnn", "lstm",
                "gru", "conv-gru", "wavenet")  # the chapter's ten-steps-ahead list
MODELS = NEXT_MODELS + AHEAD_MODELS[:1] + AHEAD_MODELS[3:]
