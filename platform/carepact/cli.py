"""The `carepact` command: serve, migrate, demo-data, users, audit, worker."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Coroutine
from typing import Any

os.environ.setdefault("PICCOLO_CONF", "carepact.piccolo_conf")


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    async def wrapped() -> Any:
        from carepact import db

        await db.start()
        try:
            return await coro
        finally:
            await db.stop()

    return asyncio.run(wrapped())


async def _pending() -> list[str]:
    from carepact import db

    return await db.pending_migrations()


def cmd_migrate(args: argparse.Namespace) -> int:
    from carepact import db
    from carepact.audit.services import anchor_rows_from_before_anchors

    async def go() -> int:
        await db.migrate()
        return await anchor_rows_from_before_anchors()

    anchored = _run(go())
    print("数据库已是最新结构。 Database is migrated.")
    if anchored:
        print(f"已为升级前的 {anchored} 行审计日志补写签名锚点（已记入审计日志）。")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    pending = _run(_pending())
    if pending:
        print(f"数据库尚未迁移（{len(pending)} 个迁移未执行）：请先运行 `carepact migrate`。", file=sys.stderr)
        return 2
    print(f"carepact 已启动： http://{args.host}:{args.port}/")
    uvicorn.run(
        "carepact.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        log_level="info",
    )
    return 0


async def paying_contracts() -> dict[int, str]:
    """Stay id → code of the contract covering it: what providers' demo records as the paying
    contract (providers may not read contracts; the composition root hands it over)."""
    from contracts.tables import Coverage

    rows = await Coverage.select(Coverage.resident, Coverage.contract._.code).where(Coverage.resident.is_not_null())
    return {r["resident"]: r["contract.code"] for r in rows}


PROVINCE_NEEDS_POSTGRES = (
    "省级数据量仅支持 PostgreSQL：约 20 万户、一年约 1,000 万次上门服务需用 COPY 批量写入，"
    "SQLite 无法承载。请把 DATABASE_URL 设为 postgresql://用户:密码@主机:端口/空数据库，"
    "先运行 `carepact migrate`，再运行 `carepact demo-data --scale province`。"
)


def cmd_demo_province(args: argparse.Namespace) -> int:
    from carepact.db import is_postgres

    if not is_postgres():
        print(PROVINCE_NEEDS_POSTGRES, file=sys.stderr)
        return 2
    from contracts.demo_province import build_province, describe_province
    from contracts.demo_year import history_window

    start, end = history_window()
    if start > end:
        print("本年度尚无可生成的服务历史（今天是 1 月 1 日）。", file=sys.stderr)
        return 2
    summary = _run(build_province(start=start, end=end, say=lambda line: print(line, flush=True)))
    print(describe_province(summary))
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    import time

    if args.scale == "province":
        return cmd_demo_province(args)

    from carepact.demo.build import build_demo
    from contracts.agreement.demo import build_agreements, describe_agreements
    from contracts.demo import build_programme, describe_programme
    from contracts.demo_year import STAGE_LABELS, build_year, describe_year, history_window
    from providers.residents.demo import build_resident_care

    households = {"city": 5565, "small": 120}[args.scale]
    start, end = history_window()  # the programme year up to yesterday
    seconds: dict[str, float] = {}

    async def timed(label: str, step: Coroutine[Any, Any, Any]) -> Any:
        began = time.perf_counter()
        try:
            return await step
        finally:
            seconds[label] = time.perf_counter() - began

    async def build() -> tuple[Any, Any, Any, Any, Any]:
        # The kernel's city first, then the purchased-service programme on top of it, then the
        # hospital's care records, every household's agreement, and the year's visits and findings.
        city = await timed("城市", build_demo(households=households))
        programme = await timed("合同", build_programme())
        care_days = (end - start).days + 2 if args.scale == "city" else 30  # through today
        care = await timed("住院照护", build_resident_care(days=care_days, paying_contracts=await paying_contracts()))
        agreements = await timed("协议", build_agreements(history_from=start))
        year = await timed("上门服务历史", build_year(start=start, end=end))
        return city, programme, care, agreements, year

    summary, programme, care, agreements, year = _run(build())
    if summary.created:
        print(f"已生成演示城市：{summary.households} 户分散供养，{summary.residents} 名集中供养人员。")
    else:
        print(f"演示数据已存在（{summary.households} 户，{summary.residents} 名住院人员），未重复生成。")
    print(describe_programme(programme))
    print(describe_agreements(agreements))
    if care.created:
        print(
            f"已生成精神康复医院近 {care.days} 天照护记录：{care.residents} 名住院人员，日常记录 {care.records:,} 条，"
            f"给药记录 {care.doses:,} 条，事件 {care.incidents} 起，交班 {care.handovers} 次。"
        )
    print(describe_year(year))
    if year.created:
        stages = {**seconds, **{f"其中{STAGE_LABELS[k]}": v for k, v in year.seconds.items()}}
        print("用时：" + "，".join(f"{label} {value:.1f} 秒" for label, value in stages.items()) + "。")
    print(f"\n演示账号（密码均为 {summary.password}），登录 http://127.0.0.1:8000/ ：")
    for a in summary.accounts:
        print(f"  {a.username:<22} {a.role_label:<12} {a.scope}")
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    from carepact.accounts.services import create_account
    from carepact.accounts.tables import Role
    from carepact.errors import Problem
    from carepact.registry.tables import Organisation, Region

    password = args.password or os.environ.get("CAREPACT_NEW_PASSWORD") or getpass.getpass("密码: ")

    async def go() -> int:
        region_id = org_id = None
        if args.region:
            row = await Region.select(Region.id).where(Region.code == args.region).first()
            if not row:
                raise Problem(400, "region.unknown", f"行政区域代码 {args.region} 不存在")
            region_id = row["id"]
        if args.organisation:
            row = await Organisation.select(Organisation.id).where(Organisation.name == args.organisation).first()
            if not row:
                raise Problem(400, "organisation.unknown", f"机构 {args.organisation} 不存在")
            org_id = row["id"]
        return await create_account(
            args.username,
            password,
            role=Role(args.role),
            display_name=args.name or args.username,
            region_id=region_id,
            organisation_id=org_id,
        )

    try:
        account_id = _run(go())
    except Problem as exc:
        print(f"错误 ({exc.code})：{exc.message}", file=sys.stderr)
        return 2
    print(f"已创建账号 {args.username}（#{account_id}）。")
    return 0


def cmd_users_token(args: argparse.Namespace) -> int:
    from carepact.accounts.services import account_id_for, issue_api_token

    async def go() -> str | None:
        account_id = await account_id_for(args.username)
        return await issue_api_token(account_id, args.label) if account_id else None

    token = _run(go())
    if token is None:
        print(f"错误 (account.not_found)：账号 {args.username} 不存在。", file=sys.stderr)
        return 2
    print(token)
    return 0


def _recorded_head(text: str) -> tuple[int, str]:
    seq, _, head_hash = text.partition(":")
    if not seq.isdigit() or len(head_hash) != 64:
        raise argparse.ArgumentTypeError("应为 SEQ:HASH，即此前校验时打印的链头，例如 1042:9f86d0…")
    return int(seq), head_hash


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from carepact.audit.services import verify

    result = _run(verify(expect=args.expect))
    if result.first_break is None:
        print(f"审计日志完整：已校验 {result.checked} 行，链头 seq={result.head_seq} hash={result.head_hash}")
        print(f"请把链头另行保存（如 {result.head_seq}:{result.head_hash}），日后用 --expect 核对最新记录未被删除。")
        return 0
    b = result.first_break
    print(
        f"审计日志被篡改：第 seq={b.seq} 行（id={b.row_id}）校验失败 — {b.reason}\n"
        f"此前 {result.checked} 行完好。 Audit chain broken at seq {b.seq} (row id {b.row_id}).",
        file=sys.stderr,
    )
    return 1


def cmd_purge(args: argparse.Namespace) -> int:
    from carepact.dates import SHANGHAI
    from carepact.retention import KERNEL_STEPS, purge
    from providers.visits.retention import VISIT_LOCATIONS

    steps = [*KERNEL_STEPS, VISIT_LOCATIONS]
    report = _run(purge(steps, apply=args.apply))
    day = f"{report.cutoff.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
    if report.applied:
        print(f"保存期限 {report.retention_days} 天：已清理早于 {day}（北京时间）的个人信息，已记入审计日志：")
    else:
        print(f"保存期限 {report.retention_days} 天：早于 {day}（北京时间）的以下个人信息将被清理（试运行，未删除）：")
    for step in steps:
        print(f"  {step.label}：{report.counts[step.name]:,}")
    if not report.applied:
        print("确认后加 --apply 执行清理。审计日志不清理：它是个人信息处理的记录。")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from arq.worker import run_worker

    from carepact.settings import get_settings
    from carepact.worker import WorkerSettings

    run_worker(
        WorkerSettings,  # type: ignore[arg-type]
        redis_settings=WorkerSettings.redis(),
        queue_name=get_settings().arq_queue,
        burst=args.burst,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    from carepact.accounts.tables import Role

    parser = argparse.ArgumentParser(
        prog="carepact", description="carepact：特困人员照料服务购买、履约核验与审计平台。"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "serve",
        help="启动 Web 服务 (serve the platform over HTTP)",
        description="检查数据库已迁移后，用 uvicorn 提供 Web 界面和 API。",
    )
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    p.add_argument("--workers", type=int, default=1, help="Web 进程数（需要 PostgreSQL 与 Redis 时才大于 1）")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "migrate",
        help="执行数据库迁移 (apply every checked-in migration)",
        description="把所有应用（carepact、providers、contracts）的迁移应用到 DATABASE_URL 指向的数据库。",
    )
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser(
        "demo-data",
        help="生成演示城市 (create the synthetic demo city)",
        description="生成宝鸡市演示数据：12 个区县、乡镇和村、5,565 户分散供养、100 名精神康复住院人员、服务机构和每种角色的演示账号，以及购买服务合同（居家照料合计 335 万元、集中供养 1 份）、每户的照料服务协议（渭滨区试点户含近 5 周上门服务），以及本年度 1 月 1 日至昨天的上门服务记录（含照片和可信度提示；其中两家服务机构为演示而设定得较差）、患病登记、协议核查发现及部分审核结果，和精神康复医院同期的照护记录。已存在时不重复生成。",
    )
    p.add_argument(
        "--scale",
        choices=["city", "small", "province"],
        default="city",
        help="city：全市 5,565 户，住院照护记录全年；small：120 户，住院照护记录近 30 天，用于试用；"
        "province：省级规模，约 20 万户、一年约 1,000 万次上门服务，仅限 PostgreSQL（COPY 批量写入，"
        "约 100 个县区，作为一个部署根区域；无集中供养，不运行协议核查）",
    )
    p.set_defaults(func=cmd_demo_data)

    users = sub.add_parser("users", help="账号管理 (accounts)", description="创建账号、签发 API 令牌。")
    usub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    p = usub.add_parser(
        "create",
        help="创建账号",
        description="创建一个登录账号并绑定角色、区域或机构。密码可用 --password、环境变量 CAREPACT_NEW_PASSWORD 或交互输入。",
    )
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--name", help="显示名称")
    p.add_argument("--region", help="行政区域代码，如 610302")
    p.add_argument("--organisation", help="所属机构全称")
    p.add_argument("--password")
    p.set_defaults(func=cmd_users_create)
    p = usub.add_parser(
        "token",
        help="签发 API 访问令牌",
        description="为账号签发一个 Bearer 令牌并打印（只显示一次）。请求时使用 Authorization: Bearer <令牌>。",
    )
    p.add_argument("username")
    p.add_argument("--label", default="cli")
    p.set_defaults(func=cmd_users_token)

    audit = sub.add_parser("audit", help="审计日志 (audit log)", description="审计日志工具。")
    asub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    p = asub.add_parser(
        "verify",
        help="校验哈希链",
        description="逐行校验审计日志的哈希链和每行的签名锚点；发现篡改、删除、插入或重算哈希时指出第一行并以状态 1 退出。",
    )
    p.add_argument(
        "--expect",
        type=_recorded_head,
        metavar="SEQ:HASH",
        help="此前记录的链头（本命令或每日校验打印的 seq:hash）：该行必须仍在且未被改动",
    )
    p.set_defaults(func=cmd_audit_verify)

    p = sub.add_parser(
        "purge",
        help="按保存期限清理个人信息 (delete personal data past the retention period)",
        description="按 CAREPACT_RETENTION_DAYS（默认 1095 天）清理过期的照片文件与拍摄定位、服务记录的精确定位、过期登录会话和任务生成的文件。默认只统计数量（试运行）；加 --apply 才删除，每批删除都记入审计日志。",
    )
    p.add_argument("--apply", action="store_true", help="真正删除（默认只统计）")
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser(
        "worker",
        help="启动 arq 任务进程 (run jobs from Redis)",
        description="需要 REDIS_URL。从 Redis 取任务执行（照片处理、卡片生成、报表等）；没有 Redis 时任务在 Web 进程内运行。",
    )
    p.add_argument("--burst", action="store_true", help="处理完队列后退出")
    p.set_defaults(func=cmd_worker)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from carepact.settings import SettingsError

    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:
        print(f"配置错误：{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
