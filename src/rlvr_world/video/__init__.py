"""Video modality: frames <-> tokens, action bins, pixel metrics and rewards on frames."""
