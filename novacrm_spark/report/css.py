"""The report's stylesheet (a Python string, so it ships inside the wheel with no package-data rule).

A dark header with the headline numbers, a sticky section menu, then one
two-column card grid per dashboard.

Example::

    >>> "<style>" + STYLESHEET + "</style>"
"""

STYLESHEET = """\
* { box-sizing: border-box; }
body {
  margin: 0; background: #f3f5f9; color: #222;
  font-family: Inter, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
}
.report-header { background: #1f2d4d; color: #fff; padding: 22px 32px 26px; }
.report-header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 600; }
.report-header .run { margin: 0 0 18px; color: #c9d3e8; font-size: 14px; }
.report-header code { color: #fff; font-size: 13px; }
.kpis { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 14px; }
.kpi { background: rgba(255, 255, 255, 0.08); border-radius: 8px; padding: 12px 16px; }
.kpi-label { font-size: 13px; color: #c9d3e8; text-transform: uppercase; letter-spacing: 0.04em; }
.kpi-value { font-size: 30px; font-weight: 700; margin: 4px 0 2px; }
.kpi-detail { font-size: 12.5px; color: #c9d3e8; }
.report-nav {
  position: sticky; top: 0; z-index: 10; background: #fff; border-bottom: 1px solid #dde2ea;
  padding: 10px 32px; display: flex; gap: 24px;
}
.report-nav a { color: #1f2d4d; text-decoration: none; font-weight: 600; font-size: 14px; }
.report-nav a:hover { text-decoration: underline; }
.dashboard { padding: 18px 32px 8px; }
.dashboard h2 { margin: 6px 0 2px; font-size: 22px; color: #1f2d4d; }
.dashboard .intro { margin: 0 0 14px; color: #555; font-size: 14px; }
.grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }
.card { background: #fff; border-radius: 8px; box-shadow: 0 1px 3px rgba(0, 0, 0, 0.08); padding: 6px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
.report-footer { padding: 16px 32px 28px; color: #777; font-size: 12px; }
"""
