"""The office's tables in and out: ``intake units|catalog|quotas import FILE``, ``intake ledger export``.

Messages are for office staff, so they are in Chinese; a bad file exits with status 1
and lists every problem as ``file:row:column: 说明`` (``cli.errors`` prints them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from cli import loader
from cli.errors import Group
from config.profile import ProfileError
from ledger.export import OFFICE_ZONE, collect, write_json, write_xlsx
from ledger.imports import ImportSummary, import_catalog, import_quotas, import_units

PROGRESS_FROM_ROWS = 200  # smaller files finish before a bar is worth drawing
KIND_NAMES = {"units": "单位名单", "catalog": "证书目录", "quotas": "批准指标"}


class _ProgressBar:
    """A rich progress bar, drawn only for big files."""

    def __init__(self, label: str):
        self.label, self.progress, self.task = label, None, None

    def __call__(self, done: int, total: int) -> None:
        if total < PROGRESS_FROM_ROWS:
            return
        if self.progress is None:
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=total)
        self.progress.update(self.task, completed=done)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _run_import(kind: str, do_import: Callable[..., ImportSummary], file: Path) -> None:
    engine = loader.ledger(loader.settings())
    bar = _ProgressBar(f"导入{KIND_NAMES[kind]}")
    try:
        summary = do_import(engine, file, progress=bar)  # a bad file: ImportFileError, nothing imported
    finally:
        bar.close()
        engine.dispose()
    for warning in summary.warnings:  # imported, but worth a look (e.g. a unit type no table knows)
        click.echo(f"提示：{warning}", err=True)
    click.echo(f"{KIND_NAMES[kind]} {summary.source}：共 {summary.rows} 行，新增 {summary.created}，"
               f"更新 {summary.updated}，未变 {summary.unchanged}。"
               + (f"另有 {len(summary.warnings)} 条提示，见上。" if summary.warnings else ""))


def _import_group(kind: str, do_import, help_text: str) -> click.Group:
    @click.group(name=kind, help=help_text, cls=Group)
    def group() -> None:
        pass

    @group.command(name="import", help=f"导入{KIND_NAMES[kind]}（xlsx 或 csv）。")
    @click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
    def import_command(file: Path) -> None:
        _run_import(kind, do_import, file)

    return group


units = _import_group("units", import_units, "单位名单：单位名称,单位类型,所属市,别名,联系邮箱")
catalog = _import_group("catalog", import_catalog, "证书目录：批次,证书名称,培训评价组织,级别")
quotas = _import_group("quotas", import_quotas, "批准指标：年度,单位名称,证书名称,级别,批准人数")


@click.group(name="ledger", help="台账：导出。", cls=Group)
def ledger() -> None:
    pass


@ledger.command(name="export", help="导出台账：json（接口格式）或 xlsx（工作人员使用的表格）。")
@click.option("--format", "fmt", type=click.Choice(["json", "xlsx"]), required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
def export(fmt: str, output: Path) -> None:
    settings = loader.settings()
    engine = loader.ledger(settings)
    try:
        zone = loader.profile(settings).timezone
    except ProfileError:  # an export still works without a profile: times in the office's zone
        zone = OFFICE_ZONE
    try:
        data = collect(engine)
    finally:
        engine.dispose()
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        write_json(data, output, zone)
        click.echo(f"已导出 {output}：{len(data.submissions)} 份表格，{len(data.quotas)} 条指标。")
    else:
        sheets = write_xlsx(data, output, zone)
        click.echo(f"已导出 {output}：工作表 {'、'.join(sheets)}。")
