"""How one dashboard server was started: where it listens and whether its actions are on.

A leaf, so the pages and actions can name the settings they are given without importing the app.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8470
    allow_actions: bool = False
    token: str | None = None  # the action token (read from its file); None without --allow-actions

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
