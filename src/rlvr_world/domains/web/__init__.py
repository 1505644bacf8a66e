"""The web-page world model domain (WebArena state prediction, SPEC §4): given a page's
accessibility tree and an action, predict which tree lines are new, deleted and updated.

So far: the F1 reward (`rewards`). Data loading, prompts and the task come later."""
