"""The web domain's config section: `web` (simulated browsing episodes and page sizes)."""

from __future__ import annotations

from dataclasses import dataclass

from rlvr_world.core.config import ConfigError, non_negative, positive


@dataclass
class WebConfig:
    """Web-page world models (domain `web`): simulated browsing episodes."""

    tasks: tuple[str, ...] = ()
    """Web tasks to simulate (empty = all registered tasks)."""
    train_episodes_per_task: int = 40
    """Simulated training episodes per task (each step is one transition)."""
    valid_episodes_per_task: int = 4
    """Simulated validation episodes per task (model selection)."""
    test_episodes_per_task: int = 8
    """Simulated test episodes per task (final figures)."""
    max_episode_steps: int = 12
    """Step limit of a simulated episode."""
    policy_noise: tuple[float, ...] = (0.0, 0.3, 0.6)
    """Noise levels of the scripted browsing expert; episodes cycle through them."""
    window: int = 10
    """Rows of a long list (listings, orders, posts) in the tree at once."""
    featured: int = 4
    """Products featured on the shop's home page."""
    related: int = 3
    """Related products on a product page."""

    def __post_init__(self) -> None:
        positive(self, "web", "max_episode_steps", "window", "featured", "related")
        non_negative(
            self,
            "web",
            "train_episodes_per_task",
            "valid_episodes_per_task",
            "test_episodes_per_task",
        )
        if not self.policy_noise or any(not 0 <= float(n) <= 1 for n in self.policy_noise):
            raise ConfigError(f"web.policy_noise must be levels in [0, 1], got {self.policy_noise}")
