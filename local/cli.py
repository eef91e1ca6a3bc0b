"""``python -m local``: run the whole shop on loopback until Ctrl-C (DESIGN.md §3).

Configuration is by environment variable: ``PORT`` (gateway, default 3000), ``MOTO_PORT`` (default: any free port),
``LOCAL_WORKERS`` (handler processes, default 4), ``LOCAL_POLL_SECONDS`` (queue/stream polling, default 0.5),
``LOCAL_SCHEDULE_SECONDS`` (run every schedule this often instead of its rate), ``LOCAL_SCHEDULES`` (the same for
the schedules it names: ``AllocateWaitingOrders=5,SettlePromotions=30``), ``LOCAL_SEED=0`` (no demo data),
``SHOP_ADMIN_EMAIL`` / ``SHOP_ADMIN_PASSWORD`` (the seeded admin), ``POWERTOOLS_LOG_LEVEL`` (the functions' log
level, default WARNING), ``PAYMENT_SANDBOX_PORT`` (the payment sandbox, default: any free port),
``LOCAL_PAYMENT_SANDBOX=0`` (no payment sandbox), ``SANDBOX_*`` (its keys, see :mod:`local.payment_sandbox`),
``CARRIER_SANDBOX_PORT`` (the carrier sandbox, default: any free port), ``LOCAL_CARRIER_SANDBOX=0`` (no carrier
sandbox), ``CARRIER_SANDBOX_CARRIERS`` / ``CARRIER_SANDBOX_SECRETS_FILE`` (see :mod:`local.carrier_sandbox`). The
shop settings the contexts declare, such as ``PAYMENT_WINDOW_SECONDS`` (how long an order waits for payment, default
900), are passed through to the functions.

Exit status: 0 after Ctrl-C or SIGTERM, 1 if the platform cannot start (the message says why), 2 for bad settings.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from functions.checkout.model import payment_window_s
from local.runner import LocalPlatform, Settings, StartupError, ensure_dummy_credentials
from local.seed import Account, SeedError, SeedSummary, create_account, load_data, seed_catalogue


class _Stop(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM; a BaseException so no ``except Exception`` swallows it."""


def _ignore_signals() -> None:
    # Shutdown is bounded by timeouts; a second Ctrl-C must not interrupt it halfway and leave processes behind.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _ignore_signals()
    raise _Stop


def _say(text: str) -> None:
    print(text, flush=True)


def _seed(platform: LocalPlatform, settings: Settings) -> SeedSummary | None:
    if platform.session is None:
        raise RuntimeError("the platform is not running")
    idp = platform.session.client("cognito-idp")
    pool_id = platform.created.user_pool_id
    create_account(idp, pool_id, Account(settings.admin_email, settings.admin_password, "Admin", ("admin", "customer")))
    create_account(idp, pool_id, Account(settings.shopper_email, settings.shopper_password, "Shopper", ("customer",)))
    return seed_catalogue(platform.url, settings.admin_email, settings.admin_password, load_data())


def _payment_window() -> str:
    try:
        return f"{payment_window_s()} s"
    except ValueError:
        return f"{os.environ.get('PAYMENT_WINDOW_SECONDS')!r} (not a number: checkouts will fail)"


def _payment_lines(platform: LocalPlatform) -> list[str]:
    sandbox = platform.payment_sandbox
    if sandbox is None:
        return ["  Payments   no sandbox (LOCAL_PAYMENT_SANDBOX=0)"]
    try:
        keys: Path | str = sandbox.keys_path.relative_to(Path.cwd())
    except ValueError:
        keys = sandbox.keys_path
    stored = "in the payments secret" if platform.payment_secret_stored else "NOT stored: no payments secret declared"
    return [
        f"  Payments   sandbox {sandbox.url}  (Stripe /card, Alipay /alipay, WeChat Pay /wechat; config {stored})",
        f"             keys {keys}; pay pages /card/pay/<pi_id>, /alipay/pay/<id>, /wechat/pay/<id>",
    ]


def _carrier_lines(platform: LocalPlatform) -> list[str]:
    sandbox = platform.carrier_sandbox
    if sandbox is None:
        return ["  Carriers   no sandbox (LOCAL_CARRIER_SANDBOX=0)"]
    try:
        path: Path | str = sandbox.secrets_path.relative_to(Path.cwd())
    except ValueError:
        path = sandbox.secrets_path
    stored = "in the carriers secret" if platform.carrier_secret_stored else "NOT stored: no carriers secret declared"
    return [
        f"  Carriers   sandbox {sandbox.url}  ({', '.join(sandbox.carriers)}; secrets {stored}, file {path})",
        "             play a parcel's tracking: POST /carriers/<carrier>/shipments/<tracking number>/play",
        '             {"events": ["in_transit", "out_for_delivery", "delivered"]} or {"status": "exception"};',
        '             options "order": "reversed", "duplicates": 2; the answer shows what the platform replied',
    ]


def _banner(platform: LocalPlatform, settings: Settings, summary: SeedSummary | None, elapsed_s: float) -> str:
    url = platform.url
    lines = [
        f"Local platform ready in {elapsed_s:.1f} s: {url}",
        f"  API docs   {url}/docs  (OpenAPI document: {url}/openapi.json)",
        f"  Health     {url}/health",
    ]
    if summary is not None:  # the accounts are created with the seed; LOCAL_SEED=0 starts with none
        lines += [
            f"  Admin      {settings.admin_email} / {settings.admin_password}  (groups admin, customer)",
            f"  Shopper    {settings.shopper_email} / {settings.shopper_password}  (group customer)",
        ]
        lines.append(
            f"  Catalogue  {summary.products} products ({summary.variants} SKUs), "
            f"{summary.categories} categories, {summary.brands} brands"
        )
        out = ", ".join(summary.out_of_stock) or "none"
        split = f" ({summary.split_skus} in two warehouses)" if summary.split_skus else ""
        lines.append(
            f"  Stock      {summary.stock_units:,} units over {summary.stocked_skus} SKUs{split}; out of stock: {out}"
        )
        lines += [f"  Warehouse  {warehouse}" for warehouse in summary.warehouses]
        lines += [f"  Coupon     {coupon}" for coupon in summary.coupons]
        lines += [f"  Flash sale {sale}" for sale in summary.flash_sales]
    else:
        lines.append("  Accounts   none, catalogue not seeded (LOCAL_SEED=0): sign up with POST /auth/signup")
    lines.append(f"  Checkout   unpaid orders are cancelled after {_payment_window()} (PAYMENT_WINDOW_SECONDS)")
    lines += _payment_lines(platform)
    lines += _carrier_lines(platform)
    lines += [
        f"  AWS (moto) {platform.moto_endpoint}  (region us-east-1, any credentials; state is in memory)",
        f"  Workers    {settings.workers} handler processes",
        "Log in: POST /auth/login {email, password}; send the id_token as 'Authorization: Bearer <token>'.",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(name)s] %(message)s", datefmt="%H:%M:%S")
    # The seed's parallel requests outgrow boto3's default pool now and then; a discarded connection is harmless.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    try:
        settings = Settings.from_env(os.environ)
    except ValueError as exc:
        print(f"local platform: {exc}", file=sys.stderr)
        return 2
    ensure_dummy_credentials()
    from functions.manifest import PLATFORM

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        platform = LocalPlatform(PLATFORM, settings)
    except ValueError as exc:
        print(f"local platform: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    code = 0
    try:
        platform.start()
        summary = _seed(platform, settings) if settings.seed else None
        if summary is not None:
            platform.settle()  # the seed's events consumed: search finds the demo catalogue from the first request
        platform.mark_ready()
        _say(_banner(platform, settings, summary, time.monotonic() - started))
        while platform.moto is not None and platform.moto.alive():
            time.sleep(0.5)
        print("local platform: the moto server stopped unexpectedly (see its output above)", file=sys.stderr)
        code = 1
    except _Stop:
        _say("Stopping the local platform...")
    except (StartupError, SeedError) as exc:
        print(f"local platform: {exc}", file=sys.stderr)
        code = 1
    except Exception:
        logging.getLogger("local").exception("the local platform failed")
        code = 1
    finally:
        _ignore_signals()
        platform.stop()
    if code == 0:
        _say("Stopped.")
    return code
