"""``mg.utils``: data loading (``mg.utils.data``)."""
from . import data

__all__ = ["data"]
