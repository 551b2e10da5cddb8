"""`kefu eval recommend`, `kefu train intent`, `kefu eval intent`: the shopping guide's models.

The `eval` and `train` groups are shared: if another module registered them first, the
commands join that group instead of shadowing it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from kefu.cli.common import command_group

out = Console()
err = Console(stderr=True)


def _dump(doc: dict[str, Any]) -> None:
    typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())


def eval_recommend(
    data: str = typer.Option(..., help="Data set: uci-retail or groceries."),
    path: Path | None = typer.Option(None, help="CSV file (default: ../shared/data/behaviour)."),
    query: str = typer.Option(
        "anchor", help="anchor: the product before the held-out one; basket: all the others."
    ),
    test_frac: float = typer.Option(0.2, help="Share of baskets (latest by time) to test on."),
    neighbours: int = typer.Option(20, help="K of implicit's item-kNN baselines."),
    order: str = typer.Option(
        "file", help="file: basket lines as given; shuffled: shuffled (the line-order ablation)."
    ),
    online: bool = typer.Option(
        False, "--online", help="Methods learn each test-period day after answering it (live)."
    ),
    protocol: str = typer.Option(
        "timesplit",
        help="timesplit: later baskets asked about their first item, hit = any of the first "
        "k in the rest (trust this one); lastitem: the older leave-last-item-out protocol.",
    ),
    one_category: bool = typer.Option(
        False, "--one-category", help="timesplit: every product in one category (a tea shop)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Offline evaluation of the guide's recommendations against baselines run on the same
    split, with paired bootstrap 95 % intervals of the differences (see docs/guide.md)."""
    from kefu.guide.evaluate import DATASETS, ORDERS, evaluate

    if data not in DATASETS:
        raise typer.BadParameter(f"one of {', '.join(DATASETS)}", param_hint="--data")
    if protocol not in ("timesplit", "lastitem"):
        raise typer.BadParameter("timesplit or lastitem", param_hint="--protocol")
    if protocol == "timesplit":
        _timesplit(data, path, test_frac, neighbours, one_category, as_json)
        return
    if order not in ORDERS:
        raise typer.BadParameter(f"one of {', '.join(ORDERS)}", param_hint="--order")
    with err.status(f"evaluating on {data} …"):
        doc = evaluate(data, path, test_frac, query, neighbours, order=order, online=online)
    if as_json:
        _dump(doc)
        return
    t = Table(
        title=f"{data}, query={query}, order={order}, {doc['protocol']}: "
        f"{doc['train_baskets']} training baskets, "
        f"{doc['test_cases']} test cases ({doc['target_known']} held-out items seen in training)"
    )
    for col in ("method", "HR@3", "HR@10", "NDCG@10", "hits@10"):
        t.add_column(col, justify="left" if col == "method" else "right")
    for name, m in doc["methods"].items():
        t.add_row(name, f"{m['hr@3']:.4f}", f"{m['hr@10']:.4f}", f"{m['ndcg@10']:.4f}",
                  str(m["hits@10"]))  # fmt: skip
    out.print(t)
    for name, d in doc["builtin_vs"].items():
        lo, hi = d["ci95"]
        out.print(
            f"builtin − {name}: HR@10 {d['hr@10_diff']:+.4f}  (95 % CI {lo:+.4f} … {hi:+.4f})"
        )


def _timesplit(
    data: str, path: Path | None, test_frac: float, neighbours: int, one_category: bool,
    as_json: bool,
) -> None:  # fmt: skip
    from kefu.guide.evaluate import evaluate_timesplit

    with err.status(f"evaluating on {data} (timesplit) …"):
        doc = evaluate_timesplit(data, path, test_frac, one_category, neighbours=neighbours)
    if as_json:
        _dump(doc)
        return
    t = Table(
        title=f"{data}{' (one category)' if one_category else ''}, time split: "
        f"{doc['train_baskets']} training baskets, {doc['test_cases']} later baskets asked "
        f"about their first product ({doc['products']} products)"
    )
    for col in ("method", "HR@1", "HR@3", "HR@10", "NDCG@10", "coverage", "hits@3"):
        t.add_column(col, justify="left" if col == "method" else "right")
    for name, m in doc["methods"].items():
        t.add_row(name, f"{m['hr@1']:.3f}", f"{m['hr@3']:.3f}", f"{m['hr@10']:.3f}",
                  f"{m['ndcg@10']:.3f}", f"{m['coverage']:.3f}", str(m["hits@3"]))  # fmt: skip
    out.print(t)
    for name, d in doc["kefu_vs"].items():
        lo, hi = d["ci95"]
        out.print(f"kefu − {name}: HR@3 {d['hr@3_diff']:+.3f}  (95 % CI {lo:+.3f} … {hi:+.3f})")
    ratio = doc.get("kefu_over_best_baseline")
    if ratio is not None:
        out.print(f"kefu HR@3 / best baseline HR@3 = {ratio:.2f}")


def train_intent(
    out_path: Path = typer.Option(Path("intent_model.txt"), "--out", help="LightGBM text file."),
    taobao: Path | None = typer.Option(None, help="Taobao UserBehavior CSV (default: shared)."),
    sim_buyers: int = typer.Option(1000, help="Simulated buyers (0: real data only)."),
    sim_days: int = typer.Option(14, help="Simulated days."),
    seed: int = typer.Option(1, help="Simulator seed."),
    horizon_hours: int = typer.Option(24, help="Label: the buyer orders within this many hours."),
    rounds: int = typer.Option(200, help="Boosting rounds."),
) -> None:
    """Train the purchase-intent model on simulated stores plus the non-held-out real users."""
    from kefu.guide.intent_train import train

    try:
        import lightgbm  # noqa: F401
    except ImportError:
        err.print("lightgbm is not installed: intent stays rule-based")
        raise typer.Exit(1) from None
    with err.status("training …"):
        doc = train(out_path, taobao, sim_buyers, sim_days, seed, horizon_hours, rounds)
    _dump(doc)


def eval_intent(
    model: Path | None = typer.Option(None, help="Model file; without one, the rule-based score."),
    taobao: Path | None = typer.Option(None, help="Taobao UserBehavior CSV (default: shared)."),
    threshold: float = typer.Option(0.5, help="Intent threshold (guide.min_intent)."),
    horizon_hours: int = typer.Option(24, help="Label: the buyer orders within this many hours."),
    protocol: str = typer.Option(
        "users",
        help="users: a trained --model on held-out Taobao users; timesplit: every user, "
        "trained on the earlier days and tested on the later ones (AUC, PR-AUC, Brier, "
        "reliability, learning curve; trust this one).",
    ),
) -> None:
    """Purchase intent on real (Taobao) data: AUC, PR-AUC, Brier and reliability next to the
    rule-based score and a constant."""
    from kefu.guide.intent_train import evaluate, evaluate_timesplit

    if protocol not in ("users", "timesplit"):
        raise typer.BadParameter("users or timesplit", param_hint="--protocol")
    if protocol == "timesplit":
        with err.status("training and evaluating on a time split …"):
            _dump(evaluate_timesplit(taobao, horizon_hours))
        return
    if model is not None and not model.exists():
        raise typer.BadParameter(f"{model} does not exist", param_hint="--model")
    with err.status("evaluating …"):
        doc = evaluate(model, taobao, threshold, horizon_hours)
    _dump(doc)


def register(app: typer.Typer) -> None:
    """Add the guide's commands to the `eval` and `train` groups."""
    ev = command_group(app, "eval", "Offline evaluation of kefu's models.")
    tr = command_group(app, "train", "Train kefu's models.")
    ev.command("recommend")(eval_recommend)
    ev.command("intent")(eval_intent)
    tr.command("intent")(train_intent)
