"""HTML reports of attributions: the public path of :mod:`tfattr.apps.report`."""

from tfattr.apps.report import *  # noqa: F403
