"""Saved models as bundles: a state dictionary tagged with its format, written and read safely.

A class that mixes in :class:`Bundle` names its ``FORMAT``, turns itself into plain data with
:meth:`~Bundle.state` (tensors, numbers, strings, lists and dictionaries, with ``"format"``)
and back with :meth:`~Bundle.from_state`; saving is atomic and byte-reproducible
(:func:`lulcbook.checkpoint.save`), loading never unpickles code (``weights_only``,
:func:`lulcbook.checkpoint.load`) and refuses a file of another format.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Self

from lulcbook import checkpoint


class Bundle:
    """Save and load through :meth:`state` and :meth:`from_state` (see the module docstring)."""

    FORMAT: ClassVar[str]
    """The value of the bundle's ``"format"`` entry."""

    def state(self) -> dict[str, Any]:
        """Everything needed to rebuild the object (tensors and plain python only).

        Raises:
            NotImplementedError: always; subclasses implement it.
        """
        raise NotImplementedError

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        """Rebuild the object from :meth:`state`.

        Raises:
            NotImplementedError: always; subclasses implement it.
        """
        raise NotImplementedError

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`state` atomically and byte-reproducibly (:func:`lulcbook.checkpoint.save`).

        Args:
            path: the file.

        Returns:
            ``path``.
        """
        return checkpoint.save(self.state(), path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Load a file written by :meth:`save` (safe ``weights_only`` loading).

        Args:
            path: the file.

        Returns:
            The rebuilt object.

        Raises:
            FileNotFoundError: if ``path`` does not exist.
            ValueError: if the file is corrupt, unsafe or of another format.
        """
        state = checkpoint.load(path, what=cls.FORMAT)
        if not isinstance(state, dict) or state.get("format") != cls.FORMAT:
            raise ValueError(f"{path} is not a {cls.FORMAT} file")
        return cls.from_state(state)


__all__ = ["Bundle"]
