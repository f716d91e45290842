"""The queue's rows are made in the view (queue_rows_html) rather than a template loop: the same cells, every
value escaped, the overdue mark and the labels in the page's language."""

from __future__ import annotations

from types import SimpleNamespace

from django.utils import translation

from huitouke.visits.views import queue_rows_html


def _row(pk: int, *, overdue: bool, name: str = "顾客1") -> dict[str, object]:
    task = SimpleNamespace(pk=pk, customer_name=name, plan_name="售后回访", attempts=2)
    return {
        "task": task,
        "phone": "138****0001",
        "overdue": overdue,
        "url": f"/visits/tasks/{pk}/",
        "due": "05-17 10:00",
    }


def test_rows_hold_the_cells_the_queue_shows():
    with translation.override("en"):
        html = queue_rows_html([_row(7, overdue=False), _row(8, overdue=True)])
    assert html == (
        '<tr id="task-7"><td>05-17 10:00</td><td>顾客1</td><td>138****0001</td><td>售后回访</td><td>2</td>'
        '<td><a class="button primary" href="/visits/tasks/7/">Start the visit</a></td></tr>\n'
        '<tr id="task-8" class="overdue"><td>05-17 10:00 <span class="badge warn">Overdue</span></td><td>顾客1</td>'
        "<td>138****0001</td><td>售后回访</td><td>2</td>"
        '<td><a class="button primary" href="/visits/tasks/8/">Start the visit</a></td></tr>'
    )


def test_values_are_escaped_and_labels_follow_the_language():
    with translation.override("zh-hans"):
        html = queue_rows_html([_row(9, overdue=True, name='<b>"A&B"</b>')])
    assert "<td>&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;</td>" in html
    assert "<b>" not in html
    assert ">已逾期</span>" in html
    assert ">开始回访</a>" in html


def test_no_rows_no_html():
    assert queue_rows_html([]) == ""
