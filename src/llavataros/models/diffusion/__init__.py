"""The diffusion gesture model family (DiffMotion-v2 style, arXiv 2308.05995; issue 11).

Modules: ``config`` (architecture and sampling settings), ``schedule`` (noise schedule and its
closed forms), ``network`` (adaLN-Zero transformer denoiser), ``sampling`` (DDIM, progressive
distillation target, classifier-free guidance), ``windows`` (any-length and streaming
generation), ``loss`` (training and distillation losses), ``checkpoint`` (safetensors weights).
"""
