"""Workspace scope: which events and presence entries a caller may see."""

from __future__ import annotations

from collections.abc import Set

__all__ = ["WorkspaceScope", "accepts"]

#: ``None`` sees everything (the owner, or local mode with auth disabled);
#: otherwise the set of workspace ids the caller belongs to.
WorkspaceScope = Set[str] | None


def accepts(scope: WorkspaceScope, workspace_id: str | None) -> bool:
    """The reference rule: unscoped callers and unscoped events always match."""
    if scope is None or workspace_id is None:
        return True
    return workspace_id in scope
