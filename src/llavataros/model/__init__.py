"""The LLAniMAtion model: cross-attentive Transformer-XL (arXiv 2405.08042)."""
