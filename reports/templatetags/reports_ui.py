"""Template helpers of the report pages."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

register = template.Library()


@register.simple_tag
def fulfilment_cell(cell):
    """One cell of the fulfilment table: the display string and a progress bar coloured by
    fulfilment. Written here rather than included as a template: a province's table has some
    2,200 cells, and a template include per cell cost about half a second."""
    row = cell["row"]
    percent = "" if row.percent is None else str(row.percent)
    html = [format_html('<td class="fulfilment-cell text-end" data-metric="{}"', row.metric.value)]
    if row.percent is not None:
        html.append(format_html(' data-percent="{}"', percent))
    html.append(format_html('><span class="fulfilment-display">{}</span>', row.display))
    if cell["bar_width"] is not None:
        html.append(
            format_html(
                '<div class="progress fulfilment-bar" role="progressbar" aria-label="{}" aria-valuenow="{}" '
                'aria-valuemin="0" aria-valuemax="100"><div class="progress-bar {}" style="width: {}%"></div></div>',
                capfirst(row.label),
                percent,
                cell["bar_class"],
                f"{cell['bar_width']:.1f}",
            )
        )
    html.append("</td>")
    return mark_safe("".join(html))  # noqa: S308 (every value went through format_html)
