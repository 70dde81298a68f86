"""The loader: chorale datasets (JSB-style CSV folders and archives) and the corpus builder."""
