"""HTML and JSON reports of attributions, the output format of ``tfattr explain``.

The public path of :mod:`tfattr.apps.report` (the reports are one of the applications built on
the library).
"""

from tfattr.apps.report import Report, explain_to_report, write_report

__all__ = ["Report", "explain_to_report", "write_report"]
