"""Template helpers of the report pages."""

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language

register = template.Library()

_labels = {}


def _label(row):
    """The metric's label, capitalised and escaped, once per metric and language."""
    key = (row.metric, get_language())
    label = _labels.get(key)
    if label is None:
        label = _labels[key] = escape(capfirst(str(row.label)))
    return label


@register.simple_tag
def fulfilment_cell(cell):
    """One cell of the fulfilment table: the display string and a progress bar coloured by
    fulfilment. Written here rather than included as a template: a province's table has some
    2,200 cells, and a template include per cell cost about half a second."""
    row = cell["row"]
    percent = "" if row.percent is None else escape(str(row.percent))
    data_percent = "" if row.percent is None else f' data-percent="{percent}"'
    html = (
        f'<td class="fulfilment-cell text-end" data-metric="{escape(row.metric.value)}"{data_percent}>'
        f'<span class="fulfilment-display">{escape(row.display)}</span>'
    )
    if cell["bar_width"] is not None:
        html += (
            f'<div class="progress fulfilment-bar" role="progressbar" aria-label="{_label(row)}" '
            f'aria-valuenow="{percent}" aria-valuemin="0" aria-valuemax="100">'
            f'<div class="progress-bar {escape(cell["bar_class"])}" '
            f'style="width: {cell["bar_width"]:.1f}%"></div></div>'
        )
    return mark_safe(html + "</td>")  # noqa: S308 (every value is escaped above)
