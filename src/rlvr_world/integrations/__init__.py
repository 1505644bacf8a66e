"""Bridges to other engines: Hugging Face pretrained models and LoRA (`hf`), TRL reward
functions (`trl`). Each module imports its heavy dependency only when used."""
